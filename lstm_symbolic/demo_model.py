"""The built-in demo model's data: its vocabulary, corpus and shipped weights.

The model is the LSTM of ``DESIGN.md`` in the seed's notation, on one-hot characters, with a
softmax over the same vocabulary (the setting of ``seed/lstm_intuition_notes.md``). With
z = [a⟨t−1⟩, x⟨t⟩] (a first, then x)::

    Γ_f = σ(W_f z + b_f)    Γ_u = σ(W_u z + b_u)    Γ_o = σ(W_o z + b_o)
    c̃  = tanh(W_c z + b_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
    y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)

with a⟨0⟩ = c⟨0⟩ = 0. x⟨t⟩ is the one-hot of character t of the text; y⟨t⟩ is the predicted
distribution of character t+1. Shapes: W_f, W_u, W_c, W_o (n_a, n_a + n_x); b_* (n_a,);
W_y (n_y, n_a); b_y (n_y,); here n_x = n_y = len(VOCAB) and n_a = 16.

This module holds what the library needs at run time: the text encoding and the shipped arrays
(``load_demo_arrays``; ``LSTMWeights.from_arrays`` makes the model). The trainer and the report
``data/README.md`` live beside the package, in ``experiments/train_demo.py``::

    python -m experiments.train_demo --out lstm_symbolic/data/demo_char_lstm.npz

Standard library and numpy only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

__all__ = [
    "VOCAB",
    "CORPUS_PATH",
    "DEMO_MODEL_PATH",
    "normalise",
    "load_corpus",
    "corpus_sha256",
    "encode",
    "decode",
    "load_demo_arrays",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "corpus.txt"
DEMO_MODEL_PATH = DATA_DIR / "demo_char_lstm.npz"

#: The symbols, in index order: space, the 26 lowercase letters, comma, full stop, hyphen.
VOCAB = " abcdefghijklmnopqrstuvwxyz,.-"
_INDEX = {ch: i for i, ch in enumerate(VOCAB)}

# Characters mapped before the vocabulary filter; anything else outside VOCAB is dropped.
_CHAR_MAP = {
    ";": ".",
    ":": ".",
    "!": ".",
    "?": ".",
    "\u2014": "--",  # em dash
    "\u2013": "-",  # en dash
}


# --------------------------------------------------------------------------- text


def normalise(text: str) -> str:
    """Map arbitrary text into ``VOCAB``.

    Lowercase; ``; : ! ?`` become ``.``; an em dash becomes ``--`` and an en dash ``-``; every
    run of whitespace (newlines included) becomes one space; any other character outside
    ``VOCAB`` (digits, quotes, apostrophes, ...) is dropped; leading and trailing spaces are
    stripped.
    """
    out = []
    for ch in text.lower():
        ch = _CHAR_MAP.get(ch, ch)
        if ch.isspace():
            out.append(" ")
        else:
            out.append("".join(c for c in ch if c in _INDEX))
    return " ".join("".join(out).split())


def load_corpus() -> str:
    """The shipped corpus (``data/corpus.txt``), normalised: one line, symbols of ``VOCAB``."""
    return normalise(CORPUS_PATH.read_text(encoding="utf-8"))


def corpus_sha256() -> str:
    """SHA-256 (hex) of the bytes of the shipped ``data/corpus.txt``."""
    return hashlib.sha256(CORPUS_PATH.read_bytes()).hexdigest()


def encode(text: str) -> np.ndarray:
    """Indices into ``VOCAB`` of each character of ``text``: int64 array (len(text),).

    Raises ``ValueError`` naming the first character outside ``VOCAB`` (apply ``normalise``
    first for arbitrary text).
    """
    try:
        return np.array([_INDEX[ch] for ch in text], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(
            f"text: character {exc.args[0]!r} is not in VOCAB {VOCAB!r}; normalise() the text first"
        ) from None


def decode(indices) -> str:
    """Inverse of ``encode``."""
    return "".join(VOCAB[int(i)] for i in np.asarray(indices).ravel())


def load_demo_arrays(path=DEMO_MODEL_PATH) -> dict[str, np.ndarray]:
    """The arrays of the shipped demo model; no pickles.

    Keys: the weights ``W_f, W_u, W_c, W_o, b_f, b_u, b_c, b_o, W_y, b_y`` (float64), ``vocab``
    (unicode array of the symbols, index order), and 0-d ``seed``, ``epochs``, ``train_loss``
    (nats per character on the whole corpus) and ``corpus_sha256`` (see ``data/README.md``).
    """
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
