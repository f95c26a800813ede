"""Inner estimates (lstm_symbolic.attack): every end is attained by a real trajectory inside the
set, lies inside the sound bounds of both methods, and the attack does at least as well as
uniform sampling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.attack import SOURCES, gradient, inner_estimate
from lstm_symbolic.testing import _into_ball

SIGNALS = ("f", "u", "o", "c_tilde", "c", "a", "y")


def model(seed: int = 0, n_a: int = 4, n_x: int = 3, n_y: int = 3, scale: float = 1.0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    return ls.LSTMWeights(
        **{f"W_{g}": scale * rng.normal(size=(n_a, n_a + n_x)) for g in "fuco"},
        **{f"b_{g}": rng.normal(size=n_a) for g in "fuco"},
        W_y=rng.normal(size=(n_y, n_a)),
        b_y=rng.normal(size=n_y),
    )


def in_set(inputs, xs: np.ndarray) -> bool:
    """Exact membership of a sequence (T, n_x) in a Box / LinfBall with a time axis or a list of
    per-step sets."""
    sets = inputs if isinstance(inputs, list) else [inputs] * xs.shape[0]
    for t, s in enumerate(sets):
        i = 0 if s.steps is None else t
        if isinstance(s, ls.OneHot):
            if not any(np.array_equal(xs[t], v) for v in s.vertices()):
                return False
        elif isinstance(s, ls.LinfBall):
            c, e = s.center if s.steps is None else s.center[i], s.eps if s.steps is None else s.eps[i]
            if not np.array_equal(_into_ball(xs[t], c, e), xs[t]):
                return False
        else:
            lo, hi = s.box(i)
            if not ((lo <= xs[t]) & (xs[t] <= hi)).all():
                return False
    return True


def check_witnesses(w, inputs, est, signals, a0=None, c0=None) -> int:
    """Replay every witness with ls.forward: the value must be the reported end. Up to rounding
    only: BLAS evaluates a batch of one in another order than a batch of thousands (measured: a
    few ulps), so the replay is compared at 1e-12 — far below any width being measured."""
    checked = 0
    for source, by_signal in est.witnesses.items():
        for s in signals:
            lo, hi = est.sources[source][s]
            for end, wit in zip((lo, hi), by_signal[s]):
                T, n = end.shape
                for t in range(T):
                    for j in range(n):
                        if not np.isfinite(end[t, j]):
                            continue
                        xs = wit[t, j]
                        assert in_set(inputs, xs), (source, s, t, j)
                        value = getattr(ls.forward(w, xs, a0=a0, c0=c0), s)[t, j]
                        assert abs(value - end[t, j]) <= 1e-12 * (1.0 + abs(end[t, j])), (source, s, t, j, value, end[t, j])
                        checked += 1
    return checked


def assert_inside(trace: ls.Trace, est, signals) -> None:
    for source, pairs in est.sources.items():
        for s in signals:
            iv = getattr(trace, s)
            lo, hi = pairs[s]
            seen = np.isfinite(lo)
            assert (iv.lo[seen] <= lo[seen]).all(), f"{trace.method}: {source} {s} below the lower bound"
            assert (hi[seen] <= iv.hi[seen]).all(), f"{trace.method}: {source} {s} above the upper bound"


@pytest.mark.parametrize("kind", ["ball_time_axis", "box_per_step"])
def test_every_end_is_a_real_trajectory_inside_the_bounds(kind: str) -> None:
    w = model(1)
    rng = np.random.default_rng(2)
    T = 4
    if kind == "ball_time_axis":
        inputs = ls.LinfBall(rng.normal(size=(T, w.n_x)), rng.uniform(0.05, 0.3, size=(T, w.n_x)))
        kw = {}
    else:
        lo = rng.normal(size=(T, w.n_x))
        inputs = [ls.Box(lo[t], lo[t] + rng.uniform(0.0, 0.4, w.n_x)) for t in range(T)]
        kw = {}
    a0, c0 = rng.uniform(-0.5, 0.5, w.n_a), rng.normal(size=w.n_a)
    est = inner_estimate(w, inputs, a0=a0, c0=c0, samples=300, corners=200, signals=SIGNALS, iterations=4, witnesses=True, **kw)
    assert set(est.sources) == {"uniform", "corners", "attack"}
    assert check_witnesses(w, inputs, est, SIGNALS, a0=a0, c0=c0) > 0
    for method in ("interval", "symbolic"):
        assert_inside(ls.propagate(w, inputs, a0=a0, c0=c0, method=method, **kw), est, SIGNALS)
    for s in SIGNALS:  # the hull is the union of the sources
        lo, hi = est[s]
        assert (lo == np.min([p[s][0] for p in est.sources.values()], axis=0)).all()
        assert (hi == np.max([p[s][1] for p in est.sources.values()], axis=0)).all()


def test_attack_beats_uniform_sampling() -> None:
    w = model(3, n_a=6, n_x=4)
    rng = np.random.default_rng(4)
    T = 6
    ball = ls.LinfBall(rng.normal(size=(T, w.n_x)), 0.05)
    est = inner_estimate(w, ball, samples=4000, corners=False, attack_steps=T)
    att_lo, att_hi = est.sources["attack"]["a"]
    uni_lo, uni_hi = est.sources["uniform"]["a"]
    # every unit of a⟨T⟩, both directions: the attack goes at least as far
    assert (att_hi[-1] >= uni_hi[-1]).all() and (att_lo[-1] <= uni_lo[-1]).all()
    assert est.mean_width("a", "attack")[-1] > 1.2 * est.mean_width("a", "uniform")[-1]
    assert_inside(ls.propagate(w, ball, method="symbolic"), est, ("a",))
    assert_inside(ls.propagate(w, ball), est, ("a",))


def test_onehot_enumeration_is_exact() -> None:
    w = model(5, n_a=3, n_x=4)
    T = 4
    sets = [ls.OneHot(4), ls.OneHot(4, allowed=[0, 2]), ls.OneHot(4), ls.OneHot(4, allowed=[1, 2, 3])]
    est = inner_estimate(w, sets, signals=SIGNALS, witnesses=True)
    assert est.exact and set(est.sources) == {"exhaustive"} and est.counts["exhaustive"] == 4 * 2 * 4 * 3
    eye = np.eye(4)
    seqs = np.array([[eye[k] for k in ks] for ks in itertools.product(*[s.allowed for s in sets])])
    run = ls.forward(w, np.moveaxis(seqs, 0, 1))
    for s in SIGNALS:
        v = getattr(run, s)
        np.testing.assert_allclose(est[s][0], v.min(axis=1), rtol=0, atol=1e-12, err_msg=s)  # batch-size rounding only
        np.testing.assert_allclose(est[s][1], v.max(axis=1), rtol=0, atol=1e-12, err_msg=s)
    check_witnesses(w, sets, est, SIGNALS)
    for method in ("interval", "symbolic"):
        assert_inside(ls.propagate(w, sets, method=method), est, SIGNALS)


def test_onehot_too_many_sequences_is_sampled() -> None:
    w = model(6, n_a=3, n_x=5)
    est = inner_estimate(w, ls.OneHot(5), steps=6, samples=500, enumerate_limit=100)
    assert not est.exact and set(est.sources) == {"uniform"} and est.notes
    assert_inside(ls.propagate(w, ls.OneHot(5), steps=6, method="symbolic"), est, ("a",))


@pytest.mark.parametrize("signal", SIGNALS)
def test_gradient_matches_central_differences(signal: str) -> None:
    w = model(7)
    rng = np.random.default_rng(8)
    T, B = 3, 2
    xs = rng.normal(size=(T, B, w.n_x))
    a0, c0 = rng.uniform(-0.5, 0.5, (B, w.n_a)), rng.normal(size=(B, w.n_a))
    step, unit, weight = np.array([2, 1]), np.array([1, 2]), np.array([1.0, -1.0])
    g = gradient(w, ls.forward(w, xs, a0=a0, c0=c0), xs, a0, c0, np.array([signal] * B), step, unit, weight)
    h = 1e-6
    for t in range(T):
        for j in range(w.n_x):
            d = np.zeros_like(xs)
            d[t, :, j] = h
            vp = getattr(ls.forward(w, xs + d, a0=a0, c0=c0), signal)
            vm = getattr(ls.forward(w, xs - d, a0=a0, c0=c0), signal)
            fd = weight * (vp[step, np.arange(B), unit] - vm[step, np.arange(B), unit]) / (2 * h)
            np.testing.assert_allclose(g[t, :, j], fd, atol=1e-7)
    assert (g[3:] == 0).all() if T > 3 else True


def test_bad_arguments() -> None:
    w = model(9)
    ball = ls.LinfBall(np.zeros((2, 1, w.n_x)), 0.1)  # batched
    with pytest.raises(ls.InputError, match="inputs"):
        inner_estimate(w, ball)
    box = ls.Box(np.zeros(w.n_x), np.ones(w.n_x))
    with pytest.raises(ls.InputError, match="signals"):
        inner_estimate(w, box, steps=2, signals=("h",))
    with pytest.raises(ls.InputError, match="attack_steps"):
        inner_estimate(w, box, steps=2, attack_steps=3)
    with pytest.raises(ls.InputError, match="a0"):
        inner_estimate(w, box, steps=2, a0=ls.Interval(np.zeros(w.n_a), np.ones(w.n_a)))
    assert SOURCES == ("exhaustive", "uniform", "corners", "attack")
