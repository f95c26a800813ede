"""The LSTM cell, in the seed's notation.

For one step, with ``z = [a⟨t−1⟩, x⟨t⟩]``::

    Γ_f = σ(W_f z + b_f)    Γ_u = σ(W_u z + b_u)    Γ_o = σ(W_o z + b_o)
    c̃  = tanh(W_c z + b_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)

The four pre-activations are one affine map over ``[a⟨t−1⟩, x⟨t⟩]`` whose rows are stacked in
:data:`ROWS` order (the three sigmoid gates first, so they are one nonlinearity call).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..interval import rounding as R
from .affine import Affine
from .base import Ops, Pair

__all__ = ["LSTMCell", "ROWS"]

#: Order of the stacked pre-activation rows (seed's gate names; ``c`` is c̃'s).
ROWS = ("f", "u", "o", "c")


class LSTMCell:
    """An LSTM cell. ``gates``: the :class:`~.affine.Affine` map over ``[a⟨t−1⟩, x⟨t⟩]``
    (parts ``(n_a, n_x)``) with rows ``[W_f; W_u; W_o; W_c]`` (4 n_a of them) and their exact
    biases."""

    kind = "lstm"
    state = ("a", "c")
    signals = ("f", "u", "o", "c_tilde", "c", "a")

    def __init__(self, gates: Affine) -> None:
        n_a = gates.parts[0]
        if len(gates.parts) != 2 or gates.m != 4 * n_a:
            raise ValueError(f"LSTMCell: gates must map [a (n_a), x (n_x)] to 4 n_a rows, got parts {gates.parts}, {gates.m} rows")
        self.gates = gates
        self.n_hidden, self.n_in = n_a, gates.parts[1]

    def step(self, ops: Ops, x: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        n = self.n_hidden
        pre = ops.linear(self.gates, [state["a"], x])
        pre_gates, pre_c = ops.split(pre, [3 * n, n])
        gate_forget, gate_update, gate_output = ops.split(ops.sigmoid(pre_gates), [n, n, n])
        c_tilde = ops.tanh(pre_c)
        cell = ops.add(ops.gate(gate_forget, state["c"]), ops.gate(gate_update, c_tilde))
        a = ops.gate(gate_output, ops.tanh(cell))
        return {"f": gate_forget, "u": gate_update, "o": gate_output, "c_tilde": c_tilde, "c": cell, "a": a}

    def a_priori(self, t: int, initial: Mapping[str, Pair]) -> dict[str, Pair]:
        """``|c⟨t⟩| <= max|c⟨0⟩| + t`` per batch entry, rounded up (each step adds at most
        ``|Γ_u c̃| <= 1`` to ``|Γ_f c| <= |c|``; docs/proofs/domains.md). The other a priori
        facts — gates in [0, 1], c̃ and a in [−1, 1] — every method already enforces through the
        algebra itself (σ and tanh images are clamped to their ranges, a gate product lies between
        0 and its signal), so they are not repeated here."""
        c_lo, c_hi = initial["c"]
        cap = np.maximum(np.abs(c_lo), np.abs(c_hi)).max(axis=-1, keepdims=True)
        cap = R.add_up(cap, float(t)) if t < 2**53 else np.full_like(cap, np.inf)
        return {"c": (-cap, cap)}
