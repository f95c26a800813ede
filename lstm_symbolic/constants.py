"""Constants of the LSTM's nonlinearities: derived by sympy, evaluated by mpmath, checked twice.

Every constant here is a sympy closed form (or, for the minimax fit, the root of a sympy
equation), evaluated with mpmath at :data:`DPS` = 60 significant digits and compared with an
*independent* mpmath computation — another formula, numerical differentiation (``mp.diff``),
quadrature (``mp.quad``) or root finding (``mp.findroot``) — which must agree to
:data:`AGREE_DIGITS` = 50 digits. No number is typed in: the only literals are the exact
rationals that *define* a question (ε = 1/10, the interval (−2, 2), the notes' slope 1/6).

Derivations (each checked by sympy in :func:`derivations`):

* tanh′(x) = 1 − tanh(x)²                     (``sympy.diff``)
* σ(x) = 1/(1 + e^{−x}) = (1 + tanh(x/2))/2   ⇒ σ′(x) = tanh′(x/2)/4 ≤ 1/4
* saturation: tanh′(x) = ε·tanh′(0) ⇔ |x| = atanh(√(1 − ε)); σ′(x) = ε·σ′(0) ⇔ |x| = 2·atanh(√(1 − ε))
* linear fits ½ + kx of σ on [−2, 2] (σ − ½ is odd, so every best fit has intercept ½):
  the error e(x) = σ(x) − ½ − kx has its interior extremum where σ′(x) = k, i.e.
  x_k = 2·atanh(√(1 − 4k)) (for 0 < k < 1/4), so max|e| = max(|e(x_k)|, |e(2)|).
  - secant: k = (σ(2) − σ(−2))/4 = tanh(1)/4
  - least squares: k = ∫ x(σ − ½) / ∫ x² = (3/16)·[F(2) − F(−2)], F(x) = x·ln(1+eˣ) + Li₂(−eˣ)
  - minimax: k is the root of e(x_k) + e(2) = 0 (equioscillation at −2, −x_k, x_k, 2)

:func:`enclose` rounds any sympy or mpmath value outward to a float64 pair (lo, hi), proved by
comparing at high precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import mpmath as mp
import sympy as sp

from lstm_symbolic.errors import InputError
from lstm_symbolic.interval import rounding as R

__all__ = [
    "DPS",
    "AGREE_DIGITS",
    "x",
    "SIGMOID",
    "TANH",
    "TANH_PRIME",
    "SIGMOID_PRIME",
    "SATURATION_EPS",
    "Constant",
    "CONSTANTS",
    "constant",
    "value",
    "check",
    "check_all",
    "derivations",
    "enclose",
    "enclose_approx",
    "enclosures",
    "ln2_enclosure",
    "fit_error_expr",
    "fit_critical_point",
    "table_rows",
]

#: working precision (significant decimal digits) of every evaluation in this module
DPS: int = 60
#: the closed form and the independent computation must agree to this many digits
AGREE_DIGITS: int = 50

x = sp.Symbol("x", real=True)
k = sp.Symbol("k", positive=True)

#: σ(x) = 1/(1 + e^{−x})
SIGMOID: sp.Expr = 1 / (1 + sp.exp(-x))
TANH: sp.Expr = sp.tanh(x)
#: derived by sympy: 1 − tanh(x)²
TANH_PRIME: sp.Expr = sp.diff(TANH, x)
#: derived by sympy, then rewritten with tanh(x/2): tanh′(x/2)/4
SIGMOID_PRIME: sp.Expr = sp.diff(SIGMOID, x)

_HALF = sp.Rational(1, 2)
#: the fitting interval of the notes, (−2, 2)
FIT_HALF_WIDTH = sp.Integer(2)
#: the slope of the notes' "0.5 + x/6"
NOTES_SLOPE = sp.Rational(1, 6)

#: ε of the saturation thresholds: where the derivative falls to ε times its maximum
SATURATION_EPS: dict[str, sp.Expr] = {
    "1/2": sp.Rational(1, 2),
    "1/10": sp.Rational(1, 10),
    "tanh'(2)": TANH_PRIME.subs(x, 2),
    "1/100": sp.Rational(1, 100),
}


# ----------------------------------------------------------------------------------------------
# closed forms
# ----------------------------------------------------------------------------------------------


def fit_critical_point(slope: sp.Expr) -> sp.Expr:
    """x_k = 2·atanh(√(1 − 4k)): the positive root of σ′(x) = k, for 0 < k < 1/4.

    From σ′(x) = tanh′(x/2)/4 = (1 − tanh²(x/2))/4 = k ⇔ tanh(x/2) = √(1 − 4k).
    """
    return 2 * sp.atanh(sp.sqrt(1 - 4 * slope))


def fit_error_expr(slope: sp.Expr, at: sp.Expr) -> sp.Expr:
    """e(x) = σ(x) − ½ − k·x, the error of the linear fit ½ + kx, at x = ``at``."""
    return SIGMOID.subs(x, at) - _HALF - slope * at


def _fit_max_error(slope: sp.Expr) -> sp.Expr:
    """max over [−2, 2] of |σ(x) − ½ − kx| = max(|e(x_k)|, |e(2)|) (e is odd; see module doc)."""
    return sp.Max(
        sp.Abs(fit_error_expr(slope, fit_critical_point(slope))),
        sp.Abs(fit_error_expr(slope, FIT_HALF_WIDTH)),
        evaluate=False,
    )


#: antiderivative of x·σ(x): d/dx [x·ln(1 + eˣ) + Li₂(−eˣ)] = x·σ(x) (checked in derivations)
X_SIGMOID_ANTIDERIVATIVE: sp.Expr = x * sp.log(1 + sp.exp(x)) + sp.polylog(2, -sp.exp(x))

SECANT_SLOPE: sp.Expr = (SIGMOID.subs(x, 2) - SIGMOID.subs(x, -2)) / 4
LSQ_SLOPE: sp.Expr = (
    X_SIGMOID_ANTIDERIVATIVE.subs(x, 2)
    - X_SIGMOID_ANTIDERIVATIVE.subs(x, -2)
    - _HALF * sp.integrate(x, (x, -2, 2))
) / sp.integrate(x**2, (x, -2, 2))
#: the minimax slope is the root in (1/6, 1/4) of this expression in k (equioscillation)
MINIMAX_EQUATION: sp.Expr = fit_error_expr(k, fit_critical_point(k)) + fit_error_expr(k, FIT_HALF_WIDTH)


@lru_cache(maxsize=None)
def _minimax_slope_mpf(dps: int) -> mp.mpf:
    """Root of :data:`MINIMAX_EQUATION`, by mpmath bisection-Anderson on the bracket (1/6, 1/4)."""
    f = sp.lambdify(k, MINIMAX_EQUATION, modules="mpmath")
    with mp.workdps(dps + 10):
        root = mp.findroot(f, (mp.mpf(1) / 6, mp.mpf(1) / 4 - mp.mpf(10) ** -8), solver="anderson")
    return root


# ----------------------------------------------------------------------------------------------
# independent computations (never reuse the closed form)
# ----------------------------------------------------------------------------------------------


def _sig(t: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-t))


def _num_dtanh(t: mp.mpf) -> mp.mpf:
    """tanh′ by mpmath numerical differentiation."""
    return mp.diff(mp.tanh, t)


def _num_threshold(fn: Callable[[mp.mpf], mp.mpf], eps: mp.mpf, guess: float) -> mp.mpf:
    """Root of fn′(x) = ε·fn′(0), fn′ by numerical differentiation, by the secant method."""
    top = mp.diff(fn, 0)
    return mp.findroot(lambda t: mp.diff(fn, t) - eps * top, mp.mpf(guess))


def _num_max_fit_error(slope: mp.mpf) -> mp.mpf:
    """max|σ − ½ − kx| on [−2, 2]: interior critical point by findroot on mp.diff, plus endpoints."""
    err = lambda t: _sig(t) - mp.mpf(1) / 2 - slope * t  # noqa: E731
    crit = mp.findroot(lambda t: mp.diff(_sig, t) - slope, mp.mpf(1))
    return max(abs(err(crit)), abs(err(mp.mpf(2))))


def _num_minimax() -> tuple[mp.mpf, mp.mpf]:
    """(slope, error) of the minimax fit by a 2-D Newton solve of σ′(x) = k, e(x) = −e(2)."""
    def system(t: mp.mpf, kk: mp.mpf) -> list[mp.mpf]:
        err = lambda s: _sig(s) - mp.mpf(1) / 2 - kk * s  # noqa: E731
        return [mp.diff(_sig, t) - kk, err(t) + err(mp.mpf(2))]

    t, kk = mp.findroot(system, (mp.mpf("0.9"), mp.mpf("0.2")))
    return kk, _sig(t) - mp.mpf(1) / 2 - kk * t


def _num_lsq_slope() -> mp.mpf:
    return mp.quad(lambda t: t * (_sig(t) - mp.mpf(1) / 2), [-2, 0, 2]) / mp.quad(lambda t: t * t, [-2, 2])


# ----------------------------------------------------------------------------------------------
# the registry
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    """One constant: a sympy closed form and an independent mpmath computation of the same number.

    ``closed`` is evaluated by mpmath (via ``sympy.lambdify(..., "mpmath")``) at :data:`DPS`
    digits; ``independent`` is a zero-argument mpmath routine run at the same precision.
    ``closed`` may be ``None`` when the value is defined as the root of an equation
    (``root_of``), then ``root`` computes it from that sympy equation.
    """

    key: str
    label: str
    closed: sp.Expr | None
    independent: Callable[[], mp.mpf]
    method: str
    root_of: sp.Expr | None = None
    root: Callable[[int], mp.mpf] | None = None

    def value(self, dps: int = DPS) -> mp.mpf:
        """The closed form (or the root of its defining equation) evaluated by mpmath at ``dps``."""
        if self.closed is None:
            assert self.root is not None
            with mp.workdps(dps):
                return +self.root(dps)
        f = sp.lambdify((), self.closed, modules="mpmath")
        with mp.workdps(dps + 10):
            v = f()
        with mp.workdps(dps):
            return +mp.mpf(v)

    def latex(self) -> str:
        if self.closed is None:
            assert self.root_of is not None
            return r"\text{root in } (1/6, 1/4) \text{ of } " + sp.latex(self.root_of) + " = 0"
        return sp.latex(self.closed)


def _mk() -> dict[str, Constant]:
    cs: list[Constant] = []
    add = cs.append
    for a in (0, 1, 2):
        add(Constant(f"tanh_prime_{a}", f"tanh′({a})", TANH_PRIME.subs(x, a),
                     lambda a=a: _num_dtanh(mp.mpf(a)), "numerical differentiation (mp.diff)"))
    for a in (sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)):
        name = str(a).replace("/", "_")
        add(Constant(f"tanh_{name}", f"tanh({a})", sp.tanh(a),
                     lambda a=a: mp.quad(lambda t: 1 / mp.cosh(t) ** 2, [0, mp.mpf(a.p) / a.q]),
                     "quadrature of sech² (mp.quad)"))
    add(Constant("tanh_linear_error_half", "sup |tanh x − x| on (−½, ½)",
                 _HALF - sp.tanh(_HALF),
                 lambda: mp.mpf(1) / 2 - (mp.e - 1) / (mp.e + 1),
                 "other formula: tanh(½) = (e − 1)/(e + 1)"))
    add(Constant("sigmoid_prime_0", "σ′(0)", SIGMOID_PRIME.subs(x, 0),
                 lambda: mp.diff(_sig, 0), "numerical differentiation (mp.diff)"))
    add(Constant("sigmoid_2", "σ(2)", SIGMOID.subs(x, 2),
                 lambda: (1 + mp.tanh(1)) / 2, "other formula: (1 + tanh 1)/2"))
    for name, eps in SATURATION_EPS.items():
        key = name.replace("/", "_").replace("'", "_prime").replace("(", "_").replace(")", "")
        thr = sp.atanh(sp.sqrt(1 - eps))
        epsf = sp.lambdify((), eps, modules="mpmath")
        add(Constant(f"tanh_saturation_{key}", f"tanh saturation, ε = {name}", thr,
                     lambda epsf=epsf: _num_threshold(mp.tanh, epsf(), 1.5),
                     "root finding on numerical derivative"))
        add(Constant(f"sigmoid_saturation_{key}", f"σ saturation, ε = {name}", 2 * thr,
                     lambda epsf=epsf: _num_threshold(_sig, epsf(), 3.0),
                     "root finding on numerical derivative"))
    fits = {"secant": SECANT_SLOPE, "lsq": LSQ_SLOPE, "notes": NOTES_SLOPE}
    add(Constant("fit_secant_slope", "secant slope of σ on [−2, 2]", SECANT_SLOPE,
                 lambda: mp.tanh(1) / 4, "other formula: tanh(1)/4"))
    add(Constant("fit_lsq_slope", "least-squares slope of σ on [−2, 2]", LSQ_SLOPE,
                 _num_lsq_slope, "quadrature (mp.quad)"))
    add(Constant("fit_minimax_slope", "minimax slope of σ on [−2, 2]", None,
                 lambda: _num_minimax()[0], "2-D Newton on σ′(x) = k, e(x) = −e(2), mp.diff",
                 root_of=MINIMAX_EQUATION, root=_minimax_slope_mpf))
    for name, slope in fits.items():
        add(Constant(f"fit_{name}_max_error", f"max |σ − ½ − kx| on [−2, 2], {name} k",
                     _fit_max_error(slope),
                     lambda slope=slope: _num_max_fit_error(sp.lambdify((), slope, "mpmath")()),
                     "findroot on mp.diff(σ) − k, plus endpoints"))
    add(Constant("fit_minimax_max_error", "max |σ − ½ − kx| on [−2, 2], minimax k", None,
                 lambda: abs(_num_minimax()[1]), "2-D Newton (equioscillation)",
                 root_of=MINIMAX_EQUATION,
                 root=lambda dps: sp.lambdify(k, fit_error_expr(k, FIT_HALF_WIDTH), "mpmath")(
                     _minimax_slope_mpf(dps)) * -1))
    add(Constant("ln2", "ln 2", sp.log(2), lambda: mp.quad(lambda t: 1 / t, [1, 2]),
                 "quadrature of 1/t on [1, 2]"))
    for b in (0, 1, 2):
        # asymptotic a-priori bound of |c| when |Γ_u c̃| < 1 and Γ_f ≤ σ(b): 1/(1 − σ(b))
        add(Constant(f"cell_limit_bias_{b}", f"1/(1 − σ({b})): limit of the c bound, b_f = {b}",
                     sp.simplify(1 / (1 - SIGMOID.subs(x, b))),
                     lambda b=b: mp.nsum(lambda j: _sig(mp.mpf(b)) ** j, [0, mp.inf]),
                     "geometric series Σ σ(b)^j (mp.nsum)"))
    # further numbers the proof documents state (docs/proofs), each with its own check
    add(Constant("sigmoid_1", "σ(1)", SIGMOID.subs(x, 1), lambda: (1 + mp.tanh(mp.mpf(1) / 2)) / 2,
                 "other formula: (1 + tanh ½)/2"))
    for b in (1, 2):
        # Γ_f^20 at initialisation (W ≈ 0): how much of c⟨0⟩ survives 20 steps
        add(Constant(f"forget_gate_bias_{b}_pow_20", f"σ({b})^20: Γ_f^20 at initialisation, b_f = {b}",
                     SIGMOID.subs(x, b) ** 20, lambda b=b: mp.exp(-20 * mp.log1p(mp.exp(-b))),
                     "other formula: exp(−20 ln(1 + e^−b))"))
    add(Constant("sigmoid_tangent_error_2", "1 − σ(2): error of σ's tangent line ½ + x/4 at x = 2",
                 1 - SIGMOID.subs(x, 2), lambda: (1 - mp.tanh(1)) / 2, "other formula: (1 − tanh 1)/2"))
    add(Constant("tanh_linear_relative_error_half", "1 − tanh(½)/½: relative error of tanh x ≈ x at ±½",
                 1 - 2 * sp.tanh(_HALF), lambda: 1 - 2 * mp.quad(lambda t: 1 / mp.cosh(t) ** 2, [0, mp.mpf(1) / 2]),
                 "quadrature of sech² (mp.quad)"))
    add(Constant("sigmoid_prime_ratio_5", "σ′(5)/σ′(0)", SIGMOID_PRIME.subs(x, 5) / SIGMOID_PRIME.subs(x, 0),
                 lambda: mp.diff(_sig, 5) / mp.diff(_sig, 0), "numerical differentiation (mp.diff)"))
    for name, slope in (("secant", SECANT_SLOPE), ("lsq", LSQ_SLOPE)):
        add(Constant(f"fit_{name}_slope_ratio", f"max tanh′ / {name} slope of σ on [−2, 2]", 1 / slope,
                     (lambda: 4 / mp.tanh(1)) if name == "secant" else (lambda: 1 / _num_lsq_slope()),
                     "other formula: 4/tanh 1" if name == "secant" else "quadrature (mp.quad)"))
    for frac in (sp.Rational(19997, 10000), sp.Rational(9995, 10000)):
        add(Constant(f"tanh_{frac.p}_{frac.q}", f"tanh({frac.p}/{frac.q}) (a counterexample of docs/proofs/tanh.md)",
                     sp.tanh(frac), lambda frac=frac: mp.quad(lambda t: 1 / mp.cosh(t) ** 2, [0, mp.mpf(frac.p) / frac.q]),
                     "quadrature of sech² (mp.quad)"))
    add(Constant("tanh_2_minus_0_964", "tanh 2 − 0.964", sp.tanh(2) - sp.Rational(241, 250),
                 lambda: mp.quad(lambda t: 1 / mp.cosh(t) ** 2, [0, 2]) - mp.mpf(241) / 250, "quadrature of sech² (mp.quad)"))
    add(Constant("a_changes_c_difference", "½(tanh 9/20 − tanh 1/20) (docs/proofs/interpretation.md)",
                 (sp.tanh(sp.Rational(9, 20)) - sp.tanh(sp.Rational(1, 20))) / 2,
                 lambda: mp.quad(lambda t: 1 / mp.cosh(t) ** 2, [mp.mpf(1) / 20, mp.mpf(9) / 20]) / 2,
                 "quadrature of sech² (mp.quad)"))
    return {c.key: c for c in cs}


CONSTANTS: dict[str, Constant] = _mk()


def constant(key: str) -> Constant:
    """The registered constant ``key``; :class:`InputError` if unknown."""
    try:
        return CONSTANTS[key]
    except KeyError:
        raise InputError("key", "one of " + ", ".join(sorted(CONSTANTS)), got=key) from None


def value(key: str, dps: int = DPS) -> mp.mpf:
    """Closed form of ``key`` evaluated by mpmath at ``dps`` digits."""
    return constant(key).value(dps)


@dataclass(frozen=True)
class Check:
    key: str
    closed: mp.mpf
    independent: mp.mpf
    agree_digits: float
    ok: bool


@lru_cache(maxsize=None)
def check(key: str, dps: int = DPS) -> Check:
    """Evaluate ``key`` both ways at ``dps`` digits; ok when they agree to :data:`AGREE_DIGITS`."""
    c = constant(key)
    a = c.value(dps)
    with mp.workdps(dps):
        b = +c.independent()
        diff = abs(a - b)
        scale = max(mp.mpf(1), abs(a))
        digits = float(mp.inf) if diff == 0 else float(-mp.log10(diff / scale))
    return Check(key, a, b, digits, digits >= AGREE_DIGITS)


def check_all(dps: int = DPS) -> list[Check]:
    """:func:`check` for every registered constant."""
    return [check(key, dps) for key in CONSTANTS]


def derivations() -> dict[str, bool]:
    """Symbolic facts the constants rest on, each decided by sympy (True = identity holds)."""
    t = sp.Symbol("t", real=True)
    return {
        "tanh' = 1 - tanh^2": sp.simplify(TANH_PRIME - (1 - sp.tanh(x) ** 2)) == 0,
        "sigma = (1 + tanh(x/2))/2": sp.simplify((SIGMOID - (1 + sp.tanh(x / 2)) / 2).rewrite(sp.exp)) == 0,
        "sigma' = tanh'(x/2)/4": sp.simplify((SIGMOID_PRIME - TANH_PRIME.subs(x, x / 2) / 4).rewrite(sp.exp)) == 0,
        "sigma' = sigma(1 - sigma)": sp.simplify(SIGMOID_PRIME - SIGMOID * (1 - SIGMOID)) == 0,
        "sigma(-x) = 1 - sigma(x)": sp.simplify(SIGMOID.subs(x, -x) - (1 - SIGMOID)) == 0,
        "d/dx [x ln(1+e^x) + Li2(-e^x)] = x sigma(x)":
            sp.simplify(sp.expand_func(sp.diff(X_SIGMOID_ANTIDERIVATIVE, x)) - x * SIGMOID) == 0,
        "sigma'(x_k) = k at x_k = 2 atanh(sqrt(1-4k))":
            sp.simplify((SIGMOID_PRIME.subs(x, fit_critical_point(k)) - k).rewrite(sp.exp)) == 0,
        "tanh'(atanh(sqrt(1-e))) = e":
            sp.simplify(TANH_PRIME.subs(x, sp.atanh(sp.sqrt(1 - t))) - t) == 0,
        "d/dx (x - tanh x) = tanh(x)^2 >= 0": sp.simplify(sp.diff(x - sp.tanh(x), x) - sp.tanh(x) ** 2) == 0,
    }


# ----------------------------------------------------------------------------------------------
# outward rounding to float64
# ----------------------------------------------------------------------------------------------


def _enclose_fraction(q: Fraction) -> tuple[float, float]:
    """The adjacent (or equal) floats around an exact rational (the rounding module's)."""
    return R.rational_down(q), R.rational_up(q)


def enclose(v: sp.Expr | mp.mpf | int | Fraction, dps: int = DPS) -> tuple[float, float]:
    """Round ``v`` outward to float64: (lo, hi) with lo ≤ v ≤ hi, lo and hi adjacent or equal.

    * sympy Rational / int / Fraction: exact, by rational comparison.
    * mpmath ``mpf``: exact (an mpf is a binary rational), by mpf comparison.
    * any other sympy real expression: evaluated by mpmath at ``dps`` and at ``2·dps`` digits;
      the two must agree within ρ = 10^(−dps+5)·max(1, |v|) (else :class:`InputError`), and
      lo, hi are the floats with lo ≤ v − ρ and v + ρ ≤ hi, compared at high precision.
    """
    if isinstance(v, (int, Fraction)):
        return _enclose_fraction(Fraction(v))
    if isinstance(v, mp.mpf):
        if not mp.isfinite(v):
            raise InputError("v", "a finite real value", got=v)
        sign, man, exp, _ = v._mpf_  # v = (−1)^sign · man · 2^exp exactly
        q = Fraction(int(man)) * (Fraction(2) ** int(exp))
        return _enclose_fraction(-q if sign else q)
    expr = sp.sympify(v)
    if expr.is_Rational:
        return _enclose_fraction(Fraction(int(expr.p), int(expr.q)))
    f = sp.lambdify((), expr, modules="mpmath")
    try:
        with mp.workdps(2 * dps):
            ref = +mp.mpf(f())
        with mp.workdps(dps):
            low = +mp.mpf(f())
    except TypeError:  # complex value: mpf() refuses an mpc
        raise InputError("v", "a finite real value", got=v) from None
    if not mp.isfinite(ref):
        raise InputError("v", "a finite real value", got=v)
    with mp.workdps(2 * dps):
        rho = mp.mpf(10) ** (-dps + 5) * max(mp.mpf(1), abs(ref))
        if abs(ref - low) > rho / 1000:
            raise InputError("v", "an expression mpmath evaluates stably", got=v)
        lo = float(ref)
        while mp.mpf(lo) > ref - rho:
            lo = math.nextafter(lo, -math.inf)
        hi = float(ref)
        while mp.mpf(hi) < ref + rho:
            hi = math.nextafter(hi, math.inf)
    return lo, hi


def enclose_approx(v: mp.mpf, digits: int = AGREE_DIGITS) -> tuple[float, float]:
    """Float64 (lo, hi) around an mpmath value known to ``digits`` significant digits.

    For values defined as roots (computed by ``findroot`` at ≥ ``digits`` + 10 digits and checked
    against an independent computation to ``digits`` digits): lo ≤ v − ρ, v + ρ ≤ hi with
    ρ = 10^(−digits)·max(1, |v|).
    """
    with mp.workdps(digits + 20):
        rho = mp.mpf(10) ** (-digits) * max(mp.mpf(1), abs(v))
        lo = float(v)
        while mp.mpf(lo) > v - rho:
            lo = math.nextafter(lo, -math.inf)
        hi = float(v)
        while mp.mpf(hi) < v + rho:
            hi = math.nextafter(hi, math.inf)
    return lo, hi


@lru_cache(maxsize=None)
def ln2_enclosure() -> tuple[float, float]:
    """Outward float64 enclosure of ln 2 (for range reduction of exp in the interval core)."""
    return enclose(sp.log(2))


@lru_cache(maxsize=None)
def enclosures() -> dict[str, tuple[float, float]]:
    """Float64 enclosures of the constants an interval kernel may need."""
    exprs: dict[str, sp.Expr] = {
        "ln2": sp.log(2),
        "inv_ln2": 1 / sp.log(2),
        "sigmoid_prime_max": SIGMOID_PRIME.subs(x, 0),
        "tanh_1": sp.tanh(1),
        "tanh_2": sp.tanh(2),
    }
    return {name: enclose(e) for name, e in exprs.items()}


def table_rows(dps: int = DPS) -> list[dict[str, object]]:
    """One row per constant: key, label, closed form, value (``dps`` digits), check, enclosure."""
    rows: list[dict[str, object]] = []
    for c in check_all(dps):
        const = CONSTANTS[c.key]
        with mp.workdps(dps):
            lo, hi = enclose_approx(c.closed) if const.closed is None else enclose(const.closed)
            rows.append(
                {
                    "key": c.key,
                    "label": const.label,
                    "closed_form": str(const.closed) if const.closed is not None else f"root of {const.root_of} = 0",
                    "value": mp.nstr(c.closed, AGREE_DIGITS, strip_zeros=False),
                    "independent_method": const.method,
                    "independent_value": mp.nstr(c.independent, AGREE_DIGITS, strip_zeros=False),
                    "agree_digits": c.agree_digits if math.isfinite(c.agree_digits) else f"all {dps}",
                    "ok": c.ok,
                    "float64_lo": lo,
                    "float64_hi": hi,
                }
            )
    return rows
