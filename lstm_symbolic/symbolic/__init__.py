"""Symbolic propagation: affine forms (zonotopes) over shared noise symbols."""

from .affine import AffineForm
from .stepper import MAX_SYMBOLS, SymbolicStepper

__all__ = ["AffineForm", "SymbolicStepper", "MAX_SYMBOLS"]
