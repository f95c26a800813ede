"""Relaxation of tanh.

tanh' = 1 − tanh² = 4σ(2x)σ(−2x) peaks at 0 (value 1) and is unimodal, so
:class:`.base.SShaped` applies. The derivative is bounded below through the sigmoid form,
which stays relatively accurate in saturation (``1 − tanh²`` cancels catastrophically there).
"""

from __future__ import annotations

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R
from .base import SShaped


def tanh_derivative_lower(x: np.ndarray, mode: str = "fast") -> np.ndarray:
    """A lower bound of ``tanh'(x) = 4σ(2x)σ(−2x)``, pointwise (``2x`` is exact or ±inf)."""
    with np.errstate(over="ignore"):
        x2 = 2.0 * x
    s_pos, _ = K.sigmoid(x2, x2, mode)
    s_neg, _ = K.sigmoid(-x2, -x2, mode)
    return np.maximum(4.0 * R.mul_down(s_pos, s_neg), 0.0)


TANH = SShaped("tanh", K.tanh, tanh_derivative_lower)
