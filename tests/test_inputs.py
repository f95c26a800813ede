"""Input sets: one-hot ``allowed`` (indices or a boolean mask), ``steps`` limits, and the array
layout — time first by default, ``batch_first=True`` for (B, T, n_x) — with shape errors that
say which layout was assumed."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import InputError, ShapeError
from lstm_symbolic.inputs import MAX_STEPS, MAX_VOCABULARY
from _models import random_lstm


def model(n_a: int = 3, n_x: int = 2, n_y: int | None = 4, seed: int = 0) -> ls.LSTMWeights:
    return random_lstm(seed, n_a, n_x, n_y)


def same_trace(t1: ls.Trace, t2: ls.Trace, transpose: bool = False) -> None:
    for name, iv in t1.signals().items():
        other = t2.signals()[name]
        lo, hi = (other.lo, other.hi) if not transpose else (other.lo.transpose(1, 0, 2), other.hi.transpose(1, 0, 2))
        np.testing.assert_array_equal(iv.lo, lo)
        np.testing.assert_array_equal(iv.hi, hi)


# --- OneHot(allowed) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [np.array([True, False, True]), [True, False, True], (True, False, True),
                                  np.array([1, 0, 1], dtype=bool)])
def test_boolean_mask_is_a_mask(mask) -> None:
    assert ls.OneHot(3, mask).allowed.tolist() == [0, 2]


def test_torch_bool_mask_and_int_tensor() -> None:
    torch = pytest.importorskip("torch")
    assert ls.OneHot(3, torch.tensor([False, True, True])).allowed.tolist() == [1, 2]
    assert ls.OneHot(3, torch.tensor([2, 0])).allowed.tolist() == [0, 2]


@pytest.mark.parametrize("mask, error, fragment", [
    (np.array([True, False]), ShapeError, "mask of length n_x = 3"),
    ([True, False, True, False], ShapeError, "mask of length n_x = 3"),
    (np.zeros(3, dtype=bool), InputError, "no True entry"),
    ([True, 0, 2], InputError, "not a mix"),
])
def test_bad_masks(mask, error, fragment) -> None:
    with pytest.raises(error, match="^allowed: ") as info:
        ls.OneHot(3, mask)
    assert fragment in str(info.value)


@pytest.mark.parametrize("allowed, fragment", [
    ([0.9], "0.9"),
    (np.array([0.0, 1.5]), "1.5"),
    ([float("nan")], "nan"),
    ([np.inf], "inf"),
    ([1 + 0j], "1+0j"),
    (["1"], "'1'"),
    ("12", "'12'"),
    ([2**70], "token indices in [0, 3)"),
    (np.array([2**62]), "token indices in [0, 3)"),
    (np.array([2**64 - 1], dtype=np.uint64), "token indices in [0, 3)"),
    ([-1], "[-1]"),
    ([10**400], "token indices in [0, 3)"),
    (2, "got 2"),
    ([], "at least one"),
    (np.array([[0, 1]]), "flat"),
])
def test_bad_token_indices(allowed, fragment) -> None:
    with pytest.raises(InputError, match="^allowed: ") as info:  # never OverflowError / a silent token 0
        ls.OneHot(3, allowed)
    assert fragment in str(info.value)


def test_integral_values_name_tokens() -> None:
    assert ls.OneHot(3, [2.0, 0]).allowed.tolist() == [0, 2]
    assert ls.OneHot(3, np.array([1.0, 1.0])).allowed.tolist() == [1]
    assert ls.OneHot(np.int64(3), {2, 1}).allowed.tolist() == [1, 2]
    assert ls.OneHot(3, (k for k in [1])).allowed.tolist() == [1]


@pytest.mark.parametrize("n_x", [0, -1, True, 2.0, MAX_VOCABULARY + 1, 10**20])
def test_bad_vocabulary_size(n_x) -> None:
    with pytest.raises(InputError, match="^n_x: "):
        ls.OneHot(n_x)


# --- steps ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [10**20, MAX_STEPS + 1, np.uint64(2**64 - 1), 0, -3, 2.0, True])
def test_bad_steps(steps) -> None:
    with pytest.raises(InputError, match="^steps: .*at most 10,000,000"):  # not OverflowError
        ls.propagate(model(), ls.OneHot(2), steps=steps)


def test_steps_accepts_numpy_integers() -> None:
    assert ls.propagate(model(), ls.OneHot(2), steps=np.int64(2)).steps == 2


# --- layout: time first, or batch first --------------------------------------------------------------


def test_box_batch_first_is_transposed() -> None:
    rng = np.random.default_rng(1)
    lo = rng.normal(size=(4, 3, 2))  # (B, T, n_x)
    hi = lo + rng.random((4, 3, 2))
    bf = ls.Box(lo, hi, batch_first=True)
    tf = ls.Box(lo.transpose(1, 0, 2), hi.transpose(1, 0, 2))
    assert (bf.steps, bf.batch, bf.n_x) == (3, 4, 2) and bf.batch_first and not tf.batch_first
    np.testing.assert_array_equal(bf.lo, tf.lo)
    w = model()
    for method in ("interval", "symbolic"):
        same_trace(ls.propagate(w, bf, method=method), ls.propagate(w, tf, method=method))


def test_linf_ball_batch_first_matches_forward_batch_first() -> None:
    rng = np.random.default_rng(2)
    w = model()
    xs = rng.normal(size=(5, 3, 2))  # (B, T, n_x)
    ball = ls.LinfBall(xs, 0.01, batch_first=True)
    assert (ball.steps, ball.batch) == (3, 5)
    np.testing.assert_array_equal(ball.center, xs.transpose(1, 0, 2))
    trace = ls.propagate(w, ball, method="symbolic")
    run = ls.forward(w, xs, batch_first=True)
    assert run.a.shape == (5, 3, 3) and run.y.shape == (5, 3, 4)
    assert trace.a.contains(run.a.transpose(1, 0, 2)).all() and trace.y.contains(run.y.transpose(1, 0, 2)).all()
    # eps in the same layout as the centre
    eps = rng.random((5, 3, 2)) * 0.01
    np.testing.assert_array_equal(ls.LinfBall(xs, eps, batch_first=True).eps, eps.transpose(1, 0, 2))


def test_batch_first_takes_batch_for_chunked_runs() -> None:
    ball = ls.LinfBall(np.zeros((4, 3, 2)), 0.1, batch_first=True)
    sub = ball.take_batch(slice(1, 3))
    assert (sub.steps, sub.batch) == (3, 2) and sub.batch_first


def test_take_batch_is_the_set_built_from_those_rows() -> None:
    """A chunk of a batched set (what chunked and threaded runs bound) is exactly the set a user
    would build from the same rows: every array, rounded end and inner box alike."""
    rng = np.random.default_rng(4)
    c, e = rng.uniform(0, 1, (3, 5, 2)), rng.uniform(0, 0.1, (3, 5, 2))
    lo = rng.uniform(-1, 0, (3, 5, 2))
    rows = slice(1, 4)
    sets = [
        (ls.Box(lo, lo + e), lambda r: ls.Box(lo[:, r], (lo + e)[:, r])),
        (ls.LinfBall(c, e), lambda r: ls.LinfBall(c[:, r], e[:, r])),
        (ls.ClippedBall(c, e, 0.05, 0.95), lambda r: ls.ClippedBall(c[:, r], e[:, r], 0.05, 0.95)),
    ]
    for whole, build in sets:
        sub, want = whole.take_batch(rows), build(rows)
        assert type(sub) is type(want) and (sub.n_x, sub.steps, sub.batch) == (want.n_x, want.steps, want.batch) == (2, 3, 3)
        for name in ("lo", "hi") + type(whole)._BATCHED:
            np.testing.assert_array_equal(np.broadcast_to(getattr(sub, name), (3, 3, 2)), np.broadcast_to(getattr(want, name), (3, 3, 2)))
        if isinstance(whole, ls.ClippedBall):
            for k in (0, 1):
                np.testing.assert_array_equal(sub.inner[k], want.inner[k])
        assert whole.batch == 5  # the whole set is unchanged


def test_two_d_arrays_are_time_major_in_both_layouts() -> None:
    x = np.arange(6.0).reshape(3, 2)  # (T, n_x): one unbatched sequence, as for nn.LSTM
    a, b = ls.LinfBall(x, 0.1), ls.LinfBall(x, 0.1, batch_first=True)
    assert (a.steps, a.batch) == (b.steps, b.batch) == (3, None)
    np.testing.assert_array_equal(a.lo, b.lo)


def test_time_axes_align_when_broadcasting() -> None:
    """A per-step eps (T, n_x) pairs with a (T, B, n_x) centre step by step; numpy's own
    broadcasting would align its time axis with the batch axis (and with T == B silently)."""
    center = np.zeros((3, 3, 2))  # T = B = 3
    eps = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])  # (T, n_x)
    ball = ls.LinfBall(center, eps)
    for t in range(3):
        assert (ball.eps[t] == eps[t]).all()
    box = ls.Box(np.zeros((3, 2)), np.ones((3, 4, 2)))  # lo (T, n_x), hi (T, B, n_x), T != B
    assert box.lo.shape == (3, 4, 2) and (box.steps, box.batch) == (3, 4)
    with pytest.raises(ShapeError, match="^hi: .*time first"):
        ls.Box(np.zeros((3, 2)), np.ones((4, 5, 2)))


def test_shape_errors_say_which_layout_was_assumed() -> None:
    with pytest.raises(ShapeError, match=r"\(T, B, n_x\) \(time first; pass batch_first=True for \(B, T, n_x\)\)"):
        ls.Box(np.zeros((1, 2, 3, 4)), np.ones((1, 2, 3, 4)))
    with pytest.raises(ShapeError, match=r"\(B, T, n_x\) \(batch first"):
        ls.LinfBall(np.zeros((1, 2, 3, 4)), 0.1, batch_first=True)
    # a (B, T, n_x) centre read time first: the steps mismatch names the layout
    ball = ls.LinfBall(np.zeros((5, 3, 2)), 0.1)  # meant as B = 5, T = 3
    with pytest.raises(InputError, match="^steps: .*time first; pass batch_first=True"):
        ls.propagate(model(), ball, steps=3)
    assert ls.propagate(model(), ls.LinfBall(np.zeros((5, 3, 2)), 0.1, batch_first=True), steps=3).a.shape == (3, 5, 3)
    with pytest.raises(ShapeError, match=r"^xs: .*time first; pass batch_first=True"):
        ls.forward(model(), np.zeros((2, 3, 5)))
    with pytest.raises(ShapeError, match=r"^xs: .*batch first"):
        ls.forward(model(), np.zeros((2, 3, 5)), batch_first=True)


@pytest.mark.parametrize("make", [
    lambda: ls.Box(np.zeros(2), np.ones(2), batch_first=1),
    lambda: ls.LinfBall(np.zeros(2), 0.1, batch_first="yes"),
    lambda: ls.forward(model(), np.zeros((3, 2)), batch_first=None),
])
def test_batch_first_must_be_a_bool(make) -> None:
    with pytest.raises(InputError, match="^batch_first: "):
        make()


def test_forward_batch_first_round_trip() -> None:
    rng = np.random.default_rng(3)
    w = model()
    xs = rng.normal(size=(4, 6, 2))  # (T, B, n_x)
    tf, bf = ls.forward(w, xs), ls.forward(w, xs.transpose(1, 0, 2), batch_first=True)
    for name in ("f", "u", "o", "c_tilde", "c", "a", "y"):
        np.testing.assert_array_equal(getattr(tf, name).transpose(1, 0, 2), getattr(bf, name))
    one = ls.forward(w, xs[:, 0], batch_first=True)  # 2-D: unbatched (T, n_x) either way
    np.testing.assert_array_equal(one.a, ls.forward(w, xs[:, 0]).a)


def test_center_plus_eps_beyond_float_range() -> None:
    with pytest.raises(InputError, match="^eps: .*float64 range"):
        ls.LinfBall(np.full(2, 1e308), 1e308)
