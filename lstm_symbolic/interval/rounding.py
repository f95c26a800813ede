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

import functools
import math
from fractions import Fraction

import numpy as np

try:  # numpy >= 2
    from numpy._core.umath import clip as clip_ufunc
except ImportError:  # numpy 1.x
    from numpy.core.umath import clip as clip_ufunc  # type: ignore[no-redef]
# ``np.clip`` on an ndarray is this ufunc behind three Python wrappers (``fromnumeric.clip``,
# ``ndarray.clip``, ``_methods._clip``): the same maximum-then-minimum, NaN-propagating result,
# about 2 us less per call — which is what the per-step kernels of small batches pay for

__all__ = [
    "U",
    "ETA",
    "ULP_BUDGET",
    "gamma",
    "next_up",
    "next_down",
    "step_up",
    "step_down",
    "step_outward",
    "step_up_inplace",
    "widen_outward",
    "to_float32_up_into",
    "ENDS_SIGN",
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
    "widening_factors",
    "rational_down",
    "rational_up",
    "ldexp_down",
    "ldexp_up",
    "nonneg_up",
    "abs_sum_up",
    "absdot_up",
    "UpperSum",
    "fast_sum_error",
    "directed_from_residual",
    "magnitude_from_residual",
    "scale_pow2_exact",
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
#: - ``sigmoid``: not a numpy primitive. We evaluate ``1 / (1 + exp(-x))`` (upper ends at
#:   ``max(x, -700)`` so that ``exp(-x)`` never overflows; see ``kernels.sigmoid``). With
#:   ``e = exp(-x)`` off by at most ``k`` ulp (relative ``2ku``, ``u = 2**-53``), the sum
#:   ``1 + e`` is off by at most ``2ku e/(1+e) + u <= (2k + 1)u`` relative and the reciprocal
#:   adds ``u``: at most ``(2k + 2)u``, i.e. ``k + 1`` ulp. Where ``exp`` underflows
#:   (``x > 708``) the result is 1 within 1 ulp. Budget 10 (twice the derived 5: the one
#:   function whose budget we derive rather than measure, so we leave room).
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


def midrad_product_constants(n: int) -> tuple[float, float, float]:
    """Constants ``(alpha, scale, k_eta)`` for a midpoint–radius product of length ``n`` whose
    ends ``fl(c - R)``, ``fl(c + R)`` need no further outward step.

    Setting: ``x`` in ``[m - r, m + r]`` (floats), ``c = fl(W m)`` (any order, FMA or not),
    ``R = fl(|W| t + k_eta * 2**-1074)`` with ``t = fl(scale * fl(r + fl(alpha |m|)))``.
    Claim: ``fl(c - R) <= W x <= fl(c + R)`` for every such ``x``.

    Proof sketch (u = 2**-53, gamma_j = j u/(1 - j u), eta = 2**-1074):
    ``|c - W m| <= gamma_n |W||m| + n eta`` and ``|c| <= (1 + gamma_n)|W||m| + n eta``
    (Higham §3.1, plus the underflow term). ``fl(c - R) <= (c - R) + u|c| + u R``, so it is
    enough that ``R (1 - u) >= |W| (r + (gamma_n + 2u)|m|) + 2 n eta``. The three roundings in
    ``t`` lose at most a factor ``(1 - u)^3``, the sum ``R`` at most ``(1 - gamma_{n+1})`` and
    ``(n+1) eta``; with ``alpha = gamma_{n+2} >= gamma_n + 2u``,
    ``scale >= 1 / ((1 - u)^4 (1 - gamma_{n+1}))`` and ``k_eta (1 - u)(1 - gamma_{n+1}) >= 3n + 1``
    the claim follows. We take ``scale = 1 + 2 gamma_{n+5}`` and ``k_eta = 4n + 8``.
    """
    alpha = gamma(n + 2)
    scale = float(next_up(1.0 + 2.0 * gamma(n + 5)))
    return alpha, scale, float(4 * n + 8)


U32 = 2.0**-24  #: unit roundoff of binary32
TINY32 = 2.0**-126  #: smallest normal binary32


def gamma32(n: int) -> float:
    """Higham's gamma_n for binary32 arithmetic, rounded up (as a float64)."""
    nu = n * U32
    return float(next_up(np.float64(nu) / (1.0 - nu)))


def to_float32_up(x: np.ndarray) -> np.ndarray:
    """A float32 array ``>= x`` elementwise for ``x >= 0`` (float64), never subnormal: entries
    below the smallest normal float32 become it (zeros stay zero), so that a BLAS that flushes
    subnormals to zero cannot lose them. ``x (1 + 2**-23) + 2**-149`` rounds to a float32
    ``>= x`` (its distance to ``x`` is at least half a float32 spacing); overflow gives inf."""
    with np.errstate(over="ignore"):
        y = (x * (1.0 + 2.0**-23) + 2.0**-149).astype(np.float32)
    return np.where((y < TINY32) & (x > 0), np.float32(TINY32), y)


def radius32_constants(n: int) -> tuple[float, float]:
    """``(scale, absolute)`` such that for float32 arrays ``A >= 0`` (m, n) and ``t >= 0``
    (n,) with no subnormal entries, ``exact(A @ t) <= fl32(A @ t) * scale + absolute``.

    Higham: ``exact <= fl / (1 - gamma32_n)`` for non-negative terms, in any summation order,
    FMA or not; each product that underflows (or is flushed to zero) loses at most
    ``2**-126``, hence ``absolute = n 2**-126``. ``scale = 1 + 2 gamma32_{n+2}`` also covers
    the two float64 roundings of ``fl * scale + absolute``."""
    return float(next_up(1.0 + 2.0 * gamma32(n + 2))), float(n * TINY32 * 2.0)


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
    ``-max``; NaN stays NaN (never silently turned into a number). About 5 array passes,
    against ~25 for ``np.nextafter``.
    """
    y = np.maximum(y, -_MAX)  # -inf -> -max; NaN propagates
    with np.errstate(invalid="ignore", over="ignore"):
        return y + (np.abs(y) * 2.0**-52 + ETA)


def step_down(y: np.ndarray) -> np.ndarray:
    """Mirror of :func:`step_up`: a lower bound of the exact value rounded to ``y``."""
    y = np.minimum(y, _MAX)
    with np.errstate(invalid="ignore", over="ignore"):
        return y - (np.abs(y) * 2.0**-52 + ETA)


#: ``[-1, +1]`` along the first axis of an *ends* array ``(2, rows, n)``: row 0 the lower ends,
#: row 1 the upper ends (:mod:`.kernels`, "ends layout"). Multiplying by it is exact.
ENDS_SIGN = np.array([-1.0, 1.0]).reshape(2, 1, 1)
#: ``±2**-52``, ``±2**-1074`` per row, and the clamps of :func:`step_down` / :func:`step_up`
#: (``+inf`` to ``max`` in lower ends, ``-inf`` to ``-max`` in upper ends) as ``np.clip`` bounds.
_ENDS_STEP = ENDS_SIGN * 2.0**-52
_ENDS_ETA = ENDS_SIGN * ETA
_ENDS_CLAMP_LO = np.array([-np.inf, -_MAX]).reshape(2, 1, 1)
_ENDS_CLAMP_HI = np.array([_MAX, np.inf]).reshape(2, 1, 1)
for _a in (ENDS_SIGN, _ENDS_STEP, _ENDS_ETA, _ENDS_CLAMP_LO, _ENDS_CLAMP_HI):
    _a.setflags(write=False)


def step_outward(e: np.ndarray, scratch: np.ndarray | None = None, finite: bool = False) -> np.ndarray:
    """In place on an ends array ``e`` (2, rows, n): row 0 becomes :func:`step_down` of itself
    and row 1 :func:`step_up` of itself, bit for bit, in four array passes over both rows
    instead of ten. Returns ``e``.

    Why bit for bit: row 1 computes ``y + fl(fl(|y| 2**-52) + 2**-1074)`` exactly as
    :func:`step_up`; row 0 computes ``y + fl(fl(|y| (−2**-52)) + (−2**-1074))``, which is
    ``y + (−d)`` for the same ``d`` (negating an operand negates a correctly rounded product
    or sum exactly), and ``y + (−d)`` rounds exactly like ``y − d``. The clamps that map
    ``+inf`` to ``max`` in a lower end (``-inf`` to ``-max`` in an upper end) are one ``np.clip``
    (NaN stays NaN), skipped when the caller passes ``finite=True`` because it knows that no
    lower end is ``+inf`` and no upper end ``-inf`` (then they are the identity). So the
    soundness argument of :func:`step_up` holds for each entry unchanged. ``scratch``: a
    float64 array of ``e``'s shape for the step (allocated when None); it is overwritten. An end
    within an ulp of ``±max`` steps to ``±inf`` (still a bound): callers silence numpy's
    overflow warning (``np.errstate``) around hot loops, as this function does not.
    """
    if not finite:
        clip_ufunc(e, _ENDS_CLAMP_LO, _ENDS_CLAMP_HI, out=e)
    d = np.abs(e, out=scratch)
    d *= _ENDS_STEP
    d += _ENDS_ETA
    e += d
    return e


def step_up_inplace(y: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """In place: ``y`` becomes :func:`step_up` of itself, bit for bit, for every entry that is
    not ``-inf`` (four passes instead of five: the clamp of ``-inf`` to ``-max`` is skipped, so
    a ``-inf`` entry becomes NaN — callers that cannot exclude ``-inf`` detect the NaN or use
    :func:`step_up`). ``+inf`` stays ``+inf``, NaN stays NaN. ``scratch``: float64 of ``y``'s
    shape, overwritten (allocated when None). Returns ``y``. Callers silence numpy's overflow
    and invalid warnings (``np.errstate``)."""
    d = np.abs(y, out=scratch)
    d *= 2.0**-52
    d += ETA
    y += d
    return y


def widen_outward(e: np.ndarray, ulps: int, scratch: np.ndarray | None = None) -> np.ndarray:
    """In place on an ends array ``e`` (2, rows, n) of values in ``[-1, 1]`` (or NaN): row 0
    becomes :func:`widen_down` of itself and row 1 :func:`widen_up`, bit for bit. Both compute
    ``y ∓ fl(fl(|y| k 2**-52) + k eta)`` with ``k = ulps + 1`` (``widen_down(y) = −widen_up(−y)``;
    negating the constants negates the correctly rounded product and sum exactly, as in
    :func:`step_outward`); the clamps of ``∓inf`` in those functions are the identity on
    ``[-1, 1]``. Four passes over both rows instead of eight. Returns ``e``."""
    step, eta = _widening_ends(ulps)
    d = np.abs(e, out=scratch)
    d *= step
    d += eta
    e += d
    return e


@functools.lru_cache(maxsize=None)
def _widening_ends(ulps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(±k 2**-52, ±k eta)`` per row of an ends array, ``k = ulps + 1`` (read-only)."""
    k = float(ulps + 1)
    out = (ENDS_SIGN * (k * 2.0**-52), ENDS_SIGN * (k * ETA))
    for a in out:
        a.setflags(write=False)
    return out


def to_float32_up_into(x: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """:func:`to_float32_up` of ``x > 0`` (finite, below ``2**64``; *every* entry positive, which
    the caller proves) written into the float32 array ``out``, bit for bit, in three passes:
    ``fl32(fl(x (1 + 2**-23)) + 2**-149)`` — the sum computed in float64 and rounded to nearest
    float32 on output, as ``astype`` does — then ``max(·, 2**-126)``, which for ``x > 0`` is
    :func:`to_float32_up`'s ``where``: an entry below the smallest normal float32 becomes it,
    the others keep their value. ``scratch``: float64 of ``x``'s shape, overwritten."""
    np.multiply(x, 1.0 + 2.0**-23, out=scratch)
    np.add(scratch, 2.0**-149, out=out, casting="same_kind")
    clip_ufunc(out, np.float32(TINY32), np.float32(np.inf), out=out)  # max(·, 2**-126); NaN stays
    return out


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


def split_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly (Knuth's TwoSum) where
    ``s`` is finite; ``e`` is NaN where the sum overflowed."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        s = a + b
        return s, _two_sum_err(a, b, s)


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
        # an exact zero factor gives exactly 0, even against an unbounded end (0 * inf = 0)
        zero = (a == 0) | (b == 0)
        trusted |= zero
        err = np.where(zero, 0.0, err)
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
    y = np.maximum(y, -_MAX)  # -inf -> -max; +inf stays (inf + inf = inf below)
    with np.errstate(over="ignore", invalid="ignore"):
        d = np.abs(y)
        d *= k * 2.0**-52
        d += k * ETA
        d += y
    return d


def widening_factors(ulps: int) -> tuple[float, float, float]:
    """``(1 - k 2**-52, 1 + k 2**-52, k eta)`` with ``k = ulps + 1``: the relative and absolute
    widening of :func:`widen_down` / :func:`widen_up` for a non-negative value, as factors, for
    kernels that fold the widening into an operation they perform anyway (``sigmoid``:
    ``factor / (1 + e)``: one rounding, counted in the sigmoid budget)."""
    k = float(ulps + 1)
    return 1.0 - k * 2.0**-52, 1.0 + k * 2.0**-52, k * ETA


def widen_down(y: np.ndarray, ulps: int) -> np.ndarray:
    """A lower bound of any value within ``ulps`` ulp of ``y`` (mirror of :func:`widen_up`;
    a computed ``+inf`` is bounded below from ``+max``)."""
    return -widen_up(-np.asarray(y, dtype=np.float64), ulps)


# --- exact rationals to floats (import-time constants of mode="rigorous") ------------------


def rational_down(q: Fraction) -> float:
    """The largest float ``<= q`` for an exact rational ``q`` (``|q| < 2**1024``).

    ``float(Fraction)`` divides two Python ints, which CPython rounds correctly to nearest; one
    step down when that went above ``q`` (decided exactly in rational arithmetic)."""
    f = float(q)
    return f if Fraction(f) <= q else math.nextafter(f, -math.inf)


def rational_up(q: Fraction) -> float:
    """The smallest float ``>= q`` for an exact rational ``q`` (mirror of :func:`rational_down`)."""
    f = float(q)
    return f if Fraction(f) >= q else math.nextafter(f, math.inf)


# --- scaling by powers of two --------------------------------------------------------------


def _ldexp(m: np.ndarray, k: np.ndarray, upward: bool) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    k = np.asarray(k, dtype=np.int64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        y = np.ldexp(m, k)
        # ``m * 2**k`` is exact unless it overflows or lands in the subnormal range, where
        # ldexp rounds to nearest. Scaling back is exact for every y that can occur here
        # (|k| <= 2**11 keeps y * 2**-k finite and normal when y is subnormal), so y is exact
        # iff it scales back to m. An overflow (y = +-inf) never scales back: the step outward
        # turns +inf into +max for a lower bound (and -inf into -max for an upper one).
        exact = np.ldexp(y, -k) == m
    out = np.where(exact, y, next_up(y) if upward else next_down(y))
    # an underflow to 0 keeps the sign of m: the true value is strictly on m's side of 0
    if upward:
        return np.where(m < 0, np.minimum(out, -0.0), out)
    return np.where(m > 0, np.maximum(out, 0.0), out)


def ldexp_down(m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Lower bound of ``m * 2**k`` (``k`` integer-valued, ``|k| <= 2**11``): exact when
    representable, else one float below the rounded result (subnormal underflow, overflow)."""
    return _ldexp(m, k, upward=False)


def ldexp_up(m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Upper bound of ``m * 2**k`` (mirror of :func:`ldexp_down`)."""
    return _ldexp(m, k, upward=True)


# --- one-ulp directed rounding from an exact residual (mode="rigorous" kernels) ----------


def fast_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Exact error ``(a + b) - s`` of ``s = fl(a + b)`` when ``|a| >= |b|`` (Dekker's Fast2Sum:
    ``fl(s - a)`` and ``fl(b - fl(s - a))`` are both exact in binary round-to-nearest, with or
    without underflow, provided nothing overflows). Two array passes instead of TwoSum's six.
    ``out`` may alias ``s`` but not ``a`` or ``b``."""
    out = np.subtract(s, a, out=out)
    return np.subtract(b, out, out=out)


def directed_from_residual(
    y: np.ndarray, err: np.ndarray, bound: np.ndarray | float, upward: bool, out: np.ndarray | None = None
) -> np.ndarray:
    """A float bound (upper if ``upward``, else lower) of a real value ``v`` known through a
    positive normal float ``y``, the exact residual ``err = s - y`` of ``y = fl(s)`` (from
    :func:`fast_sum_error` or :func:`split_sum`), a bound ``|v - s| <= bound``, and the
    condition ``|v - s| <= 2**-54 y``. ``out`` (float64, may be ``err`` itself, not ``y``) takes
    the result without allocating.

    Lower bound: ``y`` if ``err >= bound`` (then ``v >= s - bound = y + err - bound >= y``),
    else the float below ``y``. Upper bound: ``y`` if ``err <= -bound``, else the float above.
    Why one float is enough: ``y`` is the nearest float to ``s``, so ``s >= y - g/2`` with ``g``
    the gap below ``y``; ``g >= 2**-53 y`` for every normal ``y`` (at a power of two the gap
    below is ``2**-53 y``, elsewhere larger), so ``v >= y - g/2 - |v - s| >= y - g``; the gap
    above is ``> 2**-53 y`` too. The step is exact: for ``y > 0`` adjacent floats have adjacent
    bit patterns (``max`` steps up to ``+inf``, still an upper bound). The decision uses the sign
    bit of ``fl(err - bound)`` (resp. ``fl(-err - bound)``), which round-to-nearest gets right
    (an exact tie gives ``+0``: keep, which is sound; a computed ``-0.0`` only makes the step
    conservative).
    Same-type integer passes only.
    """
    if upward:  # fl(-err - bound): the same float as fl(-bound - err), +0 on a tie (keep)
        d = np.negative(err, out=out)
        d -= bound
    else:
        d = np.subtract(err, bound, out=out)
    step = np.right_shift(d.view(np.int64), 63, out=d.view(np.int64))  # -1: step, 0: keep
    if upward:
        np.subtract(y.view(np.int64), step, out=step)
    else:
        step += y.view(np.int64)
    return step.view(np.float64)


def magnitude_from_residual(
    y: np.ndarray, err: np.ndarray, bound: np.ndarray | float, sign: np.ndarray, upward: bool,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """For an odd function: ``y``, ``err``, ``bound`` describe ``v = f(|x|) >= 0`` as in
    :func:`directed_from_residual`, and ``sign`` (int64) is ``-1`` where ``x < 0``, ``0``
    elsewhere. Returns the *magnitude* of a bound (upper if ``upward``) of ``f(x) = sign(x) v``:
    a bound of ``v`` in the same direction where ``x >= 0`` and in the opposite one where
    ``x < 0``. Negating ``err`` where ``v`` is bounded upward (its sign bit flipped, exact) turns
    the upward test ``err > -bound`` into the downward one; the step ``-1`` is then negated by
    ``(step ^ m) - m`` with ``m = -1`` exactly where the bound of ``v`` is upward. ``out``
    (float64, distinct from ``y``, ``err`` and ``sign``) takes the result without allocating."""
    flip = np.left_shift(sign, 63, out=None if out is None else out.view(np.int64))  # sign bit of x
    if upward:
        flip ^= np.int64(-(2**63))  # v bounded upward where x >= 0
    e = np.bitwise_xor(err.view(np.int64), flip, out=flip).view(np.float64)
    e -= bound
    step = np.right_shift(e.view(np.int64), 63, out=e.view(np.int64))  # -1: step, 0: keep
    step ^= sign
    step -= sign  # lower end: downward where x >= 0 (sign 0), upward where x < 0
    if upward:
        return np.subtract(y.view(np.int64), step, out=step).view(np.float64)
    step += y.view(np.int64)
    return step.view(np.float64)


def scale_pow2_exact(y: np.ndarray, k52: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``y * 2**k`` for ``k52 = k * 2**52`` (int64), by adding ``k`` to the exponent field.
    Exact, with no rounding at all, when ``y`` and ``y * 2**k`` are both positive normal floats
    (the caller proves that); anything else would be garbage, so callers never pass it."""
    return np.add(y.view(np.int64), k52, out=None if out is None else out.view(np.int64)).view(np.float64)


def gated_sum_error(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """A bound on the rounding error of ``fl(fl(p) + fl(q))`` relative to the exact
    ``p + q`` when ``p`` and ``q`` are each one correctly rounded product:
    ``|err| <= u|p| + u|q| + u|p + q| + 2 eta/2 <= 2u (|p| + |q|)(1 + u) + eta`` — we return
    ``(|p| + |q|) * 2**-51 + 3 eta`` computed from the float values (the (1 + u) slack of
    using the float ``|p|`` is absorbed by ``2**-51 = 4u > 2u (1 + u)^2``)."""
    with np.errstate(over="ignore"):
        e = np.abs(p)
        e += np.abs(q)
        e *= 2.0**-51
        e += 3 * ETA
    return e


# --- error models of the symbolic and linear methods ------------------------------------------

# Non-negative quantities computed with at most 16 roundings each are bounded above by
# multiplying by _SLACK (>= (1 + u)^17) and adding a few eta: see nonneg_up().
_SLACK = 1.0 + 2.0**-47


def nonneg_up(x: np.ndarray, k_eta: float) -> np.ndarray:
    """Upper bound of an exact non-negative quantity whose float evaluation ``x`` used at most
    16 roundings of non-negative terms (each relative error ≤ u, (1+u)^17 < 1 + 2^-47) and
    lost at most ``k_eta`` eta to underflow."""
    out = x * _SLACK
    out += (k_eta + 1.0) * ETA
    return out


def abs_sum_up(G: np.ndarray) -> np.ndarray:
    """Upper bound of ``Σ_j |G_ij|`` over the last axis: the float sum of k non-negative terms
    is within ``gamma_k`` of the exact one (Higham), so scale by ``1 + 2 gamma_k``."""
    k = G.shape[-1]
    s = np.abs(G).sum(axis=-1)
    if k > 1:
        s *= 1.0 + 2.0 * gamma(k)
    return s


def absdot_up(absA: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Upper bound of the exact ``Σ_j |A_ij| v_j`` for ``v >= 0``: ``absA`` (B, q, n) or
    (q, n) non-negative, ``v`` (B, n). A float sum of ``n`` non-negative products is at least
    ``(1 − γ_n)`` times the exact one, less ``n η`` for underflow; ``1 + 2γ_{n+1}`` covers the
    quotient and the final rounding. A zero coefficient against an infinite ``v`` counts 0; a
    nonzero one gives ``inf``."""
    n = v.shape[-1]
    finite = np.isfinite(v)
    if not finite.all():
        out = absdot_up(absA, np.where(finite, v, 0.0))
        hits = np.matmul(absA, (~finite).astype(np.float64)[..., None])[..., 0] > 0
        return np.where(hits, np.inf, out)
    with np.errstate(over="ignore"):
        s = np.matmul(absA, v[..., None])[..., 0]
        return step_up(s * (1.0 + 2.0 * gamma(n + 1)) + (n + 1) * ETA)


class UpperSum:
    """A sum of many terms accumulated in float and bounded once at the end (the constant of a
    backward pass of the linear method).

    ``const(c)``: a float term whose exact counterpart it approximates within what some
    ``error`` term covers, or an already rounded-up bound; ``error(e, n)``: a float sum of
    non-negative products of at most ``n`` terms, whose exact value is at most
    ``e (1 + 2γ_n) + n η``. The running sums of ``K`` terms are within ``γ_K`` of exact
    (Higham); :meth:`upper` adds every one of these slacks and rounds up once, instead of an
    outward step per term."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.c = np.zeros(shape)
        self.abs = np.zeros(shape)
        self.err = np.zeros(shape)
        self.k = 0
        self.n = 1

    def const(self, c: np.ndarray) -> None:
        self.c += c
        self.abs += np.abs(c)
        self.k += 1

    def error(self, e: np.ndarray, n: int) -> None:
        self.err += e
        self.k += 1
        self.n = max(self.n, n)

    def upper(self) -> np.ndarray:
        g_k, g_n = gamma(self.k + 2), gamma(self.n + 2)
        with np.errstate(over="ignore", invalid="ignore"):
            slack = self.abs * (g_k * (1.0 + g_k)) + self.err * ((1.0 + 2.0 * g_n) * (1.0 + 2.0 * g_k)) + (self.k + 1) * (self.n + 1) * ETA
            out = step_up(self.c + step_up(slack))
        return np.where(np.isnan(out), np.inf, out)
