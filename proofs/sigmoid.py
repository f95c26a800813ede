"""§2 of the notes: the sigmoid's linear behaviour, its slope and saturation compared with tanh."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

import lstm_symbolic as ls
from lstm_symbolic import constants as C
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, interval_bound, require, sympy_zero

from ._common import certainly_less, check_constant, num, sigma_tanh_identities, sigmoid_slope_bound

x = C.x
S, SP, TP = C.SIGMOID, C.SIGMOID_PRIME, C.TANH_PRIME
eps = sp.Symbol("varepsilon", positive=True)


def _identity_evidence() -> list[Evidence]:
    return list(sigma_tanh_identities())


def _fit_table() -> str:
    rows = []
    for name, label in (("secant", "secant"), ("lsq", "least squares"), ("minimax", "minimax"), ("notes", "notes' $1/6$")):
        slope = C.NOTES_SLOPE if name == "notes" else C.value(f"fit_{name}_slope")
        err = C.value(f"fit_{name}_max_error")
        rows.append(f"{label}: $k = {num(sp.Float(str(slope), 30) if name != 'notes' else slope, 6)}$, "
                    f"$\\max|\\sigma - \\tfrac12 - kx| = {num(sp.Float(str(err), 30), 6)}$")
    return "; ".join(rows) + "."


def _linear_fit() -> Outcome:
    ev = [check_constant(k) for k in ("fit_notes_max_error", "fit_secant_slope", "fit_secant_max_error",
                                      "fit_lsq_slope", "fit_lsq_max_error", "fit_minimax_slope",
                                      "fit_minimax_max_error")]
    ev.append(sympy_zero(SP.subs(x, C.fit_critical_point(C.NOTES_SLOPE)) - C.NOTES_SLOPE,
                         r"$\sigma'(\ln(2+\sqrt3)) = 1/6$: the error of $\tfrac12 + \tfrac x6$ peaks at $x = \ln(2+\sqrt3)$"))
    emax = C.enclose(C.CONSTANTS["fit_notes_max_error"].closed)[1] * (1 + 1e-9)
    sixth = ls.Interval(*C.enclose(C.NOTES_SLOPE))
    ev.append(interval_bound(lambda X: ls.sigmoid(X) - 0.5 - X * sixth, -2.0, 2.0, upper=emax, lower=-emax,
                             derivative=lambda X: ls.sigmoid(X) * (1 - ls.sigmoid(X)) - sixth,
                             label=r"\sigma(x) - \tfrac12 - \tfrac x6"))
    # minimax is strictly better than 1/6: certain comparison of the two maximum errors
    mm = sp.Float(str(C.value("fit_minimax_max_error")), 50)
    require(certainly_less(mm * (1 + sp.Rational(1, 10**40)), C.CONSTANTS["fit_notes_max_error"].closed), "1/6 beats minimax?")
    ev.append(Evidence("comparison of fits", _fit_table()))
    return Outcome(Verdict.CONDITIONAL, tuple(ev), condition=(
        "'close' read as a tolerance of $0.07$: $\\max_{[-2,2]}|\\sigma(x) - \\tfrac12 - \\tfrac x6| = "
        "\\tfrac{1}{2\\sqrt3} - \\tfrac16\\ln(2+\\sqrt3) = 0.06918$. But $1/6$ is not a best fit: the secant, "
        "least-squares and minimax lines have slopes $0.190$, $0.211$, $0.204$; the minimax line "
        "$\\tfrac12 + 0.2041x$ is within $0.0273$."))


def _slope_6x() -> Outcome:
    ev = _identity_evidence() + [check_constant("sigmoid_prime_0")]
    require(SP.subs(x, 0) == sp.Rational(1, 4) and sp.Rational(1, 4) != sp.Rational(1, 6), "sigma'(0)")
    ev.append(sigmoid_slope_bound())
    ratios = [C.CONSTANTS[f"fit_{k}_slope_ratio"].closed for k in ("lsq", "secant")]
    require(all(certainly_less(4, r) and certainly_less(r, 6) for r in ratios), "best-line ratios in (4, 6)")
    ev += [check_constant(f"fit_{k}_slope_ratio") for k in ("lsq", "secant")]
    return Outcome(Verdict.REFUTED, tuple(ev), counterexample=(
        r"$\sigma'(0) = 1/4$ exactly (sympy), so near $0$ the sigmoid's slope is $1/4$ of tanh's, not $1/6$; "
        r"and $\sigma'(x) = \tfrac14\tanh'(x/2) \le \tfrac14$ everywhere: the maximal slopes differ by exactly $4$. "
        r"Even the slopes of the best lines on $(-2,2)$ ($0.190$–$0.211$) give ratios "
        f"${num(ratios[0], 12)}$–${num(ratios[1], 12)}$ (least squares, secant), never $6$."))


def _range_4x() -> Outcome:
    ev = _identity_evidence()
    tangent_err = S.subs(x, 2) - sp.Rational(1, 2) - sp.Rational(2, 4)
    ev.append(sympy_zero(tangent_err - (sp.tanh(1) - 1) / 2, r"$\sigma(2) - \tfrac12 - \tfrac24 = \tfrac12(\tanh 1 - 1)$"))
    tanh_err = sp.Rational(1, 2) - sp.tanh(sp.Rational(1, 2))
    require(certainly_less(3 * tanh_err, sp.Abs(tangent_err)), "tangent error at 2 should exceed 3x tanh's on (-1/2,1/2)")
    require(sp.simplify(C.CONSTANTS["sigmoid_tangent_error_2"].closed + tangent_err) == 0, "registry: tangent error")
    ev += [check_constant("sigmoid_tangent_error_2"), check_constant("tanh_linear_error_half")]
    return Outcome(Verdict.REFUTED, tuple(ev), counterexample=(
        r"$\sigma$ is $\tanh$ stretched by exactly $2$ in $x$ (and halved in $y$), so corresponding regions are "
        r"$2\times$, not $4\times$, wider. On $(-2,2)$ the sigmoid's own tangent line $\tfrac12 + \tfrac x4$ is off by "
        f"$\\tfrac12(1-\\tanh 1) = {num(-tangent_err, 12)}$ at $x=2$, more than three times tanh's worst error "
        f"${num(tanh_err, 12)}$ on $(-\\tfrac12, \\tfrac12)$."))


@lru_cache(maxsize=None)
def _threshold_evidence_cached() -> tuple[Evidence, ...]:
    thr_t = sp.atanh(sp.sqrt(1 - eps))
    ev = _identity_evidence()
    ev.append(sympy_zero((SP.subs(x, 2 * thr_t) / SP.subs(x, 0) - eps).rewrite(sp.exp),
                         r"$\sigma'(2x_\varepsilon)/\sigma'(0) = \varepsilon$ where $\tanh'(x_\varepsilon) = \varepsilon$: "
                         r"every σ threshold is exactly twice tanh's"))
    for name in C.SATURATION_EPS:
        key = name.replace("/", "_").replace("'", "_prime").replace("(", "_").replace(")", "")
        ev.append(check_constant(f"sigmoid_saturation_{key}"))
    return tuple(ev)


def _threshold_evidence() -> list[Evidence]:
    return list(_threshold_evidence_cached())


def _saturation_5() -> Outcome:
    ev = _threshold_evidence()
    require(sp.simplify(C.CONSTANTS["sigmoid_saturation_tanh_prime_2"].closed) == 4, "threshold is 4")
    ratio5 = C.CONSTANTS["sigmoid_prime_ratio_5"].closed
    require(sp.simplify(ratio5 - SP.subs(x, 5) / SP.subs(x, 0)) == 0, "registry: sigma'(5)/sigma'(0)")
    require(sp.simplify((ratio5 - TP.subs(x, sp.Rational(5, 2))).rewrite(sp.exp)) == 0, "= tanh'(5/2)")
    ev.append(check_constant("sigmoid_prime_ratio_5"))
    up = C.enclose(TP.subs(x, 2))[1] * (1 + 1e-9)
    ev.append(interval_bound(lambda X: 4 * ls.sigmoid(X) * (1 - ls.sigmoid(X)), 4.0, 60.0, upper=up,
                             label=r"\sigma'(x)/\sigma'(0)"))
    return Outcome(Verdict.REFUTED, tuple(ev), counterexample=(
        r"With the criterion that puts tanh's saturation at $2$ (slope $\le \tanh'(2) = 7.07\%$ of the maximum), "
        r"the sigmoid saturates at exactly $|x| = 4$ ($\sigma'(4)/\sigma'(0) = \tanh'(2)$, sympy). "
        f"At $5$ the sigmoid is already at $\\sigma'(5)/\\sigma'(0) = {num(ratio5, 12)}$ of its slope, "
        r"the level tanh reaches at $2.5$ ($= \tanh'(5/2)$, sympy)."))


def _saturation_twice() -> Outcome:
    return Outcome(Verdict.REFUTED, tuple(_threshold_evidence()), counterexample=(
        r"For every $\varepsilon \in (0,1)$ the ratio of thresholds is exactly $2$ "
        r"($2\operatorname{atanh}\sqrt{1-\varepsilon}$ vs $\operatorname{atanh}\sqrt{1-\varepsilon}$), "
        r"e.g. $\varepsilon = 1/10$: $3.637$ vs $1.818$ — never *more* than twice."))


def _quicker() -> Outcome:
    return Outcome(Verdict.PROVED, tuple(_threshold_evidence()) + (Evidence(
        "consequence", r"tanh's thresholds are exactly half of σ's (and its maximal slope $4\times$ σ's): "
                       r"tanh saturates sooner, by a factor of exactly $2$ in the argument."),))


THEME = Theme(
    slug="sigmoid",
    title="σ: slope, linear fits and saturation compared with tanh",
    intro="Claims of §2 comparing the sigmoid with tanh. Everything follows from one identity, "
          "$\\sigma(x) = \\tfrac12\\bigl(1 + \\tanh\\tfrac x2\\bigr)$: σ is tanh stretched by exactly 2 "
          "horizontally and halved vertically, so $\\sigma'(x) = \\tfrac14\\tanh'(x/2) \\le \\tfrac14$ and "
          "every slope-based saturation threshold of σ is exactly twice tanh's. Linear fits $\\tfrac12 + kx$ "
          "on $(-2, 2)$ have intercept $\\tfrac12$ because $\\sigma - \\tfrac12$ is odd; their maximum error "
          "is at $x_k = 2\\operatorname{atanh}\\sqrt{1-4k}$ (where $\\sigma' = k$) or at $x = 2$.",
    figures=(("tanh_sigmoid.svg", "tanh and σ and their derivatives; saturation thresholds for ε = tanh′(2)."),),
    claims=[
        Claim("sigmoid-linear-fit", "§2",
              "the sigmoid is close to $f(x) = 0.5 + \\frac{1}{6}x$ in the $(-2, 2)$ range",
              r"$\max_{[-2,2]} |\sigma(x) - \tfrac12 - \tfrac x6| = \tfrac{1}{2\sqrt3} - \tfrac16\ln(2+\sqrt3)$, "
              r"compared with the secant, least-squares and minimax lines.",
              "closed forms (sympy) vs root finding / quadrature (mpmath); interval subdivision.",
              Verdict.CONDITIONAL, _linear_fit),
        Claim("sigmoid-slope-6x", "§2", "The sigmoid provides a gradient 6 times smoother",
              r"$\max\tanh' / \max\sigma' = 6$ (or $\sigma' \approx 1/6$ near $0$).",
              "sympy identity, exact value, interval subdivision of $\\sigma(1-\\sigma) \\le 1/4$.",
              Verdict.REFUTED, _slope_6x),
        Claim("sigmoid-range-4x", "§2", "in a range 4 times bigger",
              r"σ is as linear on $(-2,2)$ as tanh on $(-\tfrac12,\tfrac12)$ (a range $4\times$ wider).",
              "sympy identity; certain comparison of linearisation errors.", Verdict.REFUTED, _range_4x),
        Claim("sigmoid-saturation-5", "§2", "and starts saturating around $(-5, 5)$",
              r"With the criterion that gives tanh's $(-2, 2)$, σ's saturation threshold is $5$.",
              "closed form of thresholds (sympy), root finding (mpmath), subdivision.",
              Verdict.REFUTED, _saturation_5),
        Claim("sigmoid-saturation-twice", "§2", "and its curve doesn't saturate until more than twice the range",
              r"$x_\sigma(\varepsilon) > 2\,x_{\tanh}(\varepsilon)$.", "sympy identity.", Verdict.REFUTED, _saturation_twice),
        Claim("tanh-quicker-saturation", "§2", "Hence, tanh leads much quicker to saturation than sigmoid.",
              r"$x_{\tanh}(\varepsilon) < x_\sigma(\varepsilon)$ for every $\varepsilon$; precisely $x_\sigma = 2x_{\tanh}$.",
              "sympy identity; thresholds two ways.", Verdict.PROVED, _quicker),
    ],
)
