"""An LSTM classifier of scikit-learn's digits, trained reproducibly: the certification benchmark's
model (and a model the invariants work reuses).

Each 8×8 image (pixels 0..16, scaled to [0, 1]) is read row by row: T = 8 steps of n_x = 8
pixels; one LSTM layer of n_a = 32 units; a linear head on the last hidden state a⟨8⟩ (10
classes). Data: ``sklearn.datasets.load_digits`` (shipped inside scikit-learn, no download),
split 75 / 25 with ``train_test_split(random_state=0, stratify=labels)``. Training: PyTorch,
one thread, ``torch.manual_seed(0)``, Adam (lr 1e-2), batches of 64 shuffled by a seeded
generator, 40 epochs, cross-entropy on the last step's logits.

:func:`digits_model` returns the model as :class:`lstm_symbolic.LSTMWeights`, read from the
cached ``benchmarks/data/digits_lstm.npz`` (seed naming, written by ``LSTMWeights.save``), and
trains and writes it when the file is missing (``--retrain`` forces it). The note beside it,
``benchmarks/data/digits_lstm.json``, says how the file was made and its test accuracy.
scikit-learn and torch are needed only to train and to load the data, never by the library.

    python benchmarks/digits.py [--retrain]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import lstm_symbolic as ls  # noqa: E402

DATA = HERE / "data"
WEIGHTS = DATA / "digits_lstm.npz"
NOTE = DATA / "digits_lstm.json"
N_A = 32
EPOCHS = 40
SEED = 0


def digits_data() -> dict[str, np.ndarray]:
    """The digits split: ``x_train``, ``x_test`` (N, T=8, n_x=8) in [0, 1] (batch first),
    ``y_train``, ``y_test`` (N,) ints."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float64)  # (N, 8, 8): rows are the steps
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return {"x_train": x_tr, "x_test": x_te, "y_train": y_tr.astype(np.int64), "y_test": y_te.astype(np.int64)}


def train(epochs: int = EPOCHS, n_a: int = N_A, seed: int = SEED) -> tuple[ls.LSTMWeights, dict[str, Any]]:
    """Train the classifier (see the module docstring); returns the weights and a note."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    data = digits_data()
    xtr = torch.tensor(data["x_train"], dtype=torch.float32)
    ytr = torch.tensor(data["y_train"])
    lstm = torch.nn.LSTM(8, n_a, batch_first=True)
    head = torch.nn.Linear(n_a, 10)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), 64):
            idx = perm[i : i + 64]
            out, _ = lstm(xtr[idx])
            loss = torch.nn.functional.cross_entropy(head(out[:, -1]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    state = {k: v.detach().double().numpy() for k, v in lstm.state_dict().items()}
    state["W_y"] = head.weight.detach().double().numpy()
    state["b_y"] = head.bias.detach().double().numpy()
    w = ls.LSTMWeights.from_torch(state)
    acc = accuracy(w, data["x_test"], data["y_test"])
    note = {
        "what": "LSTM classifier of sklearn digits, rows as steps (T=8, n_x=8), n_a=%d, linear head on a<8>" % n_a,
        "made_by": "python benchmarks/digits.py --retrain (benchmarks/digits.py:train)",
        "data": "sklearn.datasets.load_digits, pixels/16, train_test_split(test_size=0.25, random_state=0, stratify=target)",
        "training": f"torch {torch.__version__}, 1 thread, manual_seed({seed}), Adam lr 1e-2, batch 64, {epochs} epochs, cross-entropy",
        "weights": "float32 training weights widened to float64; b = b_ih + b_hh with its exact residual (LSTMWeights.from_torch)",
        "test_accuracy": acc,
        "n_test": int(len(data["y_test"])),
    }
    return w, note


def accuracy(w: ls.LSTMWeights, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the float forward pass on (N, T, n_x) images."""
    run = ls.forward(w, x, batch_first=True)
    return float((run.y[:, -1].argmax(axis=-1) == y).mean())


def digits_model(retrain: bool = False) -> ls.LSTMWeights:
    """The trained model (cached in ``benchmarks/data/digits_lstm.npz``)."""
    if WEIGHTS.exists() and not retrain:
        return ls.load(WEIGHTS)
    w, note = train()
    DATA.mkdir(exist_ok=True)
    w.save(WEIGHTS)
    NOTE.write_text(json.dumps(note, indent=2) + "\n")
    return ls.load(WEIGHTS)


def correct_test_images(w: ls.LSTMWeights, count: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` correctly classified test images (N, T, n_x) and their labels."""
    data = digits_data()
    run = ls.forward(w, data["x_test"], batch_first=True)
    ok = run.y[:, -1].argmax(axis=-1) == data["y_test"]
    idx = np.flatnonzero(ok)[:count]
    return data["x_test"][idx], data["y_test"][idx]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--retrain", action="store_true", help="train again and overwrite the cached weights")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    w = digits_model(retrain=args.retrain)
    data = digits_data()
    print(f"test accuracy {accuracy(w, data['x_test'], data['y_test']):.4f} on {len(data['y_test'])} images; weights {WEIGHTS}")


if __name__ == "__main__":
    main()
