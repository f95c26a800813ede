"""A priori domains of the LSTM's signals, as sympy expressions in the step t and the initial box.

Notation of the notes: Γ_f, Γ_u, Γ_o = σ(·) ∈ (0, 1), c̃ = tanh(·) ∈ (−1, 1),
c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃, a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩), y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y).
Everything is per coordinate; c⟨0⟩ ∈ [c_min, c_max].

**No weights known** (:func:`cell_apriori`): for t ≥ 1

    c⟨t⟩ ∈ ( min(c_min, 0) − t ,  max(c_max, 0) + t )          (open; the ends are suprema)

because one step maps [L, U] to (min(L, 0) − 1, max(U, 0) + 1): Γ_f·c ranges over the hull of 0
and [L, U] (Γ_f → 0 or → 1), Γ_u·c̃ over (−1, 1). The notes' (c_min − t, c_max + t) is this
exactly when c_min ≤ 0 ≤ c_max (e.g. the usual c⟨0⟩ = 0).

**Known ranges** Γ_f ∈ [f_lo, f_hi], Γ_u ∈ [u_lo, u_hi], c̃ ∈ [c̃_lo, c̃_hi] (0 ≤ f_lo,
0 ≤ u_lo): the exact one-step image of a box (:func:`cell_step`) is

    U' = max(f_lo·U, f_hi·U) + max(u_lo·c̃_hi, u_hi·c̃_hi),
    L' = min(f_lo·L, f_hi·L) + min(u_lo·c̃_lo, u_hi·c̃_lo)

(a bilinear function on a box is extreme at a vertex, and f ≥ 0). For U ≥ 0 and
M = max(u·c̃) ≥ 0 this is U_t = f_hi·U_{t−1} + M, whose solution (sympy ``rsolve``) is

    U_t = f_hi^t·U_0 + M·(1 − f_hi^t)/(1 − f_hi)    (f_hi < 1),    U_0 + t·M    (f_hi = 1),

with limit M/(1 − f_hi) as t → ∞. The bound is finite for every t and uniformly in t
**iff f_hi = sup Γ_f < 1 or M = 0** (:func:`cell_bounded_condition`): Γ_f < 1 at every
step is not enough, the supremum must be < 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from lstm_symbolic.constants import enclose
from lstm_symbolic.errors import InputError

__all__ = [
    "t",
    "c_min",
    "c_max",
    "f_lo",
    "f_hi",
    "u_lo",
    "u_hi",
    "m",
    "Domain",
    "GATE",
    "CANDIDATE",
    "gate_apriori",
    "candidate_apriori",
    "cell_apriori",
    "notes_cell_domain",
    "hidden_apriori",
    "output_apriori",
    "cell_step",
    "cell_bounds",
    "cell_upper_closed",
    "cell_upper_limit",
    "cell_bounded_condition",
    "cell_recursion_solution",
]

t = sp.Symbol("t", integer=True, nonnegative=True)
c_min, c_max = sp.symbols("c_min c_max", real=True)
f_lo, f_hi, u_lo, u_hi = sp.symbols("f_lo f_hi u_lo u_hi", nonnegative=True)
m = sp.Symbol("m", nonnegative=True)
U0, M = sp.symbols("U_0 M", nonnegative=True)


@dataclass(frozen=True)
class Domain:
    """An interval with sympy ends: (lo, hi), each end open or closed.

    The ends may contain the symbols of this module (t, c_min, c_max, …); :meth:`subs` makes
    them numbers and :meth:`enclose` rounds a numeric domain outward to float64.
    """

    lo: sp.Expr
    hi: sp.Expr
    left_open: bool = True
    right_open: bool = True

    def subs(self, *args: object, **kwargs: object) -> "Domain":
        """Substitute into both ends (``sympy.Expr.subs`` arguments)."""
        return Domain(sp.sympify(self.lo).subs(*args, **kwargs), sp.sympify(self.hi).subs(*args, **kwargs),
                      self.left_open, self.right_open)

    def as_sympy(self) -> sp.Interval:
        """The same set as a ``sympy.Interval``."""
        return sp.Interval(self.lo, self.hi, self.left_open, self.right_open)

    def enclose(self) -> tuple[float, float]:
        """Float64 (lo, hi) with lo ≤ exact lower end and exact upper end ≤ hi (closed hull)."""
        for end in (self.lo, self.hi):
            if sp.sympify(end).free_symbols:
                raise InputError("domain", "numeric ends (substitute the symbols first)", got=str(end))
        return enclose(sp.sympify(self.lo))[0], enclose(sp.sympify(self.hi))[1]

    def latex(self) -> str:
        left = "(" if self.left_open else "["
        right = ")" if self.right_open else "]"
        return f"{left}{sp.latex(self.lo)},\\ {sp.latex(self.hi)}{right}"


#: Γ_f, Γ_u, Γ_o = σ(z) ∈ (0, 1) for every real z (σ is increasing with limits 0 and 1)
GATE = Domain(sp.Integer(0), sp.Integer(1))
#: c̃ = tanh(z) ∈ (−1, 1)
CANDIDATE = Domain(sp.Integer(-1), sp.Integer(1))


def gate_apriori() -> Domain:
    """(0, 1): the image of σ over ℝ."""
    return GATE


def candidate_apriori() -> Domain:
    """(−1, 1): the image of tanh over ℝ."""
    return CANDIDATE


def cell_apriori(step: sp.Expr = t, lo0: sp.Expr = c_min, hi0: sp.Expr = c_max) -> Domain:
    """Domain of c⟨t⟩ with no weights known, for t ≥ 1: (min(c_min, 0) − t, max(c_max, 0) + t).

    Open at both ends (suprema, never attained: they need Γ_f = 1 or Γ_u·c̃ = ±1). At t = 0
    use the initial box [c_min, c_max] itself.
    """
    return Domain(sp.Min(lo0, 0) - step, sp.Max(hi0, 0) + step)


def notes_cell_domain(step: sp.Expr = t, lo0: sp.Expr = c_min, hi0: sp.Expr = c_max) -> Domain:
    """The notes' formula (c_min − t, c_max + t) — right only when c_min ≤ 0 ≤ c_max."""
    return Domain(lo0 - step, hi0 + step)


def hidden_apriori(step: sp.Expr = t, lo0: sp.Expr = c_min, hi0: sp.Expr = c_max) -> Domain:
    """Domain of a⟨t⟩ = Γ_o·tanh(c⟨t⟩), t ≥ 1: (tanh(min(c_min,0) − t), tanh(max(c_max,0) + t)).

    tanh is increasing and odd; Γ_o ∈ (0, 1) shrinks towards 0, which lies inside since the
    cell domain straddles 0 for t ≥ 1. Always inside (−1, 1).
    """
    c = cell_apriori(step, lo0, hi0)
    return Domain(sp.tanh(c.lo), sp.tanh(c.hi))


def output_apriori(n_y: int) -> Domain:
    """Domain of each y_k = softmax(z)_k: (0, 1) open for n_y ≥ 2; the point [1, 1] for n_y = 1.

    y_k = e^{z_k}/Σ_j e^{z_j} with every term > 0: strictly between 0 and 1 when some other
    term exists. (In float64 the ends *are* reached by underflow: a closed [0, 1] is the
    right domain for computed values.)
    """
    if not isinstance(n_y, int) or n_y < 1:
        raise InputError("n_y", "a positive integer", got=n_y)
    if n_y == 1:
        return Domain(sp.Integer(1), sp.Integer(1), False, False)
    return Domain(sp.Integer(0), sp.Integer(1))


def cell_step(
    L: sp.Expr, U: sp.Expr, f_range: tuple[sp.Expr, sp.Expr], u_range: tuple[sp.Expr, sp.Expr],
    ct_range: tuple[sp.Expr, sp.Expr],
) -> tuple[sp.Expr, sp.Expr]:
    """Exact image bounds of c' = f·c + u·c̃ over c ∈ [L, U], f ∈ f_range, u ∈ u_range, c̃ ∈ ct_range.

    Requires f, u ≥ 0 (gates). U' = max(f_lo·U, f_hi·U) + max(u_lo·c̃_hi, u_hi·c̃_hi) and
    symmetrically for L' (a bilinear function on a box is extreme at a vertex).
    Works on numbers (exact rationals stay exact) and on sympy symbols.
    """
    (fl, fh), (ul, uh), (cl, ch) = f_range, u_range, ct_range
    upper = sp.Max(fl * U, fh * U) + sp.Max(ul * ch, uh * ch)
    lower = sp.Min(fl * L, fh * L) + sp.Min(ul * cl, uh * cl)
    return lower, upper


def cell_bounds(
    steps: int, c0: tuple[sp.Expr, sp.Expr], f_range: tuple[sp.Expr, sp.Expr],
    u_range: tuple[sp.Expr, sp.Expr], ct_range: tuple[sp.Expr, sp.Expr],
) -> list[tuple[sp.Expr, sp.Expr]]:
    """[(L_0, U_0), …, (L_steps, U_steps)] by iterating :func:`cell_step` from the box c0."""
    if not isinstance(steps, int) or steps < 0:
        raise InputError("steps", "a non-negative integer", got=steps)
    out = [(sp.sympify(c0[0]), sp.sympify(c0[1]))]
    for _ in range(steps):
        out.append(cell_step(*out[-1], f_range, u_range, ct_range))
    return out


def cell_recursion_solution() -> sp.Expr:
    """Solution of U_t = f_hi·U_{t−1} + M, U(0) = U_0, by ``sympy.rsolve`` (generic f_hi ≠ 1)."""
    Uf = sp.Function("U")
    sol = sp.rsolve(Uf(t) - f_hi * Uf(t - 1) - M, Uf(t), {Uf(0): U0})
    return sp.simplify(sol)


def cell_upper_closed(step: sp.Expr = t, u0: sp.Expr = U0, fmax: sp.Expr = f_hi, mmax: sp.Expr = M) -> sp.Expr:
    """Closed form of the upper bound, valid for U_0 ≥ 0 and M = max(Γ_u·c̃) ≥ 0.

    f_hi^t·U_0 + M·(1 − f_hi^t)/(1 − f_hi) if f_hi ≠ 1, and U_0 + t·M if f_hi = 1.
    (The lower bound is the same formula for −c.)
    """
    return sp.Piecewise(
        (u0 + step * mmax, sp.Eq(fmax, 1)),
        (fmax**step * u0 + mmax * (1 - fmax**step) / (1 - fmax), True),
    )


def cell_upper_limit(u0: sp.Expr = U0, fmax: sp.Expr = f_hi, mmax: sp.Expr = M) -> sp.Expr:
    """lim_{t→∞} of :func:`cell_upper_closed` for 0 ≤ f_hi ≤ 1: M/(1 − f_hi) if f_hi < 1;
    ∞ if f_hi = 1 and M > 0; U_0 if f_hi = 1 and M = 0."""
    return sp.Piecewise(
        (mmax / (1 - fmax), fmax < 1),
        (u0, sp.Eq(mmax, 0)),
        (sp.oo, True),
    )


def cell_bounded_condition(fmax: sp.Expr = f_hi, mmax: sp.Expr = M) -> sp.Boolean:
    """The bound on c is uniform in t iff sup Γ_f < 1 or M = max(Γ_u·c̃) = 0 (for 0 ≤ f_hi ≤ 1)."""
    return sp.Or(sp.StrictLessThan(fmax, 1), sp.Eq(mmax, 0))
