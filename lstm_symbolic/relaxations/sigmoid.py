"""Relaxation of the logistic sigmoid σ(x) = 1/(1+e^{−x}).

σ' = σ(x)·σ(−x) peaks at 0 (value 1/4), is even and unimodal, so :class:`.base.SShaped`
applies. The derivative is bounded as the directed product of two sigmoid enclosures —
relatively accurate even deep in saturation, where ``σ(1 − σ)`` would cancel. Its inverse on
``x >= 0``: ``σ'(x) = λ  ⇔  tanh(x/2) = sqrt(1 − 4λ)  ⇔  x = 2 atanh(sqrt(1 − 4λ))``.
"""

from __future__ import annotations

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R
from .base import SShaped


def sigmoid_derivative(x: np.ndarray, mode: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``(lo, hi)`` of ``σ'(x) = σ(x)σ(−x)``, pointwise, within ``[0, 1/4]``."""
    pos_lo, pos_hi = K.sigmoid(x, x, mode)
    neg_lo, neg_hi = K.sigmoid(-x, -x, mode)
    return np.maximum(R.step_down(pos_lo * neg_lo), 0.0), np.minimum(R.step_up(pos_hi * neg_hi), 0.25)


def sigmoid_inverse_derivative(lam: np.ndarray) -> np.ndarray:
    """Float ``x >= 0`` with ``σ'(x) ≈ λ`` for ``0 < λ < 1/4`` (verified by the caller).

    ``x = 2 atanh(s)`` with ``s = √(1 − 4λ)``, written ``ln((1 + s)² / (4λ))`` (since
    ``1 − s = 4λ/(1 + s)``): accurate for tiny ``λ``, where ``1 − 4λ`` rounds to 1 and the
    ``atanh`` form would give inf."""
    s = np.sqrt(1.0 - 4.0 * lam)
    return 2.0 * np.log1p(s) - np.log(4.0 * lam)


SIGMOID = SShaped("sigmoid", K.sigmoid, sigmoid_derivative, sigmoid_inverse_derivative, 0.25, K._libm_sigmoid)
