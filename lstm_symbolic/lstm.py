"""The LSTM in the seed's notation: weights, importers, one concrete step and one interval step.

For one step, with ``z = [a⟨t−1⟩, x⟨t⟩]`` (``a`` first)::

    Γ_f = σ(W_f z + b_f)    Γ_u = σ(W_u z + b_u)    Γ_o = σ(W_o z + b_o)
    c̃  = tanh(W_c z + b_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
    y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, NamedTuple

import numpy as np

from ._validate import finite_array
from .errors import InputError, NotAModelError, ShapeError
from .interval import kernels as K
from .interval import rounding as R
from .provenance import ModelInfo

Pair = tuple[np.ndarray, np.ndarray]

__all__ = [
    "GATES",
    "LSTMWeights",
    "load_weights",
    "forward",
    "Run",
    "cell_step",
    "interval_cell_step",
    "IntervalState",
    "interval_output",
    "SOFTMAX_PAIRWISE_MAX",
    "softmax",
]

#: Gate names in the seed's notation, in the order this library stacks them.
GATES = ("f", "u", "c", "o")
_TORCH_ORDER = ("u", "f", "c", "o")  # PyTorch stacks i, f, g, o


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

    # --- stacked views used by the steps (computed once) --------------------------------
    @cached_property
    def W_gates(self) -> np.ndarray:
        """``[W_f; W_u; W_c; W_o]``, shape (4 n_a, n_a + n_x)."""
        return np.concatenate([getattr(self, "W_" + g) for g in GATES], axis=0)

    @cached_property
    def W_gates_b(self) -> np.ndarray:
        """``[W_gates | bias columns]``, shape (4 n_a, n_a + n_x + k): the bias enters the
        product through k inputs fixed at 1 (see :attr:`bias_columns`)."""
        return np.concatenate([self.W_gates, self.bias_columns], axis=1)

    @cached_property
    def absW_gates_b(self) -> np.ndarray:
        """``|W_gates_b|``, cached for the radius products."""
        return np.abs(self.W_gates_b)

    @cached_property
    def absW_gates_b32(self) -> np.ndarray:
        """``|W_gates_b|`` rounded up to float32, for the float32 radius product."""
        return R.to_float32_up(self.absW_gates_b)

    @cached_property
    def W_a_b(self) -> np.ndarray:
        """``[W_a | bias columns]``: recurrent columns and bias, for one-hot inputs."""
        return np.concatenate([self.W_a, self.bias_columns], axis=1)

    @cached_property
    def W_a(self) -> np.ndarray:
        """Recurrent columns of :attr:`W_gates`, shape (4 n_a, n_a)."""
        return np.ascontiguousarray(self.W_gates[:, : self.n_a])

    @cached_property
    def W_x(self) -> np.ndarray:
        """Input columns of :attr:`W_gates`, shape (4 n_a, n_x)."""
        return np.ascontiguousarray(self.W_gates[:, self.n_a :])

    @cached_property
    def bias_columns(self) -> np.ndarray:
        """The stacked gate bias as columns whose exact row sums are the exact bias:
        (4 n_a, 1), or (4 n_a, 2) with the residual. Folded into the matrix products."""
        b = np.concatenate([getattr(self, "b_" + g) for g in GATES])
        if not self.bias_residual:
            return b[:, None]
        r = np.concatenate([self.bias_residual.get(g, np.zeros(self.n_a)) for g in GATES])
        return np.stack([b, r], axis=1)

    @cached_property
    def bias_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Outward enclosure ``(lo, hi)`` of the exact stacked gate bias, shape (4 n_a,)."""
        b = np.concatenate([getattr(self, "b_" + g) for g in GATES])
        if not self.bias_residual:
            return b, b
        r = np.concatenate([self.bias_residual.get(g, np.zeros(self.n_a)) for g in GATES])
        return R.add_down(b, r), R.add_up(b, r)

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

    @cached_property
    def W_y_b(self) -> np.ndarray:
        """``[W_y | b_y]``: the output layer with its bias as a constant column."""
        return np.concatenate([self.W_y, self.b_y[:, None]], axis=1)

    def margin_rows(self, label: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows ``W_y[label] − W_y[j]`` split exactly (TwoSum) into ``D_hi + D_lo`` (n_y, n_a)
        and a lower bound of ``b_label − b_j`` (n_y,): the margin ``z_label − z_j = D a + b``.
        O(n_y n_a), whatever the vocabulary size."""
        if self.W_y is None:
            raise InputError("W_y", "an output layer for margins")
        D_hi, D_lo = K.exact_difference(self.W_y[label][None, :], self.W_y)
        return D_hi, D_lo, R.sub_down(self.b_y[label], self.b_y)

    @cached_property
    def softmax_rows(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Exact difference rows of ``W_y`` (see :func:`.interval.kernels.difference_rows`)."""
        if self.W_y is None:
            raise InputError("W_y", "an output layer for softmax bounds")
        return K.difference_rows(self.W_y, self.b_y)

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


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``σ(x) = 1/(1+e^{-x})``, evaluated without overflow."""
    return K._libm_sigmoid(x)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax along the last axis (shifted by the max: no overflow)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Run(NamedTuple):
    """Signals of a concrete forward pass; each (T, [B,] n). ``y`` is None without ``W_y``."""

    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    c: np.ndarray
    a: np.ndarray
    y: np.ndarray | None


def cell_step(w: LSTMWeights, a_prev: np.ndarray, c_prev: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """One concrete step; shapes ``a_prev``, ``c_prev``: (B, n_a), ``x``: (B, n_x)."""
    n = w.n_a
    pre = np.concatenate([a_prev, x], axis=-1) @ w.W_gates.T
    pre += w.bias_bounds[0]
    gate_forget = sigmoid(pre[:, 0:n])
    gate_update = sigmoid(pre[:, n : 2 * n])
    c_tilde = np.tanh(pre[:, 2 * n : 3 * n])
    gate_output = sigmoid(pre[:, 3 * n : 4 * n])
    cell = gate_forget * c_prev + gate_update * c_tilde
    a = gate_output * np.tanh(cell)
    return {"f": gate_forget, "u": gate_update, "o": gate_output, "c_tilde": c_tilde, "c": cell, "a": a}


def _initial(value: Any, name: str, n_a: int, batch: int) -> np.ndarray:
    if value is None:
        return np.zeros((batch, n_a))
    arr = finite_array(value, name)
    try:
        return np.broadcast_to(arr, (batch, n_a)).copy()
    except ValueError as exc:
        raise ShapeError(name, f"shape ({n_a},) or ({batch}, {n_a})", got=f"shape {arr.shape}") from exc


def forward(w: LSTMWeights, xs: Any, a0: Any = None, c0: Any = None) -> Run:
    """Concrete float64 forward pass.

    ``xs``: (T, n_x) or (T, B, n_x); ``a0``, ``c0``: (n_a,) or (B, n_a), default zeros.
    Returns a :class:`Run` of arrays (T, [B,] n).
    """
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights", got=type(w).__name__)
    x = finite_array(xs, "xs")
    if x.ndim not in (2, 3) or x.shape[-1] != w.n_x or x.shape[0] == 0:
        raise ShapeError("xs", f"shape (T, {w.n_x}) or (T, B, {w.n_x}) with T >= 1", got=f"shape {x.shape}")
    batched = x.ndim == 3
    xb = x if batched else x[:, None, :]
    B = xb.shape[1]
    a = _initial(a0, "a0", w.n_a, B)
    c = _initial(c0, "c0", w.n_a, B)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "u", "o", "c_tilde", "c", "a", "y")}
    for t in range(xb.shape[0]):
        s = cell_step(w, a, c, xb[t])
        a, c = s["a"], s["c"]
        for k, v in s.items():
            out[k].append(v)
        if w.W_y is not None:
            out["y"].append(softmax(a @ w.W_y.T + w.b_y))
    stacked = {k: (np.stack(v) if v else None) for k, v in out.items()}
    if not batched:
        stacked = {k: (None if v is None else v[:, 0, :]) for k, v in stacked.items()}
    return Run(**stacked)


# --- one interval step ------------------------------------------------------------------------


class IntervalState(NamedTuple):
    """Bounds of every signal at one step, as ``(lo, hi)`` pairs of (B, n) arrays."""

    f: tuple[np.ndarray, np.ndarray]
    u: tuple[np.ndarray, np.ndarray]
    o: tuple[np.ndarray, np.ndarray]
    c_tilde: tuple[np.ndarray, np.ndarray]
    c: tuple[np.ndarray, np.ndarray]
    a: tuple[np.ndarray, np.ndarray]


def interval_cell_step(
    w: LSTMWeights,
    a_prev: Pair,
    c_prev: Pair,
    *,
    x_box: Pair | None = None,
    pre_x: Pair | None = None,
    mode: str = "fast",
) -> IntervalState:
    """One sound interval step; every array (B, n), pairs are ``(lo, hi)``.

    The input enters either as ``x_box``, bounds of ``x⟨t⟩`` (B, n_x), fused with ``a⟨t−1⟩``
    into one midpoint–radius product with ``W_gates`` (two matrix products per step: the
    floor), or as ``pre_x``, bounds of ``W_x x⟨t⟩`` (B, 4 n_a) computed by the input set (the
    exact per-row range for one-hot sets). The equations are those of the module docstring,
    each evaluated with a monotone enclosure of :mod:`.interval.kernels`.
    """
    n = w.n_a
    k = w.bias_columns.shape[1]
    if x_box is not None:
        z_lo = np.concatenate([a_prev[0], x_box[0]], axis=-1)
        z_hi = np.concatenate([a_prev[1], x_box[1]], axis=-1)
        lo, hi = K.matmul(w.W_gates_b, z_lo, z_hi, w.absW_gates_b, n_const=k, absW32=w.absW_gates_b32)
    else:
        Wa_b = K.matmul(w.W_a_b, a_prev[0], a_prev[1], n_const=k)
        lo, hi = K.add_outward(*Wa_b, *pre_x)
    gate_forget = K.sigmoid(lo[:, 0:n], hi[:, 0:n], mode)
    gate_update = K.sigmoid(lo[:, n : 2 * n], hi[:, n : 2 * n], mode)
    c_tilde = K.tanh(lo[:, 2 * n : 3 * n], hi[:, 2 * n : 3 * n], mode)
    gate_output = K.sigmoid(lo[:, 3 * n :], hi[:, 3 * n :], mode)
    cell = K.gated_sum(gate_forget, c_prev, gate_update, c_tilde)
    a = K.mul_nonneg(*gate_output, *K.tanh(*cell, mode))
    a = (np.maximum(a[0], -1.0), np.minimum(a[1], 1.0))  # a priori: |Γ_o tanh(c)| <= 1
    return IntervalState(gate_forget, gate_update, gate_output, c_tilde, cell, a)


#: Up to this many classes, softmax bounds go through the n_y² pairwise difference rows; above
#: it through independent logit bounds (O(n_y), looser): see :func:`interval_output`.
SOFTMAX_PAIRWISE_MAX = 256


def interval_output(w: LSTMWeights, a: Pair, mode: str = "fast") -> Pair:
    """Bounds of ``y = softmax(W_y a + b_y)`` over the box ``a`` (B, n_a) -> (B, n_y).

    Through difference rows (DESIGN.md): ``y_k = 1 / Σ_j exp(z_j − z_k)`` with
    ``z_j − z_k = (W_y[j] − W_y[k]) a + (b_j − b_k)`` bounded directly, each difference row
    split exactly into two floats; far tighter than subtracting two intervals. For more than
    :data:`SOFTMAX_PAIRWISE_MAX` classes (n_y² rows would not fit), from the logit bounds
    (:func:`.interval.kernels.softmax_from_logits`).
    """
    if w.n_y > SOFTMAX_PAIRWISE_MAX:
        z = K.matmul(w.W_y_b, *a, n_const=1)
        return K.softmax_from_logits(*z, mode)
    D_hi, D_lo, (bd_lo, bd_hi) = w.softmax_rows
    d = K.add_outward(*K.matmul(D_hi, *a), *K.matmul(D_lo, *a))
    d = K.add_outward(*d, bd_lo, bd_hi)
    n_y = w.n_y
    shape = a[0].shape[:-1] + (n_y, n_y)
    return K.softmax_from_differences(d[0].reshape(shape), d[1].reshape(shape), mode)