"""``mode="rigorous"`` elementary functions: containment against mpmath at 50 digits (zero
tolerance), measured tightness in ulps, IEEE 1788 conformance, the import-time constants
recomputed independently, the new rounding helpers, and a live check of the |r| <= RHO guard.

Points (~20k per function) mix zero, subnormals, tiny, moderate and huge arguments, the
overflow/underflow edges of exp and the saturation of sigmoid/tanh, and +-inf. mpmath's value
at 50 digits is compared *exactly* with the float endpoints (``mp.mpf(float)`` is exact); the
only exactly representable values (exp 0, sigmoid 0, tanh 0) are exact in mpmath too, and a
transcendental value within 10^-50 relative of a float endpoint would need a ~110-bit
coincidence.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_symbolic.interval import kernels as K
from lstm_symbolic.interval import rigorous as G
from lstm_symbolic.interval import rounding as R

MAX = np.finfo(np.float64).max
ETA = 2.0**-1074
CONFORMANCE = Path("/work/shared/conformance/itf1788_libieeep1788_b64.jsonl")

REFERENCE = {
    "exp": mp.exp,
    "sigmoid": lambda v: 1 / (1 + mp.exp(-v)),
    "tanh": mp.tanh,
}
RIGOROUS = {"exp": G.exp, "sigmoid": G.sigmoid, "tanh": G.tanh}


def _points(name: str, n: int = 20_000) -> np.ndarray:
    """~n arguments across the whole range of ``name``, both signs, specials included."""
    rng = np.random.default_rng({"exp": 1, "sigmoid": 2, "tanh": 3}[name])
    m = n // 10
    sign = lambda size: rng.choice([-1.0, 1.0], size)  # noqa: E731
    parts = [
        np.array([0.0, -0.0, np.inf, -np.inf, ETA, -ETA, 2.0**-1022, MAX, -MAX, 1.0, -1.0]),
        sign(m) * rng.integers(1, 2**52, m) * ETA,  # subnormals
        sign(m) * 10.0 ** rng.uniform(-320, -8, m),  # tiny
        sign(m) * 10.0 ** rng.uniform(-8, 0, m),  # small
        rng.uniform(-1, 1, m),
        rng.uniform(-20, 20, m),
        sign(m) * 10.0 ** rng.uniform(-3, np.log10(700), m),  # moderate, log-spread
        rng.uniform(-750, 750, m),
        sign(m) * 10.0 ** rng.uniform(2.9, 308, m),  # huge (saturation, overflow)
    ]
    # edges: exp overflow (ln max ~ 709.78), normal/subnormal underflow (-708.40, -745.13)
    for edge in (709.782712893384, -708.3964185322641, -745.1332191019411, 0.625, 20.0, 2.0**-27):
        step = np.arange(-(m // 6), m // 6) * 2.0**-44 * max(1.0, abs(edge))
        parts.append(edge + step)
    return np.concatenate(parts)


def _true_values(name: str, xs: np.ndarray) -> list[mp.mpf]:
    f = REFERENCE[name]
    out = []
    with mp.workdps(50):
        for x in xs.tolist():
            if math.isinf(x):
                out.append({"exp": (mp.inf if x > 0 else mp.mpf(0)),
                            "sigmoid": mp.mpf(1 if x > 0 else 0),
                            "tanh": mp.mpf(1 if x > 0 else -1)}[name])
            else:
                out.append(f(mp.mpf(x)))
    return out


_CACHE: dict[str, tuple[np.ndarray, list[mp.mpf], np.ndarray, np.ndarray]] = {}


def _evaluated(name: str) -> tuple[np.ndarray, list[mp.mpf], np.ndarray, np.ndarray]:
    if name not in _CACHE:
        xs = _points(name)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            lo, hi = RIGOROUS[name](xs, xs)
        _CACHE[name] = (xs, _true_values(name, xs), lo, hi)
    return _CACHE[name]


def _width_ulps(lo: np.ndarray, hi: np.ndarray, true: list[mp.mpf]) -> np.ndarray:
    """Enclosure width in ulps of the true value (nan where the true value is not a finite float)."""
    t = np.array([float(v) for v in true])
    with np.errstate(invalid="ignore", over="ignore"):
        w = (hi - lo) / np.spacing(np.abs(t))
    return np.where(np.isfinite(t) & np.isfinite(w), w, np.nan)


# --- containment ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_contains_mpmath_50_digits(name: str) -> None:
    xs, true, lo, hi = _evaluated(name)
    assert xs.size >= 19_000
    assert lo.dtype == hi.dtype == np.float64
    assert not (np.isnan(lo).any() or np.isnan(hi).any())
    bad = [
        (x, l, h, v)
        for x, l, h, v in zip(xs.tolist(), lo.tolist(), hi.tolist(), true)
        if not (mp.mpf(l) <= v <= mp.mpf(h))
    ]
    assert not bad, f"{len(bad)} enclosures miss mpmath, first: {bad[:3]}"


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_range_clamped(name: str) -> None:
    xs, _, lo, hi = _evaluated(name)
    assert (lo <= hi).all()
    floor, ceil = {"exp": (0.0, np.inf), "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}[name]
    assert (lo >= floor).all() and (hi <= ceil).all()


# --- tightness (measured; the asserted caps are the measured maxima, not hopes) ---------


TIGHTNESS_CAP = {"exp": 4, "sigmoid": 6, "tanh": 4}


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_tightness_moderate(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Width in ulps of the true value for |x| in [1e-3, 700] (exp: target <= 4 ulps)."""
    xs, true, lo, hi = _evaluated(name)
    w = _width_ulps(lo, hi, true)
    sel = (np.abs(xs) >= 1e-3) & (np.abs(xs) <= 700) & np.isfinite(w)
    if name == "exp":  # the result must stay normal for an ulp count to mean something
        sel &= xs >= -708.0
    assert sel.sum() > 5_000
    worst = float(np.max(w[sel]))
    with capsys.disabled():
        print(f"\n[tightness] {name}: max {worst:.0f} ulp, mean {np.mean(w[sel]):.2f} ulp "
              f"over {int(sel.sum())} points with |x| in [1e-3, 700]")
    assert worst <= TIGHTNESS_CAP[name]


def test_tanh_tiny_is_optimal() -> None:
    """For 0 < x < 2^-27 the enclosure is [float below x, x]: the best two floats."""
    xs = np.concatenate([10.0 ** np.linspace(-300, np.log10(2.0**-27) - 1e-9, 500), [ETA, 3 * ETA]])
    lo, hi = G.tanh(xs, xs)
    assert (hi == xs).all()
    assert (lo == R.next_down(xs)).all()
    lo, hi = G.tanh(-xs, -xs)
    assert (lo == -xs).all() and (hi == R.next_up(-xs)).all()


def test_exp_tiny_arguments_are_optimal() -> None:
    xs = 10.0 ** np.linspace(-300, -17, 200)
    lo, hi = G.exp(xs, xs)
    assert (lo == 1.0).all() and (hi == R.next_up(1.0)).all()
    lo, hi = G.exp(-xs, -xs)
    assert (lo == R.next_down(1.0)).all() and (hi == 1.0).all()


# --- special values -------------------------------------------------------------------------


def test_exact_points() -> None:
    z = np.array([0.0, -0.0])
    assert [a.tolist() for a in G.exp(z, z)] == [[1.0, 1.0], [1.0, 1.0]]
    assert [a.tolist() for a in G.sigmoid(z, z)] == [[0.5, 0.5], [0.5, 0.5]]
    assert [a.tolist() for a in G.tanh(z, z)] == [[0.0, 0.0], [0.0, 0.0]]


def test_infinite_ends() -> None:
    lo, hi = np.array([-np.inf, 0.0, -np.inf]), np.array([0.0, np.inf, np.inf])
    assert [a.tolist() for a in G.exp(lo, hi)] == [[0.0, 1.0, 0.0], [1.0, np.inf, np.inf]]
    assert [a.tolist() for a in G.sigmoid(lo, hi)] == [[0.0, 0.5, 0.0], [0.5, 1.0, 1.0]]
    assert [a.tolist() for a in G.tanh(lo, hi)] == [[-1.0, 0.0, -1.0], [0.0, 1.0, 1.0]]


def test_exp_overflow_and_underflow() -> None:
    x = np.array([709.7827128933841, 710.0, 1e300, -746.0, -1e300, -740.0])
    lo, hi = G.exp(x, x)
    assert lo[:3].tolist() == [MAX] * 3 and np.isinf(hi[1:3]).all()
    assert hi[0] == np.inf  # true value above max: no finite float bounds it
    assert lo[3:5].tolist() == [0.0, 0.0] and hi[3:5].tolist() == [ETA, ETA]
    # subnormal result: enclosure of at most a few subnormal steps around the true value
    true = mp.exp(mp.mpf(-740.0))
    assert mp.mpf(float(lo[5])) <= true <= mp.mpf(float(hi[5]))
    assert 0 < hi[5] - lo[5] <= 4 * ETA


def test_saturation_edges() -> None:
    x = np.array([20.0, 40.0, 1e300])
    lo, hi = G.tanh(x, x)
    assert lo.tolist() == [R.next_down(1.0)] * 3 and hi.tolist() == [1.0] * 3
    x = np.array([40.0, 1e300])  # sigma(40) = 1 - 4e-18: the float below 1 and 1
    lo, hi = G.sigmoid(x, x)
    assert hi.tolist() == [1.0] * 2 and (lo == R.next_down(1.0)).all()


def test_shapes_and_scalars() -> None:
    rng = np.random.default_rng(7)
    a = rng.uniform(-5, 5, (3, 4, 5))
    b = a + rng.uniform(0, 1, a.shape)
    for f in RIGOROUS.values():
        lo, hi = f(a, b)
        assert lo.shape == hi.shape == a.shape and (lo <= hi).all()
        slo, shi = f(0.5, 1.5)
        assert np.shape(slo) == () and slo <= shi
        elo, ehi = f(np.empty((0, 3)), np.empty((0, 3)))
        assert elo.shape == (0, 3)


# --- intervals, property-based --------------------------------------------------------------


_floats = st.floats(allow_nan=False, allow_infinity=True, allow_subnormal=True)


@settings(max_examples=300, deadline=None)
@given(a=_floats, b=_floats)
def test_interval_ends_contain_mpmath(a: float, b: float) -> None:
    lo_x, hi_x = min(a, b), max(a, b)
    for name, f in RIGOROUS.items():
        lo, hi = f(np.array([lo_x]), np.array([hi_x]))
        t_lo, t_hi = _true_values(name, np.array([lo_x, hi_x]))
        assert mp.mpf(float(lo[0])) <= t_lo, (name, lo_x)
        assert t_hi <= mp.mpf(float(hi[0])), (name, hi_x)


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_kernels_dispatch(name: str) -> None:
    x = np.array([-3.0, 0.1, 2.5])
    got = getattr(K, name)(x, x + 1, mode="rigorous")
    want = RIGOROUS[name](x, x + 1)
    assert all((g == w).all() for g, w in zip(got, want))


# --- conformance (IEEE 1788, libieeep1788 vectors) ------------------------------------------


def _conformance(op: str) -> list[dict]:
    rows = [json.loads(line) for line in CONFORMANCE.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["op"] == op and r["expected"] is not None and r["args"][0] is not None]


@pytest.mark.skipif(not CONFORMANCE.exists(), reason="shared conformance vectors not present")
@pytest.mark.parametrize("op", ["exp", "tanh"])
def test_itf1788_conformance(op: str, capsys: pytest.CaptureFixture[str]) -> None:
    cases = _conformance(op)
    assert len(cases) >= 7
    tight = 0
    for case in cases:
        (alo, ahi), (elo, ehi) = case["args"][0], case["expected"]
        lo, hi = getattr(K, op)(np.array([alo]), np.array([ahi]), mode="rigorous")
        assert lo[0] <= elo and ehi <= hi[0], case
        tight += bool(lo[0] == elo and hi[0] == ehi)
    with capsys.disabled():
        print(f"\n[conformance] {op}: {len(cases)} cases contained, {tight} exactly tight")


# --- constants recomputed independently -----------------------------------------------------


def test_ln2_split_encloses_ln2() -> None:
    """L1 + [L2_LO, L2_HI] contains ln 2 (mpmath at 100 digits, exact rational comparison);
    L1 has at most 42 significant bits so k * L1 is exact for |k| <= 2^11."""
    l1 = Fraction(G.L1)
    m, e = math.frexp(G.L1)
    assert Fraction(m) * 2**42 == int(Fraction(m) * 2**42)  # <= 42 significant bits
    with mp.workdps(100):
        ln2 = mp.log(2)
        lo, hi = mp.mpf(G.L1) + mp.mpf(G.L2_LO), mp.mpf(G.L1) + mp.mpf(G.L2_HI)
        assert lo <= ln2 <= hi
        assert hi - lo < mp.mpf(2) ** -90
        assert abs(mp.mpf(G.INV_LN2) * ln2 - 1) < mp.mpf(2) ** -52
    assert Fraction(G.L2_LO) <= Fraction(G.L2_HI) and l1 < 1


def test_ln2_split_agrees_with_constants_module() -> None:
    constants = pytest.importorskip("lstm_symbolic.constants")
    lo, hi = constants.ln2_enclosure()
    assert Fraction(lo) <= Fraction(G.L1) + Fraction(G.L2_HI)
    assert Fraction(G.L1) + Fraction(G.L2_LO) <= Fraction(hi)


def test_taylor_coefficients_and_remainder() -> None:
    n = G.EXP_DEGREE
    for i in range(n + 1):
        assert Fraction(G._EXP_C_LO[i]) <= Fraction(1, math.factorial(i)) <= Fraction(G._EXP_C_HI[i])
    # Lagrange factor e^xi/(N+1)! for |xi| <= RHO, checked with mpmath intervals
    with mp.workdps(60):
        e_lo, e_hi = mp.exp(-mp.mpf(G.RHO.numerator) / G.RHO.denominator), mp.exp(
            mp.mpf(G.RHO.numerator) / G.RHO.denominator)
        f = mp.factorial(n + 1)
        assert mp.mpf(G._EXP_C_LO[n + 1]) <= e_lo / f and e_hi / f <= mp.mpf(G._EXP_C_HI[n + 1])
        # the remainder's width is negligible: < 2^-63 at |r| = RHO
        width = (mp.mpf(G._EXP_C_HI[n + 1]) - mp.mpf(G._EXP_C_LO[n + 1])) * (mp.mpf(7) / 20) ** (n + 1)
        assert width < mp.mpf(2) ** -63
        # ln2/2 + 1e-12 < RHO: the reduction bound of the module docstring
        assert mp.log(2) / 2 + mp.mpf(10) ** -12 < mp.mpf(7) / 20


def test_tanh_series_tail_bounds() -> None:
    """Top coefficients bound the whole tail for u <= 1 (compare with a long mpmath sum)."""
    t = G.TANH_SERIES_TERMS - 1
    with mp.workdps(60):
        for u in (mp.mpf(1), mp.mpf("0.39"), mp.mpf("0.01")):
            c_tail = mp.nsum(lambda j: u ** (j - t) / mp.factorial(2 * j + 2), [t, mp.inf])
            d_tail = mp.nsum(lambda j: u ** (j - t) * (2 * j + 2) / mp.factorial(2 * j + 3), [t, mp.inf])
            assert mp.mpf(G._TANH_C_LO[t]) <= c_tail <= mp.mpf(G._TANH_C_HI[t])
            assert mp.mpf(G._TANH_D_LO[t]) <= d_tail <= mp.mpf(G._TANH_D_HI[t])
        # the series identities: cosh = 1 + u C1(u), cosh - sinh(a)/a = u D1(u)
        a = mp.mpf("0.6")
        u = a * a
        c1 = mp.nsum(lambda j: u**j / mp.factorial(2 * j + 2), [0, mp.inf])
        d1 = mp.nsum(lambda j: u**j * (2 * j + 2) / mp.factorial(2 * j + 3), [0, mp.inf])
        assert abs(1 + u * c1 - mp.cosh(a)) < mp.mpf(10) ** -55
        assert abs(u * d1 - (mp.cosh(a) - mp.sinh(a) / a)) < mp.mpf(10) ** -55
        assert abs(a - a * u * d1 / (1 + u * c1) - mp.tanh(a)) < mp.mpf(10) ** -55


def test_reduction_guard_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong 1/ln2 breaks |r| <= RHO: the guard must raise rather than return a bound."""
    monkeypatch.setattr(G, "INV_LN2", 1.0)
    with pytest.raises(ArithmeticError, match="RHO"):
        G.exp(np.array([30.0]), np.array([30.0]))


# --- rounding helpers added for this module -------------------------------------------------


def test_rational_rounding() -> None:
    for q in (Fraction(1, 3), Fraction(-2, 7), Fraction(1, 2), Fraction(10**30 + 1, 3), Fraction(1, 10**320)):
        lo, hi = R.rational_down(q), R.rational_up(q)
        assert Fraction(lo) <= q <= Fraction(hi)
        assert hi == lo or hi == math.nextafter(lo, math.inf)
    assert R.rational_down(Fraction(1, 2)) == R.rational_up(Fraction(1, 2)) == 0.5


def test_ldexp_directed() -> None:
    m = np.array([0.7, 0.75, 1.0, 0.9, 0.9, 0.3])
    k = np.array([-1074, -1073, -1074, 1025, 3, -1080])
    lo, hi = R.ldexp_down(m, k), R.ldexp_up(m, k)
    for mi, ki, l, h in zip(m.tolist(), k.tolist(), lo.tolist(), hi.tolist()):
        exact = Fraction(mi) * Fraction(2) ** ki
        assert (Fraction(l) if math.isfinite(l) else -math.inf) <= exact
        assert exact <= (Fraction(h) if math.isfinite(h) else math.inf)
    assert lo[4] == hi[4] == 7.2  # exact scaling stays exact
    assert lo[2] == hi[2] == ETA
    assert lo[3] == MAX and hi[3] == np.inf  # overflow
    assert lo[5] == 0.0 and hi[5] == ETA  # underflow
