"""A priori domains: algebra (exact) and the interval engine's bounds lying inside them."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import lstm_symbolic as ls
from lstm_symbolic import domains as D
from lstm_symbolic.errors import InputError

R = sp.Rational


def test_notes_formula_coincides_only_when_box_contains_zero() -> None:
    for lo, hi in ((R(-1), R(2)), (R(0), R(0)), (R(-3), R(0))):
        for t in range(1, 5):
            assert D.cell_apriori(t, lo, hi) == D.notes_cell_domain(t, lo, hi)
    assert D.cell_apriori(1, 5, 6) != D.notes_cell_domain(1, 5, 6)
    assert D.cell_apriori(1, 5, 6).lo == -1


@pytest.mark.parametrize("c0", [R(-3), R(0), R(5, 2), R(7)])
def test_apriori_cell_is_the_iterated_exact_step(c0: sp.Rational) -> None:
    seq = D.cell_bounds(8, (c0, c0), (0, 1), (0, 1), (-1, 1))
    for t in range(1, 9):
        dom = D.cell_apriori(t, c0, c0)
        assert (seq[t][0], seq[t][1]) == (dom.lo, dom.hi)


def test_cell_step_is_exact_hull_on_vertices() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        L, U = sorted(R(int(v), 7) for v in rng.integers(-30, 30, 2))
        fl, fh = sorted(R(int(v), 10) for v in rng.integers(0, 11, 2))
        ul, uh = sorted(R(int(v), 10) for v in rng.integers(0, 11, 2))
        cl, ch = sorted(R(int(v), 10) for v in rng.integers(-10, 11, 2))
        vals = [f * c + u * k for f in (fl, fh) for c in (L, U) for u in (ul, uh) for k in (cl, ch)]
        assert D.cell_step(L, U, (fl, fh), (ul, uh), (cl, ch)) == (min(vals), max(vals))


def test_closed_form_matches_recursion_and_limit() -> None:
    for fh, M, U0 in ((R(9, 10), R(1), R(0)), (R(1, 2), R(3, 4), R(5)), (R(1), R(1, 3), R(2))):
        seq = D.cell_bounds(12, (-U0, U0), (0, fh), (0, 1), (-M, M))
        for t in range(13):
            assert sp.simplify(D.cell_upper_closed(t, U0, fh, M) - seq[t][1]) == 0
        lim = D.cell_upper_limit(U0, fh, M)
        assert (lim == sp.oo) == (fh == 1)
        assert bool(D.cell_bounded_condition(fh, M)) == (fh < 1)
    assert sp.simplify(D.cell_recursion_solution() - D.cell_upper_closed().args[1][0]) == 0


def test_domain_validation() -> None:
    with pytest.raises(InputError):
        D.output_apriori(0)
    with pytest.raises(InputError):
        D.cell_bounds(-1, (0, 0), (0, 1), (0, 1), (-1, 1))
    with pytest.raises(InputError):
        D.cell_apriori().enclose()
    assert D.output_apriori(1).as_sympy() == sp.FiniteSet(1)


def _random_model(rng: np.random.Generator, n_a: int, n_x: int, n_y: int, scale: float) -> ls.LSTMWeights:
    g = lambda *s: rng.normal(0.0, scale, s)  # noqa: E731
    return ls.LSTMWeights(W_f=g(n_a, n_a + n_x), W_u=g(n_a, n_a + n_x), W_c=g(n_a, n_a + n_x), W_o=g(n_a, n_a + n_x),
                          b_f=g(n_a), b_u=g(n_a), b_c=g(n_a), b_o=g(n_a), W_y=g(n_y, n_a), b_y=g(n_y))


@pytest.mark.parametrize("seed", range(12))
def test_interval_engine_inside_apriori_domains(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_a, n_x, n_y, T = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(2, 4)), 6
    w = _random_model(rng, n_a, n_x, n_y, scale=float(rng.uniform(0.2, 2.0)))
    c0lo = rng.uniform(-2, 2, n_a)
    c0hi = c0lo + rng.uniform(0, 1, n_a)
    lo = rng.uniform(-1, 0, n_x)
    tr = ls.propagate(w, ls.Box(lo, lo + rng.uniform(0, 1, n_x)), steps=T, c0=ls.Interval(c0lo, c0hi))
    gate_lo, gate_hi = D.GATE.enclose()
    cand_lo, cand_hi = D.CANDIDATE.enclose()
    for name in ("f", "u", "o"):
        iv = getattr(tr, name)
        assert (iv.lo >= gate_lo).all() and (iv.hi <= gate_hi).all(), name
    assert (tr.c_tilde.lo >= cand_lo).all() and (tr.c_tilde.hi <= cand_hi).all()
    out_lo, out_hi = D.output_apriori(n_y).enclose()
    assert (tr.y.lo >= out_lo).all() and (tr.y.hi <= out_hi).all()
    for t in range(1, T + 1):
        for i in range(n_a):
            c_dom = D.cell_apriori(t, sp.Float(c0lo[i], 17), sp.Float(c0hi[i], 17))
            a_dom = D.hidden_apriori(t, sp.Float(c0lo[i], 17), sp.Float(c0hi[i], 17))
            clo, chi = c_dom.enclose()
            alo, ahi = a_dom.enclose()
            assert clo <= tr.c.lo[t - 1, i] and tr.c.hi[t - 1, i] <= chi, (t, i)
            assert alo <= tr.a.lo[t - 1, i] and tr.a.hi[t - 1, i] <= ahi, (t, i)


@pytest.mark.parametrize("seed", range(6))
def test_interval_engine_inside_known_range_limit(seed: int) -> None:
    # with the engine's own gate ranges over all steps, |c_t| ≤ max(|c0|, M/(1 − sup Γ_f)) in exact
    # arithmetic; for T = 8 and sup Γ_f < 0.99 the engine's bound stays far (≫ ulps) below it.
    rng = np.random.default_rng(100 + seed)
    n_a, n_x, T = 3, 2, 8
    w = _random_model(rng, n_a, n_x, 2, scale=0.5)
    tr = ls.propagate(w, ls.Box(-np.ones(n_x), np.ones(n_x)), steps=T)
    f_hi = tr.f.hi.max(axis=0)
    assert (f_hi < 0.99).all()
    for i in range(n_a):
        # M = max |Γ_u c̃| over the engine's ranges, exactly (floats → rationals, no rounding)
        M = max(R(float(tr.u.hi[t, i])) * max(abs(R(float(tr.c_tilde.lo[t, i]))), abs(R(float(tr.c_tilde.hi[t, i]))))
                for t in range(T))
        lim = D.cell_upper_limit(0, R(float(f_hi[i])), M)
        bound = float(sp.N(lim, 30))
        assert np.abs(tr.c.lo[:, i]).max() <= bound and np.abs(tr.c.hi[:, i]).max() <= bound
