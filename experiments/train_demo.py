"""Train the built-in demo model and write its report (``lstm_symbolic/data/README.md``).

The demo model is the seed's LSTM on one-hot characters of the shipped corpus, with a softmax
over the same vocabulary (see :mod:`lstm_symbolic.demo_model` for the data and the notation).
Training: :func:`experiments.training.train` — the library's forward pass (``ls.forward``), this
package's BPTT, Adam, parallel streams, a fixed seed; the forget-gate bias starts at 1.0
(Jozefowicz, Zaremba & Sutskever 2015). Retrain and rewrite the weights and their report with::

    python -m experiments.train_demo --out lstm_symbolic/data/demo_char_lstm.npz

**Reproducibility.** The shipped weights were produced by the former trainer (inside
``lstm_symbolic/demo_model.py`` until commit 5832825, with a forward pass of its own). This one
runs the library's forward pass, whose σ and matrix product round differently in the last bit,
and training amplifies such differences: a retrain here is close to the shipped model but not
bit-identical. What is checked instead (``tests/test_demo_model.py``) is the loss of every Adam
step of the first epochs and the loss of every epoch, against the values the old code produced
when run unmodified from git history (``experiments/record_reference.py``,
``experiments/results/demo_trainer_reference.json``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from lstm_symbolic.demo_model import (
    DEMO_MODEL_PATH,
    VOCAB,
    corpus_sha256,
    decode,
    encode,
    load_corpus,
    load_demo_arrays,
)

from . import training as T

__all__ = [
    "N_A",
    "PARAM_KEYS",
    "DEMO",
    "README_PATH",
    "CELL",
    "train",
    "cross_entropy",
    "unigram_entropy",
    "greedy_generate",
    "render_readme",
    "main",
]

README_PATH = DEMO_MODEL_PATH.parent / "README.md"

#: Hidden size of the demo model.
N_A = 16
#: Weight and bias keys of the npz, seed notation (gates f, u, o; candidate c).
PARAM_KEYS = ("W_f", "W_u", "W_c", "W_o", "b_f", "b_u", "b_c", "b_o", "W_y", "b_y")
#: Training settings of the shipped model.
DEFAULT_SEED = 0
N_STREAMS = 8
FORGET_BIAS_INIT = 1.0
DEMO = T.TrainConfig(n_h=N_A, epochs=1500, chunk_len=32, learning_rate=2e-2, final_lr_fraction=0.05, clip_norm=5.0)
CELL = T.LSTM(forget_bias=FORGET_BIAS_INIT)

#: Greedy sample shown in the README.
SAMPLE_PROMPT = "four score"
SAMPLE_LENGTH = 240


def cross_entropy(params: dict, indices) -> float:
    """Mean cross-entropy (nats per character) of predicting indices[1:] from indices[:-1], the
    whole text read as one sequence from a⟨0⟩ = c⟨0⟩ = 0: the ``train_loss`` of the demo npz."""
    return float(T.sequence_losses(CELL, params, indices).mean())


def unigram_entropy(indices, n_symbols: int = len(VOCAB)) -> float:
    """Entropy (nats) of the empirical distribution of indices[1:] — the characters predicted
    by ``cross_entropy`` — i.e. the cross-entropy of the best context-free model."""
    counts = np.bincount(np.asarray(indices)[1:], minlength=n_symbols)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def greedy_generate(params: dict, prompt: str, length: int) -> str:
    """``prompt`` followed by ``length`` characters, each the argmax of y⟨t⟩ (``ls.forward``)."""
    idx = encode(prompt)
    if len(idx) == 0:
        raise ValueError("prompt: expected at least one character")
    state = CELL.zero_state(1, params["W_y"].shape[1])
    out: list[int] = []
    inputs = idx[:, None]
    while len(out) < length:
        cache, state = CELL.forward(params, inputs, state)
        nxt = int(np.argmax(cache["a"][-1, 0] @ params["W_y"].T + params["b_y"]))
        out.append(nxt)
        inputs = np.array([[nxt]])
    return prompt + decode(out)


def train(seed: int = DEFAULT_SEED, epochs: int = DEMO.epochs, *, verbose: bool = False,
          history: T.History | None = None, stop_after: int | None = None) -> dict[str, np.ndarray]:
    """Train the demo model on the shipped corpus; deterministic for a given seed.

    The N − 1 predictions of the corpus are cut into 8 contiguous streams (``training.text_streams``)
    trained in parallel with truncated BPTT (chunks of 32 steps, each stream handing its final
    state to the next at an epoch's end, so that every position is trained from nearly the state a
    whole-text read gives it — the condition under which ``train_loss`` is measured). Adam, lr 0.02
    decaying along a cosine to 0.001, gradient clipped to global norm 5. ``history``, if given, is
    filled with the losses of the run; ``stop_after`` stops after that many epochs of the
    ``epochs``-long schedule (a prefix of the full run; ``epochs`` is still what the arrays record).

    Returns the arrays saved in the demo npz: the weights under ``PARAM_KEYS`` (float64), ``vocab``
    (unicode array, index order), and 0-d ``seed``, ``epochs``, ``train_loss`` (``cross_entropy``
    of the final weights, nats per character) and ``corpus_sha256``.
    """
    if epochs < 1:
        raise ValueError(f"epochs: expected >= 1, got {epochs}")
    text_idx = encode(load_corpus())
    config = T.TrainConfig(**{**DEMO.__dict__, "epochs": epochs})
    params, hist = T.train(CELL, T.text_streams(text_idx, N_STREAMS), len(VOCAB), config, seed, stop_after=stop_after,
                           verbose=(lambda s: print(s, file=sys.stderr)) if verbose else None)
    if history is not None:
        history.step_losses[:], history.epoch_losses[:] = hist.step_losses, hist.epoch_losses
    arrays = {key: np.asarray(params[key], dtype=np.float64) for key in PARAM_KEYS}
    arrays["vocab"] = np.array(list(VOCAB))
    arrays["seed"] = np.array(seed, dtype=np.int64)
    arrays["epochs"] = np.array(epochs, dtype=np.int64)
    arrays["train_loss"] = np.array(cross_entropy(arrays, text_idx), dtype=np.float64)
    arrays["corpus_sha256"] = np.array(corpus_sha256())
    return arrays


# --------------------------------------------------------------------------- report

_README_HEAD = """\
# Demo model data

Generated by `python -m experiments.train_demo --out lstm_symbolic/data/demo_char_lstm.npz`
(module `experiments/train_demo.py`): do not edit by hand; `tests/test_demo_model.py`
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
    """The text of ``lstm_symbolic/data/README.md`` for the given demo arrays (default: the shipped
    ones). Every figure (loss, baseline, counts, sample) is computed here from the arrays and corpus
    (forward passes by ``ls.forward``)."""
    if arrays is None:
        arrays = load_demo_arrays()
    text = load_corpus()
    idx = encode(text)
    params = {k: arrays[k] for k in PARAM_KEYS}
    n_a = params["b_f"].shape[0]
    n_x = params["W_f"].shape[1] - n_a
    n_y = params["W_y"].shape[0]
    n_par = sum(int(params[k].size) for k in PARAM_KEYS)
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
        f"b_*: ({n_a},); W_y: ({n_y}, {n_a}); b_y: ({n_y},); {n_par} parameters, float64.",
        "- Keys: " + ", ".join(f"`{k}`" for k in PARAM_KEYS) + "; `vocab` (unicode array, index "
        "order); 0-d metadata `seed`, `epochs`, `train_loss`, `corpus_sha256`. Saved with "
        "`np.savez`; loads with `allow_pickle=False`.",
        "",
        "## Training",
        "",
        "numpy, float64: the library's forward pass (`ls.forward`) and the trainer's own BPTT; "
        f"seed {int(arrays['seed'])} (`numpy.random.default_rng`), "
        f"{int(arrays['epochs'])} epochs. Truncated BPTT: the corpus is split into "
        f"{N_STREAMS} contiguous streams run in parallel, in chunks of "
        f"{DEMO.chunk_len} steps, the state carried across chunks; at each epoch's end "
        "stream s hands its final state to stream s+1 (stream 0 restarts from zero), so training "
        "sees the states of a whole-text read, as in the evaluation below. "
        f"Adam (lr {DEMO.learning_rate:g}, cosine decay to "
        f"{DEMO.learning_rate * DEMO.final_lr_fraction:g}; β = 0.9, 0.999), gradient "
        f"clipped to global norm {DEMO.clip_norm:g}. Init: W_* uniform ±1/√n_a, biases 0, "
        f"forget-gate bias b_f = {FORGET_BIAS_INIT:g} (Jozefowicz et al. 2015). Backprop is "
        "checked against central finite differences in `tests/test_experiments.py`.",
        "",
        "The shipped weights were trained by the former trainer (a numpy forward pass of its own",
        "inside `lstm_symbolic/demo_model.py`, up to commit 5832825), which still reproduces them",
        "bit for bit when run from git history (a slow test). The trainer here rounds σ and the",
        "gate products differently in the last bit; it follows the old run's recorded losses",
        "(`experiments/results/demo_trainer_reference.json`) to 1e-13 for 40 epochs and to 1e-8",
        "for 100, after which training amplifies the difference: a full retrain ends at another,",
        "working model, not at the shipped file. Results are deterministic on a given platform;",
        "another BLAS may change the last bits.",
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
    parser = argparse.ArgumentParser(prog="python -m experiments.train_demo", description=main.__doc__)
    parser.add_argument("--out", type=Path, default=DEMO_MODEL_PATH, help="output .npz path")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--epochs", type=int, default=DEMO.epochs)
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
