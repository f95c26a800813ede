"""Input validation shared by the public constructors: one place, one wording."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError


def finite_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a new float64 array, or :class:`InputError` naming ``name``: for values that
    are not real numbers, and for NaN or inf entries (their first indices are reported).
    Accepts torch tensors without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(name, "an array of real numbers", got=type(value).__name__) from exc
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[:3].tolist()
        raise InputError(name, "finite values (no NaN or inf)", got=f"non-finite entries at {bad}")
    return arr
