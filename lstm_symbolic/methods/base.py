"""What a bounding method provides, and the pieces every method shares.

A method is an *engine*: it implements the cell algebra of :mod:`lstm_symbolic.cells.base`
(``linear``, ``split``, ``sigmoid``, ``tanh``, ``gate``, ``add``, ``mix``) on its own values,
plus the few calls the unrolling loop of :mod:`lstm_symbolic.propagate` makes:

- ``initial(lo, hi)``: a value for an initial state box (B, n);
- ``input(x_set, t)``: a value for ``x⟨t⟩`` ranging over an input set;
- ``bounds(v)``: sound ``(lo, hi)`` arrays (B, n) of a value;
- ``final_bounds(v)``: bounds of a value at the last step, where a method may spend more
  (optimised slopes); by default ``bounds(v)``;
- ``refine(v, lo, hi)``: tighten a value's bounds with other sound bounds of the same
  quantity (an a priori domain, another method's bounds);
- ``softmax(head, a, final)``: bounds of ``y = softmax(W_y a + b_y)``, (B, n_y) (``final``:
  at the last step, where a method may spend more);
- ``margins(head, a, labels)``: lower bounds of ``z_label − z_j``, (B, n_y), ``+inf`` at the
  label;
- ``end_step(states)``: called once per time step with every carried value (a method may
  compress them: order reduction, the hull of per-token cases); returns them;
- ``persistent``: whether a value stays usable after later ``end_step`` calls (values kept
  for a later time, as a bidirectional layer needs, are otherwise stored as bounds).

A method never special-cases a cell or an activation by name: cells call the algebra, the
algebra calls one relaxation per nonlinearity (:mod:`lstm_symbolic.relaxations`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..inputs import InputSet

__all__ = ["Engine", "TokenInput", "SetInput", "Pair", "input_value"]

Pair = tuple[np.ndarray, np.ndarray]


class TokenInput:
    """``x⟨t⟩`` is one of finitely many points: column ``k`` of ``table`` for ``k`` in
    ``tokens`` — the one-hot vectors (``table`` None: the identity, so ``W x`` is exactly column
    ``k`` of ``W``) or, behind an embedding ``E``, the token vectors ``E[k]`` (``table = Eᵀ``).
    Shared by all methods: each concretises ``W x`` over the tokens its own way."""

    def __init__(self, tokens: np.ndarray, n: int, table: np.ndarray | None = None) -> None:
        self.tokens, self.n, self.table = tokens, n, table

    def columns(self, W: np.ndarray) -> np.ndarray | None:
        """``W`` times each allowed point, (m, K) — exact (a column pick) for one-hot points;
        None behind an embedding (then the caller must enclose the products)."""
        return W[:, self.tokens] if self.table is None else None

    @property
    def points(self) -> np.ndarray:
        """The allowed points as columns, (n, K)."""
        if self.table is None:
            return np.eye(self.n)[:, self.tokens]
        return self.table[:, self.tokens]


class SetInput:
    """``x⟨t⟩`` ranges over an input set that is neither a box nor finitely many tokens; methods
    use its ``linear_bounds`` (an enclosure of ``W x`` over the set)."""

    def __init__(self, x_set: InputSet, t: int) -> None:
        self.x_set, self.t = x_set, t


def input_value(x_set: InputSet, t: int, embedding: np.ndarray | None) -> Pair | TokenInput | SetInput:
    """The form of ``x⟨t⟩`` every method starts from: a box ``(lo, hi)`` ([B,] n), a
    :class:`TokenInput`, or a :class:`SetInput`. Behind an embedding only token sets are
    meaningful as such; a box over the vocabulary is a box of (soft) one-hot vectors and is
    returned as is (the method applies the embedding as a linear map)."""
    tokens = x_set.tokens(t)
    if tokens is not None:
        table = None if embedding is None else np.ascontiguousarray(embedding.T)
        return TokenInput(np.asarray(tokens), x_set.n_x, table)
    if x_set.is_box:
        return x_set.box(t)
    return SetInput(x_set, t)


class Engine:
    """Base class of the bounding methods: holds the model, batch size and mode."""

    name = "engine"
    persistent = True

    def __init__(self, model: Any, batch: int, mode: str = "fast", **options: Any) -> None:
        self.model, self.B, self.mode = model, batch, mode
        if options:
            raise TypeError(f"{self.name}: unknown options {sorted(options)}")

    # the algebra (see lstm_symbolic.cells.base)
    def linear(self, affine: Any, parts: Sequence[Any]) -> Any:
        raise NotImplementedError

    def split(self, v: Any, sizes: Sequence[int]) -> list[Any]:
        raise NotImplementedError

    def sigmoid(self, v: Any) -> Any:
        raise NotImplementedError

    def tanh(self, v: Any) -> Any:
        raise NotImplementedError

    def gate(self, g: Any, v: Any) -> Any:
        raise NotImplementedError

    def add(self, v: Any, w: Any) -> Any:
        raise NotImplementedError

    def gated_sum(self, g1: Any, v1: Any, g2: Any, v2: Any) -> Any:
        """``g1 ⊙ v1 + g2 ⊙ v2`` for gates: ``add(gate(g1, v1), gate(g2, v2))``."""
        return self.add(self.gate(g1, v1), self.gate(g2, v2))

    def mix(self, z: Any, n: Any, h: Any) -> Any:
        raise NotImplementedError

    def concat(self, vs: Sequence[Any]) -> Any:
        raise NotImplementedError

    # the unrolling loop's calls
    def initial(self, lo: np.ndarray, hi: np.ndarray) -> Any:
        raise NotImplementedError

    def input(self, x_set: InputSet, t: int) -> Any:
        raise NotImplementedError

    def bounds(self, v: Any) -> Pair:
        """``(lo, hi)`` of ``v``, (B, n) each: a tuple, or one array (2, B, n) of both ends (it
        unpacks the same way; the recorder writes it with one copy). Not to be written to."""
        raise NotImplementedError

    def refine(self, v: Any, lo: Any, hi: Any) -> None:
        raise NotImplementedError

    def final_bounds(self, v: Any) -> Pair:
        return self.bounds(v)

    def softmax(self, head: Any, a: Any, final: bool = False) -> Pair:
        raise NotImplementedError

    def margins(self, head: Any, a: Any, labels: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return states
