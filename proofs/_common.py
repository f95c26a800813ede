"""Helpers shared by the proof modules: exact sympy versions of σ and one LSTM step."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from lstm_symbolic import constants as C
from lstm_symbolic.proof import Evidence, certain_sign, fmt, require

__all__ = ["sigmoid_slope_bound", "sigma_tanh_identities", "sig", "lstm_step", "num", "check_constant", "rounds_to", "certainly_less"]


def sig(z: sp.Expr) -> sp.Expr:
    """σ(z) = 1/(1 + e^{−z}), exact sympy."""
    return 1 / (1 + sp.exp(-z))


def lstm_step(W: dict[str, sp.Matrix], b: dict[str, sp.Matrix], a_prev: sp.Matrix, c_prev: sp.Matrix,
              x_t: sp.Matrix) -> dict[str, sp.Matrix]:
    """One LSTM step in the notes' notation, exact sympy (W[g] acts on z = [a⟨t−1⟩, x⟨t⟩])."""
    z = sp.Matrix.vstack(a_prev, x_t)
    pre = {g: W[g] * z + b[g] for g in ("f", "u", "c", "o")}
    f = pre["f"].applyfunc(sig)
    u = pre["u"].applyfunc(sig)
    o = pre["o"].applyfunc(sig)
    ct = pre["c"].applyfunc(sp.tanh)
    c = f.multiply_elementwise(c_prev) + u.multiply_elementwise(ct)
    a = o.multiply_elementwise(c.applyfunc(sp.tanh))
    return {"f": f, "u": u, "o": o, "c_tilde": ct, "c": c, "a": a}


def num(expr: sp.Expr, digits: int = 12) -> str:
    """Deterministic decimal of a sympy constant (mpmath)."""
    return fmt(expr, digits)


def check_constant(key: str) -> Evidence:
    """Evidence that constant ``key`` agrees two independent ways to ≥ 50 digits."""
    chk = C.check(key)
    const = C.CONSTANTS[key]
    require(chk.ok, f"constant {key}: closed form and independent computation disagree")
    agree = "all 60 digits" if chk.agree_digits == float("inf") else f"{int(chk.agree_digits)} digits"
    form = const.latex()
    shown = f"$= {form}$" if len(form) <= 160 else f"(closed form `constants.CONSTANTS['{key}']`)"
    return Evidence(
        "two independent evaluations",
        f"{const.label} {shown} $= {fmt(chk.closed, 30)}\\ldots$ "
        f"(mpmath, 60 digits); {const.method} agrees to {agree}.",
    )


def certainly_less(a: sp.Expr, b: sp.Expr) -> bool:
    """a < b, decided with certainty (exact or high precision); raises if uncertain."""
    return certain_sign(sp.sympify(b) - sp.sympify(a)) > 0


def rounds_to(value: sp.Expr, decimal: str) -> bool:
    """|value − decimal| < ½·10^(−places): ``decimal`` is a correct rounding of ``value``."""
    d = sp.Rational(decimal)
    places = len(decimal.split(".")[1]) if "." in decimal else 0
    half = sp.Rational(1, 2) / sp.Integer(10) ** places
    diff = sp.sympify(value - d)
    if diff.is_Rational:
        return bool(abs(diff) < half)
    return certainly_less(sp.Abs(diff), half)


@lru_cache(maxsize=None)
def sigma_tanh_identities() -> tuple[Evidence, Evidence]:
    """σ(x) = ½(1 + tanh(x/2)) and σ′(x) = ¼·tanh′(x/2), each reduced to 0 by sympy (cached)."""
    from lstm_symbolic.proof import sympy_zero

    x = C.x
    return (
        sympy_zero(C.SIGMOID - (1 + sp.tanh(x / 2)) / 2, r"$\sigma(x) = \tfrac12(1 + \tanh\tfrac x2)$"),
        sympy_zero(C.SIGMOID_PRIME - C.TANH_PRIME.subs(x, x / 2) / 4, r"$\sigma'(x) = \tfrac14\tanh'(\tfrac x2)$"),
    )


@lru_cache(maxsize=None)
def sigmoid_slope_bound() -> Evidence:
    """σ′ = σ(1 − σ) < ¼·(1 + 10⁻⁹) on [−40, 40] by subdivision (mean-value form, f′ = σ′(1 − 2σ))."""
    import lstm_symbolic as ls
    from lstm_symbolic.proof import interval_bound

    def d(X):  # type: ignore[no-untyped-def]
        s = ls.sigmoid(X)
        return s * (1 - s) * (1 - 2 * s)

    return interval_bound(lambda X: ls.sigmoid(X) * (1 - ls.sigmoid(X)), -40.0, 40.0, upper=0.25 * (1 + 1e-9),
                          derivative=d, label=r"\sigma'(x)")
