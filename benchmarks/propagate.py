"""Interval propagation vs a plain numpy forward pass of the same model, side by side.

Configuration (issue 2): n_x = 64, n_a = 256, batch 512, T = 50, L∞ ball of eps 0.01.
Prints the median time of each over several runs and their ratio (target <= 2.5x; the floor is
about 2x: two matrix products per affine map). Not a test: it asserts nothing.

    python benchmarks/propagate.py [--repeats 5] [--mode fast|rigorous]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import lstm_symbolic as ls


def build(n_x: int = 64, n_a: int = 256, seed: int = 0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(n_a)  # PyTorch's default initialisation U(-1/sqrt(n_a), 1/sqrt(n_a))
    W = {f"W_{g}": rng.uniform(-k, k, (n_a, n_a + n_x)) for g in "fuco"}
    b = {f"b_{g}": rng.uniform(-2 * k, 2 * k, n_a) for g in "fuco"}
    return ls.LSTMWeights(**W, **b)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def side_by_side(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Run each function once per repeat, interleaved, so that both see the same machine load."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(timed(fn))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--mode", default="fast", choices=["fast", "rigorous"])
    args = ap.parse_args()
    w = build()
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((args.steps, args.batch, w.n_x))
    ball = ls.LinfBall(xs, 0.01)
    ls.forward(w, xs[:2])  # warm-up
    ls.propagate(w, ls.LinfBall(xs[:2], 0.01), mode=args.mode)
    times = side_by_side(
        {"forward": lambda: ls.forward(w, xs), "interval": lambda: ls.propagate(w, ball, mode=args.mode)},
        args.repeats,
    )
    t_fwd, t_ivl = statistics.median(times["forward"]), statistics.median(times["interval"])
    ratios = [i / f for f, i in zip(times["forward"], times["interval"])]
    print(f"n_x={w.n_x} n_a={w.n_a} batch={args.batch} T={args.steps} eps=0.01 mode={args.mode} repeats={args.repeats}")
    print(f"forward (numpy, float64)      {t_fwd * 1e3:9.1f} ms  (median)")
    print(f"propagate(method='interval')  {t_ivl * 1e3:9.1f} ms  (median)")
    print(f"ratio interval / forward      {statistics.median(ratios):9.2f} x  (median of per-repeat ratios; target <= 2.5x)")
    print(f"ratio of the fastest runs     {min(times['interval']) / min(times['forward']):9.2f} x  (noise only adds time)")


if __name__ == "__main__":
    main()
