"""A model: an optional embedding, a stack of recurrent layers, an optional softmax head.

::

    x⟨t⟩ ──[embedding E]──▶ layer 1 ──▶ … ──▶ layer L ──▶ a⟨t⟩ ──[head]──▶ y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)

Each layer is one cell (:mod:`.cells`: an LSTM, a GRU) — or two for a bidirectional layer, the
second reading the sequence backwards, their outputs concatenated ``[a_forward⟨t⟩;
a_reverse⟨t⟩]`` at each step (PyTorch's and ONNX's layout of the output sequence). Layer l + 1
reads layer l's output at the same step. Dropout between layers is the identity at inference
and is not part of a model. The embedding, when present, is a float matrix whose rows are the
token vectors: for one-hot inputs it is a column pick (exact), so token sets keep their exact
meaning through it.

**Initial states.** Every cell (layer order, forward before reverse — PyTorch's order of
``h_0``) starts from its own state. :func:`per_cell` splits the ``a0`` / ``c0`` arguments of
:func:`~lstm_symbolic.propagate` and :func:`~lstm_symbolic.forward` into one value per cell:
None (zeros everywhere); for a one-cell model the value itself ((n,) or (B, n)); for several
cells a list or tuple of per-cell values (each None, (n,) or (B, n)), or one array or Interval
stacked like PyTorch's ``h_0``: (num_layers · num_directions, [B,] n).

:class:`~lstm_symbolic.LSTMWeights` (one LSTM layer in the seed's notation) converts to a
model with :func:`as_model`; every bounding method works on models.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from .cells.affine import Affine
from .cells.base import Cell
from .errors import InputError
from .interval import kernels as K
from .interval import rounding as R
from .provenance import ModelInfo

__all__ = ["Head", "Layer", "Model", "as_model", "per_cell", "concrete_run"]


class Head:
    """The output layer ``y = softmax(W_y a + b_y)``: ``W`` (n_y, n_in), ``b`` (n_y,)."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W = np.ascontiguousarray(W, dtype=np.float64)
        self.b = np.ascontiguousarray(b, dtype=np.float64)
        self.logits = Affine(self.W, self.b[:, None], [self.W.shape[1]])

    @property
    def n_y(self) -> int:
        return self.W.shape[0]

    @property
    def n_in(self) -> int:
        return self.W.shape[1]

    def margin_rows(self, label: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows ``W_y[label] − W_y[j]`` split exactly (TwoSum) into ``D_hi + D_lo`` (n_y, n_in)
        and a lower bound of ``b_label − b_j`` (n_y,): the margin ``z_label − z_j = D a + b``."""
        D_hi, D_lo = K.exact_difference(self.W[label][None, :], self.W)
        return D_hi, D_lo, R.sub_down(self.b[label], self.b)

    @cached_property
    def softmax_rows(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Exact difference rows of ``W_y`` (:func:`.interval.kernels.difference_rows`)."""
        return K.difference_rows(self.W, self.b)


@dataclass(frozen=True, eq=False)
class Layer:
    """One recurrent layer: ``cell``, and ``reverse`` (a second cell reading the sequence from
    the end) for a bidirectional layer, whose output is ``[a_forward; a_reverse]``;
    ``backward``: the one cell itself reads the sequence from the end (ONNX
    ``direction="reverse"``), its output at step t is its state after x⟨T⟩ … x⟨t⟩."""

    cell: Cell
    reverse: Cell | None = None
    backward: bool = False

    def __post_init__(self) -> None:
        if self.backward and self.reverse is not None:
            raise InputError("backward", "False for a bidirectional layer (its reverse cell reads backwards)", got=True)
        r = self.reverse
        if r is not None and (r.kind != self.cell.kind or r.n_in != self.cell.n_in or tuple(r.signals) != tuple(self.cell.signals)):
            raise InputError("reverse", f"a {self.cell.kind} cell reading {self.cell.n_in} inputs like the forward cell",
                             got=f"a {r.kind} cell reading {r.n_in}")

    @property
    def cells(self) -> tuple[Cell, ...]:
        """The layer's cells, forward first."""
        return (self.cell,) if self.reverse is None else (self.cell, self.reverse)

    @property
    def n_in(self) -> int:
        return self.cell.n_in

    @property
    def n_out(self) -> int:
        return self.cell.n_hidden * (2 if self.reverse is not None else 1)

    @property
    def bidirectional(self) -> bool:
        return self.reverse is not None

    def orders(self, T: int) -> list[tuple[Cell, range]]:
        """Each cell with the order of steps (0-based) it reads: forward, then reverse."""
        forward, backward = range(T), range(T - 1, -1, -1)
        if self.reverse is not None:
            return [(self.cell, forward), (self.reverse, backward)]
        return [(self.cell, backward if self.backward else forward)]


@dataclass(frozen=True, eq=False)
class Model:
    """``embedding`` (vocab, d) or None; ``layers``; ``head`` or None; ``info`` (provenance)."""

    layers: tuple[Layer, ...]
    head: Head | None = None
    embedding: np.ndarray | None = None
    info: ModelInfo | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise InputError("layers", "at least one recurrent layer")
        n = self.layers[0].n_in if self.embedding is None else self.embedding.shape[1]
        if n != self.layers[0].n_in:
            raise InputError("embedding", f"token vectors of size {self.layers[0].n_in} (the first layer's input)", got=n)
        for i, layer in enumerate(self.layers[1:], start=1):
            if layer.n_in != self.layers[i - 1].n_out:
                raise InputError("layers", f"layer {i + 1} reading {self.layers[i - 1].n_out} inputs", got=layer.n_in)
        if self.head is not None and self.head.n_in != self.layers[-1].n_out:
            raise InputError("head", f"an output layer over {self.layers[-1].n_out} units", got=self.head.n_in)

    @property
    def n_x(self) -> int:
        """Input size (the vocabulary size when there is an embedding)."""
        return self.layers[0].n_in if self.embedding is None else self.embedding.shape[0]

    @property
    def n_y(self) -> int | None:
        return None if self.head is None else self.head.n_y

    @property
    def n_out(self) -> int:
        """Size of the last layer's output ``a⟨t⟩``."""
        return self.layers[-1].n_out

    @property
    def n_a(self) -> int:
        """Size of the last layer's output ``a⟨t⟩`` (what the head reads), as for an LSTMWeights."""
        return self.n_out

    @property
    def W_y(self) -> np.ndarray | None:
        """The head's weights (n_y, n_a), or None: the seed's name, as for an LSTMWeights."""
        return None if self.head is None else self.head.W

    @property
    def b_y(self) -> np.ndarray | None:
        return None if self.head is None else self.head.b

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Every cell, layer order, forward before reverse (PyTorch's order of ``h_0``)."""
        return tuple(c for layer in self.layers for c in layer.cells)

    def with_info(self, info: ModelInfo) -> "Model":
        """The same model with provenance ``info``."""
        return dataclasses.replace(self, info=info)

    def describe(self) -> str:
        """One line: the layers and the head, e.g. ``"embedding 7 -> 4, bidirectional lstm 4
        (x2), lstm 3, head 5"``."""
        parts = [] if self.embedding is None else [f"embedding {self.embedding.shape[0]} -> {self.embedding.shape[1]}"]
        for layer in self.layers:
            c = layer.cell
            extra = ""
            if getattr(c, "projection", None) is not None:
                extra += f" (cell {c.n_cell}, projection {c.n_hidden})"
            if getattr(c, "peepholes", None) is not None:
                extra += " with peepholes"
            if c.kind == "gru" and not c.reset_after:
                extra += " (reset before the hidden matmul)"
            parts.append(f"{'bidirectional ' if layer.bidirectional else 'reverse ' if layer.backward else ''}{c.kind} {c.n_hidden}{' (x2)' if layer.bidirectional else ''}{extra}")
        if self.head is not None:
            parts.append(f"head {self.head.n_y}")
        return ", ".join(parts)


def as_model(model: Any) -> Model:
    """``model`` as a :class:`Model` (an :class:`~lstm_symbolic.LSTMWeights` is converted once and
    the conversion cached), or :class:`InputError` naming ``model``."""
    if isinstance(model, Model):
        return model
    to_model = getattr(model, "to_model", None)
    if callable(to_model):
        return to_model()
    raise InputError("model", "an LSTMWeights or a Model (see ls.load)", got=type(model).__name__)


# --- initial states, one per cell -----------------------------------------------------------------


def _is_number_list(value: Any) -> bool:
    return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)


def per_cell(model: Model, value: Any, name: str) -> list[Any]:
    """``value`` (an ``a0`` / ``c0`` argument) split into one value per cell of ``model``
    (module docstring): a list of None, arrays or Intervals, not yet validated further.
    Raises :class:`InputError` naming ``name`` when it cannot be split."""
    from .interval import Interval

    k = len(model.cells)
    if value is None:
        return [None] * k
    if isinstance(value, (list, tuple)) and value and not _is_number_list(value):
        if k == 1 and not (len(value) == 1 and (value[0] is None or isinstance(value[0], (Interval, np.ndarray)))):
            return [value]  # a nested list of numbers: one (B, n) state
        if len(value) != k:
            raise InputError(name, f"{k} initial state(s), one per cell (layer order, forward before reverse), or None", got=f"{len(value)} of them")
        return list(value)
    lo = value.lo if isinstance(value, Interval) else value
    shape = np.shape(lo)
    if k == 1:
        if len(shape) == 3 and shape[0] == 1:  # PyTorch's (1, B, n)
            return [Interval(value.lo[0], value.hi[0]) if isinstance(value, Interval) else np.asarray(value)[0]]
        return [value]
    if len(shape) not in (2, 3) or shape[0] != k:
        raise InputError(name, f"one initial state per cell for this model of {k} cells: a list of {k} states, or an array of shape "
                         f"({k}, [B,] n) stacked like PyTorch's h_0 (layer order, forward before reverse)", got=f"shape {shape}")
    if isinstance(value, Interval):
        return [Interval(value.lo[i], value.hi[i]) for i in range(k)]
    arr = np.asarray(value)
    return [arr[i] for i in range(k)]


# --- the concrete forward pass of a model -------------------------------------------------------


def concrete_run(model: Model, xs: np.ndarray, states: Sequence[dict[str, np.ndarray]]) -> tuple[list[dict[str, np.ndarray]], np.ndarray | None]:
    """The float64 forward pass (:class:`~lstm_symbolic.methods.concrete.ConcreteOps`): ``xs``
    (T, B, n_x) (one-hot or soft vectors over the vocabulary when there is an embedding),
    ``states``: per cell ``{state name: (B, n)}``. Returns per layer ``{signal: (T, B, n)}``
    (a bidirectional layer's directions concatenated, forward first) and ``y`` (T, B, n_y) or
    None."""
    from .methods.concrete import ConcreteOps

    ops = ConcreteOps()
    T = xs.shape[0]
    seq = [xs[t] for t in range(T)]
    if model.embedding is not None:
        seq = [x @ model.embedding for x in seq]
    layers = []
    k = 0
    for layer in model.layers:
        per_dir = []
        for cell, order in layer.orders(T):
            state = dict(states[k])
            k += 1
            out: list[dict[str, np.ndarray]] = [dict() for _ in range(T)]
            for t in order:
                sig = cell.step(ops, seq[t], state)
                state = {name: sig[name] for name in cell.state}
                out[t] = sig
            per_dir.append({name: np.stack([out[t][name] for t in range(T)]) for name in cell.signals})
        signals = per_dir[0] if len(per_dir) == 1 else {n: np.concatenate([p[n] for p in per_dir], axis=-1) for n in per_dir[0]}
        layers.append(signals)
        seq = [signals["a"][t] for t in range(T)]
    y = None
    if model.head is not None:
        y = np.stack([ops.head(model.head, seq[t])[1] for t in range(T)])
    return layers, y
