"""Constants: closed forms vs independent mpmath computations, derivations, outward enclosures."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_symbolic import constants as C
from lstm_symbolic.errors import InputError


@pytest.mark.parametrize("key", sorted(C.CONSTANTS))
def test_constant_agrees_two_ways(key: str) -> None:
    chk = C.check(key)
    assert chk.ok, (key, chk.agree_digits)
    assert chk.agree_digits >= C.AGREE_DIGITS


def test_check_detects_a_wrong_closed_form() -> None:
    # the checker must be able to fail: a closed form off by 1e-40 is caught
    good = C.CONSTANTS["tanh_prime_1"]
    bad = C.Constant("bad", "bad", good.closed + sp.Rational(1, 10**40), good.independent, good.method)
    C.CONSTANTS["__bad__"] = bad
    try:
        assert not C.check("__bad__").ok
    finally:
        del C.CONSTANTS["__bad__"]
        C.check.cache_clear()


def test_derivations_hold() -> None:
    facts = C.derivations()
    assert facts and all(facts.values()), {k: v for k, v in facts.items() if not v}


def test_tanh_prime_is_derived_not_typed() -> None:
    assert sp.simplify(C.TANH_PRIME - sp.diff(sp.tanh(C.x), C.x)) == 0
    assert C.TANH_PRIME.subs(C.x, 0) == 1


def test_minimax_equioscillates() -> None:
    # the minimax line ½ + kx has |e(x_k)| = |e(2)| = E, and nudging k either way makes max|e| larger
    with mp.workdps(60):
        k = C.value("fit_minimax_slope")
        E = C.value("fit_minimax_max_error")
        sig = lambda t: 1 / (1 + mp.exp(-t))  # noqa: E731

        def maxerr(kk: mp.mpf) -> mp.mpf:
            xs = [mp.mpf(i) / 500 for i in range(0, 1001)]
            return max(abs(sig(t) - mp.mpf(1) / 2 - kk * t) for t in xs)

        assert abs(maxerr(k) - E) < mp.mpf(10) ** -6  # grid resolution
        d = mp.mpf(10) ** -4
        assert maxerr(k + d) > E and maxerr(k - d) > E


def test_minimax_slope_enclosure_brackets_a_sign_change() -> None:
    f = sp.lambdify(sp.Symbol("k", positive=True), C.MINIMAX_EQUATION.subs(
        list(C.MINIMAX_EQUATION.free_symbols)[0], sp.Symbol("k", positive=True)), "mpmath")
    with mp.workdps(60):
        lo, hi = C.enclose_approx(C.value("fit_minimax_slope"))
        assert f(mp.mpf(lo)) * f(mp.mpf(hi)) < 0


@pytest.mark.parametrize("expr", [sp.log(2), 1 / sp.log(2), sp.tanh(1), sp.tanh(2), sp.pi, -sp.sqrt(2), sp.exp(-30)])
def test_enclose_irrational_contains_high_precision_value(expr: sp.Expr) -> None:
    lo, hi = C.enclose(expr)
    assert lo < hi and math.nextafter(lo, math.inf) == hi  # tight: adjacent floats
    with mp.workdps(100):
        v = sp.lambdify((), expr, "mpmath")()
        assert mp.mpf(lo) < v < mp.mpf(hi)


def test_ln2_enclosure() -> None:
    lo, hi = C.ln2_enclosure()
    with mp.workdps(100):
        assert mp.mpf(lo) < mp.log(2) < mp.mpf(hi)
    assert hi == math.nextafter(lo, math.inf)


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(1, 10**30))
def test_enclose_rationals_exact(p: int, q: int) -> None:
    lo, hi = C.enclose(sp.Rational(p, q))
    r = Fraction(p, q)
    assert Fraction(lo) <= r <= Fraction(hi)
    assert lo == hi or math.nextafter(lo, math.inf) == hi
    if Fraction(float(r)) == r:
        assert lo == hi == float(r)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_enclose_mpf_exact(xf: float) -> None:
    with mp.workdps(80):
        v = mp.mpf(xf) + mp.mpf(2) ** -1000 * (1 if xf >= 0 else -1)  # never a float (unless tiny)
        lo, hi = C.enclose(v)
        assert mp.mpf(lo) <= v <= mp.mpf(hi)


def test_enclose_rejects_non_real() -> None:
    with pytest.raises(InputError):
        C.enclose(sp.sqrt(-2) + 0 * sp.pi)
    with pytest.raises(InputError):
        C.constant("no-such-constant")


def test_enclosures_table() -> None:
    enc = C.enclosures()
    assert enc["sigmoid_prime_max"] == (0.25, 0.25)
    for name, (lo, hi) in enc.items():
        assert lo <= hi, name
