"""invariant: exact checks against high-precision trajectories, zero tolerance."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.reference import exact_trajectory
import _models


def random_lstm(seed: int, n_a: int = 4, n_x: int = 3, n_y: int | None = 3, scale: float = 1.0, bias: float = 1.0) -> ls.LSTMWeights:
    return _models.random_lstm(seed, n_a, n_x, n_y, scale, bias, head_scale=2.0)

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
        A, C = inv.bounds  # inside (a, c): checking the tightest bound checks both
        for t in range(T):
            for i in range(3):
                assert mpmath.mpf(float(C.lo[i])) <= ex.c[t, i] <= mpmath.mpf(float(C.hi[i])), (kind, t, i)
                assert mpmath.mpf(float(A.lo[i])) <= ex.a[t, i] <= mpmath.mpf(float(A.hi[i])), (kind, t, i)
    # float simulations far longer than any propagation
    X = rng.uniform(-1, 1, (3000, 64, 2))
    run = ls.forward(w, X, c0=c0)
    assert inv.c.contains(run.c).all() and inv.a.contains(run.a).all()
    A, C = inv.bounds  # the tightest proven box: inside the inductive one, around every trajectory
    assert A.subset(inv.a).all() and C.subset(inv.c).all()
    assert C.contains(run.c).all() and A.contains(run.a).all()


def test_invariant_is_a_proven_fixed_box() -> None:
    w = random_lstm(4, n_a=3, n_x=2, n_y=None, scale=0.4, bias=0.5)
    box = ls.Box(-np.ones(2), np.ones(2))
    inv = ls.invariant(w, box, search=False)
    assert inv.found
    # replay the proof obligation: c⁺ and a⁺ are nondecreasing in c (Γ_f, Γ_o > 0, and unit i
    # reads no other c_j), so the image of A × C is bounded by the steps from A × {C.hi} (upper
    # ends) and A × {C.lo} (lower ends), each a sound step of the proof's method, from each of
    # the pieces the proof cut A into
    from lstm_symbolic.invariants.box import Stepper

    assert inv.split > 0  # small models split by default: replay with the pieces
    lo, hi = Stepper(w, box, inv.method, "fast", inv.split).pieces((inv.a.lo, inv.a.hi))
    assert lo.shape == (2**inv.split, 3) and (lo <= hi).all()
    assert (lo.min(axis=0) == inv.a.lo).all() and (hi.max(axis=0) == inv.a.hi).all()
    pts = np.random.default_rng(1).uniform(inv.a.lo, inv.a.hi, (400, 3))
    assert all(((lo <= p) & (p <= hi)).all(axis=1).any() for p in pts), "the pieces must cover A"
    A = ls.Interval(lo, hi)
    at = lambda v: ls.Interval(np.broadcast_to(v, lo.shape), np.broadcast_to(v, lo.shape))  # noqa: E731
    up = ls.propagate(w, box, steps=1, a0=A, c0=at(inv.c.hi), method=inv.method)
    down = ls.propagate(w, box, steps=1, a0=A, c0=at(inv.c.lo), method=inv.method)
    assert (up.c.hi[0].max(axis=0) <= inv.c.hi).all() and (down.c.lo[0].min(axis=0) >= inv.c.lo).all()
    assert (up.a.hi[0].max(axis=0) <= inv.a.hi).all() and (down.a.lo[0].min(axis=0) >= inv.a.lo).all()
    # without splitting, the same replay of a split=0 proof
    inv0 = ls.invariant(w, box, search=False, split=0, gated=False, contraction=False)
    up = ls.propagate(w, box, steps=1, a0=inv0.a, c0=ls.Interval(inv0.c.hi, inv0.c.hi), method=inv0.method)
    down = ls.propagate(w, box, steps=1, a0=inv0.a, c0=ls.Interval(inv0.c.lo, inv0.c.lo), method=inv0.method)
    assert (up.c.hi[0] <= inv0.c.hi).all() and (down.c.lo[0] >= inv0.c.lo).all()
    assert (up.a.hi[0] <= inv0.a.hi).all() and (down.a.lo[0] >= inv0.a.lo).all()


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
    box = ls.Box(-np.ones(3), np.ones(3))
    for kwargs, name in (({"method": "exact"}, "method"), ({"split": -1}, "split"), ({"split": 17}, "split"),
                         ({"slabs": 0}, "slabs"), ({"search": 0}, "search"), ({"gated": "yes"}, "gated"),
                         ({"max_iter": 1.5}, "max_iter")):
        with pytest.raises(ValueError, match=name):
            ls.invariant(w, box, **kwargs)


# --- helpers for exact replays ----------------------------------------------------------------


def _inside(values, iv: ls.Interval) -> list[str]:
    """Exact comparisons of mpf values with float ends (a float converts to an mpf exactly)."""
    return [f"{mpmath.nstr(v, 20)} not in [{float(l)!r}, {float(h)!r}]" for v, l, h in zip(values, iv.lo, iv.hi)
            if v < mpmath.mpf(float(l)) or v > mpmath.mpf(float(h))]


def _members(rng: np.random.Generator, iv: ls.Interval, k: int) -> np.ndarray:
    """Corners (even k) and uniform points (odd k) of a box, (k, n)."""
    out = []
    for j in range(k):
        if j % 2 == 0:
            out.append(np.where(rng.random(iv.lo.shape) < 0.5, iv.hi, iv.lo))
        else:
            out.append(np.clip(iv.lo + (iv.hi - iv.lo) * rng.random(iv.lo.shape), iv.lo, iv.hi))
    return np.array(out)


def _box_inputs(rng: np.random.Generator, X: ls.Box, k: int) -> np.ndarray:
    return _members(rng, ls.Interval(X.lo, X.hi), k)


# --- the output-gate template, replayed exactly -----------------------------------------------


@pytest.mark.parametrize("seed", range(2))
def test_output_gate_template_is_inductive_exactly(seed: int) -> None:
    """``inv.template = (C, O)`` claims: for c ∈ C, o ∈ O, a = o ⊙ tanh(c) and x ∈ X, one exact
    step has c⁺ ∈ C and Γ_o⁺ ∈ O; and the first step from the initial state lands there."""
    rng = np.random.default_rng(50 + seed)
    w = random_lstm(seed, n_a=3, n_x=2, n_y=None, scale=0.6, bias=0.5)
    X = ls.Box(-np.ones(2), np.ones(2))
    inv = ls.invariant(w, X, gated=True, search=False, contraction=False)
    assert inv.found and inv.template is not None, inv.reason
    C, O = inv.template
    assert (O.lo >= 0).all() and (O.hi <= 1).all()
    cs, os_, xs = _members(rng, C, 30), _members(rng, O, 30), _box_inputs(rng, X, 30)
    with mpmath.workdps(50):
        for c, o, x in zip(cs, os_, xs):
            a = [mpmath.mpf(float(oi)) * mpmath.tanh(mpmath.mpf(float(ci))) for oi, ci in zip(o, c)]
            ex = exact_trajectory(w, x[None], a, c, dps=50)
            bad = _inside(ex.c[0], C) + _inside(ex.o[0], O)
            assert not bad, f"template step leaves (C, O) from c={c.tolist()}, o={o.tolist()}, x={x.tolist()}: {bad}"
    # the first step from a0 = c0 = 0
    for x in xs[:6]:
        ex = exact_trajectory(w, x[None], dps=50)
        assert not (_inside(ex.c[0], C) + _inside(ex.o[0], O))
    # and the box read off contains long trajectories
    run = ls.forward(w, rng.uniform(-1, 1, (2000, 32, 2)))
    A_b, C_b = inv.bounds
    assert A_b.contains(run.a).all() and C_b.contains(run.c).all()


# --- the contraction certificate, replayed exactly --------------------------------------------


def test_contraction_certificate_holds_exactly() -> None:
    """``inv.contraction`` claims ``|δ⁺| <= M |δ|`` (v = (|δc|, |δa|)) for any two states of its
    set under the same input, and ``M p <= rate p``. Both replayed exactly (mpmath)."""
    rng = np.random.default_rng(7)
    w = random_lstm(0, n_a=3, n_x=2, n_y=None, scale=0.1, bias=0.5)
    X = ls.Box(-np.ones(2), np.ones(2))
    inv = ls.invariant(w, X, search=False)
    cert = inv.contraction
    assert inv.found and cert is not None and cert.holds and cert.rate < 1, inv.reason
    assert inv.horizon > 0 and "contracts" in inv.reason
    n = w.n_a
    Mq = [[mpmath.mpf(float(v)) for v in row] for row in cert.matrix]
    p = [mpmath.mpf(float(v)) for v in cert.weights]
    with mpmath.workdps(50):
        for i in range(2 * n):  # M p <= rate p, exactly
            assert mpmath.fsum(Mq[i][j] * p[j] for j in range(2 * n)) <= mpmath.mpf(cert.rate) * p[i]
        A_s, C_s = cert.a, cert.c
        for k in range(25):
            a1, a2 = _members(rng, A_s, 2)
            c1, c2 = _members(rng, C_s, 2)
            if k % 3 == 0:  # close pairs too
                a2 = np.clip(a1 + 1e-3 * rng.normal(size=n), A_s.lo, A_s.hi)
                c2 = np.clip(c1 + 1e-3 * rng.normal(size=n), C_s.lo, C_s.hi)
            x = _box_inputs(rng, X, 1)
            e1 = exact_trajectory(w, x, a1, c1, dps=50)
            e2 = exact_trajectory(w, x, a2, c2, dps=50)
            v = [abs(mpmath.mpf(float(c1[i])) - mpmath.mpf(float(c2[i]))) for i in range(n)] + \
                [abs(mpmath.mpf(float(a1[i])) - mpmath.mpf(float(a2[i]))) for i in range(n)]
            v_new = [abs(e1.c[0, i] - e2.c[0, i]) for i in range(n)] + [abs(e1.a[0, i] - e2.a[0, i]) for i in range(n)]
            for i in range(2 * n):
                bound = mpmath.fsum(Mq[i][j] * v[j] for j in range(2 * n))
                assert v_new[i] <= bound, (k, i, v_new[i], bound)
    # the contraction bound is tighter than the inductive box, and holds along long runs
    A_b, C_b = inv.bounds
    assert (C_b.width < inv.c.width).any()
    run = ls.forward(w, rng.uniform(-1, 1, (3000, 64, 2)))
    assert A_b.contains(run.a).all() and C_b.contains(run.c).all()
    for xs in (rng.choice([-1.0, 1.0], (150, 2)), np.ones((150, 2))):
        ex = exact_trajectory(w, xs, dps=40)
        for t in range(150):
            assert not (_inside(ex.c[t], C_b) + _inside(ex.a[t], A_b)), t


# --- the inner estimate beside every invariant ------------------------------------------------


def test_invariant_reports_the_worst_case_search() -> None:
    w = random_lstm(3, n_a=3, n_x=2, n_y=None, scale=0.5, bias=0.5)
    X = ls.Box(-np.ones(2), np.ones(2))
    inv = ls.invariant(w, X, search=500)
    assert inv.found and inv.reached is not None and inv.reached.steps == 500
    r = inv.reached
    A, C = inv.bounds
    # the search's states are real trajectories: inside every proven bound
    assert C.contains(r.c.lo).all() and C.contains(r.c.hi).all() and A.contains(r.a.lo).all() and A.contains(r.a.hi).all()
    assert (inv.ratio >= 1).all() and inv.ratio.shape == (3,) and inv.a_ratio.shape == (3,)
    for name, (a_s, c_s) in r.sources.items():
        assert C.contains(c_s.lo).all() and C.contains(c_s.hi).all(), name
    # no box invariant is narrower than the floor (an estimate from reachable states; it is
    # computed in floats, hence the relative slack of 1e-9)
    slack = 1e-9 * np.maximum(np.abs(inv.c.lo), np.abs(inv.c.hi))
    assert (inv.c.lo <= inv.floor.lo + slack).all() and (inv.floor.hi - slack <= inv.c.hi).all()
    assert "reached" in inv.summary() and "invariant / reached" in inv.summary()


def test_worst_case_witnesses_are_real() -> None:
    """The greedy's end values are those of real float trajectories: a held vertex reaches what
    forward() says it reaches."""
    from lstm_symbolic.worst_case import vertices, worst_case

    w = random_lstm(5, n_a=3, n_x=2, n_y=None, scale=0.8, bias=0.5)
    X = ls.Box(np.zeros(2), np.ones(2))
    V = vertices(X)
    assert V.shape == (4, 2) and {tuple(v) for v in V} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    r = worst_case(w, X, steps=300, random_sequences=0)
    held = ls.forward(w, np.broadcast_to(V[None], (300, 4, 2)))
    lo, hi = r.sources["hold"][1].lo, r.sources["hold"][1].hi
    assert np.array_equal(lo, np.minimum(held.c.min(axis=(0, 1)), 0.0)) and np.array_equal(hi, np.maximum(held.c.max(axis=(0, 1)), 0.0))
    # one-hot sets: the vertices are the allowed tokens
    assert vertices(ls.OneHot(5, allowed=[1, 3])).tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
    for kwargs, name in (({"steps": 0}, "steps"), ({"random_sequences": -1}, "random_sequences"),
                         ({"inputs": ls.Box(np.zeros(3), np.ones(3))}, "inputs")):
        with pytest.raises(ValueError, match=name):
            worst_case(w, **({"inputs": X} | kwargs))


def test_counting_unit_reason() -> None:
    counter = ls.LSTMWeights(**{f"W_{g}": np.zeros((1, 2)) for g in "fuco"}, b_f=[40.0], b_u=[40.0], b_c=[40.0], b_o=[0.0])
    inv = ls.invariant(counter, ls.Box([0.0], [0.0]), max_iter=60, search=400)
    assert not inv.found and inv.c is None
    assert "forget gate" in inv.reason and "counts" in inv.reason, inv.reason
    assert inv.reached is not None and inv.reached.c.hi[0] > 350  # it did count


def test_budget_exhausted_reason() -> None:
    w = random_lstm(1, n_a=3, n_x=2, n_y=None, scale=2.0, bias=2.0)
    w = ls.LSTMWeights(**(w.to_arrays() | {"b_f": np.full(3, 40.0)}))  # Γ_f = 1 to float precision
    inv = ls.invariant(w, ls.Box(-np.ones(2), np.ones(2)), max_iter=3, search=False)
    assert not inv.found
    assert "budget exhausted" in inv.reason and "fails induction by" in inv.reason, inv.reason


def test_invariant_refuses_an_unknown_mode() -> None:
    rng = np.random.default_rng(0)
    w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(3, 5)) for g in "fuco"}, **{f"b_{g}": rng.normal(size=3) for g in "fuco"})
    with pytest.raises(ls.InputError, match="^mode: "):
        ls.invariant(w, ls.Box(-np.ones(2), np.ones(2)), mode="bogus")
