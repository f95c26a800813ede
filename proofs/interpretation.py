"""§2 of the notes, "Interpretation": affine maps, shared indices, sign symmetry, the c → a → y end."""

from __future__ import annotations

from typing import Callable

import sympy as sp

from lstm_symbolic import constants as C
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, require, sympy_zero

from ._common import certainly_less, check_constant, lstm_step, num, sig

R = sp.Rational


def _affine(W: sp.Expr, b: sp.Expr):
    return lambda z: W * z + b


def _superposition() -> Outcome:
    W = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"w_{i}{j}"))
    b = sp.Matrix(2, 1, lambda i, _: sp.Symbol(f"b_{i}"))
    z = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"z_{i}"))
    require(sp.expand(W * z - sum((W[:, j] * z[j] for j in range(3)), sp.zeros(2, 1))) == sp.zeros(2, 1), "superposition")
    f = _affine(R(1), R(1))
    require(f(R(0) + R(0)) != f(R(0)) + f(R(0)), "bias breaks additivity")
    return Outcome(Verdict.CONDITIONAL, (Evidence("sympy", r"$Wz = \sum_j W_{:,j} z_j$ exactly (symbolic $2\times3$): "
                                                  r"each input's contribution is independent of the others."),),
                   condition=r"'responses' are measured from the bias: $Wz + b = b + \sum_j W_{:,j}z_j$. The full "
                             r"affine responses do not add: $f(z_1 + z_2) = f(z_1) + f(z_2) - b$.",
                   counterexample=r"$W = 1$, $b = 1$: $f(0 + 0) = 1 \ne f(0) + f(0) = 2$.")


def _small_inputs() -> Outcome:
    f = _affine(R(1), R(1))
    eps = sp.Symbol("epsilon", positive=True)
    require(sp.limit(f(eps), eps, 0) == 1, "limit is b")
    return Outcome(Verdict.REFUTED, (Evidence("sympy limit", r"$\lim_{z\to0}(Wz + b) = b$: with a bias the response "
                                              r"to a vanishing input is $b$, not small."),),
                   counterexample=r"$W = 1$, $b = 1$: input $z = \varepsilon \to 0$ gives response $\to 1$. "
                                  r"True only for $b = 0$, or for the increment $Wz$ ($|Wz| \le \|W\|\,|z|$).")


def _proportional() -> Outcome:
    f = _affine(R(1), R(1))
    require(f(R(2)) / f(R(1)) != 2, "not proportional")
    return Outcome(Verdict.REFUTED, (Evidence("exact", r"$f(1) = 2$, $f(2) = 3$: doubling the input multiplies the "
                                              r"response by $3/2$."),),
                   counterexample=r"$f(z) = z + 1$: $f(2)/f(1) = 3/2 \ne 2$. Holds only when $b = 0$ (linear, not affine).")


def _scaling() -> Outcome:
    lam, z, W, b = sp.symbols("lambda z W b", real=True)
    diff = sp.expand((W * (lam * z) + b) - lam * (W * z + b))
    require(sp.simplify(diff - b * (1 - lam)) == 0, "defect b(1-λ)")
    return Outcome(Verdict.REFUTED, (sympy_zero(diff - b * (1 - lam), r"$f(\lambda z) - \lambda f(z) - b(1-\lambda)$"),),
                   counterexample=r"$W = b = 1$, $z = 1$, $\lambda = 2$: $f(2) = 3 \ne 2 f(1) = 4$. The defect is "
                                  r"$b(1 - \lambda)$: homogeneity needs $b = 0$ — and the gates, $\tilde c$ and $y$ apply "
                                  r"$\sigma$, $\tanh$, softmax afterwards, which are not homogeneous either.")


def _shared_index() -> Outcome:
    n = 2
    W = {g: sp.Matrix(n, n + 1, lambda i, j, g=g: sp.Symbol(f"W{g}_{i}{j}")) for g in "fuco"}
    b = {g: sp.Matrix(n, 1, lambda i, _, g=g: sp.Symbol(f"b{g}_{i}")) for g in "fuco"}
    a0 = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"a_{i}"))
    c0 = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"c_{i}"))
    xx = sp.Matrix([sp.Symbol("x")])
    s = lstm_step(W, b, a0, c0, xx)
    J = s["c"].jacobian(c0)
    require(J[0, 1] == 0 and J[1, 0] == 0 and sp.simplify(J[0, 0] - s["f"][0]) == 0, "diagonal")
    return Outcome(Verdict.PROVED, (Evidence("sympy Jacobian", r"for $n_a = 2$ (symbolic weights), "
                                             r"$\partial c^{<t>}/\partial c^{<t-1>} = \operatorname{diag}(\Gamma_f)$ with "
                                             r"$a^{<t-1>}, x^{<t>}$ held: coordinate $i$ of $c$ feeds only coordinate $i$ "
                                             r"of the next $c$ and of $a$. That the index 'means the same feature' is an "
                                             r"interpretation; $\tilde c_i$ mixes all of $a^{<t-1>}$ through $W_c$."),))


def _gates_monotone() -> Outcome:
    g, v = sp.symbols("g v", real=True)
    x = sp.Symbol("x", real=True)
    ev = [sympy_zero(sp.diff(sig(x), x) - sig(x) * (1 - sig(x)), r"$\sigma' = \sigma(1 - \sigma) > 0$")]
    require(sp.diff(sp.Abs(v) * g, g) == sp.Abs(v), "throughput increasing in g")
    ev.append(Evidence("argument", r"$|g v| = g|v|$ increases with $g$, and $g = \sigma(\text{activation})$ "
                                   r"increases with the activation."))
    return Outcome(Verdict.PROVED, tuple(ev))


def _flip_model():
    """A 1-unit, 1-input LSTM with symbolic weights and its sign-flipped partner (see _sign_flip)."""
    names = {g: (sp.Symbol(f"Wa_{g}"), sp.Symbol(f"Wx_{g}"), sp.Symbol(f"b_{g}")) for g in "fuco"}
    orig = {g: (sp.Matrix([[wa, wx]]), sp.Matrix([bb])) for g, (wa, wx, bb) in names.items()}
    flip = {}
    for g, (wa, wx, bb) in names.items():
        if g == "c":
            flip[g] = (sp.Matrix([[wa, -wx]]), sp.Matrix([-bb]))
        else:
            flip[g] = (sp.Matrix([[-wa, wx]]), sp.Matrix([bb]))
    return orig, flip


def _run(model, a0, c0, xs):
    W = {g: model[g][0] for g in model}
    b = {g: model[g][1] for g in model}
    a, c, out = a0, c0, []
    for xt in xs:
        s = lstm_step(W, b, a, c, sp.Matrix([xt]))
        a, c = s["a"], s["c"]
        out.append(s)
    return out


def _sign_flip() -> Outcome:
    orig, flip = _flip_model()
    a0, c0 = sp.Symbol("a0"), sp.Symbol("c0")
    xs = sp.symbols("x1 x2")
    r1 = _run(orig, sp.Matrix([a0]), sp.Matrix([c0]), xs)
    r2 = _run(flip, sp.Matrix([-a0]), sp.Matrix([-c0]), xs)
    for s1, s2 in zip(r1, r2):
        for g in ("f", "u", "o"):
            d = sp.expand(s1[g][0] - s2[g][0])
            require(d == 0 or sp.simplify(d) == 0, f"gate {g} unchanged")
        for v in ("c_tilde", "c", "a"):
            d = sp.expand(s1[v][0] + s2[v][0])
            require(d == 0 or sp.simplify(d) == 0, f"{v} flipped")
    # negating *all* weights changes the gates
    bf = sp.log(9)
    require(sp.simplify(sig(bf)) == R(9, 10) and sp.simplify(sig(-bf)) == R(1, 10), "gate changes")
    return Outcome(Verdict.CONDITIONAL, (Evidence("sympy, 2 steps, symbolic weights and inputs",
                                                  r"negating $W_c^{x}, b_c, W_f^{a}, W_u^{a}, W_o^{a}, a^{<0>}, c^{<0>}$ "
                                                  r"(and keeping $W_c^{a}$, the gates' $W^{x}$ and biases) leaves "
                                                  r"$\Gamma_f, \Gamma_u, \Gamma_o$ unchanged and negates $\tilde c, c, a$ at "
                                                  r"every step — identically in all symbols."),),
                   condition=r"flip exactly the weights listed (the candidate's input weights and bias, the gates' "
                             r"recurrent weights) and the initial state; if $W_y$ is negated too, $y$ is unchanged "
                             r"([softmax-complementary](#softmax-complementary)).",
                   counterexample=r"negating *all* weights changes the gates, $\sigma(-z) = 1 - \sigma(z)$: "
                                  r"$b_f = \ln 9$ gives $\Gamma_f = 9/10$, $-\ln 9$ gives $1/10$.")


def _complementary() -> Outcome:
    z = sp.symbols("z0 z1", real=True)
    y = lambda zz: [sp.exp(v) / sum(sp.exp(w) for w in zz) for v in zz]  # noqa: E731
    ev = [sympy_zero(y([-z[0], -z[1]])[0] - (1 - y(list(z))[0]), r"$n_y = 2$: $\operatorname{softmax}(-z)_0 - (1 - \operatorname{softmax}(z)_0)$")]
    z3 = [R(0), R(0), sp.log(2)]
    y3 = [sp.simplify(v) for v in y(z3)]
    ym = [sp.simplify(v) for v in y([-v for v in z3])]
    require(y3 == [R(1, 4), R(1, 4), R(1, 2)] and ym == [R(2, 5), R(2, 5), R(1, 5)], "exact values")
    require(ym != [(1 - v) / 2 for v in y3], "not complementary for n_y = 3")
    Wy, a = sp.symbols("W_y a", real=True)
    ev.append(Evidence("exact", r"$n_y = 3$, $z = (0, 0, \ln 2)$: $\operatorname{softmax}(z) = (1/4, 1/4, 1/2)$, "
                                r"$\operatorname{softmax}(-z) = (2/5, 2/5, 1/5) \ne (1 - y)/2 = (3/8, 3/8, 1/4)$."))
    ev.append(Evidence("observation", r"if $W_y$ is negated along with the flip of $a$, $W_y a$ and hence $y$ are unchanged: "
                                      r"the sign of the hidden features is a convention the output layer absorbs."))
    return Outcome(Verdict.CONDITIONAL, tuple(ev), condition=r"$n_y = 2$ (then $\operatorname{softmax}(-z) = 1 - "
                   r"\operatorname{softmax}(z)$ exactly); for $n_y \ge 3$, $1 - y$ is not even a distribution.",
                   counterexample=r"$n_y = 3$, $z = (0, 0, \ln 2)$ above.")


def _higher_presence() -> Outcome:
    return Outcome(Verdict.REFUTED, (Evidence("symmetry", r"by [sign-flip-symmetry](#sign-flip-symmetry) every network has "
                                              r"a partner with the same gates, negated $\tilde c, c, a$ and — with $W_y$ "
                                              r"negated — the same output $y$; so 'higher $c_i$ = more present' cannot be an "
                                              r"intrinsic property of $\tilde c, c, a$. For the gates it is "
                                              r"([gates-monotone](#gates-monotone))."),),
                   counterexample=r"the flipped partner of any trained network (exact, sympy): identical predictions, "
                                  r"opposite signs of $\tilde c, c, a$.")


def _o_no_effect() -> Outcome:
    n = 1
    W = {g: sp.Matrix([[sp.Symbol(f"Wa_{g}"), sp.Symbol(f"Wx_{g}")]]) for g in "fuco"}
    b = {g: sp.Matrix([sp.Symbol(f"b_{g}")]) for g in "fuco"}
    s = lstm_step(W, b, sp.Matrix([sp.Symbol("a")]), sp.Matrix([sp.Symbol("c")]), sp.Matrix([sp.Symbol("x")]))
    for sym in ("Wa_o", "Wx_o", "b_o"):
        require(sp.diff(s["c"][0], sp.Symbol(sym)) == 0, "c independent of output gate")
    return Outcome(Verdict.PROVED, (Evidence("sympy", r"$c^{<t>}$ does not contain $W_o, b_o$: "
                                             r"$\partial c^{<t>}/\partial(W_o, b_o) = 0$, so $\Gamma_o^{<t>}$ can change "
                                             r"$a^{<t>}$ arbitrarily within $(-|\tanh c^{<t>}|, |\tanh c^{<t>}|)$ at a fixed "
                                             r"$c^{<t>}$."),))


def _a_without_c() -> Outcome:
    # run A and run B share c⟨t⟩ = atanh(1/2) but differ in Γ_o⟨t⟩ (1/10 vs 9/10): a⟨t⟩ = 1/20 vs 9/20.
    c_t = sp.atanh(R(1, 2))
    aA, aB = R(1, 10) * sp.tanh(c_t), R(9, 10) * sp.tanh(c_t)
    require((aA, aB) == (R(1, 20), R(9, 20)), "a values")
    # next step: W_c^a = 1, every other weight 0, biases 0: Γ_f = Γ_u = 1/2, c̃ = tanh(a)
    nxt = lambda a: sig(0) * c_t + sig(0) * sp.tanh(a)  # noqa: E731
    require(certainly_less(nxt(aA), nxt(aB)), "c differs")
    diff = C.CONSTANTS["a_changes_c_difference"].closed
    require(sp.simplify(diff - (nxt(aB) - nxt(aA))) == 0, "registry: the difference of the next cells")
    return Outcome(Verdict.REFUTED, (Evidence("high precision (certain sign)", f"$c^{{<t+1>}}_B - c^{{<t+1>}}_A = "
                                              f"\\tfrac12(\\tanh\\tfrac{{9}}{{20}} - \\tanh\\tfrac{{1}}{{20}}) = {num(diff, 12)} > 0$."),
                                     check_constant("a_changes_c_difference")),
                   counterexample=r"$n_a = n_x = 1$; two runs with the same $c^{<t>} = \operatorname{atanh}\tfrac12$ and "
                                  r"$\Gamma_o^{<t>} = 1/10$ vs $9/10$ (different $x^{<t>}$), so $a^{<t>} = 1/20$ vs $9/20$; "
                                  r"next step with $W_c^{a} = 1$, all other weights and biases $0$: $c^{<t+1>}$ differs. "
                                  r"$c$ is insulated from $a$ only if the $a$-columns of $W_f, W_u, W_c$ vanish.")


def _one_hot_independent() -> Outcome:
    W = sp.Matrix([[1, 0], [2, 0], [0, 3]])
    require(W.rank() == 2, "rank")
    return Outcome(Verdict.CONDITIONAL, (Evidence("argument", r"one-hot $x = e_j$ selects column $W_{:,j}$; two non-zero "
                                                  r"columns with disjoint supports are linearly independent "
                                                  r"(e.g. $(1,2,0)^T, (0,0,3)^T$: rank 2, sympy)."),),
                   condition=r"'complementary' read as: non-zero columns with disjoint supports. This is about the "
                             r"pre-activations $W z$; after $\sigma$/$\tanh$ 'linear independence' is not preserved in general.")


def _sum_of_candidates() -> Outcome:
    T = 3
    f = sp.symbols(f"f1:{T + 1}")
    u = sp.symbols(f"u1:{T + 1}")
    ct = sp.symbols(f"ct1:{T + 1}")
    c0 = sp.Symbol("c0")
    c = c0
    for k in range(T):
        c = f[k] * c + u[k] * ct[k]
    closed = sp.Mul(*f) * c0 + sum(sp.Mul(*f[k + 1:]) * u[k] * ct[k] for k in range(T))
    require(sp.expand(c - closed) == 0, "unrolled")
    require(sp.expand(c.subs({**{v: 1 for v in f}, **{v: 1 for v in u}})) == c0 + sum(ct), "sum when gates = 1")
    return Outcome(Verdict.CONDITIONAL, (sympy_zero(c - closed, r"$c^{<3>} - \bigl[(\prod_k \Gamma_f^{<k>}) c^{<0>} + "
                                                   r"\sum_k (\prod_{j>k}\Gamma_f^{<j>})\Gamma_u^{<k>}\tilde c^{<k>}\bigr]$"),),
                   condition=r"$\Gamma_f = \Gamma_u = 1$, reached only as a limit ($\sigma < 1$): then "
                             r"$c^{<t>} = c^{<0>} + \sum_k \tilde c^{<k>}$. For any actual gates each candidate is "
                             r"weighted by $\Gamma_u^{<k>}\prod_{j>k}\Gamma_f^{<j>} < 1$.")


def _o_propagates() -> Outcome:
    return Outcome(Verdict.PROVED, (Evidence("structure", r"$a^{<t>} = \Gamma_o^{<t>} \odot \tanh c^{<t>}$ is part of "
                                             r"$z^{<t+1>} = [a^{<t>}, x^{<t+1>}]$, the input of every gate at $t+1$; "
                                             r"$y^{<t>}$ is computed from $a^{<t>}$ and fed nowhere."),))


def _empirical(text: str) -> Callable[[], Outcome]:
    def check() -> Outcome:
        return Outcome(Verdict.EMPIRICAL, (Evidence("none possible", "a statement about what training does or "
                                                    "should do; no theorem decides it."),), citation=text)
    return check


def _stable() -> Outcome:
    return Outcome(Verdict.EMPIRICAL, (Evidence("what the library can show", r"with $\sup\Gamma_f < 1$ the cell is "
                                                r"bounded for every $t$ by $\max(|c^{<0>}|, M/(1-\sup\Gamma_f))$ "
                                                r"([cell-bounded](domains.md#cell-bounded)); 'more stable than a long chain "
                                                r"of transformations' is a comparison no proof here settles."),),
                   citation="The notes' own assessment; no experiment cited.")


def _sigmoid_normaliser() -> Outcome:
    return Outcome(Verdict.EMPIRICAL, (Evidence("what the library can show", r"$\sigma(c) = \tfrac12 + \tfrac12\tanh(c/2)$: "
                                                r"a sigmoid normaliser is an affine image of $\tanh(c/2)$, so its saturation "
                                                r"thresholds are exactly twice tanh's; with the a priori growth $|c^{<t>}| < t$ "
                                                r"(from $c^{<0>} = 0$) it can reach a given saturation level only after twice "
                                                r"as many steps. But $a$ would then lie in $(0, 1)$ and lose its sign."),),
                   citation="A design opinion of the notes ('would also work well'); untested.")


THEME = Theme(
    slug="interpretation",
    title="Interpretation (§2)",
    intro="Claims of the Interpretation section. The maps $W[a, x] + b$ are *affine*, not linear: the bias "
          "breaks additivity, proportionality and homogeneity, which is where most of the section's "
          "statements need a condition. Statements about what training *does* are interpretations and "
          "marked empirical.",
    claims=[
        Claim("affine-superposition", "§2", "The mapping for each element of the input vector is independent of all the others, and the response for each output feature is the linear combination of all the separate responses.",
              r"$f(z) = Wz + b$ satisfies $f(\sum_j z_j e_j) = \sum_j f(z_j e_j)$.", "sympy; exact counterexample.",
              Verdict.CONDITIONAL, _superposition),
        Claim("affine-small-inputs", "§2", "due to its linearity, **arbitrarily small inputs generate arbitrarily small responses**",
              r"$z \to 0 \Rightarrow Wz + b \to 0$.", "sympy limit; exact counterexample.", Verdict.REFUTED, _small_inputs),
        Claim("affine-proportional", "§2", "and proportionally big inputs generate proportionally big responses",
              r"$f(\lambda z)/f(z) = \lambda$.", "exact counterexample.", Verdict.REFUTED, _proportional),
        Claim("affine-scaling", "§2", "And importantly, **scaling the input will scale the output by the same factor**.",
              r"$f(\lambda z) = \lambda f(z)$ for the maps of the gates, $\tilde c$ and $y$.", "sympy; exact counterexample.",
              Verdict.REFUTED, _scaling),
        Claim("shared-index", "§2", "we could argue that **they share the same semantics: their $i^{th}$ index refers to the same feature**",
              r"$c_i^{<t>}$ depends on $c^{<t-1>}$ only through $c_i^{<t-1>}$, and $a_i$ on $c$ only through $c_i$.",
              "sympy Jacobian.", Verdict.PROVED, _shared_index),
        Claim("higher-response-presence", "§2", "**a higher response value means both higher presence and higher survival chances**",
              r"For $\tilde c, c, a$ a larger value intrinsically encodes 'more present'.", "sign-flip symmetry.",
              Verdict.REFUTED, _higher_presence),
        Claim("gates-monotone", "§2", "the gates explicitly map higher activations to higher throughput",
              r"$\sigma$ is strictly increasing and $|g v|$ increases with $g$.", "sympy.", Verdict.PROVED, _gates_monotone),
        Claim("sign-flip-symmetry", "§2", "let's imagine all the corresponding weights (and target label) are multiplied by $-1$. The responses for $\\tilde c, c, a$ would behave identically, just the sign would be flipped",
              r"There is a weight transformation under which $(\tilde c, c, a) \mapsto -(\tilde c, c, a)$ with "
              r"unchanged gates, for all inputs.", "sympy, symbolic 2-step LSTM.", Verdict.CONDITIONAL, _sign_flip),
        Claim("softmax-complementary", "§2", "flipping the sign would lead to a somewhat \"complementary\" probability distribution",
              r"$\operatorname{softmax}(-z) = 1 - \operatorname{softmax}(z)$ (or its normalisation).",
              "sympy identity; exact counterexample.", Verdict.CONDITIONAL, _complementary),
        Claim("sigmoid-normaliser", "§2", "for the normalizing, it seems that a sigmoid instead of a softmax would also work well, but be \"slower\" with respect to $t$",
              "A sigmoid could replace tanh in $a = \\Gamma_o\\tanh(c)$.", "opinion; the identity σ = affine∘tanh(·/2).",
              Verdict.EMPIRICAL, _sigmoid_normaliser),
        Claim("output-gate-pruning", "§2", "The output gate then \"prunes\" the histogram in a way that codes the current state so that the output layer can extract an accurate prediction",
              "What a trained output gate does.", "interpretation.", Verdict.EMPIRICAL,
              _empirical("Interpretation of the notes about trained networks.")),
        Claim("output-gate-propagates", "§2", "the output of $\\Gamma_o$ gets propagated to the next step, so it should still summarize the current state, whereas the $y$ output should refer univocally to the current $t$",
              r"$\Gamma_o^{<t>}$ reaches step $t+1$ through $a^{<t>}$; $y^{<t>}$ is not fed back.", "structure of the equations.",
              Verdict.PROVED, _o_propagates),
        Claim("forget-gate-role", "§2", "**$\\Gamma_f$ should then be trained to correct skewed contributions to that histogram, and/or to redistribute the unit's capacity\"**",
              "What a trained forget gate does.", "interpretation.", Verdict.EMPIRICAL,
              _empirical("Interpretation of the notes about trained networks.")),
        Claim("cell-sum-of-candidates", "§2", "$c$ will be indeed the result of adding every single candidate $\\tilde c$",
              r"$c^{<t>} = c^{<0>} + \sum_k \tilde c^{<k>}$.", "sympy unrolling.", Verdict.CONDITIONAL, _sum_of_candidates),
        Claim("output-gate-no-effect-on-c", "§2", "it is easy to see how $\\Gamma_o$ could filter out very different $a$ states in two consecutive time-steps, just based on a different input",
              r"$c^{<t>}$ does not depend on $\Gamma_o^{<t>}$.", "sympy.", Verdict.PROVED, _o_no_effect),
        Claim("a-changes-without-c", "§2", "**$a$ can swift rapidly without affecting the stability of $c$ at all**",
              r"Changes of $a^{<t>}$ never affect $c^{<t+1>}$.", "exact construction, high precision.", Verdict.REFUTED, _a_without_c),
        Claim("one-hot-independent", "§2", "if the active columns of the corresponding one-hot active entries are complementary, the outcomes are linearly independent from each other",
              r"$W e_i$ and $W e_j$ are linearly independent.", "exact rank.", Verdict.CONDITIONAL, _one_hot_independent),
        Claim("histogram-more-stable", "§2", "This approach is numerically more stable.",
              "Building $c$ additively is numerically more stable than a chain of transformations.",
              "no proof possible; related bound.", Verdict.EMPIRICAL, _stable),
        Claim("candidate-role", "§2", "**The candidate pipeline ($\\Gamma_u$ and $\\tilde c$) has the task of embedding the current $[a^{<t-1>}, x^{<t>}]$ input so that it provides a meaningful contribution to the $c$ histogram**.",
              "What the trained candidate pipeline does.", "interpretation.", Verdict.EMPIRICAL,
              _empirical("Interpretation of the notes about trained networks.")),
    ],
)
