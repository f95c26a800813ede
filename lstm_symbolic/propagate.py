"""Unrolling through time — the one place where steps are chained — and the :class:`Trace`.

A *stepper* holds the state of one bounding method between steps and exposes
``step(input_set, t) -> dict[signal, (lo, hi)]``. :func:`propagate` owns the loop, the
input schedule and the assembly of the trace, whatever the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from .errors import InputError, ShapeError
from .inputs import InputSet, Pair, as_schedule
from .interval import Interval
from .interval import kernels as K
from .interval import rounding as R
from .lstm import IntervalState, LSTMWeights, interval_cell_step, interval_output

__all__ = ["propagate", "unroll", "Trace", "SIGNALS", "METHODS"]

#: Signals of a trace, in the seed's notation.
SIGNALS = ("f", "u", "o", "c_tilde", "c", "a", "y")
METHODS = ("interval", "symbolic")
#: One-hot sets are stepped token by token (exact columns, then the hull) while
#: tokens × batch stays at most this; above it, through the per-row range of W_x.
ONEHOT_SPLIT_MAX = 4096
_MODES = ("fast", "rigorous")


@dataclass(frozen=True)
class Trace:
    """Bounds of every signal at every step.

    Each of ``f, u, o, c_tilde, c, a, y`` is an :class:`Interval` of shape (T, [B,] n);
    index ``t-1`` of the time axis is step ``t``. ``y`` is ``None`` without an output layer.
    """

    f: Interval
    u: Interval
    o: Interval
    c_tilde: Interval
    c: Interval
    a: Interval
    y: Interval | None
    method: str
    mode: str

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return self.a.shape[0]

    def signals(self) -> dict[str, Interval]:
        """The signals present, by name."""
        return {k: getattr(self, k) for k in SIGNALS if getattr(self, k) is not None}

    def mean_width(self, signal: str) -> np.ndarray:
        """Mean width of ``signal`` per step (averaged over batch and units): (T,)."""
        iv = self.signals()[signal]
        return iv.width.reshape(iv.shape[0], -1).mean(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for JSON: ``{signal: {"lo": [...], "hi": [...]}, "method": ...}``."""
        out: dict[str, Any] = {"method": self.method, "mode": self.mode, "steps": self.steps}
        for k, iv in self.signals().items():
            out[k] = {"lo": iv.lo.tolist(), "hi": iv.hi.tolist()}
        return out


class Stepper(Protocol):
    """What a bounding method provides to the unrolling loop."""

    def step(self, inputs: InputSet, t: int) -> dict[str, Pair]: ...

    def margins(self, labels: np.ndarray) -> np.ndarray: ...


class IntervalStepper:
    """State ``(a, c)`` as boxes; one :func:`~lstm_symbolic.lstm.interval_cell_step` per step.

    The cell box is also intersected with the a priori domain ``|c⟨t⟩| <= max|c⟨0⟩| + t``
    (gates in [0, 1], ``|c̃| <= 1``; proved in docs/proofs/domains.md), whose float bound
    ``cap`` is advanced by one exactly-rounded-up addition per step. When gates saturate this
    keeps the bound at the exact domain instead of a few ulps outside it.
    """

    def __init__(self, w: LSTMWeights, a0: Pair, c0: Pair, mode: str) -> None:
        self.w, self.a, self.c, self.mode = w, a0, c0, mode
        self.cap = float(max(np.abs(c0[0]).max(), np.abs(c0[1]).max()))

    def step(self, inputs: InputSet, t: int) -> dict[str, Pair]:
        B = self.a[0].shape[0]
        y = None  # per-token bounds of y, when the step was split by token
        if inputs.is_box:
            lo, hi = inputs.box(t)
            state = interval_cell_step(self.w, self.a, self.c, x_box=_batch(lo, hi, B), mode=self.mode)
        elif (tokens := inputs.tokens(t)) is not None and tokens.size * B <= ONEHOT_SPLIT_MAX:
            state, y = self._step_per_token(tokens)
        else:
            lo, hi = inputs.linear_bounds(self.w.W_x, t)
            state = interval_cell_step(self.w, self.a, self.c, pre_x=_batch(lo, hi, B), mode=self.mode)
        self.cap = float(R.add_up(self.cap, 1.0))
        cell = (np.maximum(state.c[0], -self.cap), np.minimum(state.c[1], self.cap))
        state = state._replace(c=cell)
        self.a, self.c = state.a, state.c
        out = state._asdict()
        if self.w.W_y is not None:
            y_box = interval_output(self.w, state.a, self.mode)
            if y is not None:
                y_box = (np.maximum(y_box[0], y[0]), np.minimum(y_box[1], y[1]))
            out["y"] = y_box
        return out

    def _step_per_token(self, tokens: np.ndarray) -> tuple[IntervalState, Pair | None]:
        """One step for each allowed token with its exact column ``W_x e_k`` (a point, not the
        per-row min/max over all tokens, which mixes columns of different tokens), then the hull
        over tokens: the union of the K images is inside it. K copies of the batch, one call.
        ``y`` is bounded per token too, before the hull (returned separately; None without W_y)."""
        B, K = self.a[0].shape[0], tokens.size
        rep = lambda p: (np.repeat(p[0], K, axis=0), np.repeat(p[1], K, axis=0))  # noqa: E731
        cols = np.tile(self.w.W_x[:, tokens].T, (B, 1))  # (B*K, 4 n_a), row b*K + k
        state = interval_cell_step(self.w, rep(self.a), rep(self.c), pre_x=(cols, cols), mode=self.mode)
        hull = lambda p: (p[0].reshape(B, K, -1).min(axis=1), p[1].reshape(B, K, -1).max(axis=1))  # noqa: E731
        y = hull(interval_output(self.w, state.a, self.mode)) if self.w.W_y is not None else None
        return IntervalState(*(hull(p) for p in state)), y

    def margins(self, labels: np.ndarray) -> np.ndarray:
        """Lower bounds of ``z_label − z_j`` (B, n_y) over the current ``a`` box, through the
        exact difference rows ``W_y[label] − W_y[j]`` (``+inf`` at ``j = label``)."""
        out = np.empty((labels.shape[0], self.w.n_y))
        for label in np.unique(labels):
            rows = labels == label
            a_lo, a_hi = self.a[0][rows], self.a[1][rows]
            D_hi, D_lo, b_lo = self.w.margin_rows(int(label))
            lo, _ = K.add_outward(*K.matmul(D_hi, a_lo, a_hi), *K.matmul(D_lo, a_lo, a_hi))
            out[rows] = R.step_down(lo + b_lo)
        out[np.arange(labels.shape[0]), labels] = np.inf
        return out


def _batch(lo: np.ndarray, hi: np.ndarray, B: int) -> Pair:
    return np.broadcast_to(lo, (B, lo.shape[-1])), np.broadcast_to(hi, (B, hi.shape[-1]))


#: Memory budget (bytes) for the dense generator matrices of one symbolic batch chunk.
_SYMBOLIC_MEMORY = 400 * 2**20


def _unroll_chunks(w, inputs, steps, a0, c0, method, mode, max_symbols, B, chunk, progress=None) -> tuple[Trace, "ChunkedStepper"]:
    """Symbolic propagation of a large batch, ``chunk`` entries at a time (memory), glued back
    together. Each entry's bounds do not depend on the others; results agree with an unchunked
    run up to float rounding (BLAS may sum a different batch size in another order)."""
    traces, steppers = [], []
    n_chunks = -(-B // chunk)
    for i, start in enumerate(range(0, B, chunk)):
        idx = slice(start, min(start + chunk, B))
        sub_inputs = inputs.take_batch(idx) if isinstance(inputs, InputSet) else [s.take_batch(idx) for s in inputs]
        sub_a0, sub_c0 = (_take(v, idx) for v in (a0, c0))
        tr, st = unroll(w, sub_inputs, steps, sub_a0, sub_c0, method, mode, max_symbols, progress, (i, n_chunks))
        traces.append(tr)
        steppers.append(st)
    fields = {}
    for name in SIGNALS:
        parts = [getattr(t, name) for t in traces]
        fields[name] = None if parts[0] is None else Interval._unchecked(
            np.concatenate([p.lo for p in parts], axis=1), np.concatenate([p.hi for p in parts], axis=1)
        )
    return Trace(**fields, method=method, mode=mode), ChunkedStepper(steppers)


class ChunkedStepper:
    """The final states of a chunked run; answers :meth:`margins` chunk by chunk."""

    def __init__(self, steppers: list) -> None:
        self.steppers = steppers

    def margins(self, labels: np.ndarray) -> np.ndarray:
        out, start = [], 0
        for st in self.steppers:
            b = st.a.centre.shape[0] if hasattr(st.a, "centre") else st.a[0].shape[0]
            out.append(st.margins(labels[start : start + b]))
            start += b
        return np.concatenate(out, axis=0)


def _take(value: Any, idx: slice) -> Any:
    if value is None or _batch_size(value) == 0:
        return value
    if isinstance(value, Interval):
        return Interval(value.lo[idx], value.hi[idx])
    return np.asarray(value)[idx]


def _batch_size(value: Any) -> int:
    """B for an initial state of shape (B, n_a); 0 when unbatched or absent."""
    arr = value.lo if isinstance(value, Interval) else value
    return int(np.shape(arr)[0]) if arr is not None and np.ndim(arr) == 2 else 0


def _initial_box(value: Any, name: str, n_a: int, B: int) -> Pair:
    if value is None:
        z = np.zeros((B, n_a))
        return z, z
    iv = value if isinstance(value, Interval) else None
    if iv is None:
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(name, "an array or an Interval", got=type(value).__name__) from exc
        if not np.isfinite(arr).all():
            raise InputError(name, "finite values", got="NaN or inf entries")
        lo = hi = arr
    else:
        lo, hi = iv.lo, iv.hi
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise InputError(name, "a bounded Interval", got="infinite ends")
    try:
        return np.broadcast_to(lo, (B, n_a)).copy(), np.broadcast_to(hi, (B, n_a)).copy()
    except ValueError as exc:
        raise ShapeError(name, f"shape ({n_a},) or ({B}, {n_a})", got=f"shape {np.shape(lo)}") from exc


def propagate(
    w: LSTMWeights,
    inputs: InputSet | Sequence[InputSet],
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    method: str = "interval",
    mode: str = "fast",
    max_symbols: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Trace:
    """Bound every signal of the LSTM ``w`` at every step, for every input sequence in ``inputs``.

    ``inputs``: one input set used at every step (then ``steps=T`` is required), a sequence of
    T sets, or one set whose arrays carry the time axis. ``a0``, ``c0``: arrays or Intervals of
    shape (n_a,) or (B, n_a); default zeros. ``method``: ``"interval"`` (sound interval
    arithmetic) or ``"symbolic"`` (affine forms: keeps the relations between signals).
    ``mode``: ``"fast"`` (numpy's elementary functions widened by a tested ulp budget) or
    ``"rigorous"`` (no trust in any libm). ``max_symbols`` (symbolic only): how many noise
    symbols are carried between steps (default :data:`~lstm_symbolic.symbolic.MAX_SYMBOLS`);
    fewer is faster and looser (order reduction boxes the lightest ones). ``progress``: called
    as ``progress(done, total)`` after each step of the unrolling loop (``total`` counts the
    steps of every batch chunk), e.g. to draw a progress bar.

    Returns a :class:`Trace` whose Intervals have shape (T, [B,] n), B present when any input
    set or initial state is batched. Every interval contains the exact real-number value of its
    signal for every admissible input sequence (see docs/soundness.md).
    """
    trace, _ = unroll(w, inputs, steps, a0, c0, method, mode, max_symbols, progress)
    return trace


def unroll(
    w: LSTMWeights,
    inputs: InputSet | Sequence[InputSet],
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    method: str = "interval",
    mode: str = "fast",
    max_symbols: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    _chunk: tuple[int, int] = (0, 1),
) -> tuple[Trace, Stepper]:
    """:func:`propagate`, also returning the stepper in its final state (for margins)."""
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights", got=type(w).__name__)
    if method not in METHODS:
        raise InputError("method", f"one of {METHODS}", got=method)
    if mode not in _MODES:
        raise InputError("mode", f"one of {_MODES}", got=mode)
    if max_symbols is not None and (isinstance(max_symbols, bool) or not isinstance(max_symbols, (int, np.integer)) or max_symbols < 1):
        raise InputError("max_symbols", "a positive integer", got=max_symbols)
    schedule, B_in = as_schedule(inputs, steps, w.n_x)
    B_init = max(_batch_size(a0), _batch_size(c0))
    if method == "symbolic":
        from .symbolic import MAX_SYMBOLS

        k_max = max_symbols or MAX_SYMBOLS
        from . import lstm as L

        n_y = w.n_y or 0
        rows_y = n_y**2 if n_y <= L.SOFTMAX_PAIRWISE_MAX else n_y
        per_sample = 8 * (k_max + 8 * w.n_a + w.n_x) * max(4 * w.n_a, rows_y, 1)
        chunk = max(1, _SYMBOLIC_MEMORY // per_sample)
        B_total = B_in or B_init or 1
        if B_total > chunk:
            return _unroll_chunks(w, inputs, steps, a0, c0, method, mode, max_symbols, B_total, chunk, progress)
    if B_in is not None and B_init and B_init != B_in:
        raise ShapeError("a0", f"batch size {B_in} like the inputs", got=B_init)
    batched = B_in is not None or bool(B_init)
    B = B_in or B_init or 1
    a_box = _initial_box(a0, "a0", w.n_a, B)
    c_box = _initial_box(c0, "c0", w.n_a, B)
    stepper: Stepper
    if method == "interval":
        stepper = IntervalStepper(w, a_box, c_box, mode)
    else:
        from .symbolic import MAX_SYMBOLS, SymbolicStepper

        stepper = SymbolicStepper(w, a_box, c_box, mode, max_symbols or MAX_SYMBOLS)
    T = len(schedule)
    chunk_index, n_chunks = _chunk
    store: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t, (inputs_t, index) in enumerate(schedule):
        for name, (lo, hi) in stepper.step(inputs_t, index).items():
            if name not in store:  # written in place: no stacking copies at the end
                store[name] = (np.empty((T,) + lo.shape), np.empty((T,) + hi.shape))
            store[name][0][t] = lo
            store[name][1][t] = hi
        if progress is not None:
            progress(chunk_index * T + t + 1, n_chunks * T)
    fields: dict[str, Interval | None] = {}
    for name in SIGNALS:
        if name not in store:
            fields[name] = None
            continue
        lo, hi = store[name]
        with np.errstate(invalid="ignore"):
            ok = bool(np.min(hi - lo) >= 0)  # False on NaN too
        if not ok:  # fail closed
            raise FloatingPointError(f"internal error: invalid bound for {name}; please report this model")
        if not batched:
            lo, hi = lo[:, 0], hi[:, 0]
        fields[name] = Interval._unchecked(lo, hi)
    return Trace(**fields, method=method, mode=mode), stepper
