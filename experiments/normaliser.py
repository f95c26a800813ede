"""σ instead of tanh: as the normaliser of c (a = Γ_o σ(c)) and as the output gate
(Γ_o = tanh(W_o z + b_o)) (claims ``sigmoid-normaliser``, ``output-gate-tanh``).

Three LSTMs (n_a = 16, b_f initialised to 1), five seeds each, on the demo corpus (300 epochs)
and the recall task (50 epochs): the seed's LSTM; the LSTM with a = Γ_o ⊙ σ(c); the LSTM with a
tanh output gate. Measured besides the loss, on each final text model read over the corpus: the
largest |c|, the fraction of unit-steps whose normaliser is saturated (|c| > 2, where tanh′ < 0.071
and σ′ < 0.105), the fraction of unit-steps with a < 0, and (tanh gate) with Γ_o < 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_symbolic.demo_model import encode, load_corpus

from . import analysis, tasks, training as T

TITLE = "σ versus tanh as the normaliser of c and as the output gate"
CLAIMS = ("sigmoid-normaliser", "output-gate-tanh")
CONFIG: dict[str, Any] = {
    "seeds": [0, 1, 2, 3, 4],
    "n_hidden": 16,
    "text": {"epochs": 300, "eval_every": 25},
    "recall": {"epochs": 50, "eval_every": 5, "n_streams": 32, "length": 1024},
}
SMOKE = {"seeds": [0, 1], "text": {"epochs": 2, "eval_every": 1}, "recall": {"epochs": 1, "eval_every": 1, "n_streams": 2, "length": 64}}
VARIANTS = {"lstm": {}, "sigmoid_normaliser": {"normaliser": "sigmoid"}, "tanh_output_gate": {"output_gate": "tanh"}}


def _signals(cell: T.Cell, params: dict) -> dict[str, float]:
    sig, _ = analysis.text_run(cell, params, encode(load_corpus()))
    return {"max_abs_c": float(np.abs(sig["c"]).max()), "saturated": float(np.mean(np.abs(sig["c"]) > 2.0)),
            "a_negative": float(np.mean(sig["a"] < 0)), "output_gate_negative": float(np.mean(sig["o"] < 0))}


def run(config: dict[str, Any]) -> dict[str, Any]:
    variants = {name: (T.LSTM(forget_bias=1.0, **kw), config["n_hidden"]) for name, kw in VARIANTS.items()}
    text, recall = config["text"], config["recall"]
    return {
        "text": tasks.compare(variants, tasks.text_task(), text["epochs"], config["seeds"], text["eval_every"], measure=_signals),
        "recall": tasks.compare(variants, tasks.recall_task(n_streams=recall["n_streams"], length=recall["length"]),
                                recall["epochs"], config["seeds"], recall["eval_every"]),
    }
