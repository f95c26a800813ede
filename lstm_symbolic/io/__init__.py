"""Model files in and out: one loader for ``.npz``, PyTorch (``.pt``/``.pth``), ONNX and Keras
(``.keras``, legacy ``.h5``).

:func:`load` returns *exactly* the file's model — an :class:`~lstm_symbolic.LSTMWeights` for
one forward LSTM layer, a :class:`~lstm_symbolic.model.Model` for anything else it can bound
(GRUs, stacks, bidirectional layers, projections, peepholes, an embedding in front) — whose
``info`` (:class:`~lstm_symbolic.provenance.ModelInfo`) says where it came from, which tensor
or node became which part of the model (``mapping``), and what was left out or assumed
(``notes``); or it raises :class:`~lstm_symbolic.errors.NotAModelError` (a ``ValueError``)
naming the argument and what is not supported. The format is chosen by content, not by the
extension (:func:`sniff`); a file whose extension says otherwise gets a note.

Modules: :mod:`.description` (the neutral description every framework reader produces, and
the one place that refuses what cannot be bounded yet), :mod:`.npz`, :mod:`.torch`,
:mod:`.onnx`, :mod:`.keras`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, NotAModelError
from ..lstm import LSTMWeights
from ..provenance import ModelInfo
from .description import build, check_vocab, head_request
from . import npz as npz_io
from . import torch as torch_io

__all__ = ["load", "save", "sniff"]

#: The format each extension promises (content decides; a mismatch is noted).
_EXTENSIONS = {".npz": "npz", ".pt": "torch", ".pth": "torch", ".bin": "torch", ".ckpt": "torch", ".tar": "torch",
               ".onnx": "onnx", ".keras": "keras", ".h5": "keras", ".hdf5": "keras"}
_EXPECTED = {
    "npz": "a numpy .npz archive of the model's arrays",
    "torch": "a PyTorch state dict file (torch.save(model.state_dict(), path))",
    "onnx": "an ONNX model file",
    "keras": "a Keras model file (.keras, or a legacy .h5 written by model.save)",
    None: "a model file (.npz, .pt/.pth, .onnx, .keras or .h5)",
}
_NAMES = {"npz": "an npz archive", "torch": "a PyTorch file", "onnx": "an ONNX model", "keras": "a Keras model", "hdf5": "a Keras HDF5 model"}
_NOT_A_MODEL = {
    "empty": "an empty file",
    "text": "a text file, not a model",
    "npy": "a single .npy array, not a model",
    "zip": "a zip archive that is neither an npz, a PyTorch nor a Keras file",
}


def sniff(path: str | os.PathLike[str]) -> str:
    """The format of a file by its content: ``"npz"``, ``"torch"`` (a ``torch.save`` zip or
    legacy pickle), ``"keras"``, ``"hdf5"``, ``"npy"``, ``"zip"`` (another zip), ``"text"``,
    ``"empty"``, or ``"onnx"`` for anything else (ONNX has no magic number: the ONNX reader
    then decides)."""
    import zipfile

    p = os.fspath(path)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "empty"
    if zipfile.is_zipfile(p):
        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            return "zip"
        if names and all(n.endswith(".npy") for n in names):
            return "npz"
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            return "torch"
        if "config.json" in names and ("metadata.json" in names or any(n.endswith(".h5") for n in names)):
            return "keras"
        return "zip"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "torch"  # a pickle: torch's legacy (non-zip) format
    text = head
    for cut in range(4):  # a multi-byte character may straddle the 4096-byte cut
        try:
            decoded = text[: len(text) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        decoded = None
    if decoded is not None and all(c.isprintable() or c in "\t\n\r\f" for c in decoded):
        return "text"
    return "onnx"


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def load(path: Any, head: Any = None, vocab: Any = None, embedding: Any = None) -> Any:
    """Exactly the model in ``path``, with its provenance in ``.info``: an
    :class:`~lstm_symbolic.LSTMWeights` for one forward LSTM layer, else a
    :class:`~lstm_symbolic.model.Model`.

    ``path``: a path (``.npz``, ``.pt``/``.pth``, ``.onnx``, ``.keras``, ``.h5``; the format is
    read from the content), a state dict or mapping of arrays, or a live ``torch.nn.Module``.
    ``head``: the output layer — ``None`` takes one only when the file leaves no doubt (else
    the recurrent layers alone, with a note saying why), ``True`` requires one, ``False`` or
    ``"none"`` takes none, a name (``"fc"``, an ONNX node or weight name, a Keras layer name)
    picks that one and raises when it does not fit. ``vocab``: the input symbols in index order
    (n_x strings; the embedding's tokens when there is one), replacing the file's own; then
    ``onehot:t,h,e`` input specs work on the model. ``embedding`` (state dicts): None takes an
    ``nn.Embedding`` only when unambiguous, False none, a module name that one. Raises
    :class:`~lstm_symbolic.errors.NotAModelError` naming what is not supported (a plain RNN,
    cell clipping, variable lengths, …).
    """
    return load_as(path, head, "path", vocab=vocab, embedding=embedding)


def load_as(source: Any, head: Any, argument: str, vocab: Any = None, embedding: Any = None) -> Any:
    """:func:`load`, with errors naming ``argument`` (the CLI says ``MODEL``)."""
    if embedding is not None and embedding is not False and not isinstance(embedding, str):
        raise InputError("embedding", "None (only an unambiguous one), False (none) or the name of an nn.Embedding module", got=repr(embedding))
    model = _load(source, head, argument, embedding)
    if vocab is None:
        return model
    symbols = check_vocab(vocab, model.n_x)
    info = model.info
    note = "vocabulary given (vocab=…)" + (" in place of the file's own" if info is not None and info.vocab is not None else "")
    base = info if info is not None else ModelInfo()
    return model.with_info(dataclasses.replace(base, vocab=symbols, notes=base.notes + (note,)))


def _load(source: Any, head: Any, argument: str, embedding: Any) -> Any:
    request = head_request(head)
    if _is_torch_module(source):
        return torch_io.from_module(source, request)
    if isinstance(source, Mapping):
        if all(k in source for k in npz_io.SEED_KEYS):
            return npz_io.from_arrays(source, request, "arrays", argument)
        return torch_io.from_state_dict(source, request, "state dict", argument, embedding)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(argument, "a path to a model file, a state dict or a torch.nn.Module", got=type(source).__name__)
    p = os.fspath(source)
    if not os.path.isfile(p):
        raise NotAModelError(argument, "an existing model file (.npz, .pt/.pth, .onnx, .keras or .h5)", got=p)
    promised = _EXTENSIONS.get(Path(p).suffix.lower())
    found = sniff(p)
    if found in _NOT_A_MODEL:
        raise NotAModelError(argument, _EXPECTED[promised], got=f"{p}: {_NOT_A_MODEL[found]}")
    if found == "npz":
        w = npz_io.read_file(p, request, argument)
    elif found == "torch":
        w = build(torch_io.read_file(p, request, argument, embedding), argument)
    elif found in ("keras", "hdf5"):
        from . import keras as keras_io

        w = build(keras_io.read_file(p, request, argument, found), argument)
    else:
        w = _read_onnx(p, request, argument, promised)
    if promised is not None and promised != found and not (promised == "keras" and found == "hdf5") and w.info is not None:
        note = f"the file is named {Path(p).suffix} but holds {_NAMES[found]}: read as {_NAMES[found].split(' ', 1)[1]}"
        w = w.with_info(dataclasses.replace(w.info, notes=(note,) + w.info.notes))
    return w


def _read_onnx(p: str, request: Any, argument: str, promised: str | None) -> LSTMWeights:
    from . import onnx as onnx_io

    if promised not in ("onnx", None):  # ONNX has no magic number: say what the name promised when it is not ONNX either
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise NotAModelError(argument, _EXPECTED[promised], got=f"{p}: not a zip, pickle or npz file") from None
        try:
            return build(onnx_io.read_file(p, request, argument), argument)
        except NotAModelError as exc:
            if "ONNX model file" not in str(exc):
                raise
            raise NotAModelError(argument, _EXPECTED[promised], got=f"{p}: neither a zip archive (npz, PyTorch), a pickle (legacy PyTorch) nor ONNX") from None
    return build(onnx_io.read_file(p, request, argument), argument)


def save(w: LSTMWeights, path: str | os.PathLike[str]) -> None:
    """Write ``w`` as an ``.npz`` in seed naming (:func:`.npz.save`)."""
    npz_io.save(w, path)
