"""Tightness of every bounding method against inner estimates (real trajectories).

Configuration (issues 4 and 9): one LSTM layer with PyTorch's default initialisation (weights
and both biases U(−1/√n_a, 1/√n_a), summed bias b_ih + b_hh, imported with
``LSTMWeights.from_torch``), n_x = 8, n_a = 16, seed 0; an L∞ ball of radius eps around a
standard-normal input (seed 1) at every step. For T in {1, 5, 10, 20, 40, 100} and eps in
{0.001, 0.01, 0.1}: the mean width of a⟨T⟩ for every method of :data:`METHODS` (interval,
symbolic, linear, best, and best with optimised slopes) and the inner estimates of
:func:`lstm_symbolic.attack.inner_estimate` (20k uniform samples, 20k random corners, the
gradient attack on every unit of a⟨T⟩), the ratios method / attack (the real yardstick: the
widest range an attack reaches), and the median time of each method. One-hot sections: n_x = 5
tokens, n_a = 8, T <= 5, all 5^T sequences enumerated (the exact reachable range of a⟨T⟩); and
the built-in character model after a fixed prefix with the last k characters free (every one of
the 30 symbols), the bounds of P(next character) against their exact range by enumeration.

Every inner estimate is also checked to lie inside both bounds (a real soundness check: any
violation is printed as such and makes the exit status 1). Not a test.

    python benchmarks/tightness.py [--json] [--markdown] [--plot docs/tightness.png] [--quick]

Runs with one BLAS thread unless OPENBLAS_NUM_THREADS is set (see below).
"""

from __future__ import annotations

import os

# One BLAS thread unless the caller says otherwise: the products here are small (64 × 24 by a few
# thousand columns), and OpenBLAS's threads make them 20-70x slower on a loaded 2-core machine
# (measured: 9-30 ms instead of 0.4 ms for 64×24 @ 24×2048). Must be set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

import lstm_symbolic as ls
from lstm_symbolic.attack import inner_estimate

STEPS = (1, 5, 10, 20, 40, 100)
#: name -> propagate keyword arguments. "best (α)" optimises the last step's slopes.
METHODS: dict[str, dict[str, Any]] = {
    "interval": {"method": "interval"},
    "symbolic": {"method": "symbolic"},
    "linear": {"method": "linear"},
    "best": {"method": "best"},
    "best (α)": {"method": "best", "optimise": 10},
}
EPSILONS = (0.001, 0.01, 0.1)
TIMING_STEPS = (10, 40, 100)
KINDS = ("uniform", "corners", "attack")
COMMAND = "python benchmarks/tightness.py --markdown --plot docs/tightness.png > docs/tightness.md"
DEMO_PREFIX = "four score and seven years ago our"


def torch_default_lstm(n_x: int, n_a: int, seed: int) -> ls.LSTMWeights:
    """PyTorch's ``nn.LSTM`` initialisation: every parameter U(−1/√n_a, 1/√n_a), in numpy."""
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(n_a)
    state = {
        "weight_ih_l0": rng.uniform(-k, k, (4 * n_a, n_x)),
        "weight_hh_l0": rng.uniform(-k, k, (4 * n_a, n_a)),
        "bias_ih_l0": rng.uniform(-k, k, 4 * n_a),
        "bias_hh_l0": rng.uniform(-k, k, 4 * n_a),
    }
    return ls.LSTMWeights.from_torch(state)


def median_time(fn, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def violations(trace: ls.Trace, est: dict, signal: str = "a") -> int:
    """Number of inner-estimate ends (every source, every step and unit) outside the bound."""
    iv = getattr(trace, signal)
    bad = 0
    for pairs in est.sources.values():
        lo, hi = pairs[signal]
        seen = np.isfinite(lo)
        bad += int(((lo < iv.lo) & seen).sum() + ((hi > iv.hi) & seen).sum())
    return bad


def _traces(w: ls.LSTMWeights, inputs: Any, repeats: int, **kw: Any) -> dict[str, tuple[float, ls.Trace]]:
    """Median time and trace of every method of :data:`METHODS`, interleaved over repeats."""
    times: dict[str, list[float]] = {k: [] for k in METHODS}
    traces: dict[str, ls.Trace] = {}
    for _ in range(repeats):
        for name, opts in METHODS.items():
            t0 = time.perf_counter()
            traces[name] = ls.propagate(w, inputs, **opts, **kw)
            times[name].append(time.perf_counter() - t0)
    return {k: (statistics.median(times[k]), traces[k]) for k in METHODS}


def ball_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(8, 16, seed=0)
    centre = np.random.default_rng(1).standard_normal((max(args.steps), w.n_x))
    _traces(w, ls.LinfBall(centre[:2], 0.01), 1)  # warm-up
    rows = []
    for T in args.steps:
        for eps in args.eps:
            ball = ls.LinfBall(centre[:T], eps)
            runs = _traces(w, ball, args.repeats if T <= 40 else 1)
            est = inner_estimate(w, ball, samples=args.samples, attack_steps=T, seed=args.seed)
            row: dict[str, Any] = {"T": T, "eps": eps}
            for kind in KINDS:
                row[kind] = float(est.mean_width("a", kind)[-1])
            row["inner"] = float(est.mean_width("a")[-1])
            attack = est["a"][1][-1] - est["a"][0][-1]  # per unit
            for name, (t, tr) in runs.items():
                row[name] = float(tr.mean_width("a")[-1])
                row[f"time {name}"] = t
                row[f"violations {name}"] = violations(tr, est)
                row[f"{name}/attack"] = row[name] / row["attack"]
                row[f"{name}/attack median"] = float(np.median(tr.a.width[-1] / attack))
            rows.append(row)
            if args.progress:
                print(f"  T={T:3d} eps={eps:<6g} done", file=sys.stderr)
    return rows


def timing_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(8, 16, seed=0)
    centre = np.random.default_rng(1).standard_normal((max(args.timing_steps), w.n_x))
    out = []
    for T in args.timing_steps:
        eps = 0.01
        ball = ls.LinfBall(centre[:T], eps)
        t_fwd, _ = median_time(lambda: ls.forward(w, centre[:T]), args.repeats)
        runs = _traces(w, ball, args.repeats)
        out.append({"T": T, "eps": eps, "time forward": t_fwd, **{f"time {k}": t for k, (t, _) in runs.items()}})
    return out


def onehot_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(5, 8, seed=0)
    rows = []
    for T in args.onehot_steps:
        tokens = ls.OneHot(w.n_x)
        runs = _traces(w, tokens, 1, steps=T)
        est = inner_estimate(w, tokens, steps=T)
        assert est.exact
        row: dict[str, Any] = {"T": T, "sequences": w.n_x**T, "exact": float(est.mean_width("a")[-1])}
        for name, (t, tr) in runs.items():
            row[name] = float(tr.mean_width("a")[-1])
            row[f"{name}/exact"] = row[name] / row["exact"]
            row[f"violations {name}"] = violations(tr, est)
            row[f"time {name}"] = t
        rows.append(row)
    return rows


def demo_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The built-in character model reading the prefix with its first ``k`` characters free
    (any of the 30 symbols): bounds of P(next character = c) at the last step against the exact
    range over all 30^k sequences (the class with the largest exact upper end, and the mean
    width over the 30 classes) — how well token sets keep their relations over a long tail of
    fixed context."""
    from lstm_symbolic import demo_model

    w = ls.LSTMWeights.from_arrays(demo_model.load_demo_arrays())
    idx = demo_model.encode(DEMO_PREFIX)
    rows = []
    for k in args.demo_free:
        sets = [ls.OneHot(w.n_x)] * k + [ls.OneHot(w.n_x, [int(i)]) for i in idx[k:]]
        runs = _traces(w, sets, 1)
        est = inner_estimate(w, sets, signals=("y",))
        assert est.exact
        lo, hi = est["y"][0][-1], est["y"][1][-1]
        top = int(np.argmax(hi))
        row: dict[str, Any] = {"k": k, "sequences": w.n_x**k, "class": demo_model.VOCAB[top], "exact": (float(lo[top]), float(hi[top])),
                               "exact width (mean)": float(np.mean(hi - lo))}
        for name, (t, tr) in runs.items():
            row[name] = (float(tr.y.lo[-1, top]), float(tr.y.hi[-1, top]))
            row[f"{name} width (mean)"] = float(tr.y.width[-1].mean())
            row[f"time {name}"] = t
            bad = int(((tr.y.lo[-1] > lo) | (tr.y.hi[-1] < hi)).sum())
            row[f"violations {name}"] = bad
        rows.append(row)
    return rows


def curves(args: argparse.Namespace) -> dict[str, Any]:
    """Width of a⟨t⟩ for every t <= T_max: every method, the attack (every step attacked)."""
    w = torch_default_lstm(8, 16, seed=0)
    T = max(args.curve_steps)
    centre = np.random.default_rng(1).standard_normal((T, w.n_x))
    out: dict[str, Any] = {"T": T, "eps": {}}
    for eps in args.eps:
        ball = ls.LinfBall(centre, eps)
        est = inner_estimate(w, ball, samples=args.samples, seed=args.seed)
        runs = _traces(w, ball, 1)
        out["eps"][eps] = {name: tr.mean_width("a").tolist() for name, (_, tr) in runs.items()}
        out["eps"][eps]["attack"] = est.mean_width("a", "attack").tolist()
        out["eps"][eps]["uniform"] = est.mean_width("a", "uniform").tolist()
        out["eps"][eps]["violations"] = sum(violations(tr, est) for _, tr in runs.values())
    return out


_COLOURS = {"interval": "tab:red", "symbolic": "tab:blue", "linear": "tab:purple", "best": "black", "best (α)": "tab:orange"}


def plot(curve: dict[str, Any], path: str) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (optional extra `plot`): no figure written"
    eps_list = list(curve["eps"])
    fig, axes = plt.subplots(1, len(eps_list), figsize=(4.2 * len(eps_list), 3.6), sharey=False)
    axes = np.atleast_1d(axes)
    for ax, eps in zip(axes, eps_list):
        c = curve["eps"][eps]
        t = np.arange(1, len(c["attack"]) + 1)
        for name in METHODS:
            ax.semilogy(t, c[name], label=name, color=_COLOURS.get(name), ls="--" if name == "best (α)" else "-")
        ax.semilogy(t, c["attack"], label="attack (inner)", color="tab:green")
        ax.semilogy(t, c["uniform"], label="uniform samples (inner)", color="tab:green", ls=":")
        ax.set_title(f"eps = {eps:g}")
        ax.set_xlabel("step t")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("mean width of a⟨t⟩")
    axes[0].legend(fontsize=7)
    fig.suptitle("LSTM n_x=8, n_a=16, PyTorch init, L∞ ball around N(0,1) inputs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"figure written to {path}"


# --- output --------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join("{:>%d}" % wd for wd in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*r) for r in rows])


def _ms(t: float) -> str:
    return f"{t * 1e3:.1f}" if t < 10 else f"{t * 1e3:.0f}"


def observations(res: dict[str, Any], markdown: bool) -> list[str]:
    """Sentences computed from the rows (so that no number in the docs is typed by hand)."""
    rows = res["ball"]
    lines = ["### Observations" if markdown else "Observations", ""]
    for eps in sorted({r["eps"] for r in rows}):
        rs = [r for r in rows if r["eps"] == eps]
        best = [r["best (α)/attack"] for r in rs]
        lines.append(f"- eps = {eps:g}: best (α) / attack ranges over {min(best):.3f}–{max(best):.3f} for T in "
                     f"{{{', '.join(str(r['T']) for r in rs)}}}; symbolic / attack over "
                     f"{min(r['symbolic/attack'] for r in rs):.3f}–{max(r['symbolic/attack'] for r in rs):.3f}; interval / attack up to "
                     f"{max(r['interval/attack'] for r in rs):.3g}.")
    r10 = [r for r in rows if r["T"] == 10]
    for r in r10:
        lines.append(f"- T = 10, eps = {r['eps']:g}: median over units of width / attack range — "
                     + ", ".join(f"{name} {r[f'{name}/attack median']:.4f}" for name in METHODS)
                     + f"; best (α) took {_ms(r['time best (α)'])} ms, linear {_ms(r['time linear'])} ms.")
    lines.append("- The attack is never below the corners and the corners never below uniform sampling here: "
                 + ("true" if all(r["attack"] >= r["corners"] >= r["uniform"] for r in rows) else "NOT true") + " in every row.")
    oh = res["onehot"]
    if oh:
        lines.append(f"- One-hot (all 5^T sequences): at T = {oh[-1]['T']}, width / exact is "
                     + ", ".join(f"{name} {oh[-1][f'{name}/exact']:.2f}" for name in METHODS) + ".")
    return lines + [""]


def render(res: dict[str, Any], markdown: bool) -> str:
    out = []
    rows = res["ball"]
    names = list(METHODS)
    header = ["T", "eps", "attack", *names, *(f"{n}/att" for n in names), *(f"ms {n}" for n in names)]
    body = [
        [str(r["T"]), f"{r['eps']:g}", f"{r['attack']:.3e}", *(f"{r[n]:.3e}" for n in names),
         *(f"{r[f'{n}/attack']:.3f}" for n in names), *(_ms(r[f"time {n}"]) for n in names)]
        for r in rows
    ]
    title = "Mean width of a⟨T⟩ against the attack's (L∞ ball, n_x = 8, n_a = 16, PyTorch default init)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    header = ["T", "eps", "uniform", "corners", "attack", "inner (all)"]
    body = [[str(r["T"]), f"{r['eps']:g}", *(f"{r[k]:.3e}" for k in ("uniform", "corners", "attack", "inner"))] for r in rows]
    title = "The inner estimates (real trajectories: the widest is the yardstick)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    timing = res["timing"]
    header = ["T", "forward ms", *(f"{n} ms" for n in names)]
    body = [[str(r["T"]), f"{r['time forward'] * 1e3:.2f}", *(_ms(r[f"time {n}"]) for n in names)] for r in timing]
    title = f"Times (median of {res['config']['repeats']} interleaved runs; one unbatched sequence, eps 0.01)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    oh = res["onehot"]
    header = ["T", "sequences", "exact", *names, *(f"{n}/exact" for n in names)]
    body = [[str(r["T"]), str(r["sequences"]), f"{r['exact']:.3e}", *(f"{r[n]:.3e}" for n in names), *(f"{r[f'{n}/exact']:.2f}" for n in names)] for r in oh]
    title = "One-hot inputs: mean width of a⟨T⟩ against the exact range (n_x = 5 tokens, n_a = 8, all 5^T sequences)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    demo = res["demo"]
    if demo:
        header = ["free chars k", "sequences", "class", "exact", *names, "exact mean width", *(f"{n} mean width" for n in names)]
        body = [[str(r["k"]), str(r["sequences"]), repr(r["class"]), f"[{r['exact'][0]:.3f}, {r['exact'][1]:.3f}]",
                 *(f"[{r[n][0]:.3f}, {r[n][1]:.3f}]" for n in names), f"{r['exact width (mean)']:.3f}", *(f"{r[f'{n} width (mean)']:.3f}" for n in names)]
                for r in demo]
        title = (f"The built-in character model reading \"{DEMO_PREFIX}\" with its first k characters free "
                 "(any of 30 symbols): P(next character) after the last one")
        out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), "",
                "Each row: the bounds of the probability of the class whose exact upper end is largest, then the mean width over "
                "all 30 classes; *exact* enumerates every sequence (the float model's exact range).", ""]
    out += observations(res, markdown)
    bad = res["violations"]
    out.append(f"Soundness check: {bad} inner-estimate end(s) outside a bound" + (" — SOUNDNESS VIOLATION" if bad else " (every real trajectory inside every bound)."))
    return "\n".join(out)


MARKDOWN_HEAD = """# Tightness: every method against real trajectories

Generated by `{command}` ({python}, numpy {numpy}, OPENBLAS_NUM_THREADS={threads}, on a shared
2-core machine: times are indicative); every number on this page comes from that run. Do not
edit by hand.

**Method.** A sound bound contains the value of its signal for every input sequence in the
set, so the hull of the values along any collection of *real* trajectories is an *inner*
estimate of the exact reachable range: the ratio bound width / inner width is an upper bound on
how loose the bound is (1 = exact). `lstm_symbolic.attack.inner_estimate` builds three inner
estimates from float forward passes: **uniform** (20 000 sequences with every input uniform in
its ball), **corners** (20 000 sequences of random corners of the balls) and **attack** (for each
unit of a⟨T⟩ and each direction, start at the corner given by the sign of the exact gradient at
the ball's centre, then sign-gradient steps projected back onto the ball, halving the step when
it does not improve; every iterate counts). For one-hot inputs with few tokens every sequence
is enumerated, so the inner estimate there is the exact range of the float model. The model is
one LSTM layer with PyTorch's default initialisation (every weight and both biases
U(−1/√n_a, 1/√n_a); the bias is b_ih + b_hh) with n_x = 8, n_a = 16, seed 0; the input set is an
L∞ ball of radius eps around a standard-normal sequence (seed 1) at every step. Widths are
means over the 16 units of a⟨T⟩. Every inner estimate is also checked to lie inside both bounds.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the docs/tightness.md page")
    ap.add_argument("--plot", metavar="PNG", help="width of a⟨t⟩ against t (needs matplotlib)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="T <= 10, 2000 samples: a smoke run")
    args = ap.parse_args()
    args.steps, args.eps, args.timing_steps, args.onehot_steps = STEPS, EPSILONS, TIMING_STEPS, (1, 2, 3, 4, 5)
    args.demo_free, args.curve_steps = (1, 2, 3), (40,)
    if args.quick:
        args.steps, args.timing_steps, args.onehot_steps, args.samples, args.repeats = (1, 5, 10), (10,), (1, 2, 3), 2000, 2
        args.demo_free, args.curve_steps = (1, 2), (10,)
    args.progress = sys.stderr.isatty()
    res: dict[str, Any] = {
        "config": {"blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "n_x": 8, "n_a": 16, "init": "torch default", "model_seed": 0, "centre_seed": 1,
                   "samples": args.samples, "corners": args.samples, "repeats": args.repeats, "seed": args.seed},
        "methods": METHODS,
        "ball": ball_rows(args),
        "timing": timing_rows(args),
        "onehot": onehot_rows(args),
        "demo": demo_rows(args),
    }
    bad = sum(r[f"violations {n}"] for r in res["ball"] + res["onehot"] + res["demo"] for n in METHODS)
    plot_note = None
    if args.plot:
        curve = curves(args)
        res["curves"] = curve
        bad += sum(c["violations"] for c in curve["eps"].values())
        plot_note = plot(curve, args.plot)
    res["violations"] = bad
    if args.json:
        print(json.dumps(res, indent=1))
    elif args.markdown:
        print(MARKDOWN_HEAD.format(command=COMMAND, python=platform.python_version(), numpy=np.__version__, threads=os.environ.get("OPENBLAS_NUM_THREADS")))
        print(render(res, markdown=True))
        if plot_note and plot_note.startswith("figure"):
            print(f"\n### Width of a⟨t⟩ against t (T = {max(args.curve_steps)})\n")
            print("![mean width of a⟨t⟩ for every method and the inner estimates](tightness.png)")
            print("\nSolid green: the attack; dotted: uniform samples (both inner estimates).")
        elif plot_note:
            print(f"\n({plot_note}.)")
    else:
        print(render(res, markdown=False))
        if plot_note:
            print(plot_note)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
