"""The GRU cell, with the hidden state called ``a`` as in the seed's notation.

For one step, with ``r`` the reset gate, ``z`` the update gate and ``n`` the candidate::

    r = σ(W_r [a⟨t−1⟩, x⟨t⟩] + b_r)      z = σ(W_z [a⟨t−1⟩, x⟨t⟩] + b_z)
    n = tanh(W_in x⟨t⟩ + b_in + r ⊙ (W_hn a⟨t−1⟩ + b_hn))      reset after the hidden matmul
      = tanh(W_hn (r ⊙ a⟨t−1⟩) + W_in x⟨t⟩ + b_n)               reset before it
    a⟨t⟩ = (1 − z) ⊙ n + z ⊙ a⟨t−1⟩

The reset is applied *after* the hidden matmul by PyTorch's ``nn.GRU``, ONNX ``GRU`` with
``linear_before_reset=1`` and Keras ``GRU(reset_after=True)`` (its default); *before* it by
ONNX with ``linear_before_reset=0`` (the default) and Keras ``reset_after=False``. The two
are different models: the cell says which one it is (``reset_after``).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .affine import Affine
from .base import Ops, Pair

__all__ = ["GRUCell"]


class GRUCell:
    """A GRU cell.

    ``gates``: the :class:`~.affine.Affine` map over ``[a⟨t−1⟩, x⟨t⟩]`` (parts ``(n_a, n_x)``)
    with rows ``[W_r; W_z]`` (2 n_a) and the exact biases ``b_r``, ``b_z`` (input and recurrent
    biases summed exactly). Reset after (``recurrent`` given): ``candidate`` maps ``[x]`` to
    ``W_in x + b_in`` and ``recurrent`` maps ``[a]`` to ``W_hn a + b_hn`` (n_a rows each).
    Reset before (``recurrent`` None): ``candidate`` maps ``[r ⊙ a, x]`` (parts ``(n_a, n_x)``)
    to ``W_hn (r ⊙ a) + W_in x + b_n``.
    """

    kind = "gru"
    state = ("a",)
    signals = ("r", "z", "n", "a")

    def __init__(self, gates: Affine, candidate: Affine, recurrent: Affine | None = None) -> None:
        n_a = gates.parts[0]
        if len(gates.parts) != 2 or gates.m != 2 * n_a:
            raise ValueError(f"GRUCell: gates must map [a (n_a), x (n_x)] to 2 n_a rows, got parts {gates.parts}, {gates.m} rows")
        n_x = gates.parts[1]
        if recurrent is None:
            if candidate.parts != (n_a, n_x) or candidate.m != n_a:
                raise ValueError(f"GRUCell: candidate must map [r ⊙ a ({n_a}), x ({n_x})] to {n_a} rows, got parts {candidate.parts}, {candidate.m} rows")
        elif candidate.parts != (n_x,) or candidate.m != n_a or recurrent.parts != (n_a,) or recurrent.m != n_a:
            raise ValueError(f"GRUCell: candidate must map x ({n_x}) and recurrent a ({n_a}) to {n_a} rows each, got "
                             f"{candidate.parts} -> {candidate.m} and {recurrent.parts} -> {recurrent.m}")
        self.gates, self.candidate, self.recurrent = gates, candidate, recurrent
        self.n_hidden, self.n_in = n_a, n_x
        self.state_sizes = {"a": n_a}

    @property
    def reset_after(self) -> bool:
        """Whether the reset multiplies after the hidden matmul (PyTorch's GRU)."""
        return self.recurrent is not None

    def step(self, ops: Ops, x: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        n, a = self.n_hidden, state["a"]
        reset, update = ops.split(ops.sigmoid(ops.linear(self.gates, [a, x])), [n, n])
        if self.recurrent is not None:
            pre_n = ops.add(ops.linear(self.candidate, [x]), ops.gate(reset, ops.linear(self.recurrent, [a])))
        else:
            pre_n = ops.linear(self.candidate, [ops.gate(reset, a), x])
        candidate = ops.tanh(pre_n)
        return {"r": reset, "z": update, "n": candidate, "a": ops.mix(update, candidate, a)}

    def a_priori(self, t: int | np.ndarray, initial: Mapping[str, Pair]) -> dict[str, Pair]:
        """Gates in [0, 1]; ``n`` in [−1, 1]; ``a⟨t⟩`` in the hull of ``a⟨0⟩`` and [−1, 1],
        per unit: ``a⟨t⟩ = (1 − z) n + z a⟨t−1⟩`` is a convex combination (``z ∈ [0, 1]``) of
        a point of [−1, 1] and ``a⟨t−1⟩``, so by induction on t each unit stays in
        ``[min(−1, lo⟨0⟩), max(1, hi⟨0⟩)]`` (exact: min and max of floats round nothing)."""
        a_lo, a_hi = initial["a"]
        unit, sym = (0.0, 1.0), (-1.0, 1.0)
        return {"r": unit, "z": unit, "n": sym, "a": (np.minimum(a_lo, -1.0), np.maximum(a_hi, 1.0))}
