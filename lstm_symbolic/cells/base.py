"""What a cell is, and the small algebra its step is written in.

A cell states its equations once, in :meth:`Cell.step`, against an :class:`Ops` algebra. Every
bounding method (``methods/``) supplies one such algebra — boxes for ``interval``, affine forms
for ``symbolic``, a tape of linear relaxations for ``linear`` — and the concrete float forward
pass is one more. So a new cell works with every method at once, and a new method works with
every cell.

The algebra is deliberately small. Its values stand for arrays of shape (B, n):

- ``linear(affine, parts)``: ``W [v₁; …] + b`` (:class:`~.affine.Affine`), the only place
  weights enter;
- ``split(v, sizes)``: consecutive blocks of units;
- ``sigmoid(v)``, ``tanh(v)``: monotone nonlinearities;
- ``gate(g, v)``: ``g ⊙ v`` for a gate ``g ∈ [0, 1]`` — so ``g ⊙ v`` lies between 0 and ``v``;
- ``add(v, w)``: ``v + w``;
- ``gated_sum(g₁, v₁, g₂, v₂)``: ``g₁ ⊙ v₁ + g₂ ⊙ v₂`` for gates (the LSTM's cell update) —
  ``add(gate(g₁, v₁), gate(g₂, v₂))``, which is how :class:`~lstm_symbolic.methods.base.Engine`
  computes it unless a method has a faster way to the same values;
- ``mix(z, n, h)``: ``(1 − z) ⊙ n + z ⊙ h`` for a gate ``z`` (GRU's update);
- ``concat(vs)``: ``[v₁; v₂; …]`` (the unrolling loop joins a bidirectional layer's two
  directions with it; cells do not need it).

A cell also states its a priori domains (:meth:`Cell.a_priori`): ranges every signal has
whatever the weights (gates in [0, 1], …), proved in ``docs/proofs/domains.md``. The unrolling
loop intersects every method's bounds with them.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from .affine import Affine

__all__ = ["Ops", "Cell", "Pair"]

Pair = tuple[np.ndarray, np.ndarray]


class Ops(Protocol):
    """The algebra a cell's step is written in (see the module docstring)."""

    def linear(self, affine: Affine, parts: Sequence[Any]) -> Any: ...

    def split(self, v: Any, sizes: Sequence[int]) -> list[Any]: ...

    def sigmoid(self, v: Any) -> Any: ...

    def tanh(self, v: Any) -> Any: ...

    def gate(self, g: Any, v: Any) -> Any: ...

    def add(self, v: Any, w: Any) -> Any: ...

    def gated_sum(self, g1: Any, v1: Any, g2: Any, v2: Any) -> Any: ...

    def mix(self, z: Any, n: Any, h: Any) -> Any: ...

    def concat(self, vs: Sequence[Any]) -> Any: ...


class Cell(Protocol):
    """One recurrent cell (one direction of one layer).

    ``n_in``: input size; ``n_hidden``: size of the output ``a``; ``state``: names of the
    carried signals (``("a", "c")`` for an LSTM, ``("a",)`` for a GRU); ``state_sizes``: the
    size of each (``a`` has ``n_hidden``; an LSTM with a projection has a larger ``c``);
    ``signals``: names of every signal :meth:`step` returns, in display order.
    """

    kind: str
    n_in: int
    n_hidden: int
    state: tuple[str, ...]
    state_sizes: Mapping[str, int]
    signals: tuple[str, ...]

    def step(self, ops: Ops, x: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """One step: every signal of ``signals`` (the new state among them) as ``ops`` values."""
        ...

    def a_priori(self, t: int | np.ndarray, initial: Mapping[str, Pair]) -> dict[str, Pair]:
        """Sound bounds that hold at step ``t`` (1-based) whatever the weights and inputs,
        given bounds of the initial state: ``{signal: (lo, hi)}`` (arrays broadcastable to the
        signal's shape (B, n)); signals without an a priori range are omitted. ``t`` may also
        be a column of steps, an integer array of shape (T, 1, 1) (the unrolling loop asks for
        every step at once): a bound that depends on the step then has a leading step axis
        (three dimensions), one that does not is as for a single step (at most two)."""
        ...
