"""The built-in demo model: a small character-level LSTM language model.

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

Training is plain numpy (float64): truncated back-propagation through time over parallel
streams of the corpus, Adam, global-norm gradient clipping, a fixed seed. The forget-gate bias
starts at 1.0 (Jozefowicz, Zaremba & Sutskever 2015, "An Empirical Exploration of Recurrent
Network Architectures", ICML). Retrain and rewrite the shipped weights and their report with::

    python -m lstm_symbolic.demo_model --out lstm_symbolic/data/demo_char_lstm.npz

This module imports only numpy and the standard library: it is independent of the rest of the
package (its forward pass is a plain float64 one, not a bound).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np

__all__ = [
    "VOCAB",
    "N_A",
    "PARAM_KEYS",
    "CORPUS_PATH",
    "DEMO_MODEL_PATH",
    "README_PATH",
    "normalise",
    "load_corpus",
    "corpus_sha256",
    "encode",
    "decode",
    "init_params",
    "forward",
    "loss_and_grads",
    "cross_entropy",
    "unigram_entropy",
    "greedy_generate",
    "train",
    "load_demo_arrays",
    "render_readme",
    "main",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "corpus.txt"
DEMO_MODEL_PATH = DATA_DIR / "demo_char_lstm.npz"
README_PATH = DATA_DIR / "README.md"

#: The symbols, in index order: space, the 26 lowercase letters, comma, full stop, hyphen.
VOCAB = " abcdefghijklmnopqrstuvwxyz,.-"
_INDEX = {ch: i for i, ch in enumerate(VOCAB)}

#: Hidden size of the demo model.
N_A = 16

#: Weight and bias keys, seed notation (gates f, u, o; candidate c).
PARAM_KEYS = ("W_f", "W_u", "W_c", "W_o", "b_f", "b_u", "b_c", "b_o", "W_y", "b_y")
_GATES = ("f", "u", "c", "o")  # order of the stacked pre-activations inside this module

#: Training settings of the shipped model (``train()`` defaults).
DEFAULT_SEED = 0
DEFAULT_EPOCHS = 1500
DEFAULT_CHUNK_LEN = 32
DEFAULT_N_STREAMS = 8
DEFAULT_LEARNING_RATE = 2e-2
DEFAULT_FINAL_LR_FRACTION = 0.05
DEFAULT_CLIP_NORM = 5.0
FORGET_BIAS_INIT = 1.0

#: Greedy sample shown in the README.
SAMPLE_PROMPT = "four score"
SAMPLE_LENGTH = 240

# Floating-point policy of this module: an overflow, a division by zero or a NaN is a bug and
# raises; underflow is not (e^(−|x|) and products of tiny gradients may flush to 0, harmlessly).
_FP_ERRORS = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}

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


# --------------------------------------------------------------------------- model


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), through e^(−|x|) so that nothing overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _stack(params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W_a, W_x, b): the four gates stacked in ``_GATES`` order, split into a- and x-columns.

    W_a: (4 n_a, n_a), W_x: (4 n_a, n_x), b: (4 n_a,).
    """
    n_a = params["b_f"].shape[0]
    W = np.concatenate([params[f"W_{g}"] for g in _GATES], axis=0)
    b = np.concatenate([params[f"b_{g}"] for g in _GATES], axis=0)
    return np.ascontiguousarray(W[:, :n_a]), np.ascontiguousarray(W[:, n_a:]), b


def init_params(rng: np.random.Generator, n_a: int = N_A, n_x: int = len(VOCAB)) -> dict:
    """Initial weights (float64), seed notation; n_y = n_x.

    Every W_* uniform in ±1/sqrt(n_a) (PyTorch's LSTM default); biases 0 except the forget
    gate's, ``FORGET_BIAS_INIT`` = 1.0 (Jozefowicz et al. 2015).
    """
    k = 1.0 / math.sqrt(n_a)
    params = {}
    for g in _GATES:
        params[f"W_{g}"] = rng.uniform(-k, k, size=(n_a, n_a + n_x))
    for g in _GATES:
        params[f"b_{g}"] = np.zeros(n_a)
    params["b_f"][:] = FORGET_BIAS_INIT
    params["W_y"] = rng.uniform(-k, k, size=(n_x, n_a))
    params["b_y"] = np.zeros(n_x)
    return params


def forward(params: dict, inputs, a0=None, c0=None) -> dict:
    """Concrete float64 forward pass over one-hot inputs given as indices.

    inputs: int array (T,) or (T, B) of indices into the vocabulary (x⟨t⟩ = one-hot(inputs[t])).
    a0, c0: (n_a,) or (B, n_a); default zeros.
    Returns arrays of shape (T, [B,] n): ``f``, ``u``, ``o``, ``c_tilde``, ``c``, ``a`` (n = n_a)
    and ``logits`` = W_y a + b_y, ``log_y`` = log softmax(logits) (n = n_y).
    """
    with np.errstate(**_FP_ERRORS):
        return _forward(params, inputs, a0, c0)


def _forward(params: dict, inputs, a0=None, c0=None) -> dict:
    idx = np.asarray(inputs)
    single = idx.ndim == 1
    idx2 = idx[:, None] if single else idx
    T, B = idx2.shape
    n_a = params["b_f"].shape[0]
    W_a, W_x, b = _stack(params)
    a = np.zeros((B, n_a)) if a0 is None else np.broadcast_to(np.asarray(a0, float), (B, n_a))
    c = np.zeros((B, n_a)) if c0 is None else np.broadcast_to(np.asarray(c0, float), (B, n_a))
    out = {k: np.empty((T, B, n_a)) for k in ("f", "u", "o", "c_tilde", "c", "a")}
    for t in range(T):
        pre = a @ W_a.T + W_x.T[idx2[t]] + b  # W z + b, z = [a, x]; W x picks a column
        gate_forget = _sigmoid(pre[:, 0 * n_a : 1 * n_a])
        gate_update = _sigmoid(pre[:, 1 * n_a : 2 * n_a])
        c_tilde = np.tanh(pre[:, 2 * n_a : 3 * n_a])
        gate_output = _sigmoid(pre[:, 3 * n_a : 4 * n_a])
        c = gate_forget * c + gate_update * c_tilde
        a = gate_output * np.tanh(c)
        out["f"][t], out["u"][t], out["o"][t] = gate_forget, gate_update, gate_output
        out["c_tilde"][t], out["c"][t], out["a"][t] = c_tilde, c, a
    logits = out["a"] @ params["W_y"].T + params["b_y"]
    m = logits.max(axis=-1, keepdims=True)
    log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
    out["logits"], out["log_y"] = logits, log_y
    if single:
        out = {k: v[:, 0] for k, v in out.items()}
    return out


def loss_and_grads(params: dict, inputs, targets, a0=None, c0=None):
    """Mean cross-entropy (nats per prediction) and its exact gradient, by BPTT.

    inputs, targets: int arrays (T, B); targets[t] is the character that y⟨t⟩ should predict,
    or −1 for no prediction (padding): the loss is the mean over the other entries.
    a0, c0: (B, n_a) initial state (default zeros), treated as constants (truncated BPTT).
    Returns (loss, grads, (a_T, c_T)): grads has the keys of ``PARAM_KEYS``; (a_T, c_T) is the
    final state, to carry into the next chunk.
    """
    with np.errstate(**_FP_ERRORS):
        return _loss_and_grads(params, inputs, targets, a0, c0)


def _loss_and_grads(params: dict, inputs, targets, a0=None, c0=None):
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    T, B = inputs.shape
    n_a = params["b_f"].shape[0]
    n_x = params["W_f"].shape[1] - n_a
    W_a, _, _ = _stack(params)
    a_init = np.zeros((B, n_a)) if a0 is None else np.asarray(a0, float)
    c_init = np.zeros((B, n_a)) if c0 is None else np.asarray(c0, float)
    run = forward(params, inputs, a_init, c_init)
    N = T * B
    valid = targets >= 0
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError("targets: expected at least one entry >= 0")

    # softmax cross-entropy: d loss / d logits = (y − onehot(target)) / n_valid on valid rows
    rows_t, rows_b = np.nonzero(valid)
    hit = (rows_t, rows_b, targets[valid])
    loss = -run["log_y"][hit].sum() / n_valid
    d_logits = np.exp(run["log_y"]) * valid[:, :, None]
    d_logits[hit] -= 1.0
    d_logits /= n_valid

    a_flat = run["a"].reshape(N, n_a)
    d_flat = d_logits.reshape(N, -1)
    g_W_y = d_flat.T @ a_flat
    g_b_y = d_flat.sum(axis=0)
    d_a_all = d_logits @ params["W_y"]  # (T, B, n_a): the softmax's share of d loss / d a⟨t⟩

    g_W_a = np.zeros((4 * n_a, n_a))
    g_W_x = np.zeros((4 * n_a, n_x))
    g_b = np.zeros(4 * n_a)
    d_a_next = np.zeros((B, n_a))
    d_c_next = np.zeros((B, n_a))
    eye_x = np.eye(n_x)
    for t in range(T - 1, -1, -1):
        f, u, o = run["f"][t], run["u"][t], run["o"][t]
        c_tilde, c = run["c_tilde"][t], run["c"][t]
        a_prev = run["a"][t - 1] if t > 0 else a_init
        c_prev = run["c"][t - 1] if t > 0 else c_init
        tanh_c = np.tanh(c)
        d_a = d_a_all[t] + d_a_next
        d_o = d_a * tanh_c
        d_c = d_c_next + d_a * o * (1.0 - tanh_c**2)
        d_pre = np.concatenate(
            [
                d_c * c_prev * f * (1.0 - f),  # Γ_f
                d_c * c_tilde * u * (1.0 - u),  # Γ_u
                d_c * u * (1.0 - c_tilde**2),  # c̃
                d_o * o * (1.0 - o),  # Γ_o
            ],
            axis=1,
        )
        g_W_a += d_pre.T @ a_prev
        g_W_x += d_pre.T @ eye_x[inputs[t]]
        g_b += d_pre.sum(axis=0)
        d_a_next = d_pre @ W_a
        d_c_next = d_c * f

    grads = {"W_y": g_W_y, "b_y": g_b_y}
    for k, g in enumerate(_GATES):
        rows = slice(k * n_a, (k + 1) * n_a)
        grads[f"W_{g}"] = np.concatenate([g_W_a[rows], g_W_x[rows]], axis=1)
        grads[f"b_{g}"] = g_b[rows].copy()
    return float(loss), grads, (run["a"][-1].copy(), run["c"][-1].copy())


def cross_entropy(params: dict, indices) -> float:
    """Mean cross-entropy (nats per character) of predicting indices[1:] from indices[:-1].

    The whole text is one sequence from a⟨0⟩ = c⟨0⟩ = 0: this is the ``train_loss`` stored
    with the demo model.
    """
    indices = np.asarray(indices)
    log_y = forward(params, indices[:-1])["log_y"]
    return float(-log_y[np.arange(len(indices) - 1), indices[1:]].mean())


def unigram_entropy(indices, n_symbols: int = len(VOCAB)) -> float:
    """Entropy (nats) of the empirical distribution of indices[1:] — the characters predicted
    by ``cross_entropy`` — i.e. the cross-entropy of the best context-free model."""
    counts = np.bincount(np.asarray(indices)[1:], minlength=n_symbols)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def greedy_generate(params: dict, prompt: str, length: int) -> str:
    """``prompt`` followed by ``length`` characters, each the argmax of y⟨t⟩."""
    idx = encode(prompt)
    if len(idx) == 0:
        raise ValueError("prompt: expected at least one character")
    run = forward(params, idx)
    a, c = run["a"][-1], run["c"][-1]
    nxt = int(np.argmax(run["logits"][-1]))
    out = [nxt]
    for _ in range(length - 1):
        run = forward(params, np.array([nxt]), a, c)
        a, c = run["a"][-1], run["c"][-1]
        nxt = int(np.argmax(run["logits"][-1]))
        out.append(nxt)
    return prompt + decode(out[:length])


# --------------------------------------------------------------------------- training


def _global_norm(grads: dict) -> float:
    return math.sqrt(sum(float((g * g).sum()) for g in grads.values()))


def train(
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    *,
    n_a: int = N_A,
    chunk_len: int = DEFAULT_CHUNK_LEN,
    n_streams: int = DEFAULT_N_STREAMS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    final_lr_fraction: float = DEFAULT_FINAL_LR_FRACTION,
    clip_norm: float = DEFAULT_CLIP_NORM,
    verbose: bool = False,
) -> dict[str, np.ndarray]:
    """Train the demo model on the shipped corpus; deterministic for a given seed.

    The N − 1 predictions of the corpus (inputs = characters 0..N−2, targets = 1..N−1) are cut
    into ``n_streams`` contiguous streams of equal length (the last one padded with masked
    targets) that run in parallel as a batch, in chunks of ``chunk_len`` steps: truncated BPTT,
    the state carried from chunk to chunk. At the end of an epoch, stream s hands its final
    state to stream s+1 as its initial state for the next epoch (stream 0 starts from zero), so
    every position is trained from (nearly) the state that reading the whole text from the start
    gives it — the condition under which ``train_loss`` is measured. Each chunk is one Adam step
    (β = 0.9, 0.999, ε = 1e−8) on the gradient clipped to global norm ``clip_norm``; the
    learning rate decays from ``learning_rate`` to ``learning_rate · final_lr_fraction`` along a
    cosine. The generator seeded with ``seed`` draws the initial weights (``init_params``).

    Returns the arrays saved in the demo npz: the weights under ``PARAM_KEYS`` (float64),
    ``vocab`` (unicode array of the symbols, index order), and 0-d arrays ``seed``, ``epochs``,
    ``train_loss`` (``cross_entropy`` of the final weights on the whole corpus, nats per
    character) and ``corpus_sha256``.
    """
    if epochs < 1:
        raise ValueError(f"epochs: expected >= 1, got {epochs}")
    if chunk_len < 1 or n_streams < 1:
        raise ValueError("chunk_len, n_streams: expected >= 1")
    rng = np.random.default_rng(seed)
    text_idx = encode(load_corpus())
    n_pred = len(text_idx) - 1
    stream_len = -(-n_pred // n_streams)
    pad = stream_len * n_streams - n_pred
    inputs = np.concatenate([text_idx[:-1], np.zeros(pad, np.int64)])
    targets = np.concatenate([text_idx[1:], np.full(pad, -1, np.int64)])
    inputs = inputs.reshape(n_streams, stream_len).T  # (stream_len, n_streams)
    targets = targets.reshape(n_streams, stream_len).T
    n_chunks = -(-stream_len // chunk_len)
    total_steps = epochs * n_chunks

    params = init_params(rng, n_a, len(VOCAB))
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8
    a_start = np.zeros((n_streams, n_a))
    c_start = np.zeros((n_streams, n_a))
    step = 0
    for epoch in range(epochs):
        a, c = a_start, c_start
        epoch_loss = 0.0
        for k in range(n_chunks):
            rows = slice(k * chunk_len, (k + 1) * chunk_len)
            loss, grads, (a, c) = loss_and_grads(params, inputs[rows], targets[rows], a, c)
            epoch_loss += loss * int((targets[rows] >= 0).sum())
            norm = _global_norm(grads)
            scale = clip_norm / norm if norm > clip_norm else 1.0
            step += 1
            progress = (step - 1) / max(total_steps - 1, 1)
            lr = learning_rate * (
                final_lr_fraction
                + (1 - final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))
            )
            bias1, bias2 = 1 - beta1**step, 1 - beta2**step
            for key in PARAM_KEYS:
                g = grads[key] * scale
                m[key] = beta1 * m[key] + (1 - beta1) * g
                v[key] = beta2 * v[key] + (1 - beta2) * g * g
                params[key] = params[key] - lr * (m[key] / bias1) / (
                    np.sqrt(v[key] / bias2) + adam_eps
                )
        a_start = np.concatenate([np.zeros((1, n_a)), a[:-1]])
        c_start = np.concatenate([np.zeros((1, n_a)), c[:-1]])
        if verbose and (epoch % 100 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch:5d}  loss {epoch_loss / n_pred:.4f}", file=sys.stderr)

    arrays = {key: np.asarray(params[key], dtype=np.float64) for key in PARAM_KEYS}
    arrays["vocab"] = np.array(list(VOCAB))
    arrays["seed"] = np.array(seed, dtype=np.int64)
    arrays["epochs"] = np.array(epochs, dtype=np.int64)
    arrays["train_loss"] = np.array(cross_entropy(arrays, text_idx), dtype=np.float64)
    arrays["corpus_sha256"] = np.array(corpus_sha256())
    return arrays


def load_demo_arrays(path=DEMO_MODEL_PATH) -> dict[str, np.ndarray]:
    """The arrays of the shipped demo model (see ``train`` for the keys); no pickles."""
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


# --------------------------------------------------------------------------- report

_README_HEAD = """\
# Demo model data

Generated by `python -m lstm_symbolic.demo_model --out lstm_symbolic/data/demo_char_lstm.npz`
(module `lstm_symbolic/demo_model.py`): do not edit by hand; `tests/test_demo_model.py`
checks that this file matches the shipped weights.

## Corpus: `corpus.txt`

- **Text**: the Gettysburg Address, "Bliss copy" (the fifth and last manuscript, written out by
  Abraham Lincoln in 1864 for Col. Alexander Bliss; the version engraved on the Lincoln
  Memorial). Speech delivered by Abraham Lincoln (1809–1865) at Gettysburg, Pennsylvania,
  on 19 November 1863.
- **Status**: public domain — published in the 1860s, author died in 1865 (and, as a work of a
  U.S. President in his official capacity, arguably never under copyright).
- **Source**: typed from the well-known text of the Bliss copy; no header or footer is shipped.
- **Normalisation** (`normalise()`; the file is stored already normalised, one line and a final
  newline): lowercase; `; : ! ?` → `.`; em dash → `--`, en dash → `-`; every run of whitespace,
  newlines included → one space; any other character outside the vocabulary (digits, quotes,
  apostrophes, …) is dropped. For this text only lowercasing and the paragraph breaks matter:
  the original's punctuation is `, . -` only (`--` dashes and the hyphen of "battle-field")."""


def render_readme(arrays: dict | None = None) -> str:
    """The text of ``data/README.md`` for the given demo arrays (default: the shipped ones).

    Every figure (loss, baseline, counts, sample) is computed here from the arrays and corpus.
    """
    if arrays is None:
        arrays = load_demo_arrays()
    text = load_corpus()
    idx = encode(text)
    params = {k: arrays[k] for k in PARAM_KEYS}
    n_a = params["b_f"].shape[0]
    n_x = params["W_f"].shape[1] - n_a
    n_y = params["W_y"].shape[0]
    n_params = sum(int(params[k].size) for k in PARAM_KEYS)
    loss = cross_entropy(params, idx)
    h1 = unigram_entropy(idx)
    unused = " ".join(f"`{ch}`" for ch in VOCAB if ch not in text)
    counts = np.bincount(idx, minlength=len(VOCAB))
    sample = greedy_generate(params, SAMPLE_PROMPT, SAMPLE_LENGTH)
    vocab_md = " ".join(f"`{ch}`" if ch != " " else "␠ (space)" for ch in VOCAB)
    lines = [
        _README_HEAD,
        f"- **Size**: {len(text)} characters, {len(text.split())} space-separated tokens; "
        f"SHA-256 of the file bytes `{corpus_sha256()}`.",
        "",
        "## Vocabulary",
        "",
        f"{len(VOCAB)} symbols, index order (`VOCAB`): {vocab_md}.",
        f"Symbols that never occur in the corpus: {unused} (kept so that any normalised",
        "lowercase English text can be encoded). Most frequent: "
        + ", ".join(
            f"{'space' if VOCAB[i] == ' ' else repr(VOCAB[i])} {counts[i]}"
            for i in np.argsort(-counts, kind="stable")[:5]
        )
        + ".",
        "",
        "## Model: `demo_char_lstm.npz`",
        "",
        "The LSTM of `DESIGN.md`, seed notation, z = [a⟨t−1⟩, x⟨t⟩] (a first), a⟨0⟩ = c⟨0⟩ = 0;",
        "x⟨t⟩ = one-hot of character t, y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y) predicts character t+1.",
        "",
        f"- n_x = {n_x}, n_a = {n_a}, n_y = {n_y}; W_f, W_u, W_c, W_o: ({n_a}, {n_a + n_x}); "
        f"b_*: ({n_a},); W_y: ({n_y}, {n_a}); b_y: ({n_y},); {n_params} parameters, float64.",
        "- Keys: " + ", ".join(f"`{k}`" for k in PARAM_KEYS) + "; `vocab` (unicode array, index "
        "order); 0-d metadata `seed`, `epochs`, `train_loss`, `corpus_sha256`. Saved with "
        "`np.savez`; loads with `allow_pickle=False`.",
        "",
        "## Training",
        "",
        f"Pure numpy, float64, seed {int(arrays['seed'])} (`numpy.random.default_rng`), "
        f"{int(arrays['epochs'])} epochs. Truncated BPTT: the corpus is split into "
        f"{DEFAULT_N_STREAMS} contiguous streams run in parallel, in chunks of "
        f"{DEFAULT_CHUNK_LEN} steps, the state carried across chunks; at each epoch's end "
        "stream s hands its final state to stream s+1 (stream 0 restarts from zero), so training "
        "sees the states of a whole-text read, as in the evaluation below. "
        f"Adam (lr {DEFAULT_LEARNING_RATE:g}, cosine decay to "
        f"{DEFAULT_LEARNING_RATE * DEFAULT_FINAL_LR_FRACTION:g}; β = 0.9, 0.999), gradient "
        f"clipped to global norm {DEFAULT_CLIP_NORM:g}. Init: W_* uniform ±1/√n_a, biases 0, "
        f"forget-gate bias b_f = {FORGET_BIAS_INIT:g} (Jozefowicz et al. 2015). Backprop is "
        "checked against central finite differences in `tests/test_demo_model.py`.",
        "",
        "Results are deterministic on a given platform; another BLAS may change the last bits,",
        "and training amplifies them, so a retrain elsewhere may differ slightly.",
        "",
        "## Results",
        "",
        "Mean cross-entropy of predicting characters 2..N from their prefixes, the whole corpus",
        "read as one sequence from the zero state (`cross_entropy()`), in nats per character:",
        "",
        "| model | nats/char | bits/char | perplexity |",
        "|---|---|---|---|",
        f"| demo LSTM (`train_loss`) | {loss:.4f} | {loss / math.log(2):.4f} | {math.exp(loss):.2f} |",
        f"| unigram baseline (entropy of the character frequencies) | {h1:.4f} | "
        f"{h1 / math.log(2):.4f} | {math.exp(h1):.2f} |",
        f"| uniform over the {len(VOCAB)} symbols | {math.log(len(VOCAB)):.4f} | "
        f"{math.log2(len(VOCAB)):.4f} | {len(VOCAB)} |",
        "",
        "The loss is measured on the training text itself: with so few characters the model",
        "memorises; it is a demo for the verifier, not a language model.",
        "",
        f"Greedy generation (argmax at every step) from the prompt \"{SAMPLE_PROMPT}\", "
        f"{SAMPLE_LENGTH} characters:",
        "",
        "```text",
        sample,
        "```",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    """Retrain the demo model and write its npz (and README.md beside it, unless --no-readme)."""
    parser = argparse.ArgumentParser(
        prog="python -m lstm_symbolic.demo_model", description=main.__doc__
    )
    parser.add_argument("--out", type=Path, default=DEMO_MODEL_PATH, help="output .npz path")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--no-readme", action="store_true", help="do not write README.md")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    arrays = train(seed=args.seed, epochs=args.epochs, verbose=not args.quiet)
    elapsed = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    idx = encode(load_corpus())
    print(
        f"wrote {args.out}: train_loss {float(arrays['train_loss']):.4f} nats/char "
        f"(unigram entropy {unigram_entropy(idx):.4f}), trained in {elapsed:.1f} s"
    )
    if not args.no_readme:
        readme = args.out.parent / "README.md"
        readme.write_text(render_readme(load_demo_arrays(args.out)), encoding="utf-8")
        print(f"wrote {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
