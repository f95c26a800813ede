"""Gate ablations: each of Γ_f, Γ_u, Γ_o held at exactly 1 during training (claims
``gate-importance``, ``output-gate-pruning``, ``forget-gate-role``, ``candidate-role``).

The seed's LSTM (n_a = 16, b_f initialised to 1) and three ablated LSTMs — Γ_f ≡ 1 (no
forgetting: c⟨t⟩ = c⟨t−1⟩ + Γ_u c̃), Γ_u ≡ 1 (every candidate written in full), Γ_o ≡ 1
(a = tanh c) — trained with five seeds on the demo corpus (300 epochs) and on the synthetic
recall task (50 epochs). A held gate has weights 0 and bias 40 (σ(40) rounds to exactly 1) and
is not trained, so the library's forward pass runs the ablated model.
"""

from __future__ import annotations

from typing import Any

from . import tasks, training as T

TITLE = "Gate ablations (a gate held at 1 during training)"
CLAIMS = ("gate-importance", "output-gate-pruning", "forget-gate-role", "candidate-role")
CONFIG: dict[str, Any] = {
    "seeds": [0, 1, 2, 3, 4],
    "n_hidden": 16,
    "text": {"epochs": 300, "eval_every": 25},
    "recall": {"epochs": 50, "eval_every": 5, "n_streams": 32, "length": 1024},
}
SMOKE = {"seeds": [0], "text": {"epochs": 2, "eval_every": 1}, "recall": {"epochs": 1, "eval_every": 1, "n_streams": 2, "length": 64}}
VARIANTS = {"full": (), "forget_gate_held_at_1": ("f",), "update_gate_held_at_1": ("u",), "output_gate_held_at_1": ("o",)}


def run(config: dict[str, Any]) -> dict[str, Any]:
    variants = {name: (T.LSTM(forget_bias=1.0, open_gates=held), config["n_hidden"]) for name, held in VARIANTS.items()}
    text, recall = config["text"], config["recall"]
    return {
        "text": tasks.compare(variants, tasks.text_task(), text["epochs"], config["seeds"], text["eval_every"]),
        "recall": tasks.compare(variants, tasks.recall_task(n_streams=recall["n_streams"], length=recall["length"]),
                                recall["epochs"], config["seeds"], recall["eval_every"]),
    }
