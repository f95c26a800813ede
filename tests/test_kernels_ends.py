"""The fast kernels of the interval engine, zero tolerance.

Every fast kernel claims to compute, bit for bit, what a reference kernel computes (that claim
is its soundness argument: the reference kernels are proved in their docstrings and tested by
``tests/test_kernels.py``). So the tests here are exact equalities against the references on
values that reach every regime — 0, ±0, subnormals, ±max, ±inf, NaN, huge and tiny magnitudes,
saturating arguments — plus containment of exact values (Fractions) for the matrix product,
including the case that shows why the radius needs its ``2**-1074`` floor.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.interval import kernels as K
from lstm_symbolic.interval import rounding as R

MAX = float(np.finfo(np.float64).max)
SPECIALS = np.array([0.0, -0.0, 5e-324, -5e-324, 2.0**-1022, 1.0, -1.0, 0.5, 36.0, -36.0, 700.0, -700.0, -709.9, 745.0, -745.0,
                     1e300, -1e300, MAX, -MAX, np.inf, -np.inf])


def sample(rng: np.random.Generator, shape: tuple[int, ...], special: float = 0.2, finite: bool = False) -> np.ndarray:
    """Floats of every magnitude, with a share of special values."""
    x = rng.normal(size=shape) * 10.0 ** rng.integers(-320, 308, size=shape).astype(float)
    pool = SPECIALS[np.isfinite(SPECIALS)] if finite else SPECIALS
    mask = rng.random(shape) < special
    x[mask] = rng.choice(pool, size=int(mask.sum()))
    return x


def ordered(rng: np.random.Generator, shape: tuple[int, ...], finite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    a, b = sample(rng, shape, finite=finite), sample(rng, shape, finite=finite)
    return np.minimum(a, b), np.maximum(a, b)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality up to the sign of zero (``-0.0 == 0.0`` as bounds), NaN equal to NaN."""
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


SEEDS = range(12)


# --- rounding: the fused outward steps ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_step_outward_is_step_down_and_step_up(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = np.stack(ordered(rng, (5, 17)))
    with np.errstate(all="ignore"):
        want_lo, want_hi = R.step_down(e[0]), R.step_up(e[1])
        got = R.step_outward(e.copy())
    assert same(got[0], want_lo) and same(got[1], want_hi)
    finite = np.stack(ordered(rng, (5, 17), finite=True))  # no +inf lower / -inf upper end
    with np.errstate(all="ignore"):
        got = R.step_outward(finite.copy(), np.empty_like(finite), finite=True)
        assert same(got[0], R.step_down(finite[0])) and same(got[1], R.step_up(finite[1]))


@pytest.mark.parametrize("seed", SEEDS)
def test_step_up_inplace_is_step_up_except_minus_inf(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = sample(rng, (7, 9))
    y[y == -np.inf] = -1.0
    with np.errstate(all="ignore"):
        assert same(R.step_up_inplace(y.copy()), R.step_up(y))


@pytest.mark.parametrize("seed", SEEDS)
def test_widen_outward_is_widen_down_and_widen_up(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e = np.tanh(np.stack(ordered(rng, (4, 33))))
    e[0, 0, :3] = [-1.0, 0.0, np.nan]
    for ulps in (0, 4, 10):
        got = R.widen_outward(e.copy(), ulps)
        assert same(got[0], R.widen_down(e[0], ulps)) and same(got[1], R.widen_up(e[1], ulps))


@pytest.mark.parametrize("seed", SEEDS)
def test_to_float32_up_into_is_to_float32_up(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(size=(6, 40))) * 10.0 ** rng.integers(-70, 19, size=(6, 40)).astype(float)
    x[0, :4] = [5e-324, 2.0**-127, 2.0**-126, 2.0**63]
    out = np.empty(x.shape, np.float32)
    R.to_float32_up_into(x, out, np.empty(x.shape))
    assert np.array_equal(out, R.to_float32_up(x)) and out.dtype == np.float32


# --- the matrix product ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_fast_matmul_is_the_reference(seed: int) -> None:
    """The fast path (when it runs) and the general path give the same bits; the public matmul
    is either."""
    rng = np.random.default_rng(seed)
    rows, n, m, k = int(rng.integers(1, 30)), int(rng.integers(1, 40)), int(rng.integers(1, 20)), int(rng.integers(0, 3))
    W = rng.normal(size=(m, n + k)) * 10.0 ** float(rng.integers(-8, 8))
    if seed % 5 == 0:
        W[rng.random(W.shape) < 0.3] = 0.0
    scale = 10.0 ** float(rng.integers(-40, 40))
    lo = rng.normal(size=(rows, n)) * scale
    hi = lo + rng.random((rows, n)) * scale * 10.0 ** float(rng.integers(-20, 2))
    if seed % 7 == 0:
        hi = lo.copy()  # points
    absW = np.abs(W)
    for absW32 in (None, R.to_float32_up(absW)):
        want = K._matmul_reference(W, lo, hi, absW, k, absW32)
        got = K.matmul(W, lo, hi, absW, k, absW32)
        assert same(got[0], want[0]) and same(got[1], want[1])
        e = K.MidradProduct(W, absW, absW32, k).ends([np.stack((lo[:, : n // 2], hi[:, : n // 2])), np.stack((lo[:, n // 2 :], hi[:, n // 2 :]))])
        assert same(e[0], want[0]) and same(e[1], want[1])


def test_fast_matmul_falls_back_where_it_must() -> None:
    """Non-finite ends, weights too large for the no-overflow argument, radius inputs beyond it,
    empty operands: the general path's answer, exactly."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(4, 6))
    lo = rng.normal(size=(3, 6))
    hi = lo + 1.0
    cases = []
    l1 = lo.copy()
    l1[1, 2] = -np.inf
    cases.append((W, l1, hi))
    h1 = hi.copy()
    h1[0, 0] = np.inf
    cases.append((W, lo, h1))
    cases.append((W * 1e306, lo, hi))  # row sums beyond max / 64
    cases.append((W, lo * 1e300, hi * 1e300))  # huge t: the centre could overflow
    cases.append((W, np.full((3, 6), -MAX), np.full((3, 6), MAX)))
    cases.append((np.zeros((4, 0)), np.zeros((3, 0)), np.zeros((3, 0))))
    for Wc, a, b in cases:
        with np.errstate(all="ignore"):
            want = K._matmul_reference(Wc, a, b)
            got = K.matmul(Wc, a, b)
        assert same(got[0], want[0]) and same(got[1], want[1])
        assert not np.isnan(got[0]).any() and not np.isnan(got[1]).any()


def test_matmul_radius_floor_covers_subnormal_inputs() -> None:
    """Why ``step_up`` of the radius (its ``2**-1074``) matters: a point input of three
    subnormal units against a weight of ``2**500`` makes ``alpha |m|`` underflow to 0, and only
    ``|W| · 2**-1074`` covers the centre's rounding error. Exact containment, both radius paths."""
    W = np.array([[(1 + 2.0**-52) * 2.0**500, -(1 + 2.0**-51) * 2.0**480]])
    x = np.array([3 * 5e-324, 7 * 5e-324])
    exact = sum(Fraction(float(w)) * Fraction(float(v)) for w, v in zip(W[0], x))
    for absW32 in (None, R.to_float32_up(np.abs(W))):
        lo, hi = K.matmul(W, x, x, absW32=absW32)
        assert Fraction(float(lo[0])) <= exact <= Fraction(float(hi[0]))
        e = K.MidradProduct(W, np.abs(W), absW32).ends([np.stack((x[None], x[None]))])
        assert Fraction(float(e[0, 0, 0])) <= exact <= Fraction(float(e[1, 0, 0]))


def test_midrad_product_keeps_no_state_between_batch_sizes() -> None:
    """Scratch arrays are per batch size and overwritten: calls in any order give the same bits."""
    rng = np.random.default_rng(5)
    W = rng.normal(size=(8, 12))
    prod = K.MidradProduct(W, np.abs(W), R.to_float32_up(np.abs(W)), 2)
    xs = [np.sort(rng.normal(size=(2, b, 10)), axis=0) for b in (3, 1, 3, 5, 1)]
    first = [prod.ends([x]) for x in xs]
    again = [prod.ends([x]) for x in reversed(xs)][::-1]
    for a, b in zip(first, again):
        assert same(a, b)


# --- the elementwise kernels -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_and_tanh_ends_are_the_pair_kernels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lo, hi = ordered(rng, (6, 31))
    lo[0, 0] = hi[0, 0] = np.nan
    e = np.stack((lo, hi))
    with np.errstate(all="ignore"):
        s_lo, s_hi = K.sigmoid(lo, hi)
        t_lo, t_hi = K.tanh(lo, hi)
    s, t = K.sigmoid_ends(e), K.tanh_ends(e)
    assert same(s[0], s_lo) and same(s[1], s_hi)
    assert same(t[0], t_lo) and same(t[1], t_hi)
    view = np.stack((lo, hi))[:, :, 3:20]  # non-contiguous views, as the engine passes them
    assert same(K.sigmoid_ends(view), np.stack(K.sigmoid(lo[:, 3:20], hi[:, 3:20])))


def _gate_reference(g: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the interval engine's gate computed before the ends layout."""
    with np.errstate(all="ignore"):
        lo, hi = K.mul_nonneg(g[0], g[1], v[0], v[1])
        return np.maximum(lo, np.minimum(v[0], 0.0)), np.minimum(hi, np.maximum(v[1], 0.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_gate_ends_is_mul_nonneg_in_the_hull(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (5, 23)
    a, b = rng.random(shape), rng.random(shape)
    a[rng.random(shape) < 0.2] = 0.0
    b[rng.random(shape) < 0.2] = 1.0
    b[0, :2] = 0.0  # g.hi = 0: 0 * inf must come out as 0
    a[0, :2] = 0.0
    g = np.stack((np.minimum(a, b), np.maximum(a, b)))
    for finite in (True, False):
        v = np.stack(ordered(rng, shape, finite=finite))
        want = _gate_reference(g, v)
        got = K.gate_ends(g, v, np.empty_like(v))
        assert same(got[0], want[0]) and same(got[1], want[1])
        assert not np.isnan(got).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_add_and_within_ends_are_the_pair_kernels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = np.stack(ordered(rng, (4, 19))), np.stack(ordered(rng, (4, 19)))
    with np.errstate(all="ignore"):
        want = K.add_outward(a[0], a[1], b[0], b[1])
    got = K.add_ends(a, b)
    assert same(got[0], want[0]) and same(got[1], want[1])
    lo, hi = np.full((4, 1), -5.0), np.full((4, 1), 5.0)
    inside = np.stack(ordered(rng, (4, 19), finite=True))
    inside = np.stack((np.minimum(inside[0], 1.0), np.maximum(inside[1], -1.0)))
    want = K.within((inside[0], inside[1]), (lo, hi))
    got = K.within_ends(inside, lo, hi)
    assert same(got[0], want[0]) and same(got[1], want[1])
    with pytest.raises(AssertionError, match="unsound"):
        K.within_ends(np.stack((np.full((1, 2), 6.0), np.full((1, 2), 7.0))), -5.0, 5.0)


def test_equality_checks_can_fail() -> None:
    """The comparisons above are not vacuous: one ulp off is caught."""
    e = np.stack(ordered(np.random.default_rng(0), (3, 5), finite=True))
    with np.errstate(all="ignore"):
        want = R.step_down(e[0])
    assert not same(np.nextafter(want, np.inf), want)


# --- the engine, whole steps ---------------------------------------------------------------------------


def _reference_trace(w: ls.LSTMWeights, xs: np.ndarray, eps: float) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """An LSTM run through the pair kernels, written out here: what the interval engine computed
    before the ends layout (linear through the general matmul, then σ, tanh, gates, sum, the
    a priori cell cap)."""
    gates = w.to_model().layers[0].cell.gates
    B, n = xs.shape[1], w.n_a
    a = c = (np.zeros((B, n)), np.zeros((B, n)))
    out: dict[str, list] = {k: [] for k in ("f", "u", "o", "c_tilde", "c", "a")}
    for t in range(xs.shape[0]):
        x_lo, x_hi = R.sub_down(xs[t], eps), R.add_up(xs[t], eps)
        pre = K._matmul_reference(gates.W_b, np.concatenate([a[0], x_lo], -1), np.concatenate([a[1], x_hi], -1), gates.absW_b,
                                  gates.n_const, gates.absW_b32)
        with np.errstate(all="ignore"):
            sg = K.sigmoid(pre[0][:, : 3 * n], pre[1][:, : 3 * n])
            f, u, o = [(sg[0][:, i * n : (i + 1) * n], sg[1][:, i * n : (i + 1) * n]) for i in range(3)]
            ct = K.tanh(pre[0][:, 3 * n :], pre[1][:, 3 * n :])
            fc = _gate_reference(np.stack(f), np.stack(c))
            uc = _gate_reference(np.stack(u), np.stack(ct))
            c = K.add_outward(*fc, *uc)
            cap = R.add_up(np.zeros((B, 1)), float(t + 1))
            c = K.within(c, (-cap, cap))
            tc = K.tanh(*c)
            a = _gate_reference(np.stack(o), np.stack(tc))
        for k, v in zip(out, (f, u, o, ct, c, a)):
            out[k].append(v)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_interval_engine_is_the_pair_kernels_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_a, n_x, B, T = 6, 3, 4, 5
    scale = 3.0 if seed % 2 else 0.4  # saturating gates, or not
    W = {f"W_{g}": rng.normal(size=(n_a, n_a + n_x)) * scale for g in "fuco"}
    b = {f"b_{g}": rng.normal(size=n_a) for g in "fuco"}
    w = ls.LSTMWeights(**W, **b)
    xs = rng.normal(size=(T, B, n_x))
    trace = ls.propagate(w, ls.LinfBall(xs, 0.05), method="interval")
    ref = _reference_trace(w, xs, 0.05)
    for name, steps in ref.items():
        iv = getattr(trace, name)
        for t, (lo, hi) in enumerate(steps):
            assert same(iv.lo[t], lo) and same(iv.hi[t], hi), (name, t)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_quiet_changes_no_value_and_stays_in_its_thread(seed: int) -> None:
    """Inside :func:`kernels.quiet` the per-step kernels skip their own np.errstate: the same
    values on special ends (no warning escapes either way: pytest turns warnings into errors —
    which is how the general product's unguarded overflow test of its sums was found),
    and the flag is off again after the block and never seen by another thread."""
    import threading

    rng = np.random.default_rng(seed)
    shape = (3, 17)
    a, b = rng.random(shape), rng.random(shape)
    g = np.stack((np.minimum(a, b), np.maximum(a, b)))
    v, u = np.stack(ordered(rng, shape)), np.stack(ordered(rng, shape))
    W = rng.normal(size=(4, shape[1] + 1))
    prod = K.MidradProduct(W, np.abs(W), np.abs(W).astype(np.float32), n_const=1)
    x = np.stack(ordered(rng, shape, finite=True))

    def run() -> list[np.ndarray]:
        return [K.gate_ends(g, v, np.empty_like(v)), K.add_ends(v, u), K.sigmoid_ends(v), prod.ends([x])]

    loud = run()
    seen = []
    with K.quiet():
        assert K._QUIET.get()
        thread = threading.Thread(target=lambda: seen.append(K._QUIET.get()))
        thread.start()
        thread.join()
        hushed = run()
    assert seen == [False] and not K._QUIET.get()
    for a, b in zip(loud, hushed):
        assert same(a, b)
