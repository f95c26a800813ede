"""The single-layer LSTM in the seed's notation: weights, conversion to a model, the forward pass.

For one step, with ``z = [a⟨t−1⟩, x⟨t⟩]`` (``a`` first)::

    Γ_f = σ(W_f z + b_f)    Γ_u = σ(W_u z + b_u)    Γ_o = σ(W_o z + b_o)
    c̃  = tanh(W_c z + b_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
    y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, NamedTuple

import numpy as np

from ._validate import finite_array
from .errors import InputError, NotAModelError, ShapeError
from .interval import rounding as R
from .provenance import ModelInfo

Pair = tuple[np.ndarray, np.ndarray]

__all__ = [
    "GATES",
    "LSTMWeights",
    "load_weights",
    "forward",
    "Run",
    "ModelRun",
    "cell_step",
    "softmax",
]

#: Gate names in the seed's notation, in the order this library stacks them.
GATES = ("f", "u", "c", "o")


@dataclass(frozen=True, eq=False)
class LSTMWeights:
    """Weights of a single-layer LSTM in the seed's notation.

    Shapes: ``W_f, W_u, W_c, W_o``: (n_a, n_a + n_x), columns ``[a | x]``;
    ``b_f, b_u, b_c, b_o``: (n_a,); optional output layer ``W_y``: (n_y, n_a), ``b_y``: (n_y,).
    All arrays are float64 and finite (validated on construction).

    ``bias_residual`` (optional, gate name -> array) holds the exact rounding error of a bias
    that was the float sum of two biases (PyTorch's ``bias_ih + bias_hh``): the model's exact
    bias is ``b + residual``. Bounds use both, so importing never perturbs the model.

    ``info`` (optional, :class:`~lstm_symbolic.provenance.ModelInfo`): where the weights came
    from (set by the importers); never read by the bounds.
    """

    W_f: np.ndarray
    W_u: np.ndarray
    W_c: np.ndarray
    W_o: np.ndarray
    b_f: np.ndarray
    b_u: np.ndarray
    b_c: np.ndarray
    b_o: np.ndarray
    W_y: np.ndarray | None = None
    b_y: np.ndarray | None = None
    bias_residual: Mapping[str, np.ndarray] | None = field(default=None, repr=False)
    info: ModelInfo | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = {}
        for g in GATES:
            fields["W_" + g] = finite_array(getattr(self, "W_" + g), "W_" + g)
            fields["b_" + g] = finite_array(getattr(self, "b_" + g), "b_" + g)
        W_f = fields["W_f"]
        if W_f.ndim != 2 or W_f.shape[1] <= W_f.shape[0] or W_f.shape[0] == 0:
            raise ShapeError("W_f", "shape (n_a, n_a + n_x) with n_a >= 1 and n_x >= 1", got=f"shape {W_f.shape}")
        n_a = W_f.shape[0]
        for g in GATES:
            if fields["W_" + g].shape != W_f.shape:
                raise ShapeError("W_" + g, f"shape {W_f.shape} like W_f", got=f"shape {fields['W_' + g].shape}")
            if fields["b_" + g].shape != (n_a,):
                raise ShapeError("b_" + g, f"shape ({n_a},)", got=f"shape {fields['b_' + g].shape}")
        if (self.W_y is None) != (self.b_y is None):
            raise InputError("W_y", "W_y and b_y given together (or neither)")
        if self.W_y is not None:
            fields["W_y"] = finite_array(self.W_y, "W_y")
            fields["b_y"] = finite_array(self.b_y, "b_y")
            if fields["W_y"].ndim != 2 or fields["W_y"].shape[1] != n_a or fields["W_y"].shape[0] == 0:
                raise ShapeError("W_y", f"shape (n_y, {n_a})", got=f"shape {fields['W_y'].shape}")
            if fields["b_y"].shape != (fields["W_y"].shape[0],):
                raise ShapeError("b_y", f"shape ({fields['W_y'].shape[0]},)", got=f"shape {fields['b_y'].shape}")
        residual = None
        if self.bias_residual is not None and not isinstance(self.bias_residual, Mapping):
            raise InputError("bias_residual", "a mapping gate name -> array (e.g. {'f': residual_f}) or None", got=type(self.bias_residual).__name__)
        if self.bias_residual:
            residual = {}
            for g, r in self.bias_residual.items():
                if g not in GATES:
                    raise InputError("bias_residual", f"keys among {GATES}", got=g)
                residual[g] = finite_array(r, f"bias_residual[{g!r}]")
                if residual[g].shape != (n_a,):
                    raise ShapeError(f"bias_residual[{g!r}]", f"shape ({n_a},)", got=f"shape {residual[g].shape}")
        for k, v in fields.items():
            v.setflags(write=False)
            object.__setattr__(self, k, v)
        object.__setattr__(self, "bias_residual", residual)
        if self.info is not None and not isinstance(self.info, ModelInfo):
            raise InputError("info", "a ModelInfo or None", got=type(self.info).__name__)

    def with_info(self, info: ModelInfo) -> "LSTMWeights":
        """The same weights with provenance ``info`` attached."""
        import dataclasses

        return dataclasses.replace(self, info=info)

    # --- sizes --------------------------------------------------------------------------
    @property
    def n_a(self) -> int:
        """Hidden size."""
        return self.W_f.shape[0]

    @property
    def n_x(self) -> int:
        """Input size."""
        return self.W_f.shape[1] - self.W_f.shape[0]

    @property
    def n_y(self) -> int | None:
        """Output size, or ``None`` without an output layer."""
        return None if self.W_y is None else self.W_y.shape[0]

    # --- the model the bounding methods work on --------------------------------------------
    def to_model(self) -> Any:
        """This LSTM as a :class:`~lstm_symbolic.model.Model` (one layer, the head when present),
        built once: the cell's stacked gate map (rows Γ_f, Γ_u, Γ_o, c̃; the exact bias as one or
        two columns) and the head."""
        model = self.__dict__.get("_model")
        if model is None:
            from .cells import Affine, LSTMCell
            from .cells.lstm import ROWS as rows
            from .model import Head, Layer, Model

            W = np.concatenate([getattr(self, "W_" + g) for g in rows], axis=0)
            b = np.concatenate([getattr(self, "b_" + g) for g in rows])
            if self.bias_residual:
                r = np.concatenate([self.bias_residual.get(g, np.zeros(self.n_a)) for g in rows])
                bias = np.stack([b, r], axis=1)
            else:
                bias = b[:, None]
            cell = LSTMCell(Affine(W, bias, [self.n_a, self.n_x]))
            head = None if self.W_y is None else Head(self.W_y, self.b_y)
            model = Model((Layer(cell),), head, info=self.info)
            object.__setattr__(self, "_model", model)
        return model

    @cached_property
    def W_gates(self) -> np.ndarray:
        """``[W_f; W_u; W_c; W_o]``, shape (4 n_a, n_a + n_x) (in :data:`GATES` order)."""
        return np.concatenate([getattr(self, "W_" + g) for g in GATES], axis=0)

    def bias_exact(self, gate: str) -> tuple[np.ndarray, np.ndarray]:
        """Two float arrays whose exact real sum is the bias of ``gate`` ('f','u','c','o','y')."""
        if gate == "y":
            if self.b_y is None:
                raise InputError("gate", "'y' only for a model with an output layer")
            return self.b_y, np.zeros_like(self.b_y)
        if gate not in GATES:
            raise InputError("gate", f"one of {GATES + ('y',)}", got=gate)
        b = getattr(self, "b_" + gate)
        r = (self.bias_residual or {}).get(gate)
        return b, (np.zeros_like(b) if r is None else r)

    # --- importers and saving -----------------------------------------------------------
    @classmethod
    def from_torch(cls, mapping: Mapping[str, Any]) -> "LSTMWeights":
        """Weights from a PyTorch state dict (tensors or arrays): an ``nn.LSTM``'s own keys
        (``weight_ih_l0`` (4 n_a, n_x), ``weight_hh_l0`` (4 n_a, n_a), optional ``bias_ih_l0``,
        ``bias_hh_l0``), a containing module's prefixed keys (``lstm.weight_ih_l0`` …), or a
        checkpoint holding one; an output layer only when unambiguous, or as ``W_y``, ``b_y``
        (rules: :mod:`lstm_symbolic.io.torch`; ``ls.load(state, head="fc")`` names one).
        PyTorch stacks gates as i, f, g, o: i -> Γ_u, f -> Γ_f, g -> c̃, o -> Γ_o. The two
        biases are summed; when the float sum is inexact its exact residual is kept
        (``bias_residual``), so the bounds are for PyTorch's exact model.
        """
        from .io.torch import from_state_dict

        return from_state_dict(mapping, source="state dict", argument="mapping")

    def to_torch(self) -> dict[str, np.ndarray]:
        """The PyTorch naming (numpy arrays): ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``
        (the bias), ``bias_hh_l0`` (the residual, zeros when exact); plus ``W_y``, ``b_y``."""
        from .io.torch import to_state_dict

        return to_state_dict(self)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Seed naming as a dict of arrays (what :meth:`save` writes)."""
        out = {k: getattr(self, k) for k in [p + g for g in GATES for p in ("W_", "b_")]}
        if self.W_y is not None:
            out["W_y"], out["b_y"] = self.W_y, self.b_y
        for g, r in (self.bias_residual or {}).items():
            out["bias_residual_" + g] = r
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an ``.npz`` in seed naming (no pickles); :func:`load_weights` reads it back."""
        from .io.npz import save

        save(self, path)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> "LSTMWeights":
        """From a mapping in seed naming (``W_f`` … ``b_o``, optional ``W_y``, ``b_y``) or in
        PyTorch naming (``weight_ih_l0`` …, read as a state dict); extra keys are left out
        (listed in ``info.notes``). See :mod:`lstm_symbolic.io.npz`."""
        from .io.npz import from_arrays

        return from_arrays(arrays)


def load_weights(path: str | os.PathLike[str]) -> LSTMWeights:
    """The model in a file: :func:`lstm_symbolic.io.load` (``.npz``, ``.pt``/``.pth``,
    ``.onnx``). Raises :class:`~lstm_symbolic.errors.NotAModelError` for anything else."""
    from .io import load

    return load(path)


# --- concrete forward pass ------------------------------------------------------------------

from .methods.concrete import ConcreteOps, sigmoid, softmax  # noqa: E402  (the one forward pass)


class Run(NamedTuple):
    """Signals of a concrete forward pass; each (T, [B,] n). ``y`` is None without ``W_y``."""

    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    c: np.ndarray
    a: np.ndarray
    y: np.ndarray | None


_OPS = ConcreteOps()


def cell_step(w: LSTMWeights, a_prev: np.ndarray, c_prev: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """One concrete step; shapes ``a_prev``, ``c_prev``: (B, n_a), ``x``: (B, n_x)."""
    return w.to_model().layers[0].cell.step(_OPS, x, {"a": a_prev, "c": c_prev})


def _initial(value: Any, name: str, n_a: int, batch: int) -> np.ndarray:
    if value is None:
        return np.zeros((batch, n_a))
    arr = finite_array(value, name)
    try:
        return np.broadcast_to(arr, (batch, n_a)).copy()
    except ValueError as exc:
        raise ShapeError(name, f"shape ({n_a},) or ({batch}, {n_a})", got=f"shape {arr.shape}") from exc


class ModelRun:
    """Signals of a concrete forward pass of a :class:`~lstm_symbolic.model.Model`: ``layers``,
    one dict per layer ``{signal: array (T, [B,] n)}`` (a bidirectional layer's directions
    concatenated, forward first), ``y`` (T, [B,] n_y) or None; the last layer's signals are
    also attributes (``run.a``, a GRU's ``run.z`` …). With ``batch_first`` a batch is (B, T, n)."""

    def __init__(self, layers: list[dict[str, np.ndarray]], y: np.ndarray | None) -> None:
        self.layers, self.y = layers, y

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("layers", "y"):
            raise AttributeError(name)
        if name in self.layers[-1]:
            return self.layers[-1][name]
        if name in GATES + ("c_tilde", "c", "a"):
            return None
        raise AttributeError(f"no signal {name!r} (signals: {', '.join(self.layers[-1])})")


def forward(w: Any, xs: Any, a0: Any = None, c0: Any = None, batch_first: bool = False) -> Any:
    """Concrete float64 forward pass.

    ``xs``: (T, n_x) or (T, B, n_x) — or (B, T, n_x) with ``batch_first=True`` (a 2-D ``xs``
    is one unbatched sequence (T, n_x) in both layouts, as for PyTorch's ``nn.LSTM``);
    ``a0``, ``c0``: (n_a,) or (B, n_a), default zeros. Returns a :class:`Run` of arrays
    (T, [B,] n) — (B, T, n) for a batch when ``batch_first``.

    ``w`` may also be a :class:`~lstm_symbolic.model.Model` (stacks, bidirectional layers,
    GRUs, an embedding: ``xs`` are then one-hot vectors over the vocabulary): then ``a0``,
    ``c0`` are per cell as for :func:`~lstm_symbolic.propagate`, and the result is a
    :class:`ModelRun` with every layer's signals.
    """
    from .model import Model

    if isinstance(w, Model):
        return _forward_model(w, xs, a0, c0, batch_first)
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights or a Model", got=type(w).__name__)
    run = _forward_model(w.to_model(), xs, a0, c0, batch_first)  # the one forward pass
    signals = run.layers[0]
    return Run(*(signals[k] for k in ("f", "u", "o", "c_tilde", "c", "a")), run.y)


def _forward_model(model: Any, xs: Any, a0: Any, c0: Any, batch_first: Any) -> ModelRun:
    from .model import concrete_run, per_cell

    if not isinstance(batch_first, (bool, np.bool_)):
        raise InputError("batch_first", "True or False", got=batch_first)
    x = finite_array(xs, "xs")
    given_shape, batched = x.shape, x.ndim == 3
    if batched and batch_first:
        x = x.transpose(1, 0, 2)
    if x.ndim not in (2, 3) or x.shape[-1] != model.n_x or x.shape[0] == 0:
        n = model.n_x
        layout = f"(B, T, {n}) (batch first, as batch_first=True says)" if batch_first else \
            f"(T, B, {n}) (time first; pass batch_first=True for (B, T, {n}))"
        raise ShapeError("xs", f"shape (T, {n}) or {layout} with T >= 1", got=f"shape {given_shape}")
    xb = x if batched else x[:, None, :]
    B = xb.shape[1]
    given = {"a": per_cell(model, a0, "a0"), "c": per_cell(model, c0, "c0")}
    cells = model.cells
    states = []
    for i, cell in enumerate(cells):
        st = {}
        for name in cell.state:
            label = f"{name}0" if len(cells) == 1 else f"{name}0[{i}]"
            st[name] = _initial(given[name][i], label, cell.state_sizes[name], B)
        for name in given:
            if name not in cell.state and given[name][i] is not None:
                raise InputError(f"{name}0" if len(cells) == 1 else f"{name}0[{i}]", f"None (a {cell.kind} cell has no state {name!r})")
        states.append(st)
    layers, y = concrete_run(model, xb, states)
    if batched and batch_first:
        layers = [{k: v.transpose(1, 0, 2) for k, v in d.items()} for d in layers]
        y = None if y is None else y.transpose(1, 0, 2)
    if not batched:
        layers = [{k: v[:, 0, :] for k, v in d.items()} for d in layers]
        y = None if y is None else y[:, 0, :]
    return ModelRun(layers, y)
