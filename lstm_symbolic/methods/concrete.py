"""The concrete float64 forward pass, as one more implementation of the cell algebra.

Not a bounding method: values are plain arrays (B, n) in round-to-nearest, the numbers a float
framework would compute. :func:`lstm_symbolic.forward`, the attacks and the trainers use it, so
the library has one forward pass, written by the cells once.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..cells.affine import Affine
from ..interval import kernels as K

__all__ = ["ConcreteOps", "sigmoid", "softmax"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``σ(x) = 1/(1+e^{-x})``, evaluated without overflow."""
    return K._libm_sigmoid(x)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax along the last axis (shifted by the max: no overflow)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class ConcreteOps:
    """Float64 arrays through the cell algebra (``x`` parts are arrays too)."""

    def linear(self, affine: Affine, parts: Sequence[np.ndarray]) -> np.ndarray:
        z = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        out = z @ affine.W.T
        out += affine.bias_float
        return out

    def split(self, v: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
        return np.split(v, np.cumsum(sizes)[:-1], axis=-1)

    def concat(self, vs: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(vs, axis=-1)

    def sigmoid(self, v: np.ndarray) -> np.ndarray:
        return sigmoid(v)

    def tanh(self, v: np.ndarray) -> np.ndarray:
        return np.tanh(v)

    def gate(self, g: np.ndarray, v: np.ndarray) -> np.ndarray:
        return g * v

    def add(self, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        return v + w

    def gated_sum(self, g1: np.ndarray, v1: np.ndarray, g2: np.ndarray, v2: np.ndarray) -> np.ndarray:
        return g1 * v1 + g2 * v2

    def mix(self, z: np.ndarray, n: np.ndarray, h: np.ndarray) -> np.ndarray:
        return (1.0 - z) * n + z * h

    def head(self, head: Any, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits ``z = W_y a + b_y`` and ``y = softmax(z)``."""
        z = self.linear(head.logits, [a])
        return z, softmax(z)
