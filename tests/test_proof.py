"""The proof engine: verdicts are derived and fail closed; rigorous helpers can fail; rendering."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sympy as sp

import lstm_symbolic as ls
from lstm_symbolic import cli_math
from lstm_symbolic.proof import (Claim, Evidence, Outcome, ProofFailure, Theme, Verdict, certain_sign,
                                 interval_bound, render_index, render_theme, require, run, run_all, sympy_zero)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _claim(verdict: Verdict, outcome: Outcome | Exception) -> Claim:
    def check() -> Outcome:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return Claim("c", "§0", "words", "statement", "method", verdict, check)


EV = (Evidence("m", "d"),)


def test_checked_requires_matching_verdict_and_parts() -> None:
    assert run(_claim(Verdict.PROVED, Outcome(Verdict.PROVED, EV))).checked
    assert not run(_claim(Verdict.PROVED, Outcome(Verdict.REFUTED, EV, counterexample="x"))).checked
    assert not run(_claim(Verdict.PROVED, Outcome(Verdict.PROVED, ()))).checked
    assert not run(_claim(Verdict.REFUTED, Outcome(Verdict.REFUTED, EV))).checked  # no counterexample
    assert not run(_claim(Verdict.CONDITIONAL, Outcome(Verdict.CONDITIONAL, EV))).checked  # no condition
    assert not run(_claim(Verdict.EMPIRICAL, Outcome(Verdict.EMPIRICAL, EV))).checked  # no citation
    assert run(_claim(Verdict.MEASURED, Outcome(Verdict.MEASURED, EV, experiment="e", finding="f"))).checked
    assert not run(_claim(Verdict.MEASURED, Outcome(Verdict.MEASURED, EV, finding="f"))).checked  # no experiment
    assert not run(_claim(Verdict.MEASURED, Outcome(Verdict.MEASURED, EV, experiment="e"))).checked  # no finding
    r = run(_claim(Verdict.PROVED, ProofFailure("broken")))
    assert not r.checked and "broken" in r.problem


def test_require_rejects_undecided_sympy() -> None:
    require(sp.Integer(1) < 2, "true")
    with pytest.raises(ProofFailure):
        require(sp.Symbol("x") < 2, "undecided")  # type: ignore[arg-type]
    with pytest.raises(ProofFailure):
        require(False, "false")


def test_sympy_zero_and_certain_sign() -> None:
    x = sp.Symbol("x", real=True)
    sympy_zero(sp.tanh(x) - (1 - 2 / (sp.exp(2 * x) + 1)), "ok")
    with pytest.raises(ProofFailure):
        sympy_zero(sp.tanh(x) - x, "not zero")
    assert certain_sign(sp.tanh(1) - sp.Rational(7612, 10000)) == 1
    assert certain_sign(sp.Rational(-1, 3)) == -1
    with pytest.raises(ProofFailure):
        certain_sign(sp.tanh(1) - sp.tanh(1) * (1 + sp.Rational(1, 10**70)) + sp.Rational(1, 10**80))


def test_interval_bound_proves_and_fails_closed() -> None:
    ev = interval_bound(lambda X: ls.tanh(X), -2.0, 2.0, upper=0.9641, lower=-0.9641)
    assert "interval subdivision" == ev.method
    with pytest.raises(ProofFailure):  # tanh(2) = 0.96403 > 0.964: must not be "proved"
        interval_bound(lambda X: ls.tanh(X), -2.0, 2.0, upper=0.964, max_rounds=30)
    with pytest.raises(ProofFailure):
        interval_bound(lambda X: X - ls.tanh(X), 0.0, 0.5, upper=0.0378828)  # just below the true sup


def test_run_all_rejects_duplicate_ids() -> None:
    c = _claim(Verdict.PROVED, Outcome(Verdict.PROVED, EV))
    with pytest.raises(ValueError):
        run_all([Theme("a", "A", "", [c]), Theme("b", "B", "", [c])])


def test_rendering_marks_unchecked() -> None:
    bad = run(_claim(Verdict.PROVED, ProofFailure("nope")))
    page = render_theme(Theme("t", "T", "intro", [bad.claim]), [bad], "gen")
    assert "UNCHECKED" in page
    index = render_index([(Theme("t", "T", "", [bad.claim]), [bad])], "gen")
    assert "UNCHECKED" in index


def test_every_claim_of_the_notes_is_checked() -> None:
    results = cli_math.results(ROOT)
    failures = [f"{r.claim.id}: {r.problem}" for _, rs in results for r in rs if not r.checked]
    assert not failures, failures
    verdicts = {r.claim.verdict for _, rs in results for r in rs}
    assert verdicts == set(Verdict)


MEASURED = ("sigmoid-normaliser", "output-gate-pruning", "forget-gate-role", "histogram-more-stable", "candidate-role",
            "dropout", "forget-bias-init", "gate-importance", "two-semantics", "output-gate-tanh", "no-attractors",
            "gru-vs-lstm")


def test_measured_claims_fail_closed_on_a_stale_cache(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A measured check reads a cache only after its input hashes match the files on disk."""
    from experiments import cache
    from proofs import related_work

    real = cache.fingerprint

    def changed(name, root=cache.ROOT):  # type: ignore[no-untyped-def]
        fp = real(name, root)
        return {**fp, "files": {**fp["files"], "experiments/training.py": "0" * 64}}

    monkeypatch.setattr(cache, "fingerprint", changed)
    claim = next(c for c in related_work.THEME.claims if c.id == "dropout")
    r = run(claim)
    assert not r.checked and "stale" in r.problem and "training.py" in r.problem


def test_key_verdicts() -> None:
    """The verdicts the notes' most quoted numbers get (each derived by its check)."""
    by_id = {r.claim.id: r for _, rs in cli_math.results(ROOT) for r in rs}
    expected = {
        "tanh-image-1": Verdict.REFUTED, "tanh-image-2-bound": Verdict.REFUTED,
        "tanh-derivative-values": Verdict.PROVED, "sigmoid-slope-6x": Verdict.REFUTED,
        "sigmoid-saturation-5": Verdict.REFUTED, "cell-domain-formula": Verdict.CONDITIONAL,
        "softmax-domain": Verdict.PROVED, "gate-dampening": Verdict.PROVED,
        "a-changes-without-c": Verdict.REFUTED, "affine-scaling": Verdict.REFUTED,
        "x-one-hot": Verdict.EMPIRICAL, "architecture-search": Verdict.EMPIRICAL,
        **{cid: Verdict.MEASURED for cid in MEASURED},
    }
    for cid, v in expected.items():
        assert by_id[cid].outcome is not None and by_id[cid].outcome.verdict is v, cid
