"""Every concrete `lstm-symbolic …` command shown in the docs runs as written and exits 0.

The files the examples name (model.pt, model.onnx, x.npy, X.npy, Y.npy) are made here, in a
temporary working directory: a small PyTorch module (nn.LSTM + nn.Linear head) saved as a
state dict and exported to ONNX. Synopsis lines (with [options] or MODEL/SPEC placeholders) and
the documented error examples are not commands to run.
"""

from __future__ import annotations

import os
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest

from lstm_symbolic.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "guide.md", ROOT / "docs" / "cli.md"]

torch = pytest.importorskip("torch") if not os.environ.get("LSTM_SYMBOLIC_REQUIRE_TORCH") else __import__("torch")


class Net(torch.nn.Module):
    """nn.LSTM -> nn.Linear on its hidden state (the model the documented commands read)."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(n_x, n_a)
        self.fc = torch.nn.Linear(n_a, n_y)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.fc(h)


def documented_commands() -> list[str]:
    """Lines of fenced (non-Python) code blocks that run the command."""
    cmds = []
    for page in PAGES:
        lang = None  # None: outside a fence
        for raw in page.read_text(encoding="utf-8").splitlines():
            fence = re.match(r"^\s*```(\w*)", raw)
            if fence:
                lang = fence.group(1) if lang is None else None
                continue
            if lang is None or lang == "python":
                continue
            line = raw.split("  #")[0].strip()
            m = re.search(r"(?:^|\s|&& )(lstm-symbolic\s.*)$", line)
            if not m or "error:" in line:
                continue
            cmd = m.group(1).split(" && ")[0]
            if re.search(r"\[|\bMODEL\b|\bSPEC\b|\.\.\.|…", cmd):
                continue  # a synopsis, not a command
            cmds.append(cmd)
    return sorted(set(cmds))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("doccmds")
    torch.manual_seed(0)
    net = Net()
    torch.save(net.state_dict(), d / "model.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(net, (torch.zeros(6, 1, 3),), str(d / "model.onnx"), dynamo=False)
        except Exception:  # pragma: no cover - the onnx extra is missing
            pass
    rng = np.random.default_rng(0)
    np.save(d / "x.npy", rng.normal(size=(20, 3)))
    X = rng.normal(size=(6, 4, 3))
    np.save(d / "X.npy", X)
    np.save(d / "Y.npy", np.zeros(4, dtype=np.int64))
    return d


def test_the_docs_show_commands() -> None:
    cmds = documented_commands()
    assert any(c.startswith("lstm-symbolic demo") for c in cmds)
    assert any(c.startswith("lstm-symbolic bounds") for c in cmds)
    assert any(c.startswith("lstm-symbolic certify") for c in cmds)


@pytest.mark.parametrize("command", documented_commands())
def test_documented_command_runs(command: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    argv = shlex.split(command)[1:]
    if any(a.endswith(".onnx") for a in argv) and not (workdir / "model.onnx").exists():
        pytest.skip("the onnx extra is not installed")
    if argv[0] in ("prove",):
        monkeypatch.chdir(ROOT)
    else:
        monkeypatch.chdir(workdir)
    argv = [str(workdir / "demo-out") if a == "/tmp/demo" else a for a in argv]
    code = main(argv)
    out = capsys.readouterr()
    if argv[0] == "certify" and code == 1:  # --require-all may legitimately fail to certify
        return
    assert code == 0, f"{command!r} exited {code}: {out.err[-500:]}"
