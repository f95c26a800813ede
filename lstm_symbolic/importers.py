"""Model files: ``.npz``, PyTorch ``state_dict`` files (``.pt``/``.pth``) and ONNX (``.onnx``).

:func:`load_model` reads any of them and returns a :class:`LoadedModel` (the weights, the
vocabulary when the file carries one, and notes about what was ignored). The two framework
readers are also usable on their own:

- :func:`from_torch_file` — ``torch.load(path, map_location="cpu", weights_only=True)`` (the
  ``torch`` extra), then :meth:`~lstm_symbolic.LSTMWeights.from_torch`. Accepted layouts:

  1. the ``state_dict()`` of an ``nn.LSTM``: keys ``weight_ih_l0``, ``weight_hh_l0``,
     ``bias_ih_l0``, ``bias_hh_l0`` (biases optional: ``bias=False``);
  2. the ``state_dict()`` of a module *containing* one ``nn.LSTM`` (any attribute name):
     keys ``<prefix>weight_ih_l0`` …, e.g. ``lstm.weight_ih_l0``, ``encoder.rnn.weight_ih_l0``;
     plus optionally one ``nn.Linear`` on the hidden state — a pair ``<name>.weight``
     (n_y, n_a), ``<name>.bias`` (n_y,) (bias optional) — which becomes ``W_y``, ``b_y``
     (``y = softmax(W_y a + b_y)``: the Linear is read as the logits layer);
  3. either of the above wrapped in a dict under ``"state_dict"`` or ``"model_state_dict"``
     (the usual training checkpoint).

  Single layer, unidirectional, no ``proj_size``. Other tensors (an embedding, a second
  Linear, optimiser state) are ignored and listed in :attr:`LoadedModel.notes`: bounds are
  for the LSTM's own inputs ``x⟨t⟩``, so an embedding in front of it is the caller's business.
  A whole pickled module (``torch.save(model)``) is refused: ``weights_only=True`` never
  unpickles code; save ``model.state_dict()`` instead.

- :func:`from_onnx` — the ``onnx`` extra. One ``LSTM`` node; its ``W`` (1, 4 n_a, n_x),
  ``R`` (1, 4 n_a, n_a) and ``B`` (1, 8 n_a) = ``[Wb, Rb]`` are initializers or ``Constant``
  nodes; ONNX stacks the gates i, o, f, c (i -> Γ_u, o -> Γ_o, f -> Γ_f, c -> c̃). Forward
  direction only, default activations (Sigmoid, Tanh, Tanh), no ``clip``, no
  ``input_forget``, no peepholes ``P`` (or all-zero ones). Initial states must be absent,
  zero constants, or computed in the graph (as ``torch.onnx.export`` does with zeros; then a
  note says so — pass ``a0``/``c0`` yourself if they are not zero). An output layer is taken
  from the graph when there is exactly one ``Gemm`` (alpha = beta = 1, transA = 0), or one
  ``MatMul`` by a constant (n_a, n_y) matrix optionally followed by an ``Add`` of a constant
  (n_y,) vector.

All failures are :class:`~lstm_symbolic.errors.NotAModelError` (an ``InputError``) naming the
file and what was expected.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import InputError, NotAModelError
from .lstm import LSTMWeights, load_weights

__all__ = ["LoadedModel", "load_model", "from_torch_file", "from_torch_state_dict", "from_onnx"]

_LSTM_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


@dataclass(frozen=True)
class LoadedModel:
    """What :func:`load_model` read: ``weights``; ``vocab`` (list of symbols, index order) when
    the file carries one (an ``.npz`` with a ``vocab`` array, like the demo model), else None;
    ``source`` (a short description) and ``notes`` (what was ignored or assumed)."""

    weights: LSTMWeights
    vocab: list[str] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)


def _existing(path: str | os.PathLike[str]) -> str:
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise NotAModelError("MODEL", "an existing model file (.npz, .pt/.pth or .onnx)", got=p)
    return p


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Read a model file, choosing the reader by extension (``.npz``; ``.pt``/``.pth``/``.bin``;
    ``.onnx``) or, for any other extension, by content (an npz archive holds ``.npy`` members,
    a PyTorch file ``data.pkl``; anything else is tried as ONNX)."""
    p = _existing(path)
    ext = Path(p).suffix.lower()
    if ext not in (".npz", ".pt", ".pth", ".bin", ".onnx"):
        ext = _sniff(p)
    if ext == ".npz":
        if not zipfile.is_zipfile(p):  # checked here: np.load leaks its file handle on a bad zip
            raise NotAModelError("MODEL", "a numpy .npz archive", got=p, detail="not a zip file")
        w = load_weights(p)
        return LoadedModel(w, _npz_vocab(p, w), source=f"{p} (npz)")
    if ext == ".onnx":
        w, notes = _from_onnx(p)
        return LoadedModel(w, None, source=f"{p} (ONNX)", notes=notes)
    w, notes = _from_torch_file(p)
    return LoadedModel(w, None, source=f"{p} (PyTorch state_dict)", notes=notes)


def _sniff(p: str) -> str:
    if zipfile.is_zipfile(p):
        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise NotAModelError("MODEL", "a readable model file", got=p, detail=str(exc)) from exc
        if names and all(n.endswith(".npy") for n in names):
            return ".npz"
        if any(n.endswith("data.pkl") for n in names):
            return ".pt"
    return ".onnx"


def _npz_vocab(p: str, w: LSTMWeights) -> list[str] | None:
    with np.load(p, allow_pickle=False) as data:
        if "vocab" not in data.files:
            return None
        vocab = data["vocab"]
    if vocab.ndim != 1 or vocab.dtype.kind not in "US" or len(vocab) != w.n_x:
        raise NotAModelError("vocab", f"a 1-d string array of n_x = {w.n_x} symbols", got=f"{vocab.dtype} array of shape {vocab.shape}")
    return [str(v) for v in vocab]


# --- PyTorch ---------------------------------------------------------------------------------


def from_torch_file(path: str | os.PathLike[str]) -> LSTMWeights:
    """Weights from a file written by ``torch.save(module.state_dict(), path)`` (layouts in the
    module docstring). Needs the ``torch`` extra; loads with ``weights_only=True``."""
    return _from_torch_file(_existing(path))[0]


def _from_torch_file(p: str) -> tuple[LSTMWeights, list[str]]:
    try:
        import torch
    except ImportError as exc:
        raise NotAModelError("MODEL", "the torch extra to read a PyTorch file (pip install 'lstm_symbolic[torch]')", got=p) from exc
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (UnpicklingError, RuntimeError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotAModelError(
            "MODEL", "a PyTorch state_dict file (torch.save(model.state_dict(), path))", got=p, detail=first[:200]
        ) from exc
    return _from_state_dict(obj, p)


def from_torch_state_dict(state: Mapping[str, Any]) -> LSTMWeights:
    """Weights from an in-memory state dict (tensors or arrays) in any layout of the module
    docstring — ``nn.LSTM``'s own keys or a containing module's prefixed keys."""
    return _from_state_dict(state, "state_dict")[0]


def _from_state_dict(obj: Any, p: str) -> tuple[LSTMWeights, list[str]]:
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model_state_dict"):
            if wrapper in obj and isinstance(obj[wrapper], Mapping):
                obj = obj[wrapper]
                break
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        raise NotAModelError("MODEL", "a state_dict (a mapping of names to tensors)", got=f"{p}: {type(obj).__name__}")
    prefixes = sorted({k[: -len("weight_ih_l0")] for k in obj if k.endswith("weight_ih_l0")})
    if not prefixes:
        raise NotAModelError("MODEL", "an nn.LSTM's tensors (a key ending in 'weight_ih_l0')", got=f"{p}: keys {sorted(obj)[:6]}")
    if len(prefixes) > 1:
        raise NotAModelError("MODEL", "exactly one nn.LSTM", got=f"{p}: LSTMs under {prefixes}")
    pre = prefixes[0]
    lstm_keys = [k for k in obj if k.startswith(pre) and k[len(pre):].startswith(("weight_", "bias_"))]
    unsupported = [k for k in lstm_keys if k[len(pre):] not in _LSTM_KEYS]
    if unsupported:
        raise NotAModelError(
            "MODEL", "a single-layer, unidirectional nn.LSTM without proj_size", got=f"{p}: keys {sorted(unsupported)[:4]}"
        )
    mapping: dict[str, Any] = {k: obj[pre + k] for k in _LSTM_KEYS if pre + k in obj}
    n_a = int(np.shape(mapping["weight_hh_l0"])[-1])
    rest = {k: v for k, v in obj.items() if k not in lstm_keys}
    notes: list[str] = []
    heads = []
    for k, v in rest.items():
        if k.endswith("weight") and len(np.shape(v)) == 2 and np.shape(v)[1] == n_a:
            name = k[: -len("weight")]
            bias = rest.get(name + "bias")
            if bias is None or np.shape(bias) == (np.shape(v)[0],):
                heads.append((name, k, None if bias is None else name + "bias"))
    used: set[str] = set()
    if len(heads) == 1:
        name, wk, bk = heads[0]
        n_y = int(np.shape(rest[wk])[0])
        mapping["W_y"] = rest[wk]
        mapping["b_y"] = rest[bk] if bk else np.zeros(n_y)
        used = {wk} | ({bk} if bk else set())
        notes.append(f"output layer W_y, b_y from nn.Linear {name.rstrip('.') or '(top level)'} ({n_y} x {n_a}); y = softmax of its logits")
    elif len(heads) > 1:
        notes.append(f"no output layer: several candidate nn.Linear layers on a⟨t⟩ ({', '.join(h[1] for h in heads)})")
    ignored = sorted(k for k in rest if k not in used)
    if ignored:
        notes.append(f"ignored tensors: {', '.join(ignored[:8])}{' …' if len(ignored) > 8 else ''} (bounds are for the LSTM's own inputs x⟨t⟩)")
    return LSTMWeights.from_torch(mapping), notes


# --- ONNX ------------------------------------------------------------------------------------

_ONNX_TO_TORCH = (0, 2, 3, 1)  # torch block k (i, f, g, o) is ONNX block _ONNX_TO_TORCH[k] (i, o, f, c)


def from_onnx(path: str | os.PathLike[str]) -> LSTMWeights:
    """Weights from an ONNX file with one ``LSTM`` node (constraints in the module docstring).
    Needs the ``onnx`` extra. Gate order i, o, f, c is mapped to the seed's Γ_u, Γ_o, Γ_f, c̃;
    ``B = [Wb, Rb]`` is summed with its exact rounding residual kept (as for PyTorch)."""
    return _from_onnx(_existing(path))[0]


def _from_onnx(p: str) -> tuple[LSTMWeights, list[str]]:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise NotAModelError("MODEL", "the onnx extra to read an ONNX file (pip install 'lstm_symbolic[onnx]')", got=p) from exc
    try:
        model = onnx.load(p)
    except Exception as exc:  # protobuf DecodeError and friends
        raise NotAModelError("MODEL", "a model file (.npz, .pt/.pth or .onnx)", got=p, detail=f"not ONNX: {type(exc).__name__}") from exc
    graph = model.graph
    consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(attr.t)
    lstms = [n for n in graph.node if n.op_type == "LSTM"]
    if len(lstms) != 1:
        raise NotAModelError("MODEL", "an ONNX graph with exactly one LSTM node", got=f"{p}: {len(lstms)} LSTM nodes")
    node = lstms[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    if direction != "forward":
        raise NotAModelError("MODEL", "a forward (single-direction) ONNX LSTM", got=f"{p}: direction={direction}")
    acts = [a.decode() if isinstance(a, bytes) else str(a) for a in attrs.get("activations", [])]
    if acts and [a.lower() for a in acts] != ["sigmoid", "tanh", "tanh"]:
        raise NotAModelError("MODEL", "the default ONNX LSTM activations (Sigmoid, Tanh, Tanh)", got=f"{p}: {acts}")
    if "clip" in attrs:
        raise NotAModelError("MODEL", "an ONNX LSTM without cell clipping", got=f"{p}: clip={attrs['clip']}")
    if int(attrs.get("input_forget", 0)):
        raise NotAModelError("MODEL", "an ONNX LSTM without input_forget coupling", got=f"{p}: input_forget=1")
    inputs = list(node.input) + [""] * (8 - len(node.input))

    def const(k: int, label: str, required: bool) -> np.ndarray | None:
        name = inputs[k]
        if not name:
            if required:
                raise NotAModelError("MODEL", f"an ONNX LSTM with input {label}", got=f"{p}: missing")
            return None
        if name not in consts:
            if required:
                raise NotAModelError("MODEL", f"ONNX LSTM input {label} stored as an initializer or Constant", got=f"{p}: {name!r} is computed in the graph")
            return None
        return np.asarray(consts[name], dtype=np.float64)

    W, Rm, B = const(1, "W", True), const(2, "R", True), const(3, "B", False)
    assert W is not None and Rm is not None
    if W.ndim != 3 or W.shape[0] != 1 or W.shape[1] % 4:
        raise NotAModelError("MODEL", "ONNX LSTM W of shape (1, 4 n_a, n_x)", got=f"{p}: shape {W.shape}")
    n_a4 = W.shape[1]
    n_a = n_a4 // 4
    if Rm.shape != (1, n_a4, n_a):
        raise NotAModelError("MODEL", f"ONNX LSTM R of shape (1, {n_a4}, {n_a})", got=f"{p}: shape {Rm.shape}")
    if B is not None and B.shape != (1, 2 * n_a4):
        raise NotAModelError("MODEL", f"ONNX LSTM B of shape (1, {2 * n_a4})", got=f"{p}: shape {B.shape}")
    if "hidden_size" in attrs and int(attrs["hidden_size"]) != n_a:
        raise NotAModelError("MODEL", f"hidden_size = {n_a} (from W)", got=f"{p}: hidden_size={attrs['hidden_size']}")
    peep = const(7, "P", False)
    if peep is not None and np.any(peep != 0):
        raise NotAModelError("MODEL", "an ONNX LSTM without peephole weights P", got=f"{p}: nonzero P")
    if inputs[4] and inputs[4] in consts:
        raise NotAModelError("MODEL", "an ONNX LSTM without sequence_lens (all sequences of full length)", got=p)
    notes: list[str] = []
    for k, label in ((5, "initial_h"), (6, "initial_c")):
        if not inputs[k]:
            continue
        value = _constant_through(graph, consts, inputs[k])
        if value is None:
            notes.append(f"{label} is computed in the graph; bounds assume a0 = c0 = 0 unless you pass them")
        elif np.any(value != 0):
            raise NotAModelError("MODEL", f"ONNX LSTM {label} zero (pass a non-zero initial state as a0/c0)", got=f"{p}: nonzero {label}")

    def torch_order(M: np.ndarray) -> np.ndarray:
        blocks = [M[j * n_a : (j + 1) * n_a] for j in range(4)]
        return np.concatenate([blocks[j] for j in _ONNX_TO_TORCH], axis=0)

    mapping: dict[str, Any] = {"weight_ih_l0": torch_order(W[0]), "weight_hh_l0": torch_order(Rm[0])}
    if B is not None:
        mapping["bias_ih_l0"] = torch_order(B[0, :n_a4])
        mapping["bias_hh_l0"] = torch_order(B[0, n_a4:])
    head = _onnx_head(graph, consts, n_a, _downstream(graph, node), notes)
    if head is not None:
        mapping["W_y"], mapping["b_y"] = head
    try:
        return LSTMWeights.from_torch(mapping), notes
    except InputError as exc:
        raise NotAModelError("MODEL", "an ONNX LSTM with finite weights of consistent shapes", got=p, detail=str(exc)) from exc


def _constant_through(graph: Any, consts: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    """The values of ``name`` when it is a constant, or a constant passed through shape-only
    ops (Expand, Reshape, Unsqueeze, Squeeze, Identity, Cast): enough to tell zeros."""
    producers = {o: n for n in graph.node for o in n.output}
    for _ in range(16):
        if name in consts:
            return consts[name]
        node = producers.get(name)
        if node is None or node.op_type not in ("Expand", "Reshape", "Unsqueeze", "Squeeze", "Identity", "Cast"):
            return None
        name = node.input[0]
    return None


def _downstream(graph: Any, lstm: Any) -> set[str]:
    """Names of every value computed from the LSTM node's outputs (nodes are topologically
    sorted in a valid ONNX graph)."""
    names = {o for o in lstm.output if o}
    for node in graph.node:
        if any(i in names for i in node.input):
            names.update(o for o in node.output if o)
    return names


def _onnx_head(
    graph: Any, consts: dict[str, np.ndarray], n_a: int, after: set[str], notes: list[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The output layer: one Gemm / MatMul(+Add) by constants applied to a value computed
    from the LSTM (``after``); None when there is none or more than one."""
    import onnx

    found = []
    for node in graph.node:
        if not node.input or node.input[0] not in after:
            continue
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if float(attrs.get("alpha", 1.0)) != 1.0 or float(attrs.get("beta", 1.0)) != 1.0 or int(attrs.get("transA", 0)):
                continue
            if len(node.input) < 2 or node.input[1] not in consts:
                continue
            Wm = np.asarray(consts[node.input[1]], dtype=np.float64)
            Wy = Wm if int(attrs.get("transB", 0)) else Wm.T
            if Wy.ndim != 2 or Wy.shape[1] != n_a:
                continue
            b = np.zeros(Wy.shape[0])
            if len(node.input) > 2 and node.input[2]:
                if node.input[2] not in consts:
                    continue
                b = np.broadcast_to(np.asarray(consts[node.input[2]], dtype=np.float64), (Wy.shape[0],)).copy()
            found.append((node.name or "Gemm", Wy, b))
        elif node.op_type == "MatMul" and len(node.input) == 2 and node.input[1] in consts:
            Wm = np.asarray(consts[node.input[1]], dtype=np.float64)
            if Wm.ndim != 2 or Wm.shape[0] != n_a:
                continue
            Wy = Wm.T
            b = np.zeros(Wy.shape[0])
            users = [n for n in graph.node if node.output[0] in n.input]
            if len(users) == 1 and users[0].op_type == "Add":
                other = [i for i in users[0].input if i != node.output[0]]
                if other and other[0] in consts and np.asarray(consts[other[0]]).shape in ((Wy.shape[0],), (1, Wy.shape[0])):
                    b = np.asarray(consts[other[0]], dtype=np.float64).reshape(-1)
            found.append((node.name or "MatMul", Wy, b))
    if len(found) == 1:
        name, Wy, b = found[0]
        notes.append(f"output layer W_y, b_y from ONNX node {name} ({Wy.shape[0]} x {n_a}); y = softmax of its logits")
        return Wy, b
    if len(found) > 1:
        notes.append(f"no output layer: several candidate ONNX nodes ({', '.join(f[0] for f in found)})")
    return None
