"""Relaxation of the product ``x·y`` on a box — the gate products Γ ⊙ signal.

With ``x ∈ [x_m − r_x, x_m + r_x]`` and ``y ∈ [y_m − r_y, y_m + r_y]``::

    x·y = y_m·x + x_m·y − x_m·y_m + (x − x_m)(y − y_m),   |(x − x_m)(y − y_m)| <= r_x r_y

The centred linearisation is the Chebyshev-best affine approximation of a bilinear function
on a box (its error ``±r_x r_y`` cannot be lowered by any other slopes). The float offset
``fl(−x_m y_m)`` is off by at most ``u|x_m y_m|``; that goes into the error term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R
from .base import Linear2


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

    def bounds(self, x_lo: np.ndarray, x_hi: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval enclosure of ``x·y`` on the box."""
        return K.mul(x_lo, x_hi, y_lo, y_hi)


PRODUCT = Bilinear()
