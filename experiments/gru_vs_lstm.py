"""GRU versus LSTM at equal parameter count (claim ``gru-vs-lstm``).

The GRU of Jozefowicz et al. (2015) with the hidden size whose parameter count is closest to the
LSTM's (n_a = 16), against the LSTM with b_f initialised to 0 and to 1, five seeds each, on the
demo corpus (character-level language modelling, 300 epochs) and on the recall task (a memory
task that is not language modelling, 50 epochs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tasks, training as T

TITLE = "GRU versus LSTM at equal parameter count"
CLAIMS = ("gru-vs-lstm",)
CONFIG: dict[str, Any] = {
    "seeds": [0, 1, 2, 3, 4],
    "n_hidden_lstm": 16,
    "text": {"epochs": 300, "eval_every": 25},
    "recall": {"epochs": 50, "eval_every": 5, "n_streams": 32, "length": 1024},
}
SMOKE = {"seeds": [0], "text": {"epochs": 2, "eval_every": 1}, "recall": {"epochs": 1, "eval_every": 1, "n_streams": 2, "length": 64}}


def _variants(n: int, n_x: int) -> dict[str, tuple[T.Cell, int]]:
    lstm_count = T.n_params(T.init_params(T.LSTM(), np.random.default_rng(0), n, n_x))
    return {"lstm_b_f=0": (T.LSTM(forget_bias=0.0), n), "lstm_b_f=1": (T.LSTM(forget_bias=1.0), n),
            "gru": (T.GRU(), tasks.matching_hidden_size(T.GRU(), n_x, n_x, lstm_count))}


def run(config: dict[str, Any]) -> dict[str, Any]:
    text, recall = config["text"], config["recall"]
    text_task = tasks.text_task()
    recall_task = tasks.recall_task(n_streams=recall["n_streams"], length=recall["length"])
    n = config["n_hidden_lstm"]
    return {
        "text": tasks.compare(_variants(n, text_task.n_x), text_task, text["epochs"], config["seeds"], text["eval_every"]),
        "recall": tasks.compare(_variants(n, recall_task.n_x), recall_task, recall["epochs"], config["seeds"], recall["eval_every"]),
    }
