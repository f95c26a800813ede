"""Relaxation of the logistic sigmoid σ(x) = 1/(1+e^{−x}).

σ' = σ(x)·σ(−x) peaks at 0 (value 1/4) and is unimodal, so :class:`.base.SShaped` applies.
The derivative is bounded below as the rounded-down product of two rounded-down sigmoid
enclosures — relatively accurate even deep in saturation, where ``σ(1 − σ)`` would cancel.
"""

from __future__ import annotations

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R
from .base import SShaped


def sigmoid_derivative_lower(x: np.ndarray, mode: str = "fast") -> np.ndarray:
    """A lower bound of ``σ'(x) = σ(x)σ(−x)``, pointwise."""
    s_pos, _ = K.sigmoid(x, x, mode)
    s_neg, _ = K.sigmoid(-x, -x, mode)
    return np.maximum(R.mul_down(s_pos, s_neg), 0.0)


SIGMOID = SShaped("sigmoid", K.sigmoid, sigmoid_derivative_lower)
