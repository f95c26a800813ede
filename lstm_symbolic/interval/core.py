"""The :class:`Interval` type: a thin, validated wrapper over the pure kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import real_array
from ..errors import InputError
from . import kernels as K

__all__ = ["Interval", "exp", "sigmoid", "tanh", "hull", "intersect", "EmptyIntersectionError"]

_MODES = ("fast", "rigorous")


class EmptyIntersectionError(InputError):
    """Two intervals that were expected to overlap do not."""


def _bad_indices(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.argwhere(mask)
    shown = ", ".join(str(tuple(int(i) for i in row)) if row.size else "()" for row in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"at {shown}{more}"


def _as_float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as float64, exactly (ends may be ±inf): complex, bool, string or object input
    and numbers float64 would round (``2**53 + 1``, ``10**400``) raise :class:`InputError`."""
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value  # the common case, no copy (the constructor copies)
    return real_array(value, name)


class Interval:
    """A box of closed intervals ``[lo, hi]`` (an array of them, any shape).

    Invariants (checked by the constructor, relied on by every kernel):
    ``lo`` and ``hi`` are float64 arrays of one shape, contain no NaN, and ``lo <= hi``
    everywhere; ``lo`` is never ``+inf`` and ``hi`` never ``-inf``. Infinite ends stand for
    unbounded intervals. Ends must be real numbers that float64 holds exactly: complex, bool
    or string ends, and integers such as ``2**53 + 1`` or ``10**400`` raise ``InputError``
    (an end is never silently rounded).

    Every operation returns an enclosure of the exact real-number result for all members:
    ``+``, ``-``, ``*`` (elementwise, with floats or intervals), ``W @ iv`` (a float matrix on
    the left), :func:`exp`, :func:`sigmoid`, :func:`tanh`.

    >>> import lstm_symbolic as ls
    >>> x = ls.Interval([0.0, -1.0], [1.0, 2.0])
    >>> (x + x).hi
    array([2., 4.])
    >>> bool((x * x).contains([0.5, 4.0]).all())
    True
    """

    __slots__ = ("_lo", "_hi")
    __array_ufunc__ = None  # make ``ndarray @ Interval`` defer to ``Interval.__rmatmul__``

    def __init__(self, lo: Any, hi: Any | None = None) -> None:
        lo_a = _as_float_array(lo, "lo")
        hi_a = lo_a if hi is None else _as_float_array(hi, "hi")
        try:
            lo_a, hi_a = np.broadcast_arrays(lo_a, hi_a)
        except ValueError as exc:
            raise InputError("hi", f"an array broadcastable with lo of shape {lo_a.shape}", got=f"shape {hi_a.shape}") from exc
        for name, arr in (("lo", lo_a), ("hi", hi_a)):
            nan = np.isnan(arr)
            if nan.any():
                raise InputError(name, "no NaN", got=f"NaN {_bad_indices(nan)}")
        bad = lo_a > hi_a
        if bad.any():
            raise InputError("lo", "lo <= hi everywhere", got=f"lo > hi {_bad_indices(bad)}")
        if (lo_a == np.inf).any():
            raise InputError("lo", "a lower end below +inf", got=f"+inf {_bad_indices(lo_a == np.inf)}")
        if (hi_a == -np.inf).any():
            raise InputError("hi", "an upper end above -inf", got=f"-inf {_bad_indices(hi_a == -np.inf)}")
        self._lo = np.array(lo_a, dtype=np.float64)
        self._hi = np.array(hi_a, dtype=np.float64)

    @classmethod
    def _unchecked(cls, lo: np.ndarray, hi: np.ndarray) -> "Interval":
        """Wrap kernel output without validation. For kernels only: the caller guarantees the
        invariants (float64, equal shapes, no NaN, lo <= hi)."""
        obj = cls.__new__(cls)
        obj._lo = lo
        obj._hi = hi
        return obj

    @classmethod
    def point(cls, x: Any) -> "Interval":
        """The degenerate interval ``[x, x]``."""
        return cls(x, x)

    @classmethod
    def hull_of(cls, points: Any, axis: int = 0) -> "Interval":
        """The smallest box containing ``points`` along ``axis`` (exact: min and max)."""
        p = _as_float_array(points, "points")
        return cls(p.min(axis=axis), p.max(axis=axis))

    # --- views ------------------------------------------------------------------------
    @property
    def lo(self) -> np.ndarray:
        """Lower ends, float64 array."""
        return self._lo

    @property
    def hi(self) -> np.ndarray:
        """Upper ends, float64 array."""
        return self._hi

    @property
    def mid(self) -> np.ndarray:
        """A float midpoint ``m`` (``lo/2 + hi/2``); ``[m - rad, m + rad]`` contains the interval."""
        return K.midrad(self._lo, self._hi)[0]

    @property
    def rad(self) -> np.ndarray:
        """A radius rounded up, so that ``[mid - rad, mid + rad]`` contains the interval."""
        return K.midrad(self._lo, self._hi)[1]

    @property
    def width(self) -> np.ndarray:
        """``hi - lo`` rounded up."""
        from .rounding import sub_up

        return sub_up(self._hi, self._lo)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._lo.shape

    @property
    def ndim(self) -> int:
        return self._lo.ndim

    def __len__(self) -> int:
        return len(self._lo)

    def __getitem__(self, index: Any) -> "Interval":
        return Interval._unchecked(self._lo[index], self._hi[index])

    def __repr__(self) -> str:
        if self._lo.ndim == 0:
            return f"Interval({float(self._lo)!r}, {float(self._hi)!r})"
        return f"Interval(lo={self._lo!r}, hi={self._hi!r})"

    # --- membership -------------------------------------------------------------------
    def contains(self, x: Any) -> np.ndarray:
        """Elementwise ``lo <= x <= hi`` (bool array, broadcast). Exact for float ``x``."""
        xa = _as_float_array(x, "x")
        return (self._lo <= xa) & (xa <= self._hi)

    def subset(self, other: "Interval") -> np.ndarray:
        """Elementwise ``self ⊆ other`` (bool array)."""
        other = _coerce(other)
        return (other._lo <= self._lo) & (self._hi <= other._hi)

    def certainly_positive(self) -> np.ndarray:
        """Every member > 0 (bool array). Uncertain questions get two functions, no guess."""
        return self._lo > 0

    def possibly_positive(self) -> np.ndarray:
        """Some member > 0 (bool array)."""
        return self._hi > 0

    def certainly_negative(self) -> np.ndarray:
        return self._hi < 0

    def possibly_negative(self) -> np.ndarray:
        return self._lo < 0

    # --- arithmetic -------------------------------------------------------------------
    def __add__(self, other: Any) -> "Interval":
        o = _coerce(other)
        return Interval._unchecked(*K.add(self._lo, self._hi, o._lo, o._hi))

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Interval":
        o = _coerce(other)
        return Interval._unchecked(*K.sub(self._lo, self._hi, o._lo, o._hi))

    def __rsub__(self, other: Any) -> "Interval":
        return _coerce(other) - self

    def __neg__(self) -> "Interval":
        return Interval._unchecked(*K.neg(self._lo, self._hi))

    def __pos__(self) -> "Interval":
        return self

    def __mul__(self, other: Any) -> "Interval":
        o = _coerce(other)
        return Interval._unchecked(*K.mul(self._lo, self._hi, o._lo, o._hi))

    __rmul__ = __mul__

    def __rmatmul__(self, W: Any) -> "Interval":
        """``W @ iv`` for a float matrix ``W`` (m, n) and ``iv`` of shape (n,) or (..., n)
        with the vector on the last axis. See :func:`.kernels.matmul` for the error bound."""
        Wa = _as_float_array(W, "W")
        if Wa.ndim != 2:
            raise InputError("W", "a 2-D matrix", got=f"shape {Wa.shape}")
        if not np.isfinite(Wa).all():
            raise InputError("W", "finite entries", got=f"non-finite {_bad_indices(~np.isfinite(Wa))}")
        if self.ndim == 0 or self.shape[-1] != Wa.shape[1]:
            raise InputError("iv", f"last axis of length {Wa.shape[1]} (W has shape {Wa.shape})", got=f"shape {self.shape}")
        return Interval._unchecked(*K.matmul(Wa, self._lo, self._hi))

    def __matmul__(self, other: Any) -> "Interval":
        raise TypeError("only a float matrix on the left is supported: write W @ iv")

    # --- set operations ---------------------------------------------------------------
    def hull(self, other: Any) -> "Interval":
        """Smallest interval containing both (exact)."""
        o = _coerce(other)
        return Interval._unchecked(*K.hull(*np.broadcast_arrays(self._lo, self._hi, o._lo, o._hi)))

    def intersect(self, other: Any) -> "Interval":
        """Intersection; raises :class:`EmptyIntersectionError` naming the empty entries."""
        o = _coerce(other)
        lo, hi = K.intersect(*np.broadcast_arrays(self._lo, self._hi, o._lo, o._hi))
        empty = lo > hi
        if empty.any():
            raise EmptyIntersectionError("other", "an interval overlapping self", got=f"disjoint {_bad_indices(empty)}")
        return Interval._unchecked(lo, hi)


def _coerce(x: Any) -> Interval:
    if isinstance(x, Interval):
        return x
    return Interval(x, x)


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise InputError("mode", f"one of {_MODES}", got=mode)


def exp(x: Interval | Any, mode: str = "fast") -> Interval:
    """Sound enclosure of ``exp`` over ``x``. ``mode="fast"`` widens numpy's value by the ulp
    budget of :data:`~lstm_symbolic.interval.rounding.ULP_BUDGET`; ``mode="rigorous"`` trusts no
    libm (range reduction and a Taylor polynomial in interval arithmetic)."""
    _check_mode(mode)
    x = _coerce(x)
    return Interval._unchecked(*K.exact_points('exp', x.lo, x.hi, *K.exp(x.lo, x.hi, mode)))


def sigmoid(x: Interval | Any, mode: str = "fast") -> Interval:
    """Sound enclosure of ``σ(x) = 1 / (1 + e^{-x})``, within ``[0, 1]``."""
    _check_mode(mode)
    x = _coerce(x)
    return Interval._unchecked(*K.exact_points('sigmoid', x.lo, x.hi, *K.sigmoid(x.lo, x.hi, mode)))


def tanh(x: Interval | Any, mode: str = "fast") -> Interval:
    """Sound enclosure of ``tanh(x)``, within ``[-1, 1]``."""
    _check_mode(mode)
    x = _coerce(x)
    return Interval._unchecked(*K.exact_points('tanh', x.lo, x.hi, *K.tanh(x.lo, x.hi, mode)))


def hull(a: Interval, b: Interval) -> Interval:
    """Smallest interval containing ``a`` and ``b``."""
    return _coerce(a).hull(b)


def intersect(a: Interval, b: Interval) -> Interval:
    """Intersection of ``a`` and ``b`` (raises when empty)."""
    return _coerce(a).intersect(b)
