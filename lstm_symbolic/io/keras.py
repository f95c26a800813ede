"""Keras: ``.keras`` files (a zip of ``config.json`` and ``model.weights.h5``) and legacy ``.h5``
files written by ``model.save`` — read with h5py and json only (the ``keras`` extra installs
h5py; neither Keras nor TensorFlow is imported).

Accepted: a ``Sequential`` model, or a ``Functional`` one that is a single chain, of

    [InputLayer] -> [Embedding] -> LSTM / GRU / Bidirectional(LSTM / GRU) … -> [Dropout] -> [Dense]

Keras stores ``kernel`` as (n_x, k·units) and ``recurrent_kernel`` as (units, k·units), gate
blocks in the order of :data:`GATES` (LSTM i, f, c, o; GRU z, r, h); ``bias`` (k·units,), or
(2, 3·units) for a GRU with ``reset_after=True`` (input and recurrent biases, the reset
multiplying after the recurrent matmul — Keras 3's default; ``reset_after=False`` multiplies
before it). Every recurrent layer but the last must return sequences; the last one's output is
a⟨t⟩ at every step (``return_sequences=True``: a ``Dense`` after it is the output layer at
every step) or at the last step only (then the ``Dense`` is applied to y⟨T⟩ only — the note
says so). ``Dense`` with ``activation="linear"`` or ``"softmax"`` is the output layer
``y = softmax(W a + b)``; any other activation, or layers after it, leaves the model without
an output layer (a note says why). ``Dropout`` is the identity at inference.

Refused, naming the option: ``recurrent_activation`` other than ``sigmoid`` (``hard_sigmoid``),
``activation`` other than ``tanh``, ``return_state``, ``go_backwards``, ``stateful``, masking
(``Masking`` layers, ``Embedding(mask_zero=True)``), a ``Bidirectional`` layer that does not
return sequences (its output is the backward layer's state after the whole sequence, not
a⟨T⟩) or whose ``merge_mode`` is not ``concat``, any other layer class.

In a ``.keras`` file the weights of a layer are under ``layers/<key>/…/vars/<i>``, ``<key>``
the layer class in snake case, numbered ``_1``, ``_2`` … in the order of the model's layers
(``lstm``, ``lstm_1``, …); in a legacy ``.h5`` under ``model_weights/<layer name>``, listed by
its ``weight_names`` attribute.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import numpy as np

from ..errors import NotAModelError
from .description import Description, Head, HeadRequest, Recurrent, Tensor, head_request

__all__ = ["GATES", "LABELS", "read_file", "describe"]

#: How Keras stacks the gate blocks of ``LSTM`` / ``GRU`` (the Keras layer code), each as
#: (Keras's letter, the seed's gate): LSTM i -> Γ_u, f -> Γ_f, c -> c̃, o -> Γ_o; GRU z, r and
#: the candidate h -> n. The only place this order is written.
GATES: dict[str, tuple[tuple[str, str], ...]] = {
    "lstm": (("i", "u"), ("f", "f"), ("c", "c"), ("o", "o")),
    "gru": (("z", "z"), ("r", "r"), ("h", "n")),
}
LABELS = {"lstm": "Keras LSTM", "gru": "Keras GRU"}
_RECURRENT = {"LSTM": "lstm", "GRU": "gru"}
_IDENTITY = {"Dropout", "SpatialDropout1D", "GaussianDropout", "AlphaDropout"}


def _h5py(argument: str, source: str) -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise NotAModelError(argument, "the keras extra to read a Keras file (pip install 'lstm_symbolic[keras]': h5py)", got=source) from exc
    return h5py


def _clean(exc: Exception) -> str:
    return (str(exc).splitlines() or [""])[0][:120]


def _snake(name: str) -> str:
    """Keras's ``to_snake_case`` of a class name (``Bidirectional`` -> ``bidirectional``)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s if s[0] != "_" else "private" + s


# --- weights -------------------------------------------------------------------------------------


class _Weights:
    """The weights of one layer, read in Keras's own order, with their names in the file."""

    def __init__(self, kind: str, root: Any, source: str) -> None:
        self.kind, self.root, self.source = kind, root, source
        self.counts: dict[str, int] = {}

    def key(self, class_name: str) -> str:
        """The ``.keras`` key of the next layer of ``class_name``."""
        stem = _snake(class_name)
        n = self.counts.get(stem, 0)
        self.counts[stem] = n + 1
        return stem if n == 0 else f"{stem}_{n}"

    def _v3(self, path: str) -> list[Tensor]:
        group = self.root.get(path)
        if group is None:
            return []
        names = sorted((k for k in group.keys()), key=lambda k: int(k) if k.isdigit() else 1 << 30)
        return [Tensor(np.asarray(group[k][()], dtype=np.float64), f"{path}/{k}") for k in names]

    def of(self, class_name: str, name: str, sub: str = "") -> list[Tensor]:
        """The weights of layer ``name`` (class ``class_name``); ``sub``: ``forward`` or
        ``backward`` for a Bidirectional layer's halves."""
        if self.kind == "keras":
            key = self._current
            base = f"layers/{key}" + (f"/{sub}_layer" if sub else "")
            out = self._v3(f"{base}/cell/vars") if class_name in _RECURRENT or sub else self._v3(f"{base}/vars")
            return out
        group = self.root.get(name)
        if group is None:
            return []
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
        if sub:
            names = [n for n in names if f"/{sub}_" in n]
        return [Tensor(np.asarray(group[n][()], dtype=np.float64), n) for n in names]

    def enter(self, class_name: str) -> None:
        if self.kind == "keras":
            self._current = self.key(class_name)


# --- the layer chain -----------------------------------------------------------------------------


def _inbound(layer: dict[str, Any]) -> list[str]:
    """Names of the layers feeding ``layer`` in a Functional config (Keras 3 and tf.keras)."""
    names: list[str] = []
    for node in layer.get("inbound_nodes") or []:
        if isinstance(node, dict):  # Keras 3: {"args": [keras tensor, …], "kwargs": …}
            def walk(v: Any) -> None:
                if isinstance(v, dict):
                    if v.get("class_name") == "__keras_tensor__":
                        names.append(v["config"]["keras_history"][0])
                    else:
                        for x in v.values():
                            walk(x)
                elif isinstance(v, list):
                    for x in v:
                        walk(x)

            walk(node.get("args", []))
        elif isinstance(node, list):  # tf.keras: [[name, node index, tensor index, kwargs], …]
            names.extend(str(item[0]) for item in node if isinstance(item, list) and item)
    return names


def _chain(config: dict[str, Any], source: str, argument: str) -> list[dict[str, Any]]:
    """The model's layers in order (InputLayer dropped), or a refusal when it is not one chain."""
    cls = config.get("class_name")
    inner = config.get("config", {})
    if cls == "Sequential":
        layers = inner.get("layers", [])
        return [layer for layer in layers if layer.get("class_name") != "InputLayer"]
    if cls in ("Functional", "Model"):
        layers = inner.get("layers", [])
        names = [layer.get("name") or layer["config"]["name"] for layer in layers]
        chain = []
        previous = None
        for layer, name in zip(layers, names):
            if layer.get("class_name") == "InputLayer":
                if previous is not None:
                    raise NotAModelError(argument, "a Functional model that is one chain of layers", got=f"{source}: several inputs")
                previous = name
                continue
            ins = _inbound(layer)
            if ins != [previous]:
                raise NotAModelError(argument, "a Functional model that is one chain of layers (each reading the one before)",
                                     got=f"{source}: layer {name!r} reads {ins or 'nothing'}")
            chain.append(layer)
            previous = name
        outs = inner.get("output_layers")
        out_names = [outs[0]] if outs and isinstance(outs[0], str) else [o[0] for o in outs or []]
        if out_names != [previous]:
            raise NotAModelError(argument, "a Functional model whose one output is its last layer", got=f"{source}: outputs {out_names}")
        return chain
    raise NotAModelError(argument, "a Keras Sequential or Functional model", got=f"{source}: a {cls}")


def _layer_name(layer: dict[str, Any]) -> str:
    return str(layer.get("name") or layer.get("config", {}).get("name", "?"))


def _check_recurrent(cfg: dict[str, Any], what: str, notes: list[str]) -> list[tuple[str, str]]:
    """Options of a Keras LSTM / GRU config that the cell cannot bound, as ``(feature, what
    the file says)``; notes for those that do not matter at inference."""
    bad = []
    if cfg.get("activation", "tanh") != "tanh":
        bad.append(("activation", f"{what}: activation={cfg['activation']!r}; only 'tanh'"))
    if cfg.get("recurrent_activation", "sigmoid") != "sigmoid":
        bad.append(("recurrent_activation", f"{what}: recurrent_activation={cfg['recurrent_activation']!r}; only 'sigmoid' "
                    "(hard_sigmoid is a different gate)"))
    for flag, why in (("return_state", "the layer returns its states as extra outputs"),
                      ("go_backwards", "the layer reads the sequence backwards and returns the outputs reversed"),
                      ("stateful", "the initial state is the previous batch's final state: pass it as a0 / c0 instead")):
        if cfg.get(flag):
            bad.append((flag, f"{what}: {flag}=True ({why})"))
    if cfg.get("time_major"):
        notes.append(f"{what}: time_major=True: same weights; the library's inputs are (T, B, n_x)")
    for flag in ("dropout", "recurrent_dropout"):
        if cfg.get(flag):
            notes.append(f"{what}: {flag}={cfg[flag]}: the identity at inference; the bounds are for inference")
    return bad


def _recurrent(kind: str, cfg: dict[str, Any], weights: list[Tensor], name: str, index: int, direction: str,
               unsupported: list[tuple[str, str]], source: str, argument: str) -> Recurrent:
    units = int(cfg.get("units", 0))
    k = len(GATES[kind])
    use_bias = bool(cfg.get("use_bias", True))
    if len(weights) != (3 if use_bias else 2):
        raise NotAModelError(argument, f"a {LABELS[kind]} layer with kernel, recurrent_kernel{' and bias' if use_bias else ''}",
                             got=f"{source}: layer {name!r} has {len(weights)} weight arrays ({', '.join(t.name for t in weights)})")
    kernel, rec = weights[0], weights[1]
    if kernel.value.ndim != 2 or kernel.value.shape[1] != k * units or rec.value.shape != (units, k * units):
        raise NotAModelError(argument, f"{LABELS[kind]} kernel (n_x, {k * units}) and recurrent_kernel ({units}, {k * units})",
                             got=f"{source}: layer {name!r}: {kernel.value.shape}, {rec.value.shape}")
    b_x = b_a = None
    reset_after = True
    if kind == "gru":
        reset_after = bool(cfg.get("reset_after", True))
    if use_bias:
        bias = weights[2]
        if kind == "gru" and reset_after:
            if bias.value.shape != (2, k * units):
                raise NotAModelError(argument, f"a GRU(reset_after=True) bias of shape (2, {k * units})", got=f"{source}: {bias.name} {bias.value.shape}")
            b_x, b_a = Tensor(bias.value[0], bias.name, (0,)), Tensor(bias.value[1], bias.name, (1,))
        else:
            if bias.value.shape != (k * units,):
                raise NotAModelError(argument, f"a bias of shape ({k * units},)", got=f"{source}: {bias.name} {bias.value.shape}")
            b_x = bias
    notes = [] if use_bias else [f"layer {name!r} has use_bias=False: its biases are 0"]
    return Recurrent(kind, LABELS[kind], name, GATES[kind], Tensor(kernel.value.T, kernel.name + ".T"), Tensor(rec.value.T, rec.name + ".T"),
                     b_x, b_a, layer=index, direction=direction, reset_after=reset_after, unsupported=tuple(unsupported), notes=tuple(notes))


def describe(config: dict[str, Any], weights: _Weights, source: str, head: Any = None, argument: str = "path") -> Description:
    """Parse a Keras model config and its weights into a :class:`.Description` (module docstring)."""
    request = head if isinstance(head, HeadRequest) else head_request(head)
    chain = _chain(config, source, argument)
    notes: list[str] = []
    layers: list[Recurrent] = []
    emb: Tensor | None = None
    head_desc: Head | None = None
    sequence = True  # whether the value so far is a sequence (every step)
    dense_seen: list[str] = []
    left_out: list[str] = []
    why_no_head = ""
    for position, layer in enumerate(chain):
        cls, cfg, name = layer.get("class_name"), layer.get("config", {}), _layer_name(layer)
        weights.enter(cls)
        after_head = bool(dense_seen)
        if cls == "Masking":
            raise NotAModelError(argument, "a Keras model without masking", got=f"{source}: Masking layer {name!r} (masked steps skip the update)")
        if cls == "Embedding":
            if layers or emb is not None or after_head:
                raise NotAModelError(argument, "an Embedding only in front of the first recurrent layer", got=f"{source}: layer {name!r}")
            if cfg.get("mask_zero"):
                raise NotAModelError(argument, "an Embedding without mask_zero", got=f"{source}: layer {name!r} has mask_zero=True "
                                     "(token 0 masks steps: they skip the update)")
            (E,) = weights.of(cls, name) or [None]
            if E is None or E.value.ndim != 2:
                raise NotAModelError(argument, "an Embedding with one (vocabulary, dim) matrix", got=f"{source}: layer {name!r}")
            emb = E
            notes.append(f"embedding E from layer {name!r} ({E.value.shape[0]} tokens x {E.value.shape[1]}): inputs are tokens (one-hot)")
            continue
        if cls in _IDENTITY:
            notes.append(f"{cls} layer {name!r}: the identity at inference")
            continue
        if cls in _RECURRENT or cls == "Bidirectional":
            if after_head:
                raise NotAModelError(argument, "recurrent layers before the Dense output layer", got=f"{source}: layer {name!r} after {dense_seen[-1]!r}")
            if not sequence:
                raise NotAModelError(argument, "every recurrent layer but the last with return_sequences=True",
                                     got=f"{source}: layer {name!r} reads the last output of the layer before it only")
            if cls == "Bidirectional":
                inner = cfg.get("layer", {})
                kind = _RECURRENT.get(inner.get("class_name"))
                if kind is None:
                    raise NotAModelError(argument, "Bidirectional(LSTM) or Bidirectional(GRU)", got=f"{source}: layer {name!r} wraps {inner.get('class_name')}")
                if cfg.get("merge_mode", "concat") != "concat":
                    raise NotAModelError(argument, "Bidirectional(merge_mode='concat')", got=f"{source}: layer {name!r} merge_mode={cfg.get('merge_mode')!r}")
                icfg = inner.get("config", {})
                if not icfg.get("return_sequences"):
                    raise NotAModelError(argument, "Bidirectional layers with return_sequences=True",
                                         got=f"{source}: layer {name!r} returns [forward state at T; backward state after the whole sequence], "
                                         "not a⟨T⟩ (the backward half is the output at step 1)")
                back_cfg = (cfg.get("backward_layer") or {}).get("config", icfg)
                for sub, c in (("forward", icfg), ("backward", back_cfg)):
                    c = dict(c, go_backwards=False)  # the wrapper's backward layer reads backwards by construction
                    bad = _check_recurrent(c, f"layer {name!r} ({sub})", notes)
                    layers.append(_recurrent(kind, c, weights.of(cls, name, sub), name, len({r.layer for r in layers}) if sub == "forward" else layers[-1].layer,
                                             "forward" if sub == "forward" else "reverse", bad, source, argument))
                sequence = True
                continue
            kind = _RECURRENT[cls]
            bad = _check_recurrent(cfg, f"layer {name!r}", notes)
            layers.append(_recurrent(kind, cfg, weights.of(cls, name), name, len({r.layer for r in layers}), "forward", bad, source, argument))
            sequence = bool(cfg.get("return_sequences", False))
            continue
        if cls == "Dense":
            dense_seen.append(name)
            W = weights.of(cls, name)
            activation = cfg.get("activation", "linear")
            reads = "every step" if sequence else "the last step"
            if len(dense_seen) > 1:
                head_desc, why_no_head = None, f"several Dense layers ({', '.join(map(repr, dense_seen))}): an MLP, not one output layer"
                left_out.append(name)
                continue
            if not layers:
                raise NotAModelError(argument, "a recurrent layer before the Dense layer", got=f"{source}: layer {name!r}")
            if activation not in ("linear", "softmax"):
                why_no_head = f"Dense {name!r} has activation={activation!r}: y = softmax(W a + b) is not that model"
                left_out.append(name)
                continue
            if len(W) != (2 if cfg.get("use_bias", True) else 1) or W[0].value.ndim != 2:
                raise NotAModelError(argument, "a Dense layer with kernel (and bias)", got=f"{source}: layer {name!r} has {len(W)} arrays")
            kernel = W[0]
            b = W[1] if len(W) > 1 else None
            head_desc = Head(Tensor(kernel.value.T, kernel.name + ".T"), b, f"Dense {name!r}", reads=reads,
                             how=f"the model's last layer (activation={activation!r})")
            continue
        if cls in ("Activation", "Softmax") and dense_seen and head_desc is not None:
            act = cfg.get("activation", "softmax") if cls == "Activation" else "softmax"
            if act == "softmax" and (cls == "Activation" or cfg.get("axis", -1) == -1):
                notes.append(f"{cls} layer {name!r}: the softmax of the output layer")
                continue
            why_no_head = f"layer {name!r} ({cls} {act!r}) after the Dense layer"
            head_desc = None
            left_out.append(name)
            continue
        raise NotAModelError(argument, "Keras layers InputLayer, Embedding, LSTM, GRU, Bidirectional, Dropout, Dense (a chain)",
                             got=f"{source}: layer {name!r} of class {cls}")
    if head_desc is not None and request.mode == "none":
        left_out.append(head_desc.name)
        why_no_head, head_desc = "not asked for (head=False)", None
    elif request.mode == "named" and (head_desc is None or request.name not in (head_desc.name, head_desc.name.split(" ", 1)[-1].strip("'"))):
        raise NotAModelError("head", "the name of the model's Dense output layer", got=f"{request.name!r}; "
                             + (f"the output layer is {head_desc.name}" if head_desc else f"{source} has none ({why_no_head or 'no Dense layer'})"))
    elif request.mode == "required" and head_desc is None:
        raise NotAModelError("head", "an output layer (a Dense layer at the end)", got=f"{source}: {why_no_head or 'none'}")
    if why_no_head:
        notes.append(f"no output layer imported: {why_no_head}")
    if left_out:
        notes.append(f"left out (not part of the bounded model): {', '.join(map(repr, left_out))}")
    if len({r.layer for r in layers}) > 1:
        notes.append("stacked recurrent layers, each reading the sequence the layer before returns")
    return Description(source, "Keras LSTM", tuple(layers), head_desc, notes=tuple(notes), left_out=tuple(left_out), embedding=emb, chained=True)


def read_file(path: str, head: Any = None, argument: str = "path", kind: str = "keras") -> Description:
    """Parse a ``.keras`` zip (``kind="keras"``) or a legacy ``.h5`` file (``kind="hdf5"``)."""
    h5py = _h5py(argument, path)
    if kind == "keras":
        source = f"{path} (Keras)"
        try:
            with zipfile.ZipFile(path) as z:
                config = json.loads(z.read("config.json"))
                names = z.namelist()
                if "model.weights.h5" not in names:
                    raise NotAModelError(argument, "a .keras file with model.weights.h5", got=f"{path}: {', '.join(names[:6])}")
                data = z.read("model.weights.h5")
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NotAModelError(argument, "a .keras file (config.json and model.weights.h5)", got=f"{path}: {type(exc).__name__}") from None
        try:
            f = h5py.File(io.BytesIO(data), "r")
        except OSError as exc:
            raise NotAModelError(argument, "a .keras file whose model.weights.h5 is HDF5", got=f"{path}: {_clean(exc)}") from None
        with f:
            return describe(config, _Weights("keras", f, source), source, head, argument)
    source = f"{path} (Keras HDF5)"
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NotAModelError(argument, "a Keras .h5 model file", got=f"{path}: not a readable HDF5 file ({_clean(exc)})") from None
    with f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise NotAModelError(argument, "a Keras .h5 file written by model.save (with its model_config)",
                                 got=f"{path}: an HDF5 file without a model config (weights only, e.g. save_weights: the architecture is missing)")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        root = f["model_weights"] if "model_weights" in f else f
        return describe(config, _Weights("hdf5", root, source), source, head, argument)
