"""Affine forms (zonotopes) over shared noise symbols: the kernel of the ``symbolic`` method
(:mod:`lstm_symbolic.methods.zonotope`)."""

from .affine import AffineForm

__all__ = ["AffineForm"]
