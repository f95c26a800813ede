"""The relaxation interface and the shared construction for S-shaped functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R

Pair = tuple[np.ndarray, np.ndarray]


class Linear1(NamedTuple):
    """``f(x) ∈ slope·x + offset + [−error, error]`` for every ``x`` in the given bounds.
    Arrays of one shape; ``error >= 0`` already rounded up."""

    slope: np.ndarray
    offset: np.ndarray
    error: np.ndarray


class Linear2(NamedTuple):
    """``g(x, y) ∈ slope_x·x + slope_y·y + offset + [−error, error]`` on the given box."""

    slope_x: np.ndarray
    slope_y: np.ndarray
    offset: np.ndarray
    error: np.ndarray


@dataclass(frozen=True)
class SShaped:
    """Relaxation of an increasing S-shaped function whose derivative is unimodal with its peak
    at 0 (σ and tanh).

    Construction (DeepZ, Singh et al. 2018, "Fast and Effective Robustness Certification"):
    on ``[l, u]`` take ``slope λ <= min f' = min(f'(l), f'(u))`` (the minimum of a unimodal
    derivative over an interval sits at an end). Then ``g(x) = f(x) − λx`` is non-decreasing on
    ``[l, u]``, so ``g([l, u]) = [g(l), g(u)]`` and ``f(x) ∈ λx + mid(g) ± rad(g)``. Every
    quantity is a sound enclosure: ``f'`` at the ends is bounded *below* with the interval
    kernels (so λ never exceeds the true minimum), ``g(l)`` is rounded down and ``g(u)`` up.
    The construction needs no root finding and is exact to second order in ``u − l``.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray, str], Pair]  # interval kernel of f
    derivative_lower: Callable[[np.ndarray, str], np.ndarray]  # lower bound of f'(x), pointwise

    def relax(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Linear1:
        """Linear enclosure of ``f`` on ``[lo, hi]`` (arrays, finite)."""
        slope = np.minimum(self.derivative_lower(lo, mode), self.derivative_lower(hi, mode))
        slope = np.maximum(slope, 0.0)
        f_lo, _ = self.value(lo, lo, mode)
        _, f_hi = self.value(hi, hi, mode)
        g_lo = R.sub_down(f_lo, R.mul_up(slope, lo))
        g_hi = R.sub_up(f_hi, R.mul_down(slope, hi))
        offset, error = K.midrad(g_lo, g_hi)
        return Linear1(slope, offset, error)

    def bounds(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
        """The interval enclosure of ``f([lo, hi])``."""
        return self.value(lo, hi, mode)
