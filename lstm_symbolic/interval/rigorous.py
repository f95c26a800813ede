"""``mode="rigorous"``: exp, sigmoid and tanh enclosures that trust no libm.

Only IEEE 754 ``+ - * /`` in round-to-nearest (numpy's default, never changed), exact
power-of-two scaling and integer operations on bit patterns are used; no ``exp``, ``tanh``,
``log`` of any library is called on the data. Every directed rounding is a call into
:mod:`.rounding`. The tables and constants are computed once, on first use, with mpmath's
interval arithmetic (``mp.iv``, outward rounding, 160 bits) and exact rationals; every error
bound below is evaluated exactly (``fractions.Fraction``) from those enclosures and rounded up
(:func:`.rounding.rational_up`) — no digit is typed; ``tests/test_rigorous.py`` recomputes them.

Shapes: every public function takes endpoint arrays ``lo``, ``hi`` of any (broadcastable)
shape and returns ``(lo, hi)`` float64 arrays of that shape enclosing the image of
``[lo, hi]``. All three functions are increasing: the lower end is a lower bound at ``lo``, the
upper end an upper bound at ``hi``. Work is done in blocks of :data:`CHUNK` elements whose
intermediates all live in a per-thread workspace of reused buffers: they stay in cache, and no
allocation happens in the loop (allocating them per block made the kernels hostage to glibc's
heap trimming — 4-5x slower in some processes).

The one-ulp rule (shared)
-------------------------
Each kernel ends with one addition ``y = fl(A + B)`` of a float main term ``A`` and a small
float correction ``B`` (``|B| <= |A|``), whose exact residual ``err = (A + B) - y`` is obtained
by Fast2Sum (:func:`.rounding.fast_sum_error`, exact in binary round-to-nearest). All other
errors are bounded *a priori*: ``|f - (A + B)| <= beta`` with ``beta`` a proven constant times a
magnitude (``beta <= threshold`` below). Then :func:`.rounding.directed_from_residual` returns
``y`` when ``err`` already points the right way by more than ``beta``, else the adjacent float —
sound whenever ``beta <= 2^-54 y`` (proof in its docstring). So a point enclosure is one float
wide when ``|err| > beta`` and two otherwise; with ``beta`` a few hundredths of an ulp the first
case is the rule. Notation: ``u = 2^-53``, ``fl(a o b) = (a o b)(1 + delta)``, ``|delta| <= u``
(no underflow), ``gamma_n = n u/(1 - n u)``; Horner's rule for ``p(t) = sum a_i t^i`` of degree
``n`` satisfies ``|fl(p(t)) - p(t)| <= gamma_2n sum |a_i||t|^i`` (Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., eq. 5.3); each product that underflows adds at
most ``2^-1075`` absolutely (sums of floats never lose anything to underflow).

exp — table reduction, degree-4 polynomial
------------------------------------------
``e^x = 2^k 2^(j/N) e^(r*)`` with ``N = 2^EXP_TABLE_BITS = 1024``, ``n = k N + j``
(``0 <= j < N``) the integer nearest ``x N/ln 2`` and ``r* = x - n ln2/N``.

1. ``v = fl(x C)``, ``C = RN(N/ln 2)``; ``z = fl(v + 1.5·2^52)`` holds ``n`` exactly in its
   low bits (``|v| < 2^51``: the spacing there is 1), so ``n = z - 1.5·2^52`` exactly,
   ``j = bits(z) mod N`` and ``k = floor(n/N)`` are integer operations.
   ``|v - x N/ln2| <= |x||C - N/ln2| + u|x|C =: omega`` for ``|x| <= 746``, so
   ``|r*| <= (ln2/N)(1/2 + omega) =: rho*`` (~``3.4e-4``).
2. ``r = fl(fl(x - n L1) - fl(n L2))`` with ``L1`` = ln2/N truncated to ``53 - 21`` bits
   (``|n| < 2^21`` on ``|x| <= 746``, so ``n L1`` is exact), ``L2 = RN(ln2/N - L1)`` and
   ``|ln2/N - L1 - L2| <= L3`` (from the enclosure of ln 2). Three roundings:
   ``|r - r*| <= (2u + u^2)(m1 + |n L2|) + |n| L3 =: Delta_r`` with
   ``m1 = rho* + |n|(|L2| + L3) >= |x - n L1|``; ``|r| <= rho* + Delta_r =: rho``.
3. ``q = fl(r (c_1 + r (c_2 + r (c_3 + r c_4))))``, ``c_i = RN(1/i!)``. With Higham's bound,
   the coefficient errors ``<= u rho^3 e^rho/6`` and Lagrange's remainder
   ``<= rho^5 e^rho/5!``: ``|e^r - 1 - q| <= eps_q := gamma_8 (1 + u)(e^rho - 1)
   + u rho^3 e^rho/6 + rho^5 e^rho/120 + 4·2^-1074`` (``e^rho`` is bounded by
   ``1/(1 - rho)`` in the exact evaluation), and ``|q| <= mu_q := e^rho - 1 + eps_q``.
4. ``t = fl(fl(T_hi q) + T_lo)``, ``y = fl(T_hi + t)``, with ``2^(j/N) = T_hi + T_lo + tau_j``
   (table from mpmath intervals; ``|tau_j| <= table_error``, ``|T_lo| <= table_lo_max``).
   Writing ``F = 2^(j/N) e^(r*)`` and expanding,
   ``F - (T_hi + t) = (T_hi q + T_lo - t) + T_lo q + tau_j (1 + q) + 2^(j/N)[E_q + (1 + q + E_q) E_r]``
   with ``|E_q| <= eps_q`` and ``|E_r| = |e^(r* - r) - 1| <= Delta_r/(1 - Delta_r) =: eps_r``;
   ``|T_hi q + T_lo - t| <= 2u mu_q + u(2 mu_q (1 + u) + table_lo_max) + 2^-1074`` and
   ``2^(j/N) < 2``. Hence (:func:`exp_residual_bound`)
   ``beta = t_err + table_lo_max mu_q + table_error (1 + mu_q) + 2 (eps_q + (1 + mu_q + eps_q) eps_r)``,
   **about 0.009 u** — dominated by Horner's ``gamma_8 rho``. ``_check_exp_domain`` verifies
   exactly that ``beta <= 2^-54 y_min`` and ``1/2 < y < 2 - 2^-51``.
5. The one-ulp rule gives a bound of ``F``; ``2^k`` is applied by adding ``k·2^52`` to the
   bits (:func:`.rounding.scale_pow2_exact`): exact, because on the fast domain
   ``EXP_FAST_LO = -707.25 <= x <= EXP_FAST_HI = 709`` the exponent stays in ``[-1021, 1022]``
   (checked exactly at build time) and the result is normal.

6. Monotonicity clamps, in blocks holding some ``|x| < 2^-40``: ``e^x >= 1`` for ``x >= 0``
   and ``<= 1`` for ``x <= 0``, so lower ends there are raised to 1 and upper ends lowered to
   1 (exact selections from sign bits). This makes ``e^0 = [1, 1]`` and ``[1, succ 1]`` /
   ``[pred 1, 1]`` the result for every ``0 < |x| < 2^-54`` — optimal; the bound of step 4
   holds for these arguments too (its ``2^-1074`` terms cover the underflowing products).

Outside the fast domain (rare; done on that subset only): ``x`` in ``[-746, -707.25)`` or
``(709, 710]`` runs the same core and scales with :func:`.rounding.ldexp_down` /
:func:`.rounding.ldexp_up` (directed: subnormal results, overflow to ``max`` / ``inf``);
beyond, ``x`` is clipped to ``[-746, 710]`` (monotone: the clipped upper end still bounds, the
lower end below ``-746`` is 0; above ``710`` the scaling overflows: ``max`` and ``inf``);
``e^-inf = 0``; NaN stays NaN.

sigmoid — table of sigma(j/128), no exp
--------------------------------------
For ``|x| <= SIGMOID_CLIP = 40``: ``j`` = nearest integer to ``x H`` (``H = 128``; ``x H`` is
exact), ``r = x - j/H`` exactly (both are multiples of ``ulp(x)`` and ``|r| <= 2^-8 <= |x|``
unless ``j = 0``, where ``r = x``), ``|r| <= rho = 1/(2H)``. With ``s_j = sigma(j/H)``,
``Q = 1 - s_j``, ``P = s_j Q`` and ``w = 1 - e^-r``, exactly:
``sigma(x) = s_j/(1 - Q w)``, so ``C := sigma(x) - s_j = P w/(1 - Q w) = sigma(x) Q w``: the
correction is at most ``|w| <= e^rho - 1`` (~``0.0039``) *relative to sigma(x)*, for every sign
of ``x`` (no cancellation anywhere, relative accuracy down to ``sigma(-40) > 2^-58``).
Computed: ``W = fl(Horner)`` of ``(1 - e^-r)/r = sum_{i<=4} (-r)^i/(i+1)!`` — relative error
``eps_W <= [gamma_8 (1 + u)(e^rho - 1)/rho + u rho^2 e^rho/6 + rho^5 e^rho/6! + 4·2^-1074]/(1 - rho/2)``;
``w = fl(r W)``; ``P = fl(s_hi Q)``; ``d = fl(1 - fl(Q w))`` with relative error
``eps_d <= [omega eps_4 + u(1 + u)(1 + omega(1 + eps_4))]/(1 - omega)``
(``omega = e^rho - 1``, ``eps_4 = (1 + eps_Q)(1 + eps_W)(1 + u)^2 - 1``);
``C = fl(fl(P w)/d)`` with ``eps_C <= (1 + eps_P)(1 + eps_W)(1 + u)^3/(1 - eps_d) - 1``;
``B = fl(s_lo + C)``, ``A = s_hi``. With the table's relative statistics
(``|s_j - s_hi - s_lo| <= e_S s_j``, ``|s_lo| <= e_lo s_j``, ``eps_Q``, and
``eps_P = (1 + e_lo + e_S)(1 + eps_Q)(1 + u) - 1``), ``s_j <= (1 + omega) sigma(x)`` and
``|C| <= omega sigma(x)``:
``beta/sigma(x) <= theta_0 = (1 + omega)(e_S + u(1 + u) e_lo) + omega(eps_C + u(1 + u)(1 + eps_C))
+ 4·2^-1074/2^-58``, and ``sigma(x) <= y/((1 - theta_0)(1 - u))``, so
``beta <= theta y`` with ``theta = theta_0/((1 - theta_0)(1 - u))``, **about 0.11 u**
(:func:`sigmoid_residual_bound`; the threshold is ``fl(theta' y)`` with
``theta' >= theta/(1 - u)``). Dominated by ``omega (gamma_8 + 4u)``.

Beyond the table: ``x > 40`` is evaluated at 40 — the lower end is a lower bound by
monotonicity and the upper end is a float ``>= sigma(40) > pred(1)``, hence ``>= 1``: upper
ends are clamped to 1 in blocks holding some ``x > 30`` (below, ``sigma(30) < 1 - 2^-44`` keeps
``y`` and its neighbour under 1). ``x < -40``: ``e^x (1 - e^x) <= sigma(x) <= e^x`` and
``e^x < 2^-57``, so ``[pred(lower e^x), upper e^x]`` from the exp kernel above, on that subset.
As for exp, blocks holding some ``|x| < 2^-40`` are clamped at ``sigma = 1/2`` on each side of
0 (``sigma(0) = 1/2`` exactly); NaN stays NaN.

tanh — table of tanh(j/256), two forms, no exp
----------------------------------------------
Odd: the kernel works on ``a = |x|`` and restores the sign bit, bounding ``tanh a`` *upward*
for a lower end at ``x < 0`` (:func:`.rounding.magnitude_from_residual` picks the direction per
element). For ``2^-500 <= a <= TANH_CLIP = 19``: ``j`` nearest ``256 a``, ``r = a - j/256``
exactly, ``|r| <= rho = 2^-9``, ``T = tanh(j/256)``, ``tau = tanh r``, and exactly
``tanh a = (T + tau)/(1 + T tau)``. ``tau = r + tau_3`` with
``tau_3 = fl(fl(fl(Horner P(u)) u) r)``, ``u = fl(r^2)``, ``P(u) = -1/3 + 2u/15``
(A&S 4.5.64); the omitted tail is below ``(17/315)|r|^7/(1 - 0.41 r^2)`` (``< 0.03 u |r|``):
the coefficients ``t_n = 2(4^n - 1) zeta(2n)/pi^(2n)`` have
``t_(n+1)/t_n <= 4(1 + 1/255)/pi^2 < 0.41`` for ``n >= 4``. Two forms of the final sum, chosen
by row without a branch (``M = [j < TANH_SPLIT_ROW = 96]`` is formed from the row index):

* rows ``j >= 96`` (``a >= 0.373``): ``A = T_hi``, ``B = fl(T_lo + C)``,
  ``C = fl(fl(G tau)/fl(1 + fl(T tau))) ~ tanh a - T = G tau/(1 + T tau)``, ``G = 1 - T^2``.
  ``|C| <= |r| <= rho`` (mean value theorem) against ``tanh a >= tanh(0.373)``;
* rows ``j < 96``: ``A = a``, ``B = fl(D + C_1)``, ``D = RN(T - j/256)`` and
  ``C_1 = tanh a - T - r = (tau_3 - T^2 tau - T r tau)/(1 + T tau)``, computed as
  ``fl(fl(fl(K tau) + tau_3) - fl(fl(T r) tau))/fl(1 + fl(T tau))`` with ``K = RN(-T^2)``: every
  term is ``O(a^2 rho)`` or ``O(rho^2)`` relative to ``a`` (``T <= a + rho``, ``a >= rho`` on
  rows ``j >= 1``, ``r = a`` on row 0), and ``|D| <= (a + rho)^3/3``.

The same columns serve both forms: ``(L, K, T)`` with ``M``, ``M T`` and ``H = T - M T`` formed
in the kernel, ``A = a M + H`` and ``N = fl(K tau) + M tau_3 - fl(fl(M T r) tau)`` (``M`` is an
all-ones-or-zero bit mask from the row index: ``x M`` is ``x`` or ``+0`` exactly, and sums with
0 are exact). :func:`tanh_residual_bound` bounds each
form's ``beta/tanh a`` from these magnitudes, the relative errors of ``tau`` (~``u``), of the
denominator (``<= [rho eps_p1 + u(1 + rho(1 + eps_p1))]/(1 - rho)``) and of the table entries
(measured from the enclosures), takes the larger, and converts it to ``beta <= theta y`` as for
sigmoid: **about 0.13 u**. Underflow: ``r = 0`` or ``|r| >= 2^-61`` on rows ``j >= 1``; on
row 0 only the last product of ``tau_3`` can underflow (``a < 2^-341``), adding ``2^-1075``,
``<= 2^-575 tanh a`` for ``a >= 2^-500``.

No magnitude exceeds 1, with no clamp: where ``y = 1``,
``err <= tanh a + thr - 1 <= -thr`` because ``1 - tanh 19 > 2 thr`` (checked exactly at build
time), so the rule keeps 1; and ``a > 19`` is evaluated at 19 — the lower end by monotonicity,
the upper end is a float ``>= tanh 19 > pred(1)``, i.e. exactly 1. In blocks holding some
``a < 2^-26`` the magnitudes are capped: upward ones at ``a`` (``tanh a <= a``), downward ones
at ``pred(a)`` — any cap keeps a lower bound a lower bound. This gives the optimal
``[pred a, a]`` (mirrored for ``x < 0``) for tiny ``a``, and it is the whole argument below
``2^-500``, where the rule's threshold may underflow: there ``tau_3`` rounds to ``+-0``
(``a^3/3 < 2^-1075``), so ``y = a`` exactly, the upward magnitude is ``>= a >= tanh a`` and the
downward one ``<= pred(a) < a - a^3/3 < tanh a`` (``a^3/3`` is below the gap under ``a``). ``tanh(+-0) = +-0``; NaN stays NaN.

Measured on the test suite's points (``tests/test_rigorous.py``; ``|x|`` in ``[1e-3, 700]``):
width at most 2 ulps for exp and tanh, 3 for sigmoid (a result next to a power of two), mean
1.01, 1.15, 0.95 ulps; on the same points the previous kernels (interval Horner with one
outward step per operation) had at most 3, 5, 3 and mean 1.74, 1.85, 1.00. The largest actual
error found is 24% (exp), 48% (sigmoid) and 36% (tanh) of the a priori bound.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import mpmath as mp
import numpy as np
from mpmath.libmp import fzero, mpf_cmp, to_float

from . import rounding as R

Pair = tuple[np.ndarray, np.ndarray]

__all__ = [
    "exp",
    "sigmoid",
    "tanh",
    "exp_data",
    "sigmoid_data",
    "tanh_data",
    "exp_residual_bound",
    "sigmoid_residual_bound",
    "tanh_residual_bound",
    "CHUNK",
]

# --- parameters ---------------------------------------------------------------------------

#: elements per block; every intermediate lives in one of a dozen reused buffers of this size
#: per thread (~1.5 MB), so a block's data stays in cache (measured: 16384 to 65536 alike,
#: 8192 15% slower, smaller much slower from per-call overhead)
CHUNK = 16384
#: exp: table of 2^(j/N), N = 2^EXP_TABLE_BITS; Taylor degree of e^r - 1 on |r| <= ln2/(2N)
EXP_TABLE_BITS = 10
EXP_DEGREE = 4
#: exp fast path (results normal, exponent added to the bits): EXP_FAST_LO <= x <= EXP_FAST_HI;
#: the core itself is valid on [EXP_CORE_LO, EXP_CORE_HI]
EXP_FAST_LO, EXP_FAST_HI = -707.25, 709.0
EXP_CORE_LO, EXP_CORE_HI = -746.0, 710.0
#: sigmoid: table at x_j = j/SIGMOID_GRID for |x_j| <= SIGMOID_CLIP; e^-r - 1 to degree SIGMOID_DEGREE
SIGMOID_GRID = 128
SIGMOID_DEGREE = 4
SIGMOID_CLIP = 40.0
#: tanh: table at a_j = j/TANH_GRID for a_j <= TANH_CLIP; rows below TANH_SPLIT_ROW use the
#: "a + (tanh a - a)" form, the others "T_j + (tanh a - T_j)"; below TANH_TINY tanh a is [pred a, a]
TANH_GRID = 256
TANH_SPLIT_ROW = 96
TANH_CLIP = 19.0
TANH_TINY = 2.0**-500

U = Fraction(1, 2**53)  #: unit roundoff
ETA = Fraction(1, 2**1074)  #: smallest subnormal
_SHIFT = 1.5 * 2.0**52  #: fl(v + _SHIFT) - _SHIFT = nearest integer to v, for |v| < 2**51
_SHIFT_BITS = int(np.float64(_SHIFT).view(np.int64))
_PREC = 160  #: bits of mpmath interval arithmetic for the tables and constants


def _gamma(n: int) -> Fraction:
    """Higham's gamma_n = n u / (1 - n u), exactly."""
    return n * U / (1 - n * U)


# --- exact rationals from mpmath intervals -------------------------------------------------


def _raw_fraction(raw: tuple[int, int, int, int]) -> Fraction:
    """An mpmath raw binary float ``(sign, man, exp, bc)`` as the exact rational it is."""
    sign, man, exp, _ = raw
    if not man and exp:  # mpmath's special values (inf, nan) have man == 0, exp != 0
        raise ArithmeticError("non-finite mpmath endpoint")
    value = Fraction(man) * Fraction(2) ** exp
    return -value if sign else value


def _ends(v: mp.ctx_iv.ivmpf) -> tuple[Fraction, Fraction]:
    """The two endpoints of an mpmath interval, exactly, checked to be tight (< 2^-120 wide
    relative): mpmath's ``iv`` context rounds every operation outward, so the true value lies
    between them."""
    a_raw, b_raw = v._mpi_
    a, b = _raw_fraction(a_raw), _raw_fraction(b_raw)
    if not (a <= b and b - a <= (abs(a) + abs(b)) / 2**120):
        raise ArithmeticError("mpmath interval enclosure is not tight enough")
    return a, b


def _nearest(v: mp.ctx_iv.ivmpf) -> float:
    """A float near the midpoint of an interval (mpmath rounds the 53-bit conversion to
    nearest; table entries are normal floats). Soundness never depends on which float it is:
    the tables' deviations from the true values are measured, not assumed."""
    return to_float(v.mid._mpi_[0], rnd="n")


class _Max:
    """Running maximum of upper ends of mpmath intervals, kept as raw binary floats and compared
    exactly (``mpf_cmp``: converting to ``mp.mpf`` would round to the context's 53 bits, possibly
    downward); ``.value`` is the exact rational."""

    def __init__(self) -> None:
        self.best = fzero

    def add(self, v: mp.ctx_iv.ivmpf) -> None:
        b = v._mpi_[1]
        if mpf_cmp(b, self.best) > 0:
            self.best = b

    @property
    def value(self) -> Fraction:
        return _raw_fraction(self.best)


def _rel_dev(f: float, v: mp.ctx_iv.ivmpf) -> mp.ctx_iv.ivmpf:
    """Enclosure of ``|f - v| / |v|`` (``v`` an interval not containing 0)."""
    return abs(mp.iv.mpf(f) - v) / abs(v)


class _iv_precision:
    """``with _iv_precision(bits):`` mpmath interval arithmetic at ``bits`` bits, restored after."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __enter__(self) -> None:
        self.old = mp.iv.prec
        mp.iv.prec = self.bits

    def __exit__(self, *exc: object) -> None:
        mp.iv.prec = self.old


# --- exp: tables, constants, error bound ---------------------------------------------------


@dataclass(frozen=True)
class ExpData:
    """Everything the exp kernel uses, computed once (see :func:`exp_data`).

    ``t_hi``, ``t_lo``: (N,) columns, ``t_hi[j] + t_lo[j]`` within ``table_error`` of
    ``2^(j/N)``; ``C`` ~ N/ln2; ``L1 + L2`` ~ ln2/N with ``L1`` of ``53 - n_bits`` bits so that
    ``n L1`` is exact for ``|n| < 2^n_bits``, and ``|ln2/N - L1 - L2| <= L3``; ``coefficients``
    of ``e^r - 1 = sum_i c_i r^i`` (``c_1, ..., c_d``); ``bound``: the proven bound of the
    residual (:func:`exp_residual_bound`) and ``threshold``: that bound as a float, rounded up.
    """

    t_hi: np.ndarray
    t_lo: np.ndarray
    C: float
    L1: float
    L2: float
    L3: Fraction
    ln2: tuple[Fraction, Fraction]
    n_bits: int
    coefficients: tuple[float, ...]
    table_error: Fraction
    table_lo_max: Fraction
    bound: Fraction
    threshold: float


@lru_cache(maxsize=None)
def exp_data() -> ExpData:
    """Build the exp tables from mpmath interval enclosures (once, on first use)."""
    N = 2**EXP_TABLE_BITS
    with _iv_precision(_PREC):
        ln2_iv = mp.iv.log(2)
        ln2 = _ends(ln2_iv)
        t_hi, t_lo = np.empty(N), np.empty(N)
        err, lo_max = _Max(), _Max()
        for j in range(N):
            T = mp.iv.exp(ln2_iv * j / N)
            hi_f = _nearest(T)
            lo_f = _nearest(T - hi_f)
            t_hi[j], t_lo[j] = hi_f, lo_f
            err.add(abs(mp.iv.mpf(hi_f) + lo_f - T))
            lo_max.add(abs(mp.iv.mpf(lo_f)))
    C = float(N / ((ln2[0] + ln2[1]) / 2))
    n_max = math.floor(Fraction(max(-EXP_CORE_LO, EXP_CORE_HI)) * Fraction(C) * (1 + U) + Fraction(1, 2)) + 1
    n_bits = n_max.bit_length()
    # L1: ln2/N truncated to 53 - n_bits significant bits (both ends of the enclosure agree)
    lo, hi = ln2[0] / N, ln2[1] / N
    e = math.floor(math.log2(lo))
    if not Fraction(2) ** e <= lo < hi < Fraction(2) ** (e + 1):
        raise ArithmeticError("ln2/N: binade of the enclosure")
    grid = Fraction(2) ** (e - (52 - n_bits))
    if math.floor(lo / grid) != math.floor(hi / grid):
        raise ArithmeticError("ln2/N enclosure straddles a grid point of L1")
    L1 = math.floor(lo / grid) * grid
    if Fraction(float(L1)) != L1:
        raise ArithmeticError("L1 is not a float")
    L2 = float((lo + hi) / 2 - L1)
    L3 = max(abs(lo - L1 - Fraction(L2)), abs(hi - L1 - Fraction(L2)))
    coefficients = tuple(float(Fraction(1, math.factorial(i))) for i in range(1, EXP_DEGREE + 1))
    table_error, table_lo_max = err.value, lo_max.value
    bound = exp_residual_bound(C, float(L1), L2, L3, ln2, n_max, table_error, table_lo_max)
    data = ExpData(
        t_hi=t_hi,
        t_lo=t_lo,
        C=C,
        L1=float(L1),
        L2=L2,
        L3=L3,
        ln2=ln2,
        n_bits=n_bits,
        coefficients=coefficients,
        table_error=table_error,
        table_lo_max=table_lo_max,
        bound=bound,
        threshold=R.rational_up(bound),
    )
    _check_exp_domain(data)
    return data


def _exp_reduction(C: float, L2: float, L3: Fraction, ln2: tuple[Fraction, Fraction], n_max: int) -> tuple[Fraction, Fraction]:
    """``(rho, delta_r)``: bounds of the computed ``|r|`` and of ``|r - r*|`` (module docstring,
    exp step 2), for ``|x| <= max(-EXP_CORE_LO, EXP_CORE_HI)``."""
    N = 2**EXP_TABLE_BITS
    x_max = Fraction(max(-EXP_CORE_LO, EXP_CORE_HI))
    dC = max(abs(Fraction(C) - N / ln2[0]), abs(Fraction(C) - N / ln2[1]))
    omega = x_max * (dC + U * Fraction(C))
    rho_star = ln2[1] / N * (Fraction(1, 2) + omega)
    nL2 = n_max * abs(Fraction(L2))
    m1 = rho_star + nL2 + n_max * L3
    delta_r = (2 * U + U * U) * (m1 + nL2) + n_max * L3
    return rho_star + delta_r, delta_r


def exp_residual_bound(
    C: float, L1: float, L2: float, L3: Fraction, ln2: tuple[Fraction, Fraction], n_max: int,
    table_error: Fraction, table_lo_max: Fraction,
) -> Fraction:
    """The proven bound ``beta`` of ``|2^(j/N) e^(r*) - (T_hi + t)|`` (module docstring, exp
    step 4), exactly, from the table's own error statistics."""
    d = EXP_DEGREE
    rho, delta_r = _exp_reduction(C, L2, L3, ln2, n_max)
    e_rho = 1 / (1 - rho)  # >= e^rho
    eps_q = (_gamma(2 * d) * (1 + U) * (e_rho - 1) + U * rho**3 * e_rho / 6
             + rho ** (d + 1) * e_rho / math.factorial(d + 1) + d * ETA)
    mu_q = (e_rho - 1) + eps_q
    eps_r = delta_r / (1 - delta_r)  # >= e^delta_r - 1
    t_err = U * 2 * mu_q + ETA / 2 + U * (2 * mu_q * (1 + U) + ETA / 2 + table_lo_max)
    return (t_err + table_lo_max * mu_q + table_error * (1 + mu_q)
            + 2 * (eps_q + (1 + mu_q + eps_q) * eps_r))


def _check_exp_domain(d: ExpData) -> None:
    """The fast path's claims, checked exactly: ``|n| < 2^n_bits`` on the core's domain,
    ``-1021 <= k <= 1022`` on the fast domain, and the residual bound below ``2^-54 y``."""
    N = 2**EXP_TABLE_BITS
    rho, _ = _exp_reduction(d.C, d.L2, d.L3, d.ln2, 2**d.n_bits)
    C = Fraction(d.C)
    n_lo = math.floor(Fraction(EXP_FAST_LO) * C * (1 + U) - Fraction(1, 2))
    n_hi = math.ceil(Fraction(EXP_FAST_HI) * C * (1 + U) + Fraction(1, 2))
    if not (-1021 <= n_lo // N and n_hi // N <= 1022):
        raise ArithmeticError("exp fast domain would leave the normal range")
    y_min = (1 - rho - d.bound) * (1 - U)  # y >= (F - beta)(1 - u), F >= e^-rho >= 1 - rho
    # F = 2^(j/N) e^(r*) <= (t_hi[N-1] + |t_lo| + table_error) e^rho, and y <= (F + beta)(1 + u)
    F_max = (Fraction(float(d.t_hi[-1])) + d.table_lo_max + d.table_error) / (1 - rho)
    y_max = (F_max + d.bound) * (1 + U)
    if not (d.bound <= y_min / 2**54 and y_min > Fraction(1, 2) and y_max < 2 - Fraction(1, 2**51)):
        raise ArithmeticError("exp residual bound too large for a one-ulp step, or y outside [1/2, 2)")


# --- sigmoid: table, error bound -----------------------------------------------------------


@dataclass(frozen=True)
class SigmoidData:
    """Sigmoid table: columns ``s_hi, s_lo, q`` for ``x_j = j/H``, ``j = -J..J`` (index
    ``j + J``), with ``s_hi + s_lo ~ sigma(x_j)`` and ``q ~ 1 - sigma(x_j)``; the kernel forms
    ``P = fl(s_hi q) ~ sigma(x_j)(1 - sigma(x_j))``. Also the coefficients of
    ``W(r) = (1 - e^-r)/r``, the table's relative error statistics, the proven relative bound
    ``theta`` (:func:`sigmoid_residual_bound`) and the float ``threshold_factor >= theta/(1 - u)``
    with which the kernel scales ``y``."""

    s_hi: np.ndarray
    s_lo: np.ndarray
    q: np.ndarray
    rows_below_zero: int
    coefficients: tuple[float, ...]
    rel_table_error: Fraction
    rel_lo_max: Fraction
    rel_Q_error: Fraction
    theta: Fraction
    threshold_factor: float


@lru_cache(maxsize=None)
def sigmoid_data() -> SigmoidData:
    """Build the sigmoid table from mpmath interval enclosures (once, on first use)."""
    H = SIGMOID_GRID
    J = int(SIGMOID_CLIP * H)
    s_hi, s_lo, q = np.empty(2 * J + 1), np.empty(2 * J + 1), np.empty(2 * J + 1)
    tab_err, lo_max, q_err = _Max(), _Max(), _Max()
    with _iv_precision(_PREC):
        for m in range(J + 1):
            E = mp.iv.exp(-mp.iv.mpf(m) / H)  # e^-|x_j|
            plus, minus = 1 / (1 + E), E / (1 + E)  # sigma(|x_j|), sigma(-|x_j|) = 1 - sigma(|x_j|)
            for i, sig, one_minus in ((J + m, plus, minus), (J - m, minus, plus)):
                hi_f = _nearest(sig)
                lo_f = _nearest(sig - hi_f)
                q_f = _nearest(one_minus)
                s_hi[i], s_lo[i], q[i] = hi_f, lo_f, q_f
                tab_err.add(_rel_dev(mp.iv.mpf(hi_f) + lo_f, sig))
                lo_max.add(abs(mp.iv.mpf(lo_f)) / sig)
                q_err.add(_rel_dev(q_f, one_minus))
    coefficients = tuple(float(Fraction((-1) ** i, math.factorial(i + 1))) for i in range(SIGMOID_DEGREE + 1))
    stats = (tab_err.value, lo_max.value, q_err.value)
    theta = sigmoid_residual_bound(*stats)
    if not theta <= U / 2:
        raise ArithmeticError("sigmoid residual bound too large for a one-ulp step")
    return SigmoidData(s_hi, s_lo, q, J, coefficients, *stats, theta=theta,
                       threshold_factor=R.rational_up(theta / (1 - U)))


def sigmoid_residual_bound(rel_table_error: Fraction, rel_lo_max: Fraction, rel_Q_error: Fraction) -> Fraction:
    """The proven relative bound ``theta``: ``|sigma(x) - (S_hi + B)| <= theta * y`` on the
    table's domain (module docstring, sigmoid), exactly."""
    d = SIGMOID_DEGREE
    # P = fl(s_hi q): s_hi = sigma_j (1 + e), |e| <= rel_lo_max + rel_table_error
    rel_P_error = (1 + rel_lo_max + rel_table_error) * (1 + rel_Q_error) * (1 + U) - 1
    rho = Fraction(1, 2 * SIGMOID_GRID)
    e_rho = 1 / (1 - rho)  # >= e^rho
    omega = e_rho - 1  # >= |w| = |1 - e^-r|
    w_min = 1 - rho / 2  # <= W(r) = (1 - e^-r)/r
    eps_W = (_gamma(2 * d) * (1 + U) * (e_rho - 1) / rho + U * rho**2 * e_rho / 6
             + rho ** (d + 1) * e_rho / math.factorial(d + 2) + d * ETA) / w_min
    eps_4 = (1 + rel_Q_error) * (1 + eps_W) * (1 + U) ** 2 - 1
    eps_d = (omega * eps_4 + U * (1 + U) * (1 + omega * (1 + eps_4))) / (1 - omega)
    eps_C = (1 + rel_P_error) * (1 + eps_W) * (1 + U) ** 3 / (1 - eps_d) - 1
    sigma_min = Fraction(1, 2**58)  # sigma(-40) > 2^-58: absolute underflow terms made relative
    theta0 = ((1 + omega) * (rel_table_error + U * (1 + U) * rel_lo_max)
              + omega * (eps_C + U * (1 + U) * (1 + eps_C)) + 4 * ETA / sigma_min)
    return theta0 / ((1 - theta0) * (1 - U))


# --- tanh: table, error bound --------------------------------------------------------------


@dataclass(frozen=True)
class TanhData:
    """Tanh table: columns ``(L, K, T)`` for ``a_j = j/TANH_GRID``, ``j = 0..J``:

    * rows ``j >= TANH_SPLIT_ROW``: ``L = T_lo``, ``K ~ 1 - tanh^2 a_j``, ``T = T_hi`` with
      ``T_hi + T_lo ~ tanh a_j``;
    * rows ``j < TANH_SPLIT_ROW``: ``L ~ tanh a_j - a_j``, ``K ~ -tanh^2 a_j``, ``T ~ tanh a_j``.

    The kernel derives ``M = [j < TANH_SPLIT_ROW]``, ``MT = M T`` and ``H = T - MT`` (exact).
    ``series``: ``p_0, p_1`` of ``tanh r = r + r u (p_0 + p_1 u) + ...``, ``u = r^2``; the table's error statistics; the proven relative bound ``theta``
    (:func:`tanh_residual_bound`) and ``threshold_factor >= theta/(1 - u)``."""

    L: np.ndarray
    K: np.ndarray
    T: np.ndarray
    series: tuple[float, float]
    stats: dict[str, Fraction]
    theta: Fraction
    threshold_factor: float


#: tanh r = sum_n (-1)^(n-1) t_n r^(2n-1): t_n for n = 1..5 (A&S 4.5.64)
_TANH_T = (Fraction(1), Fraction(1, 3), Fraction(2, 15), Fraction(17, 315), Fraction(62, 2835))


@lru_cache(maxsize=None)
def tanh_data() -> TanhData:
    """Build the tanh table from mpmath interval enclosures (once, on first use)."""
    Hg, J0 = TANH_GRID, TANH_SPLIT_ROW
    n_rows = int(TANH_CLIP * Hg) + 1
    L, K, T = np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)  # row 0: tanh 0 = 0, exact
    st = {k: _Max() for k in ("T_abs", "lo_rel", "K_rel", "T_rel", "D_rel")}
    with _iv_precision(_PREC):
        for j in range(1, n_rows):
            E2 = mp.iv.exp(mp.iv.mpf(2 * j) / Hg)
            tj = (E2 - 1) / (E2 + 1)  # tanh a_j
            t_f = _nearest(tj)
            st["T_rel"].add(_rel_dev(t_f, tj))
            if j < J0:
                D = tj - mp.iv.mpf(j) / Hg  # tanh a_j - a_j
                l_f, k_f = _nearest(D), _nearest(-tj * tj)
                st["D_rel"].add(_rel_dev(l_f, D))
                st["K_rel"].add(_rel_dev(k_f, -tj * tj))
            else:
                G = 1 - tj * tj
                l_f, k_f = _nearest(tj - t_f), _nearest(G)
                st["T_abs"].add(abs(mp.iv.mpf(t_f) + l_f - tj))
                st["lo_rel"].add(abs(mp.iv.mpf(l_f)) / tj)
                st["K_rel"].add(_rel_dev(k_f, G))
            L[j], K[j], T[j] = l_f, k_f, t_f
    series = (float(-_TANH_T[1]), float(_TANH_T[2]))
    stats = {k: v.value for k, v in st.items()}
    theta = tanh_residual_bound(stats)
    factor = R.rational_up(theta / (1 - U))
    with _iv_precision(_PREC):
        gap = _ends(2 / (mp.iv.exp(mp.iv.mpf(2 * TANH_CLIP)) + 1))  # 1 - tanh(TANH_CLIP)
    # no magnitude ever exceeds 1: where y = 1, err <= tanh a + thr - 1 <= -thr, so the rule keeps 1;
    # and tanh(TANH_CLIP) > pred(1), so a clipped upper end (a float >= it) is 1
    if not (theta <= U / 2 and 2 * Fraction(factor) * (1 + U) <= gap[0] and gap[1] < U):
        raise ArithmeticError("tanh residual bound too large for a one-ulp step, or TANH_CLIP unsuitable")
    return TanhData(L, K, T, series, stats, theta, factor)


def tanh_residual_bound(st: dict[str, Fraction]) -> Fraction:
    """The proven relative bound ``theta``: ``|tanh(a) - (A + B)| <= theta * y`` for
    ``TANH_TINY <= a <= TANH_CLIP`` (module docstring, tanh), exactly."""
    t1, t2, t3, t4, t5 = _TANH_T
    rho = Fraction(1, 2 * TANH_GRID)  # |r| <= rho
    r2 = rho * rho
    # series tail |tanh r - r - r u P(u)| <= trunc * |r|: terms from t4 on, ratio <= 0.41 u
    trunc = t4 * r2**3 / (1 - Fraction(41, 100) * r2)
    # P(u) = -t2 + t3 u evaluated by Horner at fl(r^2) <= rho^2 (1 + u), coefficients rounded
    r2u = r2 * (1 + U)
    S_P = t2 + t3 * r2u
    P_min = t2 - t3 * r2u
    eps_P = (_gamma(2) * (1 + U) * S_P + U * S_P + t3 * U * r2u) / P_min
    eps_t3 = (1 + U) ** 3 * (1 + eps_P) - 1  # tau3 = r * fl(fl(r^2) * P): three roundings
    tau_min = 1 - r2 / 3  # tanh r >= r (1 - r^2/3)
    delta_tau = (U * (1 + (1 + eps_t3) * r2 / 3 + trunc) + eps_t3 * r2 / 3 + trunc) / tau_min
    eps_p1 = (1 + st["T_rel"]) * (1 + delta_tau) * (1 + U) - 1
    eps_den = (rho * eps_p1 + U * (1 + rho * (1 + eps_p1))) / (1 - rho)
    # rows j >= J0:  A = T_hi, B = fl(T_lo + C),  C = G tau / (1 + T tau),  |C| <= rho
    eps_C0 = (1 + st["K_rel"]) * (1 + delta_tau) * (1 + U) ** 2 / (1 - eps_den) - 1
    a0 = Fraction(2 * TANH_SPLIT_ROW - 1, 2 * TANH_GRID)  # smallest a in these rows
    y0 = a0 - a0**3 / 3  # <= tanh a0
    beta0 = (st["T_abs"] + eps_C0 * rho
             + U * (1 + U) * (st["lo_rel"] * (y0 + rho) + (1 + eps_C0) * rho))  # T_j <= tanh a + rho
    theta_large = beta0 / y0
    # rows j < J0:  A = a, B = fl(D + C1),  C1 = (tau3 - T^2 tau - T r tau) / (1 + T tau);
    # magnitudes relative to a (a >= rho on rows j >= 1, r = a on row 0), largest a = a1
    a1 = a0
    mK = (a1 + rho) ** 2 * rho / a1  # T^2 |tau| / a
    m3 = r2 / 3  # |tau3| / a
    mT = 2 * r2  # T |r| |tau| / a
    mD = (a1 + rho) ** 3 / (3 * a1)  # |D| / a
    eps_q1 = (1 + st["K_rel"]) * (1 + delta_tau) * (1 + U) - 1
    eps_m = (1 + st["T_rel"]) * (1 + delta_tau) * (1 + U) ** 2 - 1
    s1 = (mK * (1 + eps_q1) + m3 * (1 + eps_t3)) * (1 + U)
    N_err = (mK * eps_q1 + m3 * eps_t3 + trunc + U * s1 + mT * eps_m
             + U * (s1 + mT * (1 + eps_m)))
    N_abs = mK + m3 + mT + trunc
    den_min = 1 - rho
    C1_err = (N_err / (den_min * (1 - eps_den)) + N_abs / den_min * eps_den / (1 - eps_den)
              + U * (N_abs + N_err) / (den_min * (1 - eps_den)))
    C1_abs = (N_abs + N_err) / (den_min * (1 - eps_den))
    beta1 = st["D_rel"] * mD + C1_err + U * (1 + U) * (mD * (1 + st["D_rel"]) + C1_abs + C1_err)
    # row 0 with a < 2^-341: the last product of tau3 may underflow, 2^-1075 absolutely
    theta_small = beta1 / (1 - a1 * a1 / 3) + ETA / Fraction(TANH_TINY)  # tanh a >= a (1 - a^2/3)
    theta0 = max(theta_large, theta_small)
    return theta0 / ((1 - theta0) * (1 - U))


# --- kernels on one block ------------------------------------------------------------------
#
# Every intermediate goes to a buffer of a per-thread workspace: allocating a dozen 64 kB
# temporaries per block made the kernels hostage to glibc's heap trimming, which — depending on
# the process's allocation history — turned every allocation into fresh page faults (measured:
# 4-5x slower, the same code, later in the same process). ``ws`` is a list of float64 buffers
# of the block's length; int64 views of them hold the integer quantities.


class _Workspace(threading.local):
    def __init__(self) -> None:
        self.buffers: list[np.ndarray] = []

    def get(self, count: int, size: int) -> list[np.ndarray]:
        if len(self.buffers) < count or (self.buffers and self.buffers[0].size < size):
            n = max(size, CHUNK)
            self.buffers = [np.empty(n) for _ in range(max(count, len(self.buffers)))]
        return [b[:size] for b in self.buffers[:count]]


_WORKSPACE = _Workspace()


def _buffers(ws: list[np.ndarray] | None, count: int, size: int) -> list[np.ndarray]:
    """The caller's workspace, or fresh buffers (direct calls of a core, as in the tests)."""
    return ws if ws is not None else [np.empty(size) for _ in range(count)]


_I8 = np.int64
_BITS = {v: int(np.float64(v).view(np.int64)) for v in (0.0, 0.5, 1.0, np.inf)}
#: below this |x| the monotonicity clamps (exp: 1, sigmoid: 1/2 at x = 0) are applied to a block
_CLAMP_BELOW = 2.0**-40


def _select(x: np.ndarray, where_neg: float, where_pos: float, zero_is_pos: bool, out: np.ndarray) -> np.ndarray:
    """``where_neg`` for ``x < 0`` (``x <= 0`` if not ``zero_is_pos``), ``where_pos`` otherwise,
    from the sign bit of ``x + 0`` (``-0.0 + 0 = +0``) or of ``0 - x``: an exact selection in
    integer passes (numpy's ``where=`` and ``heaviside`` cost five to fifteen times more)."""
    t = np.add(x, 0.0, out=out) if zero_is_pos else np.subtract(0.0, x, out=out)
    m = np.right_shift(t.view(_I8), 63, out=t.view(_I8))  # -1 where selected "neg"
    if not zero_is_pos:
        np.invert(m, out=m)  # now -1 where x <= 0
    a, b = _BITS[where_neg], _BITS[where_pos]
    m &= a - b
    m += b
    return m.view(np.float64)


def _horner(r: np.ndarray, coefficients: tuple[float, ...], out: np.ndarray) -> np.ndarray:
    """``sum_i coefficients[i] r^i`` by Horner's rule, in round-to-nearest, into ``out``."""
    p = np.multiply(r, coefficients[-1], out=out)
    for c in coefficients[-2:0:-1]:
        p += c
        p *= r
    p += coefficients[0]
    return p


def _exp_core(x: np.ndarray, d: ExpData, ws: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, err, k52)`` for finite ``x`` in the core's domain: ``e^x = 2^k F`` with
    ``|F - (y + err)| <= d.bound``, ``y + err`` exact, ``k52 = k 2^52`` (exp steps 1-4).
    Uses ``ws[0:7]``; returns views of ``ws[4]``, ``ws[1]``, ``ws[3]``."""
    S = EXP_TABLE_BITS
    b = _buffers(ws, 7, x.size)
    z = np.multiply(x, d.C, out=b[0])
    z += _SHIFT
    n = np.subtract(z, _SHIFT, out=b[1])  # the integer nearest x N/ln2, exactly
    zb = z.view(_I8)  # = _SHIFT_BITS + n
    j = np.bitwise_and(zb, (1 << S) - 1, out=b[2].view(_I8))  # n mod N (_SHIFT_BITS: a multiple of N)
    k52 = np.right_shift(zb, S, out=b[3].view(_I8))
    k52 -= _SHIFT_BITS >> S  # k = floor(n / N)
    np.left_shift(k52, 52, out=k52)
    r = np.multiply(n, d.L1, out=b[4])  # exact
    np.subtract(x, r, out=r)
    r -= np.multiply(n, d.L2, out=b[0])
    q = _horner(r, d.coefficients, out=b[5])  # e^r - 1 = r (c_1 + c_2 r + ... + c_d r^(d-1))
    q *= r
    t_hi = np.take(d.t_hi, j, out=b[6])
    t = np.take(d.t_lo, j, out=b[0])
    t += np.multiply(t_hi, q, out=q)
    y = np.add(t_hi, t, out=b[4])
    return y, R.fast_sum_error(t_hi, t, y, out=b[1]), k52


def _exp_block(x: np.ndarray, upward: bool, out: np.ndarray) -> None:
    """Bounds of ``e^x`` (upper if ``upward``) for one block, into ``out``."""
    d = exp_data()
    ws = _WORKSPACE.get(8, x.size)
    clean = EXP_FAST_LO <= x.min() and x.max() <= EXP_FAST_HI  # NaN fails
    xc = x if clean else np.clip(x, EXP_FAST_LO, EXP_FAST_HI, out=ws[7])  # NaN: garbage in range, fixed below
    y, err, k52 = _exp_core(xc, d, ws)
    R.scale_pow2_exact(R.directed_from_residual(y, err, d.threshold, upward, out=err), k52, out=out)
    if np.abs(xc, out=ws[0]).min() < _CLAMP_BELOW:  # e^x <= 1 for x <= 0, >= 1 for x >= 0: exact at 0
        if upward:
            np.minimum(out, _select(xc, 1.0, np.inf, zero_is_pos=False, out=ws[0]), out=out)
        else:
            np.maximum(out, _select(xc, 0.0, 1.0, zero_is_pos=True, out=ws[0]), out=out)
    if clean:
        return
    slow = np.flatnonzero(~((x >= EXP_FAST_LO) & (x <= EXP_FAST_HI)))  # NaN included
    xs = x[slow]
    y, err, k52 = _exp_core(np.fmin(np.fmax(xs, EXP_CORE_LO), EXP_CORE_HI), d)  # NaN -> EXP_CORE_LO
    b = R.directed_from_residual(y, err, d.threshold, upward)
    k = k52 >> 52
    if upward:  # subnormal results and overflow (to +inf) rounded upward
        res = np.where(xs == -np.inf, 0.0, R.ldexp_up(b, k))
    else:  # ... downward (overflow gives max); below EXP_CORE_LO 0 is the best lower bound
        res = np.where(xs < EXP_CORE_LO, 0.0, R.ldexp_down(b, k))
    out[slow] = np.where(np.isnan(xs), np.nan, res)


def _sigmoid_core(x: np.ndarray, d: SigmoidData, ws: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, err, thr)`` for ``|x| <= SIGMOID_CLIP``: ``|sigma(x) - (y + err)| <= thr``.
    Uses ``ws[0:7]``; returns views of ``ws[1]``, ``ws[2]``, ``ws[5]``."""
    H = SIGMOID_GRID
    b = _buffers(ws, 7, x.size)
    z = np.multiply(x, float(H), out=b[0])  # exact
    z += _SHIFT
    r = np.subtract(z, _SHIFT, out=b[1])  # j = nearest integer to x H
    idx = z.view(_I8)
    idx -= _SHIFT_BITS - d.rows_below_zero  # j + J
    r *= 1.0 / H
    np.subtract(x, r, out=r)  # r = x - j/H, exact
    w = _horner(r, d.coefficients, out=b[2])  # W(r) = (1 - e^-r)/r
    w *= r
    s_hi = np.take(d.s_hi, idx, out=b[3])
    s_lo = np.take(d.s_lo, idx, out=b[4])
    Q = np.take(d.q, idx, out=b[5])
    c = np.multiply(s_hi, Q, out=b[6])  # P ~ sigma_j (1 - sigma_j)
    c *= w
    den = np.multiply(Q, w, out=w)
    np.subtract(1.0, den, out=den)
    c /= den  # C = P w / (1 - Q w) = sigma(x) - sigma(x_j)
    c += s_lo
    y = np.add(s_hi, c, out=r)
    err = R.fast_sum_error(s_hi, c, y, out=den)
    return y, err, np.multiply(y, d.threshold_factor, out=Q)


def _sigmoid_block(x: np.ndarray, upward: bool, out: np.ndarray) -> None:
    """Bounds of ``sigma(x)`` (upper if ``upward``) for one block, into ``out``."""
    d = sigmoid_data()
    ws = _WORKSPACE.get(8, x.size)
    x_max = x.max()
    clean = -SIGMOID_CLIP <= x.min() and x_max <= SIGMOID_CLIP  # NaN fails
    if clean:
        xc = x
    else:  # NaN -> -40, fixed below
        xc = np.fmin(np.fmax(x, -SIGMOID_CLIP, out=ws[7]), SIGMOID_CLIP, out=ws[7])
    y, err, thr = _sigmoid_core(xc, d, ws)
    R.directed_from_residual(y, err, thr, upward, out=out)
    if upward and not x_max <= 30.0:
        # sigma(30) < 1 - 2^-44 keeps y and the float above it below 1 for x <= 30; above, a
        # float >= sigma(x) (or >= sigma(40) > pred(1) for x clipped to 40) is >= 1: clamp to 1
        np.minimum(out, 1.0, out=out)
    if np.abs(xc, out=ws[0]).min() < _CLAMP_BELOW:  # sigma <= 1/2 for x <= 0, >= 1/2 for x >= 0
        if upward:
            np.minimum(out, _select(xc, 0.5, 1.0, zero_is_pos=False, out=ws[0]), out=out)
        else:
            np.maximum(out, _select(xc, 0.0, 0.5, zero_is_pos=True, out=ws[0]), out=out)
    if clean:
        return
    slow = np.flatnonzero(~(x >= -SIGMOID_CLIP))  # x < -40 or NaN
    if slow.size:
        # x < -40: e^x (1 - e^x) <= sigma(x) <= e^x and e^x < 2^-57, so the float below a lower
        # bound of e^x is a lower bound of sigma(x) (NaN stays NaN through the exp block)
        xs = x[slow]
        e = np.empty(xs.size)
        _exp_block(xs, upward, e)
        out[slow] = e if upward else np.where(e > 0, R.next_down(e), e)


def _tanh_core(a: np.ndarray, d: TanhData, ws: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, err, thr)`` for ``TANH_TINY <= a <= TANH_CLIP``: ``|tanh(a) - (y + err)| <= thr``.
    Uses ``ws[0:9]``; returns views of ``ws[8]``, ``ws[7]``, ``ws[4]``."""
    Hg = TANH_GRID
    b = _buffers(ws, 9, a.size)
    z = np.multiply(a, float(Hg), out=b[0])  # exact
    z += _SHIFT
    r = np.subtract(z, _SHIFT, out=b[1])
    idx = z.view(_I8)
    idx -= _SHIFT_BITS  # j
    r *= 1.0 / Hg
    np.subtract(a, r, out=r)  # r = a - j/Hg, exact
    L = np.take(d.L, idx, out=b[2])
    K = np.take(d.K, idx, out=b[3])
    T = np.take(d.T, idx, out=b[4])
    M = np.subtract(idx, TANH_SPLIT_ROW, out=b[5].view(_I8))
    np.right_shift(M, 63, out=M)  # all ones where j < J0, else 0: "x & M" is x or +0, exactly
    u = np.multiply(r, r, out=b[0])  # idx no longer needed
    tau3 = _horner(u, d.series, out=b[6])  # P(u)
    tau3 *= u
    tau3 *= r  # tanh r - r (truncated)
    tau = np.add(r, tau3, out=b[7])
    num = np.multiply(K, tau, out=K)
    np.bitwise_and(tau3.view(_I8), M, out=tau3.view(_I8))  # M tau3
    num += tau3
    MT = np.bitwise_and(T.view(_I8), M, out=u.view(_I8)).view(np.float64)
    np.multiply(MT, r, out=r)
    r *= tau
    num -= r
    np.multiply(T, tau, out=tau)
    tau += 1.0
    num /= tau  # C (rows >= J0) or C1 = tanh a - T - r (rows < J0)
    num += L
    H = np.subtract(T, MT, out=T)  # exact: T_hi (rows >= J0) or 0 (rows < J0)
    A = np.bitwise_and(a.view(_I8), M, out=M).view(np.float64)  # a or 0
    A += H  # exact: one of the two terms is 0
    y = np.add(A, num, out=b[8])
    err = R.fast_sum_error(A, num, y, out=b[7])
    return y, err, np.multiply(y, d.threshold_factor, out=b[4])


def _tanh_block(x: np.ndarray, upward: bool, out: np.ndarray) -> None:
    """Bounds of ``tanh(x)`` (upper if ``upward``) for one block, into ``out``. Works on
    ``a = |x|`` and restores the sign: a lower end at ``x < 0`` is minus an upper bound of
    ``tanh |x|``."""
    d = tanh_data()
    ws = _WORKSPACE.get(12, x.size)
    a = np.abs(x, out=ws[9])
    a_min, a_max = a.min(), a.max()
    nan = not a_max == a_max
    if nan or a_max > TANH_CLIP:
        np.fmin(a, TANH_CLIP, out=a)  # NaN -> TANH_CLIP, fixed below
    y, err, thr = _tanh_core(a, d, ws)
    sign = np.right_shift(x.view(_I8), 63, out=ws[10].view(_I8))  # -1 where x < 0
    b = R.magnitude_from_residual(y, err, thr, sign, upward, out=ws[11]).view(_I8)
    if a_min < _TANH_CAP_BELOW:
        # magnitudes: upward ones <= a (tanh a <= a), downward ones <= pred(a): sound, and it is
        # what keeps [pred a, a] for tiny a, also where a < TANH_TINY (y = a exactly there, the
        # rule's threshold may underflow, and pred a < tanh a)
        down = ws[0].view(_I8)  # -1 where the magnitude is bounded downward
        if upward:
            np.copyto(down, sign)
        else:
            np.invert(sign, out=down)
        cap = np.add(a.view(_I8), down, out=down)  # a, or the float below it (bits - 1)
        np.maximum(cap, 0, out=cap)  # a = 0: 0
        np.minimum(b, cap, out=b)  # non-negative floats are ordered like their bit patterns
    np.left_shift(sign, 63, out=sign)
    np.bitwise_or(b, sign, out=out.view(_I8))
    if nan:
        out[np.isnan(x)] = np.nan


#: blocks with some |x| below this get the magnitude caps of :func:`_tanh_block`
_TANH_CAP_BELOW = 2.0**-26


# --- public kernels ------------------------------------------------------------------------


def _apply(block, lo: np.ndarray, hi: np.ndarray) -> Pair:
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    lo, hi = np.broadcast_arrays(lo, hi)
    shape = lo.shape
    res = []
    for ends, upward in ((lo, False), (hi, True)):
        x = np.ravel(ends)
        out = np.empty(x.size)
        with np.errstate(under="ignore"):  # gradual underflow is part of every bound; over/invalid are bugs
            for i in range(0, x.size, CHUNK):
                block(x[i : i + CHUNK], upward, out[i : i + CHUNK])
        res.append(out.reshape(shape))
    return res[0], res[1]


def exp(lo: np.ndarray, hi: np.ndarray) -> Pair:
    """``[e^lo (down), e^hi (up)]``; ``e^0 = 1`` exactly, ``e^-inf = 0``, overflow of a lower end
    gives ``max`` and of an upper end ``+inf``, underflow of a lower end gives 0."""
    return _apply(_exp_block, lo, hi)


def sigmoid(lo: np.ndarray, hi: np.ndarray) -> Pair:
    """``[sigma(lo) (down), sigma(hi) (up)]`` within ``[0, 1]``; ``sigma(0) = 1/2`` exactly."""
    return _apply(_sigmoid_block, lo, hi)


def tanh(lo: np.ndarray, hi: np.ndarray) -> Pair:
    """``[tanh(lo) (down), tanh(hi) (up)]`` within ``[-1, 1]``; ``tanh(0) = 0`` exactly."""
    return _apply(_tanh_block, lo, hi)
