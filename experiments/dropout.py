"""Dropout versus none, on held-out text (claim ``dropout``).

The seed's LSTM (b_f initialised to 1) with n_a = 16 and 32, trained on the first 80 % of the
demo corpus's predictions with inverted dropout of probability p ∈ {0, 0.25, 0.5} on the
non-recurrent connection a⟨t⟩ → y⟨t⟩ (Zaremba et al. 2014), five seeds each, 300 epochs.
Measured: the held-out loss (the last 20 % of the text, read as its continuation from the zero
state) at the end of training and at its best evaluation (every 10 epochs: early stopping), and
the training-part loss.
"""

from __future__ import annotations

from typing import Any

from . import tasks, training as T

TITLE = "Dropout versus none on held-out text"
CLAIMS = ("dropout",)
CONFIG: dict[str, Any] = {"seeds": [0, 1, 2, 3, 4], "n_hidden": [16, 32], "dropout": [0.0, 0.25, 0.5],
                          "train_fraction": 0.8, "epochs": 300, "eval_every": 10}
SMOKE = {"seeds": [0], "n_hidden": [4], "epochs": 2, "eval_every": 1}


def run(config: dict[str, Any]) -> dict[str, Any]:
    task = tasks.text_split_task(config["train_fraction"])
    out: dict[str, Any] = {}
    for n in config["n_hidden"]:
        for p in config["dropout"]:
            out[f"n_a={n},p={p:g}"] = tasks.compare({"lstm": (T.LSTM(forget_bias=1.0), n)}, task, config["epochs"],
                                                    config["seeds"], config["eval_every"], dropout=p)["lstm"]
    return out
