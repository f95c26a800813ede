"""``method="interval"``: sound interval arithmetic, one kernel per operation of the cell.

Values are boxes ``(lo, hi)`` of shape (B, n), every one an outward enclosure of the exact
real-number signal (kernels of :mod:`lstm_symbolic.interval.kernels`):

- ``linear``: midpoint–radius product with Higham's bound, the bias folded in as inputs fixed
  at 1 and the radius product in float32 where that is safe (:func:`~.kernels.matmul`);
- ``sigmoid``, ``tanh``: monotone, evaluated at the ends and widened by the ulp budget;
- ``gate``: ``g ⊙ v`` for ``g ⊆ [0, 1]`` (:func:`~.kernels.mul_nonneg`), also inside the hull
  of 0 and ``v``;
- ``add``: one outward step per end; ``mix``: the exact range of ``(1 − z) n + z h``.

**One-hot inputs, token by token.** When ``x⟨t⟩`` is one of K allowed tokens (and K × B is at
most :data:`ONEHOT_SPLIT_MAX`), the step is run once per token with its exact column ``W e_k``
— every value then carries K copies of the batch (row ``b·K + k``) — and the copies are
hulled at the end of the step (and in every reported bound): the union of the K images lies
in the hull. This is far tighter than one step with the per-row range of ``W x`` over the
tokens, which mixes columns of different tokens. Otherwise ``W x`` enters as that per-row range
(still exact for the matrix product itself, never the box hull of the one-hot vectors).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..cells.affine import Affine
from ..inputs import InputSet
from ..interval import kernels as K
from ..interval import rounding as R
from .base import Engine, Pair, SetInput, TokenInput, input_value

__all__ = ["IntervalEngine", "IV", "ONEHOT_SPLIT_MAX", "SOFTMAX_PAIRWISE_MAX", "softmax_bounds", "margin_bounds"]

#: One-hot steps run token by token while tokens × batch stays at most this.
ONEHOT_SPLIT_MAX = 4096
#: Up to this many classes, softmax bounds go through the n_y² pairwise difference rows; above
#: it through independent logit bounds (O(n_y), looser).
SOFTMAX_PAIRWISE_MAX = 256


class IV:
    """A box value: ``lo``, ``hi`` of shape (B·k, n); ``k`` copies of the batch (one per token
    of a token-by-token step), row ``b·k + j``."""

    __slots__ = ("lo", "hi", "k")

    def __init__(self, lo: np.ndarray, hi: np.ndarray, k: int = 1) -> None:
        self.lo, self.hi, self.k = lo, hi, k

    def expanded(self, k: int) -> "IV":
        """The same box with ``k`` copies of each batch row (``self.k`` is 1 or ``k``)."""
        if self.k == k:
            return self
        if self.k != 1:
            raise AssertionError("interval: incompatible token expansions")
        return IV(np.repeat(self.lo, k, axis=0), np.repeat(self.hi, k, axis=0), k)

    def hull(self) -> Pair:
        """The hull over the copies: (B, n)."""
        if self.k == 1:
            return self.lo, self.hi
        B = self.lo.shape[0] // self.k
        return self.lo.reshape(B, self.k, -1).min(axis=1), self.hi.reshape(B, self.k, -1).max(axis=1)


def _common(values: Sequence[IV]) -> int:
    return max(v.k for v in values)


def softmax_bounds(head: Any, lo: np.ndarray, hi: np.ndarray, mode: str) -> Pair:
    """Bounds of ``y = softmax(W_y a + b_y)`` over the box ``a ∈ [lo, hi]`` (B, n) -> (B, n_y).

    Through difference rows (DESIGN.md): ``y_k = 1 / Σ_j exp(z_j − z_k)`` with
    ``z_j − z_k = (W_y[j] − W_y[k]) a + (b_j − b_k)`` bounded directly, each difference row
    split exactly into two floats. Above :data:`SOFTMAX_PAIRWISE_MAX` classes, from the logits'
    bounds (:func:`~.kernels.softmax_from_logits`)."""
    if head.n_y > SOFTMAX_PAIRWISE_MAX:
        z = K.matmul(head.logits.W_b, lo, hi, head.logits.absW_b, n_const=1)
        return K.softmax_from_logits(*z, mode)
    D_hi, D_lo, (bd_lo, bd_hi) = head.softmax_rows
    d = K.add_outward(*K.matmul(D_hi, lo, hi), *K.matmul(D_lo, lo, hi))
    d = K.add_outward(*d, bd_lo, bd_hi)
    shape = lo.shape[:-1] + (head.n_y, head.n_y)
    return K.softmax_from_differences(d[0].reshape(shape), d[1].reshape(shape), mode)


def margin_bounds(head: Any, lo: np.ndarray, hi: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Lower bounds of ``z_label − z_j`` (B, n_y) over the box ``a ∈ [lo, hi]`` (B, n), through
    the exact difference rows ``W_y[label] − W_y[j]``; ``+inf`` at ``j = label``."""
    out = np.empty((labels.shape[0], head.n_y))
    for label in np.unique(labels):
        rows = labels == label
        D_hi, D_lo, b_lo = head.margin_rows(int(label))
        m_lo, _ = K.add_outward(*K.matmul(D_hi, lo[rows], hi[rows]), *K.matmul(D_lo, lo[rows], hi[rows]))
        out[rows] = R.step_down(m_lo + b_lo)
    out[np.arange(labels.shape[0]), labels] = np.inf
    return out


class IntervalEngine(Engine):
    """Boxes through every operation (see the module docstring)."""

    name = "interval"

    def __init__(self, model: Any, batch: int, mode: str = "fast") -> None:
        super().__init__(model, batch, mode)

    # --- values --------------------------------------------------------------------------
    def _box(self, lo: np.ndarray, hi: np.ndarray) -> IV:
        n = lo.shape[-1]
        return IV(np.broadcast_to(lo, (self.B, n)), np.broadcast_to(hi, (self.B, n)))

    def initial(self, lo: np.ndarray, hi: np.ndarray) -> IV:
        return self._box(lo, hi)

    def input(self, x_set: InputSet, t: int) -> Any:
        x = input_value(x_set, t, self.model.embedding)
        if isinstance(x, tuple):
            x = self._box(*x)
            if self.model.embedding is not None:  # a box over the vocabulary, then E
                E = self.model.embedding
                x = self.linear(Affine(E.T, None, [E.shape[0]]), [x])
        return x

    def bounds(self, v: IV) -> Pair:
        return v.hull()

    def refine(self, v: IV, lo: Any, hi: Any) -> None:
        lo = np.broadcast_to(lo, (self.B, v.lo.shape[-1]))
        hi = np.broadcast_to(hi, (self.B, v.lo.shape[-1]))
        if v.k > 1:
            lo, hi = np.repeat(lo, v.k, axis=0), np.repeat(hi, v.k, axis=0)
        v.lo, v.hi = K.within((v.lo, v.hi), (lo, hi))

    # --- the algebra ---------------------------------------------------------------------
    def linear(self, affine: Affine, parts: Sequence[Any]) -> IV:
        special = [i for i, p in enumerate(parts) if not isinstance(p, IV)]
        if not special:
            k = _common(parts)
            ps = [p.expanded(k) for p in parts]
            lo = ps[0].lo if len(ps) == 1 else np.concatenate([p.lo for p in ps], axis=-1)
            hi = ps[0].hi if len(ps) == 1 else np.concatenate([p.hi for p in ps], axis=-1)
            out = K.matmul(affine.W_b, lo, hi, affine.absW_b, n_const=affine.n_const, absW32=affine.absW_b32)
            return IV(*out, k)
        if len(special) > 1:
            raise AssertionError("interval: at most one token or set input per affine map")
        i = special[0]
        x = parts[i]
        rest = [p for j, p in enumerate(parts) if j != i]
        k = _common(rest) if rest else 1
        base = self._rest(affine.without(i), rest, k)
        if isinstance(x, TokenInput) and k == 1 and x.tokens.size * self.B <= ONEHOT_SPLIT_MAX:
            lo, hi = self._token_columns(affine.block(i), x)  # (m, K) each
            n_tok = x.tokens.size
            base_lo, base_hi = np.repeat(base[0], n_tok, axis=0), np.repeat(base[1], n_tok, axis=0)
            col_lo, col_hi = np.tile(lo.T, (self.B, 1)), np.tile(hi.T, (self.B, 1))
            return IV(*K.add_outward(base_lo, base_hi, col_lo, col_hi), n_tok)
        if isinstance(x, TokenInput):
            lo, hi = self._token_columns(affine.block(i), x)
            contribution = (lo.min(axis=1), hi.max(axis=1))
        else:
            assert isinstance(x, SetInput)
            contribution = x.x_set.linear_bounds(affine.block(i), x.t)
        c_lo = np.broadcast_to(contribution[0], base[0].shape)
        c_hi = np.broadcast_to(contribution[1], base[1].shape)
        return IV(*K.add_outward(base[0], base[1], c_lo, c_hi), k)

    def _rest(self, affine: Affine, rest: Sequence[IV], k: int) -> Pair:
        """Bounds of the affine map over the box parts (the bias alone when there are none)."""
        if not rest:
            lo, hi = affine.bias_bounds
            return np.broadcast_to(lo, (self.B, affine.m)), np.broadcast_to(hi, (self.B, affine.m))
        ps = [p.expanded(k) for p in rest]
        lo = np.concatenate([p.lo for p in ps], axis=-1)
        hi = np.concatenate([p.hi for p in ps], axis=-1)
        return K.matmul(affine.W_b, lo, hi, affine.absW_b, n_const=affine.n_const, absW32=affine.absW_b32)

    @staticmethod
    def _token_columns(block: np.ndarray, x: TokenInput) -> Pair:
        """Enclosures of ``block @ point_k`` for each allowed point: (m, K) each — exact
        columns for one-hot points, a midpoint–radius product behind an embedding."""
        cols = x.columns(block)
        if cols is not None:
            return cols, cols
        P = x.points.T  # (K, d)
        lo, hi = K.matmul(block, P, P)
        return lo.T, hi.T

    def split(self, v: IV, sizes: Sequence[int]) -> list[IV]:
        out, start = [], 0
        for n in sizes:
            out.append(IV(v.lo[:, start : start + n], v.hi[:, start : start + n], v.k))
            start += n
        return out

    def concat(self, vs: Sequence[IV]) -> IV:
        k = _common(vs)
        ps = [p.expanded(k) for p in vs]
        return IV(np.concatenate([p.lo for p in ps], axis=-1), np.concatenate([p.hi for p in ps], axis=-1), k)

    def sigmoid(self, v: IV) -> IV:
        return IV(*K.sigmoid(v.lo, v.hi, self.mode), v.k)

    def tanh(self, v: IV) -> IV:
        return IV(*K.tanh(v.lo, v.hi, self.mode), v.k)

    def gate(self, g: IV, v: IV) -> IV:
        k = _common([g, v])
        g, v = g.expanded(k), v.expanded(k)
        lo, hi = K.mul_nonneg(g.lo, g.hi, v.lo, v.hi)
        # g ∈ [0, 1]: g·v lies between 0 and v (a priori; removes the product's outward ulp)
        return IV(np.maximum(lo, np.minimum(v.lo, 0.0)), np.minimum(hi, np.maximum(v.hi, 0.0)), k)

    def add(self, v: IV, w: IV) -> IV:
        k = _common([v, w])
        v, w = v.expanded(k), w.expanded(k)
        return IV(*K.add_outward(v.lo, v.hi, w.lo, w.hi), k)

    def mix(self, z: IV, n: IV, h: IV) -> IV:
        k = _common([z, n, h])
        z, n, h = (p.expanded(k) for p in (z, n, h))
        return IV(*K.mix((z.lo, z.hi), (n.lo, n.hi), (h.lo, h.hi)), k)

    # --- outputs and the end of a step ---------------------------------------------------
    def softmax(self, head: Any, a: IV, final: bool = False) -> Pair:
        y = IV(*softmax_bounds(head, a.lo, a.hi, self.mode), a.k)
        return y.hull()

    def margins(self, head: Any, a: IV, labels: np.ndarray) -> np.ndarray:
        rows = np.repeat(labels, a.k) if a.k > 1 else labels
        m = margin_bounds(head, a.lo, a.hi, rows)
        if a.k > 1:
            m = m.reshape(labels.shape[0], a.k, -1).min(axis=1)
        return m

    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{name: (IV(*v.hull()) if v.k > 1 else v) for name, v in s.items()} for s in states]
