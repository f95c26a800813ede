"""§1 of the notes: the domains of x, the gates, c̃, c, a and y."""

from __future__ import annotations

import numpy as np
import sympy as sp

from lstm_symbolic import constants as C
from lstm_symbolic import domains as D
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, require, sympy_zero

from ._common import certainly_less, sig

x = C.x
R = sp.Rational


def _one_hot() -> Outcome:
    W = sp.Matrix(3, 4, lambda i, j: sp.Symbol(f"w_{i}{j}"))
    e2 = sp.Matrix([0, 0, 1, 0])
    require(W * e2 == W[:, 2], "W e_j is column j")
    return Outcome(Verdict.EMPIRICAL, (Evidence("sympy", r"for a one-hot $x = e_j$, $Wx$ is column $j$ of $W$ "
                                                r"(exact, symbolic $3\times4$ $W$): an embedding lookup is the same thing, "
                                                r"and the library's `OneHot` input set uses exactly this (it also offers "
                                                r"`Box` and `LinfBall`)."),
                                       Evidence("why no experiment here", "'usually' is a statement about how models in "
                                                "the field encode their inputs; training small models here cannot measure "
                                                "what is usual. The demo model and the experiments' tasks do use one-hot "
                                                "inputs.")),
                   citation="A modelling convention of the notes (token inputs), not a mathematical statement.")


def _gate_range() -> Outcome:
    ev = [sympy_zero(C.SIGMOID_PRIME - C.SIGMOID * (1 - C.SIGMOID), r"$\sigma' = \sigma(1-\sigma) > 0$ (strictly increasing)")]
    require(sp.limit(C.SIGMOID, x, sp.oo) == 1 and sp.limit(C.SIGMOID, x, -sp.oo) == 0, "limits")
    ev.append(Evidence("sympy limits", r"$\sigma(-\infty) = 0$, $\sigma(+\infty) = 1$; with $e^{-x} \in (0,\infty)$, "
                                       r"$\sigma(x) = 1/(1+e^{-x}) \in (0, 1)$, ends never attained."))
    with np.errstate(over="ignore"):
        one = 1.0 / (1.0 + np.exp(-np.float64(40.0)))
        zero = 1.0 / (1.0 + np.exp(np.float64(800.0)))
    require(one == 1.0 and zero == 0.0, "float64 sigmoid reaches the ends")
    ev.append(Evidence("float64", r"in floating point the ends *are* reached: $1/(1+e^{-40})$ rounds to exactly "
                                  r"$1.0$ and $1/(1+e^{800})$ to $0.0$ — which is why the interval core clamps to "
                                  r"the closed $[0, 1]$."))
    return Outcome(Verdict.PROVED, tuple(ev))


def _gate_preserves_domain() -> Outcome:
    g, v = sp.symbols("g v", real=True)
    lo, hi = sp.symbols("lo hi", real=True)
    # g ∈ [0,1], lo ≤ 0 ≤ hi, v ∈ [lo, hi] ⇒ g v ∈ [lo, hi]: g v is a convex combination of 0 and v
    require(sp.expand(g * v - (g * v + (1 - g) * 0)) == 0, "convex combination")
    cx = (R(2), R(3), R(1, 2), R(5, 2))
    lo0, hi0, g0, v0 = cx
    require(lo0 < v0 < hi0 and not (lo0 < g0 * v0 < hi0), "counterexample")
    return Outcome(Verdict.CONDITIONAL, (Evidence("argument", r"$g\,v = g\,v + (1-g)\cdot 0$ is a convex combination "
                                                  r"of $v$ and $0$; an interval containing $0$ and $v$ contains it."),),
                   condition=r"the domain is an interval containing $0$ (as $(-1,1)$, and the cell domain for $t \ge 1$).",
                   counterexample=r"$v = 5/2 \in (2, 3)$, $g = 1/2$: $g v = 5/4 \notin (2, 3)$.")


def _dampening() -> Outcome:
    g, v = sp.symbols("g v", real=True)
    require(sp.simplify(sp.Abs(g * v) - sp.Abs(g) * sp.Abs(v)) == 0, "|gv| = |g||v|")
    return Outcome(Verdict.PROVED, (Evidence("argument", r"$|g v| = g|v| \le |v|$ for $g \in (0,1)$, strict for "
                                             r"$v \ne 0$. 'Doing nothing' ($g=1$) and 'total elimination' ($g=0$) are "
                                             r"limits, never reached in exact arithmetic."),))


def _dampening_differences() -> Outcome:
    v1 = v2 = R(1)
    g1, g2 = R(9, 10), R(1, 10)
    require(abs(g1 * v1 - g2 * v2) > abs(v1 - v2), "difference amplified")
    lo, hi = R(2), R(3)
    wlo, whi = min(0, lo), hi  # {g v : g ∈ (0,1), v ∈ (2,3)} = (0, 3)
    require(whi - wlo > hi - lo, "width amplified")
    return Outcome(Verdict.REFUTED, (Evidence("exact rationals", "see counterexample"),), counterexample=(
        r"two equal signals $v_1 = v_2 = 1$ gated by $9/10$ and $1/10$ differ by $4/5 > 0$; and the *set* "
        r"$\{g v : g \in (0,1), v \in (2,3)\} = (0, 3)$ is three times wider than $(2, 3)$ — an uncertain gate "
        r"widens a domain, which is what interval propagation must account for."))


def _candidate() -> Outcome:
    require(sp.limit(sp.tanh(x), x, sp.oo) == 1, "limit")
    return Outcome(Verdict.PROVED, (Evidence("image of tanh", r"$\tilde c = \tanh(W_c z + b_c)$ and $\tanh(\mathbb{R}) "
                                             r"= (-1,1)$ (see [tanh-image-R](tanh.md#tanh-image-R)); with $W_c$ free every "
                                             r"value of $(-1,1)$ is reached, e.g. $\tanh(b_c)$ with $W_c = 0$."),))


def _unit_gates(fv: sp.Expr, uv: sp.Expr, cv: sp.Expr) -> dict[str, sp.Expr]:
    """Bias-only gates realising Γ_f = fv, Γ_u = uv, c̃ = cv exactly (W = 0)."""
    b = {"f": sp.log(fv / (1 - fv)), "u": sp.log(uv / (1 - uv)), "c": sp.atanh(cv)}
    got = {"f": sp.simplify(sig(b["f"])), "u": sp.simplify(sig(b["u"])), "c": sp.simplify(sp.tanh(b["c"]))}
    require(got == {"f": fv, "u": uv, "c": cv}, f"bias realisation {got}")
    return b


def _step_growth() -> Outcome:
    Ln, Un = sp.Symbol("L", nonpositive=True), sp.Symbol("U", nonnegative=True)
    lo, hi = D.cell_step(Ln, Un, (0, 1), (0, 1), (-1, 1))
    require(sp.simplify(hi - (Un + 1)) == 0 and sp.simplify(lo - (Ln - 1)) == 0, "growth by 1")
    lo5, hi5 = D.cell_step(R(5), R(6), (0, 1), (0, 1), (-1, 1))
    require((lo5, hi5) == (-1, 7), "[5,6] -> (-1,7)")
    return Outcome(Verdict.CONDITIONAL, (Evidence("sympy", r"the exact one-step image (closure) of $[L, U]$ with "
                                                  r"$\Gamma_f, \Gamma_u \in [0,1]$, $\tilde c \in [-1,1]$ is "
                                                  r"$[\min(L,0) - 1, \max(U,0) + 1]$ (`domains.cell_step`), i.e. "
                                                  r"$[L-1, U+1]$ when $L \le 0 \le U$; the open ends are suprema."),),
                   condition=r"the current domain contains $0$. Otherwise the end nearer $0$ jumps past $0$: $[5,6] \mapsto (-1, 7)$.")


def _cell_formula() -> Outcome:
    t, cmin, cmax = D.t, D.c_min, D.c_max
    ours, notes = D.cell_apriori(), D.notes_cell_domain()
    # under 0 ∈ [c_min, c_max] the two coincide
    pos, neg = sp.Symbol("p", nonnegative=True), sp.Symbol("n", nonpositive=True)
    require(ours.subs({cmin: neg, cmax: pos}) == notes.subs({cmin: neg, cmax: pos}), "coincide when 0 in box")
    # the corrected formula solves U_t = max(U_{t-1}, 0) + 1 for t ≥ 1
    for u0 in (R(-3), R(0), R(5, 2)):
        seq = D.cell_bounds(6, (u0, u0), (0, 1), (0, 1), (-1, 1))
        require(all(seq[k][1] == ours.hi.subs({t: k, cmax: u0}) for k in range(1, 7)), "closed form = recursion")
        require(all(seq[k][0] == ours.lo.subs({t: k, cmin: u0}) for k in range(1, 7)), "closed form = recursion (lo)")
    # tightness: f = u = c̃ = 1 − η gives c_t → c_max + t
    eta = sp.Symbol("eta", positive=True)
    c = sp.Symbol("c0")
    for _ in range(3):
        c = (1 - eta) * c + (1 - eta) ** 2
    require(sp.limit(c, eta, 0) == sp.Symbol("c0") + 3, "supremum approached")
    # counterexample, realised by biases only
    c0 = R(5)
    b = _unit_gates(R(1, 10), R(9, 10), R(-9, 10))
    c1 = sp.simplify(sig(b["f"]) * c0 + sig(b["u"]) * sp.tanh(b["c"]))
    require(c1 == R(-31, 100) and not (c0 - 1 < c1 < c0 + 1), "counterexample")
    return Outcome(Verdict.CONDITIONAL, (
        Evidence("sympy", r"exact domain for $t \ge 1$: $\bigl(\min(c_{\min},0) - t,\ \max(c_{\max},0) + t\bigr)$ "
                          r"(`domains.cell_apriori`): equals the iterated exact one-step image for $t = 1..6$ from "
                          r"$c^{<0>} \in \{-3, 0, 5/2\}$, and coincides with the notes' formula when "
                          r"$c_{\min} \le 0 \le c_{\max}$."),
        Evidence("sympy limit", r"tight: with $\Gamma_f = \Gamma_u = \tilde c = 1 - \eta$, $c^{<3>} \to c^{<0>} + 3$ as "
                                r"$\eta \to 0$ — the ends are suprema, never attained ($\Gamma_f < 1$)."),
        Evidence("exact counterexample", r"biases $b_f = -\ln 9$, $b_u = \ln 9$, $b_c = -\operatorname{atanh}\tfrac{9}{10}$, "
                                         r"all $W = 0$, give exactly $\Gamma_f = 1/10$, $\Gamma_u = 9/10$, "
                                         r"$\tilde c = -9/10$ (sympy)."),
    ), condition=r"$c_{\min}^{<0>} \le 0 \le c_{\max}^{<0>}$ (true for the usual $c^{<0>} = 0$). In general the domain is "
                 r"$\bigl(\min(c_{\min},0) - t,\ \max(c_{\max},0) + t\bigr)$.",
        counterexample=r"$c^{<0>} = 5$ ($c_{\min} = c_{\max} = 5$), $\Gamma_f = 1/10$, $\Gamma_u = 9/10$, $\tilde c = -9/10$: "
                       r"$c^{<1>} = -31/100 \notin (4, 6)$.")


def _bounded_condition() -> Outcome:
    t, fh, M, U0 = D.t, D.f_hi, D.M, D.U0
    sol = D.cell_recursion_solution()
    closed = D.cell_upper_closed()
    generic = closed.args[1][0]
    require(sp.simplify(sol - generic) == 0, "rsolve = closed form")
    require(sp.simplify(closed.subs(fh, 1) - (U0 + t * M)) == 0, "f_hi = 1 branch")
    lim = sp.limit(generic.subs({fh: R(9, 10), M: 1, U0: 0}), t, sp.oo)
    require(lim == 10 and D.cell_upper_limit(0, R(9, 10), 1) == 10, "limit M/(1-f)")
    require(sp.limit(D.cell_upper_closed(t, 0, 1, 1), t, sp.oo) == sp.oo, "unbounded for f_hi = 1")
    seq = D.cell_bounds(40, (0, 0), (R(1, 2), R(9, 10)), (0, 1), (-1, 1))
    require(all(abs(U) < 10 for _, U in seq), "all below the limit")
    j, n = sp.symbols("j n", integer=True, positive=True)
    prod = sp.product(1 - 1 / j**2, (j, 2, n))
    require(sp.limit(prod, n, sp.oo) == R(1, 2), "pointwise-<1 gates with product bounded below")
    require(bool(D.cell_bounded_condition(R(9, 10), 1)) and not bool(D.cell_bounded_condition(1, 1)), "condition")
    return Outcome(Verdict.CONDITIONAL, (
        Evidence("sympy rsolve", r"$U_t = f_{hi}U_{t-1} + M$ (for $U \ge 0$, $M = \max \Gamma_u\tilde c \ge 0$) has "
                                 r"$U_t = f_{hi}^t U_0 + M\frac{1 - f_{hi}^t}{1 - f_{hi}}$, and $U_0 + tM$ when $f_{hi} = 1$."),
        Evidence("sympy limit", r"$\lim_t U_t = M/(1 - f_{hi})$ if $f_{hi} < 1$ (e.g. $f_{hi} = 9/10$, $M = 1$: $10$; "
                                r"the exact bounds for $t \le 40$ stay below it); $+\infty$ if $f_{hi} = 1$, $M > 0$."),
        Evidence("sympy product", r"$\Gamma_f^{<t>} < 1$ at every step is not enough: with $\Gamma_f^{<j>} = 1 - 1/j^2$ "
                                  r"all products $\prod_{j=k}^{n} \Gamma_f^{<j>} \ge \prod_{j\ge2}(1 - 1/j^2) = 1/2$, so with "
                                  r"$\Gamma_u\tilde c = \mu > 0$ each step $c^{<n>} \ge \mu (n-1)/2 \to \infty$."),
    ), condition=r"A priori (no weights) the domain of $c^{<t>}$ is bounded at each $t$ (by $|c^{<0>}| + t$) but not "
                 r"uniformly in $t$. With known ranges it is bounded for all $t$ **iff** $\sup\Gamma_f < 1$ "
                 r"(or $\Gamma_u\tilde c \equiv 0$), and then $|c^{<t>}| \le \max(|c^{<0>}|, M/(1 - \sup\Gamma_f))$.")


def _hidden() -> Outcome:
    t = D.t
    h = D.hidden_apriori()
    require(sp.limit(h.hi.subs(D.c_max, 0), t, sp.oo) == 1 and sp.limit(h.lo.subs(D.c_min, 0), t, sp.oo) == -1, "limits")
    require(sp.simplify(sp.diff(h.hi.subs(D.c_max, 0), t) - (1 - sp.tanh(t) ** 2)) == 0, "increasing")
    return Outcome(Verdict.PROVED, (Evidence("sympy", r"$a^{<t>} = \Gamma_o\tanh(c^{<t>}) \in "
                                             r"\bigl(\tanh(\min(c_{\min},0) - t),\ \tanh(\max(c_{\max},0) + t)\bigr) \subset (-1, 1)$ "
                                             r"(`domains.hidden_apriori`); the ends increase in $t$ and tend to $\pm 1$."),))


def _softmax_sum() -> Outcome:
    z = sp.symbols("z0:4", real=True)
    y = [sp.exp(zk) / sum(sp.exp(zj) for zj in z) for zk in z]
    require(sp.simplify(sum(y) - 1) == 0, "sum")
    return Outcome(Verdict.PROVED, (sympy_zero(sum(y) - 1, r"$\sum_k \operatorname{softmax}(z)_k - 1$ ($n_y = 4$, symbolic $z$)"),))


def _softmax_domain() -> Outcome:
    z0, z1 = sp.symbols("z0 z1", real=True)
    y0 = sp.exp(z0) / (sp.exp(z0) + sp.exp(z1))
    require(sp.limit(y0, z0, sp.oo) == 1 and sp.limit(y0, z0, -sp.oo) == 0, "limits")
    require(D.output_apriori(1).as_sympy() == sp.FiniteSet(1), "n_y = 1")
    with np.errstate(under="ignore", over="ignore"):
        zz = np.array([0.0, 800.0])
        e = np.exp(zz - zz.max())
        yy = e / e.sum()
    require(yy[0] == 0.0 and yy[1] == 1.0, "float64 reaches the ends")
    return Outcome(Verdict.PROVED, (
        Evidence("argument", r"$y_k = 1/(1 + \sum_{j\ne k} e^{z_j - z_k})$ with every term $> 0$: $y_k \in (0,1)$ for "
                             r"$n_y \ge 2$; $\inf = 0$ and $\sup = 1$ are approached (sympy limits), never attained. "
                             r"So $[0,1]$ is the closure of the exact domain; for $n_y = 1$, $y \equiv 1$."),
        Evidence("float64", r"computed values do reach the ends: softmax$(0, 800)$ is exactly $(0.0, 1.0)$ in float64 "
                            r"(underflow) — the closed $[0,1]$ is the right domain for computed $y$."),
    ))


THEME = Theme(
    slug="domains",
    title="Domains of the signals (§1)",
    intro="Claims of §1 about the values each signal can take, with no weights known. The a priori "
          "domains are sympy expressions in `lstm_symbolic/domains.py`; the interval engine's bounds on "
          "random models are checked to lie inside them (`tests/test_domains.py`).",
    figures=(("cell_domain.svg", "Upper end of the c domain vs t: a priori (max(c_max,0) + t, unbounded) and with "
                                 "known ranges sup Γ_f = σ(b) for b = 0, 1, 2 and Γ_u·c̃ < 1 (limit 1 + e^b)."),),
    claims=[
        Claim("x-one-hot", "§1.1", "$x^{<t>}$ is usually a one-hot label.", "Inputs are one-hot vectors.",
              "not a mathematical claim; what the library does with it.", Verdict.EMPIRICAL, _one_hot),
        Claim("gate-range", "§1.2", "Since gates have sigmoidal activations, their output features will always be in $(0, 1)$.",
              r"$\sigma(\mathbb{R}) = (0, 1)$ in exact arithmetic.", "sympy; float64 demonstration.", Verdict.PROVED, _gate_range),
        Claim("gate-preserves-domain", "§1.2", "element-wise multiplication by a gate won't change the domain",
              r"$g \in (0,1)$, $v \in D$ $\Rightarrow$ $g v \in D$.", "convexity; exact counterexample.",
              Verdict.CONDITIONAL, _gate_preserves_domain),
        Claim("gate-dampening", "§1.2", "and will have a **dampening effect, and never amplifying**, ranging from doing nothing to total elimination of signal.",
              r"$|g v| \le |v|$ for $g \in (0,1)$, strictly for $v \ne 0$.", "exact argument.", Verdict.PROVED, _dampening),
        Claim("gate-dampening-differences", "§1.2", "will have a **dampening effect, and never amplifying**",
              r"Gating never amplifies differences or domain widths: $|g_1v_1 - g_2v_2| \le |v_1 - v_2|$, "
              r"$\operatorname{width}(\{gv\}) \le \operatorname{width}(D)$.", "exact rational counterexample.",
              Verdict.REFUTED, _dampening_differences),
        Claim("candidate-range", "§1.4", "Therefore the output of its $tanh$ is *a priori* unconstrained, having the domain $(-1, 1)$.",
              r"With $W_c, b_c$ free, $\tilde c$ ranges over exactly $(-1, 1)$.", "image of tanh.", Verdict.PROVED, _candidate),
        Claim("cell-step-growth", "§1.5", "the range of $c$ can increase by a whole $(-1,1)$ in the step $(t+1)$",
              r"The one-step image of $[L, U]$ is $(L - 1, U + 1)$ (ends as suprema).",
              "exact one-step image (`domains.cell_step`).", Verdict.CONDITIONAL, _step_growth),
        Claim("cell-domain-formula", "§1.5", "This means that for step $t$ the domain boundary of $c$ is $(c_{min}^{<0>}-t, c_{max}^{<0>}+t)$.",
              r"$c^{<t>} \in (c_{\min}^{<0>} - t, c_{\max}^{<0>} + t)$ for every model and input, and this is tight.",
              "closed form vs exact recursion; sympy limit for tightness; exact counterexample realised by biases.",
              Verdict.CONDITIONAL, _cell_formula),
        Claim("cell-bounded", "§1.5", "Given this, the domain of $c^{<t-1>}$  seems unconstrained",
              r"The domain of $c^{<t>}$ is not bounded uniformly in $t$; exact condition for a bound for all $t$.",
              "sympy rsolve, limits and products.", Verdict.CONDITIONAL, _bounded_condition),
        Claim("hidden-domain", "§1.6", "the greater the range boundaries of $c$, the closer to $(-1, 1)$ the range of $a$ will be",
              r"$a^{<t>} \in (\tanh L_t, \tanh U_t)$ with $(L_t, U_t)$ the cell domain; increasing to $(-1,1)$.",
              "sympy.", Verdict.PROVED, _hidden),
        Claim("softmax-sum", "§1.7", "This means that the sum of all outputs equals to 1.",
              r"$\sum_k \operatorname{softmax}(z)_k = 1$.", "sympy identity.", Verdict.PROVED, _softmax_sum),
        Claim("softmax-domain", "§1.7", "the domain boundary for $y$ is $[0, 1]$.",
              r"$y_k \in (0, 1)$ for $n_y \ge 2$ (exact arithmetic), whose closure is $[0,1]$; float64 reaches the ends.",
              "sympy limits; float64 demonstration.", Verdict.PROVED, _softmax_domain),
    ],
)
