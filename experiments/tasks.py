"""The tasks the experiments train on, one way to fit a model to them, and seed statistics.

* ``text`` — the demo corpus (Gettysburg Address, 1473 characters, 30 symbols), next-character
  prediction over the whole text, evaluated on the whole text read from the zero state (the
  demo model's ``train_loss``). A memorisation task: there is no held-out text.
* ``text-split`` — the same text; only the first ``train_fraction`` of the predictions are
  trained on, the rest is held out (read as the continuation of the text, from the zero state).
* ``recall`` — a synthetic memory task that is not language modelling. Each stream is random
  keys (8 symbols); at random times a marker ``M`` says "store the next key"; at random times a
  query ``Q`` asks for the stored key — the only targets (no prediction elsewhere). Keys without
  a marker are distractors, and a new marker overwrites the stored key, so the task needs
  writing selectively, holding a value for many steps, and forgetting it on demand. Chance
  (knowing the keys are uniform) is ln 8 = 2.079 nats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from lstm_symbolic.demo_model import VOCAB, encode, load_corpus

from . import training as T

__all__ = ["Task", "text_task", "text_split_task", "recall_task", "fit", "compare", "summary", "matching_hidden_size"]


@dataclass(frozen=True)
class Task:
    """Training streams, the input/output sizes, and an evaluation of a trained model."""

    name: str
    n_x: int
    streams: T.Streams
    evaluate: Callable[[T.Cell, dict], dict[str, float]]


def text_task(n_streams: int = 8) -> Task:
    """Next-character prediction on the whole demo corpus; evaluation: mean loss of the whole text."""
    idx = encode(load_corpus())

    def evaluate(cell: T.Cell, params: dict) -> dict[str, float]:
        return {"loss": float(T.sequence_losses(cell, params, idx).mean())}

    return Task("text", len(VOCAB), T.text_streams(idx, n_streams), evaluate)


def text_split_task(train_fraction: float, n_streams: int = 8) -> Task:
    """The demo corpus with its last ``1 − train_fraction`` of predictions held out.

    Evaluation: mean loss of the trained predictions (``train_loss``) and of the held-out ones
    (``heldout_loss``), the whole text read from the zero state.
    """
    idx = encode(load_corpus())
    split = int(round(train_fraction * (len(idx) - 1))) + 1  # targets idx[1:split] are trained on

    def evaluate(cell: T.Cell, params: dict) -> dict[str, float]:
        losses = T.sequence_losses(cell, params, idx)  # losses[t] predicts idx[t + 1]
        return {"train_loss": float(losses[: split - 1].mean()), "heldout_loss": float(losses[split - 1:].mean())}

    return Task("text-split", len(VOCAB), T.text_streams(idx, n_streams, train_until=split), evaluate)


RECALL_SYMBOLS = ("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "M", "Q")


def _recall_streams(rng: np.random.Generator, n_streams: int, length: int, p_marker: float, p_query: float) -> T.Streams:
    n_keys = 8
    marker, query = n_keys, n_keys + 1
    inputs = np.empty((length, n_streams), np.int64)
    targets = np.full((length, n_streams), -1, np.int64)
    for s in range(n_streams):
        key, t = -1, 0
        while t < length:
            r = rng.random()
            if r < p_marker and t + 1 < length:  # "M k": store k
                key = int(rng.integers(n_keys))
                inputs[t, s], inputs[t + 1, s] = marker, key
                t += 2
                continue
            if r < p_marker + p_query and key >= 0:  # "Q": answer the stored key
                inputs[t, s], targets[t, s] = query, key
            else:  # a key without marker: a distractor, not to be stored
                inputs[t, s] = rng.integers(n_keys)
            t += 1
    return T.Streams(inputs, targets, handoff=False)


def recall_task(seed: int = 12345, n_streams: int = 8, length: int = 512, p_marker: float = 0.04,
                p_query: float = 0.06) -> Task:
    """The recall task: training streams from generator ``seed``, evaluation on fresh streams
    (generator ``seed + 1``) of the same size; evaluation: mean loss and accuracy over queries."""
    train = _recall_streams(np.random.default_rng(seed), n_streams, length, p_marker, p_query)
    test = _recall_streams(np.random.default_rng(seed + 1), n_streams, length, p_marker, p_query)

    def evaluate(cell: T.Cell, params: dict) -> dict[str, float]:
        with np.errstate(**T.FP_ERRORS):
            cache, _ = cell.forward(params, test.inputs, cell.zero_state(n_streams, params["W_y"].shape[1]))
            logits = cache["h"] @ params["W_y"].T + params["b_y"]
            m = logits.max(axis=-1, keepdims=True)
            log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
        rows = np.nonzero(test.targets >= 0)
        tgt = test.targets[rows]
        return {"loss": float(-log_y[rows + (tgt,)].mean()),
                "accuracy": float((log_y[rows].argmax(axis=-1) == tgt).mean())}

    return Task("recall", len(RECALL_SYMBOLS), train, evaluate)


def fit(cell: T.Cell, task: Task, config: T.TrainConfig, seed: int, eval_every: int = 0) -> dict[str, Any]:
    """Train ``cell`` on ``task``; return the per-epoch training losses, the evaluations every
    ``eval_every`` epochs (and at the end), the final evaluation and the parameter count."""
    params, hist = T.train(cell, task.streams, task.n_x, config, seed, evaluate=lambda p: task.evaluate(cell, p),
                           eval_every=eval_every or config.epochs)
    return {
        "epoch_losses": hist.epoch_losses,
        "evaluations": [{"epoch": e, **v} for e, v in hist.evaluations],
        "final": hist.evaluations[-1][1],
        "n_params": T.n_params(params, cell.frozen),
        "params": params,
    }


#: Evaluation metrics where larger is better (all others are losses).
HIGHER_IS_BETTER = ("accuracy",)


def compare(variants: dict[str, tuple[T.Cell, int]], task: Task, epochs: int, seeds: Sequence[int], eval_every: int,
            measure: Callable[[T.Cell, dict], dict[str, float]] | None = None, dropout: float = 0.0) -> dict[str, Any]:
    """Train every variant (a cell and its hidden size) on ``task`` with every seed; summarise.

    Per variant: hidden size, trained-parameter count, the final evaluation (mean ± sd over seeds,
    and per seed), the lowest value each metric reached at the evaluations (``best``), the mean
    curve over the evaluations, and ``measure(cell, params)`` of each final model (summarised).
    """
    out: dict[str, Any] = {}
    for name, (cell, n_h) in variants.items():
        runs = [fit(cell, task, T.TrainConfig(n_h=n_h, epochs=epochs, dropout=dropout), s, eval_every) for s in seeds]
        metrics = list(runs[0]["final"])
        row: dict[str, Any] = {
            "n_hidden": n_h,
            "n_params": runs[0]["n_params"],
            "final": {m: summary([r["final"][m] for r in runs]) for m in metrics},
            "per_seed": {m: [r["final"][m] for r in runs] for m in metrics},
            "best": {m: summary([(max if m in HIGHER_IS_BETTER else min)(ev[m] for ev in r["evaluations"]) for r in runs])
                     for m in metrics},
            "curve": [{"epoch": runs[0]["evaluations"][i]["epoch"],
                       **{m: {"mean": float(np.mean([r["evaluations"][i][m] for r in runs])),
                              "sd": float(np.std([r["evaluations"][i][m] for r in runs], ddof=1)) if len(runs) > 1 else 0.0}
                          for m in metrics}}
                      for i in range(len(runs[0]["evaluations"]))],
        }
        if measure is not None:
            extra = [measure(cell, r["params"]) for r in runs]
            row["measured"] = {k: summary([e[k] for e in extra]) for k in extra[0]}
        out[name] = row
    return out


def summary(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation (n − 1), min and max over seeds."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def matching_hidden_size(cell: T.Cell, n_x: int, n_y: int, target: int) -> int:
    """The hidden size of ``cell`` whose trained-parameter count (output layer included) is
    closest to ``target`` (ties: the smaller size)."""
    rng = np.random.default_rng(0)
    count = lambda n: T.n_params(T.init_params(cell, rng, n, n_x, n_y), cell.frozen)  # noqa: E731
    return min(range(1, 257), key=lambda n: (abs(count(n) - target), n))
