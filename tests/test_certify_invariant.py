"""certify and invariant: exact checks against high-precision trajectories, zero tolerance."""

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


def exact_margins(w: ls.LSTMWeights, xs: np.ndarray, label: int) -> list[mpmath.mpf]:
    """z_label − z_j at the last step, exactly (mpmath, 60 digits)."""
    ex = exact_trajectory(w, xs, dps=60)
    a = ex.a[-1]
    with mpmath.workdps(60):
        z = [mpmath.fsum(mpmath.mpf(float(w.W_y[j, i])) * a[i] for i in range(w.n_a)) + mpmath.mpf(float(w.b_y[j])) for j in range(w.n_y)]
        return [z[label] - z[j] for j in range(w.n_y)]


@pytest.mark.parametrize("method", ["interval", "symbolic"])
@pytest.mark.parametrize("seed", range(4))
def test_margin_lower_bounds_hold_exactly(method: str, seed: int) -> None:
    w = random_lstm(seed, scale=1.5)
    rng = np.random.default_rng(100 + seed)
    T, eps = 6, 0.05
    xs = rng.normal(size=(T, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmax())
    cert = ls.certify(w, xs, eps, label, method=method)
    assert cert.margins.shape == (w.n_y,) and cert.margins[label] == np.inf
    ball = ls.LinfBall(xs, eps)
    points = [xs, xs - eps, xs + eps] + [ball.sample(rng, 1, 0)[0] * 0 + xs + eps * rng.choice([-1.0, 1.0], xs.shape) for _ in range(4)]
    for x in points:
        x = np.clip(x, ball.lo, ball.hi)
        for j, m in enumerate(exact_margins(w, x, label)):
            if j != label:
                assert cert.margins[j] <= m, f"margin bound {cert.margins[j]} above the exact {m} (j={j})"


def test_certified_means_argmax_everywhere_sampled() -> None:
    w = random_lstm(7, scale=0.5)
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(5, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmax())
    cert = ls.certify(w, xs, 1e-3, label)
    assert cert.certified, "a tiny ball around a sample should certify on this model"
    X = xs[:, None, :] + 1e-3 * rng.uniform(-1, 1, (5, 500, w.n_x))
    assert (ls.forward(w, X).y[-1].argmax(axis=-1) == label).all()


def test_symbolic_margins_at_least_interval_and_batched() -> None:
    w = random_lstm(11, scale=1.0)
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(8, 6, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(axis=-1)
    ci = ls.certify(w, xs, 0.02, labels, method="interval")
    cs = ls.certify(w, xs, 0.02, labels, method="symbolic")
    assert ci.margins.shape == cs.margins.shape == (6, w.n_y)
    assert (cs.margins >= ci.margins).all()
    assert cs.count >= ci.count
    # batched result equals the per-sample results
    for b in range(6):
        one = ls.certify(w, xs[:, b], 0.02, int(labels[b]), method="symbolic")
        assert one.certified == cs.certified[b]


def test_a_wrong_label_is_never_certified() -> None:
    w = random_lstm(2)
    xs = np.random.default_rng(0).normal(size=(4, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmin())
    cert = ls.certify(w, xs, 0.0, label)
    assert not cert.certified and cert.min_margin < 0


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"labels": 7}, "labels"), ({"labels": 1.5}, "labels"), ({"eps": -1.0}, "eps"), ({"xs_or_sets": np.zeros((3, 5))}, "xs")],
)
def test_certify_bad_input(kwargs: dict, argument: str) -> None:
    w = random_lstm(0)
    args = {"model": w, "xs_or_sets": np.zeros((3, w.n_x)), "eps": 0.1, "labels": 0} | kwargs
    with pytest.raises(ValueError, match=argument):
        ls.certify(**args)


def test_certify_needs_output_layer() -> None:
    with pytest.raises(ValueError, match="output layer"):
        ls.certify(random_lstm(0, n_y=None), np.zeros((2, 3)), 0.1, 0)


# --- invariants ------------------------------------------------------------------------------


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
