"""Incremental contraction on a proven invariant set, and the all-horizon bound it gives.

**The certificate.** Let ``S = A × C`` contain every trajectory (a proven box invariant) and
take two states ``(a, c)``, ``(a', c')`` in ``S`` stepped with the *same* input ``x``. Write
``δ = |·−·'|`` elementwise. With ``c⁺ = Γ_f c + Γ_u c̃`` and the product identity
``fc − f'c' = f (c − c') + c' (f − f')``::

    δc⁺ <= F δc + |C| δΓ_f + U δc̃ + |C̃| δΓ_u
    δΓ_g <= L_g |W_g,a| δa          (mean value theorem; the input columns cancel)
    δa⁺ <= O L_t⁺ δc⁺ + T⁺ L_o |W_o,a| δa      (a⁺ = Γ_o tanh(c⁺), the same identity)

where over ``S × X`` (from one sound step): ``F, U, O`` bound ``Γ_f, Γ_u, Γ_o`` above;
``|C|``, ``|C̃|`` bound ``|c|``, ``|c̃|``; ``L_g`` bounds ``σ' = s(1 − s)`` over the gate's
range ``s ∈ [lo, hi]`` (a concave parabola: its value at the point of ``[lo, hi]`` nearest 1/2)
and ``L_c`` bounds ``tanh' = 1 − t²`` over c̃'s range (at the ``t`` nearest 0); ``L_t⁺``,
``T⁺`` bound ``tanh'`` and ``|tanh|`` over the image of ``c``. So ``v = (δc, δa)`` obeys
``v⁺ <= M v`` for a nonnegative matrix ``M`` (2n × 2n), every entry rounded up. This is the
incremental (δISS-type) small-gain argument of Bonassi et al., "LSTM neural networks: input to
state stability and probabilistic safety verification" (L4DC 2020), stated per unit and
evaluated on the invariant set instead of with the global ``σ̄`` of their Theorem.

If ``M p <= ρ p`` for some ``p > 0`` and ``ρ < 1`` (checked with upward rounding), the
weighted max-norm ``max_i v_i / p_i`` contracts by ``ρ`` per step: two trajectories with the
same inputs approach each other geometrically — the model forgets its initial state.

**The bound** (:func:`horizon_bound`). For ``t >= T`` the state ``x_t`` is ``Φ_T`` of
``x_{t−T} ∈ S`` under the last ``T`` inputs; the same ``T`` inputs from the initial state give
``y ∈ Reach_T`` — a state of the sound trace at step ``T``. Both trajectories stay in ``S``, so
``|x_t − y| <= M^T |x_{t−T} − x_0| <= M^T width(S)``. Hence every ``x_t`` lies in the hull of
the trace's steps ``1..T−1``, the initial box, and the trace's step ``T`` widened by
``M^T width(S)``; the result holds for every t and is intersected with ``S``. It can be
repeated with ``M`` recomputed over the new (smaller) set, which contains every trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..interval import Interval
from ..interval import kernels as K
from ..interval import rounding as R
from ..propagate import propagate
from .box import BoxPair, Pair, Stepper

__all__ = ["Contraction", "certificate", "horizon_bound"]

_POWER = 200  # power-iteration rounds for the weight vector
_HORIZON_MAX = 100  # longest trace used by horizon_bound
_TOL = 1e-3  # horizon_bound stops lengthening the trace once M^T width(S) is below this (relative)


@dataclass(frozen=True)
class Contraction:
    """``v⁺ <= matrix v`` for ``v = (|δc|, |δa|)`` (2n,) between any two states of the set
    ``a × c`` stepped with the same input (see the module docstring); ``rate``: an upper bound
    of ``max_i (matrix p)_i / p_i`` for the positive ``weights`` ``p`` (2n,) — the contraction
    factor per step of the weighted max-norm when ``holds`` (``rate < 1``)."""

    holds: bool
    rate: float
    weights: np.ndarray
    matrix: np.ndarray
    a: Interval
    c: Interval


def _sup_sigmoid_slope(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    s = np.clip(0.5, lo, hi)
    return np.minimum(R.mul_up(s, R.sub_up(np.ones_like(s), s)), 0.25)


def _sup_tanh_slope(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    t = np.clip(0.0, lo, hi)
    return np.minimum(np.maximum(R.sub_up(np.ones_like(t), R.mul_down(t, t)), 0.0), 1.0)


def _abs_max(p: Pair) -> np.ndarray:
    return np.maximum(np.abs(p[0]), np.abs(p[1]))


def certificate(step: Stepper, box: BoxPair) -> Contraction:
    """The matrix ``M`` of the module docstring over ``box × inputs`` and its rate."""
    w, n = step.w, step.w.n_a
    A, C = box
    a_new, c_new, g = step.ends(A, C[0], C[1])
    F, U, O = g["f"][1], g["u"][1], g["o"][1]
    CT = _abs_max(g["c_tilde"])
    Cmax = _abs_max(C)
    L_f, L_u, L_o = (_sup_sigmoid_slope(*g[k]) for k in ("f", "u", "o"))
    L_c = _sup_tanh_slope(*g["c_tilde"])
    t_lo, t_hi = K.tanh(c_new[0], c_new[1], step.mode)
    L_t = _sup_tanh_slope(t_lo, t_hi)
    T_plus = np.minimum(_abs_max((t_lo, t_hi)), 1.0)
    absW = {k: np.abs(getattr(w, "W_" + k)[:, :n]) for k in "fuco"}
    rows = lambda k, W: R.mul_up(k[:, None], W)  # noqa: E731  (diag(k) |W|, rounded up)
    D_c = R.add_up(R.add_up(rows(R.mul_up(Cmax, L_f), absW["f"]), rows(R.mul_up(CT, L_u), absW["u"])),
                   rows(R.mul_up(U, L_c), absW["c"]))
    OL = R.mul_up(O, L_t)
    M = np.zeros((2 * n, 2 * n))
    M[:n, :n] = np.diag(F)
    M[:n, n:] = D_c
    M[n:, :n] = np.diag(R.mul_up(OL, F))
    M[n:, n:] = R.add_up(rows(OL, D_c), rows(R.mul_up(T_plus, L_o), absW["o"]))
    if not np.isfinite(M).all():
        p = np.ones(2 * n)
        return Contraction(False, float("inf"), p, M, Interval(*A), Interval(*C))
    p = np.ones(2 * n)
    for _ in range(_POWER):
        q = M @ p
        q = q / max(float(q.max()), 1e-300) + 1e-9
        p = 0.5 * (p + q)
    p = p / p.max()
    q_hi = K.matmul(M, p, p)[1]
    rate = float(np.max(R.div_up(q_hi, p)))
    return Contraction(bool(rate < 1.0), rate, p, M, Interval(*A), Interval(*C))


def _power_bound(M: np.ndarray, d: np.ndarray, T: int) -> np.ndarray:
    """An upper bound of ``M^T d`` (``M``, ``d`` >= 0), every product rounded up."""
    v = d
    for _ in range(T):
        v = np.maximum(K.matmul(M, v, v)[1], 0.0)
    return v


def horizon_bound(step: Stepper, cert: Contraction, a0: Pair, c0: Pair, method: str) -> tuple[BoxPair, int] | None:
    """The all-horizon box of the module docstring from a holding certificate: the trace of
    ``T`` steps from the initial box (``method``), ``T`` the first horizon with
    ``M^T width(S)`` below ``_TOL`` of ``width(S)`` (at most ``_HORIZON_MAX``); the trace is
    ``symbolic`` for the backward methods (``linear``, ``best``: their cost grows with the
    window), else ``method``. Returns ``((A, C), T)``
    intersected with the certificate's set, or None when the certificate does not hold."""
    if not cert.holds:
        return None
    n = step.w.n_a
    d = np.concatenate([R.sub_up(cert.c.hi, cert.c.lo), R.sub_up(cert.a.hi, cert.a.lo)])
    v, T = d, 0
    while T < _HORIZON_MAX:
        v = np.maximum(K.matmul(cert.matrix, v, v)[1], 0.0)
        T += 1
        if float(v.max()) <= _TOL * max(float(d.max()), 1.0):
            break
    e_c, e_a = v[:n], v[n:]
    method = "symbolic" if method in ("linear", "best") else method
    trace = propagate(step.w, step.inputs, steps=T, a0=Interval(*a0), c0=Interval(*c0), method=method, mode=step.mode)
    a_lo, a_hi = trace.a.lo, trace.a.hi
    c_lo, c_hi = trace.c.lo, trace.c.hi
    A_lo = np.minimum(np.min(a_lo[:-1], axis=0, initial=np.inf), np.minimum(a0[0], R.sub_down(a_lo[-1], e_a)))
    A_hi = np.maximum(np.max(a_hi[:-1], axis=0, initial=-np.inf), np.maximum(a0[1], R.add_up(a_hi[-1], e_a)))
    C_lo = np.minimum(np.min(c_lo[:-1], axis=0, initial=np.inf), np.minimum(c0[0], R.sub_down(c_lo[-1], e_c)))
    C_hi = np.maximum(np.max(c_hi[:-1], axis=0, initial=-np.inf), np.maximum(c0[1], R.add_up(c_hi[-1], e_c)))
    A = (np.maximum(A_lo, cert.a.lo), np.minimum(A_hi, cert.a.hi))
    C = (np.maximum(C_lo, cert.c.lo), np.minimum(C_hi, cert.c.hi))
    return (A, C), T
