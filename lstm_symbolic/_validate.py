"""Input validation shared by the public constructors: one place, one wording.

The rule: a number reaches a bound only if it *is* a float64 — exactly. So

- complex values are refused (casting would drop the imaginary part), and so are booleans,
  strings, ``None`` and other objects where a number is expected;
- integers are accepted when float64 holds them exactly (every integer up to 2**53 in
  magnitude, and larger ones that are multiples of a big enough power of two); any other
  integer — ``2**53 + 1``, or ``10**400`` beyond the float64 range — is refused rather than
  rounded. Likewise wider floats (``np.longdouble``), ``Fraction`` or ``Decimal`` values that
  float64 would round; float16 / float32 values (and every torch float type) convert exactly;
- ragged nested lists are refused.

:func:`real_array` applies these rules; :func:`finite_array` also refuses NaN and ±inf.
Both accept torch tensors without importing torch.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["real_array", "finite_array", "bad_indices"]

_EXACT_INT = 2**53  # every integer of magnitude <= 2**53 is a float64


def bad_indices(mask: np.ndarray, limit: int = 3) -> str:
    """``"at (0, 2), (1, 0) and 4 more"`` for the True entries of ``mask`` ("" for a scalar)."""
    if mask.ndim == 0:
        return ""
    idx = np.argwhere(mask)
    shown = ", ".join(str(tuple(int(i) for i in row)) for row in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f" at {shown}{more}"


def _at(index: tuple[int, ...]) -> str:
    return f" at {index}" if index else ""


def _int_text(i: int) -> str:
    s = str(i)
    return s if len(s) <= 30 else f"an integer of {len(s.lstrip('-'))} digits ({s[:6]}…)"


def _int_to_float(i: int, name: str, index: tuple[int, ...]) -> float:
    """The float64 equal to the Python int ``i``, or :class:`InputError`."""
    try:
        f = float(i)
    except OverflowError:
        raise InputError(name, "numbers within the float64 range (|x| < 1.8e308)",
                         got=f"{_int_text(i)}{_at(index)}") from None
    if int(f) != i:
        raise InputError(name, "numbers exactly representable in float64 (integers beyond 2**53 are not all)",
                         got=f"the integer {_int_text(i)}{_at(index)}", detail=f"float64 would round it to {f!r}; "
                         "pass floats to accept the rounding")
    return f


def _element(v: Any, name: str, index: tuple[int, ...]) -> float:
    """One element of an object array (Python scalars and nested lists land here)."""
    if type(v) is float:  # the common case first
        return v
    if isinstance(v, (bool, np.bool_)):
        raise InputError(name, "numbers (float or int), not booleans", got=f"{v!r}{_at(index)}")
    if isinstance(v, numbers.Integral):
        return _int_to_float(int(v), name, index)
    if isinstance(v, (numbers.Real, Decimal)):
        try:
            f = float(v)
        except OverflowError:
            raise InputError(name, "numbers within the float64 range (|x| < 1.8e308)", got=f"{v!r}{_at(index)}") from None
        if math.isfinite(f) and f != v:
            raise InputError(name, "numbers exactly representable in float64", got=f"{v!r}{_at(index)}",
                             detail=f"float64 would round it to {f!r}; pass floats to accept the rounding")
        return f
    if isinstance(v, numbers.Complex):
        raise InputError(name, "real numbers (the imaginary part would be lost)", got=f"the complex number {v!r}{_at(index)}")
    if isinstance(v, (list, tuple, np.ndarray)):
        raise InputError(name, "a rectangular array of numbers (nested lists of equal lengths)", got="a ragged nested sequence")
    shown = repr(v) if isinstance(v, (str, bytes)) and len(v) <= 20 else type(v).__name__
    raise InputError(name, "numbers (float or int)", got=f"{shown}{_at(index)}")


def _from_object(arr: np.ndarray, name: str) -> np.ndarray:
    flat_in = arr.reshape(-1)
    types = set(map(type, flat_in))
    if types <= {float, np.float64, int}:  # plain Python numbers: check the large ints, then one cast
        if int in types:
            big = [type(v) is int and not -_EXACT_INT <= v <= _EXACT_INT for v in flat_in]
            for k in np.flatnonzero(big):
                index = tuple(int(i) for i in np.unravel_index(k, arr.shape)) if arr.ndim else ()
                _int_to_float(flat_in[k], name, index)
        return arr.astype(np.float64)
    out = np.empty(arr.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for k, v in enumerate(arr.reshape(-1)):
        flat[k] = _element(v, name, tuple(int(i) for i in np.unravel_index(k, arr.shape)) if arr.ndim else ())
    return out


def _from_ints(arr: np.ndarray, name: str) -> np.ndarray:
    out = arr.astype(np.float64)
    if arr.dtype.itemsize >= 8:  # int64 / uint64 may exceed 2**53: check those entries exactly
        big = arr > _EXACT_INT if arr.dtype.kind == "u" else (arr > _EXACT_INT) | (arr < -_EXACT_INT)
        for index in (tuple(int(i) for i in row) for row in np.argwhere(big)):
            _int_to_float(int(arr[index]), name, index)
    return out


def _from_wide_floats(arr: np.ndarray, name: str) -> np.ndarray:
    """float96 / float128 (``np.longdouble``): only values float64 holds exactly."""
    with np.errstate(over="ignore"):
        out = arr.astype(np.float64)
    finite = np.isfinite(arr)
    over = finite & ~np.isfinite(out)
    if over.any():
        raise InputError(name, "numbers within the float64 range (|x| < 1.8e308)", got=f"{arr.dtype} values{bad_indices(over)}")
    inexact = finite & (out.astype(arr.dtype) != arr)
    if inexact.any():
        raise InputError(name, "numbers exactly representable in float64", got=f"{arr.dtype} values{bad_indices(inexact)}",
                         detail="float64 would round them; convert with .astype(np.float64) to accept the rounding")
    return out


def _torch_to_numpy(t: Any, name: str) -> np.ndarray:
    t = t.detach()
    dtype = str(t.dtype).replace("torch.", "")
    if t.is_complex():
        raise InputError(name, "real numbers (the imaginary part would be lost)", got=f"a complex tensor ({dtype})")
    if dtype == "bool":
        raise InputError(name, "numbers (float or int), not booleans", got="a bool tensor")
    t = t.cpu()
    if t.dtype.is_floating_point:  # every torch float type (bfloat16, float8, …) is a subset of float64
        return t.double().numpy()
    try:
        return t.resolve_neg().numpy()
    except (TypeError, RuntimeError) as exc:
        raise InputError(name, "a tensor of real numbers", got=f"a {dtype} tensor") from exc


def real_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a new float64 array holding exactly the given numbers (NaN and ±inf kept),
    or :class:`InputError` naming ``name`` (see the module docstring for what is refused)."""
    if type(value) is float:
        return np.array(value)
    if hasattr(value, "detach") and hasattr(value, "is_complex"):
        arr = _torch_to_numpy(value, name)
    elif isinstance(value, (np.ndarray, np.generic)) or (hasattr(value, "__array__") and not isinstance(value, (list, tuple))):
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InputError(name, "an array of real numbers", got=type(value).__name__) from exc
    else:  # Python scalars and (nested) sequences: element by element, so that no int is rounded
        try:
            arr = np.array(value, dtype=object)
        except (TypeError, ValueError) as exc:
            raise InputError(name, "a rectangular array of numbers (nested lists of equal lengths)", got=type(value).__name__) from exc
    kind = arr.dtype.kind
    if kind == "f":
        return np.array(arr, dtype=np.float64) if arr.dtype.itemsize <= 8 else _from_wide_floats(arr, name)
    if kind in "iu":
        return _from_ints(arr, name)
    if kind == "O":
        return _from_object(arr, name)
    if kind == "c":
        raise InputError(name, "real numbers (the imaginary part would be lost)", got=f"a complex array ({arr.dtype})")
    if kind == "b":
        raise InputError(name, "numbers (float or int), not booleans", got="a bool array")
    if kind in "US":
        raise InputError(name, "numbers (float or int), not strings", got=f"a string array ({arr.dtype})")
    raise InputError(name, "an array of real numbers", got=f"an array of dtype {arr.dtype}")


def finite_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a new float64 array of finite numbers, exactly as given — or
    :class:`InputError` naming ``name``: for values that are not real numbers, that float64
    cannot hold exactly, and for NaN or inf entries (their first indices are reported).

    >>> finite_array([1, 2.5], "lo")
    array([1. , 2.5])
    >>> finite_array(float("nan"), "eps")
    Traceback (most recent call last):
    ...
    lstm_symbolic.errors.InputError: eps: expected a finite number (no NaN or inf), got nan
    >>> finite_array([1 + 2j], "xs")
    Traceback (most recent call last):
    ...
    lstm_symbolic.errors.InputError: xs: expected real numbers (the imaginary part would be lost), got the complex number (1+2j) at (0,)
    >>> finite_array([2**53 + 1], "W_f")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lstm_symbolic.errors.InputError: W_f: expected numbers exactly representable in float64 ..., got the integer 9007199254740993 at (0,) (float64 would round it to 9007199254740992.0; ...)
    """
    arr = real_array(value, name)
    bad = ~np.isfinite(arr)
    if bad.any():
        if arr.ndim == 0:
            raise InputError(name, "a finite number (no NaN or inf)", got=str(float(arr)))
        kinds = [k for k, present in (("nan", np.isnan(arr).any()), ("inf", (arr == np.inf).any()), ("-inf", (arr == -np.inf).any())) if present]
        raise InputError(name, "finite values (no NaN or inf)", got=f"{'/'.join(kinds)}{bad_indices(bad)}")
    return arr
