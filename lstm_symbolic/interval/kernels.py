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
    "sub",
    "neg",
    "mul",
    "mul_nonneg",
    "matmul",
    "midrad",
    "exp",
    "sigmoid",
    "tanh",
    "hull",
    "intersect",
    "softmax_from_differences",
    "difference_rows",
    "sum_bounds",
]

_INF = np.inf


# --- arithmetic ----------------------------------------------------------------------------


def add(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """``[a] + [b] = [a.lo + b.lo (down), a.hi + b.hi (up)]``."""
    return R.add_down(alo, blo), R.add_up(ahi, bhi)


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
    lower end ``g.lo * v.lo`` if ``v.lo >= 0`` else ``g.hi * v.lo``; upper end ``g.hi * v.hi``
    if ``v.hi >= 0`` else ``g.lo * v.hi``. Two products, each stepped outward once.
    """
    lo = R.step_down(np.where(vlo >= 0, glo, ghi) * vlo)
    hi = R.step_up(np.where(vhi >= 0, ghi, glo) * vhi)
    # a true product that is exactly 0 must not be pushed below/above 0 needlessly
    lo = np.where((vlo == 0) | ((vlo > 0) & (glo == 0)), 0.0, lo)
    hi = np.where((vhi == 0) | ((vhi < 0) & (glo == 0)), 0.0, hi)
    return lo, hi


def midrad(lo: np.ndarray, hi: np.ndarray) -> Pair:
    """Midpoint–radius form ``(m, r)`` with ``[lo, hi] ⊆ [m - r, m + r]`` exactly.

    ``m = lo/2 + hi/2`` (no overflow) need not be the exact midpoint: ``r`` is the larger of
    the two distances, each rounded up, so the enclosure holds whatever ``m`` is.
    """
    m = lo * 0.5 + hi * 0.5
    r = np.maximum(R.step_up(hi - m), R.step_up(m - lo))
    return m, r


def matmul(W: np.ndarray, lo: np.ndarray, hi: np.ndarray, absW: np.ndarray | None = None) -> Pair:
    """Enclosure of ``W @ x`` for every ``x`` in ``[lo, hi]`` (batched over leading axes).

    Shapes: ``W`` (m, n); ``lo``, ``hi`` (..., n); result (..., m).

    Midpoint–radius (Rump 1999) with Higham's dot-product bound, two matrix products::

        centre = fl(W @ m)
        radius = fl(|W| @ (r + gamma_n |m|)) * (1 + gamma_{n+4}) + (2n + 4) eta

    The first term is the radius of ``W @ [m - r, m + r]``; the ``gamma_n |W||m|`` part bounds
    the rounding error of the centre; the scaling bounds the rounding of the radius product
    itself, and ``(2n + 4) eta`` the underflow of both products. Non-finite endpoints give
    ``[-inf, inf]`` on every output row that touches them with a nonzero weight.
    """
    n = W.shape[1]
    if absW is None:
        absW = np.abs(W)
    finite = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
    if not finite:
        bad = ~(np.isfinite(lo) & np.isfinite(hi))
        lo = np.where(bad, 0.0, lo)
        hi = np.where(bad, 0.0, hi)
    m, r = midrad(lo, hi)
    g = R.gamma(n)
    t = R.step_up(R.step_up(g * np.abs(m)) + r)
    centre = m @ W.T
    with np.errstate(over="ignore"):
        radius = (t @ absW.T) * R.affine_error_scale(n) + (2 * n + 4) * R.ETA
        out_lo = R.step_down(centre - radius)
        out_hi = R.step_up(centre + radius)
    if not finite:
        touched = (bad.astype(np.float64) @ absW.T) > 0
        out_lo = np.where(touched, -_INF, out_lo)
        out_hi = np.where(touched, _INF, out_hi)
    if np.isnan(out_lo).any() or np.isnan(out_hi).any():  # inf - inf after an overflow
        out_lo = np.where(np.isnan(out_lo), -_INF, out_lo)
        out_hi = np.where(np.isnan(out_hi), _INF, out_hi)
    return out_lo, out_hi


def sum_bounds(lo: np.ndarray, hi: np.ndarray, axis: int = -1) -> Pair:
    """Enclosure of the sum along ``axis``: float sums widened by Higham's ``gamma_n`` bound
    applied to the sum of absolute values, plus an underflow term."""
    n = lo.shape[axis]
    g = R.gamma(n + 2)
    s_lo = np.sum(lo, axis=axis)
    s_hi = np.sum(hi, axis=axis)
    e_lo = R.step_up(np.sum(np.abs(lo), axis=axis) * g) + (n + 2) * R.ETA
    e_hi = R.step_up(np.sum(np.abs(hi), axis=axis) * g) + (n + 2) * R.ETA
    return R.step_down(s_lo - R.step_up(e_lo)), R.step_up(s_hi + R.step_up(e_hi))


# --- elementary functions (monotone: evaluate at the endpoints, widen, clamp) --------------


def _libm_exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(x)


def _libm_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1/(1+e^-x)`` for x >= 0 and ``e^x/(1+e^x)`` for x < 0: both relatively accurate
    (error analysis in :data:`.rounding.ULP_BUDGET`)."""
    e = _libm_exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def exp(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``exp`` is increasing: ``[exp(lo) (down), exp(hi) (up)]``, clamped to ``[0, inf]``.
    ``exp(0) = 1`` is returned exactly."""
    if mode == "rigorous":
        from .rigorous import exp as rig_exp

        return rig_exp(lo, hi)
    k = R.ULP_BUDGET["exp"]
    ylo = np.maximum(R.widen_down(_libm_exp(lo), k), 0.0)
    yhi = R.widen_up(_libm_exp(hi), k)
    ylo = np.where(lo == 0, 1.0, ylo)
    yhi = np.where(hi == 0, 1.0, yhi)
    yhi = np.where(hi == -_INF, 0.0, yhi)
    return ylo, yhi


def sigmoid(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``σ`` is increasing: ``[σ(lo) (down), σ(hi) (up)]`` clamped to ``[0, 1]``; ``σ(0) = 1/2``
    exactly."""
    if mode == "rigorous":
        from .rigorous import sigmoid as rig_sigmoid

        return rig_sigmoid(lo, hi)
    k = R.ULP_BUDGET["sigmoid"]
    ylo = np.clip(R.widen_down(_libm_sigmoid(lo), k), 0.0, 1.0)
    yhi = np.clip(R.widen_up(_libm_sigmoid(hi), k), 0.0, 1.0)
    ylo = np.where(lo == 0, 0.5, ylo)
    yhi = np.where(hi == 0, 0.5, yhi)
    return ylo, yhi


def tanh(lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
    """``tanh`` is increasing: ``[tanh(lo) (down), tanh(hi) (up)]`` clamped to ``[-1, 1]``;
    ``tanh(0) = 0`` exactly."""
    if mode == "rigorous":
        from .rigorous import tanh as rig_tanh

        return rig_tanh(lo, hi)
    k = R.ULP_BUDGET["tanh"]
    ylo = np.clip(R.widen_down(np.tanh(lo), k), -1.0, 1.0)
    yhi = np.clip(R.widen_up(np.tanh(hi), k), -1.0, 1.0)
    ylo = np.where(lo == 0, 0.0, ylo)
    yhi = np.where(hi == 0, 0.0, yhi)
    return ylo, yhi


# --- set operations ------------------------------------------------------------------------


def hull(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """Smallest interval containing both (exact)."""
    return np.minimum(alo, blo), np.maximum(ahi, bhi)


def intersect(alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray, bhi: np.ndarray) -> Pair:
    """Intersection (exact); where it is empty, ``lo > hi`` marks it for the caller."""
    return np.maximum(alo, blo), np.minimum(ahi, bhi)


# --- softmax through difference rows --------------------------------------------------------


def difference_rows(W_y: np.ndarray, b_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, Pair]:
    """Exact difference rows for softmax bounds.

    For output k, ``z_j - z_k = (W_y[j] - W_y[k]) @ a + (b_y[j] - b_y[k])``. A float difference
    is not always exact, so each is split exactly (Knuth's TwoSum) into ``D_hi + D_lo``.

    Returns ``(D_hi, D_lo, (d_lo, d_hi))`` with ``D_hi``, ``D_lo`` of shape (n_y*n_y, n_a) —
    row ``k*n_y + j`` is ``W_y[j] - W_y[k]`` — and an outward enclosure of the bias
    differences, shape (n_y*n_y,).
    """
    n_y = W_y.shape[0]
    A = W_y[None, :, :]  # j
    B = W_y[:, None, :]  # k
    with np.errstate(invalid="ignore", over="ignore"):
        D_hi = A - B
        D_lo = R._two_sum_err(A, -B, D_hi)
    if not np.isfinite(D_lo).all():
        raise OverflowError("W_y differences overflow float64")
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
    with np.errstate(over="ignore", divide="ignore"):
        ylo = R.step_down(1.0 / shi)
        yhi = R.step_up(1.0 / slo)
    return np.clip(ylo, 0.0, 1.0), np.clip(yhi, 0.0, 1.0)
