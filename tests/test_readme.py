"""The README's two commands are what CI and a new user run: keep them and .ci/run in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.S)


def test_readme_has_the_demo_and_the_test_command() -> None:
    cmds = _commands()
    assert any(c.strip().endswith("lstm-symbolic demo") for c in cmds), cmds
    assert any("pytest" in c for c in cmds), cmds


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_cmd = next(c.strip() for c in _commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines(), f".ci/run must contain the README's test command:\n{test_cmd}"


def test_ci_checks_the_proof_documents() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "prove --check" in ci
