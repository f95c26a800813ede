"""§3 of the notes, "Related work": cited findings (empirical) and what the library can show beside them."""

from __future__ import annotations

from typing import Callable

import sympy as sp

import lstm_symbolic as ls
from lstm_symbolic import constants as C
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, fmt, interval_bound, require, sympy_zero

from ._common import check_constant, sig, sigma_tanh_identities, sigmoid_slope_bound

PAPER = ("R. Jozefowicz, W. Zaremba, I. Sutskever, *An Empirical Exploration of Recurrent Network Architectures*, "
         "ICML 2015, PMLR 37 (http://proceedings.mlr.press/v37/jozefowicz15.pdf), as summarised by the notes; "
         "the summary is not re-verified against the paper here.")
x = C.x


def _cited(extra: str = "", source: str = PAPER) -> Callable[[], Outcome]:
    def check() -> Outcome:
        ev = [Evidence("none possible", "an experimental finding; no proof settles it." + (" " + extra if extra else ""))]
        return Outcome(Verdict.EMPIRICAL, tuple(ev), citation=source)
    return check


def _better_behaved() -> Outcome:
    ev = [sigma_tanh_identities()[1], check_constant("sigmoid_prime_0")]
    ev.append(sigmoid_slope_bound())
    k = 10
    bound = sp.Rational(1, 4) ** k
    ev.append(Evidence("exact", f"through $k = {k}$ sigmoids a derivative is multiplied by at most $4^{{-{k}}} = "
                                f"1/{bound.q} = {fmt(bound, 14)}$ (exact); through $k$ tanh's by at most $1$."))
    return Outcome(Verdict.REFUTED, tuple(ev), counterexample=(
        r"There is no contradiction to explain: $\sigma' \le 1/4 = \tfrac14\max\tanh'$ everywhere, so the notes' "
        r"'smoother' sigmoid gradient is the *smaller* one, and products of small derivatives are what vanish. "
        r"The finding agrees with §2's mathematics."))


def _forget_bias() -> Outcome:
    ev = []
    T = 20
    rows = []
    for b in (0, 1, 2):
        f = sig(sp.Integer(b))
        lim = sp.simplify(1 / (1 - f))
        require(sp.simplify(lim - (1 + sp.exp(b))) == 0, "1/(1-σ(b)) = 1 + e^b")
        ev.append(check_constant(f"cell_limit_bias_{b}"))
        pw = f"2^{{-{T}}}" if b == 0 else fmt(C.CONSTANTS[f"forget_gate_bias_{b}_pow_20"].closed, 12)
        rows.append(f"$b_f = {b}$: $\\Gamma_f = {'1/2' if b == 0 else fmt(f, 12)}$, $\\Gamma_f^{{{T}}} = {pw}$, "
                    f"$|c| < 1 + e^{{{b}}}$")
    require(sig(sp.Integer(0)) ** T == sp.Rational(1, 2**T), "σ(0)^20 = 2^-20")
    ev += [check_constant("sigmoid_1"), check_constant("sigmoid_2"), check_constant("forget_gate_bias_1_pow_20"),
           check_constant("forget_gate_bias_2_pow_20")]
    ev.append(Evidence("exact (sympy)", "at initialisation ($W \\approx 0$): " + "; ".join(rows) + "."))
    return Outcome(Verdict.EMPIRICAL, tuple(ev), citation=PAPER + " The library adds: a larger $b_f$ keeps more of "
                   r"$c$ per step ($\partial c^{<T>}/\partial c^{<0>}$ along the cell path is $\prod\Gamma_f$) and "
                   r"raises the all-horizon bound on $|c|$, $1/(1 - \sup\Gamma_f) = 1 + e^{b_f}$ when $|\Gamma_u\tilde c| < 1$.")


def _vanishing() -> Outcome:
    T = 3
    f = sp.symbols(f"f1:{T + 1}", positive=True)
    u = sp.symbols(f"u1:{T + 1}", positive=True)
    ct = sp.symbols(f"ct1:{T + 1}", real=True)
    c0 = sp.Symbol("c0")
    c = c0
    for k in range(T):
        c = f[k] * c + u[k] * ct[k]
    require(sp.diff(c, c0) == sp.Mul(*f), "d c_T / d c_0 = prod f")
    fh = sp.Symbol("f_hi", positive=True)
    Tn = sp.Symbol("T", positive=True, integer=True)
    require(sp.limit(sp.Rational(9, 10) ** Tn, Tn, sp.oo) == 0, "geometric decay")
    return Outcome(Verdict.CONDITIONAL, (Evidence("sympy", r"with the gates held fixed, $\partial c^{<3>}/\partial c^{<0>} = "
                                                  r"\Gamma_f^{<1>}\Gamma_f^{<2>}\Gamma_f^{<3>}$; in general "
                                                  r"$\prod_t\Gamma_f^{<t>} \le (\sup\Gamma_f)^T \to 0$ geometrically when "
                                                  r"$\sup\Gamma_f < 1$ (e.g. $\sigma(0)^{20} = 2^{-20}$)."),),
                   condition=r"the cell path only (gates treated as constants). The full Jacobian also has paths "
                             r"through $a^{<t-1>}$ into the gates and $\tilde c$, which this bound does not cover.")


THEME = Theme(
    slug="related_work",
    title="Related work (§3)",
    intro="The notes' summary of Jozefowicz et al. (2015). Experimental findings are marked *empirical* "
          "with their source; where the library can show something next to them (a bound, an identity), "
          "it is given as evidence.",
    claims=[
        Claim("architecture-search", "§3", "Architecture search over 10k+ models.", "The paper evaluated over 10 000 architectures.",
              "citation.", Verdict.EMPIRICAL, _cited()),
        Claim("dropout", "§3", "LSTMs are best when dropout is used", "An experimental ranking.", "citation.",
              Verdict.EMPIRICAL, _cited()),
        Claim("tanh-better-behaved", "§3", "The gradient of tanh is described as \"better-behaved\" than sigmoid. This seems to go against the intuitions developed so far.",
              r"The finding contradicts the facts of §2 ($\max\sigma' = \tfrac14$, $\max\tanh' = 1$).",
              "sympy identity; interval subdivision of $\\sigma' \\le 1/4$ on $[-40, 40]$.", Verdict.REFUTED, _better_behaved),
        Claim("forget-bias-init", "§3", "Initializing $b_f$ with a large value such as 1 or 2 (Gers, 2000) closes the gap between LSTM and more sophisticated units.",
              "An experimental finding, and what $b_f$ does to the bounds.", "citation; sympy, two-way constants.",
              Verdict.EMPIRICAL, _forget_bias),
        Claim("forget-bias-vanishing", "§3", "This is so because not starting with $\\Gamma_f$ wide open will effectively enforce gradient vanishing.",
              r"$\partial c^{<T>}/\partial c^{<0>} = \prod_t \Gamma_f^{<t>} \le (\sup\Gamma_f)^T$.", "sympy.",
              Verdict.CONDITIONAL, _vanishing),
        Claim("gate-importance", "§3", "$Gamma_i$ is important, $\\Gamma_o$ is unimportant (this probably holds if $c$ has enough dimensions to provide the y-layer with a sparse enough code). $Gamma_f$ is extremely significant on all problems except language modelling",
              "Ablation findings (the parentheticals are the notes' speculation).", "citation.", Verdict.EMPIRICAL, _cited()),
        Claim("two-semantics", "§3", "Two main operational semantics: building the histogram and decoding information from it.",
              "An interpretation.", "none.", Verdict.EMPIRICAL, _cited(source="Interpretation of the notes.")),
        Claim("output-gate-tanh", "§3", "Also note that in this paper the output gate uses a tanh instead of a sigmoid activation.",
              "A statement about the paper's equations.", "citation.", Verdict.EMPIRICAL,
              _cited(r"The library can add: with $\Gamma_o = \tanh(\cdot) \in (-1,1)$, still $|\Gamma_o v| < |v|$, but "
                     r"$\Gamma_o$ can flip the sign of $a$, and the a priori domain of $a$ stays $(-\tanh U_t, \tanh U_t)$.")),
        Claim("no-attractors", "§3", "LSTMs don't feature attractor-based memory systems", "A qualitative finding.",
              "citation.", Verdict.EMPIRICAL, _cited()),
        Claim("gru-vs-lstm", "§3", "GRUs are more recent (Cho et al. 2014) and outperformed LSTM on nearly all tasks except NLP (but LSTMs almost matched GRU with $b_f^{<0>} \\geq 1$.",
              "An experimental comparison.", "citation.", Verdict.EMPIRICAL, _cited()),
    ],
)
