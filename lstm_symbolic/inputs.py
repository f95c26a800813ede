"""Input sets: where ``x⟨t⟩`` may be.

Every set answers, for a step index ``t`` (0-based), two questions:

- :meth:`InputSet.box` — an outward enclosure ``(lo, hi)`` of ``x⟨t⟩``, shape ([B,] n_x);
- :meth:`InputSet.linear_bounds` — an enclosure of ``W x⟨t⟩`` over the set, shape ([B,] m).

For :class:`Box` and :class:`LinfBall` the set *is* its box, so propagation fuses it into the
matrix product with ``a⟨t−1⟩`` (:attr:`InputSet.is_box`). For :class:`OneHot` the exact range of
``W x`` over the allowed tokens is the per-row min/max over the allowed columns of ``W`` — never
the box hull of the one-hot vectors, which would be far looser.

A set may carry a time axis (arrays of shape (T, n_x) or (T, B, n_x)); a time axis of length 1
broadcasts over any number of steps.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ._validate import finite_array
from .errors import InputError, ShapeError
from .interval import kernels as K
from .interval import rounding as R

__all__ = ["InputSet", "Box", "LinfBall", "OneHot", "Pair"]

Pair = tuple[np.ndarray, np.ndarray]


class InputSet:
    """Base class. ``n_x``: input size; ``steps``: length of the time axis (None: the same set
    at every step); ``batch``: batch size (None: unbatched)."""

    n_x: int
    steps: int | None = None
    batch: int | None = None
    is_box = True

    def box(self, t: int) -> Pair:
        """Enclosure ``(lo, hi)`` of ``x⟨t+1⟩`` (index ``t`` of the time axis), ([B,] n_x)."""
        raise NotImplementedError

    def linear_bounds(self, W: np.ndarray, t: int) -> Pair:
        """Enclosure of ``W x`` for every ``x`` in the set at index ``t``: ([B,] m)."""
        lo, hi = self.box(t)
        return K.matmul(W, lo, hi)

    def tokens(self, t: int) -> np.ndarray | None:
        """For a finite set of one-hot vectors, the token indices allowed at index ``t`` (so
        that propagation can step token by token); ``None`` for any other set."""
        return None

    def sample(self, rng: np.random.Generator, size: int, t: int = 0) -> np.ndarray:
        """``size`` random members at index ``t``: (size, [B,] n_x)."""
        raise NotImplementedError

    def extreme_points(self, t: int = 0, limit: int = 64) -> np.ndarray:
        """Up to ``limit`` extreme points (corners / vertices) at index ``t``: (k, [B,] n_x)."""
        raise NotImplementedError

    def take_batch(self, index: slice) -> "InputSet":
        """The same set restricted to batch entries ``index`` (sets without a batch: itself)."""
        return self

    def _at(self, arr: np.ndarray, t: int) -> np.ndarray:
        if self.steps is None:
            return arr
        return arr[0] if arr.shape[0] == 1 else arr[t]


def _split_axes(arr: np.ndarray, name: str) -> tuple[int, int | None, int | None]:
    """(n_x, steps, batch) for an array of shape (n_x,), (T, n_x) or (T, B, n_x)."""
    if arr.ndim == 1:
        n_x, steps, batch = arr.shape[0], None, None
    elif arr.ndim == 2:
        n_x, steps, batch = arr.shape[1], arr.shape[0], None
    elif arr.ndim == 3:
        n_x, steps, batch = arr.shape[2], arr.shape[0], arr.shape[1]
    else:
        raise ShapeError(name, "shape (n_x,), (T, n_x) or (T, B, n_x)", got=f"shape {arr.shape}")
    if n_x == 0 or steps == 0 or batch == 0:
        raise ShapeError(name, "non-empty axes", got=f"shape {arr.shape}")
    return n_x, steps, batch


class Box(InputSet):
    """``x⟨t⟩`` anywhere in ``[lo, hi]`` (elementwise). ``lo``, ``hi``: (n_x,), (T, n_x) or
    (T, B, n_x), broadcast together; finite, ``lo <= hi``."""

    def __init__(self, lo: Any, hi: Any) -> None:
        lo_a, hi_a = finite_array(lo, "lo"), finite_array(hi, "hi")
        try:
            lo_a, hi_a = (np.array(v) for v in np.broadcast_arrays(lo_a, hi_a))
        except ValueError as exc:
            raise ShapeError("hi", f"a shape broadcastable with lo {lo_a.shape}", got=f"shape {hi_a.shape}") from exc
        bad = lo_a > hi_a
        if bad.any():
            raise InputError("lo", "lo <= hi everywhere", got=f"lo > hi at {np.argwhere(bad)[:3].tolist()}")
        self.n_x, self.steps, self.batch = _split_axes(lo_a, "lo")
        self.lo, self.hi = lo_a, hi_a

    def box(self, t: int) -> Pair:
        return self._at(self.lo, t), self._at(self.hi, t)

    def take_batch(self, index: slice) -> "Box":
        if self.batch is None:
            return self
        return Box(self.lo[:, index], self.hi[:, index])

    def sample(self, rng: np.random.Generator, size: int, t: int = 0) -> np.ndarray:
        lo, hi = self.box(t)
        return lo + (hi - lo) * rng.random((size,) + lo.shape)

    def extreme_points(self, t: int = 0, limit: int = 64) -> np.ndarray:
        lo, hi = self.box(t)
        rng = np.random.default_rng(t)
        pick = rng.random((limit,) + lo.shape) < 0.5
        pick[0], pick[1 % limit] = False, True  # the all-lo and all-hi corners first
        return np.where(pick, hi, lo)

    def __repr__(self) -> str:
        return f"Box(n_x={self.n_x}, steps={self.steps}, batch={self.batch})"


class LinfBall(Box):
    """``x⟨t⟩`` within ``eps`` of ``center`` in the L∞ norm: ``|x − center| <= eps`` elementwise.

    ``center``: (n_x,), (T, n_x) or (T, B, n_x); ``eps``: a non-negative float or an array
    broadcastable to ``center``. The box ``[center − eps, center + eps]`` is rounded outward.
    """

    def __init__(self, center: Any, eps: Any) -> None:
        c = finite_array(center, "center")
        e = finite_array(eps, "eps")
        if (e < 0).any():
            raise InputError("eps", "a non-negative radius", got=float(e.min()))
        try:
            c_b, e_b = (np.array(v) for v in np.broadcast_arrays(c, e))
        except ValueError as exc:
            raise ShapeError("eps", f"a scalar or an array broadcastable to center {c.shape}", got=f"shape {e.shape}") from exc
        if c_b.shape != c.shape:
            raise ShapeError("eps", f"a scalar or an array broadcastable to center {c.shape}", got=f"shape {e.shape}")
        self.center, self.eps = c, e_b
        super().__init__(R.sub_down(c, e_b), R.add_up(c, e_b))

    def take_batch(self, index: slice) -> "LinfBall":
        if self.batch is None:
            return self
        return LinfBall(self.center[:, index], self.eps[:, index])

    def sample(self, rng: np.random.Generator, size: int, t: int = 0) -> np.ndarray:
        c, e = self._at(self.center, t), self._at(self.eps, t)
        return c + e * rng.uniform(-1.0, 1.0, (size,) + c.shape)

    def extreme_points(self, t: int = 0, limit: int = 64) -> np.ndarray:
        c, e = self._at(self.center, t), self._at(self.eps, t)
        rng = np.random.default_rng(t)
        signs = np.where(rng.random((limit,) + c.shape) < 0.5, -1.0, 1.0)
        signs[0], signs[1 % limit] = -1.0, 1.0
        return c + e * signs

    def __repr__(self) -> str:
        return f"LinfBall(n_x={self.n_x}, steps={self.steps}, batch={self.batch}, max eps={float(self.eps.max())})"


class OneHot(InputSet):
    """``x⟨t⟩`` is one of the basis vectors ``e_k`` for ``k`` in ``allowed`` (default: all).

    The exact range of ``W x`` is ``[min_k W[:, k], max_k W[:, k]]`` row by row — each row
    reaches its own extreme, but no looser than that.
    """

    is_box = False

    def __init__(self, n_x: int, allowed: Iterable[int] | None = None) -> None:
        if isinstance(n_x, bool) or not isinstance(n_x, (int, np.integer)) or n_x < 1:
            raise InputError("n_x", "a positive integer (the vocabulary size)", got=n_x)
        self.n_x = int(n_x)
        if allowed is None:
            idx = np.arange(self.n_x)
        else:
            try:
                idx = np.array(sorted(set(int(k) for k in allowed)), dtype=np.int64)
            except (TypeError, ValueError) as exc:
                raise InputError("allowed", "an iterable of integer token indices", got=allowed) from exc
            if idx.size == 0:
                raise InputError("allowed", "at least one allowed token", got="an empty set")
            if idx[0] < 0 or idx[-1] >= self.n_x:
                raise InputError("allowed", f"token indices in [0, {self.n_x})", got=idx.tolist())
        self.allowed = idx

    def box(self, t: int) -> Pair:
        hi = np.zeros(self.n_x)
        hi[self.allowed] = 1.0
        lo = hi.copy() if self.allowed.size == 1 else np.zeros(self.n_x)
        return lo, hi

    def linear_bounds(self, W: np.ndarray, t: int) -> Pair:
        cols = W[:, self.allowed]
        return cols.min(axis=1), cols.max(axis=1)

    def tokens(self, t: int) -> np.ndarray:
        return self.allowed

    def vertices(self) -> np.ndarray:
        """The allowed one-hot vectors, (k, n_x)."""
        return np.eye(self.n_x)[self.allowed]

    def sample(self, rng: np.random.Generator, size: int, t: int = 0) -> np.ndarray:
        return np.eye(self.n_x)[rng.choice(self.allowed, size=size)]

    def extreme_points(self, t: int = 0, limit: int = 64) -> np.ndarray:
        return self.vertices()[:limit]

    def __repr__(self) -> str:
        return f"OneHot(n_x={self.n_x}, allowed={self.allowed.tolist()})"


def as_schedule(inputs: InputSet | Sequence[InputSet], steps: int | None, n_x: int) -> tuple[list[tuple[InputSet, int]], int | None]:
    """Resolve ``propagate``'s ``inputs``/``steps`` into one (set, time index) per step and the
    batch size. Raises :class:`InputError` naming ``inputs`` or ``steps``."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1):
        raise InputError("steps", "a positive integer number of steps", got=steps)
    if isinstance(inputs, InputSet):
        sets = [inputs]
        if inputs.steps is None or inputs.steps == 1:
            if steps is None and inputs.steps is None:
                raise InputError("steps", "the number of steps T when one input set is used at every step")
            T = int(steps) if steps is not None else 1
            schedule = [(inputs, 0)] * T
        else:
            if steps is not None and steps != inputs.steps:
                raise InputError("steps", f"{inputs.steps} (the input set's time axis) or None", got=steps)
            schedule = [(inputs, t) for t in range(inputs.steps)]
    else:
        try:
            sets = list(inputs)
        except TypeError as exc:
            raise InputError("inputs", "an input set (Box, LinfBall, OneHot) or a sequence of them", got=type(inputs).__name__) from exc
        if not sets or not all(isinstance(s, InputSet) for s in sets):
            raise InputError("inputs", "a non-empty sequence of input sets (Box, LinfBall, OneHot)", got=inputs)
        if any(s.steps not in (None, 1) for s in sets):
            raise InputError("inputs", "per-step sets without their own time axis")
        if steps is not None and steps != len(sets):
            raise InputError("steps", f"{len(sets)} (one per input set) or None", got=steps)
        schedule = [(s, 0) for s in sets]
    for s in sets:
        if s.n_x != n_x:
            raise ShapeError("inputs", f"sets over n_x = {n_x} inputs (the model's)", got=f"n_x = {s.n_x}")
    batches = {s.batch for s in sets if s.batch is not None}
    if len(batches) > 1:
        raise ShapeError("inputs", "one batch size across steps", got=sorted(batches))
    return schedule, (batches.pop() if batches else None)
