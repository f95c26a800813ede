"""invariant: exact checks against high-precision trajectories, zero tolerance."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.reference import exact_trajectory


def random_lstm(seed: int, n_a: int = 4, n_x: int = 3, n_y: int | None = 3, scale: float = 1.0, bias: float = 1.0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    kw = {f"W_{g}": rng.normal(size=(n_a, n_a + n_x)) * scale for g in "fuco"}
    kw.update({f"b_{g}": rng.normal(size=n_a) * bias for g in "fuco"})
    if n_y:
        kw.update(W_y=rng.normal(size=(n_y, n_a)) * 2, b_y=rng.normal(size=n_y))
    return ls.LSTMWeights(**kw)

@pytest.mark.parametrize("seed", range(3))
def test_invariant_contains_long_exact_trajectories(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = random_lstm(seed, n_a=3, n_x=2, n_y=None, scale=0.4, bias=0.5)
    box = ls.Box(-np.ones(2), np.ones(2))
    c0 = np.array([0.5, -0.5, 0.0])
    inv = ls.invariant(w, box, c0=c0)
    assert inv.found, inv.reason
    assert inv.c.contains(c0).all() and inv.a.contains(np.zeros(3)).all()
    T = 120
    for kind in ("corners", "random"):
        xs = rng.choice([-1.0, 1.0], (T, 2)) if kind == "corners" else rng.uniform(-1, 1, (T, 2))
        ex = exact_trajectory(w, xs, c0=c0, dps=40)
        for t in range(T):
            for i in range(3):
                assert mpmath.mpf(float(inv.c.lo[i])) <= ex.c[t, i] <= mpmath.mpf(float(inv.c.hi[i])), (kind, t, i)
                assert mpmath.mpf(float(inv.a.lo[i])) <= ex.a[t, i] <= mpmath.mpf(float(inv.a.hi[i])), (kind, t, i)
    # float simulations far longer than any propagation
    X = rng.uniform(-1, 1, (3000, 64, 2))
    run = ls.forward(w, X, c0=c0)
    assert inv.c.contains(run.c).all() and inv.a.contains(run.a).all()


def test_invariant_is_a_proven_fixed_box() -> None:
    w = random_lstm(4, n_a=3, n_x=2, n_y=None, scale=0.4, bias=0.5)
    box = ls.Box(-np.ones(2), np.ones(2))
    inv = ls.invariant(w, box)
    assert inv.found
    # replay the proof obligation: one sound symbolic step from the box lands inside it
    tr = ls.propagate(w, box, steps=1, a0=inv.a, c0=inv.c, method="symbolic")
    assert ls.Interval(tr.c.lo[0], tr.c.hi[0]).subset(inv.c).all()
    assert ls.Interval(tr.a.lo[0], tr.a.hi[0]).subset(inv.a).all()


def test_no_invariant_when_the_forget_gate_saturates() -> None:
    w = random_lstm(1, n_a=2, n_x=1, n_y=None)
    w = ls.LSTMWeights(**{k: v for k, v in w.to_arrays().items() if k != "b_f"}, b_f=np.full(2, 60.0))
    w = ls.LSTMWeights(**(w.to_arrays() | {"b_u": np.full(2, 60.0), "b_c": np.full(2, 60.0)}))
    inv = ls.invariant(w, ls.Box([0.0], [0.0]), max_iter=50)
    assert not inv.found and "forget gate" in inv.reason and inv.c is None
    # and indeed c grows like t: a real trajectory leaves any box
    run = ls.forward(w, np.zeros((200, 1)))
    assert run.c[-1].min() > 150


def test_invariant_bad_input() -> None:
    w = random_lstm(0, n_y=None)
    with pytest.raises(ValueError, match="inputs"):
        ls.invariant(w, ls.LinfBall(np.zeros((5, 3)), 0.1))
    with pytest.raises(ValueError, match="inputs"):
        ls.invariant(w, ls.OneHot(5))
