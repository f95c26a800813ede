"""Certified / falsified / unknown on an LSTM digits classifier, without and with branch and bound.

Model: :mod:`digits` (sklearn digits read row by row: n_x 8, T 8, n_a 32, a linear head; the
cached weights in ``benchmarks/data/digits_lstm.npz``). Samples: the first 100 correctly
classified test images. Sets: the L∞ ball of radius eps around each image (not clipped; with
``--clip`` the ball ∩ [0, 1]). For each eps in 1e-3, 5e-3, 1e-2, 1.5e-2, 2e-2: ``ls.certify``
with ``method="best"`` and its default slope optimisation for open samples, first with no
branching, then with ``budget`` seconds of branch and bound per open sample. Prints counts and
seconds per image. Not a test: it asserts nothing; timings depend on the machine's load.

    python benchmarks/certify.py [--n 100] [--budget 5] [--split input] [--clip] [--json FILE]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small products: BLAS threads only contend on a shared machine

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import lstm_symbolic as ls  # noqa: E402
from digits import correct_test_images, digits_model  # noqa: E402

EPS = (1e-3, 5e-3, 1e-2, 1.5e-2, 2e-2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--budget", type=float, default=5.0, help="branch-and-bound seconds per open image")
    ap.add_argument("--split", default="input", choices=["auto", "activation", "input"])
    ap.add_argument("--eps", default=",".join(str(e) for e in EPS))
    ap.add_argument("--clip", action="store_true", help="balls clipped to [0, 1]")
    ap.add_argument("--no-branching", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    w = digits_model()
    X, y = correct_test_images(w, args.n)
    xs = X.transpose(1, 0, 2)  # time-major (T, N, n_x)
    clip = (0.0, 1.0) if args.clip else None
    rows = []
    print(f"digits LSTM (n_x 8, T 8, n_a 32), {len(y)} correctly classified test images, method best, "
          f"{'balls clipped to [0, 1]' if clip else 'plain L∞ balls'}; budget {args.budget:g} s, split {args.split}")
    print(f"{'eps':>8} | {'no branching: cert fals unk  s/img':>36} | {'branch and bound: cert fals unk  s/img':>40}")
    for eps in (float(e) for e in args.eps.split(",")):
        t0 = time.perf_counter()
        a = ls.certify(w, xs, eps, y, clip=clip)
        ta = (time.perf_counter() - t0) / len(y)
        ca = a.counts()
        line = f"{eps:>8.4g} | {ca['certified']:>20d} {ca['falsified']:>4d} {ca['unknown']:>3d} {ta:>6.3f}"
        row = {"eps": eps, "plain": ca, "plain_seconds": ta}
        if not args.no_branching:
            t0 = time.perf_counter()
            b = ls.certify(w, xs, eps, y, clip=clip, budget=args.budget, split=args.split)
            tb = (time.perf_counter() - t0) / len(y)
            cb = b.counts()
            line += f" | {cb['certified']:>24d} {cb['falsified']:>4d} {cb['unknown']:>3d} {tb:>6.3f}"
            row.update(bab=cb, bab_seconds=tb, leaves=int(b.branches.sum()))
        print(line, flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
