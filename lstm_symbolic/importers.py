"""Compatibility shim: the importers live in :mod:`lstm_symbolic.io` (``ls.load``).

:func:`load_model` returns the older :class:`LoadedModel` view (``weights``, ``vocab``,
``source``, ``notes``) of what :func:`lstm_symbolic.load` reads; new code should call
``ls.load(path, head=None)`` and read ``w.info``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from .io import load, load_as
from .lstm import LSTMWeights

__all__ = ["LoadedModel", "load_model", "from_torch_file", "from_torch_state_dict", "from_onnx"]


@dataclass(frozen=True)
class LoadedModel:
    """``weights`` (with ``info``), and ``vocab``, ``source``, ``notes`` read from that info."""

    weights: LSTMWeights
    vocab: list[str] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, w: LSTMWeights, source: str | None = None) -> "LoadedModel":
        """The view of ``w`` (``source`` replaces ``w.info.source`` when given)."""
        info = w.info
        vocab = None if info is None or info.vocab is None else list(info.vocab)
        return cls(w, vocab, source if source is not None else (info.source if info else ""), list(info.notes) if info else [])


def load_model(path: str | os.PathLike[str], head: Any = None, argument: str = "MODEL", vocab: Any = None) -> LoadedModel:
    """:func:`lstm_symbolic.load`, as a :class:`LoadedModel`; errors name ``argument``."""
    return LoadedModel.of(load_as(path, head, argument, vocab=vocab))


def from_torch_file(path: str | os.PathLike[str], head: Any = None) -> LSTMWeights:
    """The model in a PyTorch file (``ls.load``)."""
    return load(path, head)


def from_torch_state_dict(state: Mapping[str, Any], head: Any = None) -> LSTMWeights:
    """The model in an in-memory state dict (``ls.load``)."""
    return load(state, head)


def from_onnx(path: str | os.PathLike[str], head: Any = None) -> LSTMWeights:
    """The model in an ONNX file (``ls.load``)."""
    return load(path, head)
