"""Where a model came from: the file, its format, its vocabulary, and which tensors of the file
became which part of the model (and which were left out). Importers fill it in; bounds never
read it — it is for the user, and for the CLI's notes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelInfo"]


@dataclass(frozen=True)
class ModelInfo:
    """``source``: a short description (path and format); ``vocab``: the input symbols in index
    order when the file carries them (else None); ``notes``: what was assumed or left out, one
    sentence each; ``mapping``: ``(tensor or node in the file, part of the model)`` pairs."""

    source: str = ""
    vocab: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()
    mapping: tuple[tuple[str, str], ...] = ()
