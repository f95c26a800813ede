"""Long horizons on a mid-size model: the width of a⟨t⟩ against the attack's range, up to T = 100.

Configuration (issue 9): one LSTM layer with PyTorch's default initialisation (every parameter
U(−1/√n_a, 1/√n_a), bias b_ih + b_hh), n_x = 32, n_a = 256, seed 0; one input sequence
x ~ N(0, 1) (seed 1), an L∞ ball of radius 0.01 at every step, T = 100. The yardstick is the
per-unit gradient attack of :func:`lstm_symbolic.attack.inner_estimate` (the widest range
real trajectories were driven to; random corners reach a third of it) at a few steps.

For each method: the mean width of a⟨t⟩ at t = 1, 10, 25, 50, 75, 100, its ratio to the
attack's range, the time of the whole run and its peak memory (``tracemalloc``: numpy's
buffers). Also printed: the multiply–adds of one step of each method (the floor its time is
compared with) and the BLAS in use. Not a test: it asserts nothing.

    python benchmarks/long_horizon.py [--steps 100] [--attack-steps 10,50,100] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

import lstm_symbolic as ls
from lstm_symbolic.attack import inner_estimate
from lstm_symbolic.methods.zonotope import default_symbols

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tightness import torch_default_lstm  # noqa: E402

REPORT_STEPS = (1, 10, 25, 50, 75, 100)


def run(w: ls.LSTMWeights, ball: ls.LinfBall, **kw) -> tuple[float, float, ls.Trace]:
    tracemalloc.start()
    t0 = time.perf_counter()
    trace = ls.propagate(w, ball, **kw)
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 2**20, trace


def step_flops(n_x: int, n_a: int, k: int) -> dict[str, float]:
    """Multiply–adds of one step: the interval step's two products of the stacked gate map
    (4 n_a × (n_a + n_x)) with a box (the radius one in float32 counted as half); the
    zonotope's product of that map with k symbols (``W G``) and its radius product."""
    m, n = 4 * n_a, n_a + n_x
    return {"forward": m * n, "interval": 1.5 * m * n, "symbolic": m * n * (k + 2)}


def blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = threadpool_info()
        return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)" for i in info) or "unknown"
    except ImportError:
        return f"threadpoolctl not installed; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--attack-steps", default="10,50,100")
    ap.add_argument("--quick", action="store_true", help="T = 20, attack at 10 and 20: a smoke run")
    args = ap.parse_args()
    T = 20 if args.quick else args.steps
    attack_steps = [int(t) for t in ("10,20" if args.quick else args.attack_steps).split(",") if int(t) <= T]
    w = torch_default_lstm(32, 256, seed=0)
    xs = np.random.default_rng(1).standard_normal((T, w.n_x))
    ball = ls.LinfBall(xs, 0.01)
    k = default_symbols(w.to_model())
    configs = {
        "interval": {"method": "interval"},
        f"symbolic ({k // 2} symbols)": {"method": "symbolic", "max_symbols": k // 2},
        f"symbolic ({k} symbols, default)": {"method": "symbolic"},
        "best (default)": {"method": "best"},
    }
    print(f"n_x = 32, n_a = 256, T = {T}, eps = 0.01; BLAS: {blas()}")
    t0 = time.perf_counter()
    forward_time = min(_timed(lambda: ls.forward(w, xs)) for _ in range(3))
    est = inner_estimate(w, ball, samples=200, corners=200, attack_steps=attack_steps, seed=0)
    attack_time = time.perf_counter() - t0
    att = est.mean_width("a", "attack")
    print(f"attack (per unit, both directions) at t = {attack_steps}: " + ", ".join(f"t{t}: {att[t - 1]:.4f}" for t in attack_steps)
          + f"  ({attack_time:.0f} s); random corners reach " + ", ".join(f"{est.mean_width('a', 'corners')[t - 1]:.4f}" for t in attack_steps))
    flops = step_flops(32, 256, k)
    print(f"multiply-adds per step: forward {flops['forward']:.2e}, interval ≈ {flops['interval']:.2e}, symbolic (k = {k}) ≈ {flops['symbolic']:.2e}")
    print(f"forward pass: {forward_time * 1e3:.1f} ms for T = {T}")
    print()
    steps = [t for t in REPORT_STEPS if t <= T]
    print(f"{'method':34s} {'time s':>8s} {'peak MiB':>9s}  " + "  ".join(f"{'t' + str(t):>8s}" for t in steps) + "   width / attack at the attacked steps")
    bad = 0
    for name, kw in configs.items():
        dt, peak, tr = run(w, ball, **kw)
        wd = tr.mean_width("a")
        ratios = ", ".join(f"t{t}: {wd[t - 1] / att[t - 1]:.2f}x" for t in attack_steps)
        print(f"{name:34s} {dt:8.1f} {peak:9.0f}  " + "  ".join(f"{wd[t - 1]:8.4f}" for t in steps) + f"   {ratios}", flush=True)
        lo, hi = est["a"]
        seen = np.isfinite(lo)
        bad += int(((lo < tr.a.lo) & seen).sum() + ((hi > tr.a.hi) & seen).sum())
    print()
    print(f"Soundness check: {bad} inner-estimate end(s) outside a bound" + (" — SOUNDNESS VIOLATION" if bad else "."))
    return 1 if bad else 0


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
