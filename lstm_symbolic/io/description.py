"""The neutral description of a model file, and the one place that turns it into a model.

Every framework reader (:mod:`.torch`, :mod:`.onnx`) first parses its file into a
:class:`Description` — the recurrent layers it found (kind, direction, position in a stack,
gate blocks in the framework's own stacking order), the output layer when the file pins one
down, and what it left out — without deciding what is supported. :func:`build` then makes the
model — an :class:`~lstm_symbolic.LSTMWeights` for one forward LSTM layer (the v1 type), a
:class:`~lstm_symbolic.model.Model` for everything else (GRUs, stacks, bidirectional and
reverse layers, projections, peepholes, an embedding in front) — and :func:`refusal` is the
single place that refuses what the library cannot bound yet (plain RNN layers, cell clipping,
variable lengths, other activations, …): lifting a limitation is one branch here plus the cell
that bounds it, not a change in every reader.

Shapes, for a layer with ``k`` stacked gate blocks of hidden size ``n_a`` (LSTM: k = 4)::

    W_x   (k n_a, n_x)   input weights, blocks stacked in ``gates`` order (a stacked layer's
                         n_x is the layer below's output size)
    W_a   (k n_a, n_a)   recurrent weights (PyTorch ``proj_size``: (k n_a, p))
    b_x   (k n_a,)       input bias (PyTorch ``bias_ih``, ONNX ``Wb``), or None
    b_a   (k n_a,)       recurrent bias (PyTorch ``bias_hh``, ONNX ``Rb``), or None

the model's bias is the exact real sum ``b_x + b_a`` (kept exactly: float sum plus residual).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, NotAModelError
from ..interval import rounding as R
from ..lstm import LSTMWeights
from ..provenance import ModelInfo

__all__ = ["Tensor", "Recurrent", "Head", "Description", "build", "refusal", "HeadRequest", "head_request", "check_vocab", "SUPPORTED"]


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
    PyTorch's ``weight_hr`` (p, n_a); ``peepholes``: ONNX ``P`` (3 n_a,) in ONNX's order
    i, o, f, when non-zero; ``reset_after``: for a GRU, whether the reset gate multiplies after
    the hidden matmul (PyTorch; ONNX ``linear_before_reset=1``; Keras ``reset_after=True``);
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
    reset_after: bool = True
    unsupported: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_out(self) -> int:
        """Size of this direction's output a⟨t⟩."""
        return self.projection.value.shape[0] if self.projection is not None else self.W_a.value.shape[-1]


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
    """What a reader found in a file. ``lstm_label``: the framework's name of its LSTM layer
    (``"nn.LSTM"``); ``layers``: every recurrent layer (direction), in stack order;
    ``chained``: the reader knows they form one stack in that order (a graph, a Sequential
    model) — a state dict with layers of several modules does not; ``embedding``: the token
    vectors (V, n_x) in front of the first layer, or None; ``left_out``: names in the file that
    are not part of the model (each with the reason in ``notes``); ``notes``: one sentence each."""

    source: str
    lstm_label: str
    layers: tuple[Recurrent, ...]
    head: Head | None = None
    vocab: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()
    left_out: tuple[str, ...] = field(default=())
    embedding: Tensor | None = None
    chained: bool = False


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


#: The recurrent layer kinds a cell exists for.
SUPPORTED = ("lstm", "gru")


def refusal(desc: Description) -> str | None:
    """Why ``desc`` cannot be bounded yet (one sentence), or None. The single list of
    limitations of the importers: each entry names the feature as the file shows it."""
    if not desc.layers:
        return f"no recurrent layer (expected an {desc.lstm_label} or a GRU)"
    kinds = sorted({layer.label for layer in desc.layers if layer.kind not in SUPPORTED})
    if kinds:
        return f"this is an {' and an '.join(kinds)}: only LSTM and GRU layers are supported (a plain RNN cell has no bounds here yet)"
    names = list(dict.fromkeys(layer.name for layer in desc.layers))
    if len(names) > 1 and not desc.chained:
        return (f"{len(names)} recurrent modules ({', '.join(map(repr, names))}): a state dict does not say how they are connected; "
                "pass the live module (traced with torch.fx) or load one module's keys")
    stack: dict[int, list[Recurrent]] = {}
    for layer in desc.layers:
        stack.setdefault(layer.layer, []).append(layer)
    if sorted(stack) != list(range(len(stack))):
        return f"recurrent layers numbered {sorted(stack)}: a stack must be numbered 0, 1, … with none missing"
    for index, group in stack.items():
        dirs = sorted(layer.direction for layer in group)
        if dirs not in (["forward"], ["reverse"], ["forward", "reverse"]):
            return f"layer {index} has directions {dirs} ({', '.join(str(layer.W_x) for layer in group)})"
        if len({layer.kind for layer in group}) > 1:
            return f"layer {index} mixes {' and '.join(sorted({layer.label for layer in group}))} directions"
    for layer in desc.layers:
        if layer.projection is not None and layer.kind != "lstm":
            return f"a projection on a {layer.label} ({layer.projection}): only LSTMs have one"
        if layer.peepholes is not None and layer.kind != "lstm":
            return f"peepholes on a {layer.label} ({layer.peepholes}): only LSTMs have them"
        if layer.unsupported:
            return "; ".join(f"{feature} ({what})" for feature, what in layer.unsupported) + ": not supported"
    return None


# --- building the model --------------------------------------------------------------------------


def _fail(argument: str, desc: Description, why: str) -> NotAModelError:
    return NotAModelError(argument, f"recurrent layers that can be bounded (LSTM or GRU; {desc.lstm_label} …), optionally with an "
                          "embedding in front and a linear output layer", got=f"{desc.source}: {why}")


def _biases(layer: Recurrent, rows: int, argument: str, desc: Description) -> list[np.ndarray]:
    """The layer's input and recurrent biases ``[b_x, b_a]``, each (rows,) (zeros where the file
    has none); a bias of another shape is refused."""
    out = []
    for b in (layer.b_x, layer.b_a):
        if b is not None and b.value.shape != (rows,):
            raise _fail(argument, desc, f"{b}: a bias of shape ({rows},), got {b.value.shape}")
        out.append(np.zeros(rows) if b is None else b.value)
    return out


def _is_single_lstm(desc: Description) -> bool:
    """One forward LSTM layer, no projection, no peepholes, no embedding: the v1 model."""
    if len(desc.layers) != 1 or desc.embedding is not None:
        return False
    (layer,) = desc.layers
    return layer.kind == "lstm" and layer.direction == "forward" and layer.projection is None and layer.peepholes is None


def build(desc: Description, argument: str = "path") -> Any:
    """The model ``desc`` describes, with its :class:`~lstm_symbolic.provenance.ModelInfo`
    (source, vocabulary, notes, and which tensor became which part of the model): an
    :class:`~lstm_symbolic.LSTMWeights` for one forward LSTM layer, a
    :class:`~lstm_symbolic.model.Model` otherwise; or
    :class:`~lstm_symbolic.errors.NotAModelError` naming ``argument`` and what is not supported."""
    why = refusal(desc)
    if why is not None:
        raise _fail(argument, desc, why)
    tensors = [desc.embedding] + [t for layer in desc.layers for t in (layer.W_x, layer.W_a, layer.b_x, layer.b_a, layer.projection, layer.peepholes)]
    if desc.head is not None:
        tensors += [desc.head.W, desc.head.b]
    for t in tensors:
        if t is not None and not np.isfinite(t.value).all():
            bad = np.argwhere(~np.isfinite(t.value))[:3].tolist()
            raise _fail(argument, desc, f"{t}: non-finite entries (NaN or inf) at {bad}")
    if not _is_single_lstm(desc):
        return _build_model(desc, argument)
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
    b_sum, b_res = R.split_sum(*_biases(layer, k * n_a, argument, desc))
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


# --- models beyond one LSTM layer ---------------------------------------------------------------


def _exact_bias(b_x: np.ndarray, b_a: np.ndarray) -> np.ndarray:
    """Bias columns whose exact row sums are ``b_x + b_a``: the float sum, and its exact
    residual when it is not zero somewhere."""
    total, residual = R.split_sum(b_x, b_a)
    return np.stack([total, residual], axis=1) if np.any(residual != 0) else total[:, None]


def _where(layer: Recurrent, index: int, many: bool) -> str:
    direction = {"forward": "", "reverse": " reverse"}[layer.direction]
    return f"layer {index + 1}{direction} " if many or direction else ""


def _cell(layer: Recurrent, n_in: int, argument: str, desc: Description, where: str, mapping: list[tuple[str, str]]) -> Any:
    """The cell of one recurrent layer (one direction), its weights checked against ``n_in``
    inputs; records which rows of the file became what in ``mapping``."""
    from ..cells import Affine, GRUCell, LSTMCell

    k = len(layer.gates)
    W_x, W_a = layer.W_x.value, layer.W_a.value
    n = layer.projection.value.shape[1] if layer.projection is not None else (W_a.shape[1] if W_a.ndim == 2 else 0)
    n_out = layer.n_out
    if W_a.ndim != 2 or W_a.shape != (k * n, n_out) or n == 0:
        raise _fail(argument, desc, f"{layer.W_a}: recurrent weights of shape ({k} n_a, {n_out}), got {W_a.shape}")
    if W_x.ndim != 2 or W_x.shape != (k * n, n_in):
        raise _fail(argument, desc, f"{layer.W_x}: input weights of shape ({k * n}, {n_in}) (the {'embedding' if where.startswith('layer 1') or not where else 'layer below'}'s "
                    f"output size {n_in}), got {W_x.shape}")
    b_x, b_a = _biases(layer, k * n, argument, desc)
    block = {gate: i for i, (_, gate) in enumerate(layer.gates)}
    letter = {gate: lt for lt, gate in layer.gates}
    rows = lambda gate: slice(block[gate] * n, (block[gate] + 1) * n)  # noqa: E731

    def record(gate: str, what: str) -> None:
        r = rows(gate)
        mapping.append((f"{layer.W_a.rows(r.start, r.stop)} ({letter[gate]})", f"{where}{what} {gate}: recurrent weights"))
        mapping.append((f"{layer.W_x.rows(r.start, r.stop)} ({letter[gate]})", f"{where}{what} {gate}: input weights"))
        parts = [bb.rows(r.start, r.stop) for bb in (layer.b_x, layer.b_a) if bb is not None]
        if parts:
            mapping.append((" + ".join(parts) + f" ({letter[gate]})", f"{where}{what} {gate}: bias"))

    if layer.kind == "lstm":
        from ..cells.lstm import ROWS

        order = [rows(g) for g in ROWS]
        W = np.concatenate([np.concatenate([W_a[r], W_x[r]], axis=1) for r in order], axis=0)
        bias = _exact_bias(np.concatenate([b_x[r] for r in order]), np.concatenate([b_a[r] for r in order]))
        for g in ROWS:
            record(g, "LSTM gate")
        projection = None
        if layer.projection is not None:
            projection = Affine(layer.projection.value, None, [n])
            mapping.append((str(layer.projection), f"{where}LSTM projection W_hr"))
        peep = None
        if layer.peepholes is not None:
            P = layer.peepholes.value
            if P.shape != (3 * n,):
                raise _fail(argument, desc, f"{layer.peepholes}: peepholes of shape ({3 * n},), got {P.shape}")
            p_u, p_o, p_f = P[:n], P[n : 2 * n], P[2 * n :]  # ONNX's order i, o, f
            peep = (p_f, p_u, p_o)
            mapping.append((str(layer.peepholes), f"{where}LSTM peepholes p_u, p_o, p_f (i, o, f)"))
        return LSTMCell(Affine(W, bias, [n_out, n_in]), projection, peep)
    r, z, c = rows("r"), rows("z"), rows("n")
    gates = Affine(np.concatenate([np.concatenate([W_a[q], W_x[q]], axis=1) for q in (r, z)], axis=0),
                   _exact_bias(np.concatenate([b_x[r], b_x[z]]), np.concatenate([b_a[r], b_a[z]])), [n, n_in])
    for g in ("r", "z", "n"):
        record(g, "GRU")
    if layer.reset_after:
        return GRUCell(gates, Affine(W_x[c], b_x[c][:, None], [n_in]), Affine(W_a[c], b_a[c][:, None], [n]))
    return GRUCell(gates, Affine(np.concatenate([W_a[c], W_x[c]], axis=1), _exact_bias(b_x[c], b_a[c]), [n, n_in]))


def _build_model(desc: Description, argument: str) -> Any:
    from ..model import Head as ModelHead
    from ..model import Layer, Model

    stack: dict[int, dict[str, Recurrent]] = {}
    for layer in desc.layers:
        stack.setdefault(layer.layer, {})[layer.direction] = layer
    mapping: list[tuple[str, str]] = []
    notes: list[str] = [n for layer in desc.layers for n in layer.notes]
    embedding = None
    if desc.embedding is not None:
        embedding = desc.embedding.value
        if embedding.ndim != 2 or 0 in embedding.shape:
            raise _fail(argument, desc, f"{desc.embedding}: an embedding matrix (vocabulary, n_x), got shape {embedding.shape}")
        mapping.append((str(desc.embedding), f"embedding E ({embedding.shape[0]} tokens x {embedding.shape[1]})"))
        n_in = embedding.shape[1]
    else:
        first = stack[0].get("forward") or stack[0]["reverse"]
        n_in = first.W_x.value.shape[-1] if first.W_x.value.ndim == 2 else 0
    many = len(stack) > 1
    layers = []
    for index in range(len(stack)):
        group = stack[index]
        fwd, rev = group.get("forward"), group.get("reverse")
        cells = [_cell(d, n_in, argument, desc, _where(d, index, many), mapping) for d in (fwd, rev) if d is not None]
        if fwd is None:
            layers.append(Layer(cells[0], backward=True))
        else:
            layers.append(Layer(*cells))
        n_in = layers[-1].n_out
    head = None
    if desc.head is not None:
        Wy = desc.head.W.value
        if Wy.ndim != 2 or Wy.shape[1] != n_in or Wy.shape[0] == 0:
            raise _fail(argument, desc, f"output layer {desc.head.name}: weight of shape (n_y, {n_in}), got {Wy.shape}")
        n_y = Wy.shape[0]
        b = np.zeros(n_y) if desc.head.b is None else desc.head.b.value
        if b.shape != (n_y,):
            raise _fail(argument, desc, f"output layer {desc.head.name}: bias of shape ({n_y},), got {b.shape}")
        head = ModelHead(Wy, b)
        mapping.append((str(desc.head.W), "W_y"))
        if desc.head.b is not None:
            mapping.append((str(desc.head.b), "b_y"))
        reads = "" if desc.head.reads == "every step" else f", which the file applies to {desc.head.reads} only (y⟨T⟩)"
        notes.append(f"output layer W_y, b_y ({n_y} x {n_in}) from {desc.head.name}{' (no bias: b_y = 0)' if desc.head.b is None else ''}{reads}; "
                     f"y = softmax of its logits{'; ' + desc.head.how if desc.head.how else ''}")
    notes.extend(desc.notes)
    if embedding is not None and desc.vocab is not None and len(desc.vocab) != embedding.shape[0]:
        raise _fail(argument, desc, f"a vocabulary of {len(desc.vocab)} symbols for an embedding of {embedding.shape[0]} tokens")
    try:
        model = Model(tuple(layers), head, embedding)
    except InputError as exc:
        raise _fail(argument, desc, str(exc)) from exc
    return model.with_info(ModelInfo(source=desc.source, vocab=desc.vocab, notes=tuple(notes), mapping=tuple(mapping)))


def check_vocab(vocab: Any, n_x: int, argument: str = "vocab") -> tuple[str, ...]:
    """``vocab`` as a tuple of ``n_x`` distinct strings (the input symbols in index order), or
    :class:`~lstm_symbolic.errors.InputError` naming ``argument``."""
    if isinstance(vocab, (str, bytes)) or not isinstance(vocab, Sequence) and not isinstance(vocab, np.ndarray):
        raise InputError(argument, f"a list of {n_x} strings (the input symbols in index order)", got=type(vocab).__name__)
    items = list(vocab)
    if not all(isinstance(v, (str, np.str_)) for v in items):
        raise InputError(argument, "strings", got=f"{sorted({type(v).__name__ for v in items if not isinstance(v, (str, np.str_))})}")
    if len(items) != n_x:
        raise InputError(argument, f"{n_x} symbols (the model's n_x)", got=f"{len(items)}")
    dup = sorted({v for v in items if items.count(v) > 1})
    if dup:
        raise InputError(argument, "distinct symbols", got=f"{dup[:5]} more than once")
    return tuple(str(v) for v in items)
