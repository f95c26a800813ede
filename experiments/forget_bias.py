"""Forget-gate bias at initialisation: b_f = 0, 1, 2 (claim ``forget-bias-init``).

The seed's LSTM (n_a = 16) is trained with b_f initialised to 0, 1 and 2 (every other bias 0,
weights uniform ±1/√n_a), five seeds each, on two tasks (:mod:`experiments.tasks`): the demo
corpus (next character, whole text, 300 epochs) and the synthetic recall task (50 epochs).
Measured: the loss reached (whole-text loss; held-out recall loss and accuracy), its curve over
training, and mean ± sd over seeds.
"""

from __future__ import annotations

from typing import Any

from . import tasks, training as T

TITLE = "Forget-gate bias at initialisation"
CLAIMS = ("forget-bias-init",)
CONFIG: dict[str, Any] = {
    "forget_biases": [0.0, 1.0, 2.0],
    "seeds": [0, 1, 2, 3, 4],
    "n_hidden": 16,
    "text": {"epochs": 300, "eval_every": 25},
    "recall": {"epochs": 50, "eval_every": 5, "n_streams": 32, "length": 1024},
}
SMOKE = {"seeds": [0], "text": {"epochs": 2, "eval_every": 1}, "recall": {"epochs": 1, "eval_every": 1, "n_streams": 2, "length": 64}}


def run(config: dict[str, Any]) -> dict[str, Any]:
    variants = {f"b_f={b:g}": (T.LSTM(forget_bias=b), config["n_hidden"]) for b in config["forget_biases"]}
    text, recall = config["text"], config["recall"]
    return {
        "text": tasks.compare(variants, tasks.text_task(), text["epochs"], config["seeds"], text["eval_every"]),
        "recall": tasks.compare(variants, tasks.recall_task(n_streams=recall["n_streams"], length=recall["length"]),
                                recall["epochs"], config["seeds"], recall["eval_every"]),
    }
