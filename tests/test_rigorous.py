"""``mode="rigorous"`` elementary functions: containment against mpmath at 50 digits (zero
tolerance), measured tightness in ulps, IEEE 1788 conformance, the tables and a priori error
bounds recomputed independently (and checked against the actual errors), the directed-rounding
primitives they rest on, and liveness: a kernel whose bound is set to zero must be caught.

Points (~20k per function) mix zero, subnormals, tiny, moderate and huge arguments, the
overflow/underflow edges of exp and the saturation of sigmoid/tanh, and +-inf. mpmath's value
at 50 digits is compared *exactly* with the float endpoints (``mp.mpf(float)`` is exact); the
only exactly representable values (exp 0, sigmoid 0, tanh 0) are exact in mpmath too, and a
transcendental value within 10^-50 relative of a float endpoint would need a ~110-bit
coincidence.
"""

from __future__ import annotations

import dataclasses
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
CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance" / "itf1788_libieeep1788_b64.jsonl"

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
    # edges: exp overflow (ln max ~ 709.78), normal/subnormal underflow (-708.40, -745.13), the
    # fast-path and clip limits of the kernels, the tanh split row and table cells
    for edge in (709.782712893384, -708.3964185322641, -745.1332191019411, 0.625, 20.0, 2.0**-27,
                 G.EXP_FAST_LO, G.EXP_FAST_HI, G.EXP_CORE_LO, G.EXP_CORE_HI, G.SIGMOID_CLIP,
                 -G.SIGMOID_CLIP, G.TANH_CLIP, (G.TANH_SPLIT_ROW - 0.5) / G.TANH_GRID, 2.0**-54):
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


TIGHTNESS_CAP = {"exp": 2, "sigmoid": 3, "tanh": 2}
#: mean widths measured here: 1.01, 1.18, 1.00 (the one-ulp rule: 1 ulp unless |err| <= bound)
TIGHTNESS_MEAN_CAP = {"exp": 1.05, "sigmoid": 1.25, "tanh": 1.05}


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
    assert np.mean(w[sel]) <= TIGHTNESS_MEAN_CAP[name]


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


# --- adversarial points: reduction boundaries, table cells, block boundaries -------------


def _assert_contains(name: str, xs: np.ndarray) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        lo, hi = RIGOROUS[name](xs, xs)
    true = _true_values(name, xs)
    bad = [(x, l, h) for x, l, h, v in zip(xs.tolist(), lo.tolist(), hi.tolist(), true)
           if not (mp.mpf(l) <= v <= mp.mpf(h))]
    assert not bad, f"{name}: {len(bad)} misses, first {bad[:3]}"


def _around(centres: np.ndarray, ulps: int = 2) -> np.ndarray:
    """Each centre and its ``ulps`` neighbours on both sides."""
    out = [centres]
    up, down = centres.copy(), centres.copy()
    for _ in range(ulps):
        up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        out += [up, down]
    return np.concatenate(out)


def test_exp_reduction_boundaries() -> None:
    """x near (n + 1/2) ln2/N, where the nearest n flips (|r| at its largest), and near
    n ln2/N (r near 0), for n across the range; both sides of each."""
    N = 2**G.EXP_TABLE_BITS
    rng = np.random.default_rng(11)
    n = rng.integers(-707 * N // 1, 709 * N // 1, 1500) // 1
    with mp.workdps(40):
        ln2 = mp.log(2)
        half = np.array([float((int(k) + mp.mpf(1) / 2) * ln2 / N) for k in n])
        whole = np.array([float(int(k) * ln2 / N) for k in n])
    _assert_contains("exp", _around(np.concatenate([half, whole])))


@pytest.mark.parametrize("name,grid", [("sigmoid", G.SIGMOID_GRID), ("tanh", G.TANH_GRID)])
def test_table_cell_boundaries(name: str, grid: int) -> None:
    """x = (j + 1/2)/H (the nearest row flips) and x = j/H (r = 0), +-2 ulps, both signs."""
    clip = G.SIGMOID_CLIP if name == "sigmoid" else G.TANH_CLIP
    j = np.arange(0, int(clip * grid) + 1, 7)
    centres = np.concatenate([(j + 0.5) / grid, j / grid, [clip, 2.0**-27, 2.0**-26]])
    xs = _around(np.concatenate([centres, -centres]))
    _assert_contains(name, xs)


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_blocks_mix_fast_and_special_points(name: str) -> None:
    """Arrays longer than a block, specials (0, +-inf, tiny, huge, NaN) scattered through
    clean blocks: every block takes the right path, NaN stays NaN, nothing else is NaN."""
    rng = np.random.default_rng(5)
    xs = rng.uniform(-30, 30, 3 * G.CHUNK + 17)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, -1e-300, 1e300, -800.0, 705.0, np.nan])
    where = rng.choice(xs.size, specials.size * 3, replace=False)
    xs[where] = np.tile(specials, 3)
    lo, hi = RIGOROUS[name](xs, xs)
    nan = np.isnan(xs)
    assert np.isnan(lo[nan]).all() and np.isnan(hi[nan]).all()
    assert not np.isnan(lo[~nan]).any() and not np.isnan(hi[~nan]).any()
    pick = np.concatenate([where, rng.choice(xs.size, 500, replace=False)])
    pick = pick[~np.isnan(xs[pick])]
    _assert_contains(name, xs[pick])


def test_threads_get_their_own_workspace() -> None:
    """The kernels' buffers are per thread: concurrent calls give the single-threaded results."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(17)
    inputs = [rng.uniform(-30, 30, G.CHUNK + 1000 * i) for i in range(8)]
    want = {name: [f(x, x) for x in inputs] for name, f in RIGOROUS.items()}
    with ThreadPoolExecutor(4) as pool:
        for name, f in RIGOROUS.items():
            got = list(pool.map(lambda x: f(x, x), inputs * 3))
            for (lo, hi), (wlo, whi) in zip(got, want[name] * 3):
                assert (lo == wlo).all() and (hi == whi).all(), name


@settings(max_examples=200, deadline=None)
@given(j=st.integers(-5000, 5000), off=st.floats(-1.0, 1.0), scale=st.sampled_from([1.0, 2.0**-20, 2.0**-40]))
def test_near_grid_points_contain_mpmath(j: int, off: float, scale: float) -> None:
    """Hypothesis: points j/H + off/(2H) * scale, near and between table rows of every
    function (exp reuses them as ordinary arguments)."""
    for name, H in (("sigmoid", G.SIGMOID_GRID), ("tanh", G.TANH_GRID), ("exp", 8)):
        x = j / H + off / (2 * H) * scale
        xs = np.array([x, -x])
        lo, hi = RIGOROUS[name](xs, xs)
        for xi, l, h, v in zip(xs.tolist(), lo.tolist(), hi.tolist(), _true_values(name, xs)):
            assert mp.mpf(l) <= v <= mp.mpf(h), (name, xi, l, h)


# --- the tables and constants, recomputed independently ------------------------------------


def test_exp_tables_recomputed() -> None:
    """Every 2^(j/N) within table_error of T_hi + T_lo, |T_lo| <= table_lo_max; L1 has at most
    53 - n_bits significant bits and |n| < 2^n_bits on the core's domain (so n L1 is exact);
    L1 + L2 within L3 of ln2/N; C within an ulp of N/ln2; coefficients RN(1/i!)."""
    d = G.exp_data()
    N = 2**G.EXP_TABLE_BITS
    with mp.workdps(70):
        ln2 = mp.log(2)
        for j in range(N):
            t = mp.mpf(2) ** (mp.mpf(j) / N)
            assert abs(mp.mpf(d.t_hi[j]) + mp.mpf(d.t_lo[j]) - t) <= _mpf(d.table_error)
            assert abs(mp.mpf(d.t_lo[j])) <= _mpf(d.table_lo_max)
        assert abs(mp.mpf(d.L1) + mp.mpf(d.L2) - ln2 / N) <= _mpf(d.L3) < mp.mpf(2) ** -90
        assert abs(mp.mpf(d.C) - N / ln2) <= mp.mpf(np.spacing(d.C))
        n_max = max(-G.EXP_CORE_LO, G.EXP_CORE_HI) * d.C * (1 + 2.0**-52) + 1
        assert n_max < 2**d.n_bits
    m, _ = math.frexp(d.L1)
    assert int(Fraction(m) * 2 ** (53 - d.n_bits)) == Fraction(m) * 2 ** (53 - d.n_bits)
    assert d.coefficients == tuple(float(Fraction(1, math.factorial(i))) for i in range(1, G.EXP_DEGREE + 1))
    assert Fraction(d.threshold) >= d.bound > Fraction(float(R.next_down(d.threshold)))


def test_ln2_agrees_with_constants_module() -> None:
    constants = pytest.importorskip("lstm_symbolic.constants")
    lo, hi = constants.ln2_enclosure()
    a, b = G.exp_data().ln2
    assert Fraction(lo) <= b and a <= Fraction(hi)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_tables_recomputed(name: str) -> None:
    """Every 13th row of the sigmoid/tanh tables against mpmath at 60 digits: the deviations
    stay within the statistics the bound was computed from."""
    with mp.workdps(60):
        if name == "sigmoid":
            d = G.sigmoid_data()
            J = d.rows_below_zero
            for i in range(0, 2 * J + 1, 13):
                x = mp.mpf(i - J) / G.SIGMOID_GRID
                s = 1 / (1 + mp.exp(-x))
                assert abs(mp.mpf(d.s_hi[i]) + mp.mpf(d.s_lo[i]) - s) <= _mpf(d.rel_table_error) * s
                assert abs(mp.mpf(d.s_lo[i])) <= _mpf(d.rel_lo_max) * s
                assert abs(mp.mpf(d.q[i]) - (1 - s)) <= _mpf(d.rel_Q_error) * (1 - s)
            return
        d = G.tanh_data()
        st_ = {k: _mpf(v) for k, v in d.stats.items()}
        assert d.L[0] == d.K[0] == d.T[0] == 0.0
        for j in range(1, d.T.size, 13):
            a = mp.mpf(j) / G.TANH_GRID
            t = mp.tanh(a)
            assert abs(mp.mpf(d.T[j]) - t) <= st_["T_rel"] * t
            if j < G.TANH_SPLIT_ROW:
                assert abs(mp.mpf(d.L[j]) - (t - a)) <= st_["D_rel"] * abs(t - a)
                assert abs(mp.mpf(d.K[j]) + t * t) <= st_["K_rel"] * t * t
            else:
                assert abs(mp.mpf(d.T[j]) + mp.mpf(d.L[j]) - t) <= st_["T_abs"]
                assert abs(mp.mpf(d.K[j]) - (1 - t * t)) <= st_["K_rel"] * (1 - t * t)


def test_tanh_series_coefficients_and_tail_ratio() -> None:
    """The series coefficients t_n (A&S 4.5.64) match mpmath's Taylor expansion of tanh, the
    closed form 2(4^n - 1) zeta(2n)/pi^(2n) holds, and t_(n+1)/t_n < 0.41 for n >= 4 (the
    geometric tail bound of the module docstring: the kernel stops after t_3)."""
    with mp.workdps(50):
        taylor = mp.taylor(mp.tanh, 0, 19)
        for n, t in enumerate(G._TANH_T, start=1):
            assert abs(taylor[2 * n - 1] - (-1) ** (n - 1) * mp.mpf(t.numerator) / t.denominator) < mp.mpf(10) ** -45
        closed = lambda n: 2 * (4**n - 1) * mp.zeta(2 * n) / mp.pi ** (2 * n)  # noqa: E731
        for n in range(1, 10):
            assert abs(closed(n) - abs(taylor[2 * n - 1])) < mp.mpf(10) ** -40
        assert all(closed(n + 1) / closed(n) < mp.mpf("0.41") for n in range(4, 60))
        assert all(4 * (1 + mp.mpf(1) / (4**n - 1)) / mp.pi**2 < mp.mpf("0.41") for n in range(4, 60))
    assert G.tanh_data().series == (float(-Fraction(1, 3)), float(Fraction(2, 15)))


def _mpf(q: Fraction) -> mp.mpf:
    """An exact rational as an mpmath number (at the working precision)."""
    return mp.mpf(q.numerator) / q.denominator


def _mp_gamma(n: int) -> mp.mpf:
    u = mp.mpf(2) ** -53
    return n * u / (1 - n * u)


def test_bounds_recomputed_with_mpmath() -> None:
    """The three a priori bounds, recomputed at 50 digits with exact exponentials (the module
    uses the looser 1/(1 - rho) >= e^rho): the module's exact bounds are >= these and within
    a few percent of them, and all are below the one-ulp limit u/2."""
    u, eta = mp.mpf(2) ** -53, mp.mpf(2) ** -1074
    with mp.workdps(50):
        # exp (docstring, steps 1-4)
        d = G.exp_data()
        N = 2**G.EXP_TABLE_BITS
        ln2 = mp.log(2)
        x_max = max(-G.EXP_CORE_LO, G.EXP_CORE_HI)
        n_max = int(mp.floor(x_max * mp.mpf(d.C) * (1 + u) + mp.mpf(1) / 2)) + 1
        omega = x_max * (abs(mp.mpf(d.C) - N / ln2) + u * mp.mpf(d.C))
        rho_star = ln2 / N * (mp.mpf(1) / 2 + omega)
        nL2 = n_max * abs(mp.mpf(d.L2))
        delta_r = (2 * u + u * u) * (rho_star + nL2 + n_max * _mpf(d.L3) + nL2) + n_max * _mpf(d.L3)
        rho = rho_star + delta_r
        deg = G.EXP_DEGREE
        eps_q = (_mp_gamma(2 * deg) * (1 + u) * (mp.exp(rho) - 1) + u * rho**3 * mp.exp(rho) / 6
                 + rho ** (deg + 1) * mp.exp(rho) / mp.factorial(deg + 1) + deg * eta)
        mu_q = mp.exp(rho) - 1 + eps_q
        eps_r = mp.exp(delta_r) - 1
        lo_max, tab = _mpf(d.table_lo_max), _mpf(d.table_error)
        t_err = 2 * u * mu_q + eta / 2 + u * (2 * mu_q * (1 + u) + eta / 2 + lo_max)
        beta = t_err + lo_max * mu_q + tab * (1 + mu_q) + 2 * (eps_q + (1 + mu_q + eps_q) * eps_r)
        assert beta <= _mpf(d.bound) <= beta * mp.mpf("1.01")
        assert _mpf(d.bound) < u / 50
        # sigmoid
        s = G.sigmoid_data()
        rho = mp.mpf(1) / (2 * G.SIGMOID_GRID)
        deg = G.SIGMOID_DEGREE
        om = mp.exp(rho) - 1
        eps_W = (_mp_gamma(2 * deg) * (1 + u) * (mp.exp(rho) - 1) / rho + u * rho**2 * mp.exp(rho) / 6
                 + rho ** (deg + 1) * mp.exp(rho) / mp.factorial(deg + 2) + deg * eta) / ((1 - mp.exp(-rho)) / rho)
        eQ, eS, elo = (_mpf(v) for v in (s.rel_Q_error, s.rel_table_error, s.rel_lo_max))
        eP = (1 + elo + eS) * (1 + eQ) * (1 + u) - 1
        e4 = (1 + eQ) * (1 + eps_W) * (1 + u) ** 2 - 1
        ed = (om * e4 + u * (1 + u) * (1 + om * (1 + e4))) / (1 - om)
        eC = (1 + eP) * (1 + eps_W) * (1 + u) ** 3 / (1 - ed) - 1
        th0 = (1 + om) * (eS + u * (1 + u) * elo) + om * (eC + u * (1 + u) * (1 + eC)) + 4 * eta * 2**58
        th = th0 / ((1 - th0) * (1 - u))
        assert th <= _mpf(s.theta) <= th * mp.mpf("1.01")
        assert _mpf(s.theta) < u / 4
        assert mp.mpf(s.threshold_factor) * (1 - u) >= _mpf(s.theta)
        # tanh: the module's bound is below the one-ulp limit and its threshold covers it
        t = G.tanh_data()
        assert _mpf(t.theta) < u / 4
        assert mp.mpf(t.threshold_factor) * (1 - u) >= _mpf(t.theta)


def _exact(name: str, x: float) -> mp.mpf:
    return {"exp": mp.exp, "sigmoid": lambda v: 1 / (1 + mp.exp(-v)), "tanh": mp.tanh}[name](mp.mpf(x))


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_a_priori_bound_covers_the_actual_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The heart of the proof, tested directly: on 4000 arguments per function the exact value
    f differs from the exact sum y + err by at most the kernel's bound, and that bound is not
    vacuous (the largest observed ratio is reported)."""
    rng = np.random.default_rng({"exp": 21, "sigmoid": 22, "tanh": 23}[name])
    if name == "exp":
        x = np.concatenate([rng.uniform(-700, 700, 2000), rng.uniform(-3, 3, 2000)])
        y, err, k52 = G._exp_core(x, G.exp_data())
        thr = np.full(x.size, G.exp_data().threshold)
        scale = [mp.mpf(2) ** -(int(k) >> 52) for k in k52]
    elif name == "sigmoid":
        x = np.concatenate([rng.uniform(-40, 40, 2000), rng.uniform(-1, 1, 2000)])
        y, err, thr = G._sigmoid_core(x, G.sigmoid_data())
        scale = [mp.mpf(1)] * x.size
    else:
        x = np.concatenate([rng.uniform(0, G.TANH_CLIP, 1600), rng.uniform(0, 0.5, 1600),
                            10.0 ** rng.uniform(-150, -1, 800)])  # >= 2^-500: the rule's domain
        y, err, thr = G._tanh_core(x, G.tanh_data())
        scale = [mp.mpf(1)] * x.size
    worst = mp.mpf(0)
    with mp.workdps(50):
        for xi, yi, ei, ti, sc in zip(x.tolist(), y.tolist(), err.tolist(), thr.tolist(), scale):
            gap = abs(_exact(name, xi) * sc - (mp.mpf(yi) + mp.mpf(ei)))
            assert gap <= mp.mpf(ti), (name, xi)
            worst = max(worst, gap / mp.mpf(ti))
    with capsys.disabled():
        print(f"\n[a priori bound] {name}: largest actual error / bound = {float(worst):.3f}")
    assert worst > 1e-4  # the bound is an honest bound, not a vacuous one


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_containment_check_catches_a_missing_bound(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With its a priori bound set to zero a kernel keeps ``y`` whenever the rounding residual
    points the right way, ignoring the other errors: the containment check must catch it."""
    getter = {"exp": "exp_data", "sigmoid": "sigmoid_data", "tanh": "tanh_data"}[name]
    field = {"exp": "threshold", "sigmoid": "threshold_factor", "tanh": "threshold_factor"}[name]
    broken = dataclasses.replace(getattr(G, getter)(), **{field: 0.0})
    monkeypatch.setattr(G, getter, lambda: broken)
    rng = np.random.default_rng(3)
    if name == "exp":  # its actual errors are ~0.001 ulp: probe where |r| is largest
        N = 2**G.EXP_TABLE_BITS
        with mp.workdps(30):
            x = np.array([float((int(k) + mp.mpf(1) / 2) * mp.log(2) / N)
                          for k in rng.integers(-700 * N, 700 * N, 20_000)])
    else:
        x = rng.uniform(-18, 18, 6000)
    lo, hi = RIGOROUS[name](x, x)
    with mp.workdps(40):
        misses = sum(not (mp.mpf(l) <= _exact(name, xi) <= mp.mpf(h))
                     for xi, l, h in zip(x.tolist(), lo.tolist(), hi.tolist()))
    assert misses > 0


def test_bad_reduction_constant_fails_closed() -> None:
    """A wrong N/ln2 inflates the reduction bound: the build refuses it instead of returning
    bounds (the role of the old run-time |r| guard, now checked once, exactly)."""
    d = G.exp_data()
    bad = dataclasses.replace(d, C=d.C * (1 + 2.0**-20))
    with pytest.raises(ArithmeticError):
        G._check_exp_domain(dataclasses.replace(bad, bound=G.exp_residual_bound(
            bad.C, bad.L1, bad.L2, bad.L3, bad.ln2, 2**bad.n_bits, bad.table_error, bad.table_lo_max)))


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


def test_fast_sum_error_is_exact() -> None:
    rng = np.random.default_rng(9)
    a = rng.uniform(1, 2, 2000) * 10.0 ** rng.integers(-300, 300, 2000)
    b = a * rng.uniform(-1, 1, 2000) * 10.0 ** rng.integers(-40, 0, 2000)
    b[:5] = [0.0, -a[1], a[2], 5e-324, -a[4] * 2.0**-60]
    s = a + b
    e = R.fast_sum_error(a, b, s)
    for ai, bi, si, ei in zip(a.tolist(), b.tolist(), s.tolist(), e.tolist()):
        assert Fraction(ai) + Fraction(bi) == Fraction(si) + Fraction(ei)


def _directed_cases() -> tuple[np.ndarray, np.ndarray]:
    """y at and next to powers of two, random mantissas, the smallest normal and max; residuals
    up to half the gap on either side, and zero."""
    ys = np.concatenate([[1.0, 0.5, 2.0**-1022, 2.0**1023, np.finfo(float).max],
                         R.next_down(np.array([1.0, 2.0**-1000, 2.0**900])),
                         np.random.default_rng(2).uniform(1, 2, 50) * 2.0 ** np.arange(-500, 500, 20)])
    fracs = np.array([-0.5, -0.3, -1e-9, 0.0, 1e-9, 0.3, 0.5])
    Y = np.repeat(ys, fracs.size)
    gap = np.minimum(Y - R.next_down(Y), np.nan_to_num(R.next_up(Y) - Y, posinf=Y * 2.0**-52))
    return Y, np.tile(fracs, ys.size) * gap


@pytest.mark.parametrize("upward", [False, True])
def test_directed_from_residual(upward: bool) -> None:
    """For every true value v within ``bound`` of y + err (checked at the extremes v = s +-
    bound), the result is on the right side, and it is y itself when err points the right way
    by more than bound (the rule is exact-when-possible, never more than one float away)."""
    Y, err = _directed_cases()
    bound = Y * 2.0**-56
    out = R.directed_from_residual(Y, err, bound, upward)
    for y, e, b, o in zip(Y.tolist(), err.tolist(), bound.tolist(), out.tolist()):
        s = Fraction(y) + Fraction(e)
        worst = s + Fraction(b) if upward else s - Fraction(b)
        assert (Fraction(o) >= worst if math.isfinite(o) else o == math.inf) if upward else Fraction(o) <= worst
        step = math.nextafter(y, math.inf) if upward else math.nextafter(y, -math.inf)
        if e == (-b if upward else b):  # a tie may step (a computed -0.0): conservative
            assert o in (y, step)
        else:
            assert o == (y if ((e < -b) if upward else (e > b)) else step)


@pytest.mark.parametrize("upward", [False, True])
def test_magnitude_from_residual_matches_the_scalar_rule(upward: bool) -> None:
    """For f odd: a lower end of f(x) = sign(x) v bounds v downward where x >= 0 and upward
    where x < 0 (and the reverse for an upper end), one element at a time."""
    Y, err = _directed_cases()
    bound = Y * 2.0**-56
    sign = np.where(np.arange(Y.size) % 3 == 0, -1, 0).astype(np.int64)
    got = R.magnitude_from_residual(Y, err, bound, sign, upward)
    v_up = R.directed_from_residual(Y, err, bound, True)
    v_down = R.directed_from_residual(Y, err, bound, False)
    want = np.where((sign == -1) != upward, v_up, v_down)
    assert (got == want).all()


def test_scale_pow2_exact() -> None:
    y = np.array([1.0, 1.5, 0.75, R.next_down(2.0), 1.25])
    k = np.array([0, -1021, 1022, 7, -3], dtype=np.int64)
    assert (R.scale_pow2_exact(y, k << 52) == np.ldexp(y, k)).all()
