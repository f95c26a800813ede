"""``.npz`` archives (no pickles): the library's own format, in the seed's naming, or arrays in
PyTorch's ``nn.LSTM`` naming (read by the same rules as a state dict, :mod:`.torch`).

Seed naming: ``W_f``, ``W_u``, ``W_c``, ``W_o`` (n_a, n_a + n_x), ``b_f`` … ``b_o`` (n_a,),
optional ``W_y`` (n_y, n_a) with ``b_y`` (n_y,), optional ``bias_residual_<gate>`` (the exact
rounding residual of a summed bias), optional ``vocab``: a 1-d string array of the n_x input
symbols in index order. :func:`save` writes exactly this.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Any, Mapping

import numpy as np

from ..errors import InputError, NotAModelError
from ..lstm import GATES, LSTMWeights
from ..provenance import ModelInfo
from .description import HeadRequest, build, head_request
from . import torch as torch_io

__all__ = ["SEED_KEYS", "read_file", "from_arrays", "save"]

#: The arrays of the model in the seed's naming.
SEED_KEYS = tuple(p + g for g in GATES for p in ("W_", "b_"))
_RESIDUAL = tuple("bias_residual_" + g for g in GATES)


def read_file(path: str, head: Any = None, argument: str = "path") -> LSTMWeights:
    """The model in an ``.npz`` file (module docstring)."""
    if not zipfile.is_zipfile(path):  # checked here: np.load leaks its file handle on a bad zip
        raise NotAModelError(argument, "a numpy .npz archive (a zip file of arrays)", got=path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:  # our handle: always closed
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise NotAModelError(argument, "a numpy .npz file of arrays (no pickles)", got=path, detail=str(exc).splitlines()[0][:120]) from None
    if not arrays:
        raise NotAModelError(argument, "a non-empty .npz archive", got=path)
    return from_arrays(arrays, head, source=f"{path} (npz)", argument=argument)


def _vocab(arrays: Mapping[str, Any], n_x: int) -> tuple[str, ...] | None:
    if "vocab" not in arrays:
        return None
    vocab = np.asarray(arrays["vocab"])
    if vocab.ndim != 1 or vocab.dtype.kind not in "US" or len(vocab) != n_x:
        raise NotAModelError("vocab", f"a 1-d string array of n_x = {n_x} symbols", got=f"{vocab.dtype} array of shape {vocab.shape}")
    return tuple(str(v) for v in vocab)


def from_arrays(arrays: Mapping[str, Any], head: Any = None, source: str = "arrays", argument: str = "arrays") -> LSTMWeights:
    """The model in a mapping of arrays, in seed naming or PyTorch naming (module docstring)."""
    if not isinstance(arrays, Mapping):
        raise NotAModelError(argument, "a mapping of names to arrays", got=type(arrays).__name__)
    request = head if isinstance(head, HeadRequest) else head_request(head)
    if any(isinstance(k, str) and torch_io._KEY.match(k) for k in arrays):
        rest = {k: v for k, v in arrays.items() if k != "vocab"}
        desc = torch_io.describe_state_dict(rest, source, request, argument)
        model = build(desc, argument)
        vocab = _vocab(arrays, model.n_x)
        return model if vocab is None else model.with_info(dataclasses.replace(model.info, vocab=vocab))
    missing = [k for k in SEED_KEYS if k not in arrays]
    if missing:
        raise NotAModelError(argument, "the arrays of an LSTM in seed naming (W_f, W_u, W_c, W_o, b_f, …) or PyTorch naming "
                             "(weight_ih_l0, …)", got=f"{source}: arrays {sorted(map(str, arrays))[:8]}, missing {missing}")
    kw = {k: arrays[k] for k in SEED_KEYS}
    notes: list[str] = []
    has_head = "W_y" in arrays or "b_y" in arrays
    if request.mode == "named" and request.name not in ("W_y", "b_y"):
        raise NotAModelError("head", "'W_y' (the output layer of a seed-naming archive)", got=repr(request.name))
    if request.mode in ("named", "required") and not has_head:
        raise NotAModelError("head", "an output layer W_y, b_y in the archive", got=f"{source}: none")
    if has_head and request.mode != "none":
        kw["W_y"], kw["b_y"] = arrays.get("W_y"), arrays.get("b_y")
    elif has_head:
        notes.append("output layer W_y, b_y left out (head=False)")
    residual = {g: arrays["bias_residual_" + g] for g in GATES if "bias_residual_" + g in arrays}
    # 0-d values and strings (a seed, a checksum) are metadata: they cannot be a layer's tensor
    extra = sorted(str(k) for k in arrays if k not in SEED_KEYS + _RESIDUAL + ("W_y", "b_y", "vocab")
                   and np.ndim(arrays[k]) > 0 and np.asarray(arrays[k]).dtype.kind in "fiucb")
    if extra:
        notes.append(f"left out (not part of the bounded model): {', '.join(extra[:8])}")
    try:
        w = LSTMWeights(**kw, bias_residual=residual or None)
    except InputError as exc:
        if argument == "arrays":
            raise
        raise NotAModelError(argument, "an LSTM in seed naming with finite arrays of consistent shapes", got=source, detail=str(exc)) from exc
    mapping = tuple((k, k) for k in SEED_KEYS + ("W_y", "b_y") if k in kw) + tuple((f"bias_residual_{g}", f"b_{g} (exact residual)") for g in residual)
    return w.with_info(ModelInfo(source=source, vocab=_vocab(arrays, w.n_x), notes=tuple(notes), mapping=mapping))


def save(w: LSTMWeights, path: str | os.PathLike[str]) -> None:
    """Write ``w`` as an ``.npz`` in seed naming (no pickles), with its vocabulary when
    ``w.info`` carries one; :func:`lstm_symbolic.load` reads it back."""
    arrays = dict(w.to_arrays())
    if w.info is not None and w.info.vocab is not None:
        arrays["vocab"] = np.array(w.info.vocab)
    np.savez(path, **arrays)
