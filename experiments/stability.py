"""Numerical stability of the additive cell versus a chain of transformations (claim
``histogram-more-stable``).

Models: the seed's LSTM (n_a = 16, b_f initialised to 1) and an Elman RNN h' = tanh(W[h, x] + b)
with the hidden size that matches the LSTM's parameter count, five seeds each, trained on the demo
corpus (300 epochs); and the shipped demo model. Measured on each, reading the whole corpus:

* rounding-error growth: the largest |s₃₂ − s₆₄| between a float32 and a float64 run of the same
  model, for s = c and a (LSTM) and h (RNN), at steps 1, 10, 100, 1000 and overall;
* sensitivity: the spectral norm of ∂s⟨t₀+k⟩/∂s⟨t₀⟩ (products of one-step Jacobians, central
  differences through the forward pass) for k = 1 … 100 from every 25th step t₀: for the LSTM
  the blocks ∂c/∂c and ∂a/∂a and the whole state [a, c]; for the RNN ∂h/∂h.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_symbolic.demo_model import encode, load_corpus, load_demo_arrays

from . import analysis, tasks, training as T

TITLE = "Rounding-error growth and state sensitivity: LSTM versus Elman RNN"
CLAIMS = ("histogram-more-stable",)
CONFIG: dict[str, Any] = {"seeds": [0, 1, 2, 3, 4], "n_hidden_lstm": 16, "epochs": 300,
                          "deviation_at": [1, 10, 100, 1000], "jacobian": {"every": 25, "ks": [1, 5, 10, 25, 50, 100]}}
SMOKE = {"seeds": [0], "epochs": 1, "jacobian": {"every": 700, "ks": [1, 5]}}


def _measure(cell: T.Cell, params: dict, idx: np.ndarray, config: dict[str, Any]) -> dict[str, Any]:
    sig, losses = analysis.text_run(cell, params, idx)
    n = params["W_y"].shape[1]
    state = np.concatenate([sig["a"], sig["c"]], axis=-1) if isinstance(cell, T.LSTM) else sig["h"]
    states = np.concatenate([np.zeros((1, state.shape[1])), state[:-1]])  # s⟨t⟩, read with idx[t]
    J = analysis.step_jacobians(cell, params, idx[:-1], states)
    ks = tuple(config["jacobian"]["ks"])
    starts = np.arange(0, len(J) - max(ks), config["jacobian"]["every"])
    if isinstance(cell, T.LSTM):
        blocks = {"c<-c": (slice(n, 2 * n), slice(n, 2 * n)), "a<-a": (slice(0, n), slice(0, n)),
                  "state": (slice(0, 2 * n), slice(0, 2 * n))}
    else:
        blocks = {"h<-h": (slice(0, n), slice(0, n))}
    return {"loss": float(losses.mean()), "float32": analysis.float32_deviation(cell, params, idx, tuple(config["deviation_at"])),
            "jacobian": analysis.jacobian_norms(J, starts, ks, blocks)}


def run(config: dict[str, Any]) -> dict[str, Any]:
    idx = encode(load_corpus())
    task = tasks.text_task()
    n = config["n_hidden_lstm"]
    lstm_count = T.n_params(T.init_params(T.LSTM(), np.random.default_rng(0), n, task.n_x))
    cells = {"lstm": (T.LSTM(forget_bias=1.0), n), "rnn": (T.RNN(), tasks.matching_hidden_size(T.RNN(), task.n_x, task.n_x, lstm_count))}
    out: dict[str, Any] = {}
    for name, (cell, n_h) in cells.items():
        rows = []
        for seed in config["seeds"]:
            fitted = tasks.fit(cell, task, T.TrainConfig(n_h=n_h, epochs=config["epochs"]), seed)
            rows.append(_measure(cell, fitted["params"], idx, config))
        out[name] = {"n_hidden": n_h, "n_params": fitted["n_params"], "models": rows}
    demo = {k: v for k, v in load_demo_arrays().items() if k.startswith(("W_", "b_"))}
    out["demo"] = {"n_hidden": 16, "models": [_measure(T.LSTM(), demo, idx, config)]}
    return out
