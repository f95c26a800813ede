"""``lstm-symbolic demo``: what can be proved about the built-in character model, as questions
with answers. An application of the library (it only calls the public API), not part of it.

The model (``lstm_symbolic/data/demo_char_lstm.npz``) is a 16-unit LSTM over 30 symbols trained
on the Gettysburg Address. The story:

1. **Robust to a typo?** Reading a prefix, can changing any one character in a window (any of the
   30 symbols) change the predicted next character? ``ls.certify`` on a substitution budget of
   one: certified (with the proven margins) or falsified (with a counterexample whose exact
   logits were replayed in mpmath); beside it, the exact answer by enumerating every variant.
2. **A small ball**: an L∞ ball around the one-hot encoding of a prefix, where the tight method
   separates from interval arithmetic and sits near the widest range an attack reaches.
3. **A counting unit**: one unit's cell grows by about one per space, its forget gate a hair below
   1 — so no bound can hold for every t, and ``ls.invariant`` says so, and why.

The terminal gets the answers; ``report.md``, ``bounds.json`` and ``bounds.png`` get the tables
(including the weight-free domains and every method over every one-hot sequence).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import demo_model
from .attack import inner_estimate
from .certify import certify
from .inputs import LinfBall, OneHot, Substitutions
from .invariant import invariant
from .lstm import LSTMWeights, forward
from .propagate import propagate
from .report import SIGNAL_LABELS, Column, SignalSummary, apriori_columns, render_markdown, summarize

__all__ = ["Story", "run", "console", "markdown", "to_json", "plot"]

#: The questions of part 1: (prefix, first and last position of the window, 0-based).
TYPO_QUESTIONS = (
    (" new nation,", 0, 2),
    (" new nation,", 0, 5),
    ("four score and seven years ago our", 31, 33),
)
BALL_TEXT, BALL_EPS = "four score", 1e-4
METHODS = ("interval", "symbolic", "best")


@dataclass
class Typo:
    """One robustness question and its answers."""

    prefix: str
    window: tuple[int, int]
    predicted: str
    probability: float
    status: str
    margin: float  # proven lower bound of the smallest margin (certified), or of the bound
    variants: int
    exact_min_margin: float  # over every variant, the float model's (the argmin replayed exactly)
    exact_changers: int  # variants whose prediction differs
    counterexample: str | None
    counter_prediction: str | None
    counter_margin: float | None  # exact (mpmath) margin of the counterexample
    seconds: float


@dataclass
class Ball:
    text: str
    eps: float
    widths: dict[str, np.ndarray]  # method -> mean width of a⟨t⟩ per step (T,)
    attack: np.ndarray  # mean per-unit range real trajectories reached, per step (T,): the attack at the last step, samples and corners before
    final_ratio: dict[str, float]  # median over units of width / attack range at the last step
    seconds: dict[str, float]


@dataclass
class Counter:
    unit: int
    c: dict[int, float]  # spaces -> c of the unit
    forget_min: float  # the unit's forget gate, smallest from the 11th space on
    invariant_found: bool
    reason: str
    seconds: float


@dataclass
class Story:
    n_x: int
    n_a: int
    typos: list[Typo]
    ball: Ball
    counter: Counter
    appendix: list[SignalSummary]
    appendix_steps: int
    timings: dict[str, float] = field(default_factory=dict)


def _weights() -> LSTMWeights:
    return LSTMWeights.from_arrays(demo_model.load_demo_arrays())


def _logits(w: LSTMWeights, idx: np.ndarray) -> np.ndarray:
    """Float logits at the last step for token sequences ``idx`` (N, T): (N, n_y)."""
    run = forward(w, np.eye(w.n_x)[idx].transpose(1, 0, 2))
    return run.a[-1] @ w.W_y.T + w.b_y


def _variants(idx: np.ndarray, lo: int, hi: int, n_x: int) -> np.ndarray:
    """The prefix and every sequence with exactly one character of positions lo..hi changed."""
    rows = [idx]
    for p in range(lo, hi + 1):
        for tok in range(n_x):
            if tok != idx[p]:
                v = idx.copy()
                v[p] = tok
                rows.append(v)
    return np.stack(rows)


def typo(w: LSTMWeights, prefix: str, lo: int, hi: int) -> Typo:
    """Part 1 for one prefix and window: ``ls.certify`` on the substitution budget, and the
    exact answer by enumeration beside it."""
    from .reference import exact_trajectory

    V = demo_model.VOCAB
    idx = np.asarray(demo_model.encode(prefix))
    y = forward(w, np.eye(w.n_x)[idx]).y[-1]
    pred = int(y.argmax())
    allowed = [list(range(w.n_x)) if lo <= t <= hi else [] for t in range(idx.size)]
    t0 = time.perf_counter()
    cert = certify(w, Substitutions(w.n_x, idx, allowed, k=1), None, pred)
    seconds = time.perf_counter() - t0
    variants = _variants(idx, lo, hi, w.n_x)
    z = _logits(w, variants)
    margin = z[:, pred][:, None] - z
    margin[:, pred] = np.inf
    per = margin.min(axis=1)
    k = int(per.argmin())
    ex = exact_trajectory(w, np.eye(w.n_x)[variants[k]], dps=40).z[-1]
    exact_min = float(min(ex[pred] - ex[j] for j in range(w.n_y) if j != pred))
    ce, ce_pred, ce_margin = None, None, None
    if cert.falsified:
        toks = cert.counterexamples.xs.argmax(axis=1)
        ce = "".join(V[t] for t in toks)
        ce_pred = V[int(cert.counterexamples.predicted)]
        ce_margin = float(cert.counterexamples.margin)
    return Typo(prefix, (lo, hi), V[pred], float(y[pred]), str(cert.status), float(cert.min_margin), len(variants), exact_min,
                int((z.argmax(axis=1) != pred).sum()), ce, ce_pred, ce_margin, seconds)


def ball(w: LSTMWeights, text: str = BALL_TEXT, eps: float = BALL_EPS) -> Ball:
    """Part 2: every method on an L∞ ball around a one-hot prefix, against the attack."""
    idx = demo_model.encode(text)
    b = LinfBall(np.eye(w.n_x)[idx], eps)
    widths, seconds, final = {}, {}, {}
    est = inner_estimate(w, b, samples=500, corners=500, attack_steps=len(idx), seed=0)  # attack the last step
    att = est["a"][1] - est["a"][0]
    for m in METHODS:
        t0 = time.perf_counter()
        tr = propagate(w, b, method=m)
        seconds[m] = time.perf_counter() - t0
        widths[m] = tr.a.width.mean(axis=1)
        final[m] = float(np.median(tr.a.width[-1] / att[-1]))
    return Ball(text, eps, widths, att.mean(axis=1), final, seconds)


def counter(w: LSTMWeights) -> Counter:
    """Part 3: the counting unit, shown on a run of spaces, and the invariant's answer."""
    spaces = forward(w, np.eye(w.n_x)[demo_model.encode(" " * 1000)])
    unit = int(np.abs(spaces.c[-1]).argmax())
    t0 = time.perf_counter()
    inv = invariant(w, OneHot(w.n_x), max_iter=40)
    return Counter(unit, {n: float(spaces.c[n - 1, unit]) for n in (1, 10, 100, 1000)}, float(spaces.f[10:, unit].min()),
                   bool(inv.found), inv.reason, time.perf_counter() - t0)


def appendix(w: LSTMWeights, steps: int, samples: int = 2000) -> list[SignalSummary]:
    """Every signal over *every* one-hot sequence of length ``steps``: the weight-free domains,
    each method, and the range of ``samples`` random sequences (an inner estimate)."""
    tokens = OneHot(w.n_x)
    traces = {m: propagate(w, tokens, steps=steps, method=m) for m in ("interval", "best")}
    apriori = apriori_columns(steps, w.n_y)
    rng = np.random.default_rng(0)
    run = forward(w, np.eye(w.n_x)[rng.integers(0, w.n_x, size=(steps, samples))])
    out = []
    for name in SIGNAL_LABELS:
        v = getattr(run, name)
        sampled = Column("sampled", v.reshape(steps, -1).min(axis=1), v.reshape(steps, -1).max(axis=1),
                         (v.max(axis=1) - v.min(axis=1)).mean(axis=1), is_bound=False)
        cols = [apriori[name]] + [summarize(getattr(traces[m], name), m) for m in traces] + [sampled]
        out.append(SignalSummary(name, cols))
    return out


def run(steps: int = 8, samples: int = 2000) -> Story:
    """Everything the demo shows (a few seconds); ``steps``, ``samples``: the appendix's
    horizon and random sequences."""
    w = _weights()
    timings = {}
    t0 = time.perf_counter()
    typos = [typo(w, *q) for q in TYPO_QUESTIONS]
    timings["typos"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = ball(w)
    timings["ball"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = counter(w)
    timings["counter"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    app = appendix(w, steps, samples)
    timings["appendix"] = time.perf_counter() - t0
    return Story(w.n_x, w.n_a, typos, b, c, app, steps, timings)


def _window_text(t: Typo) -> str:
    lo, hi = t.window
    return f'"{t.prefix[lo:hi + 1]}"' + (" (the first " if lo == 0 else " (positions ") + (f"{hi + 1} characters)" if lo == 0 else f"{lo + 1}–{hi + 1})")


def _typo_lines(t: Typo) -> list[str]:
    q = (f'   Reading "{t.prefix}" it predicts {t.predicted!r} next (p = {t.probability:.2f}). Can changing any one character of '
         f"{_window_text(t)} to any of the 30 symbols change that?")
    if t.status == "certified":
        a = (f"   → No: certified. Over all {t.variants} variants every logit margin z({t.predicted!r}) − z(other) "
             f"≥ {t.margin:+.3f} (proven); exact minimum {t.exact_min_margin:+.3f}.")
    elif t.status == "falsified":
        a = (f'   → Yes: falsified. "{t.counterexample}" makes it predict {t.counter_prediction!r} '
             f"(exact margin {t.counter_margin:+.3f}, replayed in mpmath); {t.exact_changers} of the {t.variants} variants "
             f"{'changes' if t.exact_changers == 1 else 'change'} it.")
    else:
        a = f"   → Unknown within the budget (bound {t.margin:+.3f}); exact: {t.exact_changers} of {t.variants} variants change it."
    return [q, a]


def _counting_reason(reason: str) -> str:
    """The clause of an invariant's reason that names the counting unit, else the first one."""
    parts = [p.strip() for p in reason.split(";")]
    counting = [p for p in parts if "counts" in p]
    return (counting or parts)[0]


def console(s: Story) -> str:
    """The terminal output: the headline and the answers."""
    b, c = s.ball, s.counter
    certified = sum(t.status == "certified" for t in s.typos)
    falsified = sum(t.status == "falsified" for t in s.typos)
    lines = [
        f"lstm-symbolic demo: a character-level LSTM ({s.n_a} units, {s.n_x} symbols) trained on the Gettysburg Address.",
        f"Proved below, for every input in each set, with outward-rounded floating point: {certified} robustness question(s) "
        f"certified and {falsified} falsified with an exact counterexample; a ball where the tight method is "
        f"{b.final_ratio['best']:.2f}x the widest range an attack reaches (interval: {b.final_ratio['interval']:.0f}x); "
        "and why no bound can hold for every t.",
        "",
        "1. Robust to a typo?",
    ]
    for t in s.typos:
        lines += _typo_lines(t)
    T = len(b.text)
    lines += [
        "",
        f'2. An L∞ ball of radius {b.eps:g} around the one-hot encoding of "{b.text}": the width of a⟨{T}⟩ (mean over units)',
        "   " + ", ".join(f"{m} {b.widths[m][-1]:.4f} ({b.final_ratio[m]:.2f}x)" for m in METHODS)
        + f"; real trajectories (an attack) reach {b.attack[-1]:.4f}.",
        "   Interval arithmetic forgets that the four gates read the same inputs; the forms and backward passes keep it.",
        "",
        f"3. A counting unit: after 1, 10, 100, 1000 spaces, unit {c.unit}'s cell is "
        + ", ".join(f"{v:.2f}" for v in c.c.values()) + f" (from the 11th space on its forget gate is ≥ {c.forget_min:.6f}).",
        f"   So no bound holds for every t: ls.invariant finds {'one' if c.invariant_found else 'none'} — {_counting_reason(c.reason)}.",
        "",
    ]
    t = s.timings
    lines.append(f"time: {sum(t.values()):.1f} s (questions {t['typos']:.1f} s, ball {t['ball']:.1f} s, counter {t['counter']:.1f} s, "
                 f"tables {t['appendix']:.1f} s)")
    return "\n".join(lines) + "\n"


def markdown(s: Story, plot_name: str | None = None, digits: int = 4) -> str:
    """The report: every answer with its numbers, the ball per step, the appendix tables."""
    b, c = s.ball, s.counter
    lines = ["# lstm-symbolic demo report", "", console(s).split("\n\n")[0].replace("\n", " "), ""]
    lines += ["## 1. Robust to a typo?", "",
              "`ls.certify(w, ls.Substitutions(n_x, prefix, allowed, k=1), None, label)`: the set of every sequence with at most one "
              "character of the window changed. Small token sets are decided member by member — every member bounded soundly as a "
              "point sequence, so *certified* means proven for each of them; a counterexample is replayed in mpmath before it is "
              "reported. The *exact* columns enumerate the variants with the float model (the smallest margin replayed exactly).", "",
              "| prefix | window | predicts | answer | proven margin ≥ | variants | exact min margin | variants that change it | counterexample | time s |",
              "|---|---|---|---|---:|---:|---:|---:|---|---:|"]
    for t in s.typos:
        lo, hi = t.window
        ce = f'"{t.counterexample}" → {t.counter_prediction!r}' if t.counterexample else ""
        proven = f"{t.margin:+.4f}" if t.status == "certified" else "—"
        lines.append(f'| "{t.prefix}" | {lo + 1}–{hi + 1} "{t.prefix[lo:hi + 1]}" | {t.predicted!r} ({t.probability:.3f}) | {t.status} | '
                     f"{proven} | {t.variants} | {t.exact_min_margin:+.4f} | {t.exact_changers} | {ce} | {t.seconds:.2f} |")
    T = len(b.text)
    lines += ["", f"## 2. An L∞ ball of radius {b.eps:g} around \"{b.text}\"", "",
              "Mean width of a⟨t⟩ over the units for each method, against the range real trajectories reach "
              "(`lstm_symbolic.attack.inner_estimate`: the gradient attack on every unit at the last step, 500 uniform samples "
              "and 500 corners at every step; a sound bound can never be below it).", ""]
    if plot_name:
        lines += [f"![width of a⟨t⟩ per method]({plot_name})", ""]
    lines += ["| t | " + " | ".join(METHODS) + " | real trajectories |", "|---:|" + "---:|" * (len(METHODS) + 1)]
    for t in range(T):
        lines.append(f"| {t + 1} | " + " | ".join(f"{b.widths[m][t]:.4g}" for m in METHODS) + f" | {b.attack[t]:.4g} |")
    lines += ["", "Median over units of width / attack range at the last step: "
              + ", ".join(f"{m} {b.final_ratio[m]:.3f}" for m in METHODS) + "; time "
              + ", ".join(f"{m} {b.seconds[m]:.2f} s" for m in METHODS) + ".", ""]
    lines += ["## 3. A counting unit", "",
              f"Fed spaces, unit {c.unit}'s cell c grows by about one per space: " + ", ".join(f"c after {n} = {v:.3f}" for n, v in c.c.items())
              + f"; from the 11th space on its forget gate stays ≥ {c.forget_min:.8f}. An LSTM can implement a counter, and a counter has no bound valid "
              "for every t.", "", f"`ls.invariant(w, ls.OneHot(30))`: found = {c.invariant_found}. Reason: {c.reason}", ""]
    lines += [f"## Appendix: every one-hot sequence of length {s.appendix_steps}", "",
              f"Over all {s.n_x}^{s.appendix_steps} sequences every method is right to say almost nothing by the last steps; the "
              "**a priori** column is the weight-free domain (`lstm_symbolic.domains`), **sampled** the range of 2000 random "
              "sequences (an inner estimate). Each cell: [min lo, max hi] across units, then the mean width.", "",
              render_markdown(s.appendix, digits), "Regenerate with `lstm-symbolic demo`.", ""]
    return "\n".join(lines)


def to_json(s: Story) -> dict[str, Any]:
    return {
        "model": {"name": "demo_char_lstm", "n_x": s.n_x, "n_a": s.n_a},
        "typos": [t.__dict__ | {"window": list(t.window)} for t in s.typos],
        "ball": {"text": s.ball.text, "eps": s.ball.eps, "widths": {m: v.tolist() for m, v in s.ball.widths.items()},
                 "attack": s.ball.attack.tolist(), "final_ratio": s.ball.final_ratio, "seconds": s.ball.seconds},
        "counter": s.counter.__dict__ | {"c": {str(k): v for k, v in s.counter.c.items()}},
        "appendix_steps": s.appendix_steps,
        "timings_s": s.timings,
    }


def plot(s: Story, path: Any) -> str:
    """``bounds.png``: the ball's widths per step for each method and the attack (matplotlib,
    lazily); returns the line to print."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "note: no plot (matplotlib is not installed: pip install 'lstm_symbolic[plot]')"
    b = s.ball
    t = np.arange(1, len(b.attack) + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    colours = {"interval": "tab:red", "symbolic": "tab:blue", "best": "black"}
    for m in METHODS:
        ax.semilogy(t, b.widths[m], label=m, color=colours[m])
    ax.semilogy(t, b.attack, label="real trajectories (inner estimate)", color="tab:green", ls="--")
    ax.set_xlabel("step t")
    ax.set_ylabel("mean width of a⟨t⟩")
    ax.set_title(f'L∞ ball of radius {b.eps:g} around "{b.text}"', fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return f"wrote {path}"
