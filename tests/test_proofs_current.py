"""docs/proofs must be current: the same check as `lstm-symbolic prove --check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstm_symbolic import cli_math

ROOT = Path(__file__).resolve().parents[1]


def test_docs_proofs_are_current() -> None:
    problems = cli_math.check_docs(ROOT, ROOT / "docs" / "proofs")
    assert not problems, "run `lstm-symbolic prove` and commit docs/proofs:\n" + "\n".join(problems)


def test_check_detects_stale_and_extra(tmp_path: Path) -> None:
    out = tmp_path / "proofs"
    assert cli_math.write_docs(ROOT, out) == []
    assert cli_math.check_docs(ROOT, out) == []
    page = out / "tanh.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    (out / "stray.md").write_text("x", encoding="utf-8")
    (out / "figures" / "cell_domain.svg").unlink()
    problems = cli_math.check_docs(ROOT, out)
    assert any(p.startswith("stale") and p.endswith("tanh.md") for p in problems)
    assert any(p.startswith("extra") for p in problems)
    assert any(p.startswith("missing") for p in problems)


def test_cli_exit_codes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cli_math.register(sub)
    args = parser.parse_args(["prove", "--check", "--out", str(tmp_path / "none"), "--root", str(ROOT)])
    assert args.func(args) == 1
    args = parser.parse_args(["prove", "--out", str(tmp_path / "p"), "--root", str(ROOT)])
    assert args.func(args) == 0
    args = parser.parse_args(["prove", "--check", "--out", str(tmp_path / "p"), "--root", str(ROOT)])
    assert args.func(args) == 0
    args = parser.parse_args(["prove", "--root", str(tmp_path)])
    assert args.func(args) == 2
    assert "no proofs/" in capsys.readouterr().err


def test_constants_command(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    parser = argparse.ArgumentParser()
    cli_math.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["constants", "--json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert {row["key"] for row in data["constants"]} >= {"tanh_prime_1", "fit_minimax_slope", "ln2"}
    assert all(row["ok"] for row in data["constants"])
    args = parser.parse_args(["constants"])
    assert args.func(args) == 0
    assert "ln2" in capsys.readouterr().out
