"""The neutral description of a model file, and the one place that turns it into a model.

Every framework reader (:mod:`.torch`, :mod:`.onnx`) first parses its file into a
:class:`Description` — the recurrent layers it found (kind, direction, position in a stack,
gate blocks in the framework's own stacking order), the output layer when the file pins one
down, and what it left out — without deciding what is supported. :func:`build` then makes the
:class:`~lstm_symbolic.LSTMWeights`, and :func:`refusal` is the single place that refuses what
the library cannot bound yet (stacks, bidirectional layers, GRUs, projections, peepholes, …):
lifting a limitation is one branch here plus the cell that bounds it, not a change in every
reader.

Shapes, for a layer with ``k`` stacked gate blocks of hidden size ``n_a`` (LSTM: k = 4)::

    W_x   (k n_a, n_x)   input weights, blocks stacked in ``gates`` order
    W_a   (k n_a, n_a)   recurrent weights (PyTorch ``proj_size``: (k n_a, p))
    b_x   (k n_a,)       input bias (PyTorch ``bias_ih``, ONNX ``Wb``), or None
    b_a   (k n_a,)       recurrent bias (PyTorch ``bias_hh``, ONNX ``Rb``), or None

the model's bias is the exact real sum ``b_x + b_a`` (kept exactly: float sum plus residual).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, NotAModelError
from ..interval import rounding as R
from ..lstm import LSTMWeights
from ..provenance import ModelInfo

__all__ = ["Tensor", "Recurrent", "Head", "Description", "build", "refusal", "HeadRequest", "head_request"]


@dataclass(frozen=True, eq=False)
class Tensor:
    """A tensor read from the file: ``value`` (float64) and ``name``, where it is in the file (a
    key, an initializer or node output). When ``value`` is a slice of that tensor, ``at`` are
    the leading indices and ``offset`` the first row: ``B[0, 16:32]`` is ``at=(0,)``,
    ``offset=16``."""

    value: np.ndarray
    name: str
    at: tuple[int, ...] = ()
    offset: int = 0

    def rows(self, r0: int, r1: int) -> str:
        """Where rows ``r0:r1`` of ``value`` are in the file."""
        return f"{self.name}[{''.join(f'{i}, ' for i in self.at)}{self.offset + r0}:{self.offset + r1}]"

    def __str__(self) -> str:
        if not self.at and not self.offset:
            return self.name
        return self.rows(0, self.value.shape[0]) if self.value.ndim else self.name


@dataclass(frozen=True, eq=False)
class Recurrent:
    """One recurrent layer (one direction of it) as the file stores it.

    ``kind``: ``"lstm"``, ``"gru"`` or ``"rnn"``; ``label``: what the framework calls it
    (``"nn.GRU"``, ``"ONNX GRU node"``); ``name``: where it is (a module prefix, a node name);
    ``layer``: its position in a stack (0 = fed by the model's input); ``direction``:
    ``"forward"`` or ``"reverse"`` (a bidirectional layer is two entries with the same
    ``layer``); ``gates``: per stacked block, ``(the framework's letter, the seed's gate)`` in
    the framework's order, from that framework's one gate-order table; ``projection``:
    PyTorch's ``weight_hr`` (p, n_a); ``peepholes``: ONNX ``P`` (3 n_a,) when non-zero;
    ``unsupported``: other options the file sets, ``(feature, what the file says)``;
    ``notes``: what the reader assumed (a zero initial state computed in the graph, …).
    """

    kind: str
    label: str
    name: str
    gates: tuple[tuple[str, str], ...]
    W_x: Tensor
    W_a: Tensor
    b_x: Tensor | None = None
    b_a: Tensor | None = None
    layer: int = 0
    direction: str = "forward"
    projection: Tensor | None = None
    peepholes: Tensor | None = None
    unsupported: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Head:
    """The output layer ``y = softmax(W a + b)``: ``W`` (n_y, n_a), ``b`` (n_y,) or None (zero);
    ``name``: the module or node; ``reads``: which steps the file applies it to (``"every
    step"``, ``"the last step"``); ``how``: why the reader is sure it is the output layer."""

    W: Tensor
    b: Tensor | None
    name: str
    reads: str = "every step"
    how: str = ""


@dataclass(frozen=True, eq=False)
class Description:
    """What a reader found in a file. ``lstm_label``: the framework's name of the one layer kind
    that is supported (``"nn.LSTM"``); ``left_out``: names in the file that are not part of
    the model (each with the reason in ``notes``); ``notes``: one sentence each."""

    source: str
    lstm_label: str
    layers: tuple[Recurrent, ...]
    head: Head | None = None
    vocab: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()
    left_out: tuple[str, ...] = field(default=())


# --- the head argument ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadRequest:
    """The user's ``head=`` argument, normalised: ``mode`` is ``"auto"`` (None: take an output
    layer only when the file leaves no doubt), ``"none"`` (False or ``"none"``), ``"required"``
    (True: an output layer or an error) or ``"named"`` (``name``: that module or node)."""

    mode: str
    name: str = ""

    def __str__(self) -> str:
        return {"auto": "head=None", "none": "head=False", "required": "head=True"}.get(self.mode, f"head={self.name!r}")


def head_request(head: object) -> HeadRequest:
    """Validate ``head``: None, True, False, ``"none"``, or the name of a module / node."""
    if head is None:
        return HeadRequest("auto")
    if head is True:
        return HeadRequest("required")
    if head is False:
        return HeadRequest("none")
    if isinstance(head, str) and head.strip():
        if head.strip().lower() == "none":
            return HeadRequest("none")
        return HeadRequest("named", head.strip())
    raise InputError("head", "None (take an unambiguous output layer), True, False / 'none', or the name of the output layer", got=repr(head))


# --- refusing what is not supported: one place ---------------------------------------------------


def refusal(desc: Description) -> str | None:
    """Why ``desc`` cannot be bounded yet (one sentence), or None. The single list of
    limitations of the importers: each entry names the feature as the file shows it."""
    if not desc.layers:
        return f"no recurrent layer (expected one {desc.lstm_label})"
    kinds = sorted({layer.label for layer in desc.layers if layer.kind != "lstm"})
    if kinds:
        return f"this is an {' and an '.join(kinds)}: only {desc.lstm_label} is supported"
    names = sorted({layer.name for layer in desc.layers})
    if len(names) > 1:
        return f"{len(names)} recurrent layers ({', '.join(map(repr, names))}): only one {desc.lstm_label} is supported"
    stacked = sorted({layer.layer for layer in desc.layers if layer.layer > 0})
    if stacked:
        return f"a stacked {desc.lstm_label} ({max(stacked) + 1} layers: {desc.layers[-1].W_x}): only single-layer LSTMs are supported"
    directions = {layer.direction for layer in desc.layers}
    if directions != {"forward"}:
        what = "bidirectional" if len(desc.layers) > 1 else "reverse-direction"
        return f"a {what} {desc.lstm_label} ({', '.join(str(layer.W_x) for layer in desc.layers if layer.direction != 'forward')}): only forward LSTMs are supported"
    (layer,) = desc.layers
    if layer.projection is not None:
        return f"an {desc.lstm_label} with proj_size = {layer.projection.value.shape[0]} ({layer.projection}): projections are not supported"
    if layer.peepholes is not None:
        return f"non-zero peephole weights ({layer.peepholes}): peepholes are not supported yet"
    if layer.unsupported:
        return "; ".join(f"{feature} ({what})" for feature, what in layer.unsupported) + ": not supported"
    return None


# --- building the model --------------------------------------------------------------------------


def _fail(argument: str, desc: Description, why: str) -> NotAModelError:
    return NotAModelError(argument, f"one {desc.lstm_label} layer (optionally with a linear output layer)", got=f"{desc.source}: {why}")


def build(desc: Description, argument: str = "path") -> LSTMWeights:
    """The model ``desc`` describes, with its :class:`~lstm_symbolic.provenance.ModelInfo`
    (source, vocabulary, notes, and which tensor became which part of the model); or
    :class:`~lstm_symbolic.errors.NotAModelError` naming ``argument`` and what is not supported."""
    why = refusal(desc)
    if why is not None:
        raise _fail(argument, desc, why)
    (layer,) = desc.layers
    for t in (layer.W_x, layer.W_a, layer.b_x, layer.b_a) + (() if desc.head is None else (desc.head.W, desc.head.b)):
        if t is not None and not np.isfinite(t.value).all():
            bad = np.argwhere(~np.isfinite(t.value))[:3].tolist()
            raise _fail(argument, desc, f"{t}: non-finite entries (NaN or inf) at {bad}")
    W_x, W_a = layer.W_x.value, layer.W_a.value
    k = len(layer.gates)
    if W_a.ndim != 2 or W_a.shape[0] != k * W_a.shape[1] or W_a.shape[1] == 0:
        raise _fail(argument, desc, f"{layer.W_a}: recurrent weights of shape ({k} n_a, n_a), got {W_a.shape}")
    n_a = W_a.shape[1]
    if W_x.ndim != 2 or W_x.shape[0] != k * n_a or W_x.shape[1] == 0:
        raise _fail(argument, desc, f"{layer.W_x}: input weights of shape ({k * n_a}, n_x), got {W_x.shape}")
    zeros = np.zeros(k * n_a)
    biases = []
    for b in (layer.b_x, layer.b_a):
        if b is not None and b.value.shape != (k * n_a,):
            raise _fail(argument, desc, f"{b}: a bias of shape ({k * n_a},), got {b.value.shape}")
        biases.append(zeros if b is None else b.value)
    b_sum, b_res = R.split_sum(*biases)
    kw: dict[str, np.ndarray] = {}
    residual: dict[str, np.ndarray] = {}
    mapping: list[tuple[str, str]] = []
    for block, (letter, gate) in enumerate(layer.gates):
        r0, r1 = block * n_a, (block + 1) * n_a
        kw["W_" + gate] = np.concatenate([W_a[r0:r1], W_x[r0:r1]], axis=1)
        kw["b_" + gate] = b_sum[r0:r1]
        if np.any(b_res[r0:r1] != 0):
            residual[gate] = b_res[r0:r1]
        mapping.append((f"{layer.W_a.rows(r0, r1)} ({letter})", f"W_{gate}[:, :{n_a}] (recurrent columns)"))
        mapping.append((f"{layer.W_x.rows(r0, r1)} ({letter})", f"W_{gate}[:, {n_a}:] (input columns)"))
        parts = [b.rows(r0, r1) for b in (layer.b_x, layer.b_a) if b is not None]
        if parts:
            mapping.append((" + ".join(parts) + f" ({letter})", f"b_{gate}" + (" (exact sum)" if len(parts) == 2 else "")))
    notes = list(layer.notes)
    if layer.b_x is None and layer.b_a is None:
        notes.append(f"{layer.name or 'the LSTM'} has no bias tensors (bias=False): b_f = b_u = b_c = b_o = 0")
    head = desc.head
    if head is not None:
        Wy = head.W.value
        if Wy.ndim != 2 or Wy.shape[1] != n_a or Wy.shape[0] == 0:
            raise _fail(argument, desc, f"output layer {head.name}: weight of shape (n_y, {n_a}), got {Wy.shape}")
        n_y = Wy.shape[0]
        if head.b is not None and head.b.value.shape != (n_y,):
            raise _fail(argument, desc, f"output layer {head.name}: bias of shape ({n_y},), got {head.b.value.shape}")
        kw["W_y"] = Wy
        kw["b_y"] = np.zeros(n_y) if head.b is None else head.b.value
        mapping.append((str(head.W), "W_y"))
        if head.b is not None:
            mapping.append((str(head.b), "b_y"))
        reads = "" if head.reads == "every step" else f", which the file applies to {head.reads} only (y⟨T⟩)"
        notes.append(f"output layer W_y, b_y ({n_y} x {n_a}) from {head.name}{' (no bias: b_y = 0)' if head.b is None else ''}{reads}; "
                     f"y = softmax of its logits{'; ' + head.how if head.how else ''}")
    notes.extend(desc.notes)
    try:
        w = LSTMWeights(**kw, bias_residual=residual or None)
    except InputError as exc:
        raise _fail(argument, desc, str(exc)) from exc
    return w.with_info(ModelInfo(source=desc.source, vocab=desc.vocab, notes=tuple(notes), mapping=tuple(mapping)))
