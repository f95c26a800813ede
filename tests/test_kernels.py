"""Property tests of the (lo, hi) kernels, zero tolerance.

Random float intervals (every magnitude hypothesis can produce: 0, subnormals, 1e±300, ±max,
and unbounded ends), random members (ends, interior floats), and the exact result computed
with :class:`fractions.Fraction` (a float *is* an exact rational) — or with mpmath at 50 digits
for exp in softmax — must lie inside the kernel's output. Comparisons are exact.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mpmath import mpf

from lstm_symbolic.interval import kernels as K

MAX = float(np.finfo(np.float64).max)
INF = math.inf
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- exact comparisons --------------------------------------------------------------------


def le(f: float, q: Fraction) -> bool:
    """float ``f`` <= exact ``q`` (``-inf`` below everything, ``+inf`` above)."""
    if math.isnan(f):
        return False
    if math.isinf(f):
        return f < 0
    return Fraction(f) <= q


def ge(f: float, q: Fraction) -> bool:
    if math.isnan(f):
        return False
    if math.isinf(f):
        return f > 0
    return Fraction(f) >= q


def assert_encloses(lo: float, hi: float, q: Fraction, what: str) -> None:
    assert le(lo, q) and ge(hi, q), f"{what}: [{lo!r}, {hi!r}] misses the exact value {float(q)!r} ({q})"


# --- strategies ---------------------------------------------------------------------------

wide = st.floats(allow_nan=False, allow_infinity=False)  # every finite float, edge-biased
moderate = st.floats(-10.0, 10.0, allow_nan=False)
magnitudes = st.builds(
    lambda s, e, m: s * m * 10.0**e, st.sampled_from([-1.0, 1.0]), st.integers(-300, 300), st.floats(1.0, 9.999)
)
finite = st.one_of(wide, moderate, magnitudes, st.sampled_from([0.0, -0.0, 5e-324, -5e-324, MAX, -MAX, 1.0, -1.0]))


@st.composite
def intervals(draw, unbounded: bool = True, nonneg: bool = False):
    a, b = draw(finite), draw(finite)
    lo, hi = min(a, b), max(a, b)
    if nonneg:
        lo, hi = abs(lo), abs(hi)
        lo, hi = min(lo, hi), max(lo, hi)
    if unbounded:
        if not nonneg and draw(st.integers(0, 5)) == 0:
            lo = -INF
        if draw(st.integers(0, 5)) == 0:
            hi = INF
    return lo, hi


@st.composite
def member(draw, iv):
    """A finite float in [lo, hi]: an end (when finite) or an interior float."""
    lo, hi = iv
    choices = [x for x in (lo, hi) if math.isfinite(x)]
    if choices and draw(st.booleans()):
        return draw(st.sampled_from(choices))
    x = draw(st.floats(min_value=None if lo == -INF else lo, max_value=None if hi == INF else hi, allow_nan=False, allow_infinity=False))
    return x + 0.0  # -0.0 -> 0.0 is harmless (same rational)


def arr(x: float) -> np.ndarray:
    return np.array([x], dtype=np.float64)


def run(kernel, *ends) -> tuple[float, float]:
    # values only: floating-point warnings of kernels are checked by test_no_warnings_on_valid_input
    with np.errstate(all="ignore"):
        lo, hi = kernel(*(arr(e) for e in ends))
    lo, hi = float(np.asarray(lo).reshape(-1)[0]), float(np.asarray(hi).reshape(-1)[0])
    assert not (math.isnan(lo) or math.isnan(hi)), f"NaN end from {kernel.__name__}{ends}"
    assert lo <= hi, f"{kernel.__name__}{ends}: lo {lo!r} > hi {hi!r}"
    return lo, hi


# --- add, sub, mul ------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_add_sub_enclose(data) -> None:
    a, b = data.draw(intervals()), data.draw(intervals())
    x, y = data.draw(member(a)), data.draw(member(b))
    q = Fraction(x) + Fraction(y)
    assert_encloses(*run(K.add, *a, *b), q, f"add {a} + {b} at {x!r}, {y!r}")
    assert_encloses(*run(K.sub, *a, *b), Fraction(x) - Fraction(y), f"sub {a} - {b} at {x!r}, {y!r}")


@SETTINGS
@given(st.data())
def test_mul_encloses(data) -> None:
    a, b = data.draw(intervals()), data.draw(intervals())
    x, y = data.draw(member(a)), data.draw(member(b))
    assert_encloses(*run(K.mul, *a, *b), Fraction(x) * Fraction(y), f"mul {a} * {b} at {x!r}, {y!r}")


@SETTINGS
@given(st.data())
def test_add_outward_encloses(data) -> None:
    if not hasattr(K, "add_outward"):
        pytest.skip("kernels.add_outward not present in this version")
    a, b = data.draw(intervals()), data.draw(intervals())
    x, y = data.draw(member(a)), data.draw(member(b))
    assert_encloses(*run(K.add_outward, *a, *b), Fraction(x) + Fraction(y), f"add_outward {a} + {b}")


def test_exact_results_stay_exact() -> None:
    """Tightness sanity: exactly representable sums and products are returned as points."""
    assert run(K.add, 1.0, 1.0, 1.0, 1.0) == (2.0, 2.0)
    assert run(K.mul, 3.0, 3.0, -0.5, -0.5) == (-1.5, -1.5)
    lo, hi = run(K.add, 0.1, 0.1, 0.2, 0.2)  # 0.1 + 0.2 is inexact: one ulp apart at most
    assert hi == np.nextafter(lo, INF)


# --- mul_nonneg (gate times signal) --------------------------------------------------------


@SETTINGS
@given(st.data())
def test_mul_nonneg_encloses_bounded(data) -> None:
    """Gate g >= 0 (typically within [0, 1], also larger), signal v any finite interval."""
    g = data.draw(st.one_of(intervals(unbounded=False, nonneg=True), st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted).map(tuple)))
    v = data.draw(intervals(unbounded=False))
    x, y = data.draw(member(g)), data.draw(member(v))
    assert_encloses(*run(K.mul_nonneg, *g, *v), Fraction(x) * Fraction(y), f"mul_nonneg {g} * {v} at {x!r}, {y!r}")


@pytest.mark.parametrize(
    "g, v",
    [
        ((0.0, 0.5), (-INF, 1.0)),
        ((0.0, 0.5), (-1.0, INF)),
        ((0.0, 0.0), (-INF, INF)),
        ((0.25, 1.0), (-INF, INF)),
    ],
)
def test_mul_nonneg_unbounded_signal(g, v) -> None:
    """Unbounded signal ends are valid Intervals; 0 * inf must not poison the result
    (members: the finite points 0, ±1, ±1e300)."""
    with np.errstate(all="ignore"):  # the property under test is the value, not warnings
        lo, hi = K.mul_nonneg(arr(g[0]), arr(g[1]), arr(v[0]), arr(v[1]))
    lo, hi = float(lo[0]), float(hi[0])
    for x in (g[0], g[1]):
        for y in (0.0, 1.0, -1.0, 1e300, -1e300):
            if v[0] <= y <= v[1]:
                assert_encloses(lo, hi, Fraction(x) * Fraction(y), f"mul_nonneg {g} * {v} at {x}, {y}")


@SETTINGS
@given(st.data())
def test_gated_sum_encloses(data) -> None:
    if not hasattr(K, "gated_sum"):
        pytest.skip("kernels.gated_sum not present in this version")
    unit = st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted).map(tuple)
    g1, g2 = data.draw(unit), data.draw(unit)
    v1, v2 = data.draw(intervals(unbounded=False)), data.draw(intervals(unbounded=False))
    xs = [data.draw(member(i)) for i in (g1, v1, g2, v2)]
    q = Fraction(xs[0]) * Fraction(xs[1]) + Fraction(xs[2]) * Fraction(xs[3])
    pairs = [(arr(a), arr(b)) for a, b in (g1, v1, g2, v2)]
    with np.errstate(all="ignore"):
        lo, hi = K.gated_sum(*pairs)
    lo, hi = float(lo[0]), float(hi[0])
    assert not (math.isnan(lo) or math.isnan(hi)) and lo <= hi
    assert_encloses(lo, hi, q, f"gated_sum {g1}*{v1} + {g2}*{v2} at {xs}")


# --- matmul --------------------------------------------------------------------------------


def exact_dot(w: np.ndarray, x: np.ndarray) -> Fraction:
    return sum((Fraction(float(a)) * Fraction(float(b)) for a, b in zip(w, x)), Fraction(0))


def _values(rng: np.random.Generator, shape: tuple[int, ...], regime: str) -> np.ndarray:
    n = int(np.prod(shape))
    if regime == "normal":
        v = rng.normal(size=n)
    elif regime == "mixed":  # magnitudes 1e-300 .. 1e300 side by side
        v = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n)
    elif regime == "huge":  # products near the overflow threshold, partial sums overflow
        v = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(150, 154, n)
    elif regime == "tiny":  # products underflow into the subnormals
        v = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-170, -150, n)
    elif regime == "integers":  # exact float arithmetic, many exact cancellations
        v = rng.integers(-3, 4, n).astype(np.float64)
    else:  # pragma: no cover
        raise AssertionError(regime)
    return v.reshape(shape)


@FEW
@given(
    n=st.integers(1, 300),
    m=st.integers(1, 4),
    w_regime=st.sampled_from(["normal", "mixed", "huge", "tiny", "integers"]),
    x_regime=st.sampled_from(["normal", "mixed", "huge", "tiny", "integers"]),
    radius=st.sampled_from([0.0, 1e-300, 1e-12, 0.5, 1e10]),
    cancel=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_encloses(n, m, w_regime, x_regime, radius, cancel, seed) -> None:
    rng = np.random.default_rng(seed)
    W = _values(rng, (m, n), w_regime)
    c = _values(rng, (n,), x_regime)
    if cancel and n >= 2:  # W[i] . c sums to (nearly) zero: pairs w, -w against equal x
        half = n // 2
        W[:, half : 2 * half] = -W[:, :half]
        c[half : 2 * half] = c[:half]
    with np.errstate(over="ignore", invalid="ignore"):  # the test's own arithmetic
        r = np.abs(c) * radius
        lo, hi = c - r, c + r
    lo = np.where(np.isfinite(lo), lo, c)
    hi = np.where(np.isfinite(hi), hi, c)
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    with np.errstate(all="ignore"):
        out_lo, out_hi = K.matmul(W, lo, hi)
    assert out_lo.shape == (m,) and not np.isnan(out_lo).any() and not np.isnan(out_hi).any()
    u = rng.random(n)
    inner = np.clip(lo * (1.0 - u) + hi * u, lo, hi)  # no overflow: a convex combination
    members = [lo, hi, c, np.where(rng.random(n) < 0.5, lo, hi), inner]
    for x in members:
        for i in range(m):
            assert_encloses(float(out_lo[i]), float(out_hi[i]), exact_dot(W[i], x), f"matmul row {i} ({w_regime}/{x_regime}, n={n})")


def test_matmul_batched_matches_rows() -> None:
    """Leading batch axes: each batch row gets the same enclosure as alone."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 7))
    lo = rng.normal(size=(5, 7))
    hi = lo + rng.random((5, 7))
    blo, bhi = K.matmul(W, lo, hi)
    for b in range(5):
        slo, shi = K.matmul(W, lo[b], hi[b])
        for x in (lo[b], hi[b]):
            for i in range(3):
                q = exact_dot(W[i], x)
                assert_encloses(float(blo[b, i]), float(bhi[b, i]), q, "batched matmul")


ADVERSARIAL = [
    # partial sums overflow although the exact result is finite
    ("overflowing partial sums", [[1.0, 1.0, -1.0]], [0.75 * MAX] * 3),
    ("overflowing partial sums, reversed", [[-1.0, 1.0, 1.0]], [0.75 * MAX] * 3),
    ("huge cancellation", [[1e300, -1e300, 1e-300]], [1.0, 1.0, 1.0]),
    ("max times one", [[1.0, -1.0]], [MAX, MAX]),
    ("underflowing products", [[1e-300, 1e-300, -1e-300]], [1e-20, 3e-24, 1e-20]),
    ("subnormal results", [[5e-324, 5e-324]], [0.5, 0.5]),
    ("exact zero", [[0.0, 0.0]], [MAX, -MAX]),
]


@pytest.mark.parametrize("label, W, x", ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_matmul_adversarial(label, W, x) -> None:
    W = np.array(W, dtype=np.float64)
    x = np.array(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        lo, hi = K.matmul(W, x, x)
    assert not np.isnan(lo).any() and not np.isnan(hi).any()
    for i in range(W.shape[0]):
        assert_encloses(float(lo[i]), float(hi[i]), exact_dot(W[i], x), label)


# --- sum_bounds ----------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_sum_bounds_encloses(data) -> None:
    k = data.draw(st.integers(1, 12))
    ivs = [data.draw(intervals(unbounded=False)) for _ in range(k)]
    lo = np.array([a for a, _ in ivs])
    hi = np.array([b for _, b in ivs])
    xs = [data.draw(member(iv)) for iv in ivs]
    with np.errstate(all="ignore"):
        slo, shi = K.sum_bounds(lo, hi)
    slo, shi = float(slo), float(shi)
    assert not (math.isnan(slo) or math.isnan(shi)) and slo <= shi
    assert_encloses(slo, shi, sum((Fraction(x) for x in xs), Fraction(0)), f"sum_bounds {ivs} at {xs}")


def test_sum_bounds_overflowing_partial_sums() -> None:
    """[max, max, -max, -max/2] sums exactly to max/2; float partial sums overflow."""
    v = np.array([MAX, MAX, -MAX, -0.5 * MAX])
    with np.errstate(all="ignore"):
        slo, shi = K.sum_bounds(v, v)
    assert_encloses(float(slo), float(shi), sum((Fraction(float(x)) for x in v), Fraction(0)), "sum_bounds overflow")


# --- softmax through differences ---------------------------------------------------------------


def _mp_softmax_entry(row: list[float]) -> mpf:
    """y_k = 1 / Σ_j exp(d_kj) for one row of differences (floats, exact inputs), 50 digits."""
    return 1 / mpmath.fsum(mpmath.exp(mpf(d)) for d in row)


@FEW
@given(
    n_y=st.integers(2, 6),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 800.0, 1e5]),
    width=st.sampled_from([0.0, 1e-12, 0.1, 5.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_from_differences_encloses(n_y, scale, width, seed) -> None:
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_y, n_y)) * scale
    np.fill_diagonal(d, 0.0)
    dlo, dhi = d - width * rng.random((n_y, n_y)), d + width * rng.random((n_y, n_y))
    np.fill_diagonal(dlo, 0.0)
    np.fill_diagonal(dhi, 0.0)
    with np.errstate(all="ignore"):
        ylo, yhi = K.softmax_from_differences(dlo, dhi)
    assert ylo.shape == (n_y,) and (0 <= ylo).all() and (ylo <= yhi).all() and (yhi <= 1).all()
    with mpmath.workdps(50):
        for member in (dlo, dhi, d, np.where(rng.random((n_y, n_y)) < 0.5, dlo, dhi)):
            for k in range(n_y):
                v = _mp_softmax_entry(member[k].tolist())
                assert v >= float(ylo[k]) and v <= float(yhi[k]), f"y_{k}: [{ylo[k]!r}, {yhi[k]!r}] misses {v}"


def test_difference_rows_are_exact() -> None:
    """D_hi + D_lo == W_y[j] − W_y[k] exactly (TwoSum split), bias differences enclosed."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(4, 5)) * 10.0 ** rng.integers(-20, 20, size=(4, 5))
    b = rng.normal(size=4) * 10.0 ** rng.integers(-20, 20, size=4)
    D_hi, D_lo, (bd_lo, bd_hi) = K.difference_rows(W, b)
    for k in range(4):
        for j in range(4):
            row = k * 4 + j
            for i in range(5):
                assert Fraction(float(D_hi[row, i])) + Fraction(float(D_lo[row, i])) == Fraction(float(W[j, i])) - Fraction(float(W[k, i]))
            assert_encloses(float(bd_lo[row]), float(bd_hi[row]), Fraction(float(b[j])) - Fraction(float(b[k])), "bias difference")


def test_softmax_checker_can_fail() -> None:
    """The softmax check is not vacuous: a bound one ulp too tight is rejected."""
    with mpmath.workdps(50):
        v = _mp_softmax_entry([0.0, 0.3, -1.2])
        f = float(v)
        assert not (v >= float(np.nextafter(f, INF)) and v <= float(np.nextafter(f, INF)))


# --- warnings ----------------------------------------------------------------------------------

WARNING_CASES = [
    ("add", lambda: K.add(arr(MAX), arr(MAX), arr(MAX), arr(MAX))),
    ("mul", lambda: K.mul(arr(1e300), arr(1e300), arr(1e300), arr(1e300))),
    ("mul underflow", lambda: K.mul(arr(1e-300), arr(1e-300), arr(1e-300), arr(1e-300))),
    ("mul_nonneg", lambda: K.mul_nonneg(arr(0.5), arr(1e300), arr(-1e300), arr(1e300))),
    ("matmul", lambda: K.matmul(np.array([[1e200, 1e200]]), arr(1e200).repeat(2), arr(1e200).repeat(2))),
    ("matmul underflow", lambda: K.matmul(np.array([[1e-200, 1e-200]]), arr(1e-200).repeat(2), arr(1e-200).repeat(2))),
    ("sum_bounds", lambda: K.sum_bounds(np.array([MAX, MAX]), np.array([MAX, MAX]))),
    ("softmax", lambda: K.softmax_from_differences(np.array([[0.0, 800.0], [-900.0, 0.0]]), np.array([[0.0, 900.0], [-800.0, 0.0]]))),
    ("exp", lambda: K.exp(arr(-1e300), arr(1e300))),
    ("sigmoid", lambda: K.sigmoid(arr(-1e300), arr(1e300))),
    ("tanh", lambda: K.tanh(arr(-1e300), arr(1e300))),
]


@pytest.mark.parametrize("label, call", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_no_warnings_on_valid_input(label, call) -> None:
    """Valid (finite, huge or tiny) operands must not raise numpy floating-point warnings: under
    ``filterwarnings = error`` (ours, and many users') a warning is a crash, and overflow or
    underflow is an expected regime that the kernels handle."""
    lo, hi = call()  # pytest turns any RuntimeWarning into an error here
    assert not np.isnan(np.asarray(lo)).any() and not np.isnan(np.asarray(hi)).any()


@FEW
@given(
    n_y=st.integers(2, 8),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 800.0, 1e5]),
    width=st.sampled_from([0.0, 1e-12, 0.1, 5.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_from_logits_encloses(n_y, scale, width, seed) -> None:
    """The O(n_y) large-vocabulary softmax bound contains softmax(z) for members z of the logit
    box, exactly (mpmath, 50 digits), including the box's corners."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_y) * scale
    zlo, zhi = z - width * rng.random(n_y), z + width * rng.random(n_y)
    with np.errstate(all="ignore"):
        ylo, yhi = K.softmax_from_logits(zlo, zhi)
    assert ylo.shape == (n_y,) and (0 <= ylo).all() and (ylo <= yhi).all() and (yhi <= 1).all()
    with mpmath.workdps(50):
        for member in (zlo, zhi, z, np.where(rng.random(n_y) < 0.5, zlo, zhi)):
            for k in range(n_y):
                zk = mpf(float(member[k]))  # differences in mpmath: a float subtraction would round
                v = 1 / mpmath.fsum(mpmath.exp(mpf(m) - zk) for m in member.tolist())
                assert v >= float(ylo[k]) and v <= float(yhi[k]), f"y_{k}: [{ylo[k]!r}, {yhi[k]!r}] misses {v}"
