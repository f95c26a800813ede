"""Record the former trainer's loss trajectory once, as the reference the new trainer is checked against.

Until commit ``5832825`` the trainer lived in ``lstm_symbolic/demo_model.py`` with a forward pass
of its own; it produced the shipped ``lstm_symbolic/data/demo_char_lstm.npz``. The trainer now
lives in :mod:`experiments.train_demo` and runs the library's forward pass (``ls.forward``), whose
σ and matrix product round differently, so a retrain is not bit-identical to the old one. This
script runs the *old* code, read verbatim from git history, unmodified: it only wraps the module's
``loss_and_grads`` to record the loss of every Adam step. It writes
``experiments/results/demo_trainer_reference.json``:

* ``chunk_losses``: the loss of each Adam step (one chunk of 32 steps × 8 streams) of the first
  ``RECORDED_CHUNK_EPOCHS`` epochs;
* ``epoch_losses``: per epoch, the mean loss per prediction over the epoch's chunks (what the old
  trainer printed with ``verbose``);
* ``weights_sha256``: SHA-256 of each final weight array's bytes, and whether they equal the shipped
  npz bit for bit on the machine that recorded them.

Run (from the repository root, ~20 s)::

    python -m experiments.record_reference
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OLD_COMMIT = "5832825c5584b9ec199aed927701163e39e29a85"  # last commit with the trainer inside lstm_symbolic/demo_model.py
OLD_PATH = "lstm_symbolic/demo_model.py"
OUT = ROOT / "experiments" / "results" / "demo_trainer_reference.json"
RECORDED_CHUNK_EPOCHS = 5


def old_module() -> tuple[types.ModuleType, str]:
    """The old demo_model module, executed from its source at ``OLD_COMMIT``; and that source's SHA-256."""
    full = subprocess.run(["git", "rev-parse", OLD_COMMIT], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    src = subprocess.run(["git", "show", f"{full}:{OLD_PATH}"], cwd=ROOT, check=True, capture_output=True).stdout
    mod = types.ModuleType("old_demo_model")
    mod.__file__ = str(ROOT / OLD_PATH)  # its DATA_DIR resolves to the shipped data directory
    sys.modules[mod.__name__] = mod  # dataclasses / annotations look the module up
    exec(compile(src, f"{full}:{OLD_PATH}", "exec"), mod.__dict__)
    return mod, hashlib.sha256(src).hexdigest()


def main() -> int:
    mod, src_sha = old_module()
    steps: list[tuple[float, int]] = []
    inner = mod.loss_and_grads

    def recording(params, inputs, targets, a0=None, c0=None):  # type: ignore[no-untyped-def]
        out = inner(params, inputs, targets, a0, c0)
        steps.append((out[0], int((np.asarray(targets) >= 0).sum())))
        return out

    mod.loss_and_grads = recording
    shipped = mod.load_demo_arrays()
    seed, epochs = int(shipped["seed"]), int(shipped["epochs"])
    start = time.perf_counter()
    arrays = mod.train(seed=seed, epochs=epochs)
    elapsed = time.perf_counter() - start
    per_epoch = len(steps) // epochs
    n_pred = sum(n for _, n in steps[:per_epoch])
    epoch_losses = [sum(l * n for l, n in steps[e * per_epoch:(e + 1) * per_epoch]) / n_pred for e in range(epochs)]
    identical = {k: bool(np.array_equal(arrays[k], shipped[k])) for k in mod.PARAM_KEYS}
    data = {
        "what": "loss trajectory of the former trainer (lstm_symbolic/demo_model.py, run unmodified from git history)",
        "old_commit": subprocess.run(["git", "rev-parse", OLD_COMMIT], cwd=ROOT, check=True, capture_output=True,
                                     text=True).stdout.strip(),
        "old_source_sha256": src_sha,
        "seed": seed,
        "epochs": epochs,
        "chunks_per_epoch": per_epoch,
        "predictions_per_epoch": n_pred,
        "chunk_losses": [repr(l) for l, _ in steps[: RECORDED_CHUNK_EPOCHS * per_epoch]],
        "epoch_losses": [repr(v) for v in epoch_losses],
        "train_loss": repr(float(arrays["train_loss"])),
        "weights_sha256": {k: hashlib.sha256(np.ascontiguousarray(arrays[k]).tobytes()).hexdigest() for k in mod.PARAM_KEYS},
        "equal_to_shipped_npz": identical,
        "recorded_on": {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()},
        "seconds": round(elapsed, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {epochs} epochs in {elapsed:.1f} s; equal to shipped: {all(identical.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
