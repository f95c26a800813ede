"""The LSTM cell, in the seed's notation.

For one step, with ``z = [a⟨t−1⟩, x⟨t⟩]``::

    Γ_f = σ(W_f z + b_f)    Γ_u = σ(W_u z + b_u)    Γ_o = σ(W_o z + b_o)
    c̃  = tanh(W_c z + b_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)

The four pre-activations are one affine map over ``[a⟨t−1⟩, x⟨t⟩]`` whose rows are stacked in
:data:`ROWS` order (the three sigmoid gates first, so they are one nonlinearity call).

Two variants, each one more affine term:

- **projection** (PyTorch ``proj_size = p``): ``a⟨t⟩ = W_hr (Γ_o ⊙ tanh(c⟨t⟩))``, of size p;
  the gates read the projected ``a⟨t−1⟩``; ``a`` then has no a priori range;
- **peepholes** (ONNX ``P``): ``Γ_f``, ``Γ_u`` also read ``p_f ⊙ c⟨t−1⟩``, ``p_u ⊙ c⟨t−1⟩``
  and ``Γ_o`` reads ``p_o ⊙ c⟨t⟩`` (the new cell, so Γ_o comes after c⟨t⟩) — each a diagonal
  affine map.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..interval import rounding as R
from .affine import Affine
from .base import Ops, Pair

__all__ = ["LSTMCell", "ROWS", "diagonal"]

#: Order of the stacked pre-activation rows (seed's gate names; ``c`` is c̃'s).
ROWS = ("f", "u", "o", "c")


def diagonal(*vectors: np.ndarray) -> Affine:
    """The map ``c ↦ [p₁ ⊙ c; p₂ ⊙ c; …]`` (no bias) for vectors ``pᵢ`` of size n."""
    n = len(vectors[0])
    return Affine(np.concatenate([np.diag(np.asarray(p, dtype=np.float64)) for p in vectors], axis=0), None, [n])


class LSTMCell:
    """An LSTM cell. ``gates``: the :class:`~.affine.Affine` map over ``[a⟨t−1⟩, x⟨t⟩]``
    (parts ``(n_a, n_x)``) with rows ``[W_f; W_u; W_o; W_c]`` (4 n_c of them, n_c the cell
    size) and their exact biases. ``projection``: the map ``W_hr`` (n_a, n_c), no bias, or
    None (then n_a = n_c). ``peepholes``: ``(p_f, p_u, p_o)`` (n_c,) each, or None."""

    kind = "lstm"
    state = ("a", "c")
    signals = ("f", "u", "o", "c_tilde", "c", "a")

    def __init__(self, gates: Affine, projection: Affine | None = None, peepholes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        n_c = gates.m // 4
        n_a = gates.parts[0]
        if len(gates.parts) != 2 or gates.m != 4 * n_c or n_c == 0:
            raise ValueError(f"LSTMCell: gates must map [a (n_a), x (n_x)] to 4 n_c rows, got parts {gates.parts}, {gates.m} rows")
        if projection is None and n_a != n_c:
            raise ValueError(f"LSTMCell: gates read a of size {n_a} but the cell has {n_c} units (a projection is missing)")
        if projection is not None and (projection.parts != (n_c,) or projection.m != n_a or projection.n_const):
            raise ValueError(f"LSTMCell: projection must map the {n_c} cell units to {n_a} (no bias), got {projection.parts} -> {projection.m}")
        self.gates, self.projection = gates, projection
        self.n_hidden, self.n_in, self.n_cell = n_a, gates.parts[1], n_c
        self.state_sizes = {"a": n_a, "c": n_c}
        self.peepholes = None
        if peepholes is not None:
            p_f, p_u, p_o = (np.asarray(p, dtype=np.float64) for p in peepholes)
            if not all(p.shape == (n_c,) for p in (p_f, p_u, p_o)):
                raise ValueError(f"LSTMCell: peepholes must be three vectors of size {n_c}")
            self.peepholes = (p_f, p_u, p_o)
            self._peep_fu, self._peep_o = diagonal(p_f, p_u), diagonal(p_o)

    def step(self, ops: Ops, x: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        n = self.n_cell
        pre = ops.linear(self.gates, [state["a"], x])
        if self.peepholes is None:
            pre_gates, pre_c = ops.split(pre, [3 * n, n])
            gate_forget, gate_update, gate_output = ops.split(ops.sigmoid(pre_gates), [n, n, n])
            c_tilde = ops.tanh(pre_c)
            cell = ops.gated_sum(gate_forget, state["c"], gate_update, c_tilde)
        else:
            pre_fu, pre_o, pre_c = ops.split(pre, [2 * n, n, n])
            pre_fu = ops.add(pre_fu, ops.linear(self._peep_fu, [state["c"]]))
            gate_forget, gate_update = ops.split(ops.sigmoid(pre_fu), [n, n])
            c_tilde = ops.tanh(pre_c)
            cell = ops.gated_sum(gate_forget, state["c"], gate_update, c_tilde)
            gate_output = ops.sigmoid(ops.add(pre_o, ops.linear(self._peep_o, [cell])))
        a = ops.gate(gate_output, ops.tanh(cell))
        if self.projection is not None:
            a = ops.linear(self.projection, [a])
        return {"f": gate_forget, "u": gate_update, "o": gate_output, "c_tilde": c_tilde, "c": cell, "a": a}

    def a_priori(self, t: int | np.ndarray, initial: Mapping[str, Pair]) -> dict[str, Pair]:
        """``|c⟨t⟩| <= max|c⟨0⟩| + t`` per batch entry, rounded up (each step adds at most
        ``|Γ_u c̃| <= 1`` to ``|Γ_f c| <= |c|``; docs/proofs/domains.md). The other a priori
        facts — gates in [0, 1], c̃ and a in [−1, 1] — every method already enforces through the
        algebra itself (σ and tanh images are clamped to their ranges, a gate product lies between
        0 and its signal), so they are not repeated here; peepholes change what the gates read, not
        their range, and a projection only changes what a is)."""
        c_lo, c_hi = initial["c"]
        cap = np.maximum(np.abs(c_lo), np.abs(c_hi)).max(axis=-1, keepdims=True)
        steps = np.asarray(t, dtype=np.float64)  # exact below 2**53; above it no cap is claimed
        cap = np.where(steps < 2.0**53, R.add_up(cap, steps), np.inf)
        return {"c": (-cap, cap)}

