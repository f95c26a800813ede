"""Tightness of interval and symbolic bounds against inner estimates (real trajectories).

Configuration (issue 4): one LSTM layer with PyTorch's default initialisation (weights and both
biases U(−1/√n_a, 1/√n_a), summed bias b_ih + b_hh, imported with ``LSTMWeights.from_torch``),
n_x = 8, n_a = 16, seed 0; an L∞ ball of radius eps around a standard-normal input (seed 1) at
every step. For T in {1, 5, 10, 20, 50, 100} and eps in {0.001, 0.01, 0.1}: the mean width of
a⟨T⟩ for ``propagate(method="interval")``, ``propagate(method="symbolic")`` and the inner
estimates of :func:`lstm_symbolic.attack.inner_estimate` (20k uniform samples, 20k random
corners, the gradient attack on every unit of a⟨T⟩), the ratios symbolic / inner, and the
median time of each bounding method. One-hot section: n_x = 5 tokens, n_a = 8, T <= 5, all 5^T
sequences enumerated: the exact reachable range of a⟨T⟩ against both methods.

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

STEPS = (1, 5, 10, 20, 50, 100)
EPSILONS = (0.001, 0.01, 0.1)
TIMING_STEPS = (10, 40, 100)
KINDS = ("uniform", "corners", "attack")
COMMAND = "python benchmarks/tightness.py --markdown --plot docs/tightness.png > docs/tightness.md"


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


def ball_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(8, 16, seed=0)
    centre = np.random.default_rng(1).standard_normal((max(args.steps), w.n_x))
    ls.propagate(w, ls.LinfBall(centre[:2], 0.01), method="symbolic")  # warm-up
    rows = []
    for T in args.steps:
        for eps in args.eps:
            ball = ls.LinfBall(centre[:T], eps)
            t_int, tr_int = median_time(lambda: ls.propagate(w, ball), args.repeats)
            t_sym, tr_sym = median_time(lambda: ls.propagate(w, ball, method="symbolic"), args.repeats)
            est = inner_estimate(w, ball, samples=args.samples, attack_steps=T, seed=args.seed)
            row: dict[str, Any] = {
                "T": T,
                "eps": eps,
                "interval": float(tr_int.mean_width("a")[-1]),
                "symbolic": float(tr_sym.mean_width("a")[-1]),
                "time_interval_s": t_int,
                "time_symbolic_s": t_sym,
                "violations_interval": violations(tr_int, est),
                "violations_symbolic": violations(tr_sym, est),
            }
            for kind in KINDS:
                row[kind] = float(est.mean_width("a", kind)[-1])
            row["inner"] = float(est.mean_width("a")[-1])
            for kind in KINDS + ("inner",):
                row[f"symbolic/{kind}"] = row["symbolic"] / row[kind]
            row["interval/attack"] = row["interval"] / row["attack"]
            rows.append(row)
            if args.progress:
                print(f"  T={T:3d} eps={eps:<6g} done", file=sys.stderr)
    return rows


def timing_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(8, 16, seed=0)
    centre = np.random.default_rng(1).standard_normal((max(args.timing_steps), w.n_x))
    out = []
    for T in args.timing_steps:
        for eps in args.eps:
            ball = ls.LinfBall(centre[:T], eps)
            t_fwd, _ = median_time(lambda: ls.forward(w, centre[:T]), args.repeats)
            t_int, _ = median_time(lambda: ls.propagate(w, ball), args.repeats)
            t_sym, _ = median_time(lambda: ls.propagate(w, ball, method="symbolic"), args.repeats)
            out.append({"T": T, "eps": eps, "time_forward_s": t_fwd, "time_interval_s": t_int, "time_symbolic_s": t_sym})
    return out


def onehot_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    w = torch_default_lstm(5, 8, seed=0)
    rows = []
    for T in args.onehot_steps:
        tokens = ls.OneHot(w.n_x)
        tr_int = ls.propagate(w, tokens, steps=T)
        tr_sym = ls.propagate(w, tokens, steps=T, method="symbolic")
        est = inner_estimate(w, tokens, steps=T)
        assert est.exact
        row = {
            "T": T,
            "sequences": w.n_x**T,
            "exact": float(est.mean_width("a")[-1]),
            "interval": float(tr_int.mean_width("a")[-1]),
            "symbolic": float(tr_sym.mean_width("a")[-1]),
            "violations_interval": violations(tr_int, est),
            "violations_symbolic": violations(tr_sym, est),
        }
        row["interval/exact"] = row["interval"] / row["exact"]
        row["symbolic/exact"] = row["symbolic"] / row["exact"]
        rows.append(row)
    return rows


def curves(args: argparse.Namespace) -> dict[str, Any]:
    """Width of a⟨t⟩ for every t <= T_max: interval, symbolic, attack (every step attacked)."""
    w = torch_default_lstm(8, 16, seed=0)
    T = max(args.steps)
    centre = np.random.default_rng(1).standard_normal((T, w.n_x))
    out: dict[str, Any] = {"T": T, "eps": {}}
    for eps in args.eps:
        ball = ls.LinfBall(centre, eps)
        est = inner_estimate(w, ball, samples=args.samples, seed=args.seed)
        tr_int = ls.propagate(w, ball)
        tr_sym = ls.propagate(w, ball, method="symbolic")
        out["eps"][eps] = {
            "interval": tr_int.mean_width("a").tolist(),
            "symbolic": tr_sym.mean_width("a").tolist(),
            "attack": est.mean_width("a", "attack").tolist(),
            "uniform": est.mean_width("a", "uniform").tolist(),
            "violations": violations(tr_int, est) + violations(tr_sym, est),
        }
    return out


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
        t = np.arange(1, len(c["interval"]) + 1)
        ax.semilogy(t, c["interval"], label="interval", color="tab:red")
        ax.semilogy(t, c["symbolic"], label="symbolic", color="tab:blue")
        ax.semilogy(t, c["attack"], label="attack (inner)", color="tab:green")
        ax.semilogy(t, c["uniform"], label="uniform samples (inner)", color="tab:green", ls=":")
        ax.set_title(f"eps = {eps:g}")
        ax.set_xlabel("step t")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("mean width of a⟨t⟩")
    axes[0].legend(fontsize=8)
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


def observations(res: dict[str, Any], markdown: bool) -> list[str]:
    """Sentences computed from the rows (so that no number in the docs is typed by hand)."""
    rows = res["ball"]
    lines = ["### Observations" if markdown else "Observations", ""]
    for eps in sorted({r["eps"] for r in rows}):
        rs = [r for r in rows if r["eps"] == eps]
        att = [r["symbolic/attack"] for r in rs]
        blown = [r["T"] for r in rs if r["symbolic"] >= 0.9 * r["interval"] and r["T"] > 1]
        text = (f"- eps = {eps:g}: symbolic / attack ranges over {min(att):.2f}–{max(att):.2f} for T in "
                f"{{{', '.join(str(r['T']) for r in rs)}}}")
        if blown:
            text += (f"; from T = {blown[0]} on the symbolic bound is as wide as the interval bound "
                     f"({rs[-1]['symbolic']:.3g} against an attack width of {rs[-1]['attack']:.3g} at T = {rs[-1]['T']})")
        lines.append(text + ".")
    r10 = [r for r in rows if r["T"] == 10]
    if r10:
        lines.append("- At T = 10, symbolic / (uniform, corners, attack): " + "; ".join(
            f"eps {r['eps']:g}: {r['symbolic/uniform']:.2f}, {r['symbolic/corners']:.2f}, {r['symbolic/attack']:.2f}" for r in r10) + ".")
    lines.append("- The attack is never below the corners and the corners never below uniform sampling here: "
                 + ("true" if all(r["attack"] >= r["corners"] >= r["uniform"] for r in rows) else "NOT true") + " in every row.")
    oh = res["onehot"]
    if oh:
        lines.append(f"- One-hot: symbolic / exact grows from {oh[0]['symbolic/exact']:.2f} (T = {oh[0]['T']}) to "
                     f"{oh[-1]['symbolic/exact']:.2f} (T = {oh[-1]['T']}), interval / exact from {oh[0]['interval/exact']:.2f} to "
                     f"{oh[-1]['interval/exact']:.2f}.")
    return lines + [""]


def render(res: dict[str, Any], markdown: bool) -> str:
    out = []
    rows = res["ball"]
    header = ["T", "eps", "interval", "symbolic", "uniform", "corners", "attack", "sym/unif", "sym/corn", "sym/att", "int/att", "t_int ms", "t_sym ms"]
    body = [
        [
            str(r["T"]), f"{r['eps']:g}", f"{r['interval']:.3e}", f"{r['symbolic']:.3e}", f"{r['uniform']:.3e}",
            f"{r['corners']:.3e}", f"{r['attack']:.3e}", f"{r['symbolic/uniform']:.2f}", f"{r['symbolic/corners']:.2f}",
            f"{r['symbolic/attack']:.2f}", f"{r['interval/attack']:.1f}", f"{r['time_interval_s'] * 1e3:.2f}", f"{r['time_symbolic_s'] * 1e3:.1f}",
        ]
        for r in rows
    ]
    title = "Mean width of a⟨T⟩ (L∞ ball, n_x = 8, n_a = 16, PyTorch default init)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    timing = res["timing"]
    header = ["T", "eps", "forward ms", "interval ms", "symbolic ms", "symbolic / interval"]
    body = [
        [str(r["T"]), f"{r['eps']:g}", f"{r['time_forward_s'] * 1e3:.2f}", f"{r['time_interval_s'] * 1e3:.2f}",
         f"{r['time_symbolic_s'] * 1e3:.1f}", f"{r['time_symbolic_s'] / r['time_interval_s']:.0f}x"]
        for r in timing
    ]
    title = f"Times (median of {res['config']['repeats']} runs; one unbatched sequence)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    oh = res["onehot"]
    header = ["T", "sequences", "exact", "interval", "symbolic", "interval/exact", "symbolic/exact"]
    body = [
        [str(r["T"]), str(r["sequences"]), f"{r['exact']:.3e}", f"{r['interval']:.3e}", f"{r['symbolic']:.3e}",
         f"{r['interval/exact']:.2f}", f"{r['symbolic/exact']:.2f}"]
        for r in oh
    ]
    title = "One-hot inputs: mean width of a⟨T⟩ against the exact range (n_x = 5 tokens, n_a = 8, all 5^T sequences)"
    out += [f"### {title}" if markdown else title, "", _table(header, body, markdown), ""]
    out += observations(res, markdown)
    bad = res["violations"]
    out.append(f"Soundness check: {bad} inner-estimate end(s) outside a bound" + (" — SOUNDNESS VIOLATION" if bad else " (every real trajectory inside both bounds)."))
    return "\n".join(out)


MARKDOWN_HEAD = """# Tightness: interval and symbolic bounds against real trajectories

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
    if args.quick:
        args.steps, args.timing_steps, args.onehot_steps, args.samples, args.repeats = (1, 5, 10), (10,), (1, 2, 3), 2000, 2
    args.progress = sys.stderr.isatty()
    res: dict[str, Any] = {
        "config": {"blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "n_x": 8, "n_a": 16, "init": "torch default", "model_seed": 0, "centre_seed": 1,
                   "samples": args.samples, "corners": args.samples, "repeats": args.repeats, "seed": args.seed},
        "ball": ball_rows(args),
        "timing": timing_rows(args),
        "onehot": onehot_rows(args),
    }
    bad = sum(r["violations_interval"] + r["violations_symbolic"] for r in res["ball"] + res["onehot"])
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
            print(f"\n### Width of a⟨t⟩ against t (T = {max(args.steps)})\n")
            print("![mean width of a⟨t⟩ for interval, symbolic and the inner estimates](tightness.png)")
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
