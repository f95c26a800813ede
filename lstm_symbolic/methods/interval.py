"""``method="interval"``: sound interval arithmetic, one kernel per operation of the cell.

Values are boxes ``(lo, hi)`` of shape (B, n), every one an outward enclosure of the exact
real-number signal (kernels of :mod:`lstm_symbolic.interval.kernels`):

- ``linear``: midpoint–radius product with Higham's bound, the bias folded in as inputs fixed
  at 1 and the radius product in float32 where that is safe (:func:`~.kernels.matmul`);
- ``sigmoid``, ``tanh``: monotone, evaluated at the ends and widened by the ulp budget;
- ``gate``: ``g ⊙ v`` for ``g ⊆ [0, 1]`` (:func:`~.kernels.mul_nonneg`), also inside the hull
  of 0 and ``v``;
- ``add``: one outward step per end; ``mix``: the exact range of ``(1 − z) n + z h``;
- ``gated_sum``: ``add(gate, gate)``, bit for bit (both products in one call for small batches).

**One-hot inputs, token by token.** When ``x⟨t⟩`` is one of K allowed tokens (and K × B is at
most :data:`ONEHOT_SPLIT_MAX`), the step is run once per token with its exact column ``W e_k``
— every value then carries K copies of the batch (row ``b·K + k``) — and the copies are
hulled at the end of the step (and in every reported bound): the union of the K images lies
in the hull. This is far tighter than one step with the per-row range of ``W x`` over the
tokens, which mixes columns of different tokens. Otherwise ``W x`` enters as that per-row range
(still exact for the matrix product itself, never the box hull of the one-hot vectors).
"""

from __future__ import annotations

import weakref
from typing import Any, Sequence

import numpy as np

from ..cells.affine import Affine
from ..inputs import InputSet
from ..interval import kernels as K
from ..interval import rounding as R
from .base import Engine, Pair, SetInput, TokenInput, input_value

__all__ = ["FUSE_MAX", "IntervalEngine", "IV", "ONEHOT_SPLIT_MAX", "SOFTMAX_PAIRWISE_MAX", "softmax_bounds", "margin_bounds"]

#: One-hot steps run token by token while tokens × batch stays at most this.
ONEHOT_SPLIT_MAX = 4096
#: Up to this many entries per operand (2 · B · n), :meth:`IntervalEngine.gated_sum` runs its two
#: products as one kernel call on the operands side by side: per-call overhead dominates small
#: batches (batch 1 of benchmarks/propagate.py: 21 us against 27 us apart), while above it the
#: copies cost more than the calls saved (batch 512: 2.2 ms against 1.4 ms apart).
FUSE_MAX = 2**14
#: Up to this many classes, softmax bounds go through the n_y² pairwise difference rows; above
#: it through independent logit bounds (O(n_y), looser).
SOFTMAX_PAIRWISE_MAX = 256


class IV:
    """A box value: its ends in one array ``e`` of shape (2, B·k, n) — ``e[0]`` the lower ends,
    ``e[1]`` the upper (the ends layout of :mod:`lstm_symbolic.interval.kernels`) — with ``k``
    copies of the batch (one per token of a token-by-token step), row ``b·k + j``. ``lo`` and
    ``hi`` are views of ``e``; assigning one replaces ``e`` by a fresh array (the old one may be
    shared with other values: it is never written)."""

    __slots__ = ("e", "k")

    def __init__(self, e: np.ndarray, k: int = 1) -> None:
        self.e, self.k = e, k

    @classmethod
    def pair(cls, lo: np.ndarray, hi: np.ndarray, k: int = 1) -> "IV":
        return cls(K.ends(lo, hi), k)

    @property
    def lo(self) -> np.ndarray:
        return self.e[0]

    @lo.setter
    def lo(self, value: np.ndarray) -> None:
        self.e = K.ends(value, self.e[1], self.e.shape[1])

    @property
    def hi(self) -> np.ndarray:
        return self.e[1]

    @hi.setter
    def hi(self, value: np.ndarray) -> None:
        self.e = K.ends(self.e[0], value, self.e.shape[1])

    def expanded(self, k: int) -> "IV":
        """The same box with ``k`` copies of each batch row (``self.k`` is 1 or ``k``)."""
        if self.k == k:
            return self
        if self.k != 1:
            raise AssertionError("interval: incompatible token expansions")
        return IV(np.repeat(self.e, k, axis=1), k)

    def hull(self) -> Pair:
        """The hull over the copies: (B, n)."""
        if self.k == 1:
            return self.e[0], self.e[1]
        B = self.e.shape[1] // self.k
        return self.lo.reshape(B, self.k, -1).min(axis=1), self.hi.reshape(B, self.k, -1).max(axis=1)


#: Per affine map, the fast-path threshold of its products (a pass over ``|W|``, so computed
#: once per map, not once per engine); weak keys: forgotten with the model.
_T_SAFE: "weakref.WeakKeyDictionary[Affine, float]" = weakref.WeakKeyDictionary()


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
    """Boxes through every operation (see the module docstring).

    Matrix products go through one prepared :class:`~lstm_symbolic.interval.kernels.MidradProduct`
    per affine map, which keeps its scratch arrays between steps (temporaries only: every value
    the engine returns is a fresh array), so an engine is not for use by two threads at once."""

    name = "interval"

    def __init__(self, model: Any, batch: int, mode: str = "fast") -> None:
        super().__init__(model, batch, mode)
        self._products: dict[Affine, K.MidradProduct] = {}
        self._scratch: dict[tuple[int, ...], np.ndarray] = {}
        self._embedding: Affine | None = None

    def _product(self, affine: Affine) -> K.MidradProduct:
        prod = self._products.get(affine)
        if prod is None:  # keyed by the map itself (a strong reference: no id reuse)
            t_safe = _T_SAFE.get(affine)
            prod = K.MidradProduct(affine.W_b, affine.absW_b, affine.absW_b32, affine.n_const, t_safe=t_safe)
            if t_safe is None:
                _T_SAFE[affine] = prod._safe()
            self._products[affine] = prod
        return prod

    def _work(self, shape: tuple[int, ...]) -> np.ndarray:
        """A float64 scratch array of ``shape`` for one kernel call (overwritten by it: never
        part of a returned value)."""
        try:
            return self._scratch[shape]
        except KeyError:
            w = self._scratch[shape] = np.empty(shape)
            return w

    # --- values --------------------------------------------------------------------------
    def _box(self, lo: np.ndarray, hi: np.ndarray) -> IV:
        return IV(K.ends(lo, hi, self.B))

    def initial(self, lo: np.ndarray, hi: np.ndarray) -> IV:
        return self._box(lo, hi)

    def input(self, x_set: InputSet, t: int) -> Any:
        x = input_value(x_set, t, self.model.embedding)
        if isinstance(x, tuple):
            x = self._box(*x)
            if self.model.embedding is not None:  # a box over the vocabulary, then E
                if self._embedding is None:
                    E = self.model.embedding
                    self._embedding = Affine(E.T, None, [E.shape[0]])
                x = self.linear(self._embedding, [x])
        return x

    def bounds(self, v: IV) -> Pair:
        return v.e if v.k == 1 else v.hull()  # the ends array itself: one copy for the recorder

    def refine(self, v: IV, lo: Any, hi: Any) -> None:
        if v.k > 1:
            n = v.e.shape[-1]
            lo = np.repeat(np.broadcast_to(lo, (self.B, n)), v.k, axis=0)
            hi = np.repeat(np.broadcast_to(hi, (self.B, n)), v.k, axis=0)
        v.e = K.within_ends(v.e, lo, hi)

    # --- the algebra ---------------------------------------------------------------------
    def linear(self, affine: Affine, parts: Sequence[Any]) -> IV:
        special = [i for i, p in enumerate(parts) if not isinstance(p, IV)]
        if not special:
            k = _common(parts)
            prod = self._products.get(affine) or self._product(affine)
            return IV(prod.ends([p.e if p.k == k else p.expanded(k).e for p in parts]), k)
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
            base_e = np.repeat(base, n_tok, axis=1)
            cols = K.ends(np.tile(lo.T, (self.B, 1)), np.tile(hi.T, (self.B, 1)))
            return IV(K.add_ends(base_e, cols, self._work(cols.shape)), n_tok)
        if isinstance(x, TokenInput):
            lo, hi = self._token_columns(affine.block(i), x)
            contribution = (lo.min(axis=1), hi.max(axis=1))
        else:
            assert isinstance(x, SetInput)
            contribution = x.x_set.linear_bounds(affine.block(i), x.t)
        c = K.ends(contribution[0], contribution[1], base.shape[1])
        return IV(K.add_ends(base, c, self._work(c.shape)), k)

    def _rest(self, affine: Affine, rest: Sequence[IV], k: int) -> np.ndarray:
        """Ends (2, B·k, m) of the affine map over the box parts (the bias alone when there are
        none)."""
        if not rest:
            lo, hi = affine.bias_bounds
            return K.ends(lo, hi, self.B)
        return self._product(affine).ends([p.expanded(k).e for p in rest])

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
        out, start, e, k = [], 0, v.e, v.k
        for n in sizes:
            out.append(IV(e[:, :, start : start + n], k))
            start += n
        return out

    def concat(self, vs: Sequence[IV]) -> IV:
        k = _common(vs)
        return IV(np.concatenate([p.expanded(k).e for p in vs], axis=-1), k)

    def sigmoid(self, v: IV) -> IV:
        return IV(K.sigmoid_ends(v.e, self.mode), v.k)

    def tanh(self, v: IV) -> IV:
        e = v.e
        return IV(K.tanh_ends(e, self.mode, self._work(e.shape)), v.k)

    @staticmethod
    def _aligned(v: IV, w: IV) -> tuple[int, IV, IV]:
        """Two operands with one token expansion ``k``: ``(k, v, w)``."""
        k = v.k
        if k != w.k:
            k = max(k, w.k)
            v, w = v.expanded(k), w.expanded(k)
        return k, v, w

    def gate(self, g: IV, v: IV) -> IV:
        # g ∈ [0, 1]: g·v lies between 0 and v (a priori; removes the product's outward ulp)
        k, g, v = self._aligned(g, v)
        e = v.e
        return IV(K.gate_ends(g.e, e, self._work(e.shape)), k)

    def add(self, v: IV, w: IV) -> IV:
        k, v, w = self._aligned(v, w)
        e = v.e
        return IV(K.add_ends(e, w.e, self._work(e.shape)), k)

    def gated_sum(self, g1: IV, v1: IV, g2: IV, v2: IV) -> IV:
        """``add(gate(g1, v1), gate(g2, v2))``, bit for bit; up to :data:`FUSE_MAX` entries per
        operand both products are one :func:`~.kernels.gate_ends` call on the operands side
        by side (elementwise, so the same values; its fallback for non-finite ends is
        elementwise too)."""
        k = _common([g1, v1, g2, v2])
        g1, v1, g2, v2 = (p.expanded(k) for p in (g1, v1, g2, v2))
        e1, e2 = v1.e, v2.e
        if e1.size > FUSE_MAX or e1.shape != e2.shape:
            return super().gated_sum(g1, v1, g2, v2)
        n = e1.shape[-1]
        both = np.concatenate((e1, e2), axis=-1)
        p = K.gate_ends(np.concatenate((g1.e, g2.e), axis=-1), both, self._work(both.shape))
        return IV(K.add_ends(p[:, :, :n], p[:, :, n:], self._work(e1.shape)), k)

    def mix(self, z: IV, n: IV, h: IV) -> IV:
        k = _common([z, n, h])
        z, n, h = (p.expanded(k) for p in (z, n, h))
        return IV.pair(*K.mix((z.lo, z.hi), (n.lo, n.hi), (h.lo, h.hi)), k)

    # --- outputs and the end of a step ---------------------------------------------------
    def softmax(self, head: Any, a: IV, final: bool = False) -> Pair:
        y = IV.pair(*softmax_bounds(head, a.lo, a.hi, self.mode), a.k)
        return y.hull()

    def margins(self, head: Any, a: IV, labels: np.ndarray) -> np.ndarray:
        rows = np.repeat(labels, a.k) if a.k > 1 else labels
        m = margin_bounds(head, a.lo, a.hi, rows)
        if a.k > 1:
            m = m.reshape(labels.shape[0], a.k, -1).min(axis=1)
        return m

    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{name: (IV.pair(*v.hull()) if v.k > 1 else v) for name, v in s.items()} for s in states]
