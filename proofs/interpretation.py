"""§2 of the notes, "Interpretation": affine maps, shared indices, sign symmetry, the c → a → y end."""

from __future__ import annotations

import sympy as sp

from lstm_symbolic import constants as C
from lstm_symbolic.proof import Claim, Evidence, Outcome, Theme, Verdict, require, sympy_zero

from . import _measured as M
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


_GATES = {"full": "full LSTM", "forget_gate_held_at_1": r"$\Gamma_f \equiv 1$",
          "update_gate_held_at_1": r"$\Gamma_u \equiv 1$", "output_gate_held_at_1": r"$\Gamma_o \equiv 1$"}
def _retrained(gate: str) -> tuple[Evidence, str, str]:
    """The retrained-ablation evidence, its experiment, and how the ablated LSTM did against the
    full one: "<worse|better|as good> on the demo corpus and <…> on the recall task"."""
    res, exp = M.experiment("gate_ablation")
    key = f"{gate}_gate_held_at_1"
    parts, cmps = [], {}
    for task, digits in (("text", 3), ("recall", 4)):
        rows = {k: res[task][k] for k in ("full", key)}
        parts.append(f"{'demo corpus' if task == 'text' else 'recall task'}: " + M.listing(rows, "loss", _GATES, digits))
        cmps[task] = M.compare(rows[key]["final"]["loss"], rows["full"]["final"]["loss"])
    versus = " and ".join(f"{M.judge(cmps[task], 'worse', 'better', 'as good')} on the {place}"
                          for task, place in (("text", "demo corpus"), ("recall", "recall task")))
    return Evidence("measured: retrained with the gate held at 1", "final loss, " + "; ".join(parts) + "."), exp, versus


def _across(res: dict, get) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return M.across([get(m) for m in res.values()])


def _output_gate_pruning() -> Outcome:
    res, exp = M.experiment("demo_dynamics")
    low = _across(res, lambda m: m["gates"]["output"]["below_0.1"])
    high = _across(res, lambda m: m["gates"]["output"]["above_0.9"])
    pruned = _across(res, lambda m: m["gates"]["pruned"])
    sp_c = _across(res, lambda m: m["gates"]["sparsity"]["tanh_c_below_0.1"])
    sp_a = _across(res, lambda m: m["gates"]["sparsity"]["a_below_0.1"])
    loss = _across(res, lambda m: m["loss"])
    held = _across(res, lambda m: m["held_at_test_time"]["o_held_at_1"]["loss"])
    ev = [Evidence("measured: $\\Gamma_o$ over the corpus", f"fraction of unit-steps with $\\Gamma_o < 0.1$: ${M.pm(low)}$, "
                   f"$> 0.9$: ${M.pm(high)}$ (mean ± sd over the 5 models); among unit-steps where the cell's feature "
                   f"is present ($|\\tanh c| > 1/2$), $\\Gamma_o < 0.1$ removes it in ${M.pm(pruned)}$; $|a| < 0.1$ in "
                   f"${M.pm(sp_a)}$ of unit-steps against $|\\tanh c| < 0.1$ in ${M.pm(sp_c)}$."),
          Evidence("measured: $\\Gamma_o$ held at 1 at test time (no retraining)", f"loss ${M.pm(loss)}$ → ${M.pm(held, 2)}$ "
                   "nats/char.")]
    ev_r, exp_r, versus = _retrained("output")
    ev.append(ev_r)
    require(pruned["min"] > 0.1 and sp_a["mean"] > 2 * sp_c["mean"] and held["min"] > loss["max"],
            "finding no longer matches the numbers (pruning, sparsity, test-time ablation)")
    finding = (f"Supported for the trained demo models: the output gate is mostly shut or open ({100 * low['mean']:.0f} % of "
               f"unit-steps below 0.1, {100 * high['mean']:.0f} % above 0.9), removes a present cell feature in "
               f"{100 * pruned['mean']:.0f} % of the cases, so $a$ is much sparser than $\\tanh c$ "
               f"({100 * sp_a['mean']:.0f} % vs {100 * sp_c['mean']:.0f} % near 0), and the models depend on it (holding it "
               f"open at test time raises the loss from {loss['mean']:.2f} to {held['mean']:.2f}). Whether a model needs "
               f"it is another question: retrained with $\\Gamma_o \\equiv 1$ the LSTM is {versus}.")
    return Outcome(Verdict.MEASURED, tuple(ev), experiment=exp + " " + exp_r, finding=finding)


def _forget_gate_role() -> Outcome:
    res, exp = M.experiment("demo_dynamics")
    below = _across(res, lambda m: m["gates"]["forget"]["below_0.5"])
    above = _across(res, lambda m: m["gates"]["forget"]["above_0.9"])
    counters = _across(res, lambda m: float(m["gates"]["forget"]["units_mean_above_0.99"]))
    cmax = _across(res, lambda m: m["gates"]["max_abs_c"])
    held_c = _across(res, lambda m: m["held_at_test_time"]["f_held_at_1"]["max_abs_c"])
    loss = _across(res, lambda m: m["loss"])
    held = _across(res, lambda m: m["held_at_test_time"]["f_held_at_1"]["loss"])
    ev = [Evidence("measured: $\\Gamma_f$ over the corpus", f"fraction of unit-steps with $\\Gamma_f < 0.5$ (a forgetting "
                   f"event): ${M.pm(below)}$, $> 0.9$: ${M.pm(above)}$; units whose mean $\\Gamma_f$ exceeds 0.99 "
                   f"(integrators, counters): ${M.pm(counters, 1)}$ of 16."),
          Evidence("measured: $\\Gamma_f$ held at 1 at test time (no retraining)", f"loss ${M.pm(loss)}$ → "
                   f"${M.pm(held, 2)}$ nats/char; largest $|c|$ over the corpus ${M.pm(cmax, 0)}$ → ${M.pm(held_c, 0)}$.")]
    ev_r, exp_r, versus = _retrained("forget")
    ev.append(ev_r)
    require(below["min"] > 0.05 and held["min"] > loss["max"], "finding no longer matches the numbers (forgetting events)")
    finding = (f"Whether $\\Gamma_f$ 'corrects skewed contributions' is an interpretation; what was measured: trained "
               f"forget gates do forget ({100 * below['mean']:.0f} % of unit-steps below 0.5) while keeping a few units "
               f"as near-perfect integrators; without forgetting the models fail (test time: loss {loss['mean']:.2f} → "
               f"{held['mean']:.2f}); retrained without $\\Gamma_f$ the LSTM is "
               f"{versus}, whose stored key must be overwritten.")
    return Outcome(Verdict.MEASURED, tuple(ev), experiment=exp + " " + exp_r, finding=finding)


def _candidate_role() -> Outcome:
    res, exp = M.experiment("demo_dynamics")
    share = _across(res, lambda m: m["input_share"]["candidate"])
    share_o = _across(res, lambda m: m["input_share"]["output_gate"])
    loss = _across(res, lambda m: m["loss"])
    held = _across(res, lambda m: m["held_at_test_time"]["u_held_at_1"]["loss"])
    ev = [Evidence("measured: what the candidate contribution depends on", "$R^2$ of $\\Gamma_u \\odot \\tilde c^{<t>}$ "
                   "explained by the current character $x^{<t>}$ alone (its mean per character): "
                   f"${M.pm(share)}$ (for $\\Gamma_o$: ${M.pm(share_o)}$); the rest depends on $a^{{<t-1>}}$."),
          Evidence("measured: $\\Gamma_u$ held at 1 at test time (no retraining)", f"loss ${M.pm(loss)}$ → ${M.pm(held, 2)}$.")]
    ev_r, exp_r, versus = _retrained("update")
    ev.append(ev_r)
    require(0.05 < share["mean"] < 0.95 and held["min"] > loss["max"], "finding no longer matches the numbers (candidate)")
    finding = (f"The candidate contribution is an embedding of the input *in context*: the current character explains "
               f"{100 * share['mean']:.0f} % of its variance, $a^{{<t-1>}}$ the rest; writing every candidate in full "
               f"(Γ_u held at 1) breaks the trained models (loss {loss['mean']:.2f} → {held['mean']:.2f}), and retrained "
               f"that way the LSTM is {versus} (which needs unmarked keys kept out of the cell).")
    return Outcome(Verdict.MEASURED, tuple(ev), experiment=exp + " " + exp_r, finding=finding)


def _stable() -> Outcome:
    res, exp = M.experiment("stability")
    lstm, rnn, demo = res["lstm"]["models"], res["rnn"]["models"], res["demo"]["models"][0]
    dev = {k: M.across([m["float32"][k]["max"] for m in lstm]) for k in ("c", "a")}
    dev_h = M.across([m["float32"]["h"]["max"] for m in rnn])
    scale_c = M.across([m["float32"]["c"]["scale"] for m in lstm])
    J = {b: M.across([m["jacobian"][b]["100"]["median"] for m in lstm]) for b in ("c<-c", "a<-a", "state")}
    J_h = M.across([m["jacobian"]["h<-h"]["100"]["median"] for m in rnn])
    loss_l, loss_r = M.across([m["loss"] for m in lstm]), M.across([m["loss"] for m in rnn])
    ev = [Evidence("measured: rounding-error growth (float32 vs float64 run, whole corpus)",
                   f"largest $|s_{{32}} - s_{{64}}|$: LSTM $c$: ${M.pm(dev['c'], 2, 'e')}$ (with $\\max|c| = {M.pm(scale_c, 1)}$), "
                   f"LSTM $a$: ${M.pm(dev['a'], 2, 'e')}$; RNN $h$: ${M.pm(dev_h, 2, 'e')}$; shipped demo model: $c$ "
                   f"${demo['float32']['c']['max']:.2e}$, $a$ ${demo['float32']['a']['max']:.2e}$."),
          Evidence("measured: sensitivity after 100 steps", "median over start steps of $\\|\\partial s^{<t_0+100>}/"
                   "\\partial s^{<t_0>}\\|_2$: LSTM $c \\leftarrow c$: " f"${M.pm(J['c<-c'], 3)}$, $a \\leftarrow a$: "
                   f"${M.pm(J['a<-a'], 3)}$, whole state: ${M.pm(J['state'], 3)}$; RNN $h \\leftarrow h$: ${M.pm(J_h, 3)}$; "
                   f"shipped demo model $c \\leftarrow c$: ${demo['jacobian']['c<-c']['100']['median']:.3g}$."),
          Evidence("measured: models and loss reached", f"LSTM: {res['lstm']['n_hidden']} units, {res['lstm']['n_params']} "
                   f"parameters, ${M.pm(loss_l)}$ nats/char; RNN: {res['rnn']['n_hidden']} units, {res['rnn']['n_params']} "
                   f"parameters, ${M.pm(loss_r)}$ nats/char."),
          Evidence("what the library can show", r"with $\sup\Gamma_f < 1$ the cell is bounded for every $t$ by "
                   r"$\max(|c^{<0>}|, M/(1-\sup\Gamma_f))$ ([cell-bounded](domains.md#cell-bounded))."),
          ]
    require(J["c<-c"]["mean"] > J_h["mean"], "finding no longer matches the numbers (sensitivity)")
    acc = M.compare(dev["a"], dev_h)
    finding = ("Not supported by these measurements. The additive cell does not damp perturbations faster: after 100 "
               f"steps $\\|\\partial c/\\partial c\\|$ is {J['c<-c']['mean']:.2g} (median over start steps, mean "
               f"over seeds; {J['c<-c']['min']:.2g}–{J['c<-c']['max']:.2g}) where the RNN's $\\|\\partial h/\\partial h\\|$ "
               f"is {J_h['mean']:.2g}; rounding errors of a float32 run reach {dev['c']['mean']:.1e} in $c$ and "
               f"{dev['a']['mean']:.1e} in $a$, against {dev_h['mean']:.1e} in the RNN's $h$ — "
               + M.judge(acc, "the LSTM's $a$ less accurate", "the LSTM's $a$ more accurate", "no measurable difference for $a$")
               + ". Long memory in $c$ and long-lived errors in $c$ are the same property.")
    return Outcome(Verdict.MEASURED, tuple(ev), experiment=exp, finding=finding)


def _sigmoid_normaliser() -> Outcome:
    res, exp = M.experiment("normaliser")
    labels = {"lstm": r"$a = \Gamma_o\tanh c$", "sigmoid_normaliser": r"$a = \Gamma_o\sigma(c)$"}
    rt = {k: res["text"][k] for k in labels}
    rr = {k: res["recall"][k] for k in labels}
    meas = {k: rt[k]["measured"] for k in labels}
    ev = [Evidence("measured: demo corpus", "final loss: " + M.listing(rt, "loss", labels) + "; mean loss at epochs 50, "
                   "100, 200: " + "; ".join(f"{labels[k]}: " + ", ".join(f"${M.curve_at(rt[k], e):.3f}$" for e in (50, 100, 200))
                                           for k in labels)
                   + f"; largest $|c|$: " + "; ".join(f"{labels[k]}: ${M.pm(meas[k]['max_abs_c'], 1)}$" for k in labels)
                   + f"; unit-steps with $|c| > 2$: " + "; ".join(f"{labels[k]}: ${M.pm(meas[k]['saturated'])}$" for k in labels)
                   + f"; with $a < 0$: " + "; ".join(f"{labels[k]}: ${M.pm(meas[k]['a_negative'])}$" for k in labels) + "."),
          Evidence("measured: recall task", "final loss: " + M.listing(rr, "loss", labels, 4) + "; accuracy: "
                   + M.listing(rr, "accuracy", labels) + "."),
          Evidence("what the library can show", r"$\sigma(c) = \tfrac12 + \tfrac12\tanh(c/2)$: a sigmoid normaliser is an "
                   r"affine image of $\tanh(c/2)$, so its saturation thresholds are exactly twice tanh's; $a$ then lies in "
                   r"$(0, 1)$ and loses its sign.")]
    c = [M.compare(rt["sigmoid_normaliser"]["final"]["loss"], rt["lstm"]["final"]["loss"]),
         M.compare(rr["sigmoid_normaliser"]["final"]["loss"], rr["lstm"]["final"]["loss"])]
    require(meas["sigmoid_normaliser"]["a_negative"]["max"] == 0.0, "a sigmoid normaliser cannot give a < 0")
    behind = all(M.curve_at(rt["sigmoid_normaliser"], e) > M.curve_at(rt["lstm"], e) for e in (50, 100, 200))
    bigger = meas["sigmoid_normaliser"]["max_abs_c"]["mean"] > meas["lstm"]["max_abs_c"]["mean"]
    word = {k: M.judge(k, "worse than", "better than", "indistinguishable from") for k in (-1, 0, 1)}
    finding = (f"Partly. Trained with $a = \\Gamma_o\\sigma(c)$ the LSTM is {word[c[0]]} the tanh LSTM on the demo corpus "
               f"({rt['sigmoid_normaliser']['final']['loss']['mean']:.3f} vs {rt['lstm']['final']['loss']['mean']:.3f}) "
               f"and {word[c[1]]} it on the recall task: it works, "
               + ("and it learns the text more slowly (higher loss at epochs 50, 100, 200); " if behind else "")
               + ("its cells run to larger values (max $|c|$ "
                  f"{meas['sigmoid_normaliser']['max_abs_c']['mean']:.0f} vs {meas['lstm']['max_abs_c']['mean']:.0f}), as a σ "
                  "needs $|c|$ twice as large for the same saturation. " if bigger else "")
               + "Its $a$ is never negative: the sign information the tanh keeps is gone.")
    return Outcome(Verdict.MEASURED, tuple(ev), experiment=exp, finding=finding,
                   citation="A design opinion of the notes ('would also work well').")


THEME = Theme(
    slug="interpretation",
    title="Interpretation (§2)",
    intro="Claims of the Interpretation section. The maps $W[a, x] + b$ are *affine*, not linear: the bias "
          "breaks additivity, proportionality and homogeneity, which is where most of the section's "
          "statements need a condition. Statements about what training *does* are interpretations; where "
          "an experiment on small trained models can speak to them (`experiments/`, results cached and "
          "verified by each check) they are *measured*, with the models, the numbers, and whether the numbers "
          "support the notes.",
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
              "An LSTM with $a = \\Gamma_o\\sigma(c)$ trains about as well as with $\\tanh$, more slowly.",
              "experiment `experiments/normaliser.py` (5 seeds per setting, two tasks); the identity σ = affine∘tanh(·/2).",
              Verdict.MEASURED, _sigmoid_normaliser),
        Claim("output-gate-pruning", "§2", "The output gate then \"prunes\" the histogram in a way that codes the current state so that the output layer can extract an accurate prediction",
              r"In trained models $\Gamma_o$ removes many of the features present in $c$ (a sparser $a$), and the "
              r"prediction depends on it.",
              "experiments `experiments/demo_dynamics.py` (five trained demo models), `experiments/gate_ablation.py`.",
              Verdict.MEASURED, _output_gate_pruning),
        Claim("output-gate-propagates", "§2", "the output of $\\Gamma_o$ gets propagated to the next step, so it should still summarize the current state, whereas the $y$ output should refer univocally to the current $t$",
              r"$\Gamma_o^{<t>}$ reaches step $t+1$ through $a^{<t>}$; $y^{<t>}$ is not fed back.", "structure of the equations.",
              Verdict.PROVED, _o_propagates),
        Claim("forget-gate-role", "§2", "**$\\Gamma_f$ should then be trained to correct skewed contributions to that histogram, and/or to redistribute the unit's capacity\"**",
              r"In trained models $\Gamma_f$ is used to forget (not only held near 1), and the models need it.",
              "experiments `experiments/demo_dynamics.py` (five trained demo models), `experiments/gate_ablation.py`.",
              Verdict.MEASURED, _forget_gate_role),
        Claim("cell-sum-of-candidates", "§2", "$c$ will be indeed the result of adding every single candidate $\\tilde c$",
              r"$c^{<t>} = c^{<0>} + \sum_k \tilde c^{<k>}$.", "sympy unrolling.", Verdict.CONDITIONAL, _sum_of_candidates),
        Claim("output-gate-no-effect-on-c", "§2", "it is easy to see how $\\Gamma_o$ could filter out very different $a$ states in two consecutive time-steps, just based on a different input",
              r"$c^{<t>}$ does not depend on $\Gamma_o^{<t>}$.", "sympy.", Verdict.PROVED, _o_no_effect),
        Claim("a-changes-without-c", "§2", "**$a$ can swift rapidly without affecting the stability of $c$ at all**",
              r"Changes of $a^{<t>}$ never affect $c^{<t+1>}$.", "exact construction, high precision.", Verdict.REFUTED, _a_without_c),
        Claim("one-hot-independent", "§2", "if the active columns of the corresponding one-hot active entries are complementary, the outcomes are linearly independent from each other",
              r"$W e_i$ and $W e_j$ are linearly independent.", "exact rank.", Verdict.CONDITIONAL, _one_hot_independent),
        Claim("histogram-more-stable", "§2", "This approach is numerically more stable.",
              "Building $c$ additively is numerically more stable than a chain of transformations: rounding errors "
              "and perturbations of the state grow less.",
              "experiment `experiments/stability.py`: float32 vs float64 runs and Jacobian products, LSTM vs Elman RNN.",
              Verdict.MEASURED, _stable),
        Claim("candidate-role", "§2", "**The candidate pipeline ($\\Gamma_u$ and $\\tilde c$) has the task of embedding the current $[a^{<t-1>}, x^{<t>}]$ input so that it provides a meaningful contribution to the $c$ histogram**.",
              r"In trained models $\Gamma_u \odot \tilde c$ is an embedding of the current input that the model needs.",
              "experiments `experiments/demo_dynamics.py` (five trained demo models), `experiments/gate_ablation.py`.",
              Verdict.MEASURED, _candidate_role),
    ],
)
