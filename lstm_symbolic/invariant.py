"""All-horizon invariants — see :mod:`lstm_symbolic.invariants` (this module keeps the
``lstm_symbolic.invariant`` import path)."""

from .invariants import Contraction, Invariant, invariant

__all__ = ["invariant", "Invariant", "Contraction"]
