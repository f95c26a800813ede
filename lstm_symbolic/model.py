"""A model: an optional embedding, a stack of recurrent layers, an optional softmax head.

::

    x⟨t⟩ ──[embedding E]──▶ layer 1 ──▶ … ──▶ layer L ──▶ a⟨t⟩ ──[head]──▶ y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)

Each layer is one cell (:mod:`.cells`) — or two for a bidirectional layer, the second reading
the sequence backwards, their outputs concatenated. The embedding, when present, is a float
matrix whose rows are the token vectors: for one-hot inputs it is a column pick (exact), so
token sets keep their exact meaning through it.

:class:`~lstm_symbolic.LSTMWeights` (one LSTM layer in the seed's notation) converts to a
model with :func:`as_model`; every bounding method works on models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .cells.affine import Affine
from .cells.base import Cell
from .errors import InputError
from .interval import kernels as K
from .interval import rounding as R
from .provenance import ModelInfo

__all__ = ["Head", "Layer", "Model", "as_model"]


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
    the end) for a bidirectional layer, whose output is ``[a_forward; a_reverse]``."""

    cell: Cell
    reverse: Cell | None = None

    @property
    def n_in(self) -> int:
        return self.cell.n_in

    @property
    def n_out(self) -> int:
        return self.cell.n_hidden * (2 if self.reverse is not None else 1)

    @property
    def bidirectional(self) -> bool:
        return self.reverse is not None


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


def as_model(model: Any) -> Model:
    """``model`` as a :class:`Model` (an :class:`~lstm_symbolic.LSTMWeights` is converted once and
    the conversion cached), or :class:`InputError` naming ``model``."""
    if isinstance(model, Model):
        return model
    to_model = getattr(model, "to_model", None)
    if callable(to_model):
        return to_model()
    raise InputError("model", "an LSTMWeights or a Model (see ls.load)", got=type(model).__name__)
