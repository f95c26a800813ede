"""What the gates, the cell and the hidden state of trained demo models do (claims
``output-gate-pruning``, ``forget-gate-role``, ``candidate-role``, ``two-semantics``,
``no-attractors``).

Models: the shipped demo model (seed 0, trained by the former trainer) and four siblings trained
by ``experiments.train_demo.train`` with seeds 1–4 (same settings: n_a = 16, 1500 epochs). Each
is read over the whole corpus from the zero state (``ls.forward``). Measured per model:

* gate statistics (:func:`analysis.gate_statistics`): how often Γ_f, Γ_u, Γ_o are near 0 or 1,
  how often Γ_o removes a present feature, how much sparser a is than tanh c;
* the share of the candidate contribution Γ_u ⊙ c̃ that the current character alone explains;
* the loss with a gate held at 1 at test time, no retraining (Γ_f, Γ_u, Γ_o each);
* state resets: the excess loss after setting c := 0 (a kept) or a := 0 (c kept) at every 20th
  position, over the next 40 predictions;
* the autonomous dynamics: for each character of the corpus held as a constant input, where 16
  starting states (zero and 15 states of the corpus run) go in 1000 steps — fixed points, cycles,
  drift — and how many distinct fixed points there are; for the shipped model also the library's
  all-horizon invariant (``ls.invariant``) for each constant input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import lstm_symbolic as ls
from lstm_symbolic.demo_model import VOCAB, encode, load_corpus, load_demo_arrays

from . import analysis, train_demo, training as T

TITLE = "Signals, gates and autonomous dynamics of trained demo models"
CLAIMS = ("output-gate-pruning", "forget-gate-role", "candidate-role", "two-semantics", "no-attractors")
CONFIG: dict[str, Any] = {
    "sibling_seeds": [1, 2, 3, 4],
    "sibling_epochs": 1500,
    "reset": {"first": 20, "every": 20, "horizon": 40},
    "attractors": {"starts": 16, "steps": 1000, "seed": 0},
    "invariant_max_iter": 40,
}
SMOKE = {"sibling_seeds": [1], "sibling_epochs": 1, "attractors": {"starts": 2, "steps": 100, "seed": 0},
         "invariant_max_iter": 0}


def _model(params: dict, idx: np.ndarray, config: dict[str, Any], with_invariant: bool) -> dict[str, Any]:
    cell = T.LSTM()
    sig, losses = analysis.text_run(cell, params, idx)
    out: dict[str, Any] = {"loss": float(losses.mean()), "gates": analysis.gate_statistics(sig),
                           "input_share": analysis.candidate_input_share(sig, idx)}
    held = {}
    for gate in ("f", "u", "o"):
        sig_h, loss_h = analysis.text_run(cell, analysis.hold_gate(params, gate, 1), idx)
        held[f"{gate}_held_at_1"] = {"loss": float(loss_h.mean()), "max_abs_c": float(np.abs(sig_h["c"]).max())}
    out["held_at_test_time"] = held
    r = config["reset"]
    positions = np.arange(r["first"], len(idx) - r["horizon"] - 2, r["every"])
    out["reset"] = {"positions": int(positions.size), **analysis.reset_recovery(cell, params, idx, positions, r["horizon"])}
    at = config["attractors"]
    rng = np.random.default_rng(at["seed"])
    picks = rng.choice(len(idx) - 1, size=at["starts"] - 1, replace=False)
    zero = np.zeros((1, params["b_f"].shape[0]))
    starts = (np.concatenate([zero, sig["a"][picks]]), np.concatenate([zero, sig["c"][picks]]))
    per_symbol = {}
    for k in sorted(set(idx.tolist())):
        per_symbol[VOCAB[k]] = analysis.autonomous_attractors(cell, params, k, starts, at["steps"])
    out["attractors"] = per_symbol
    if with_invariant:
        w = cell.weights(params)
        inv = {}
        for k in sorted(set(idx.tolist())):
            res = ls.invariant(w, ls.OneHot(len(VOCAB), [k]), max_iter=config["invariant_max_iter"])
            inv[VOCAB[k]] = None if not res.found else float(max(np.abs(res.c.lo).max(), np.abs(res.c.hi).max()))
        out["invariant_max_abs_c"] = inv
    return out


def run(config: dict[str, Any]) -> dict[str, Any]:
    idx = encode(load_corpus())
    models = {"demo (seed 0, shipped)": {k: v for k, v in load_demo_arrays().items() if k in train_demo.PARAM_KEYS}}
    for seed in config["sibling_seeds"]:
        arrays = train_demo.train(seed=seed, epochs=config["sibling_epochs"])
        models[f"sibling seed {seed}"] = {k: arrays[k] for k in train_demo.PARAM_KEYS}
    return {name: _model(params, idx, config, with_invariant=name.startswith("demo")) for name, params in models.items()}
