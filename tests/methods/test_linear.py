"""The backward method (``lstm_symbolic/methods/linear.py``) on its own options: fixed windows,
the adaptive cut switched off, optimised slopes (for the last step's bounds and for margins),
one-hot token sets enumerated exhaustively, and overflowing pre-activations — each checked with
zero tolerance against exact (mpmath) trajectories, including searched extremes. The default
options are covered, with every other method, by ``tests/test_soundness.py``."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.methods import linear as LIN
from lstm_symbolic.reference import exact_trajectory
from lstm_symbolic.testing import assert_sound

DPS = 40


def model(seed: int, n_a: int = 3, n_x: int = 2, n_y: int = 3, w_scale: float = 2.0, b_scale: float = 1.0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    kw = {f"W_{g}": rng.uniform(-w_scale, w_scale, (n_a, n_a + n_x)) for g in "fuco"}
    kw |= {f"b_{g}": rng.uniform(-b_scale, b_scale, n_a) for g in "fuco"}
    if n_y:
        kw |= {"W_y": rng.uniform(-w_scale, w_scale, (n_y, n_a)), "b_y": rng.uniform(-b_scale, b_scale, n_y)}
    return ls.LSTMWeights(**kw)


@pytest.mark.parametrize("window", [1, 2, 5])
@pytest.mark.parametrize("seed", range(3))
def test_fixed_windows_are_sound(window: int, seed: int) -> None:
    w = model(seed, w_scale=3.0)
    ball = ls.LinfBall(np.random.default_rng(seed).normal(size=(10, 2)), 0.2)
    trace = ls.propagate(w, ball, method="linear", window=window)
    assert_sound(w, ball, trace, samples=25, seed=seed, dps=DPS, search=3)


def test_full_horizon_without_the_adaptive_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """tolerance 0: every pass goes back to the start; sound, and never looser than the cut."""
    w = model(5)
    ball = ls.LinfBall(np.random.default_rng(5).normal(size=(12, 2)), 0.05)
    cut = ls.propagate(w, ball, method="linear")
    monkeypatch.setattr(LIN, "TOLERANCE", 0.0)
    full = ls.propagate(w, ball, method="linear")
    assert_sound(w, ball, full, samples=20, seed=5, dps=DPS, search=3)
    assert (full.a.width <= cut.a.width * (1 + 1e-9)).all()


@pytest.mark.parametrize("seed", range(4))
def test_optimised_slopes_are_sound_and_no_looser(seed: int) -> None:
    w = model(seed, w_scale=1.5)
    ball = ls.LinfBall(np.random.default_rng(seed).normal(size=(6, 2)), 0.1)
    base = ls.propagate(w, ball, method="linear")
    opt = ls.propagate(w, ball, method="linear", optimise=8)
    assert_sound(w, ball, opt, samples=30, seed=seed, dps=DPS, search=4)
    assert (opt.a.width[-1] <= base.a.width[-1]).all() and (opt.c.width[-1] <= base.c.width[-1]).all()


def test_float_iterations_never_reach_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimiser's float lines are only a search direction: even absurd float offsets (far
    too tight) leave a sound bound, because the kept slopes are re-verified with sound lines."""
    orig = LIN.LinearEngine._row_lines

    def lying(self, node, par, sound):
        lines = orig(self, node, par, sound)
        if sound:
            return lines
        return type(lines)(*(a if i % 3 != 2 else a * 0.0 for i, a in enumerate(lines)))  # every offset 0

    monkeypatch.setattr(LIN.LinearEngine, "_row_lines", lying)
    w = model(11, w_scale=2.5)
    ball = ls.LinfBall(np.random.default_rng(11).normal(size=(5, 2)), 0.3)
    trace = ls.propagate(w, ball, method="linear", optimise=6)
    assert_sound(w, ball, trace, samples=30, seed=11, dps=DPS, search=4)


@pytest.mark.parametrize("seed", range(3))
def test_optimised_margins_are_lower_bounds(seed: int) -> None:
    w = model(seed, n_a=4, w_scale=1.0)
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(5, 2))
    label = int(ls.forward(w, xs).y[-1].argmax())
    eps = 0.05
    plain = ls.certify(w, xs, eps, label, method="linear")
    from lstm_symbolic.propagate import unroll

    _, final = unroll(w, ls.LinfBall(xs, eps), method="linear", optimise=8)
    margins = final.margins(np.array([label]))[0]
    rivals = np.arange(w.n_y) != label
    assert (margins[rivals] >= plain.margins[rivals] - 1e-12 * np.abs(plain.margins[rivals])).all()
    from lstm_symbolic.testing import sample_sequences

    ball = ls.LinfBall(xs, eps)
    for seq in sample_sequences(w, ball, samples=25, seed=seed):
        ex = exact_trajectory(w, seq.xs, dps=DPS)
        with mpmath.workdps(DPS):
            for j in range(w.n_y):
                if j != label:
                    assert ex.z[-1, label] - ex.z[-1, j] >= mpmath.mpf(float(margins[j])), (seed, j)


def test_token_sets_every_sequence_inside() -> None:
    """x⟨t⟩ among 3 one-hot tokens at each of 4 steps: all 81 sequences, exactly."""
    w = model(2, n_a=3, n_x=4, n_y=3, w_scale=2.0)
    sets = [ls.OneHot(4, [0, 2, 3]), ls.OneHot(4, [1, 2]), ls.OneHot(4), ls.OneHot(4, [3])]
    for opt in (None, 5):
        trace = ls.propagate(w, sets, method="linear", optimise=opt)
        for seq in itertools.product([0, 2, 3], [1, 2], range(4), [3]):
            ex = exact_trajectory(w, np.eye(4)[list(seq)], dps=DPS)
            for name, iv in trace.signals().items():
                vals = getattr(ex, name)
                for t in range(4):
                    for k in range(iv.shape[1]):
                        assert mpmath.mpf(float(iv.lo[t, k])) <= vals[t, k] <= mpmath.mpf(float(iv.hi[t, k])), (opt, seq, name, t, k)


def test_one_hot_relations_beat_interval() -> None:
    """Token sets concretised exactly at the leaves keep relations that interval loses."""
    w = model(4, n_a=4, n_x=5, n_y=0, w_scale=1.0)
    tokens = ls.OneHot(5)
    lin = ls.propagate(w, tokens, steps=4, method="linear")
    itv = ls.propagate(w, tokens, steps=4, method="interval")
    assert lin.a.width[-1].sum() < itv.a.width[-1].sum()


def test_overflowing_preactivations_give_sound_finite_bounds() -> None:
    """W_x = 2 with inputs near 1e308: the pre-activations overflow; slope-0 lines from the
    monotone image keep every bound sound and every gate inside [0, 1]."""
    w = ls.LSTMWeights(**{f"W_{g}": np.array([[0.5, 2.0]]) for g in "fuco"}, **{f"b_{g}": np.zeros(1) for g in "fuco"},
                       W_y=np.array([[1.0], [-1.0]]), b_y=np.zeros(2))
    x = np.array([[1e308], [-1e308], [1e308]])
    for method in ("linear", "best"):
        trace = ls.propagate(w, ls.LinfBall(x, 1e307), method=method)
        assert np.isfinite(trace.a.lo).all() and (trace.f.lo >= 0).all() and (trace.f.hi <= 1).all()
        assert_sound(w, ls.LinfBall(x, 1e307), trace, samples=10, seed=0, dps=DPS)


@pytest.mark.parametrize("seed", range(3))
def test_optimised_intermediate_passes_are_sound_and_no_looser(seed: int) -> None:
    """Slopes optimised on every intermediate pass (α-CROWN's full form): sound against exact
    trajectories and searched extremes, and no looser than the plain passes at the last step."""
    w = model(seed, w_scale=1.5)
    ball = ls.LinfBall(np.random.default_rng(seed).normal(size=(5, 2)), 0.15)
    base = ls.propagate(w, ball, method="linear")
    opt = ls.propagate(w, ball, method="linear", optimise=4, optimise_intermediate=True)
    assert_sound(w, ball, opt, samples=30, seed=seed, dps=DPS, search=4)
    assert opt.a.width[-1].sum() <= base.a.width[-1].sum() * (1 + 1e-9)
    with pytest.raises(ls.InputError, match="optimise_intermediate"):
        ls.propagate(w, ball, method="symbolic", optimise_intermediate=True)
