"""Sound interval arithmetic: pure kernels on ``(lo, hi)`` arrays (:mod:`.kernels`), all
directed rounding in one place (:mod:`.rounding`), and the thin :class:`Interval` wrapper."""

from .core import EmptyIntersectionError, Interval, exp, hull, intersect, sigmoid, tanh

__all__ = ["Interval", "EmptyIntersectionError", "exp", "sigmoid", "tanh", "hull", "intersect"]
