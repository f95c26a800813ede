"""PyTorch: state dicts (in memory, or files written by ``torch.save``) and live modules.

Accepted (everything else is refused by :func:`.description.refusal` or below, naming what):

1. the ``state_dict()`` of an ``nn.LSTM`` or ``nn.GRU`` — any ``num_layers`` (keys
   ``weight_ih_l0``, ``weight_ih_l1`` …; dropout between layers is the identity at inference),
   ``bidirectional=True`` (``…_reverse`` keys), ``proj_size`` (``weight_hr_l0``), ``bias=False``:
   ``weight_ih_l0`` (k n_a, n_x), ``weight_hh_l0`` (k n_a, n_a), ``bias_ih_l0``,
   ``bias_hh_l0`` (k n_a,), k = 4 (LSTM) or 3 (GRU);
2. the ``state_dict()`` of a module containing one such layer under any prefix
   (``lstm.weight_ih_l0``, ``encoder.rnn.weight_ih_l0``, …), with an ``nn.Embedding`` in front
   when it is unambiguous (below) and an output layer when it is unambiguous;
3. either of them inside a training checkpoint (``{"state_dict": …}``, ``{"model_state_dict":
   …, "epoch": …}``: the one entry that holds the recurrent layer; a ``"vocab"`` / ``"itos"``
   entry holding the input symbols is read as the vocabulary);
4. a live ``nn.Module`` whose ``forward`` ``torch.fx`` can trace into
   ``[nn.Embedding] -> nn.LSTM / nn.GRU -> [last step] -> [nn.Dropout] -> [nn.Linear]``
   (:func:`describe_module`).

**Embedding.** A state dict has no graph either: a bias-free ``<name>.weight`` (V, n_x) in
front of the first layer is taken as an ``nn.Embedding`` only when it is the only such
tensor and its module's name says so (contains ``emb``, as ``emb``, ``embed``,
``embedding`` …), with a note; ``embedding="name"`` names one, ``embedding=False`` takes none
(then the bounds are for the LSTM's own input). The model's inputs are then the V tokens
(one-hot sets, ``ls.OneHot(V)``), the embedding rows ``E[k]`` exactly.

**Bidirectional output layers.** A Linear reading ``2 n_a`` features of a bidirectional last
layer may read the output sequence ``out[t] = [a_forward⟨t⟩; a_reverse⟨t⟩]`` or the final
states ``cat(h_n[-2], h_n[-1])`` — different models (the reverse direction's final state is its
output at step 1). A state dict cannot tell: such a head is taken only when named
(``head="fc"``, which means ``fc(out[t])``); a live module shows which.

**Output layer.** A state dict carries no graph, so the reader never guesses which tensor is
the output layer: it takes one only when the file leaves no doubt — the tensors outside the
LSTM are exactly one ``<name>.weight`` (n_y, n_a) with its ``<name>.bias`` (n_y,), and
n_y ≠ n_x (otherwise it could be an input projection in front of the LSTM). A bias-free matrix
could be an ``nn.Embedding``; several Linears, or any other tensor, could sit in front of the
LSTM or between it and the Linear (an MLP head). Then the LSTM is imported alone, with a note
saying why; ``head="fc"`` names the output layer, ``head=False`` takes none, ``head=True``
asks for one (an error when there is doubt). Even an unambiguous pair assumes nothing
parameter-free (an activation) sits between ``a⟨t⟩`` and the Linear — the note says so; a
live module (4) shows its graph and needs no such assumption.

Files are read with ``torch.load(path, map_location="cpu", weights_only=True)``: pickled code
is never run; a whole pickled module (``torch.save(model)``) is recognised from the pickle's
class references (read without unpickling) and refused with the advice to save
``model.state_dict()``.
"""

from __future__ import annotations

import pickletools
import re
import zipfile
from typing import Any, Mapping

import numpy as np

from .._validate import real_array

from ..errors import NotAModelError
from .description import Description, Head, HeadRequest, Recurrent, Tensor, build, head_request, refusal

__all__ = ["GATES", "LABELS", "describe_state_dict", "describe_module", "read_file", "from_state_dict", "from_module", "to_state_dict"]

#: How PyTorch stacks the gate blocks of ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (the torch.nn
#: documentation), each block as (PyTorch's letter, the seed's gate): for the LSTM
#: i -> Γ_u, f -> Γ_f, g -> c̃, o -> Γ_o. The only place this order is written.
GATES: dict[str, tuple[tuple[str, str], ...]] = {
    "lstm": (("i", "u"), ("f", "f"), ("g", "c"), ("o", "o")),
    "gru": (("r", "r"), ("z", "z"), ("n", "n")),
    "rnn": (("h", "h"),),
}
#: What PyTorch calls each kind of recurrent layer.
LABELS = {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN"}
_KIND_BY_BLOCKS = {len(v): k for k, v in GATES.items()}

#: ``<prefix>weight_ih_l0``, ``<prefix>bias_hh_l1_reverse``, ``<prefix>weight_hr_l0`` …
_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<param>weight|bias)_(?P<which>ih|hh|hr)_l(?P<layer>\d+)(?P<reverse>_reverse)?$")
_SAVE_ADVICE = "torch.save(model.state_dict(), path)"


def _array(value: Any, name: str = "tensor") -> np.ndarray | None:
    """A tensor or array as float64 holding exactly its numbers (no finiteness check: the
    builder reports NaN by name); None for values that are not arrays at all. Complex, boolean
    and integer values float64 would round are refused by the one validator, naming ``name``
    (:func:`~lstm_symbolic._validate.real_array`)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    if not (hasattr(value, "detach") or isinstance(value, (np.ndarray, np.generic, list, tuple, int, float))):
        return None
    return real_array(value, name)


def _names(keys: Any, n: int = 6) -> str:
    keys = sorted(map(str, keys))
    return ", ".join(keys[:n]) + (f", … ({len(keys)} in all)" if len(keys) > n else "")


# --- state dicts ---------------------------------------------------------------------------------


_VOCAB_KEYS = ("vocab", "itos", "vocabulary")


def _checkpoint_vocab(obj: Any) -> tuple[str, tuple[str, ...]] | None:
    """``(key, symbols)`` of a checkpoint entry holding the input symbols (a list of strings
    under ``vocab`` / ``itos`` / ``vocabulary``), or None."""
    if not isinstance(obj, Mapping):
        return None
    for key in _VOCAB_KEYS:
        v = obj.get(key)
        if isinstance(v, (list, tuple)) and v and all(isinstance(i, str) for i in v):
            return key, tuple(v)
    return None


def _unwrap(obj: Any, source: str, argument: str, notes: list[str]) -> Mapping[str, Any]:
    """The state dict inside ``obj``: ``obj`` itself, or the one entry of a checkpoint dict that
    holds recurrent-layer keys (``state_dict``, ``model_state_dict``, …)."""
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        raise NotAModelError(argument, "a PyTorch state dict (a mapping of names to tensors; save one with " + _SAVE_ADVICE + ")",
                             got=f"{source}: {type(obj).__name__}")
    if any(_KEY.match(k) for k in obj):
        return obj
    inner = [k for k, v in obj.items() if isinstance(v, Mapping) and any(isinstance(i, str) and _KEY.match(i) for i in v)]
    if len(inner) == 1:
        others = [k for k in obj if k != inner[0]]
        notes.append(f"read the checkpoint entry {inner[0]!r}" + (f"; other entries left out: {_names(others)}" if others else ""))
        return obj[inner[0]]
    if len(inner) > 1:
        raise NotAModelError(argument, "a checkpoint with one state dict", got=f"{source}: several entries hold recurrent layers ({_names(inner)})")
    return obj


def _layers(state: Mapping[str, Any], source: str, argument: str) -> tuple[list[Recurrent], set[str]]:
    """The recurrent layers in ``state`` (one entry per module prefix, layer and direction) and
    the keys they use."""
    groups: dict[tuple[str, int, bool], dict[str, tuple[str, np.ndarray]]] = {}
    for key, value in state.items():
        m = _KEY.match(key)
        if m is None:
            continue
        arr = _array(value, key)
        if arr is None:
            raise NotAModelError(argument, f"{key} a numeric tensor", got=f"{source}: {type(value).__name__}")
        slot = (m["prefix"], int(m["layer"]), bool(m["reverse"]))
        groups.setdefault(slot, {})[f"{m['param']}_{m['which']}"] = (key, arr)
    layers, used = [], set()
    for (prefix, index, reverse), params in sorted(groups.items()):
        missing = [p for p in ("weight_ih", "weight_hh") if p not in params]
        if missing:
            where = f"{prefix}…_l{index}{'_reverse' if reverse else ''}"
            raise NotAModelError(argument, "an nn.LSTM state dict with weight_ih_l0 and weight_hh_l0",
                                 got=f"{source}: {where} has no {' or '.join(missing)} (keys {_names(k for k, _ in params.values())})")
        (kih, W_ih), (khh, W_hh) = params["weight_ih"], params["weight_hh"]
        hr = params.get("weight_hr")
        n_a = hr[1].shape[-1] if hr is not None else (W_hh.shape[-1] if W_hh.ndim == 2 else 0)
        blocks = W_hh.shape[0] / n_a if (W_hh.ndim == 2 and n_a) else 0
        kind = _KIND_BY_BLOCKS.get(int(blocks)) if float(blocks).is_integer() else None
        if kind is None:
            raise NotAModelError(argument, "an nn.LSTM: weight_hh_l0 of shape (4 n_a, n_a)", got=f"{source}: {khh} has shape {W_hh.shape}")
        bias = {p: Tensor(params[p][1], params[p][0]) for p in ("bias_ih", "bias_hh") if p in params}
        layers.append(Recurrent(
            kind=kind, label=LABELS[kind], name=prefix, gates=GATES[kind],
            W_x=Tensor(W_ih, kih), W_a=Tensor(W_hh, khh), b_x=bias.get("bias_ih"), b_a=bias.get("bias_hh"),
            layer=index, direction="reverse" if reverse else "forward",
            projection=None if hr is None else Tensor(hr[1], hr[0]),
        ))
        used.update(k for k, _ in params.values())
    return layers, used


def _modules(keys: list[str]) -> dict[str, dict[str, str]]:
    """Keys grouped by module: ``"fc.weight"`` -> ``{"fc": {"weight": "fc.weight"}}``."""
    out: dict[str, dict[str, str]] = {}
    for k in keys:
        module, _, param = k.rpartition(".")
        out.setdefault(module, {})[param] = k
    return out


def _linear(state: Mapping[str, Any], params: dict[str, str], n_a: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(weight, bias)`` when ``params`` are those of an ``nn.Linear`` reading ``n_a`` features
    (weight (n_y, n_a), optional bias (n_y,), nothing else), else None."""
    if "weight" not in params or set(params) - {"weight", "bias"}:
        return None
    W = _array(state[params["weight"]], params["weight"])
    b = _array(state[params["bias"]], params["bias"]) if "bias" in params else None
    if W is None or W.ndim != 2 or W.shape[1] != n_a or W.shape[0] == 0:
        return None
    if "bias" in params and (b is None or b.shape != (W.shape[0],)):
        return None
    return W, b


def _label(module: str) -> str:
    return repr(module) if module else "(the top level)"


def _is_embedding(state: Mapping[str, Any], params: dict[str, str], n_x: int) -> np.ndarray | None:
    """The matrix (V, n_x) when ``params`` are those of an ``nn.Embedding`` feeding ``n_x``
    features (a weight of that shape and nothing else), else None."""
    if set(params) != {"weight"}:
        return None
    E = _array(state[params["weight"]], params["weight"])
    return E if E is not None and E.ndim == 2 and E.shape[1] == n_x and E.shape[0] >= 1 else None


def _embedding(state: Mapping[str, Any], rest: list[str], n_x: int, request: Any, source: str, notes: list[str]) -> Tensor | None:
    """The embedding in front of the first layer, following the module docstring's rules."""
    modules = _modules(rest)
    if request is False or request == "none":
        return None
    if isinstance(request, str):
        name = request[: -len(".weight")] if request.endswith(".weight") else request.rstrip(".")
        E = _is_embedding(state, modules.get(name, {}), n_x)
        if E is None:
            raise NotAModelError("embedding", f"the name of an nn.Embedding in the state dict ({name}.weight of shape (V, {n_x}), nothing else)",
                                 got=f"{request!r}; {source} has {_names(m for m, p in modules.items() if 'weight' in p) or 'no such module'}")
        return Tensor(E, modules[name]["weight"])
    found = {m: E for m, p in modules.items() if (E := _is_embedding(state, p, n_x)) is not None}
    named = [m for m in found if "emb" in m.rsplit(".", 1)[-1].lower()]
    if len(found) == 1 and len(named) == 1:
        (m,) = named
        notes.append(f"embedding E from {_label(m)} ({found[m].shape[0]} tokens x {n_x}): a bias-free matrix feeding the first layer's "
                     f"{n_x} inputs, named like an nn.Embedding; inputs are tokens (one-hot over {found[m].shape[0]}); embedding=False "
                     "takes none")
        return Tensor(found[m], modules[m]["weight"])
    if found:
        notes.append(f"no embedding imported: {', '.join(map(_label, found))} could be an nn.Embedding in front of the first layer "
                     f"(name it: embedding={next(iter(found))!r}); bounds are for the first layer's own input")
    return None


def describe_state_dict(obj: Any, source: str = "state dict", head: Any = None, argument: str = "state_dict", embedding: Any = None) -> Description:
    """Parse a state dict (or a checkpoint holding one) into a :class:`.Description`: its
    recurrent layers and, following the module docstring's rules, its embedding and output
    layer. ``embedding``: None (only an unambiguous one), False, or a module name."""
    request = head if isinstance(head, HeadRequest) else head_request(head)
    notes: list[str] = []
    state = _unwrap(obj, source, argument, notes)
    found_vocab = _checkpoint_vocab(obj) if state is not obj else None
    layers, used = _layers(state, source, argument)
    if not layers:
        raise NotAModelError(argument, "a PyTorch state dict of an nn.LSTM or nn.GRU (keys weight_ih_l0, weight_hh_l0, …, possibly under a "
                             "prefix like 'lstm.')", got=f"{source}: keys {_names(state)}")
    label = LABELS[layers[0].kind]
    rest = [k for k in state if k not in used]
    if refusal(Description(source, "nn.LSTM", tuple(layers))) is not None:  # no head to look for: the builder says why
        return Description(source=source, lstm_label="nn.LSTM", layers=tuple(layers), notes=tuple(notes), left_out=tuple(rest))
    depth = max(layer.layer for layer in layers) + 1
    last = [layer for layer in layers if layer.layer == depth - 1]
    n_a = sum(layer.n_out for layer in last)
    bidirectional = len(last) == 2
    first = layers[0]
    n_x = first.W_x.value.shape[-1]
    if depth > 1:
        notes.append(f"{depth} stacked layers: dropout between them (if any) is the identity at inference; the bounds are for eval mode")
    emb = _embedding(state, rest, n_x, embedding, source, notes)
    if emb is not None:
        rest = [k for k in rest if k != emb.name]
    head_desc, why_not, readers = None, "", []
    explicit = "W_y" in rest  # the library's own naming (to_torch): nothing to guess
    if request.mode == "none":
        why_not = "not asked for (head=False)"
    elif (explicit and request.mode != "named") or request.name in ("W_y", "b_y"):
        Wy = _array(state.get("W_y"))
        if Wy is None or "b_y" not in state:
            raise NotAModelError("head", "W_y and b_y together (the library's own naming)", got=f"{source}: keys {_names(rest)}")
        head_desc = Head(Tensor(Wy, "W_y"), Tensor(_array(state["b_y"]), "b_y"), "W_y, b_y", how="the library's own naming")
    elif request.mode == "named":
        name = request.name[: -len(".weight")] if request.name.endswith(".weight") else request.name.rstrip(".")
        modules = _modules(rest)
        if name not in modules:
            candidates = [m for m, p in modules.items() if "weight" in p]
            raise NotAModelError("head", f"the name of an nn.Linear in the state dict (keys {name}.weight, {name}.bias)",
                                 got=f"{request.name!r}; {source} has " + (", ".join(map(repr, candidates)) or "no module with a weight outside the LSTM"))
        lin = _linear(state, modules[name], n_a)
        if lin is None:
            shapes = {p: tuple(np.shape(_array(state[k]))) for p, k in modules[name].items()}
            raise NotAModelError("head", f"an nn.Linear reading the {label}'s hidden state: {name}.weight of shape (n_y, {n_a}) and "
                                 f"optionally {name}.bias (n_y,), nothing else", got=f"{source}: {name} has {shapes}")
        W, b = lin
        how = "named by head="
        if bidirectional:
            how += "; it is applied to the output sequence out[t] = [a_forward⟨t⟩; a_reverse⟨t⟩] (not to cat(h_n[-2], h_n[-1]))"
        head_desc = Head(Tensor(W, modules[name]["weight"]), None if b is None else Tensor(b, modules[name]["bias"]),
                         f"nn.Linear {_label(name)}", how=how)
    else:
        head_desc, why_not, readers = _unambiguous_head(state, rest, n_a, n_x, emb is not None)
        if head_desc is not None and bidirectional:
            readers = [head_desc.name.split(" ", 1)[1].strip("'")]
            why_not = (f"{head_desc.name} reads the {n_a} features of a bidirectional {label}: it may be applied to out[t] (both directions "
                       "at step t) or to cat(h_n[-2], h_n[-1]) (the reverse direction's state after the whole sequence), and a state dict "
                       "cannot tell; only the first is an output layer y⟨t⟩ here")
            head_desc = None
        if head_desc is None and request.mode == "required":
            raise NotAModelError("head", "an unambiguous output layer in the state dict (or name it: head='fc')", got=f"{source}: {why_not}")
    head_keys = set() if head_desc is None else {head_desc.W.name} | ({head_desc.b.name} if head_desc.b is not None else set())
    left_out = [k for k in rest if k not in head_keys]
    if head_desc is None and why_not and rest:
        names = [r for r in readers if r] or ["NAME"]
        hint = ("" if request.mode == "none" else
                f"; if {' or '.join(map(repr, names)) if readers else 'one of them'} is the output layer y = softmax(W a⟨t⟩ + b), name it "
                f"(head={names[0]!r}, CLI --head {names[0]})")
        notes.append(f"no output layer imported: {why_not}{hint}")
    if left_out:
        own = "the first layer's own input x⟨t⟩" if emb is None else "the tokens"
        notes.append(f"left out (not part of the bounded model): {_names(left_out, 8)}; bounds are for {own}")
    vocab = None
    if found_vocab is not None:
        key, symbols = found_vocab
        n_in = n_x if emb is None else emb.value.shape[0]
        if len(symbols) == n_in:
            vocab = symbols
            notes.append(f"vocabulary: the checkpoint entry {key!r} ({len(symbols)} symbols)")
        else:
            notes.append(f"the checkpoint entry {key!r} has {len(symbols)} symbols, not the model's {n_in} inputs: not used as the vocabulary")
    return Description(source=source, lstm_label="nn.LSTM", layers=tuple(layers), head=head_desc, notes=tuple(notes), left_out=tuple(left_out),
                       embedding=emb, vocab=vocab)


def _unambiguous_head(state: Mapping[str, Any], rest: list[str], n_a: int, n_x: int, embedded: bool = False) -> tuple[Head | None, str, list[str]]:
    """The output layer when the tensors outside the LSTM leave no doubt (module docstring), or
    ``(None, why not, the modules that could read a⟨t⟩)``."""
    if not rest:
        return None, "", []
    modules = _modules(rest)
    readers = {m: lin for m, p in modules.items() if (lin := _linear(state, p, n_a)) is not None}
    if not readers:
        return None, f"no nn.Linear reads the LSTM's {n_a} hidden units (tensors outside the LSTM: {_names(rest)})", []
    if len(readers) > 1:
        return None, f"several tensors could read a⟨t⟩ ({', '.join(map(_label, readers))})", list(readers)
    (name, (W, b)), = readers.items()
    others = [k for k in rest if k not in modules[name].values()]
    if b is None:
        return None, f"{name}.weight {W.shape} has no bias: it could as well be an nn.Embedding or a bias-free layer anywhere", [name]
    if others:
        return None, f"other tensors outside the LSTM ({_names(others)}) could sit in front of the LSTM or between the LSTM and {_label(name)}", [name]
    if W.shape[0] == n_x and not (embedded and n_a != n_x):  # behind an embedding of n_x features, a projection in front reads n_x
        return None, f"{_label(name)} maps {n_a} features to {n_x} = n_x: it could be an input projection in front of the LSTM", [name]
    how = ("the only tensors outside the LSTM; a state dict has no graph, so this assumes y is read from a⟨t⟩ with nothing in "
           "between (pass head=False if the module applies something first)")
    return Head(Tensor(W, modules[name]["weight"]), Tensor(b, modules[name]["bias"]), f"nn.Linear {_label(name)}", how=how), "", [name]


def from_state_dict(state: Any, head: Any = None, source: str = "state dict", argument: str = "state_dict", embedding: Any = None) -> Any:
    """The model in a state dict (or checkpoint dict): :func:`describe_state_dict` then
    :func:`.description.build`."""
    return build(describe_state_dict(state, source, head, argument, embedding), argument)


def to_state_dict(w: Any) -> dict[str, np.ndarray]:
    """``nn.LSTM`` naming (numpy arrays): ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``
    (the bias), ``bias_hh_l0`` (its exact residual, zeros when exact); plus ``W_y``, ``b_y``."""
    n_a = w.n_a
    order = [gate for _, gate in GATES["lstm"]]
    blocks = [getattr(w, "W_" + g) for g in order]
    out = {
        "weight_ih_l0": np.concatenate([B[:, n_a:] for B in blocks]),
        "weight_hh_l0": np.concatenate([B[:, :n_a] for B in blocks]),
        "bias_ih_l0": np.concatenate([w.bias_exact(g)[0] for g in order]),
        "bias_hh_l0": np.concatenate([w.bias_exact(g)[1] for g in order]),
    }
    if w.W_y is not None:
        out["W_y"], out["b_y"] = w.W_y, w.b_y
    return out


# --- files ---------------------------------------------------------------------------------------


def _torch(argument: str, source: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise NotAModelError(argument, "the torch extra to read a PyTorch file (pip install 'lstm_symbolic[torch]')", got=source) from exc
    return torch


#: Pickled globals that are data, not code of a module: tensors, containers, numpy values.
_DATA_GLOBALS = ("torch.", "collections.", "builtins.", "__builtin__.", "_codecs.", "numpy.")


def _pickled_classes(path: str) -> list[str]:
    """The classes a torch file's pickle refers to (``module.Name``), read with
    :mod:`pickletools` — nothing is unpickled. Empty when the file cannot be scanned."""
    chunks: list[bytes] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                chunks = [z.read(n) for n in z.namelist() if n.endswith("data.pkl")]
        else:
            with open(path, "rb") as fh:
                chunks = [fh.read()]
    except (OSError, zipfile.BadZipFile):
        return []
    names: list[str] = []
    for data in chunks:
        pos = 0
        strings: list[str] = []
        for _ in range(8):  # legacy files are several pickles in a row (magic, protocol, info, object)
            try:
                ops = list(pickletools.genops(data[pos:]))
            except Exception:  # noqa: BLE001 - a truncated or foreign stream: keep what was read
                break
            for op, arg, _ in ops:
                if op.name == "GLOBAL":
                    names.append(str(arg).replace(" ", "."))
                elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                    strings.append(str(arg))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(f"{strings[-2]}.{strings[-1]}")
            pos += ops[-1][2] + 1 if ops else len(data)
            if pos >= len(data):
                break
    return names


def _pickled_object(path: str) -> tuple[str, str] | None:
    """``("module", class)`` for the first pickled class that is code (an ``nn.Module``, a user
    class), else ``("data", class)`` for the first non-tensor global (a numpy array, …), else
    None: what ``weights_only=True`` refused."""
    names = _pickled_classes(path)
    for name in names:
        if name.startswith("torch.nn.") or not name.startswith(_DATA_GLOBALS):
            return "module", name
    for name in names:
        if not name.startswith(("torch.", "collections.OrderedDict")):
            return "data", name
    return None


def _clean(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).strip()
    return (text.splitlines() or [""])[0][:160]


def read_file(path: str, head: Any = None, argument: str = "path", embedding: Any = None) -> Description:
    """Parse a ``torch.save`` file into a :class:`.Description` (``weights_only=True``)."""
    torch = _torch(argument, path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types (UnpicklingError, RuntimeError, KeyError, …)
        found = _pickled_object(path)
        if found is not None and found[0] == "module":
            raise NotAModelError(argument, f"a PyTorch state dict ({_SAVE_ADVICE})",
                                 got=f"{path}: a whole pickled object of class {found[1]} (torch.save(model)); save model.state_dict() "
                                 "instead: pickled code is never run here") from None
        if found is not None:
            raise NotAModelError(argument, f"a PyTorch state dict ({_SAVE_ADVICE})",
                                 got=f"{path}: it pickles {found[1]} objects, which torch.load(weights_only=True) does not read; "
                                 "save tensors (model.state_dict())") from None
        raise NotAModelError(argument, f"a PyTorch state dict ({_SAVE_ADVICE})",
                             got=f"{path}: torch.load could not read it ({type(exc).__name__}: {_clean(str(exc))})") from None
    if hasattr(obj, "state_dict") and hasattr(obj, "forward"):  # pragma: no cover - weights_only never returns a module
        raise NotAModelError(argument, f"a PyTorch state dict ({_SAVE_ADVICE})", got=f"{path}: a whole module")
    return describe_state_dict(obj, f"{path} (PyTorch state dict)", head, argument, embedding)


# --- live modules (torch.fx) ---------------------------------------------------------------------


def _refuse_graph(module: Any, what: str) -> NotAModelError:
    return NotAModelError("module", "a module whose forward is [nn.Embedding] -> nn.LSTM / nn.GRU -> [last step] -> nn.Linear (as torch.fx traces it)",
                          got=f"{type(module).__name__}: {what}")


def _is_full(index: Any) -> bool:
    return isinstance(index, slice) and index == slice(None)


def _last_step(index: Any, batch_first: bool) -> bool:
    """Whether ``seq[index]`` selects the last step of an LSTM output (T, B, n_a) (or (B, T, n_a)
    with ``batch_first``) and keeps every hidden unit."""
    idx = index if isinstance(index, tuple) else (index,)
    time = 1 if batch_first else 0
    if len(idx) <= time or idx[time] != -1 or not all(_is_full(i) for k, i in enumerate(idx) if k != time):
        return False
    return len(idx) <= 3


def describe_module(module: Any, head: Any = None) -> Description:
    """Parse a live ``nn.Module`` into a :class:`.Description` from its ``torch.fx`` graph:
    exactly ``x -> [nn.Embedding] -> nn.LSTM / nn.GRU -> [output sequence, or its last step, or
    the last layer's h_n] -> [nn.Dropout / nn.Identity] -> [nn.Linear] -> output``; anything
    else is refused, naming the node (``h_n`` of a bidirectional layer too: its reverse half is
    the state after the whole sequence, not a⟨T⟩). A bare ``nn.LSTM`` / ``nn.GRU`` is read from
    its own state dict."""
    torch = _torch("module", type(module).__name__)
    request = head if isinstance(head, HeadRequest) else head_request(head)
    nn = torch.nn
    source = f"{type(module).__name__} module"
    if isinstance(module, nn.RNNBase):
        if request.mode in ("named", "required"):
            raise NotAModelError("head", f"an output layer, but a bare {type(module).__name__} has none", got=str(request))
        desc = describe_state_dict(dict(module.state_dict()), source, False, "module", embedding=False)
        return Description(desc.source, desc.lstm_label, desc.layers, None, notes=tuple(_module_notes(module)) + desc.notes)
    import torch.fx

    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as exc:  # noqa: BLE001 - tracing raises anything (TraceError, TypeError on control flow, …)
        raise _refuse_graph(module, f"torch.fx cannot trace it ({type(exc).__name__}: {_clean(str(exc))})") from None
    nodes = list(graph.nodes)
    output = [n for n in nodes if n.op == "output"][0]
    live: set[Any] = set()
    stack = [output]
    while stack:
        n = stack.pop()
        if n not in live:
            live.add(n)
            stack.extend(n.all_input_nodes)
    users = {n: [u for u in n.users if u in live] for n in nodes}

    def submodule(n: Any) -> Any:
        return module.get_submodule(n.target) if n.op == "call_module" else None

    recurrent = [n for n in nodes if n in live and isinstance(submodule(n), nn.RNNBase)]
    if not recurrent:
        raise _refuse_graph(module, "no nn.LSTM or nn.GRU on the path to its output")
    layers: list[Recurrent] = []
    layer_notes: list[str] = []
    for n in recurrent:
        d = describe_state_dict({n.target + "." + k: v for k, v in submodule(n).state_dict().items()}, source, False, "module", embedding=False)
        layers.extend(d.layers)
        layer_notes.extend(note for note in d.notes if "stacked layers" in note)
    if len(recurrent) > 1:
        return Description(source, "nn.LSTM", tuple(layers))
    (rnn_node,) = recurrent
    rnn = submodule(rnn_node)
    placeholders = [n for n in nodes if n.op == "placeholder" and n in live]
    if len(placeholders) != 1:
        raise _refuse_graph(module, f"forward uses {len(placeholders)} inputs; expected one (x)")
    if rnn_node.kwargs or len(rnn_node.args) != 1:
        raise _refuse_graph(module, f"{rnn_node.target} is called with an initial state or options; expected {rnn_node.target}(x)")
    emb = None
    feed = rnn_node.args[0]
    if feed is not placeholders[0]:
        emb_module = submodule(feed) if hasattr(feed, "op") else None
        if (isinstance(emb_module, nn.Embedding) and len(feed.args) == 1 and feed.args[0] is placeholders[0] and not feed.kwargs
                and users[feed] == [rnn_node]):
            if emb_module.max_norm is not None:
                raise _refuse_graph(module, f"{feed.target} is an nn.Embedding with max_norm={emb_module.max_norm}: it rescales rows at lookup")
            emb = Tensor(_array(emb_module.weight, f"{feed.target}.weight"), f"{feed.target}.weight")
        else:
            raise _refuse_graph(module, f"its input reaches {rnn_node.target} through {getattr(feed, 'name', feed)} (an input layer in front "
                                f"of the recurrent layer other than one nn.Embedding); to bound the recurrent layer on its own inputs, "
                                f"pass it itself (module.{rnn_node.target})")
    batch_first = bool(getattr(rnn, "batch_first", False))
    directions = 2 if rnn.bidirectional else 1
    n_states = rnn.num_layers * directions
    n_out = (rnn.proj_size or rnn.hidden_size) * directions
    is_lstm = isinstance(rnn, nn.LSTM)
    state, value, reads, linear, steps = "tuple", rnn_node, "every step", None, [f"{rnn_node.target}(x)"]
    while value is not output:
        nxt = users[value]
        if len(nxt) != 1:
            raise _refuse_graph(module, f"{value.name} feeds {len(nxt)} nodes ({', '.join(u.name for u in nxt)}); expected a chain")
        (u,) = nxt
        if u is output:
            if output.args[0] is not value:
                raise _refuse_graph(module, "forward returns a tuple or dict; expected one tensor")
            if state not in ("seq", "last", "h_n", "logits"):
                raise _refuse_graph(module, f"forward returns {value.name}, not the LSTM's hidden states or an output layer")
            break
        getitem = u.op == "call_function" and getattr(u.target, "__name__", "") == "getitem" and u.args[0] is value
        index = u.args[1] if getitem else None
        squeeze0 = u.op == "call_method" and u.target == "squeeze" and (tuple(u.args[1:]) == (0,) and not u.kwargs or u.kwargs == {"dim": 0})
        if state == "tuple" and getitem and index in (0, 1):
            state, step = ("seq", "output sequence") if index == 0 else (("hc", "(h_n, c_n)") if is_lstm else ("h_n", "h_n"))
        elif state == "hc" and getitem and index in (0, 1):
            if index == 1:
                raise _refuse_graph(module, "it reads c_n, the cell state: only the hidden state a⟨t⟩ can feed an output layer")
            state, step = "h_n", "h_n"
        elif state == "seq" and getitem and _last_step(index, batch_first):
            state, step, reads = "last", "last step", "the last step"
        elif state == "h_n" and (getitem or squeeze0) and directions == 2:
            raise _refuse_graph(module, f"{u.name} reads h_n of a bidirectional {type(rnn).__name__}: its reverse half is the state after the "
                                "whole sequence (the output at step 1), not a⟨T⟩; apply the output layer to out[-1] (both directions at the last step)")
        elif state == "h_n" and ((getitem and index in (-1, n_states - 1)) or (squeeze0 and n_states == 1)):
            state, step, reads = "last", "h_n[-1]", "the last step"
        elif state == "h_n" and getitem and isinstance(index, int):
            raise _refuse_graph(module, f"{u.name} reads h_n[{index}], the final state of layer {index % n_states + 1} of {rnn.num_layers}: only the "
                                "last layer's output can feed the output layer")
        elif state in ("seq", "last") and isinstance(submodule(u), (nn.Dropout, nn.Identity)):
            step = f"{u.target} ({type(submodule(u)).__name__}: the identity in eval mode)"
        elif state in ("seq", "last") and isinstance(submodule(u), nn.Linear) and submodule(u).in_features == n_out:
            state, step, linear = "logits", f"{u.target} (nn.Linear)", u
        else:
            what = u.target if u.op == "call_module" else getattr(u.target, "__name__", str(u.target))
            raise _refuse_graph(module, f"{u.name} ({u.op} {what}) after {steps[-1]} is not part of the supported pattern")
        steps.append(step)
        value = u
    notes = _module_notes(rnn) + layer_notes
    if emb is not None:
        steps.insert(0, f"{feed.target} (nn.Embedding {emb.value.shape[0]} x {emb.value.shape[1]})")
        notes.append(f"embedding E from {feed.target!r}: inputs are tokens (one-hot over {emb.value.shape[0]}), E[k] exactly")
    notes.append("graph (torch.fx): " + " -> ".join(steps))
    if module.training and any(isinstance(m, nn.Dropout) for m in module.modules()):
        notes.append("the module is in training mode: its Dropout is random there; the bounds are for eval mode (module.eval())")
    head_desc = None
    if linear is not None:
        lin = submodule(linear)
        if request.mode == "none":
            notes.append(f"output layer {linear.target} left out (head=False)")
        elif request.mode == "named" and request.name.rstrip(".") != linear.target:
            raise NotAModelError("head", f"the module's output layer ({linear.target!r})", got=repr(request.name))
        else:
            W = _array(lin.weight)
            b = None if lin.bias is None else Tensor(_array(lin.bias), f"{linear.target}.bias")
            head_desc = Head(Tensor(W, f"{linear.target}.weight"), b, f"nn.Linear {linear.target!r}", reads=reads,
                             how="the traced graph applies it to a⟨t⟩ directly")
    elif request.mode in ("named", "required"):
        raise NotAModelError("head", "an output layer, but the module returns the LSTM's hidden states", got=str(request))
    return Description(f"{source} (torch.fx graph)", "nn.LSTM", tuple(layers), head_desc, notes=tuple(notes), embedding=emb)


def _module_notes(rnn: Any) -> list[str]:
    notes = []
    if getattr(rnn, "batch_first", False):
        notes.append(f"{type(rnn).__name__}(batch_first=True): same weights; the library's inputs are (T, B, n_x)")
    if getattr(rnn, "dropout", 0) and getattr(rnn, "num_layers", 1) > 1:
        notes.append(f"{type(rnn).__name__}(dropout={rnn.dropout}) between layers: the identity at inference; the bounds are for eval mode")
    return notes


def from_module(module: Any, head: Any = None) -> Any:
    """The model of a live ``nn.Module`` (:func:`describe_module`, then
    :func:`.description.build`)."""
    return build(describe_module(module, head), "module")
