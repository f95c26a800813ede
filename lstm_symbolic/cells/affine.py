"""The exact affine maps inside a cell: ``y = W [v₁; v₂; …] + b`` with float weights and an
exact bias.

A bias that was the float sum of two biases (PyTorch's ``bias_ih + bias_hh``) is kept as the
float sum and its exact residual: the bias is then *two* columns whose exact row sums are the
model's exact bias. Matrix products fold those columns in as inputs fixed at 1, so the bias
costs no extra rounding (:func:`~lstm_symbolic.interval.kernels.matmul`, ``n_const``).

The operands every bounding method needs are cached here once (``|W|``, its float32 upper
rounding for the radius product, the column blocks of each input part), so a method never
recomputes them and a model never holds them twice.
"""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np

from ..interval import rounding as R

__all__ = ["Affine"]


class Affine:
    """``y = W [v₁; …; v_p] + b`` exactly, for input parts of sizes ``parts``.

    ``W``: (m, n) float64 with ``n = sum(parts)``; ``bias``: (m, k) columns (k = 1 or 2, or 0
    for no bias) whose exact row sums are the exact bias. Arrays are made read-only.
    """

    def __init__(self, W: np.ndarray, bias: np.ndarray | None, parts: Sequence[int]) -> None:
        W = np.ascontiguousarray(W, dtype=np.float64)
        if bias is None:
            bias = np.zeros((W.shape[0], 0))
        bias = np.ascontiguousarray(bias, dtype=np.float64)
        if bias.ndim == 1:
            bias = bias[:, None]
        parts = tuple(int(p) for p in parts)
        if W.ndim != 2 or sum(parts) != W.shape[1] or bias.shape[0] != W.shape[0]:
            raise ValueError(f"Affine: W {W.shape}, bias {bias.shape}, parts {parts} do not fit")
        for arr in (W, bias):
            arr.setflags(write=False)
        self.W, self.bias, self.parts = W, bias, parts

    @property
    def m(self) -> int:
        """Output size."""
        return self.W.shape[0]

    @property
    def n_const(self) -> int:
        """Number of bias columns (inputs fixed at 1)."""
        return self.bias.shape[1]

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Start column of each part (and the end), length ``len(parts) + 1``."""
        return tuple(int(v) for v in np.concatenate([[0], np.cumsum(self.parts)]))

    def block(self, i: int) -> np.ndarray:
        """Columns of part ``i``: (m, parts[i])."""
        return self._blocks[i]

    @cached_property
    def _blocks(self) -> tuple[np.ndarray, ...]:
        o = self.offsets
        return tuple(np.ascontiguousarray(self.W[:, o[i] : o[i + 1]]) for i in range(len(self.parts)))

    @cached_property
    def W_b(self) -> np.ndarray:
        """``[W | bias]``: (m, n + k), the bias as inputs fixed at 1."""
        return np.ascontiguousarray(np.concatenate([self.W, self.bias], axis=1))

    @cached_property
    def absW_b(self) -> np.ndarray:
        """``|W_b|`` for radius products."""
        return np.abs(self.W_b)

    @cached_property
    def absW_b32(self) -> np.ndarray | None:
        """``|W_b|`` rounded up to float32 for the float32 radius product, or None when some
        weight is beyond float32's range (then radius products stay in float64: an infinite
        float32 weight would make every bound it touches vacuous)."""
        out = R.to_float32_up(self.absW_b)
        return out if np.isfinite(out).all() else None

    def without(self, i: int) -> "Affine":
        """The same map with part ``i`` removed (its columns dropped), bias kept: what is left
        of ``W v + b`` when part ``i`` enters some other way (one-hot columns)."""
        return self._without[i]

    @cached_property
    def _without(self) -> tuple["Affine", ...]:
        out = []
        for i in range(len(self.parts)):
            keep = [b for j, b in enumerate(self._blocks) if j != i]
            W = np.concatenate(keep, axis=1) if keep else np.zeros((self.m, 0))
            out.append(Affine(W, self.bias, [p for j, p in enumerate(self.parts) if j != i]))
        return tuple(out)

    @cached_property
    def bias_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Outward enclosure ``(lo, hi)`` of the exact bias, (m,)."""
        k = self.n_const
        if k == 0:
            z = np.zeros(self.m)
            return z, z
        if k == 1:
            return self.bias[:, 0], self.bias[:, 0]
        return R.add_down(self.bias[:, 0], self.bias[:, 1]), R.add_up(self.bias[:, 0], self.bias[:, 1])

    @cached_property
    def bias_float(self) -> np.ndarray:
        """The bias rounded to nearest (for concrete float forward passes), (m,)."""
        return self.bias.sum(axis=1) if self.n_const else np.zeros(self.m)

    def rows(self, start: int, stop: int) -> "Affine":
        """Rows ``start:stop`` of the map (a sub-map with the same parts)."""
        return Affine(self.W[start:stop], self.bias[start:stop], self.parts)
