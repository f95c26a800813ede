"""exp, sigmoid, tanh (mode "fast"): the enclosures contain the mpmath value, everywhere.

Points cover the whole float64 range — 0, ±subnormals, tiny, moderate, huge, ±max — and the
edges where float results saturate (σ and tanh rounding to exactly 0, ±1, ½; exp overflowing,
going subnormal, underflowing to 0), densely: single-ulp neighbourhoods and ±1 around each.

Containment is decided exactly: the mpmath value ``v`` is computed at 50 digits and a float
bound ``b`` is accepted only when ``b <= v`` (or ``>=``) holds with a margin far above mpmath's
own error (``|v| 2**-(prec-20)``); an undecided comparison is redone at 120 and then 400 digits
(Ziv's strategy), which separates e.g. ``exp(2**-1074) = 1 + 2**-1074`` from 1. What remains
undecided at 400 digits is an exact tie (σ(0) = ½, tanh(0) = 0, exp(0) = 1) and is compared
directly.

We also measure the largest error, in ulps of the true value, of the raw float values the
kernels widen (numpy's exp and tanh, the library's composite sigmoid) and assert it is within
``ULP_BUDGET`` — the budget's justification is a claim, this is its test.

Default run: > 100k points in total (a few seconds). ``-m slow``: > 10**6 points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np
import pytest
from mpmath import mpf

import lstm_symbolic as ls
from lstm_symbolic.interval import kernels as K
from lstm_symbolic.interval.rounding import ULP_BUDGET

FUNCS = ("exp", "sigmoid", "tanh")
MAX = float(np.finfo(np.float64).max)
TINY = 2.0**-1022
ETA = 2.0**-1074
DPS_LADDER = (50, 120, 400)


# --- the functions, three ways: interval enclosure, raw float value, mpmath value -------------


def _raw(name: str, x: np.ndarray) -> np.ndarray:
    """The float values the fast kernels widen (what ULP_BUDGET is about)."""
    with np.errstate(over="ignore", under="ignore"):
        if name == "exp":
            return K._libm_exp(x)
        if name == "sigmoid":
            return K._libm_sigmoid(x)
        return np.tanh(x)


def _enclosure(name: str, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    f = {"exp": ls.exp, "sigmoid": ls.sigmoid, "tanh": ls.tanh}[name]
    r = f(ls.Interval(lo, hi), mode=mode)
    return r.lo, r.hi


def _mp(name: str, x: mpf) -> mpf:
    if name == "exp":
        return mpmath.exp(x)
    if name == "tanh":
        return mpmath.tanh(x)
    if x >= 0:
        return 1 / (1 + mpmath.exp(-x))
    e = mpmath.exp(x)
    return e / (1 + e)


def _decided(b: float, v: mpf, below: bool, prec: int) -> bool | None:
    """Is ``b <= v`` (below) / ``b >= v`` certain, certainly false, or undecided at ``prec``?"""
    d = v - b  # mpf - float: the float converts exactly
    margin = abs(v) * mpf(2) ** (20 - prec) if v != 0 else mpf(0)
    if not below:
        d = -d
    if d > margin:
        return True
    if d < -margin:
        return False
    return None


#: Open ranges of the functions over finite arguments: exp > 0, 0 < σ < 1, −1 < tanh < 1.
RANGES = {"exp": (0.0, np.inf), "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def _holds(name: str, x: float, b: float, below: bool, v50: mpf) -> bool:
    """Exact decision of ``b <= f(x)`` (below) or ``b >= f(x)``, escalating precision."""
    inf_, sup_ = RANGES[name]
    if b == sup_:  # f(x) < sup for every finite x: decided without any evaluation
        return not below
    if b == inf_:  # f(x) > inf
        return below
    v = v50
    for i, dps in enumerate(DPS_LADDER):
        if i:
            with mpmath.workdps(dps):
                v = _mp(name, mpf(x))
        with mpmath.workdps(dps):
            r = _decided(b, v, below, mpmath.mp.prec)
        if r is not None:
            return r
    # still tied at 400 digits: an exact value (f(0)); compare directly
    return (b <= v) if below else (b >= v)


def _raw_claimed(name: str, x: np.ndarray) -> np.ndarray:
    """Where the raw value is claimed accurate to ULP_BUDGET: everywhere for exp and tanh; for
    σ wherever ``e^{-x}`` is finite (the kernel's docstring: below that the raw value is 0 and
    is used only as a lower end, upper ends being evaluated at a clamped argument)."""
    if name == "sigmoid":
        with np.errstate(over="ignore"):
            return np.isfinite(np.exp(-x))
    return np.ones(x.shape, dtype=bool)


def _ulps(y: float, v: mpf) -> float:
    """|y - v| in ulps of the true value v (subnormal ulp = 2**-1074); NaN when not measurable
    (v beyond the float range, or y infinite)."""
    if not np.isfinite(y) or abs(v) > MAX:  # also NaN: raw value not claimed here
        return float("nan")
    if v == 0:
        return 0.0 if y == 0 else float("inf")
    _, e = mpmath.frexp(v)  # v = m 2**e, 1/2 <= |m| < 1: binade exponent e - 1
    ulp = mpmath.ldexp(mpf(1), max(int(e) - 1, -1022) - 52)
    return float(abs(mpf(y) - v) / ulp)


@dataclass
class Report:
    name: str
    points: int = 0
    failures: list[str] = field(default_factory=list)
    max_ulps: float = 0.0
    worst_x: float = float("nan")
    worst_raw: float = float("nan")


def check_points(name: str, xs: np.ndarray, report: Report, mode: str = "fast") -> Report:
    """Containment of f(x) in the enclosure of [x, x] for every float ``x`` of ``xs`` (finite),
    and the raw value's ulp error."""
    xs = np.asarray(xs, dtype=np.float64)
    assert np.isfinite(xs).all()
    lo, hi = _enclosure(name, xs, xs, mode)
    raw = np.where(_raw_claimed(name, xs), _raw(name, xs), np.nan)
    report.points += xs.size
    with mpmath.workdps(DPS_LADDER[0]):
        rel = mpf(2) ** (20 - mpmath.mp.prec)  # far above mpmath's own error at this precision
        for x, l_, h_, y in zip(xs.tolist(), lo.tolist(), hi.tolist(), raw.tolist()):
            v = _mp(name, mpf(x))
            # fast path: v's uncertainty interval [v - m, v + m] clear of the bound (exact
            # mpf-vs-float comparisons, mpf on the left); otherwise escalate (_holds)
            m = abs(v) * rel
            ok_lo = (v - m >= l_) or _holds(name, x, l_, True, v)
            ok_hi = (v + m <= h_) or _holds(name, x, h_, False, v)
            if not (ok_lo and ok_hi) or not (l_ <= h_):
                if len(report.failures) < 20:
                    report.failures.append(f"{name}({x!r} = {x.hex()}): [{l_!r}, {h_!r}] misses {mpmath.nstr(v, 25)}")
                else:
                    report.failures.append("")
            u = _ulps(y, v)
            if u > report.max_ulps:
                report.max_ulps, report.worst_x, report.worst_raw = u, x, y
    return report


# --- point sets --------------------------------------------------------------------------------


def _monotone_key(x: np.ndarray) -> np.ndarray:
    """Map floats to integers preserving order (for bisection and ulp neighbourhoods)."""
    i = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(i < 0, np.int64(-(2**63)) - i, i)


def _from_key(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.int64)
    i = np.where(k < 0, np.int64(-(2**63)) - k, k)
    return i.view(np.float64)


def _first_where(pred, a: float, b: float) -> float:
    """Smallest float x in [a, b] with pred(x) true, pred monotone false -> true on [a, b]."""
    ka, kb = int(_monotone_key(np.array(a))), int(_monotone_key(np.array(b)))
    assert not pred(a) and pred(b), (a, b)
    while kb - ka > 1:
        km = (ka + kb) // 2
        if pred(float(_from_key(np.array(km)))):
            kb = km
        else:
            ka = km
    return float(_from_key(np.array(kb)))


def saturation_edges(name: str) -> list[float]:
    """Arguments where the float function changes regime (computed, not typed in)."""
    f = lambda x: float(_raw(name, np.array([x]))[0])  # noqa: E731
    if name == "exp":
        return [
            _first_where(lambda x: f(x) == np.inf, 700.0, 710.0),  # overflow
            _first_where(lambda x: f(x) >= TINY, -800.0, -1.0),  # leaves the subnormals
            _first_where(lambda x: f(x) > 0, -800.0, -1.0),  # first nonzero result
            _first_where(lambda x: f(x) > 1.0, 0.0, 1e-10),  # exp(x) rounds above 1
            -_first_where(lambda x: f(-x) < 1.0, 0.0, 1e-10),  # ... and below 1
        ]
    if name == "sigmoid":
        return [
            _first_where(lambda x: f(x) == 1.0, 1.0, 100.0),  # rounds to exactly 1
            _first_where(lambda x: f(x) > 0, -800.0, -1.0),  # first nonzero
            _first_where(lambda x: f(x) >= TINY, -800.0, -1.0),  # leaves the subnormals
            _first_where(lambda x: f(x) > 0.5, 0.0, 1e-10),  # leaves 1/2 upwards
            -_first_where(lambda x: f(-x) < 0.5, 0.0, 1e-10),  # ... downwards
        ]
    e1 = _first_where(lambda x: f(x) == 1.0, 1.0, 100.0)
    e0 = _first_where(lambda x: f(x) != x, 1e-20, 1e-2)  # tanh(x) stops rounding to x
    return [e1, -e1, e0, -e0, _first_where(lambda x: f(x) > 0, 0.0, 1e-300)]


def random_bit_patterns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform over the finite float64 bit patterns: every binade, subnormals, both signs."""
    bits = rng.integers(0, 2**63 - 2**52, size=n, dtype=np.int64)  # below the inf/NaN exponent
    x = bits.view(np.float64)
    return np.where(rng.random(n) < 0.5, -x, x)


def point_set(name: str, rng: np.random.Generator, scale: int) -> np.ndarray:
    """About ``35 * scale`` thousand points for ``name``."""
    k = 1000 * scale
    parts = [
        np.array([0.0, -0.0, ETA, -ETA, TINY, -TINY, TINY - ETA, -(TINY - ETA), MAX, -MAX, 1.0, -1.0]),
        random_bit_patterns(rng, 10 * k),
        rng.uniform(-50.0, 50.0, 8 * k),  # where the functions live
        rng.uniform(-800.0, 800.0, 2 * k),
        rng.uniform(-750.0, -700.0, k),  # exp's and σ's subnormal / underflow region
        np.exp(rng.uniform(np.log(1e-30), np.log(1e3), 4 * k)) * np.where(rng.random(4 * k) < 0.5, -1.0, 1.0),
        # subnormal arguments, and tiny normals
        (rng.integers(1, 2**52, size=k, dtype=np.int64).view(np.float64)) * np.where(rng.random(k) < 0.5, -1.0, 1.0),
    ]
    edges = saturation_edges(name)
    per_edge = (11 * k) // len(edges)
    for e in edges:
        key = _monotone_key(np.array(e))
        near = _from_key(key + rng.integers(-3000, 3001, size=per_edge // 2))  # single ulps
        wide = e + rng.uniform(-1.0, 1.0, per_edge - per_edge // 2) * max(abs(e), 1e-300)
        parts += [near, wide]
    xs = np.concatenate(parts)
    return xs[np.isfinite(xs)]


# --- tests -----------------------------------------------------------------------------------


def _run(name: str, scale: int, seed: int, mode: str = "fast", stride: int = 1) -> Report:
    rng = np.random.default_rng(seed)
    return check_points(name, point_set(name, rng, scale)[::stride], Report(name), mode)


def _assert_report(r: Report) -> None:
    print(
        f"\n{r.name}: {r.points} points, largest raw error {r.max_ulps:.4f} ulp "
        f"at x = {r.worst_x!r} (raw {r.worst_raw!r}); budget {ULP_BUDGET[r.name]} ulp"
    )
    assert not r.failures, f"{len(r.failures)} enclosure(s) miss the mpmath value:\n" + "\n".join(f for f in r.failures if f)
    assert r.max_ulps <= ULP_BUDGET[r.name], (
        f"{r.name}: raw float value off by {r.max_ulps} ulp at x = {r.worst_x!r} — above ULP_BUDGET "
        f"{ULP_BUDGET[r.name]}: the fast enclosure's justification fails"
    )


@pytest.mark.parametrize("name", FUNCS)
def test_fast_enclosure_contains_mpmath_value(name: str) -> None:
    r = _run(name, scale=1, seed=1788 + FUNCS.index(name))
    assert r.points >= 34_000
    _assert_report(r)


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNCS)
def test_fast_enclosure_contains_mpmath_value_million(name: str) -> None:
    r = _run(name, scale=10, seed=2024 + FUNCS.index(name))
    assert r.points >= 340_000  # x3 functions: > 10**6 points in total
    _assert_report(r)


@pytest.mark.parametrize("name", FUNCS)
def test_rigorous_enclosure_contains_mpmath_value(name: str) -> None:
    """mode="rigorous" (no libm trusted) on every third point of the same sets."""
    r = _run(name, scale=1, seed=1788 + FUNCS.index(name), mode="rigorous", stride=3)
    assert r.points >= 11_000
    assert not r.failures, f"{len(r.failures)} rigorous enclosure(s) miss the mpmath value:\n" + "\n".join(f for f in r.failures if f)


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNCS)
def test_rigorous_enclosure_contains_mpmath_value_many(name: str) -> None:
    r = _run(name, scale=4, seed=4048 + FUNCS.index(name), mode="rigorous")
    assert not r.failures, f"{len(r.failures)} rigorous enclosure(s) miss the mpmath value:\n" + "\n".join(f for f in r.failures if f)


@pytest.mark.parametrize("mode", ["fast", "rigorous"])
@pytest.mark.parametrize("name", FUNCS)
def test_wide_intervals_contain_both_ends(name: str, mode: str) -> None:
    """Monotone functions are evaluated at the endpoints: a random [lo, hi] must contain f at
    both ends (and, by monotonicity, in between; spot-checked at a random inner point)."""
    rng = np.random.default_rng(7)
    a = np.concatenate([rng.uniform(-60, 60, 300), random_bit_patterns(rng, 300)])
    b = np.concatenate([rng.uniform(-60, 60, 300), random_bit_patterns(rng, 300)])
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    ylo, yhi = _enclosure(name, lo, hi, mode)
    u = rng.random(lo.size)
    mid = np.clip(lo * (1.0 - u) + hi * u, lo, hi)
    with mpmath.workdps(50):
        for l_, h_, m_, yl, yh in zip(lo.tolist(), hi.tolist(), mid.tolist(), ylo.tolist(), yhi.tolist()):
            for x in (l_, h_, m_):
                v = _mp(name, mpf(x))
                assert _holds(name, x, yl, True, v) and _holds(name, x, yh, False, v), (name, l_, h_, x, yl, yh)


# limits over unbounded intervals: (function, interval, inf of f over it, sup of f over it)
UNBOUNDED = [
    ("exp", (-np.inf, 0.0), 0, 1),
    ("exp", (-np.inf, -800.0), 0, "f(hi)"),
    ("exp", (-np.inf, 709.0), 0, "f(hi)"),
    ("exp", (0.0, np.inf), 1, np.inf),
    ("exp", (-3.5, np.inf), "f(lo)", np.inf),
    ("exp", (-np.inf, np.inf), 0, np.inf),
    ("sigmoid", (-np.inf, np.inf), 0, 1),
    ("sigmoid", (-np.inf, -40.0), 0, "f(hi)"),
    ("sigmoid", (40.0, np.inf), "f(lo)", 1),
    ("sigmoid", (-np.inf, 0.0), 0, 0.5),
    ("tanh", (-np.inf, np.inf), -1, 1),
    ("tanh", (-np.inf, -20.0), -1, "f(hi)"),
    ("tanh", (19.0, np.inf), "f(lo)", 1),
    ("tanh", (0.0, np.inf), 0, 1),
]


@pytest.mark.parametrize("mode", ["fast", "rigorous"])
@pytest.mark.parametrize("name, bounds, inf_, sup_", UNBOUNDED)
def test_unbounded_arguments(name: str, bounds: tuple[float, float], inf_, sup_, mode: str) -> None:
    """±inf ends: the enclosure must reach the function's limits (inf/sup over the interval)."""
    ylo, yhi = (float(v) for v in _enclosure(name, np.array(bounds[0]), np.array(bounds[1]), mode))
    with mpmath.workdps(50):
        want_lo = _mp(name, mpf(bounds[0])) if inf_ == "f(lo)" else mpf(inf_)
        want_hi = _mp(name, mpf(bounds[1])) if sup_ == "f(hi)" else (mpmath.inf if sup_ == np.inf else mpf(sup_))
        assert ylo <= want_lo, (name, bounds, ylo, want_lo)
        assert yhi >= want_hi, (name, bounds, yhi, want_hi)
    assert not np.isnan(ylo) and not np.isnan(yhi) and ylo <= yhi


def test_checker_detects_a_wrong_enclosure() -> None:
    """The checker itself must be able to fail: a one-ulp-too-tight bound is caught, at a tie
    (exp(2**-1074) = 1 + 2**-1074 against the bound 1.0) and away from it."""
    with mpmath.workdps(50):
        v = _mp("exp", mpf(ETA))
        assert not _holds("exp", ETA, 1.0, False, v)  # 1.0 is below the true value
        assert _holds("exp", ETA, 1.0, True, v)
        x = 0.75
        y = float(np.exp(x))
        v = _mp("exp", mpf(x))
        above, below = float(np.nextafter(y, np.inf)), float(np.nextafter(y, -np.inf))
        assert _holds("exp", x, above, False, v) and _holds("exp", x, below, True, v)
        assert not (_holds("exp", x, above, True, v) and _holds("exp", x, below, False, v))
        assert _ulps(y, v) < 1.0 and _ulps(float(np.nextafter(above, np.inf)), v) > 1.0


@pytest.mark.parametrize("name", FUNCS)
def test_scalar_intervals(name: str) -> None:
    """0-d Intervals (``ls.Interval(0.5, 1.0)``) work like arrays and contain the true values."""
    f = {"exp": ls.exp, "sigmoid": ls.sigmoid, "tanh": ls.tanh}[name]
    r = f(ls.Interval(0.5, 1.0))
    assert r.shape == ()
    with mpmath.workdps(50):
        assert _holds(name, 0.5, float(r.lo), True, _mp(name, mpf(0.5)))
        assert _holds(name, 1.0, float(r.hi), False, _mp(name, mpf(1.0)))
