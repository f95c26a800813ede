"""Model files in and out: one loader for ``.npz``, PyTorch (``.pt``/``.pth``) and ONNX.

:func:`load` returns *exactly* the file's model — an :class:`~lstm_symbolic.LSTMWeights` whose
``info`` (:class:`~lstm_symbolic.provenance.ModelInfo`) says where it came from, which tensor
or node became which part of the model (``mapping``), and what was left out or assumed
(``notes``) — or raises :class:`~lstm_symbolic.errors.NotAModelError` (a ``ValueError``)
naming the argument and what is not supported. The format is chosen by content, not by the
extension (:func:`sniff`); a file whose extension says otherwise gets a note.

Modules: :mod:`.description` (the neutral description every framework reader produces, and
the one place that refuses what cannot be bounded yet), :mod:`.npz`, :mod:`.torch`,
:mod:`.onnx`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, NotAModelError
from ..lstm import LSTMWeights
from .description import build, head_request
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
    "keras": "a model file (.npz, .pt/.pth or .onnx; Keras files are not supported yet)",
    None: "a model file (.npz, .pt/.pth or .onnx)",
}
_NAMES = {"npz": "an npz archive", "torch": "a PyTorch file", "onnx": "an ONNX model"}
_NOT_A_MODEL = {
    "empty": "an empty file",
    "text": "a text file, not a model",
    "npy": "a single .npy array, not a model",
    "zip": "a zip archive that is neither an npz nor a PyTorch file",
    "keras": "a Keras model: Keras files are not supported yet (export the model to ONNX, or save the weights as .npz)",
    "hdf5": "an HDF5 file (Keras .h5?): HDF5 files are not supported yet (export the model to ONNX, or save the weights as .npz)",
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
        if "config.json" in names and any(n.endswith(".h5") for n in names):
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


def load(path: Any, head: Any = None) -> LSTMWeights:
    """Exactly the model in ``path``, with its provenance in ``.info``.

    ``path``: a path (``.npz``, ``.pt``/``.pth``, ``.onnx``; the format is read from the
    content), a state dict or mapping of arrays, or a live ``torch.nn.Module``.
    ``head``: the output layer — ``None`` takes one only when the file leaves no doubt (else
    the LSTM alone, with a note saying why), ``True`` requires one, ``False`` or ``"none"``
    takes none, a name (``"fc"``, an ONNX node or weight name) picks that one and raises when
    it does not fit. Raises :class:`~lstm_symbolic.errors.NotAModelError` naming what is not
    supported (a GRU, a stacked or bidirectional LSTM, peepholes, …).
    """
    return load_as(path, head, "path")


def load_as(source: Any, head: Any, argument: str) -> LSTMWeights:
    """:func:`load`, with errors naming ``argument`` (the CLI says ``MODEL``)."""
    request = head_request(head)
    if _is_torch_module(source):
        return torch_io.from_module(source, request)
    if isinstance(source, Mapping):
        if all(k in source for k in npz_io.SEED_KEYS):
            return npz_io.from_arrays(source, request, "arrays", argument)
        return torch_io.from_state_dict(source, request, "state dict", argument)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(argument, "a path to a model file, a state dict or a torch.nn.Module", got=type(source).__name__)
    p = os.fspath(source)
    if not os.path.isfile(p):
        raise NotAModelError(argument, "an existing model file (.npz, .pt/.pth or .onnx)", got=p)
    promised = _EXTENSIONS.get(Path(p).suffix.lower())
    found = sniff(p)
    if found in _NOT_A_MODEL:
        raise NotAModelError(argument, _EXPECTED[promised], got=f"{p}: {_NOT_A_MODEL[found]}")
    if found == "npz":
        w = npz_io.read_file(p, request, argument)
    elif found == "torch":
        w = build(torch_io.read_file(p, request, argument), argument)
    else:
        w = _read_onnx(p, request, argument, promised)
    if promised is not None and promised != found and w.info is not None:
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
