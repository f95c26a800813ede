"""The ``lstm-symbolic`` command."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from .errors import InputError

__all__ = ["main"]


def _demo_weights():
    from . import demo_model
    from .lstm import LSTMWeights

    arrays = demo_model.load_demo_arrays()
    return LSTMWeights.from_arrays(arrays), [str(v) for v in arrays["vocab"]]


def _cmd_demo(args: argparse.Namespace) -> int:
    from .inputs import OneHot
    from .propagate import propagate

    w, vocab = _demo_weights()
    tr = propagate(w, OneHot(w.n_x), steps=args.steps, method="interval")
    print(f"built-in character LSTM: n_x = {w.n_x}, n_a = {w.n_a}, n_y = {w.n_y}; "
          f"input set: every one-hot sequence of length {args.steps} over {len(vocab)} symbols")
    print(f"{'t':>3} " + " ".join(f"{k:>21}" for k in ("Γ_f", "Γ_u", "Γ_o", "c̃", "c", "a", "y")))
    for t in range(args.steps):
        cells = []
        for k in ("f", "u", "o", "c_tilde", "c", "a", "y"):
            iv = getattr(tr, k)
            cells.append(f"[{iv.lo[t].min():+.4f}, {iv.hi[t].max():+.4f}]")
        print(f"{t + 1:>3} " + " ".join(f"{c:>21}" for c in cells))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm-symbolic", description="Sound bounds on every signal inside an LSTM.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="bound the built-in character LSTM over every one-hot sequence")
    d.add_argument("--steps", type=int, default=8, help="sequence length T (default 8)")
    d.set_defaults(func=_cmd_demo)
    try:
        from . import cli_math
    except ImportError:
        pass
    else:
        cli_math.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"lstm-symbolic: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
