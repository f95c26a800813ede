"""Interval propagation against the float forward passes of the same model, side by side.

Configuration (issue 14): n_x = 64, n_a = 256, T = 50, L∞ ball of eps 0.01, batch sizes 1, 2,
4, …, 512 (every power of two). For each batch size every contender runs once per repeat, interleaved (so all see
the same machine load), and the table gives medians:

- ``forward``: ``ls.forward``, the library's own float64 forward pass — the yardstick (target:
  ``propagate(method="interval")`` within 2.0x of it at every batch size);
- ``interval``: ``ls.propagate(..., method="interval")``;
- ``torch32`` / ``torch64``: ``torch.nn.LSTM``'s forward on the CPU (float32 and float64, under
  ``torch.no_grad()``), when torch is installed — what a user compares with.

Ratios are medians of the per-repeat ratios (each repeat's contenders ran back to back);
``idle`` is the median number of idle CPUs the library saw as its interval runs started (it
gives the BLAS that many threads, :mod:`lstm_symbolic._threads`). The
BLAS that numpy uses and its thread count are printed (threadpoolctl's ``threadpool_info()``,
when threadpoolctl is installed), and with ``--threads both`` (the default) the whole table is
measured twice: as the library runs by default, and with every BLAS (and torch) limited to one
thread — then forward and interval run under the same limit, so their ratio stays honest.

``--memory`` adds the peak memory of one run of each method (``tracemalloc``: numpy's buffers)
on a smaller configuration (``--memory-batch``, ``--memory-steps``), and the time it took.

Not a test: it asserts nothing.

    python benchmarks/propagate.py [--repeats 7] [--batches 1,2,4,...,512] [--threads both|default|one]
                                   [--mode fast|rigorous] [--memory]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

import lstm_symbolic as ls
from lstm_symbolic import _threads


def build(n_x: int = 64, n_a: int = 256, seed: int = 0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(n_a)  # PyTorch's default initialisation U(-1/sqrt(n_a), 1/sqrt(n_a))
    W = {f"W_{g}": rng.uniform(-k, k, (n_a, n_a + n_x)) for g in "fuco"}
    b = {f"b_{g}": rng.uniform(-2 * k, 2 * k, n_a) for g in "fuco"}
    return ls.LSTMWeights(**W, **b)


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def side_by_side(fns: dict[str, Callable[[], Any]], repeats: int, before: dict[str, Callable[[], Any]] | None = None) -> dict[str, list[float]]:
    """Run each function once per repeat, interleaved, so that all see the same machine load
    (``before[k]``, untimed, just before each run of ``fns[k]``)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            if before and k in before:
                before[k]()
            times[k].append(timed(fn))
    return times


def torch_lstm(w: ls.LSTMWeights, dtype: Any) -> Any:
    """``torch.nn.LSTM`` holding ``w`` (PyTorch gate order, from ``w.to_torch()``), or None."""
    try:
        import torch
    except ImportError:
        return None
    lstm = torch.nn.LSTM(w.n_x, w.n_a).to(dtype)
    state = {k: torch.tensor(np.asarray(v), dtype=dtype) for k, v in w.to_torch().items() if k in dict(lstm.named_parameters())}
    lstm.load_state_dict(state, strict=False)
    return lstm.eval()


def blas_info() -> str:
    """Which BLAS numpy runs and its threads (threadpoolctl), and torch's intra-op threads."""
    lines = []
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS threads unknown (pip install threadpoolctl)")
    else:
        for lib in threadpool_info():
            lines.append(f"{lib.get('user_api')}: {lib.get('internal_api')} {lib.get('version')} ({lib.get('threading_layer', '?')}), "
                         f"{lib.get('num_threads')} threads, {os.path.basename(lib.get('filepath', ''))}")
    try:
        import torch

        lines.append(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads")
    except ImportError:
        lines.append("torch not installed: no torch.nn.LSTM rows")
    return "\n".join("  " + line for line in lines)


@contextlib.contextmanager
def one_thread() -> Any:
    """Every BLAS / OpenMP pool limited to one thread (threadpoolctl), torch too."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("--threads one|both needs threadpoolctl (pip install threadpoolctl)") from None
    try:
        import torch
    except ImportError:
        torch = None
    old = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old)


def table(w: ls.LSTMWeights, batches: list[int], steps: int, repeats: int, mode: str) -> None:
    rng = np.random.default_rng(1)
    lstms = {"torch32": None, "torch64": None}
    try:
        import torch

        lstms = {"torch32": torch_lstm(w, torch.float32), "torch64": torch_lstm(w, torch.float64)}
    except ImportError:
        torch = None
    header = f"{'batch':>5} {'forward':>10} {'interval':>10} {'ratio':>7} {'fastest':>8} {'idle':>5}"
    if torch is not None:
        header += f" {'torch32':>10} {'torch64':>10} {'/torch32':>9} {'/torch64':>9}"
    print(header)
    for B in batches:
        xs = rng.standard_normal((steps, B, w.n_x))
        ball = ls.LinfBall(xs, 0.01)
        fns: dict[str, Callable[[], Any]] = {
            "forward": lambda: ls.forward(w, xs),
            "interval": lambda: ls.propagate(w, ball, method="interval", mode=mode),
        }
        if torch is not None:
            x32, x64 = torch.tensor(xs, dtype=torch.float32), torch.tensor(xs, dtype=torch.float64)

            def run(lstm: Any, x: Any) -> Any:
                with torch.no_grad():
                    return lstm(x)

            fns["torch32"] = lambda: run(lstms["torch32"], x32)
            fns["torch64"] = lambda: run(lstms["torch64"], x64)
        side_by_side(fns, 1)  # warm-up
        idle: list[int] = []  # the idle CPUs the library sees as each interval run starts
        t = side_by_side(fns, repeats, {"interval": lambda: idle.append(_threads.idle_cpus())})
        med = {k: statistics.median(v) for k, v in t.items()}
        ratio = statistics.median(i / f for f, i in zip(t["forward"], t["interval"]))
        row = f"{B:>5} {med['forward'] * 1e3:>8.1f}ms {med['interval'] * 1e3:>8.1f}ms {ratio:>6.2f}x {min(t['interval']) / min(t['forward']):>7.2f}x {statistics.median(idle):>5.0f}"
        if torch is not None:
            r32 = statistics.median(i / f for f, i in zip(t["torch32"], t["interval"]))
            r64 = statistics.median(i / f for f, i in zip(t["torch64"], t["interval"]))
            row += f" {med['torch32'] * 1e3:>8.1f}ms {med['torch64'] * 1e3:>8.1f}ms {r32:>8.2f}x {r64:>8.2f}x"
        print(row, flush=True)


def memory(w: ls.LSTMWeights, batch: int, steps: int, methods: list[str]) -> None:
    """Peak traced memory (numpy buffers) and time of one run of each method."""
    rng = np.random.default_rng(2)
    ball = ls.LinfBall(rng.standard_normal((steps, batch, w.n_x)), 0.01)
    print(f"peak memory of one propagate run (tracemalloc), batch {batch}, T {steps}:")
    for method in methods:
        tracemalloc.start()
        t0 = time.perf_counter()
        ls.propagate(w, ball, method=method)
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {method:>9}: {peak / 2**20:9.1f} MiB peak, {dt:8.2f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batches", default=",".join(str(2**k) for k in range(10)))
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--mode", default="fast", choices=["fast", "rigorous"])
    ap.add_argument("--threads", default="both", choices=["both", "default", "one"])
    ap.add_argument("--memory", action="store_true", help="also the peak memory of each method")
    ap.add_argument("--memory-batch", type=int, default=2)
    ap.add_argument("--memory-steps", type=int, default=10)
    ap.add_argument("--memory-methods", default="interval,symbolic,linear,best")
    args = ap.parse_args()
    w = build()
    batches = [int(b) for b in args.batches.split(",")]
    print(f"n_x={w.n_x} n_a={w.n_a} T={args.steps} eps=0.01 mode={args.mode} repeats={args.repeats}, interleaved; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print("BLAS and threads:\n" + blas_info())
    if args.threads in ("both", "default"):
        print("\nas the library runs by default (BLAS threads: the idle CPUs, lstm_symbolic._threads):")
        table(w, batches, args.steps, args.repeats, args.mode)
    if args.threads in ("both", "one"):
        print("\nevery BLAS and torch limited to one thread (threadpoolctl), forward and interval alike:")
        with one_thread():
            table(w, batches, args.steps, args.repeats, args.mode)
    if args.memory:
        print()
        memory(w, args.memory_batch, args.memory_steps, args.memory_methods.split(","))
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
