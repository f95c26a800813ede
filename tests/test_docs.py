"""The docs are executable: every ``>>>`` example of docs/*.md runs as a doctest, the example
test file of the guide runs as tests, and every CLI command shown in docs/cli.md parses."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["guide.md", "method.md", "soundness.md", "cli.md"]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("page", PAGES)
def test_doc_page_doctests(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    path = DOCS / page
    assert path.is_file(), f"missing docs page {page}"
    result = doctest.testfile(str(path), module_relative=False, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} doctest failure(s) in docs/{page} (see the output above)"
    if page != "cli.md":
        assert result.attempted > 0, f"docs/{page} has no executable examples"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_guide_example_test_file_runs(tmp_path):
    """The '# test_my_model.py' block of the guide: exec it and run every test_ function."""
    blocks = [b for b in _python_blocks((DOCS / "guide.md").read_text(encoding="utf-8")) if b.startswith("# test_")]
    assert len(blocks) == 1, "the guide must keep exactly one example test file"
    namespace: dict = {"__name__": "test_my_model"}
    exec(compile(blocks[0], "docs/guide.md:test_my_model.py", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert len(tests) >= 2
    for test in tests:
        test()


def test_readme_links_the_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        assert f"docs/{page}" in readme


def _shell_commands(text: str) -> list[list[str]]:
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("lstm-symbolic "):
                cmds.append(shlex.split(line)[1:])
    return cmds


@pytest.mark.parametrize("page", PAGES)
def test_documented_commands_parse(page):
    """Every `lstm-symbolic …` line in the docs is accepted by the argument parser."""
    from lstm_symbolic.cli import _parser

    parser = _parser()
    for argv in _shell_commands((DOCS / page).read_text(encoding="utf-8")):
        if "--help" in argv:
            continue
        parser.parse_args(argv)  # raises on an unknown option or a missing argument
