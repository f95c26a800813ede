"""§1.3 and §2 of the notes: the image of tanh, its derivative, its linear range, its saturation."""

from __future__ import annotations

import sympy as sp

import lstm_symbolic as ls
from lstm_symbolic import constants as C
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, interval_bound, require, sympy_zero

from ._common import certainly_less, check_constant, num, rounds_to

x = C.x
TANH_PRIME = C.TANH_PRIME


def _image_R() -> Outcome:
    ev = [sympy_zero(sp.tanh(x) - (1 - 2 / (sp.exp(2 * x) + 1)), r"$\tanh x = 1 - 2/(e^{2x}+1)$")]
    require(sp.limit(sp.tanh(x), x, sp.oo) == 1 and sp.limit(sp.tanh(x), x, -sp.oo) == -1, "limits")
    ev.append(Evidence("sympy limits", r"$\lim_{x\to\pm\infty}\tanh x = \pm 1$."))
    ev.append(sympy_zero(TANH_PRIME - sp.sech(x) ** 2, r"$\tanh' = \operatorname{sech}^2 > 0$: strictly increasing"))
    return Outcome(Verdict.PROVED, tuple(ev) + (Evidence(
        "argument", r"$e^{2x} \in (0, \infty)$ so $2/(e^{2x}+1) \in (0, 2)$ and $\tanh x \in (-1, 1)$; "
        r"continuity, monotonicity and the limits make the image exactly $(-1, 1)$, ends never attained."),))


def _image_2_digits() -> Outcome:
    require(rounds_to(sp.tanh(2), "0.964"), "tanh 2 does not round to 0.964")
    gap = C.CONSTANTS["tanh_2_minus_0_964"].closed
    require(sp.simplify(gap - (sp.tanh(2) - sp.Rational("0.964"))) == 0, "registry: tanh 2 - 0.964")
    return Outcome(Verdict.PROVED, (check_constant("tanh_2"), check_constant("tanh_2_minus_0_964"), Evidence(
        "high precision", f"$|\\tanh 2 - 0.964| = {num(gap, 12)} < 0.0005$: "
        "0.964 is the correct 3-decimal rounding.")))


def _image_2_bound() -> Outcome:
    x0 = sp.Rational(19997, 10000)
    require(x0 < 2 and certainly_less(sp.Rational("0.964"), sp.tanh(x0)), "counterexample fails")
    require(C.CONSTANTS["tanh_19997_10000"].closed == sp.tanh(x0), "registry: tanh(19997/10000)")
    lo, hi = C.enclose(sp.tanh(2))
    gap = C.CONSTANTS["tanh_2_minus_0_964"].closed
    return Outcome(
        Verdict.REFUTED,
        (check_constant("tanh_2"), check_constant("tanh_19997_10000"), Evidence("high precision (certain sign)",
            f"$\\tanh(19997/10000) = {num(sp.tanh(x0), 15)} > 0.964$ with $19997/10000 \\in (-2, 2)$."),
         Evidence("outward enclosure", f"the sound statement is $\\tanh((-2,2)) = (-\\tanh 2, \\tanh 2)$, "
                  f"$\\tanh 2 \\in [{lo!r}, {hi!r}]$ (float64, outward); e.g. $(-0.96403, 0.96403)$ is a valid bound.")),
        counterexample="$x = 19997/10000 \\in (-2, 2)$ has $\\tanh x = " + num(sp.tanh(x0), 15)
        + " > 0.964$: the interval $(-0.964, 0.964)$ misses part of the image, "
        f"$(0.964, \\tanh 2)$ of width $\\tanh 2 - 0.964 = {num(gap, 12)}$ (and its mirror).",
    )


def _image_1() -> Outcome:
    x0 = sp.Rational(9995, 10000)
    require(not rounds_to(sp.tanh(1), "0.7612"), "0.7612 would be a correct rounding")
    require(rounds_to(sp.tanh(1), "0.7616"), "tanh 1 should round to 0.7616")
    require(certainly_less(sp.Rational("0.7612"), sp.tanh(x0)), "counterexample fails")
    require(C.CONSTANTS["tanh_1999_2000"].closed == sp.tanh(x0), "registry: tanh(9995/10000)")
    return Outcome(
        Verdict.REFUTED,
        (check_constant("tanh_1"), check_constant("tanh_1999_2000"), Evidence("high precision", f"$\\tanh 1 = {num(sp.tanh(1), 15)}$ rounds to "
                                            "$0.7616$ at 4 decimals, not $0.7612$.")),
        counterexample=f"$x = 9995/10000 \\in (-1, 1)$ has $\\tanh x = {num(sp.tanh(x0), 15)} > 0.7612$.",
    )


def _derivative() -> Outcome:
    return Outcome(Verdict.PROVED, (sympy_zero(sp.diff(sp.tanh(x), x) - (1 - sp.tanh(x) ** 2),
                                               r"$\frac{d}{dx}\tanh x - (1 - \tanh^2 x)$"),))


def _derivative_values() -> Outcome:
    ev = []
    for a, d in ((0, "1"), (1, "0.42"), (2, "0.07")):
        val = TANH_PRIME.subs(x, a)
        require(rounds_to(val, d), f"tanh'({a}) does not round to {d}")
        ev.append(check_constant(f"tanh_prime_{a}"))
    require(TANH_PRIME.subs(x, 0) == 1, "tanh'(0) = 1 exactly")
    ev.append(Evidence("rounding", r"$\tanh'(0) = 1$ exactly; $\tanh'(1) = " + num(TANH_PRIME.subs(x, 1), 8)
                       + r"$ and $\tanh'(2) = " + num(TANH_PRIME.subs(x, 2), 8)
                       + r"$ round to $0.42$ and $0.07$ at 2 decimals."))
    return Outcome(Verdict.PROVED, tuple(ev))


def _linear_half() -> Outcome:
    err = sp.Rational(1, 2) - sp.tanh(sp.Rational(1, 2))
    ev = [sympy_zero(sp.diff(x - sp.tanh(x), x) - sp.tanh(x) ** 2,
                     r"$\frac{d}{dx}(x - \tanh x) = \tanh^2 x \ge 0$, so $|x - \tanh x|$ is largest at $|x| = \tfrac12$")]
    ev.append(check_constant("tanh_linear_error_half"))
    up = C.enclose(err)[1] * (1 + 1e-9)
    ev.append(interval_bound(lambda X: X - ls.tanh(X), -0.5, 0.5, upper=up, lower=-up, label=r"x - \tanh x"))
    rel = C.CONSTANTS["tanh_linear_relative_error_half"].closed
    require(sp.simplify(rel - 2 * err) == 0, "relative error at 1/2 is err/(1/2)")
    ev.append(check_constant("tanh_linear_relative_error_half"))
    return Outcome(Verdict.CONDITIONAL, tuple(ev), condition=(
        f"'behaves like $f(x) = x$' read as: $\\sup_{{|x|<1/2}} |\\tanh x - x| = \\tfrac12 - \\tanh\\tfrac12 = {num(err, 6)}$ "
        f"(relative error $1 - 2\\tanh\\tfrac12 = {num(rel, 12)}$ at the ends). Closeness is a tolerance, not a theorem."))


def _saturation_2() -> Outcome:
    ev = [sympy_zero(TANH_PRIME.subs(x, sp.atanh(sp.sqrt(1 - sp.Symbol("e", positive=True)))) - sp.Symbol("e", positive=True),
                     r"$\tanh'(\operatorname{atanh}\sqrt{1-\varepsilon}) = \varepsilon$: threshold $x_\varepsilon = \operatorname{atanh}\sqrt{1-\varepsilon}$")]
    rows = []
    for name in C.SATURATION_EPS:
        key = "tanh_saturation_" + name.replace("/", "_").replace("'", "_prime").replace("(", "_").replace(")", "")
        ev.append(check_constant(key))
        rows.append(f"$\\varepsilon = {name}$: $x_\\varepsilon = {num(C.CONSTANTS[key].closed, 6)}$")
    require(sp.simplify(sp.atanh(sp.sqrt(1 - TANH_PRIME.subs(x, 2)))) == 2, "threshold at tanh'(2) is 2")
    up = C.enclose(TANH_PRIME.subs(x, 2))[1] * (1 + 1e-9)
    ev.append(interval_bound(lambda X: 1 - ls.tanh(X) * ls.tanh(X), 2.0, 40.0, upper=up, label=r"\tanh'(x)"))
    ev.append(Evidence("table", "; ".join(rows) + "."))
    return Outcome(Verdict.CONDITIONAL, tuple(ev), condition=(
        r"'saturating' defined as $\tanh'(x) \le \varepsilon \tanh'(0)$. The threshold is $2$ exactly for "
        r"$\varepsilon = \tanh'(2) \approx 7.07\%$; for $\varepsilon = 1/10$ it is $1.818$, for $1/100$ it is $2.993$."))


def _c_beyond_2() -> Outcome:
    ev = [check_constant("tanh_2"), check_constant("tanh_prime_2")]
    ev.append(interval_bound(lambda X: ls.tanh(X), 2.0, 40.0, lower=C.enclose(sp.tanh(2))[0] * (1 - 1e-12),
                             label=r"\tanh x"))
    return Outcome(Verdict.CONDITIONAL, tuple(ev), condition=(
        r"'beneath $(-2,2)$' read as *outside* $(-2, 2)$: for $|c| \ge 2$, $|\tanh c| \ge \tanh 2 = 0.96403$ "
        r"and $\tanh'(c) \le \tanh'(2) = 0.07065$ (monotone, checked by subdivision on $[2, 40]$; $\tanh$ is odd). "
        r"'Saturated' thus means: slope below $7.07\%$ of its maximum. Read literally ('inside'), the claim is false: "
        r"$\tanh'(0) = 1$."))


THEME = Theme(
    slug="tanh",
    title="tanh: image, derivative, linear range, saturation",
    intro="Claims of §1.3 and §2 about $\\tanh$. Numbers are closed forms evaluated by mpmath at 60 digits "
          "and checked by an independent computation; inequalities over ranges are checked by subdivision "
          "with the library's sound `Interval` (fast mode).",
    figures=(("tanh_sigmoid.svg", "tanh and σ (left) and their derivatives (right), with the saturation "
                                  "thresholds for ε = tanh′(2): |x| = 2 for tanh, |x| = 4 for σ."),),
    claims=[
        Claim("tanh-image-R", "§1.3", "If the input of a tanh is in the whole $\\mathbb{R}$, the output range is $(-1, 1)$.",
              r"$\tanh(\mathbb{R}) = (-1, 1)$, ends not attained.", "sympy identity and limits.", Verdict.PROVED, _image_R),
        Claim("tanh-image-2-digits", "§1.3", "if the input is in $(-2, 2)$, the output will still be in $(-0.964, 0.964)$",
              r"$\tanh 2$ rounds to $0.964$ at three decimals.", "high-precision evaluation, two ways.",
              Verdict.PROVED, _image_2_digits),
        Claim("tanh-image-2-bound", "§1.3", "if the input is in $(-2, 2)$, the output will still be in $(-0.964, 0.964)$",
              r"$\tanh((-2, 2)) \subseteq (-0.964, 0.964)$ (the sentence read as a bound).",
              "counterexample at high precision.", Verdict.REFUTED, _image_2_bound),
        Claim("tanh-image-1", "§1.3", "For $(-1, 1)$, the output range drops to $(-0.7612, 0.7612)$.",
              r"$\tanh((-1, 1)) = (-0.7612, 0.7612)$, i.e. $\tanh 1 \approx 0.7612$.",
              "high-precision evaluation; counterexample.", Verdict.REFUTED, _image_1),
        Claim("tanh-derivative", "§1.3", "$\\frac{\\partial}{\\partial x} tanh(x) = (1 - tanh(x)^2)$",
              r"$\tanh'(x) = 1 - \tanh^2 x$ for all real $x$.", "sympy differentiation.", Verdict.PROVED, _derivative),
        Claim("tanh-derivative-values", "§1.3", "the derivatives at values $(0,1,2)$ are respectively $(1, 0.42, 0.07)$",
              r"$\tanh'(0) = 1$, and $\tanh'(1)$, $\tanh'(2)$ round to $0.42$, $0.07$ at two decimals.",
              "closed forms at 60 digits vs numerical differentiation.", Verdict.PROVED, _derivative_values),
        Claim("tanh-linear-half", "§2", "the tanh behaves more like $f(x)=x$ in the $(-0.5, 0.5)$ range",
              r"$|\tanh x - x| \le \tfrac12 - \tanh\tfrac12$ on $(-\tfrac12, \tfrac12)$, and this is the supremum.",
              "sympy monotonicity + closed form + interval subdivision.", Verdict.CONDITIONAL, _linear_half),
        Claim("tanh-saturation-2", "§2", "and then starts saturating around $(-2, 2)$",
              r"$\tanh'(x) \le \varepsilon$ iff $|x| \ge \operatorname{atanh}\sqrt{1-\varepsilon}$; "
              r"$= 2$ for $\varepsilon = \tanh'(2)$.",
              "closed form, root finding, interval subdivision.", Verdict.CONDITIONAL, _saturation_2),
        Claim("c-beyond-2-saturated", "§2 (and §1.6)",
              "This means that **the values of c beneath $(-2, 2)$ will lead to saturated feature responses**.",
              r"For $|c| \ge 2$: $|\tanh c| \ge \tanh 2$ and $\tanh'(c) \le \tanh'(2)$.",
              "closed forms + interval subdivision.", Verdict.CONDITIONAL, _c_beyond_2),
    ],
)
