"""Relaxation of tanh.

tanh' = 1 − tanh² = 4σ(2x)σ(−2x) peaks at 0 (value 1), is even and unimodal, so
:class:`.base.SShaped` applies. The derivative is bounded through the sigmoid form, which stays
relatively accurate in saturation (``1 − tanh²`` cancels catastrophically there). Its inverse on
``x >= 0``: ``1 − tanh²(x) = λ  ⇔  x = atanh(sqrt(1 − λ))``.
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
    return np.maximum(4.0 * R.step_down(s_pos * s_neg), 0.0)


def tanh_derivative_upper(x: np.ndarray, mode: str = "fast") -> np.ndarray:
    """An upper bound of ``tanh'(x)``, pointwise."""
    with np.errstate(over="ignore"):
        x2 = 2.0 * x
    _, s_pos = K.sigmoid(x2, x2, mode)
    _, s_neg = K.sigmoid(-x2, -x2, mode)
    return np.minimum(4.0 * R.step_up(s_pos * s_neg), 1.0)


def tanh_inverse_derivative(lam: np.ndarray) -> np.ndarray:
    """Float ``x >= 0`` with ``tanh'(x) ≈ λ`` for ``0 < λ < 1`` (verified by the caller)."""
    return np.arctanh(np.sqrt(1.0 - lam))


TANH = SShaped("tanh", K.tanh, tanh_derivative_lower, tanh_derivative_upper, tanh_inverse_derivative, 1.0)
