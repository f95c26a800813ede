"""Relaxation of the product ``x·y`` on a box — the gate products Γ ⊙ signal.

With ``x ∈ [x_m − r_x, x_m + r_x]`` and ``y ∈ [y_m − r_y, y_m + r_y]``::

    x·y = y_m·x + x_m·y − x_m·y_m + (x − x_m)(y − y_m),   |(x − x_m)(y − y_m)| <= r_x r_y

The centred linearisation is the Chebyshev-best affine approximation of a bilinear function
on a box (its error ``±r_x r_y`` cannot be lowered by any other slopes). The float offset
``fl(−x_m y_m)`` is off by at most ``u|x_m y_m|``; that goes into the error term.

For backward (CROWN-style) bounds, :meth:`Bilinear.lines` gives a lower and an upper *plane*.
For any slopes ``(s_x, s_y)``, ``x·y − s_x x − s_y y`` is bilinear, so its extremes over the
box are at the four vertices: the offsets are those extremes, each vertex value rounded the
safe way — sound for every slope choice (what optimising the slopes relies on). The default
slopes are McCormick's pair that is exact along the gate's lower end ``x = x_lo``::

    lower   y_lo·x + x_lo·y − x_lo·y_lo   ((x − x_lo)(y − y_lo) >= 0)
    upper   y_hi·x + x_lo·y − x_lo·y_hi   ((x − x_lo)(y_hi − y) >= 0)

(measured best for gate products Γ ⊙ s, whose gate is near its lower end most of the time; the
other McCormick pair, exact at ``x_hi``, is the other end of the family the optimiser moves in).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R
from .base import Linear2, Lines2


@dataclass(frozen=True)
class Bilinear:
    name: str = "product"

    def relax(self, x_lo: np.ndarray, x_hi: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray) -> Linear2:
        """Linear enclosure of ``x·y`` on ``[x_lo, x_hi] × [y_lo, y_hi]`` (finite arrays)."""
        xm, rx = K.midrad(x_lo, x_hi)
        ym, ry = K.midrad(y_lo, y_hi)
        prod = xm * ym
        offset = -prod
        error = R.step_up(R.mul_up(rx, ry) + R.step_up(np.abs(prod) * R.U + R.ETA))
        return Linear2(ym, xm, offset, error)

    def lines(
        self,
        x_lo: np.ndarray,
        x_hi: np.ndarray,
        y_lo: np.ndarray,
        y_hi: np.ndarray,
        lower: tuple[np.ndarray, np.ndarray] | None = None,
        upper: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Lines2:
        """A lower and an upper plane of ``x·y`` on the box (finite arrays); ``lower``/``upper``
        are slopes ``(s_x, s_y)`` (default: the McCormick pair of the module docstring)."""
        if lower is None:
            lower = (y_lo, x_lo)
        if upper is None:
            upper = (y_hi, x_lo)
        verts = ((x_lo, y_lo), (x_lo, y_hi), (x_hi, y_lo), (x_hi, y_hi))
        lo_off = None
        hi_off = None
        with np.errstate(invalid="ignore", over="ignore"):
            for x, y in verts:
                xy_lo, xy_hi = R.step_down(x * y), R.step_up(x * y)
                # lower: min over vertices of x y − s_x x − s_y y, every rounding downward
                v = R.step_down(R.step_down(xy_lo - R.step_up(lower[0] * x)) - R.step_up(lower[1] * y))
                lo_off = v if lo_off is None else np.minimum(lo_off, v)
                v = R.step_up(R.step_up(xy_hi - R.step_down(upper[0] * x)) - R.step_down(upper[1] * y))
                hi_off = v if hi_off is None else np.maximum(hi_off, v)
        lo_off = np.where(np.isnan(lo_off), -np.inf, lo_off)
        hi_off = np.where(np.isnan(hi_off), np.inf, hi_off)
        return Lines2(lower[0], lower[1], lo_off, upper[0], upper[1], hi_off)

    def bounds(self, x_lo: np.ndarray, x_hi: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval enclosure of ``x·y`` on the box."""
        return K.mul(x_lo, x_hi, y_lo, y_hi)


PRODUCT = Bilinear()
