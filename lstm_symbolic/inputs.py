"""Input sets: where ``x⟨t⟩`` may be.

Every set answers, for a step index ``t`` (0-based), two questions:

- :meth:`InputSet.box` — an outward enclosure ``(lo, hi)`` of ``x⟨t⟩``, shape ([B,] n_x);
- :meth:`InputSet.linear_bounds` — an enclosure of ``W x⟨t⟩`` over the set, shape ([B,] m).

For :class:`Box` and :class:`LinfBall` the set *is* its box, so propagation fuses it into the
matrix product with ``a⟨t−1⟩`` (:attr:`InputSet.is_box`). For :class:`OneHot` the exact range of
``W x`` over the allowed tokens is the per-row min/max over the allowed columns of ``W`` — never
the box hull of the one-hot vectors, which would be far looser.

A set may carry a time axis (arrays of shape (T, n_x) or (T, B, n_x)); a time axis of length 1
broadcasts over any number of steps. Arrays are time first, like PyTorch's default
``nn.LSTM``; ``batch_first=True`` reads (B, T, n_x) instead (a 2-D array is an unbatched
(T, n_x) sequence in both layouts). Shape errors say which layout was assumed.

Every number goes through :func:`~lstm_symbolic._validate.finite_array`: complex, boolean or
string arrays, and integers float64 cannot hold exactly, are refused rather than coerced.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from ._validate import finite_array
from .errors import InputError, ShapeError
from .interval import kernels as K
from .interval import rounding as R

__all__ = ["InputSet", "Box", "LinfBall", "OneHot", "ClippedBall", "Substitutions", "Pair", "MAX_STEPS", "MAX_VOCABULARY", "layout"]

Pair = tuple[np.ndarray, np.ndarray]


class InputSet:
    """Base class. ``n_x``: input size; ``steps``: length of the time axis (None: the same set
    at every step); ``batch``: batch size (None: unbatched); ``batch_first``: whether the
    arrays were *given* as (B, T, n_x) (they are stored time-major either way; the flag only
    shapes error messages)."""

    n_x: int
    steps: int | None = None
    batch: int | None = None
    batch_first: bool = False
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


#: The longest unrolling :func:`as_schedule` accepts. A trace stores 14 float64 arrays of
#: (T, [B,] n) — at 10**7 steps that is already gigabytes for the smallest model; to bound
#: every step t, however large, use :func:`lstm_symbolic.invariant` instead.
MAX_STEPS = 10_000_000

#: The largest one-hot vocabulary: far above any dense input layer that fits in memory
#: (W_x alone holds 4 n_a n_x floats); a clear error instead of numpy's allocation failure.
MAX_VOCABULARY = 2**31 - 1


def layout(batch_first: bool) -> str:
    """The array layout assumed, in the words shape errors use."""
    if batch_first:
        return "(n_x,), (T, n_x) or (B, T, n_x) (batch first, as batch_first=True says)"
    return "(n_x,), (T, n_x) or (T, B, n_x) (time first; pass batch_first=True for (B, T, n_x))"


def _time_major(arr: np.ndarray, name: str, batch_first: bool) -> np.ndarray:
    """``arr`` with its axes as (n_x,), (T, n_x) or (T, B, n_x): a (B, T, n_x) array is
    transposed when ``batch_first``. A 2-D array is (T, n_x) in both layouts (an unbatched
    sequence, as for PyTorch's ``nn.LSTM``)."""
    if arr.ndim > 3:
        raise ShapeError(name, f"shape {layout(batch_first)}", got=f"shape {arr.shape}")
    return arr.transpose(1, 0, 2) if batch_first and arr.ndim == 3 else arr


def _lift(arr: np.ndarray) -> np.ndarray:
    """A time-major array as (T|1, B|1, n_x|1): the time axis stays axis 0 whatever the ndim."""
    if arr.ndim == 0:
        return arr.reshape(1, 1, 1)
    if arr.ndim == 1:
        return arr[None, None, :]
    if arr.ndim == 2:
        return arr[:, None, :]
    return arr


def _broadcast(arrays: Sequence[np.ndarray], names: Sequence[str], batch_first: bool) -> list[np.ndarray]:
    """Broadcast time-major arrays together with their *time* axes aligned (numpy alone would
    align a (T, n_x) array's time axis with the batch axis of a (T, B, n_x) one)."""
    ndim = max(a.ndim for a in arrays)
    try:
        if ndim <= 1:
            out = np.broadcast_arrays(*arrays)
        else:
            out = np.broadcast_arrays(*(_lift(a) for a in arrays))
            if ndim == 2:
                out = [a[:, 0, :] for a in out]
    except ValueError as exc:
        shapes = " and ".join(f"{n} {a.shape}" for n, a in zip(names, arrays))
        raise ShapeError(names[-1], f"shapes that broadcast together as {layout(False)}",
                         got=f"{shapes} (time-major{', after batch_first' if batch_first else ''})") from exc
    return [np.array(a) for a in out]


def _split_axes(arr: np.ndarray, name: str, batch_first: bool = False) -> tuple[int, int | None, int | None]:
    """(n_x, steps, batch) for a time-major array of shape (n_x,), (T, n_x) or (T, B, n_x)."""
    if arr.ndim == 1:
        n_x, steps, batch = arr.shape[0], None, None
    elif arr.ndim == 2:
        n_x, steps, batch = arr.shape[1], arr.shape[0], None
    elif arr.ndim == 3:
        n_x, steps, batch = arr.shape[2], arr.shape[0], arr.shape[1]
    else:
        raise ShapeError(name, f"shape {layout(batch_first)}", got=f"shape {arr.shape}")
    if n_x == 0 or steps == 0 or batch == 0:
        given = arr.transpose(1, 0, 2).shape if batch_first and arr.ndim == 3 else arr.shape
        raise ShapeError(name, f"non-empty axes, shape {layout(batch_first)}", got=f"shape {given}")
    return n_x, steps, batch


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(name, "True or False", got=value)
    return bool(value)


class Box(InputSet):
    """``x⟨t⟩`` anywhere in ``[lo, hi]`` (elementwise).

    ``lo``, ``hi``: finite real numbers, ``lo <= hi``, of shape (n_x,), (T, n_x) or
    (T, B, n_x) — or (B, T, n_x) with ``batch_first=True`` (transposed internally; a 2-D
    array is (T, n_x) in both layouts). They broadcast together with their time axes aligned,
    so a (T, n_x) end pairs with a (T, B, n_x) one step by step.
    """

    def __init__(self, lo: Any, hi: Any, batch_first: bool = False) -> None:
        self.batch_first = _check_flag(batch_first, "batch_first")
        lo_a = _time_major(finite_array(lo, "lo"), "lo", self.batch_first)
        hi_a = _time_major(finite_array(hi, "hi"), "hi", self.batch_first)
        lo_a, hi_a = _broadcast([lo_a, hi_a], ["lo", "hi"], self.batch_first)
        self._init_box(lo_a, hi_a)

    def _init_box(self, lo_a: np.ndarray, hi_a: np.ndarray) -> None:
        """Set the (time-major, broadcast, finite) ends."""
        bad = lo_a > hi_a
        if bad.any():
            raise InputError("lo", "lo <= hi everywhere", got=f"lo > hi at {np.argwhere(bad)[:3].tolist()} (time-major indices)")
        self.n_x, self.steps, self.batch = _split_axes(lo_a, "lo", self.batch_first)
        self.lo, self.hi = lo_a, hi_a

    def box(self, t: int) -> Pair:
        return self._at(self.lo, t), self._at(self.hi, t)

    #: Arrays of shape (T, B, n_x) besides ``lo``, ``hi`` that :meth:`take_batch` restricts.
    _BATCHED: tuple[str, ...] = ()

    def take_batch(self, index: slice) -> "Box":
        """The same set on batch entries ``index``: the rows of its arrays (the same floats — a
        chunk of a large batch does not validate or round its rows again)."""
        if self.batch is None:
            return self
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        for name in self._BATCHED:
            setattr(sub, name, getattr(self, name)[:, index])
        sub._init_box(self.lo[:, index], self.hi[:, index])
        return sub

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

    ``center``: (n_x,), (T, n_x) or (T, B, n_x) — or (B, T, n_x) with ``batch_first=True``
    (transposed internally, like :class:`Box`); ``eps``: a non-negative finite number, or an
    array broadcastable to ``center`` (time axes aligned; in the same layout as ``center``).
    The box ``[center − eps, center + eps]`` is rounded outward. ``center`` and ``eps`` are
    kept time-major (T, B, n_x).
    """

    def __init__(self, center: Any, eps: Any, batch_first: bool = False) -> None:
        self.batch_first = _check_flag(batch_first, "batch_first")
        c = _time_major(finite_array(center, "center"), "center", self.batch_first)
        e = _time_major(finite_array(eps, "eps"), "eps", self.batch_first)
        if (e < 0).any():
            raise InputError("eps", "a non-negative radius", got=float(e.min()))
        c_b, e_b = _broadcast([c, e], ["center", "eps"], self.batch_first)
        if c_b.shape != c.shape:
            raise ShapeError("eps", f"a number or an array broadcastable to center {c.shape} (time-major)", got=f"shape {e.shape}")
        lo, hi = R.sub_down(c, e_b), R.add_up(c, e_b)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise InputError("eps", "center ± eps within the float64 range", got=f"max eps {float(e_b.max())!r}")
        self.center, self.eps = c, e_b
        self._init_box(lo, hi)

    _BATCHED = ("center", "eps")

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

    ``allowed``: integer token indices in [0, n_x) (integral floats such as ``2.0`` count), or a
    boolean mask of length ``n_x`` (True = allowed) — a mask is never read as the indices 0 and
    1. Fractional, non-numeric or out-of-range entries raise :class:`InputError` naming
    ``allowed``; ``n_x`` is at most :data:`MAX_VOCABULARY`.

    >>> OneHot(3, [True, False, True]).allowed
    array([0, 2])

    The exact range of ``W x`` is ``[min_k W[:, k], max_k W[:, k]]`` row by row — each row
    reaches its own extreme, but no looser than that.
    """

    is_box = False

    def __init__(self, n_x: int, allowed: Iterable[int] | None = None) -> None:
        if isinstance(n_x, (bool, np.bool_)) or not isinstance(n_x, (int, np.integer)) or not 1 <= n_x <= MAX_VOCABULARY:
            raise InputError("n_x", f"a positive integer (the vocabulary size), at most {MAX_VOCABULARY}", got=n_x)
        self.n_x = int(n_x)
        self.allowed = np.arange(self.n_x) if allowed is None else _token_indices(allowed, self.n_x)

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


def _token_indices(allowed: Any, n_x: int) -> np.ndarray:
    """``OneHot``'s ``allowed`` as sorted unique int64 indices in [0, n_x). Accepted: integer
    token indices (ints, integer arrays or tensors, or integral floats such as 2.0), or a
    boolean mask of length ``n_x`` (True = allowed). Refused, naming ``allowed``: fractional,
    non-finite, complex or string entries, out-of-range indices (however large: no
    OverflowError), mixes of booleans and integers, and nested or empty collections."""
    what = "an iterable of integer token indices, or a boolean mask of length n_x"
    if isinstance(allowed, (str, bytes)):
        raise InputError("allowed", what, got=repr(allowed))
    if hasattr(allowed, "detach"):  # a torch tensor
        allowed = allowed.detach().cpu().numpy()
    if isinstance(allowed, np.ndarray) or (hasattr(allowed, "__array__") and not isinstance(allowed, (list, tuple))):
        arr = np.asarray(allowed)
    else:
        try:
            items = list(allowed)
        except TypeError:
            raise InputError("allowed", what, got=allowed) from None
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
    if arr.ndim != 1:
        raise ShapeError("allowed", f"a flat collection: {what}", got=f"shape {arr.shape}")
    if arr.size == 0:
        raise InputError("allowed", "at least one allowed token", got="an empty set")
    if arr.dtype.kind == "O":
        flags = [isinstance(v, (bool, np.bool_)) for v in arr]
        if all(flags):
            arr = arr.astype(bool)
        elif any(flags):
            raise InputError("allowed", "integer token indices or a boolean mask, not a mix of both", got=arr.tolist())
    kind = arr.dtype.kind
    if kind == "b":
        if arr.shape != (n_x,):
            raise ShapeError("allowed", f"a boolean mask of length n_x = {n_x} (or integer token indices)", got=f"a mask of length {arr.size}")
        idx = np.flatnonzero(arr)
        if idx.size == 0:
            raise InputError("allowed", "at least one allowed token", got="a mask with no True entry")
        return idx.astype(np.int64)
    if kind in "iu":
        values = [int(v) for v in arr.tolist()]
    elif kind in "fO":
        values = []
        for v in arr.tolist():
            if isinstance(v, numbers.Integral):
                values.append(int(v))
            elif isinstance(v, numbers.Real) and math.isfinite(v) and float(v).is_integer():
                values.append(int(v))  # an integral float such as 2.0 names token 2 exactly
            else:
                raise InputError("allowed", "integer token indices (no fractional, non-finite or non-numeric entries)", got=repr(v))
    else:
        raise InputError("allowed", what, got=f"an array of dtype {arr.dtype}")
    bad = [k for k in values if not 0 <= k < n_x]
    if bad:
        shown = [str(k) if len(str(k)) <= 24 else f"{str(k)[:10]}…" for k in bad[:5]]
        raise InputError("allowed", f"token indices in [0, {n_x})", got=f"[{', '.join(shown)}]")
    return np.array(sorted(set(values)), dtype=np.int64)


def _time_axis(s: InputSet) -> str:
    if getattr(s, "batch_first", False):
        return "axis 1 of its arrays, batch first"
    return "axis 0 of its arrays, time first; pass batch_first=True for (B, T, n_x)"


def as_schedule(inputs: InputSet | Sequence[InputSet], steps: int | None, n_x: int) -> tuple[list[tuple[InputSet, int]], int | None]:
    """Resolve ``propagate``'s ``inputs``/``steps`` into one (set, time index) per step and the
    batch size. Raises :class:`InputError` naming ``inputs`` or ``steps``."""
    if steps is not None and (isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS):
        raise InputError("steps", f"a positive integer number of steps, at most {MAX_STEPS:,} (for every t: ls.invariant)", got=steps)
    if isinstance(inputs, InputSet):
        sets = [inputs]
        if inputs.steps is None or inputs.steps == 1:
            if steps is None and inputs.steps is None:
                raise InputError("steps", "the number of steps T when one input set is used at every step")
            T = int(steps) if steps is not None else 1
            schedule = [(inputs, 0)] * T
        else:
            if steps is not None and steps != inputs.steps:
                raise InputError("steps", f"{inputs.steps} (the input set's time axis, {_time_axis(inputs)}) or None", got=steps)
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


class ClippedBall(Box):
    """``x⟨t⟩`` within ``eps`` of ``center`` in the L∞ norm *and* inside the box ``[lo, hi]``
    (e.g. pixels in [0, 1]): ``|x − center| <= eps`` and ``lo <= x <= hi`` elementwise.

    ``center``, ``eps``: as for :class:`LinfBall` (``center`` need not lie in the box, but the
    intersection must not be empty); ``lo``, ``hi``: numbers or arrays broadcastable to
    ``center`` (default the unit box [0, 1]). The enclosure is the box
    ``[max(fl↓(center − eps), lo), min(fl↑(center + eps), hi)]`` — outward, so every real
    member lies in it. ``inner`` is a box of floats that are all members *exactly* (the ball's
    ends moved inward until ``|x − center| <= eps`` holds in real arithmetic), for searches
    that must stay inside the set.

    >>> s = ClippedBall([0.0, 0.5, 1.0], 0.1)
    >>> s.lo[0].item(), s.hi[-1].item(), bool((s.lo <= [0.0, 0.4, 0.9]).all() and (s.hi >= [0.1, 0.6, 1.0]).all())
    (0.0, 1.0, True)
    """

    def __init__(self, center: Any, eps: Any, lo: Any = 0.0, hi: Any = 1.0, batch_first: bool = False) -> None:
        ball = LinfBall(center, eps, batch_first=batch_first)
        box_lo = _time_major(finite_array(lo, "lo"), "lo", ball.batch_first)
        box_hi = _time_major(finite_array(hi, "hi"), "hi", ball.batch_first)
        c, e, b_lo, b_hi = _broadcast([ball.center, ball.eps, box_lo, box_hi], ["center", "eps", "lo", "hi"], ball.batch_first)
        if c.shape != ball.center.shape:
            raise ShapeError("lo", f"numbers or arrays broadcastable to center {ball.center.shape} (time-major)", got=f"shapes {box_lo.shape}, {box_hi.shape}")
        if (b_lo > b_hi).any():
            raise InputError("lo", "lo <= hi everywhere", got="lo > hi")
        outer_lo, outer_hi = np.maximum(ball.lo, b_lo), np.minimum(ball.hi, b_hi)
        from .testing import _into_ball

        in_lo, in_hi = np.maximum(_into_ball(ball.lo, c, e), b_lo), np.minimum(_into_ball(ball.hi, c, e), b_hi)
        if (in_lo > in_hi).any():
            raise InputError("eps", "a ball that meets the box [lo, hi]", got=f"an empty intersection at {np.argwhere(in_lo > in_hi)[:3].tolist()}")
        self.batch_first = ball.batch_first
        self.center, self.eps, self.clip_lo, self.clip_hi = c, e, b_lo, b_hi
        self.inner = (in_lo, in_hi)
        self._init_box(outer_lo, outer_hi)

    _BATCHED = ("center", "eps", "clip_lo", "clip_hi")

    def take_batch(self, index: slice) -> "ClippedBall":
        sub = super().take_batch(index)
        if sub is not self:
            sub.inner = (self.inner[0][:, index], self.inner[1][:, index])
        return sub

    def sample(self, rng: np.random.Generator, size: int, t: int = 0) -> np.ndarray:
        lo, hi = self._at(self.inner[0], t), self._at(self.inner[1], t)
        return lo + (hi - lo) * rng.random((size,) + lo.shape)

    def extreme_points(self, t: int = 0, limit: int = 64) -> np.ndarray:
        lo, hi = self._at(self.inner[0], t), self._at(self.inner[1], t)
        rng = np.random.default_rng(t)
        pick = rng.random((limit,) + lo.shape) < 0.5
        pick[0], pick[1 % limit] = False, True
        return np.where(pick, hi, lo)

    def __repr__(self) -> str:
        return f"ClippedBall(n_x={self.n_x}, steps={self.steps}, batch={self.batch}, max eps={float(self.eps.max())})"


class Substitutions:
    """A token sequence with at most ``k`` positions changed: ``x⟨t⟩ = e_{base[t]}`` except at
    up to ``k`` positions ``t``, where ``x⟨t⟩`` may be any token of ``allowed[t]`` — "at most k
    words replaced by a synonym". Not a per-step set (the budget couples the steps), so it is
    given to :func:`lstm_symbolic.certify`, which splits it exactly into per-step
    :class:`OneHot` sets (branch and bound over which positions change); :meth:`relaxed` is the
    per-step over-approximation "every position may change", usable with ``propagate``.

    ``n_x``: vocabulary size; ``base``: (T,) token indices; ``allowed``: one collection of token
    indices (or boolean mask) per position — the same for every position when a single
    collection is given; ``k``: a non-negative integer (at most T is meaningful).

    >>> s = Substitutions(5, [0, 1, 2], [[3], [3, 4], []], k=1)
    >>> [a.tolist() for a in s.allowed], s.k
    ([[0, 3], [1, 3, 4], [2]], 1)
    """

    def __init__(self, n_x: int, base: Any, allowed: Any, k: int) -> None:
        if isinstance(n_x, (bool, np.bool_)) or not isinstance(n_x, (int, np.integer)) or not 1 <= n_x <= MAX_VOCABULARY:
            raise InputError("n_x", f"a positive integer (the vocabulary size), at most {MAX_VOCABULARY}", got=n_x)
        self.n_x = int(n_x)
        b = np.asarray(base)
        if b.ndim != 1 or b.size == 0 or b.dtype.kind not in "iu" or (b < 0).any() or (b >= n_x).any():
            raise InputError("base", f"a non-empty sequence of token indices in [0, {n_x})", got=base)
        self.base = b.astype(np.int64)
        T = self.base.size
        per = list(allowed) if allowed is not None else []
        single = not per or not isinstance(per[0], (list, tuple, np.ndarray)) or (isinstance(per[0], np.ndarray) and per[0].ndim == 0)
        if single:
            per = [allowed] * T
        if len(per) != T:
            raise ShapeError("allowed", f"one collection of tokens per position ({T})", got=len(per))
        out = []
        for t, a in enumerate(per):
            extra = np.array([], dtype=np.int64) if a is None or (hasattr(a, "__len__") and len(a) == 0) else _token_indices(a, self.n_x)
            out.append(np.union1d(extra, [self.base[t]]).astype(np.int64))
        self.allowed = out
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InputError("k", "a non-negative integer number of changed positions", got=k)
        self.k = int(min(k, T))
        self.steps = T

    def relaxed(self) -> list[OneHot]:
        """Per-step sets with every position free (an over-approximation when k < T)."""
        return [OneHot(self.n_x, a) for a in self.allowed]

    def fixed(self, changed: Iterable[int]) -> list[OneHot]:
        """Per-step sets with only the positions ``changed`` free."""
        ch = set(int(t) for t in changed)
        return [OneHot(self.n_x, a if t in ch else [int(self.base[t])]) for t, a in enumerate(self.allowed)]

    def __repr__(self) -> str:
        return f"Substitutions(n_x={self.n_x}, T={self.steps}, k={self.k})"
