"""Cached experiment results and the check that a cache is current. Standard library only.

Every experiment ``experiments/<name>.py`` (its settings are the module's ``CONFIG``, in its
source) writes ``experiments/results/<name>.json`` when run (``python -m experiments.run <name>``).
The JSON records the SHA-256 of every input file the numbers depend on — the experiment's own
source, the shared modules of :data:`SHARED` (and :data:`EXTRA`), and the data files of :data:`DATA` — and the
SHA-256 of that list (``inputs.sha256``). :func:`verify` recomputes them from the files on disk:
a result whose script, training code, corpus or shipped model changed since it was computed is
*stale*, and the proofs that read it (``lstm-symbolic prove --check``) fail until it is rerun.

Not hashed: the library itself (``lstm_symbolic``, whose forward pass the training calls — its
behaviour is pinned by its own tests), numpy and the platform (recorded in ``environment``, not
checked: another BLAS may change the last bits of a retrain).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "RESULTS", "SHARED", "DATA", "input_files", "fingerprint", "write", "load", "verify", "Check", "StaleResult"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
#: Modules every experiment runs on (repository-relative).
SHARED = ("experiments/training.py", "experiments/tasks.py")
#: Data every experiment may read.
DATA = ("lstm_symbolic/data/corpus.txt", "lstm_symbolic/data/demo_char_lstm.npz")
#: Further modules some experiments run on.
EXTRA = {
    "normaliser": ("experiments/analysis.py",),
    "demo_dynamics": ("experiments/analysis.py", "experiments/train_demo.py"),
    "stability": ("experiments/analysis.py",),
}


class StaleResult(ValueError):
    """A cached result does not match the inputs on disk (or is missing)."""


def input_files(name: str) -> tuple[str, ...]:
    """Repository-relative paths of the files experiment ``name``'s results depend on."""
    return (f"experiments/{name}.py",) + SHARED + EXTRA.get(name, ()) + DATA


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(name: str, root: Path = ROOT) -> dict[str, Any]:
    """``{"files": {path: sha256}, "sha256": sha256 of the canonical JSON of files}``."""
    files = {rel: _sha256(root / rel) for rel in input_files(name)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "sha256": digest}


def write(name: str, record: dict[str, Any], root: Path = ROOT) -> Path:
    """Write ``record`` to ``experiments/results/<name>.json`` (deterministic text). Its ``inputs``
    must be the :func:`fingerprint` taken when the run started (default: taken now)."""
    path = root / "experiments" / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"experiment": name, "inputs": record.get("inputs") or fingerprint(name, root),
              **{k: v for k, v in record.items() if k != "inputs"}}
    path.write_text(json.dumps(record, indent=1, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Check:
    """Result of :func:`verify`: ``ok``, and the problems when not."""

    name: str
    ok: bool
    problems: tuple[str, ...]
    sha256: str | None


def verify(name: str, root: Path = ROOT) -> Check:
    """Compare ``experiments/results/<name>.json`` with the files on disk."""
    path = root / "experiments" / "results" / f"{name}.json"
    if not path.is_file():
        return Check(name, False, (f"missing {path.relative_to(root)}",), None)
    record = json.loads(path.read_text(encoding="utf-8"))
    stored = record.get("inputs", {})
    now = fingerprint(name, root)
    problems = []
    for rel, digest in now["files"].items():
        old = stored.get("files", {}).get(rel)
        if old != digest:
            problems.append(f"{rel} changed since the results were computed" if old else f"{rel} not recorded")
    extra = set(stored.get("files", {})) - set(now["files"])
    problems += [f"{rel} recorded but no longer an input" for rel in sorted(extra)]
    if stored.get("sha256") != now["sha256"] and not problems:
        problems.append("inputs.sha256 does not match the recorded files")
    return Check(name, not problems, tuple(problems), stored.get("sha256"))


def load(name: str, root: Path = ROOT) -> dict[str, Any]:
    """The cached record of ``name``; :class:`StaleResult` unless :func:`verify` passes."""
    chk = verify(name, root)
    if not chk.ok:
        raise StaleResult(f"experiments/results/{name}.json is stale ({'; '.join(chk.problems)}): "
                          f"rerun `python -m experiments.run {name}`")
    return json.loads((root / "experiments" / "results" / f"{name}.json").read_text(encoding="utf-8"))
