"""mode="rigorous" vs mode="fast", side by side: the elementary functions and propagate end to end.

1. exp, sigmoid, tanh (``kernels.<f>(x, x, mode)``, both ends) on 10^5 and 10^6 arguments, two
   mixes: "spanning" (10% tiny 10^[-300,-8], 55% moderate [-10, 10], 25% saturating
   |x| in [10, 60] plus exp's overflow/underflow band |x| in [700, 750], 10% huge 10^[3, 300],
   both signs) and "moderate" ([-10, 10] only, what an LSTM's pre-activations look like).
2. ``propagate(method="interval")`` rigorous vs fast vs the plain float64 ``ls.forward`` on a
   random LSTM: n_x 64, n_a 256, batch 64, T 10, L-inf ball of eps 0.01.

Every comparison runs its contenders interleaved: each repeat alternates them ``inner`` times
(enough for ~20 ms per contender). The headline ratio is the median over repeats of the
per-repeat ratio of best-of-inner times; next to it, the ratio of the medians of all runs. On a
shared machine a call of a few ms is preempted far more often than one of 0.5 ms, and
preemption only ever adds time: the best-of-inner figure is the cost, the median shows the
noise. Not a test: it asserts nothing.

BLAS threads default to 1 (``--blas-threads``): on a loaded machine with few cores, OpenBLAS's
spinning threads can slow a 64x320 @ 320x1024 product twenty-fold, which says nothing about
either mode. The variable must be set before numpy is imported, hence the re-exec below.

    python benchmarks/rigorous.py [--repeats 7] [--blas-threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="10^5 points only, fewer repeats")
    return ap.parse_args()


ARGS = _args()
if os.environ.get("OPENBLAS_NUM_THREADS") != str(ARGS.blas_threads):
    env = dict(os.environ, **{v: str(ARGS.blas_threads) for v in _THREAD_VARS})
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np  # noqa: E402

import lstm_symbolic as ls  # noqa: E402
from lstm_symbolic.interval import kernels as K  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from propagate import build  # noqa: E402  (the same random LSTM as benchmarks/propagate.py)


def interleaved(fns: dict, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per repeat and contender: the best and the median of ``inner`` alternated runs
    (``inner`` sized so that each contender runs ~20 ms per repeat)."""
    t0 = time.perf_counter()
    for fn in fns.values():
        fn()
    inner = max(3, min(25, int(0.02 * len(fns) / max(time.perf_counter() - t0, 1e-9))))
    out: dict[str, dict[str, list[float]]] = {k: {"best": [], "median": []} for k in fns}
    for _ in range(repeats):
        runs: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(inner):
            for k, fn in fns.items():
                t = time.perf_counter()
                fn()
                runs[k].append(time.perf_counter() - t)
        for k in fns:
            out[k]["best"].append(min(runs[k]))
            out[k]["median"].append(statistics.median(runs[k]))
    return out


def arguments(mix: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if mix == "moderate":
        return rng.uniform(-10, 10, n)
    sign = rng.choice([-1.0, 1.0], n)
    parts = [
        10.0 ** rng.uniform(-300, -8, n // 10),
        rng.uniform(0, 10, n * 55 // 100),
        np.concatenate([rng.uniform(10, 60, n * 15 // 100), rng.uniform(700, 750, n // 10)]),
        10.0 ** rng.uniform(3, 300, n // 10),
    ]
    x = np.concatenate(parts)
    x = np.concatenate([x, rng.uniform(-10, 10, n - x.size)])
    return rng.permutation(x * sign)


def ratio_report(label: str, times: dict[str, dict[str, list[float]]], num: str, den: str) -> str:
    best = statistics.median(a / b for a, b in zip(times[num]["best"], times[den]["best"]))
    med = statistics.median(times[num]["median"]) / statistics.median(times[den]["median"])
    return (f"{label:<34} {statistics.median(times[num]['best']) * 1e3:9.2f} ms vs "
            f"{statistics.median(times[den]['best']) * 1e3:8.2f} ms   ratio {best:6.2f}x"
            f"   (ratio of medians {med:6.2f}x)")


def elementary(repeats: int, sizes: tuple[int, ...]) -> None:
    print("\n[1] elementary functions, both ends of [x, x]: rigorous / fast")
    for f in (K.exp, K.sigmoid, K.tanh):
        f(np.zeros(3), np.zeros(3), "rigorous")  # build the tables outside the timing
    for mix in ("spanning", "moderate"):
        for n in sizes:
            x = arguments(mix, n, seed=n)
            for name in ("exp", "sigmoid", "tanh"):
                f = getattr(K, name)
                with np.errstate(over="ignore"):
                    times = interleaved({"rigorous": lambda: f(x, x, "rigorous"), "fast": lambda: f(x, x, "fast")}, repeats)
                print(ratio_report(f"{name:<8} {mix:<9} n = {n:>8,}", times, "rigorous", "fast"))


def end_to_end(repeats: int) -> None:
    print("\n[2] propagate(method='interval'), n_x 64, n_a 256, batch 64, T 10, eps 0.01")
    w = build()
    xs = np.random.default_rng(1).standard_normal((10, 64, w.n_x))
    ball = ls.LinfBall(xs, 0.01)
    for mode in ("fast", "rigorous"):  # warm-up (tables, caches)
        ls.propagate(w, ball, method="interval", mode=mode)
    ls.forward(w, xs)
    times = interleaved(
        {
            "forward": lambda: ls.forward(w, xs),
            "fast": lambda: ls.propagate(w, ball, method="interval", mode="fast"),
            "rigorous": lambda: ls.propagate(w, ball, method="interval", mode="rigorous"),
        },
        repeats,
    )
    print(ratio_report("rigorous / fast", times, "rigorous", "fast"))
    print(ratio_report("rigorous / forward (float64)", times, "rigorous", "forward"))
    print(ratio_report("fast / forward (float64)", times, "fast", "forward"))


def main() -> None:
    repeats = max(3, ARGS.repeats // 2) if ARGS.quick else ARGS.repeats
    sizes = (10**5,) if ARGS.quick else (10**5, 10**6)
    print(f"numpy {np.__version__}, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, repeats {repeats} (interleaved; medians)")
    print(f"lstm_symbolic from {Path(ls.__file__).parent}")
    elementary(repeats, sizes)
    end_to_end(repeats)


if __name__ == "__main__":
    main()
