"""Pure interval kernels on ``(lo, hi)`` float64 array pairs.

Every kernel takes endpoint arrays and returns a new ``(lo, hi)`` pair that encloses the exact
real-number result for every choice of the operands inside their intervals. Kernels never
validate (the :class:`~lstm_symbolic.interval.Interval` constructor does) and never round by
themselves: every rounding step is a call into :mod:`.rounding`.

Each kernel reads "round-down expression, round-up expression".
"""

from __future__ import annotations

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
    """
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
    if not (np.isfinite(out_lo.sum()) and np.isfinite(out_hi.sum())):  # overflow somewhere
        out_lo = np.where(np.isfinite(out_lo), out_lo, -_INF)
        out_hi = np.where(np.isfinite(out_hi), out_hi, _INF)
    return out_lo, out_hi


_F32_LOW, _F32_HIGH = 2.0**-64, 2.0**64


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
