"""Pure interval kernels on ``(lo, hi)`` float64 array pairs.

Every kernel takes endpoint arrays and returns a new ``(lo, hi)`` pair that encloses the exact
real-number result for every choice of the operands inside their intervals. Kernels never
validate (the :class:`~lstm_symbolic.interval.Interval` constructor does) and never round by
themselves: every rounding step is a call into :mod:`.rounding`.

Each kernel reads "round-down expression, round-up expression".
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Any, Iterator, Sequence

import numpy as np

from . import rounding as R

Pair = tuple[np.ndarray, np.ndarray]

__all__ = [
    "add",
    "add_outward",
    "sub",
    "neg",
    "mul",
    "mul_nonneg",
    "gated_sum",
    "mix",
    "within",
    "matmul",
    "midrad",
    "exp",
    "sigmoid",
    "tanh",
    "hull",
    "intersect",
    "softmax_from_differences",
    "softmax_from_logits",
    "difference_rows",
    "exact_difference",
    "sum_bounds",
    "dot_upper",
]

_INF = np.inf


# --- arithmetic ----------------------------------------------------------------------------


def add(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """``[a] + [b] = [a.lo + b.lo (down), a.hi + b.hi (up)]``, tight (exact sums stay exact)."""
    return R.add_down(alo, blo), R.add_up(ahi, bhi)


def add_outward(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """Hot-path sum: one cheap outward step per end (:func:`.rounding.step_down`), even when
    the float sum happens to be exact."""
    return R.step_down(alo + blo), R.step_up(ahi + bhi)


def sub(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """``[a] - [b] = [a.lo - b.hi (down), a.hi - b.lo (up)]``."""
    return R.sub_down(alo, bhi), R.sub_up(ahi, blo)


def neg(alo: np.ndarray, ahi: np.ndarray) -> Pair:
    """``-[a] = [-a.hi, -a.lo]`` (exact)."""
    return -ahi, -alo


def mul(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """General product: min of the four endpoint products rounded down, max rounded up.
    ``0 * inf`` counts as 0 (an endpoint 0 times an unbounded endpoint)."""
    lo = np.minimum(
        np.minimum(R.mul_down(alo, blo), R.mul_down(alo, bhi)),
        np.minimum(R.mul_down(ahi, blo), R.mul_down(ahi, bhi)),
    )
    hi = np.maximum(
        np.maximum(R.mul_up(alo, blo), R.mul_up(alo, bhi)),
        np.maximum(R.mul_up(ahi, blo), R.mul_up(ahi, bhi)),
    )
    return lo, hi


def mul_nonneg(glo: np.ndarray, ghi: np.ndarray, vlo: np.ndarray, vhi: np.ndarray) -> Pair:
    """Product ``[g] * [v]`` when ``g.lo >= 0`` (a gate times a signal) — hot path.

    With ``g >= 0`` the product is monotone in ``g`` for each sign of ``v``:
    lower end ``min(g.lo v.lo, g.hi v.lo)``, upper end ``max(g.lo v.hi, g.hi v.hi)``; each
    stepped outward once.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        lo = _zero_nan(np.fmin(glo * vlo, ghi * vlo))
        hi = _zero_nan(np.fmax(glo * vhi, ghi * vhi))
    return R.step_down(lo), R.step_up(hi)


def _zero_nan(p: np.ndarray) -> np.ndarray:
    """Products ``0 * inf`` are NaN in IEEE and 0 in interval arithmetic (a zero gate end times
    an unbounded signal end). ``fmin``/``fmax`` already skip a NaN when the other candidate is a
    number; a NaN left here means both candidates were ``0 * inf``: the product is 0."""
    if np.isnan(p).any():
        p = np.where(np.isnan(p), 0.0, p)
    return p


def midrad(lo: np.ndarray, hi: np.ndarray) -> Pair:
    """Midpoint–radius form ``(m, r)`` with ``[lo, hi] ⊆ [m - r, m + r]`` exactly.

    ``m = lo/2 + hi/2`` (no overflow) need not be the exact midpoint: ``r`` is the larger of
    the two distances, each rounded up, so the enclosure holds whatever ``m`` is.
    """
    m = lo * 0.5 + hi * 0.5
    r = np.maximum(R.step_up(hi - m), R.step_up(m - lo))
    return m, r


def matmul(
    W: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    absW: np.ndarray | None = None,
    n_const: int = 0,
    absW32: np.ndarray | None = None,
) -> Pair:
    """Enclosure of ``W @ x`` for every ``x`` in ``[lo, hi]`` (batched over leading axes).

    Shapes: ``W`` (m, n + n_const); ``lo``, ``hi`` (..., n); result (..., m). The last
    ``n_const`` columns of ``W`` multiply an exact constant 1: that is how a bias (and its
    rounding residual) enters the product at no extra rounding cost.

    Midpoint–radius (Rump 1999) with Higham's dot-product bound, two matrix products::

        centre = fl(W @ m)
        radius = fl(|W| @ t + k_eta eta),   t = scale (r + alpha |m|)
        result = [fl(centre - radius), fl(centre + radius)]

    with ``(alpha, scale, k_eta)`` from :func:`.rounding.midrad_product_constants`, whose
    docstring proves that no outward step is needed after the final subtraction: the radius
    already covers the centre's rounding error, its own, the final rounding and underflow.

    ``absW32`` (optional, from :func:`.rounding.to_float32_up` of ``|W|``) computes the radius
    product in float32 when the largest radius input ``t`` lies in ``(2**-64, 2**64)`` (else
    float64: float32 would overflow, or its absolute floor of ``2**-126`` per term would
    dominate; smaller entries of ``t`` are lifted to that floor, which only widens) — half the cost of the second float64 product. Both operands are
    rounded *up* to float32 and the float32 product is bounded above with
    :func:`.rounding.radius32_constants`, so the radius stays an upper bound; it is larger by
    a relative ``~2 n 2**-24`` (4e-5 for n = 320), which no one will notice.
    Non-finite endpoints give ``[-inf, inf]`` on every output row that touches them with a
    nonzero weight; an overflow gives infinite ends.

    **Fast path** (:class:`MidradProduct`, the same arithmetic in fewer array passes): taken
    when every radius input ``t`` is finite and the centre provably cannot overflow; otherwise
    the general path handles non-finite ends and overflow as described above.
    """
    if absW is None:
        absW = np.abs(W)
    return MidradProduct(W, absW, absW32, n_const, keep=False)(lo, hi)


def _matmul_reference(
    W: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    absW: np.ndarray | None = None,
    n_const: int = 0,
    absW32: np.ndarray | None = None,
) -> Pair:
    """The general path of :func:`matmul` (its docstring): non-finite inputs, possible overflow,
    empty operands. Kept verbatim as the reference the fast path is tested against."""
    if absW is None:
        absW = np.abs(W)
    n = W.shape[1]
    finite = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
    if not finite:
        bad = ~(np.isfinite(lo) & np.isfinite(hi))
        lo = np.where(bad, 0.0, lo)
        hi = np.where(bad, 0.0, hi)
    alpha, scale, k_eta = R.midrad_product_constants(n)
    m, r = midrad(lo, hi)
    with np.errstate(over="ignore"):
        t = np.abs(m)
        t *= alpha
        t += r
        t *= scale
    if n_const:
        # the constant inputs are exactly 1 (radius 0), but the centre's rounding error on
        # their terms is gamma |b|: they carry alpha * scale in t like any |m| = 1
        ones = np.ones(m.shape[:-1] + (n_const,))
        m = np.concatenate([m, ones], axis=-1)
        t = np.concatenate([t, ones * (alpha * scale)], axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        centre = m @ W.T
        t_max = float(t.max()) if t.size else 0.0
        if absW32 is None or not (_F32_LOW < t_max < _F32_HIGH):  # float64 radius product
            radius = t @ absW.T
            radius += k_eta * R.ETA
        else:
            s32, abs32 = R.radius32_constants(n)
            radius = (R.to_float32_up(t) @ absW32.T).astype(np.float64)
            radius *= s32
            radius += abs32 + k_eta * R.ETA
        out_lo = centre - radius
        centre += radius
    out_hi = centre
    if not finite:
        touched = (bad.astype(np.float64) @ absW[:, : bad.shape[-1]].T) > 0
        out_lo = np.where(touched, -_INF, out_lo)
        out_hi = np.where(touched, _INF, out_hi)
    with np.errstate(over="ignore", invalid="ignore"):  # the sums may overflow: that is the test
        finite_sums = np.isfinite(out_lo.sum()) and np.isfinite(out_hi.sum())
    if not finite_sums:  # overflow somewhere
        out_lo = np.where(np.isfinite(out_lo), out_lo, -_INF)
        out_hi = np.where(np.isfinite(out_hi), out_hi, _INF)
    return out_lo, out_hi


_F32_LOW, _F32_HIGH = 2.0**-64, 2.0**64


def safe_radius_input(W: np.ndarray, alpha: float) -> float:
    """The largest ``max t`` for which :class:`MidradProduct` takes its fast path with the matrix
    ``W`` (its docstring: ``alpha · max / (32 S)``, ``S`` an upper bound of the largest row sum
    of ``|W|``); ``-1`` when ``S > max / 64`` or is not finite (never the fast path)."""
    with np.errstate(over="ignore", invalid="ignore"):
        S = float(R.abs_sum_up(W).max()) if W.size else 0.0
    if not (S <= R._MAX / 64):
        return -1.0
    if S == 0.0:
        return float(R._MAX)
    return min(float(R._MAX), alpha * float(R._MAX) / (32.0 * S))


class MidradProduct:
    """:func:`matmul` for one matrix, prepared: the same arithmetic, bit for bit, in fewer array
    passes, with the scratch arrays of each batch size kept between calls (``keep=True``).

    ``W`` (m, n + n_const), ``absW = |W|``, ``absW32`` as for :func:`matmul` (or None).
    ``prod(lo, hi)`` is ``matmul(W, lo, hi, absW, n_const, absW32)``; ``prod.ends(parts)`` takes
    *ends* arrays (2, rows, n_i) whose columns concatenate to the n inputs and returns a fresh
    ends array (2, rows, m) — row 0 the lower ends, row 1 the upper.

    **Why the fast path is the same enclosure.** It computes, in this order and with these
    roundings, exactly what :func:`_matmul_reference` computes for finite inputs:
    ``m = lo/2 + hi/2``; ``r = max(step_up(m − lo), step_up(hi − m))`` (one
    :func:`.rounding.step_up_inplace` over both differences; ``max`` commutes with the per-entry
    steps); ``t = scale (|m| alpha + r)`` with the bias columns' ``t = alpha · scale``;
    ``centre = M @ Wᵀ`` on the same (rows, n + n_const) layout; the radius product in float32
    (:func:`.rounding.to_float32_up_into`, bit for bit :func:`.rounding.to_float32_up`: every
    ``t >= r >= 2**-1074 > 0``, as one of ``m − lo``, ``hi − m`` is ``>= 0`` and ``step_up`` adds
    at least ``2**-1074`` to it; the bias columns' ``t`` is ``alpha · scale > 0``) or
    float64 under the same test on ``max t``; ``[centre − radius, centre + radius]``. What it
    skips is only what is the identity on such inputs: the reference's replacement of
    non-finite inputs (there are none: any infinite or NaN input end makes some ``t`` infinite
    or NaN, so ``max t`` fails the test below and the general path runs) and its final
    replacement of non-finite output ends by ``∓inf``, which can change nothing when the centre
    cannot overflow: with ``radius >= 0`` finite or ``+inf`` and a finite centre,
    ``centre − radius`` is never NaN or ``+inf`` and ``centre + radius`` never NaN or ``-inf``.

    **When the centre cannot overflow.** Every partial sum of ``fl(W_i · m)`` (any order, FMA
    or not) is at most ``(1 + γ_n) S max|m_j| + nη`` in magnitude, ``S`` an upper bound of the
    largest row sum of ``|W|`` (:func:`.rounding.abs_sum_up`). Since ``scale >= 1`` and every
    term of ``t_j`` is non-negative, rounding is monotone, ``t_j >= fl(alpha |m_j|)``, so
    ``|m_j| <= 2 t_j / alpha`` when ``alpha |m_j|`` is normal and ``|m_j| < 2**-969 < 1``
    otherwise: ``max|m| <= 2 max t / alpha + 1``. The fast path runs only when
    ``max t <= alpha · max / (32 S)`` and ``S <= max / 64``; then the partial sums stay below
    ``2 (max/16 + max/64) < max/2``.

    Not thread-safe with ``keep=True`` (one instance per engine); :func:`matmul` builds a fresh
    one per call.
    """

    __slots__ = ("W", "absW", "absW32", "n_const", "m", "n", "alpha", "scale", "const_t", "s32", "add32", "add64", "t_safe", "keep", "_work")

    def __init__(self, W: np.ndarray, absW: np.ndarray, absW32: np.ndarray | None, n_const: int = 0, keep: bool = True,
                 t_safe: float | None = None) -> None:
        self.W, self.absW, self.absW32, self.n_const, self.keep = W, absW, absW32, int(n_const), keep
        self.m, n_total = W.shape
        self.n = n_total - self.n_const
        self.alpha, self.scale, k_eta = R.midrad_product_constants(n_total)
        self.const_t = self.alpha * self.scale
        self.add64 = k_eta * R.ETA
        self.s32 = self.add32 = 0.0
        if absW32 is not None:
            self.s32, abs32 = R.radius32_constants(n_total)
            self.add32 = abs32 + k_eta * R.ETA
        self.t_safe = t_safe  # computed on first use (a pass over |W|) unless given (safe_radius_input)
        self._work: dict[int, tuple[np.ndarray, ...]] = {}

    def _safe(self) -> float:
        if self.t_safe is None:
            self.t_safe = safe_radius_input(self.W, self.alpha)
        return self.t_safe

    def _buffers(self, rows: int) -> tuple[np.ndarray, ...]:
        w = self._work.get(rows)
        if w is None:
            n, k, m = self.n, self.n_const, self.m
            M = np.empty((rows, n + k))
            M[:, n:] = 1.0  # the bias columns: inputs fixed at exactly 1 (never overwritten)
            T = np.empty((rows, n + k))
            T[:, n:] = self.const_t  # their radius input alpha * scale (never overwritten)
            w = (M, T, np.empty((2, rows, n)), np.empty((2, rows, n)), np.empty((rows, n + k), np.float32),
                 np.empty((rows, n + k)), np.empty((rows, m), np.float32), np.empty((rows, m)))
            if self.keep:
                self._work[rows] = w
        return w

    def _fast(self, x: np.ndarray) -> np.ndarray | None:
        """The fast path on an ends array ``x`` (2, rows, n); None when the general path must run."""
        rows = x.shape[1]
        if rows == 0 or self.n + self.n_const == 0 or self._safe() < 0:
            return None
        M, T, D, S, T32, S64, R32, R64 = self._buffers(rows)
        n = self.n
        Mx, Tx = M[:, :n], T[:, :n]
        with _hushed():
            np.multiply(x, 0.5, out=D)
            np.add(D[0], D[1], out=Mx)  # m = lo/2 + hi/2
            np.subtract(Mx, x[0], out=D[0])
            np.subtract(x[1], Mx, out=D[1])
            R.step_up_inplace(D, S)  # step_up(m - lo), step_up(hi - m)
            np.maximum(D[0], D[1], out=Tx)  # r
            np.abs(Mx, out=S[0])
            S[0] *= self.alpha
            Tx += S[0]
            Tx *= self.scale  # t = scale (|m| alpha + r)
            t_max = float(np.maximum.reduce(T, axis=None))
            if not (t_max <= self.t_safe):  # also False for NaN
                return None
            if self.absW32 is not None and _F32_LOW < t_max < _F32_HIGH:
                R.to_float32_up_into(T, T32, S64)
                np.matmul(T32, self.absW32.T, out=R32)
                np.multiply(R32, self.s32, out=R64, dtype=np.float64)
                R64 += self.add32
            else:
                np.matmul(T, self.absW.T, out=R64)
                R64 += self.add64
            out = np.empty((2, rows, self.m))
            np.matmul(M, self.W.T, out=out[1])  # the centre
            np.subtract(out[1], R64, out=out[0])
            out[1] += R64
        return out

    def ends(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """Enclosure of ``W [x_1; …; x_p]`` (bias columns included) for ends arrays ``parts``
        (2, rows, n_i): a fresh ends array (2, rows, m)."""
        if len(parts) == 1:
            x = parts[0]
        else:
            rows = parts[0].shape[1]
            x = np.empty((2, rows, self.n))
            start = 0
            for p in parts:
                stop = start + p.shape[-1]
                x[:, :, start:stop] = p
                start = stop
        out = self._fast(x)
        if out is None:
            lo, hi = _matmul_reference(self.W, x[0], x[1], self.absW, self.n_const, self.absW32)
            out = np.stack((lo, hi))
        return out

    def __call__(self, lo: np.ndarray, hi: np.ndarray) -> Pair:
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        if lo.shape == hi.shape and lo.ndim >= 1 and lo.shape[-1] == self.n and lo.size:
            lead = lo.shape[:-1]
            out = self._fast(np.stack((lo.reshape(-1, self.n), hi.reshape(-1, self.n))))
            if out is not None:
                return out[0].reshape(lead + (self.m,)), out[1].reshape(lead + (self.m,))
        return _matmul_reference(self.W, lo, hi, self.absW, self.n_const, self.absW32)


def dot_upper(A: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Upper bound of ``max_{x ∈ [lo, hi]} Σ_j A_ij x_j``: ``A`` (B, q, n) or (q, n); ``lo``,
    ``hi`` (B, n) or (n,) (points when equal) -> (B, q). Midpoint–radius with the constants of
    :func:`.rounding.midrad_product_constants` (the proof of :func:`matmul`):
    ``fl(A m) + fl(|A| t + k η)`` with ``t = scale (r + α|m|)`` is an upper bound with no further
    outward step. Infinite ends count only where their coefficient is nonzero (then ``inf``)."""
    n = lo.shape[-1]
    bad = ~(np.isfinite(lo) & np.isfinite(hi))
    if bad.any():
        lo, hi = np.where(bad, 0.0, lo), np.where(bad, 0.0, hi)
    alpha, scale, k_eta = R.midrad_product_constants(n)
    m, r = midrad(lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.abs(m)
        t *= alpha
        t += r
        t *= scale
        out = np.matmul(A, m[..., None])[..., 0]
        out += np.matmul(np.abs(A), t[..., None])[..., 0] + k_eta * R.ETA
    if bad.any():
        hits = np.matmul(np.abs(A), bad.astype(np.float64)[..., None])[..., 0] > 0
        out = np.where(hits, np.inf, out)
    return np.where(np.isnan(out), np.inf, out)


def gated_sum(
    g1: Pair, v1: Pair, g2: Pair, v2: Pair
) -> Pair:
    """``[g1]·[v1] + [g2]·[v2]`` for gates ``g1, g2 >= 0`` — the cell update
    ``Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃`` in one kernel.

    With ``g >= 0`` each product is monotone in ``g`` for each sign of ``v``, so its ends are
    ``min(g.lo v.lo, g.hi v.lo)`` and ``max(g.lo v.hi, g.hi v.hi)``. The two float products and
    their float sum carry at most three roundings, bounded by :func:`.rounding.gated_sum_error`
    and subtracted (added) once.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        p_lo = _zero_nan(np.fmin(g1[0] * v1[0], g1[1] * v1[0]))
        q_lo = _zero_nan(np.fmin(g2[0] * v2[0], g2[1] * v2[0]))
        p_hi = _zero_nan(np.fmax(g1[0] * v1[1], g1[1] * v1[1]))
        q_hi = _zero_nan(np.fmax(g2[0] * v2[1], g2[1] * v2[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        lo = p_lo + q_lo
        lo -= R.gated_sum_error(p_lo, q_lo)
        hi = p_hi + q_hi
        hi += R.gated_sum_error(p_hi, q_hi)
    if not (np.isfinite(lo.sum()) and np.isfinite(hi.sum())):  # overflow: the careful way
        lo, hi = add(*mul_nonneg(*g1, *v1), *mul_nonneg(*g2, *v2))
    return lo, hi


def mix(z: Pair, n: Pair, h: Pair) -> Pair:
    """``(1 − z)·n + z·h`` for a gate ``z ⊆ [0, 1]`` (GRU's update), elementwise.

    Written ``n + z (h − n)``: for fixed ``z`` the value increases in ``n`` (weight ``1 − z >= 0``)
    and in ``h`` (weight ``z >= 0``), and it is linear in ``z``; so its minimum over the box is
    ``min_{z ∈ {z.lo, z.hi}} n.lo + z (h.lo − n.lo)`` and its maximum the mirror — the exact
    range, each of the three roundings (difference, product, sum) stepped outward once. It
    also lies in the hull of ``n`` and ``h`` (a convex combination), which is intersected in.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        d_lo = R.step_down(h[0] - n[0])
        d_hi = R.step_up(h[1] - n[1])
        lo = np.minimum(R.step_down(n[0] + R.step_down(z[0] * d_lo)), R.step_down(n[0] + R.step_down(z[1] * d_lo)))
        hi = np.maximum(R.step_up(n[1] + R.step_up(z[0] * d_hi)), R.step_up(n[1] + R.step_up(z[1] * d_hi)))
    lo = np.maximum(np.where(np.isnan(lo), -_INF, lo), np.minimum(n[0], h[0]))
    hi = np.minimum(np.where(np.isnan(hi), _INF, hi), np.maximum(n[1], h[1]))
    return lo, hi


def within(v: Pair, bound: Pair) -> Pair:
    """``v`` intersected with an a priori ``bound`` known to contain the same quantity (exact:
    no rounding). Callers guarantee both are sound, so the result is never empty for exact
    values; a float-level crossing would mean one of them is unsound and is reported."""
    lo, hi = np.maximum(v[0], bound[0]), np.minimum(v[1], bound[1])
    if (lo > hi).any():
        raise AssertionError("disjoint enclosures of one quantity: a bound is unsound")
    return lo, hi


def sum_bounds(lo: np.ndarray, hi: np.ndarray, axis: int = -1) -> Pair:
    """Enclosure of the sum along ``axis``: float sums widened by Higham's ``gamma_n`` bound
    applied to the sum of absolute values, plus an underflow term.

    Where a partial sum overflows although the exact sum may be finite, the sum is redone on
    values scaled by ``2**-32`` (exact but for subnormals, whose loss is bounded by ``n eta``
    before scaling back) and scaled back; a lower end beyond ``max`` becomes ``max``, an upper
    end below ``-max`` becomes ``-max``.
    """
    out_lo, out_hi = _sum_bounds_raw(lo, hi, axis, 0.0)
    bad = ~(np.isfinite(out_lo) & np.isfinite(out_hi))
    if bad.any():
        s_lo, s_hi = _sum_bounds_raw(lo * 2.0**-32, hi * 2.0**-32, axis, lo.shape[axis] * R.ETA)
        with np.errstate(over="ignore"):
            b_lo = np.minimum(s_lo * 2.0**32, R._MAX)
            b_hi = np.maximum(s_hi * 2.0**32, -R._MAX)
        out_lo = np.where(bad, b_lo, out_lo)
        out_hi = np.where(bad, b_hi, out_hi)
    return out_lo, out_hi


def _sum_bounds_raw(lo: np.ndarray, hi: np.ndarray, axis: int, extra: float) -> Pair:
    n = lo.shape[axis]
    g = R.gamma(n + 2)
    with np.errstate(over="ignore", invalid="ignore"):
        s_lo = np.sum(lo, axis=axis)
        s_hi = np.sum(hi, axis=axis)
        e_lo = R.step_up(np.sum(np.abs(lo), axis=axis) * g + ((n + 2) * R.ETA + extra))
        e_hi = R.step_up(np.sum(np.abs(hi), axis=axis) * g + ((n + 2) * R.ETA + extra))
        return R.step_down(s_lo - e_lo), R.step_up(s_hi + e_hi)


# --- elementary functions (monotone: evaluate at the endpoints, widen, clamp) --------------


def _libm_exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(x)


def _libm_sigmoid(x: np.ndarray) -> np.ndarray:
    """``σ(x) = 1/(1 + e^{-x})``, relatively accurate wherever ``e^{-x}`` does not overflow
    (error analysis in :data:`.rounding.ULP_BUDGET`). Where it overflows (``x < -709.78``) the
    result is 0, below the true value: callers use it as is only for *lower* ends and clamp
    the argument of upper ends (:func:`sigmoid`)."""
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    e += 1.0
    return np.reciprocal(e, out=e)


#: Upper ends of σ are evaluated at ``max(x, _SIG_CLAMP)`` (σ is increasing, so that is still
#: an upper bound), which keeps ``e^{-x}`` finite and the relative error analysis valid.
_SIG_CLAMP = -700.0


def exp(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``exp`` is increasing: ``[exp(lo) (down), exp(hi) (up)]``, clamped to ``[0, inf]``.
    (Exact special values such as ``exp(0) = 1`` are restored by :func:`exact_points`.)"""
    if mode == "rigorous":
        from .rigorous import exp as rig_exp

        return rig_exp(lo, hi)
    k = R.ULP_BUDGET["exp"]
    ylo = np.maximum(R.widen_down(_libm_exp(lo), k), 0.0)
    yhi = R.widen_up(_libm_exp(hi), k)
    return ylo, yhi


def sigmoid(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``σ`` is increasing: ``[σ(lo) (down), σ(hi) (up)]`` clamped to ``[0, 1]``."""
    if mode == "rigorous":
        from .rigorous import sigmoid as rig_sigmoid

        return rig_sigmoid(lo, hi)
    down, up, eta_k = R.widening_factors(R.ULP_BUDGET["sigmoid"])
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    with np.errstate(over="ignore"):
        e_lo = np.exp(np.negative(lo))  # may overflow to inf: then the lower end is 0 (below σ)
    ylo = down / (e_lo + 1.0)  # σ(lo)(1 - (k+1) 2**-52), one rounding more than σ itself
    ylo -= eta_k
    ylo = np.maximum(ylo, 0.0)
    yhi = up / (np.exp(np.negative(np.maximum(hi, _SIG_CLAMP))) + 1.0)
    yhi += eta_k
    yhi = np.minimum(yhi, 1.0)
    return ylo, yhi


def tanh(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``tanh`` is increasing: ``[tanh(lo) (down), tanh(hi) (up)]`` clamped to ``[-1, 1]``."""
    if mode == "rigorous":
        from .rigorous import tanh as rig_tanh

        return rig_tanh(lo, hi)
    k = R.ULP_BUDGET["tanh"]
    ylo = np.maximum(R.widen_down(np.tanh(lo), k), -1.0)
    yhi = np.minimum(R.widen_up(np.tanh(hi), k), 1.0)
    return ylo, yhi


#: Exact values at exactly representable points: (function, argument) -> value.
_EXACT = {
    "exp": ((0.0, 1.0), (-_INF, 0.0), (_INF, _INF)),
    "sigmoid": ((0.0, 0.5), (-_INF, 0.0), (_INF, 1.0)),
    "tanh": ((0.0, 0.0), (-_INF, -1.0), (_INF, 1.0)),
}


def exact_points(name: str, lo: np.ndarray, hi: np.ndarray, ylo: np.ndarray, yhi: np.ndarray) -> Pair:
    """Replace an end by the exact value where the argument is a point with a known exact image
    (``exp(0) = 1``, ``tanh(0) = 0``, ``σ(0) = 1/2``, the limits at ±inf). Tightness only —
    the widened value already contains it; used by the public wrappers, not the hot path."""
    for x, v in _EXACT[name]:
        ylo = np.where(lo == x, v, ylo)
        yhi = np.where(hi == x, v, yhi)
    return ylo, yhi


# --- the ends layout: one (2, rows, n) array per interval value -----------------------------
#
# The interval engine keeps a value's lower and upper ends in one array ``e`` (row 0 ``lo``,
# row 1 ``hi``), so that an elementwise step over both ends is one numpy call instead of two
# (what dominates small batches) and the outward steps of both ends are one fused pass
# (:func:`.rounding.step_outward`). Each kernel below returns a fresh ends array and computes,
# entry for entry and bit for bit, what the pair kernel it names computes — that is its
# soundness argument; ``tests/test_kernels.py`` checks the equality and containment.

_SIG_ARG_FLOOR = np.array([-_INF, _SIG_CLAMP]).reshape(2, 1, 1)  # sigmoid(): upper ends at max(x, -700)
_HULL_LO = np.array([-_INF, 0.0]).reshape(2, 1, 1)  # [min(v.lo, 0), max(v.hi, 0)] = clip(v, _HULL_LO, _HULL_HI)
_HULL_HI = np.array([0.0, _INF]).reshape(2, 1, 1)
_SIG_FACTOR = np.array(R.widening_factors(R.ULP_BUDGET["sigmoid"])[:2]).reshape(2, 1, 1)
_SIG_ETA = (R.ENDS_SIGN * R.widening_factors(R.ULP_BUDGET["sigmoid"])[2])
for _a in (_SIG_ARG_FLOOR, _SIG_FACTOR, _SIG_ETA, _HULL_LO, _HULL_HI):
    _a.setflags(write=False)


#: True inside :func:`quiet` (this thread only): numpy's overflow and invalid-operation
#: warnings are off already, so the per-step kernels (:meth:`MidradProduct.ends`,
#: :func:`sigmoid_ends`, :func:`gate_ends`, :func:`add_ends`) skip their own ``np.errstate`` —
#: about 1 us each, six a step: 4% of a batch-1 interval step of benchmarks/propagate.py.
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("lstm_symbolic_kernels_quiet", default=False)
_NO_CONTEXT = contextlib.nullcontext()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """numpy's overflow and invalid-operation warnings off while the body runs, in this thread
    (``np.errstate``), and the per-step kernels told so. What those warnings would flag — an
    infinite or NaN end — each kernel handles itself (and the unrolling loop fails closed on a
    NaN bound), so silencing them changes no value."""
    with np.errstate(over="ignore", invalid="ignore"):
        token = _QUIET.set(True)
        try:
            yield
        finally:
            _QUIET.reset(token)


def _hushed() -> Any:
    """``np.errstate(over="ignore", invalid="ignore")``, or nothing inside :func:`quiet`."""
    return _NO_CONTEXT if _QUIET.get() else np.errstate(over="ignore", invalid="ignore")


def ends(lo: np.ndarray, hi: np.ndarray, rows: int | None = None) -> np.ndarray:
    """A fresh ends array (2, rows, n) from ``lo``, ``hi`` broadcast to (rows, n)."""
    n = np.shape(lo)[-1]
    if rows is None:
        rows = int(np.broadcast_shapes(np.shape(lo), np.shape(hi))[0]) if max(np.ndim(lo), np.ndim(hi)) == 2 else 1
    e = np.empty((2, rows, n))
    e[0] = lo
    e[1] = hi
    return e


def sigmoid_ends(e: np.ndarray, mode: str = "fast") -> np.ndarray:
    """:func:`sigmoid` on an ends array (2, rows, n), bit for bit: lower ends
    ``max(down / (e^{-lo} + 1) − kη, 0)``, upper ends ``min(up / (e^{-max(hi, -700)} + 1) + kη, 1)``.
    The extra ``min(·, 1)`` on lower ends and ``max(·, 0)`` on upper ends are the identity
    (``down < 1`` and ``e^{-x} + 1 >= 1``; an upper end is ``>= 0``). Eight passes over both
    rows instead of fifteen, one allocation."""
    if mode == "rigorous":
        return np.stack(sigmoid(e[0], e[1], mode))
    # np.clip is maximum-then-minimum, NaN-propagating like them, and much faster than
    # np.maximum with a scalar or a broadcast operand
    y = R.clip_ufunc(e, _SIG_ARG_FLOOR, _INF)
    np.negative(y, out=y)
    with _hushed():
        np.exp(y, out=y)  # may overflow to inf (lower ends only): then the lower end is 0
    y += 1.0
    np.divide(_SIG_FACTOR, y, out=y)
    y += _SIG_ETA
    R.clip_ufunc(y, 0.0, 1.0, out=y)
    return y


def tanh_ends(e: np.ndarray, mode: str = "fast", scratch: np.ndarray | None = None) -> np.ndarray:
    """:func:`tanh` on an ends array (2, rows, n), bit for bit: numpy's ``tanh`` of both ends,
    :func:`.rounding.widen_outward` by the ulp budget, clamped to ``[-1, 1]`` (the clamp of the
    other side is the identity: a widened lower end is at most its tanh, an upper end at
    least). ``scratch``: float64 of ``e``'s shape, overwritten."""
    if mode == "rigorous":
        return np.stack(tanh(e[0], e[1], mode))
    y = np.tanh(e)
    R.widen_outward(y, R.ULP_BUDGET["tanh"], scratch)
    R.clip_ufunc(y, -1.0, 1.0, out=y)  # maximum-then-minimum, NaN stays NaN
    return y


def gate_ends(g: np.ndarray, v: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """``g ⊙ v`` for a gate ``g ⊆ [0, 1]`` on ends arrays (2, rows, n): :func:`mul_nonneg`, then
    intersected with the hull of 0 and ``v`` (``g ∈ [0, 1]`` puts ``g v`` between 0 and ``v``;
    this removes the product's outward ulp where ``g`` is 0 or 1).

    Computed as :func:`mul_nonneg` computes it, in fewer passes: the products ``g.lo v`` and
    ``g.hi v`` of both ends at once, ``fmin`` / ``fmax``, one fused
    :func:`.rounding.step_outward` without its clamps, the hull. Where every input is finite
    that is bit for bit :func:`mul_nonneg` and the hull: no ``0 · inf`` NaN to replace, no
    infinite end to clamp (``|g v| <= |v|``). An infinite end of ``v`` leaves an infinite or
    NaN output end at its place (``g.hi · ±inf`` is ``±inf`` or, for ``g.hi = 0``, NaN, and
    the hull keeps it), so when the sum of the output is not finite the kernel starts again
    through :func:`mul_nonneg` itself — one reduction instead of checking the inputs.
    ``scratch``: float64 of ``v``'s shape, overwritten."""
    with _hushed():
        p = np.multiply(v, g[0], out=scratch)  # g.lo v.lo, g.lo v.hi
        out = np.multiply(v, g[1])  # g.hi v.lo, g.hi v.hi
        np.fmin(p[0], out[0], out=out[0])
        np.fmax(p[1], out[1], out=out[1])
        R.step_outward(out, p, finite=True)
        h = R.clip_ufunc(v, _HULL_LO, _HULL_HI, out=p)  # min(v.lo, 0), max(v.hi, 0); NaN stays
        np.maximum(out[0], h[0], out=out[0])
        np.minimum(out[1], h[1], out=out[1])
        if math.isfinite(np.add.reduce(out, axis=None)):
            return out
        lo, hi = mul_nonneg(g[0], g[1], v[0], v[1])
    return np.stack((np.maximum(lo, np.minimum(v[0], 0.0)), np.minimum(hi, np.maximum(v[1], 0.0))))


def add_ends(a: np.ndarray, b: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """:func:`add_outward` on ends arrays (2, rows, n), bit for bit: the float sums of both ends,
    then :func:`.rounding.step_outward` (with its clamps of infinite ends)."""
    with _hushed():
        out = np.add(a, b)
        return R.step_outward(out, scratch)


def within_ends(e: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`within` on an ends array: a fresh ends array ``[max(e.lo, lo), min(e.hi, hi)]``
    (``lo``, ``hi`` broadcast against (rows, n)); raises like :func:`within` when the result is
    empty somewhere."""
    out = np.empty(e.shape)
    np.maximum(e[0], lo, out=out[0])
    np.minimum(e[1], hi, out=out[1])
    if np.greater(out[0], out[1]).any():
        raise AssertionError("disjoint enclosures of one quantity: a bound is unsound")
    return out


# --- set operations ------------------------------------------------------------------------


def hull(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """Smallest interval containing both (exact)."""
    return np.minimum(alo, blo), np.maximum(ahi, bhi)


def intersect(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """Intersection (exact); where it is empty, ``lo > hi`` marks it for the caller."""
    return np.maximum(alo, blo), np.minimum(ahi, bhi)


# --- softmax through difference rows --------------------------------------------------------


def exact_difference(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A − B`` as two float arrays ``(D_hi, D_lo)`` whose sum is exact (TwoSum); raises
    ``OverflowError`` when a difference overflows float64."""
    D_hi, D_lo = R.split_sum(A, -np.asarray(B))
    if not np.isfinite(D_lo).all():
        raise OverflowError("weight differences overflow float64")
    return D_hi, D_lo


def difference_rows(W_y: np.ndarray, b_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, Pair]:
    """Exact difference rows for softmax bounds.

    For output k, ``z_j - z_k = (W_y[j] - W_y[k]) @ a + (b_y[j] - b_y[k])``. A float difference
    is not always exact, so each is split exactly (Knuth's TwoSum) into ``D_hi + D_lo``.

    Returns ``(D_hi, D_lo, (d_lo, d_hi))`` with ``D_hi``, ``D_lo`` of shape (n_y*n_y, n_a) —
    row ``k*n_y + j`` is ``W_y[j] - W_y[k]`` — and an outward enclosure of the bias
    differences, shape (n_y*n_y,).
    """
    n_y = W_y.shape[0]
    D_hi, D_lo = exact_difference(W_y[None, :, :], W_y[:, None, :])  # [k, j] = W_y[j] - W_y[k]
    bd_lo = R.sub_down(b_y[None, :], b_y[:, None])
    bd_hi = R.sub_up(b_y[None, :], b_y[:, None])
    return (
        D_hi.reshape(n_y * n_y, -1),
        D_lo.reshape(n_y * n_y, -1),
        (bd_lo.reshape(-1), bd_hi.reshape(-1)),
    )


def softmax_from_differences(dlo: np.ndarray, dhi: np.ndarray, mode: str = "fast") -> Pair:
    """Bounds of ``y_k = 1 / sum_j exp(z_j - z_k)`` from bounds of the differences.

    Shapes: ``dlo``, ``dhi`` (..., n_y, n_y), entry ``[k, j]`` bounding ``z_j - z_k``; result
    (..., n_y). The ``j = k`` term is exactly ``exp(0) = 1`` and is used as such.
    """
    n_y = dlo.shape[-1]
    elo, ehi = exp(dlo, dhi, mode)
    eye = np.eye(n_y, dtype=bool)
    elo = np.where(eye, 1.0, elo)
    ehi = np.where(eye, 1.0, ehi)
    slo, _ = sum_bounds(elo, elo, axis=-1)
    _, shi = sum_bounds(ehi, ehi, axis=-1)
    slo = np.maximum(slo, 1.0)  # the sum contains the exact term 1 and non-negative others
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ylo = R.step_down(1.0 / shi)
        yhi = R.step_up(1.0 / slo)
    return np.clip(ylo, 0.0, 1.0), np.clip(yhi, 0.0, 1.0)


def softmax_from_logits(zlo: np.ndarray, zhi: np.ndarray, mode: str = "fast") -> Pair:
    """Bounds of ``y = softmax(z)`` from independent bounds of the logits, O(n_y) per row —
    for vocabularies too large for the pairwise difference rows (looser: it forgets that the
    logits share ``a``).

    ``y_k = 1 / (1 + Σ_{j≠k} exp(z_j − z_k))`` is decreasing in every other logit and increasing
    in ``z_k``, so ``y_k >= 1 / (1 + e^{M − zlo_k} Σ_{j≠k} e^{zhi_j − M})`` and symmetrically
    for the upper end (``M`` = the row's largest upper logit, a shift against overflow). The sum
    over ``j ≠ k`` is the whole sum minus the k-th term, each rounded the safe way.
    Shapes: (..., n_y) -> (..., n_y).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        M = np.max(zhi, axis=-1, keepdims=True)
        # upper bound of sum_{j != k} exp(zhi_j - M)
        eu_lo, eu_hi = exp(R.step_down(zhi - M), R.step_up(zhi - M), mode)
        S_hi = sum_bounds(eu_hi, eu_hi, axis=-1)[1][..., None]
        others_hi = np.maximum(R.step_up(S_hi - eu_lo), 0.0)
        # lower bound of sum_{j != k} exp(zlo_j - M)
        el_lo, el_hi = exp(R.step_down(zlo - M), R.step_up(zlo - M), mode)
        S_lo = sum_bounds(el_lo, el_lo, axis=-1)[0][..., None]
        others_lo = np.maximum(R.step_down(S_lo - el_hi), 0.0)
        # y_k lower: 1 / (1 + e^{M - zlo_k} * others_hi);  upper: 1 / (1 + e^{M - zhi_k} * others_lo)
        _, g_hi = exp(R.step_down(M - zlo), R.step_up(M - zlo), mode)
        g_lo, _ = exp(R.step_down(M - zhi), R.step_up(M - zhi), mode)
        den_hi = R.step_up(1.0 + R.step_up(g_hi * others_hi))
        den_lo = np.maximum(R.step_down(1.0 + R.step_down(g_lo * others_lo)), 1.0)
        ylo = R.step_down(1.0 / den_hi)
        yhi = R.step_up(1.0 / den_lo)
    ylo = np.where(np.isnan(ylo), 0.0, ylo)  # inf * 0 cannot arise in a real bound: be safe
    yhi = np.where(np.isnan(yhi), 1.0, yhi)
    return np.clip(ylo, 0.0, 1.0), np.clip(yhi, 0.0, 1.0)
