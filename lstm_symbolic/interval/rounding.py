"""All directed rounding lives here. No other module of the library rounds.

numpy stays in round-to-nearest (we never touch the FPU mode: BLAS threads would not inherit
it). Soundness of every kernel rests on three facts, each used below and nowhere else:

1. IEEE 754 ``+ - * /`` are correctly rounded: the float result ``s`` of an exact value ``r``
   satisfies ``|s - r| <= ulp/2``, so ``nextafter(s, +inf) >= r >= nextafter(s, -inf)``.
   One outward step per operation is therefore enough.
2. Error-free transformations (Knuth's TwoSum, Dekker's TwoProduct) give the exact error of a
   sum or product when no overflow/underflow occurs. We use them only to *skip* the outward
   step when the float result is exact — that is what makes ``1 + 1`` come out as ``[2, 2]``.
   Where they cannot be trusted (non-finite values, huge or tiny magnitudes) we step outward
   unconditionally, so tightness may suffer there but soundness never does.
3. Higham's bound for a dot product of length n evaluated in any order (with or without FMA):
   ``|fl(w . x) - w . x| <= gamma_n * |w| . |x| + n * eta`` with ``gamma_n = n u / (1 - n u)``,
   ``u = 2**-53`` and ``eta = 2**-1074`` (the underflow term). See N. J. Higham, *Accuracy and
   Stability of Numerical Algorithms*, 2nd ed., §3.1 and §3.5; S. M. Rump, "Fast and parallel
   interval arithmetic", BIT 39 (1999).

The ulp budgets of numpy's elementary functions are the one place where we *trust* a libm.
They are stated and justified in :data:`ULP_BUDGET` and measured against mpmath by the test
suite (``tests/test_elementary.py``); ``mode="rigorous"`` trusts no libm at all.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "U",
    "ETA",
    "ULP_BUDGET",
    "gamma",
    "next_up",
    "next_down",
    "step_up",
    "step_down",
    "add_down",
    "add_up",
    "sub_down",
    "sub_up",
    "mul_down",
    "mul_up",
    "div_down",
    "div_up",
    "widen_down",
    "widen_up",
    "affine_error_scale",
]

U = 2.0**-53  #: unit roundoff of binary64
ETA = 2.0**-1074  #: smallest positive subnormal
_MAX = np.finfo(np.float64).max

#: Relative error budget, in ulps of the true result, that we allow numpy's vectorised
#: elementary functions. Justification:
#:
#: - ``tanh``: numpy dispatches to SIMD kernels (or the platform libm). numpy's own docs and the
#:   SVML/Highway sources behind its AVX-512 paths document max errors up to 4 ulp; we measured
#:   about 1.2 ulp here. Budget 4.
#: - ``exp``: numpy's AVX2/AVX-512 ``exp`` is documented as < 2.52 ulp (numpy PR #13134 notes
#:   "max ULP error < 2.52"); glibc's exp is < 1 ulp. Budget 4.
#: - ``sigmoid``: not a numpy primitive. For ``x >= 0`` we evaluate ``1 / (1 + exp(-x))`` and
#:   for ``x < 0`` ``exp(x) / (1 + exp(x))``. With ``e = exp(.)`` off by at most ``k`` ulp
#:   (relative ``k u'`` with ``u' = 2u``), the sum ``1 + e`` is off by ``<= k u' + u`` relative
#:   (``e <= 1`` so its error is damped), and the division adds ``u``: the total relative error
#:   is at most ``(2k + 2)`` ulp, i.e. 10 ulp for ``k = 4``. Budget 10.
#:
#: Each widening below adds one further ulp (see :func:`widen_up`), so the enclosure holds even
#: if the true value sits right at the budget. ``tests/test_elementary.py`` checks containment
#: against mpmath at 50 digits on >= 10**6 points including subnormals, huge arguments and the
#: saturation edges, and reports the largest error seen.
ULP_BUDGET: dict[str, int] = {"exp": 4, "tanh": 4, "sigmoid": 10}


def gamma(n: int) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)``, rounded up (n < 2**50)."""
    nu = n * U  # exact: n * 2**-53 is a power-of-two scaling of an integer < 2**53
    return float(next_up(np.float64(nu) / (1.0 - nu)))


def affine_error_scale(n: int) -> float:
    """Factor ``1 + gamma_{n+4}`` (rounded up) by which a computed sum of ``n`` non-negative
    products must be scaled to bound the exact one from above (Higham §3.1: the exact sum is at
    most ``(1 + gamma_n)`` times the computed one). The four extra roundings absorb the scaling
    multiplication itself and the addition of the underflow term that follows it."""
    return float(next_up(1.0 + gamma(n + 4)))


# --- one outward step ---------------------------------------------------------------------


def next_up(x: np.ndarray | float) -> np.ndarray:
    """The next float above ``x`` (``+inf`` stays ``+inf``; ``-inf`` becomes ``-max``)."""
    with np.errstate(over="ignore"):
        return np.nextafter(x, np.inf)


def next_down(x: np.ndarray | float) -> np.ndarray:
    """The next float below ``x``."""
    with np.errstate(over="ignore"):
        return np.nextafter(x, -np.inf)


def step_up(y: np.ndarray) -> np.ndarray:
    """Cheap outward step for hot paths: an upper bound of the exact value whose
    round-to-nearest result is ``y``. Computes ``y + (|y| 2**-52 + 2**-1074)``.

    Why it is enough: ``|y| 2**-52`` is at least the float spacing at ``y`` (and, when it falls
    in the subnormal range, rounds to a multiple of ``2**-1074`` that is still at least that
    spacing); so ``y + d >= next_up(y)``, and rounding is monotone, so the computed sum is
    ``>= next_up(y) >= exact``. ``+inf`` stays ``+inf``; ``-inf`` (an overflow) becomes
    ``-max``. About 4 array passes, against ~25 for ``np.nextafter``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        r = y + (np.abs(y) * 2.0**-52 + ETA)
    return np.fmax(r, -_MAX)  # NaN from -inf + inf -> -max


def step_down(y: np.ndarray) -> np.ndarray:
    """Mirror of :func:`step_up`: a lower bound of the exact value rounded to ``y``."""
    with np.errstate(invalid="ignore", over="ignore"):
        r = y - (np.abs(y) * 2.0**-52 + ETA)
    return np.fmin(r, _MAX)


# --- error-free transformations (tightness only; soundness never depends on them) ----------

_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitter
_EFT_MAX = 2.0**995  # above this Dekker's split can overflow
_EFT_MIN = 2.0**-969  # below this the product's error can underflow (2**-1022 * 2**53)


def _two_sum_err(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Exact error ``(a + b) - s`` of ``s = fl(a + b)`` (Knuth); NaN when ``s`` is not finite."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


def _two_prod_err(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact error ``a*b - p`` of ``p = fl(a*b)`` (Dekker), valid only in the safe range."""
    ca = _SPLIT * a
    ah = ca - (ca - a)
    al = a - ah
    cb = _SPLIT * b
    bh = cb - (cb - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round(s: np.ndarray, err: np.ndarray, trusted: np.ndarray, upward: bool) -> np.ndarray:
    """Directed rounding of the exact value ``s + err``: keep ``s`` when ``err`` is trusted and
    already points the right way (or is zero), otherwise step one float outward."""
    with np.errstate(invalid="ignore"):
        exact_enough = trusted & ((err <= 0) if upward else (err >= 0))
    stepped = next_up(s) if upward else next_down(s)
    return np.where(exact_enough, s, stepped)


def add_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest-effort upper bound of ``a + b`` (``a + b`` exact when representable)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        s = a + b
        err = _two_sum_err(a, b, s)
    trusted = np.isfinite(s)
    r = _round(s, err, trusted, upward=True)
    # s = -inf from finite operands is an overflow: next_up(-inf) = -max, already sound.
    # s = +inf: next_up keeps +inf. s NaN comes only from inf + -inf, which callers exclude.
    return r


def add_down(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lower bound of ``a + b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        s = a + b
        err = _two_sum_err(a, b, s)
    return _round(s, err, np.isfinite(s), upward=False)


def sub_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Upper bound of ``a - b`` (negation is exact)."""
    return add_up(a, -np.asarray(b, dtype=np.float64))


def sub_down(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lower bound of ``a - b``."""
    return add_down(a, -np.asarray(b, dtype=np.float64))


def _mul(a: np.ndarray, b: np.ndarray, upward: bool) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        p = a * b
        # Interval semantics: 0 * inf = 0 (an endpoint 0 times an unbounded endpoint).
        p = np.where(np.isnan(p), 0.0, p)
        aa, ab, ap = np.abs(a), np.abs(b), np.abs(p)
        trusted = (aa < _EFT_MAX) & (ab < _EFT_MAX) & ((ap >= _EFT_MIN) | (p == 0)) & np.isfinite(p)
        # p == 0 with nonzero factors is an underflow: not exact.
        trusted &= (p != 0) | (a == 0) | (b == 0)
        err = np.where(trusted, _two_prod_err(a, b, p), np.nan)
    return _round(p, err, trusted, upward)


def mul_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Upper bound of ``a * b``, with ``0 * inf = 0`` (interval convention)."""
    return _mul(a, b, upward=True)


def mul_down(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lower bound of ``a * b``, with ``0 * inf = 0``."""
    return _mul(a, b, upward=False)


def _div(a: np.ndarray, b: np.ndarray, upward: bool) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        q = a / b
        # exact when q * b == a exactly (checked with the product's own error-free form)
        trusted = np.isfinite(q) & (np.abs(q) < _EFT_MAX) & (np.abs(b) < _EFT_MAX)
        trusted &= (np.abs(a) >= _EFT_MIN) | (a == 0)
        pe = np.where(trusted, _two_prod_err(q, b, q * b), np.nan)
        resid = np.where(trusted, (a - q * b) - pe, np.nan)  # exact residual a - q*b
        # sign(a/b - q) = sign(resid / b)
        err = np.where(trusted, resid * np.sign(b), np.nan)
    return _round(q, err, trusted, upward)


def div_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Upper bound of ``a / b`` for ``b`` of one sign (no zero)."""
    return _div(a, b, upward=True)


def div_down(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lower bound of ``a / b`` for ``b`` of one sign (no zero)."""
    return _div(a, b, upward=False)


# --- widening by an ulp budget -------------------------------------------------------------


def widen_up(y: np.ndarray, ulps: int) -> np.ndarray:
    """An upper bound of any value within ``ulps`` ulp of ``y``.

    ``|y| * 2**-52`` is at least one ulp at ``y`` (the spacing of floats in ``y``'s binade is
    ``2**(e-52) <= |y| 2**-52``), and ``2**-1074`` is one ulp in the subnormal range. We add
    ``ulps + 1`` of them: the extra one absorbs the final round-to-nearest of the addition and
    the binade edge (a true value just above a power of two has an ulp twice ``y``'s).
    """
    y = np.asarray(y, dtype=np.float64)
    k = float(ulps + 1)
    # A computed -inf is an overflow of a finite true value >= -max * (1 + ulps 2**-52):
    # bound it from -max. (+inf stays +inf: nothing is above it.)
    y = np.where(y == -np.inf, -_MAX, y)
    with np.errstate(over="ignore", invalid="ignore"):
        r = y + (np.abs(y) * (k * 2.0**-52) + k * ETA)
    return np.where(y == np.inf, np.inf, r)


def widen_down(y: np.ndarray, ulps: int) -> np.ndarray:
    """A lower bound of any value within ``ulps`` ulp of ``y`` (mirror of :func:`widen_up`;
    a computed ``+inf`` is bounded below from ``+max``)."""
    return -widen_up(-np.asarray(y, dtype=np.float64), ulps)
