"""Claims, verdicts and the checks that decide them; rendering to Markdown.

A :class:`Claim` carries the notes' words (quoted), a precise statement, the method and the
*expected* verdict. Its ``check`` is run by :func:`run`; the check *derives* a verdict from the
mathematics and returns it with its evidence (:class:`Outcome`). A claim counts as **checked**
only when the check ran, raised nothing, and derived the verdict the claim declares — so a
claim whose mathematics changes, or whose proof breaks, fails closed.

Verdicts (:class:`Verdict`):

* ``proved`` — the precise statement holds; the evidence is a sympy identity, an exact or
  high-precision evaluation, or a rigorous interval-subdivision check.
* ``proved under a condition`` — holds exactly when the stated condition does (the outcome
  carries the condition, and usually a counterexample without it).
* ``refuted`` — a counterexample, verified exactly (sympy rationals) or at high precision with
  a certain sign (mpmath at ≥ 50 digits, margin far above the working precision).
* ``measured`` — a reproducible experiment on stated models decides it: the outcome names the
  experiment (script, models, cache and its input hash) and states the measured result with its
  numbers, whether or not they support the notes. The numbers are read from a cached result
  whose inputs the check verifies; the experiment itself is not rerun.
* ``empirical`` — a cited finding (or an interpretation) that neither a proof nor an experiment
  here can settle; the evidence says why, names the source and what the library *can* show.

Rigorous tools here: :func:`sympy_zero` (identities), :func:`certain_sign` (sign of a real
sympy expression at high precision), :func:`interval_bound` (an inequality over a range by
subdivision with the library's own sound intervals, :mod:`lstm_symbolic.interval`).
"""

from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath as mp
import numpy as np
import sympy as sp

from lstm_symbolic.errors import InputError

__all__ = [
    "Verdict",
    "Evidence",
    "Outcome",
    "Claim",
    "Result",
    "Theme",
    "ProofFailure",
    "require",
    "sympy_zero",
    "certain_sign",
    "interval_bound",
    "run",
    "run_all",
    "render_theme",
    "render_index",
    "fmt",
]


class Verdict(enum.Enum):
    """The five possible verdicts on a claim of the notes."""

    PROVED = "proved"
    CONDITIONAL = "proved under a condition"
    REFUTED = "refuted"
    MEASURED = "measured"
    EMPIRICAL = "empirical"


class ProofFailure(AssertionError):
    """A step of a proof did not hold (the claim is then *unchecked*)."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ProofFailure` with ``message`` unless ``condition`` is a true boolean.

    Accepts Python/numpy booleans and sympy's ``true``; an undecided sympy relation fails.
    """
    if isinstance(condition, (bool, np.bool_, sp.logic.boolalg.BooleanAtom)) and bool(condition):
        return
    raise ProofFailure(message)


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: the method used and a Markdown description of what it showed."""

    method: str
    detail: str


@dataclass(frozen=True)
class Outcome:
    """What a check derived: a verdict, its evidence, and (when relevant) condition / counterexample /
    citation; for ``measured``, the ``experiment`` (what was run, on which models, from which
    verified cache) and its ``finding`` (the measured result in one or two sentences)."""

    verdict: Verdict
    evidence: tuple[Evidence, ...]
    condition: str | None = None
    counterexample: str | None = None
    citation: str | None = None
    experiment: str | None = None
    finding: str | None = None


@dataclass(frozen=True)
class Claim:
    """A claim of the notes.

    ``id``: stable slug; ``where``: the place in the notes (e.g. ``"§1.3"``); ``quote``: the
    notes' words, verbatim; ``statement``: the precise mathematical statement (Markdown, ``$...$``);
    ``method``: how it is decided; ``verdict``: the verdict the check must derive; ``check``:
    zero-argument callable returning an :class:`Outcome`.
    """

    id: str
    where: str
    quote: str
    statement: str
    method: str
    verdict: Verdict
    check: Callable[[], Outcome]


@dataclass
class Result:
    """A claim after :func:`run`: its outcome, or the error that stopped its check."""

    claim: Claim
    outcome: Outcome | None
    error: str | None = None

    @property
    def checked(self) -> bool:
        """The check ran and derived the declared verdict, with the parts that verdict needs."""
        o = self.outcome
        if o is None or self.error is not None or o.verdict is not self.claim.verdict:
            return False
        if not o.evidence:
            return False
        if o.verdict is Verdict.CONDITIONAL and not o.condition:
            return False
        if o.verdict is Verdict.REFUTED and not o.counterexample:
            return False
        if o.verdict is Verdict.EMPIRICAL and not o.citation:
            return False
        if o.verdict is Verdict.MEASURED and not (o.experiment and o.finding):
            return False
        return True

    @property
    def problem(self) -> str:
        """Why the claim is unchecked ('' when checked)."""
        if self.checked:
            return ""
        if self.error is not None:
            return self.error
        assert self.outcome is not None
        if self.outcome.verdict is not self.claim.verdict:
            return f"check derived '{self.outcome.verdict.value}', claim declares '{self.claim.verdict.value}'"
        return (f"outcome lacks what '{self.outcome.verdict.value}' needs "
                "(evidence/condition/counterexample/citation/experiment and finding)")


@dataclass(frozen=True)
class Theme:
    """A page of claims: one module of ``proofs/``."""

    slug: str
    title: str
    intro: str
    claims: Sequence[Claim]
    figures: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (file name, caption)


def run(claim: Claim) -> Result:
    """Run ``claim.check``; any exception makes the claim unchecked (reported, never raised)."""
    try:
        outcome = claim.check()
    except Exception as exc:  # noqa: BLE001 - every failure must be reported, not hidden
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return Result(claim, None, f"{type(exc).__name__}: {exc} (at {last.name}:{last.lineno})")
    if not isinstance(outcome, Outcome):
        return Result(claim, None, f"check returned {type(outcome).__name__}, not Outcome")
    return Result(claim, outcome)


def run_all(themes: Sequence[Theme]) -> list[tuple[Theme, list[Result]]]:
    """Run every claim of every theme; ids must be unique across themes."""
    seen: set[str] = set()
    out = []
    for theme in themes:
        results = []
        for c in theme.claims:
            if c.id in seen:
                raise InputError("themes", "unique claim ids", got=c.id)
            seen.add(c.id)
            results.append(run(c))
        out.append((theme, results))
    return out


# ----------------------------------------------------------------------------------------------
# rigorous tools
# ----------------------------------------------------------------------------------------------


def fmt(v: mp.mpf | sp.Expr | float, digits: int = 12) -> str:
    """Deterministic decimal string of a real value (``digits`` significant digits, mpmath)."""
    if isinstance(v, sp.Basic):
        v = sp.N(v, digits + 10)
        with mp.workdps(digits + 10):
            v = mp.mpf(str(v))
    with mp.workdps(digits + 10):
        return mp.nstr(mp.mpf(v), digits)


def sympy_zero(expr: sp.Expr, what: str) -> Evidence:
    """Prove ``expr == 0`` identically by ``sympy.simplify`` (also after rewriting to exp)."""
    e = sp.simplify(expr)
    if e != 0:
        e = sp.simplify(sp.expand_func(sp.expand(expr.rewrite(sp.exp))))
    require(e == 0, f"sympy could not reduce to 0: {what}")
    return Evidence("sympy identity", f"{what}: `simplify` reduces the difference to $0$.")


def certain_sign(expr: sp.Expr, dps: int = 60) -> int:
    """The sign (−1, 0 or +1) of a real sympy constant, certain at high precision.

    Exact for rationals. Otherwise the value is computed by mpmath at ``dps`` and ``2·dps``
    digits; they must agree to within 10^(−dps+5) and the value must exceed that margin in
    absolute value (else :class:`ProofFailure`: no guess).
    """
    expr = sp.sympify(expr)
    if expr.is_Rational:
        return int(sp.sign(expr))
    f = sp.lambdify((), expr, modules="mpmath")
    with mp.workdps(dps):
        a = +mp.mpf(f())
    with mp.workdps(2 * dps):
        b = +mp.mpf(f())
        margin = mp.mpf(10) ** (-dps + 5) * max(1, abs(b))
        require(abs(a - b) < margin, f"unstable evaluation of {expr}")
        require(abs(b) > margin, f"sign of {expr} not certain at {dps} digits")
        return 1 if b > 0 else -1


def interval_bound(
    f: Callable[["object"], "object"],
    lo: float,
    hi: float,
    *,
    upper: float | None = None,
    lower: float | None = None,
    pieces: int = 256,
    max_rounds: int = 60,
    max_boxes: int = 200_000,
    derivative: Callable[["object"], "object"] | None = None,
    label: str = "f(x)",
) -> Evidence:
    """Prove ``lower < f(x) < upper`` for every real x in [lo, hi] by subdivision.

    ``f`` maps an :class:`lstm_symbolic.Interval` (a vector of sub-intervals) to an Interval
    that encloses the image of each sub-interval — built from the library's sound operations
    (``+ - *``, ``ls.tanh``, ``ls.sigmoid``, ``ls.exp``). Sub-intervals whose enclosure is not
    certainly inside (lower, upper) are bisected, at most ``max_rounds`` times. Fails closed
    (:class:`ProofFailure`) when a sub-interval cannot be settled.
    """
    from lstm_symbolic import Interval

    require(upper is not None or lower is not None, "interval_bound needs a bound")
    require(lo <= hi, "interval_bound: lo <= hi")
    edges = np.linspace(lo, hi, pieces + 1)
    edges[0], edges[-1] = lo, hi
    blo, bhi = edges[:-1], edges[1:]
    total = 0
    for _ in range(max_rounds):
        total += blo.size
        X = Interval(blo, bhi)
        y = f(X)
        ylo, yhi = y.lo, y.hi
        if derivative is not None:
            mpt = Interval(X.mid)
            ymv = f(mpt) + derivative(X) * (X - mpt)
            ylo, yhi = np.maximum(ylo, ymv.lo), np.minimum(yhi, ymv.hi)
        ok = np.ones(blo.shape, dtype=bool)
        if upper is not None:
            ok &= yhi < upper
        if lower is not None:
            ok &= ylo > lower
        blo, bhi = blo[~ok], bhi[~ok]
        if blo.size == 0:
            rel = " < ".join(
                s for s in (None if lower is None else fmt(lower, 17), label, None if upper is None else fmt(upper, 17)) if s
            )
            return Evidence(
                "interval subdivision",
                f"${rel}$ for all $x \\in [{fmt(lo, 17)}, {fmt(hi, 17)}]$: sound interval evaluation "
                f"(library `Interval`, fast mode{', mean-value form' if derivative else ''}) on "
                f"{pieces} pieces, bisected until every sub-interval is certain.",
            )
        mid = blo + (bhi - blo) / 2
        split = (mid > blo) & (mid < bhi)
        if not split.all():
            raise ProofFailure(f"interval_bound: cannot split [{blo[~split][0]!r}, {bhi[~split][0]!r}] further")
        blo, bhi = np.concatenate([blo, mid]), np.concatenate([mid, bhi])
        require(blo.size <= max_boxes, "interval_bound: too many boxes")
    raise ProofFailure(f"interval_bound: unsettled near [{blo[0]}, {bhi[0]}] after {max_rounds} rounds")


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------

_BADGE = {
    Verdict.PROVED: "✅ proved",
    Verdict.CONDITIONAL: "🟡 proved under a condition",
    Verdict.REFUTED: "❌ refuted",
    Verdict.MEASURED: "📏 measured",
    Verdict.EMPIRICAL: "📚 empirical",
}


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.strip().splitlines())


def _math_safe(text: str) -> str:
    """Write the notes' superscript ⟨t⟩ as \\langle t\\rangle: a bare ``<t>`` inside ``$...$`` can be
    taken for an HTML tag by Markdown renderers. (Quotes of the notes are left verbatim.)"""
    return text.replace("^{<", "^{\\langle ").replace(">}", "\\rangle}")


def render_claim(r: Result) -> str:
    """Markdown section for one claim (deterministic)."""
    c, o = r.claim, r.outcome
    status = _BADGE[c.verdict] if r.checked else f"⚠️ UNCHECKED ({r.problem})"
    lines = [f'<a id="{c.id}"></a>', "", f"### `{c.id}` — {status}", "", f"*Notes, {c.where}:*", "", _quote(c.quote), ""]
    ms = _math_safe
    lines += [f"**Statement.** {ms(c.statement.strip())}", "", f"**Method.** {ms(c.method.strip())}", ""]
    if o is not None:
        if o.condition:
            lines += [f"**Condition.** {ms(o.condition.strip())}", ""]
        if o.counterexample:
            lines += [f"**Counterexample.** {ms(o.counterexample.strip())}", ""]
        if o.finding:
            lines += [f"**Result.** {ms(o.finding.strip())}", ""]
        if o.experiment:
            lines += [f"**Experiment.** {ms(o.experiment.strip())}", ""]
        if o.citation:
            lines += [f"**Source.** {ms(o.citation.strip())}", ""]
        lines += ["**Evidence.**", ""]
        lines += [f"- *{e.method}*: {ms(e.detail.strip())}" for e in o.evidence]
        lines.append("")
    return "\n".join(lines)


def render_theme(theme: Theme, results: Sequence[Result], generator: str) -> str:
    """One Markdown page for a theme."""
    head = [
        f"<!-- generated by `{generator}` — do not edit; regenerate instead -->",
        "",
        f"# {theme.title}",
        "",
        theme.intro.strip(),
        "",
        "[Index of all claims](index.md)",
        "",
    ]
    for name, caption in theme.figures:
        head += [f"![{caption}](figures/{name})", "", f"*{caption}*", ""]
    return "\n".join(head + [render_claim(r) for r in results]).rstrip() + "\n"


def _short(text: str, n: int = 90) -> str:
    one = " ".join(text.split()).replace("|", "\\|")
    return one if len(one) <= n else one[: n - 1].rstrip() + "…"


def render_index(all_results: Sequence[tuple[Theme, Sequence[Result]]], generator: str) -> str:
    """The index table of every claim with its verdict, and the verdict counts."""
    counts: dict[str, int] = {}
    rows = []
    for theme, results in all_results:
        for r in results:
            label = _BADGE[r.claim.verdict] if r.checked else "⚠️ UNCHECKED"
            counts[label] = counts.get(label, 0) + 1
            rows.append(
                f"| [`{r.claim.id}`]({theme.slug}.md#{r.claim.id}) | {theme.title} | "
                f"{r.claim.where} | {_short(r.claim.quote)} | {label} |"
            )
    lines = [
        f"<!-- generated by `{generator}` — do not edit; regenerate instead -->",
        "",
        "# Audit of the founding notes — index",
        "",
        "Every claim with mathematical content in `seed/lstm_intuition_notes.md`, its verdict, and "
        "a link to the proof. Verdicts are *derived* by the checks in `proofs/`; a claim whose check "
        "fails is shown as UNCHECKED and makes `lstm-symbolic prove --check` exit non-zero.",
        "",
        "| verdict | claims |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items())]
    lines += ["", "| claim | theme | where | notes' words | verdict |", "|---|---|---|---|---|"]
    lines += rows
    lines += ["", "Pages: " + " · ".join(f"[{t.title}]({t.slug}.md)" for t, _ in all_results), ""]
    return "\n".join(lines)

