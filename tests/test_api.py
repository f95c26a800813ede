"""The public API contract of DESIGN.md: shapes, conventions, and a clear error for each kind of
bad input (a ValueError subclass naming the argument)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import InputError, NotAModelError, ShapeError
from _models import random_lstm

P = sys.modules["lstm_symbolic.propagate"]  # the module (ls.propagate is the function)


def model(n_a: int = 3, n_x: int = 2, n_y: int | None = 4, seed: int = 0) -> ls.LSTMWeights:
    return random_lstm(seed, n_a, n_x, n_y)


# --- shapes and conventions -------------------------------------------------------------------


def test_trace_shapes_unbatched_and_batched() -> None:
    w = model()
    tr = ls.propagate(w, ls.Box(-np.ones(2), np.ones(2)), steps=5)
    assert tr.a.shape == (5, 3) and tr.y.shape == (5, 4) and tr.steps == 5
    tr = ls.propagate(w, ls.LinfBall(np.zeros((5, 7, 2)), 0.1))
    assert tr.c.shape == (5, 7, 3) and tr.f.shape == (5, 7, 3)
    run = ls.forward(w, np.zeros((5, 7, 2)))
    assert run.a.shape == (5, 7, 3) and run.y.shape == (5, 7, 4)
    assert ls.propagate(model(n_y=None), ls.OneHot(2), steps=2).y is None


def test_step_t_is_index_t_minus_1() -> None:
    w = model()
    xs = np.random.default_rng(1).normal(size=(4, 2))
    run = ls.forward(w, xs)
    tr = ls.propagate(w, [ls.Box(x, x) for x in xs])  # point sets: bounds hug the trajectory
    for t in range(4):
        assert tr.a[t].contains(run.a[t]).all() and tr.c[t].contains(run.c[t]).all()
        assert float(tr.a.width[t].max()) < 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_symbolic_never_looser_than_interval(seed: int) -> None:
    w = model(n_a=5, n_x=3, seed=seed)
    rng = np.random.default_rng(seed)
    for inputs in (ls.LinfBall(rng.normal(size=(12, 3, 3)), 0.2), ls.OneHot(3, [0, 2])):
        ti = ls.propagate(w, inputs, steps=None if isinstance(inputs, ls.LinfBall) else 12, method="interval")
        ts = ls.propagate(w, inputs, steps=None if isinstance(inputs, ls.LinfBall) else 12, method="symbolic")
        for name, iv in ts.signals().items():
            other = ti.signals()[name]
            assert (iv.lo >= other.lo).all() and (iv.hi <= other.hi).all(), name


def test_symbolic_batch_chunking_is_sound_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are independent, so results agree up to rounding — and each is sound on its own.
    The interval engine beside the zonotope computes radius products in float32 (relative
    rounding 2^-24 per term, covered by its proven slack) and BLAS blocks a different batch size
    differently, so two sound runs differ by up to ~n·2^-24 relative, not only float64 ulps."""
    w = model()
    xs = np.random.default_rng(0).normal(size=(6, 5, 2))
    ball = ls.LinfBall(xs, 0.05)
    full = ls.propagate(w, ball, method="symbolic")
    monkeypatch.setattr(P, "_SYMBOLIC_MEMORY", 1)  # one entry per chunk
    chunked = ls.propagate(w, ball, method="symbolic")
    rng = np.random.default_rng(1)
    run = ls.forward(w, np.stack([ball.sample(rng, 200, t) for t in range(6)]).reshape(6, -1, 2))
    for name, iv in full.signals().items():
        ch = chunked.signals()[name]
        assert ch.lo.shape == iv.lo.shape
        tol = 1e-6 * max(1.0, float(np.abs(iv.lo).max()), float(np.abs(iv.hi).max()))
        assert np.abs(ch.lo - iv.lo).max() <= tol and np.abs(ch.hi - iv.hi).max() <= tol, name
        vals = getattr(run, name).reshape(6, 200, 5, -1)
        assert ch.contains(vals.transpose(1, 0, 2, 3)).all(), name


def test_initial_state_as_interval_and_array() -> None:
    w = model()
    box = ls.Box(-np.ones(2), np.ones(2))
    a0 = ls.Interval(-0.5 * np.ones(3), 0.5 * np.ones(3))
    tr = ls.propagate(w, box, steps=3, a0=a0, c0=np.ones(3))
    run = ls.forward(w, np.zeros((3, 2)), a0=np.full(3, 0.5), c0=np.ones(3))
    assert tr.a.contains(run.a).all()


def test_one_hot_bounds_are_the_exact_row_ranges() -> None:
    W = np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]])
    lo, hi = ls.OneHot(3, [0, 1]).linear_bounds(W, 0)
    assert lo.tolist() == [-2.0, 0.25] and hi.tolist() == [1.0, 0.5]  # min/max over columns 0, 1


def test_save_and_load_round_trip(tmp_path) -> None:
    w = model()
    w.save(tmp_path / "m.npz")
    w2 = ls.load_weights(tmp_path / "m.npz")
    for k, v in w.to_arrays().items():
        assert np.array_equal(v, w2.to_arrays()[k])
    np.savez(tmp_path / "t.npz", **w.to_torch())
    w3 = ls.load_weights(tmp_path / "t.npz")
    assert np.array_equal(ls.forward(w, np.ones((2, 2))).a, ls.forward(w3, np.ones((2, 2))).a)


def test_from_torch_keeps_an_inexact_bias_sum_exactly() -> None:
    w = model(n_y=None)
    sd = w.to_torch()
    sd["bias_hh_l0"] = np.full_like(sd["bias_ih_l0"], 2.0**-60)  # b_ih + b_hh is not a float
    w2 = ls.LSTMWeights.from_torch(sd)
    b, r = w2.bias_exact("f")
    assert np.all(r == 2.0**-60) and np.array_equal(b, sd["bias_ih_l0"][3:6])  # torch order i, f, g, o
    lo, hi = w2.to_model().layers[0].cell.gates.bias_bounds
    assert (lo < hi).all()  # the exact bias lies strictly inside


# --- bad input: one test each (DESIGN.md, "Bad input") -------------------------------------------


def test_nan_and_inf_weights() -> None:
    kw = model().to_arrays()
    for bad in (np.nan, np.inf):
        W = kw["W_u"].copy()
        W[1, 2] = bad
        with pytest.raises(InputError, match="W_u"):
            ls.LSTMWeights(**(kw | {"W_u": W}))


def test_wrong_shapes() -> None:
    kw = model().to_arrays()
    with pytest.raises(ShapeError, match="W_c"):
        ls.LSTMWeights(**(kw | {"W_c": np.zeros((3, 4))}))
    with pytest.raises(ShapeError, match="b_o"):
        ls.LSTMWeights(**(kw | {"b_o": np.zeros(4)}))
    with pytest.raises(ShapeError, match="W_y"):
        ls.LSTMWeights(**(kw | {"W_y": np.zeros((4, 2))}))
    with pytest.raises(ShapeError, match="xs"):
        ls.forward(model(), np.zeros((3, 5)))
    with pytest.raises(ShapeError, match="inputs"):
        ls.propagate(model(), ls.Box(np.zeros(5), np.ones(5)), steps=2)


def test_lo_above_hi() -> None:
    with pytest.raises(InputError, match="lo"):
        ls.Interval([0.0, 2.0], [1.0, 1.0])
    with pytest.raises(InputError, match="lo"):
        ls.Box([0.0, 2.0], [1.0, 1.0])


def test_nan_interval_and_box() -> None:
    with pytest.raises(InputError, match="hi"):
        ls.Interval([0.0], [np.nan])
    with pytest.raises(InputError, match="center"):
        ls.LinfBall([np.nan], 0.1)


def test_negative_eps() -> None:
    with pytest.raises(InputError, match="eps"):
        ls.LinfBall(np.zeros(2), -0.1)


def test_empty_one_hot_set() -> None:
    with pytest.raises(InputError, match="allowed"):
        ls.OneHot(4, [])
    with pytest.raises(InputError, match="allowed"):
        ls.OneHot(4, [4])


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_steps_must_be_positive(steps) -> None:
    with pytest.raises(InputError, match="steps"):
        ls.propagate(model(), ls.OneHot(2), steps=steps)


def test_steps_required_for_one_static_set() -> None:
    with pytest.raises(InputError, match="steps"):
        ls.propagate(model(), ls.OneHot(2))


def test_unknown_method_and_mode() -> None:
    with pytest.raises(InputError, match="method"):
        ls.propagate(model(), ls.OneHot(2), steps=1, method="crown")
    with pytest.raises(InputError, match="mode"):
        ls.propagate(model(), ls.OneHot(2), steps=1, mode="exact")


def test_a_file_that_is_not_a_model(tmp_path) -> None:
    (tmp_path / "x.npz").write_bytes(b"this is not a zip")
    with pytest.raises(NotAModelError, match="path"):
        ls.load_weights(tmp_path / "x.npz")
    np.savez(tmp_path / "y.npz", foo=np.zeros(3))
    with pytest.raises(NotAModelError, match="arrays"):
        ls.load_weights(tmp_path / "y.npz")
    with pytest.raises(NotAModelError, match="path"):
        ls.load_weights(tmp_path / "missing.npz")


def test_bad_errors_are_value_errors() -> None:
    assert issubclass(InputError, ValueError) and issubclass(ShapeError, InputError) and issubclass(NotAModelError, InputError)


@pytest.mark.parametrize("method", ["interval", "symbolic"])
def test_large_vocabulary_softmax_path_is_sound(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SOFTMAX_PAIRWISE_MAX classes the softmax bounds come from the logits' bounds
    (O(n_y) instead of n_y² rows): sound against exact trajectories, looser than pairwise."""
    from lstm_symbolic.testing import assert_sound

    L = importlib.import_module("lstm_symbolic.methods.interval")
    w = model(n_a=4, n_x=2, n_y=12, seed=3)
    ball = ls.LinfBall(np.random.default_rng(2).normal(size=(5, 2)), 0.05)
    pairwise = ls.propagate(w, ball, method=method)
    monkeypatch.setattr(L, "SOFTMAX_PAIRWISE_MAX", 4)
    from_logits = ls.propagate(w, ball, method=method)
    assert_sound(w, ball, from_logits, samples=30)
    assert (from_logits.y.width >= pairwise.y.width).all() and (from_logits.y.width > pairwise.y.width).any()
    labels = ls.forward(w, ball.center).y[-1].argmax()
    cert = ls.certify(w, ball.center, 0.01, int(labels), method=method)  # margins are O(n_y) rows always
    assert cert.margins.shape == (12,)


def test_max_symbols_trades_speed_for_tightness_and_stays_sound() -> None:
    from lstm_symbolic.testing import assert_sound

    w = model(n_a=4, n_x=2, seed=5)
    ball = ls.LinfBall(np.random.default_rng(4).normal(size=(8, 2)), 0.1)
    full = ls.propagate(w, ball, method="symbolic")
    few = ls.propagate(w, ball, method="symbolic", max_symbols=8)
    assert_sound(w, ball, few, samples=20)
    assert few.a.width.sum() >= full.a.width.sum()
    with pytest.raises(InputError, match="max_symbols"):
        ls.propagate(w, ball, method="symbolic", max_symbols=0)


@pytest.mark.parametrize("method", ["interval", "symbolic"])
def test_one_hot_token_split_is_sound_and_tighter(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One-hot sets are stepped token by token (exact columns), then hulled: every one of the
    4^3 sequences stays inside exactly (mpmath), and no bound is looser than the per-row path."""
    import itertools

    import mpmath

    from lstm_symbolic.reference import exact_trajectory

    w = model(n_a=3, n_x=4, n_y=3, seed=8)
    sets = [ls.OneHot(4), ls.OneHot(4, [1, 3]), ls.OneHot(4)]
    split = ls.propagate(w, sets, method=method)
    monkeypatch.setattr(importlib.import_module("lstm_symbolic.methods.interval"), "ONEHOT_SPLIT_MAX", 0)
    per_row = ls.propagate(w, sets, method=method)
    for name, iv in split.signals().items():
        other = per_row.signals()[name]
        assert (iv.lo >= other.lo).all() and (iv.hi <= other.hi).all(), name
    assert (split.y.width[0] < per_row.y.width[0]).any()  # at t = 1 the split is near exact
    for seq in itertools.product(range(4), [1, 3], range(4)):
        ex = exact_trajectory(w, np.eye(4)[list(seq)], dps=40)
        for name, iv in split.signals().items():
            vals = getattr(ex, name)
            for t in range(3):
                for k in range(iv.shape[1]):
                    assert mpmath.mpf(float(iv.lo[t, k])) <= vals[t, k] <= mpmath.mpf(float(iv.hi[t, k])), (seq, name, t, k)


def test_progress_callback_counts_each_step_once_per_chunk():
    """``progress(done, total)`` is called once per unrolled step, ending at total, including
    when a symbolic run is split into batch chunks."""
    rng = np.random.default_rng(3)
    w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(3, 5)) for g in "fuco"}, **{f"b_{g}": rng.normal(size=3) for g in "fuco"})
    seen: list[tuple[int, int]] = []
    ls.propagate(w, ls.LinfBall(np.zeros((4, 2)), 0.1), method="interval", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 4) for k in range(1, 5)]
    import importlib

    P = importlib.import_module("lstm_symbolic.propagate")

    seen.clear()
    old = P._SYMBOLIC_MEMORY
    P._SYMBOLIC_MEMORY = 1  # force one batch entry per chunk
    try:
        ls.propagate(w, ls.LinfBall(np.zeros((4, 3, 2)), 0.1), method="symbolic", progress=lambda d, t: seen.append((d, t)))
    finally:
        P._SYMBOLIC_MEMORY = old
    assert seen == [(k, 12) for k in range(1, 13)]


def test_weights_beyond_float32_keep_point_inputs_point_like() -> None:
    """A weight above float32's range would make the float32 radius product infinite; those maps
    keep their radius in float64, so a point input still gives (nearly) point bounds."""
    rng = np.random.default_rng(4)
    kw = {f"W_{g}": rng.normal(size=(3, 5)) for g in "fuco"} | {f"b_{g}": rng.normal(size=3) for g in "fuco"}
    kw["W_f"] = kw["W_f"] * 1e39
    w = ls.LSTMWeights(**kw)
    x = np.ones(2)
    for method in ("interval", "best"):
        tr = ls.propagate(w, ls.Box(x, x), steps=3, method=method)
        assert tr.f.width.max() <= 1e-12 and tr.a.width.max() <= 1e-12, method
