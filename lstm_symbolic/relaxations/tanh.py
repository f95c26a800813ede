"""Relaxation of tanh.

tanh' = 1 − tanh² = 4σ(2x)σ(−2x) peaks at 0 (value 1), is even and unimodal, so
:class:`.base.SShaped` applies. The derivative is bounded through the sigmoid form, which stays
relatively accurate in saturation (``1 − tanh²`` cancels catastrophically there). Its inverse on
``x >= 0``: ``1 − tanh²(x) = λ  ⇔  x = atanh(sqrt(1 − λ))``.
"""

from __future__ import annotations

import numpy as np

from ..interval import kernels as K
from .base import SShaped
from .sigmoid import sigmoid_derivative


def tanh_derivative(x: np.ndarray, mode: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``(lo, hi)`` of ``tanh'(x) = 4σ'(2x)``, pointwise (``2x`` and ``4·`` are exact,
    ``2x`` possibly ±inf)."""
    with np.errstate(over="ignore"):
        lo, hi = sigmoid_derivative(2.0 * x, mode)
    return 4.0 * lo, 4.0 * hi


def tanh_inverse_derivative(lam: np.ndarray) -> np.ndarray:
    """Float ``x >= 0`` with ``tanh'(x) ≈ λ`` for ``0 < λ < 1`` (verified by the caller).

    ``x = atanh(s)`` with ``s = √(1 − λ)``, written ``ln(1 + s) − ½ ln λ`` (since
    ``1 − s = λ/(1 + s)``): accurate for tiny ``λ``, where the ``atanh`` form overflows."""
    s = np.sqrt(1.0 - lam)
    return np.log1p(s) - 0.5 * np.log(lam)


TANH = SShaped("tanh", K.tanh, tanh_derivative, tanh_inverse_derivative, 1.0, np.tanh)
