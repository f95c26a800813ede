"""Unrolling through time — the one place where steps are chained — and the :class:`Trace`.

:func:`propagate` resolves the input schedule and the initial states, builds the engine of
the chosen method (:mod:`lstm_symbolic.methods`), and runs every layer's cell step by step:
``cell.step(engine, x⟨t⟩, state)`` (:mod:`lstm_symbolic.cells`), then the cell's a priori
domains are intersected in, the bounds recorded, the softmax head bounded, and the engine told
that the step ended. Unidirectional stacks run time-major (all layers at step t, then t + 1);
a model with a bidirectional layer runs layer by layer, each direction over the whole sequence.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import _threads
from . import methods as M
from ._validate import finite_array
from .errors import InputError, ShapeError
from .inputs import InputSet, as_schedule
from .interval import Interval
from .interval import kernels as K
from .model import Model, as_model, per_cell

__all__ = ["propagate", "unroll", "one_step", "Trace", "Final", "SIGNALS", "METHODS"]

#: Signals of an LSTM trace, in the seed's notation (other cells have their own names).
SIGNALS = ("f", "u", "o", "c_tilde", "c", "a", "y")
#: Every cell's signal names: a trace answers None for those its last layer does not have.
_KNOWN = SIGNALS + ("r", "z", "n")
METHODS = M.METHODS
_MODES = ("fast", "rigorous")
#: Memory budget (bytes) for the dense generator matrices of one symbolic batch chunk.
_SYMBOLIC_MEMORY = 400 * 2**20
#: Memory budget (bytes) for the recorded coefficient matrices of one linear batch chunk.
_LINEAR_MEMORY = 1024 * 2**20


class Trace:
    """Bounds of every signal at every step.

    ``layers``: one dict per layer, ``{signal: Interval (T, [B,] n)}`` (a bidirectional layer's
    signals are its two directions' concatenated, forward first); ``y``: the softmax output's
    bounds (T, [B,] n_y) or None without a head. Index ``t-1`` of the time axis is step ``t``.
    The last layer's signals are also attributes: ``trace.f, .u, .o, .c_tilde, .c, .a`` for an
    LSTM, ``trace.r, .z, .n, .a`` for a GRU (None for signals the last layer's cell does not
    have).
    """

    def __init__(self, layers: Sequence[Mapping[str, Interval]], y: Interval | None, method: str, mode: str) -> None:
        self.layers = tuple(dict(d) for d in layers)
        self.y, self.method, self.mode = y, method, mode

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("layers", "y", "method", "mode"):
            raise AttributeError(name)
        if name in _KNOWN or name in self.layers[-1]:
            return self.layers[-1].get(name)
        raise AttributeError(f"Trace has no signal {name!r} (signals: {', '.join(self.signals())})")

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return next(iter(self.layers[-1].values())).shape[0]

    def signals(self) -> dict[str, Interval]:
        """The last layer's signals and ``y`` when present, by name."""
        out = dict(self.layers[-1])
        if self.y is not None:
            out["y"] = self.y
        return out

    def mean_width(self, signal: str) -> np.ndarray:
        """Mean width of ``signal`` per step (averaged over batch and units): (T,)."""
        iv = self.signals()[signal]
        return iv.width.reshape(iv.shape[0], -1).mean(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for JSON: ``{signal: {"lo": [...], "hi": [...]}, "method": ...}`` for the
        last layer and ``y``, plus ``"layers"`` with every layer's signals when there are
        several."""
        out: dict[str, Any] = {"method": self.method, "mode": self.mode, "steps": self.steps}
        for k, iv in self.signals().items():
            out[k] = {"lo": iv.lo.tolist(), "hi": iv.hi.tolist()}
        if len(self.layers) > 1:
            out["layers"] = [{k: {"lo": iv.lo.tolist(), "hi": iv.hi.tolist()} for k, iv in d.items()} for d in self.layers]
        return out

    def __repr__(self) -> str:
        return f"Trace(method={self.method!r}, steps={self.steps}, signals={list(self.signals())})"


class Final:
    """The engine and the last output value after an unrolled run: margins of the head on it
    (:meth:`margins`), for certificates. Chunked runs hold one per chunk."""

    def __init__(self, parts: list[tuple[Any, Any, int]], head: Any) -> None:
        self.parts, self.head = parts, head

    def margins(self, labels: np.ndarray) -> np.ndarray:
        """Lower bounds of ``z_label − z_j`` (B, n_y) at the last step; ``+inf`` at the label."""
        out, start = [], 0
        for engine, a, b in self.parts:
            out.append(engine.margins(self.head, a, labels[start : start + b]))
            start += b
        return np.concatenate(out, axis=0)


# --- initial states and batch sizes ------------------------------------------------------------


def _batch_size(value: Any) -> int:
    """B for an initial state of shape (B, n); 0 when unbatched or absent."""
    if value is None:
        return 0
    arr = value.lo if isinstance(value, Interval) else value
    return int(np.shape(arr)[0]) if np.ndim(arr) == 2 else 0


def _initial_box(value: Any, name: str, n: int, B: int) -> tuple[np.ndarray, np.ndarray]:
    """An initial state as a box ``(lo, hi)`` (B, n): default zeros; an array or an Interval
    of shape (n,) or (B, n), finite."""
    if value is None:
        z = np.zeros((B, n))
        return z, z
    if isinstance(value, Interval):
        lo, hi = value.lo, value.hi
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise InputError(name, "a bounded Interval", got="infinite ends")
    else:
        lo = hi = finite_array(value, name)
    if np.ndim(lo) not in (1, 2) or (np.ndim(lo) == 2 and lo.shape[0] != B) or np.shape(lo)[-1] != n:
        raise ShapeError(name, f"shape ({n},) or ({B}, {n})", got=f"shape {np.shape(lo)}")
    return np.broadcast_to(lo, (B, n)).copy(), np.broadcast_to(hi, (B, n)).copy()


def _take(value: Any, idx: slice) -> Any:
    if value is None or _batch_size(value) == 0:
        return value
    if isinstance(value, Interval):
        return Interval(value.lo[idx], value.hi[idx])
    return np.asarray(value)[idx]


# --- the public entry points ---------------------------------------------------------------------


def propagate(
    w: Any,
    inputs: InputSet | Sequence[InputSet],
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    method: str = "best",
    mode: str = "fast",
    max_symbols: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    window: int | None = None,
    optimise: int | None = None,
    optimise_intermediate: bool = False,
) -> Trace:
    """Bound every signal of the model ``w`` at every step, for every input sequence in ``inputs``.

    ``w``: an :class:`~lstm_symbolic.LSTMWeights` or a :class:`~lstm_symbolic.model.Model`.
    ``inputs``: one input set used at every step (then ``steps=T`` is required), a sequence of
    T sets, or one set whose arrays carry the time axis. ``a0``, ``c0``: arrays or Intervals of
    shape (n_a,) or (B, n_a); default zeros. A model of several cells (a stack, a
    bidirectional layer) takes one per cell, layer order and forward before reverse: a list
    (each entry None, (n,) or (B, n)) or one array / Interval stacked like PyTorch's ``h_0``,
    (num_layers · num_directions, [B,] n) (:func:`~lstm_symbolic.model.per_cell`); a GRU cell
    has no ``c``. ``method``: one of :data:`METHODS` —
    ``"interval"`` (sound interval arithmetic, the cheapest), ``"symbolic"`` (forward affine
    forms: keeps the relations between signals), ``"linear"`` (backward linear bounds, CROWN
    class), ``"best"`` (the default: every method in lockstep, sharing bounds node by node).
    ``mode``: ``"fast"`` (numpy's elementary functions widened by a tested ulp budget) or
    ``"rigorous"`` (no trust in any libm). ``max_symbols`` (symbolic, best): how many noise
    symbols are carried between steps; fewer is faster and looser. ``window`` (linear, best):
    how many steps a backward pass goes back (default: unlimited for small models, shortened
    for large ones); ``optimise`` (linear, best): slope-optimisation iterations for the last
    step's bounds (α-CROWN style; default 0); ``optimise_intermediate``: spend them on every
    intermediate backward pass too (tighter, several times slower). ``progress``: called as
    ``progress(done, total)`` after each step of the unrolling loop (``total`` counts the
    steps of every batch chunk), e.g. to draw a progress bar; it may be called from worker
    threads (one at a time).

    Large batches run in chunks: the symbolic and linear methods bound their memory
    (``ZonotopeEngine.memory_per_sample``, ``LinearEngine.memory_per_sample``); an interval batch
    of at least 2 · :data:`PARALLEL_ROWS` entries is split over the idle CPUs, one thread each
    with one BLAS thread, and otherwise the BLAS runs on as many threads as there are idle CPUs
    (when threadpoolctl is installed; :mod:`lstm_symbolic._threads`). Chunks and thread counts
    change no bound's soundness; the last bits of a bound may depend on them (the BLAS's
    summation order), so on the machine's load — set the environment variable
    ``LSTM_SYMBOLIC_BLAS_THREADS`` to a thread count for the same bits run after run.

    Returns a :class:`Trace` whose Intervals have shape (T, [B,] n), B present when any input
    set or initial state is batched. Every interval contains the exact real-number value of its
    signal for every admissible input sequence (see docs/soundness.md).
    """
    trace, _ = unroll(w, inputs, steps, a0, c0, method, mode, max_symbols, progress, window=window, optimise=optimise,
                      optimise_intermediate=optimise_intermediate)
    return trace


def unroll(
    w: Any,
    inputs: InputSet | Sequence[InputSet],
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    method: str = "best",
    mode: str = "fast",
    max_symbols: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    window: int | None = None,
    optimise: int | None = None,
    engine_hook: Callable[[Any, slice], Any] | None = None,
    outputs: str = "every step",
    optimise_intermediate: bool = False,
) -> tuple[Trace, Final]:
    """:func:`propagate`, also returning the :class:`Final` state (for margins).

    ``outputs``: ``"every step"`` (default) or ``"last step"``: bound the softmax output only
    at the last step (the other steps then report its a priori range [0, 1]) — what a
    certificate needs, without ``n_y²`` difference rows at every step.

    ``engine_hook``: called as ``engine_hook(engine, batch)`` with each batch chunk's engine
    (``batch``: the slice of batch entries it bounds) before the run; the engine it returns is
    used instead. A hook that wraps the engine sees every call of the cells' algebra in order
    and may tighten a value with ``refine`` before it is used — how branch and bound imposes
    its split constraints (:mod:`lstm_symbolic.certification.bab`). The returned engine must
    keep the contract of :mod:`lstm_symbolic.methods.base`; the bounds are then sound for the
    inputs that satisfy whatever the hook imposed."""
    try:
        model = as_model(w)
    except InputError:
        raise InputError("w", "an LSTMWeights or a Model", got=type(w).__name__) from None
    if not isinstance(method, str) or method not in METHODS:
        raise InputError("method", f"one of {METHODS}", got=method)
    if not isinstance(mode, str) or mode not in _MODES:
        raise InputError("mode", f"one of {_MODES}", got=mode)
    if outputs not in ("every step", "last step"):
        raise InputError("outputs", "'every step' or 'last step'", got=outputs)
    options: dict[str, Any] = {}
    if max_symbols is not None:
        if isinstance(max_symbols, bool) or not isinstance(max_symbols, (int, np.integer)) or max_symbols < 1:
            raise InputError("max_symbols", "a positive integer", got=max_symbols)
        if method == "interval":
            raise InputError("max_symbols", "a symbolic or best run (the interval method has no symbols)", got=max_symbols)
        options["max_symbols"] = int(max_symbols)
    for name, value in (("window", window), ("optimise", optimise)):
        if value is None:
            continue
        if method not in ("linear", "best"):
            raise InputError(name, "a linear or best run (a backward-pass option)", got=value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (1 if name == "window" else 0):
            raise InputError(name, "a positive integer" if name == "window" else "a non-negative integer", got=value)
        options[name] = int(value)
    if optimise_intermediate:
        if method not in ("linear", "best") or not options.get("optimise"):
            raise InputError("optimise_intermediate", "a linear or best run with optimise > 0", got=optimise_intermediate)
        options["optimise_intermediate"] = True
    schedule, B_in = as_schedule(inputs, steps, model.n_x)
    inits = _named_initial(model, a0, c0)
    sizes = [(n, _batch_size(v)) for n, v in inits if v is not None]
    B_init = max([b for _, b in sizes], default=0)
    for name, b in sizes:
        if B_in is not None and b and b != B_in:
            raise ShapeError(name, f"batch size {B_in} like the inputs", got=b)
        if B_init and b not in (0, B_init):
            raise ShapeError(name, f"batch size {B_init} like the other initial states", got=b)
    batched = B_in is not None or bool(B_init)
    B = B_in or B_init or 1
    T = len(schedule)
    chunk = _chunk_size(method, model, options, T)
    free, blas = _threads.run_threads()
    workers = _workers(method, model, B, engine_hook, free)
    shared = None
    if workers > 1:
        chunk, shared = -(-B // workers), _SharedStore(T, B)
    parts: list[tuple[Any, Any, int]] = []
    traces: list = []
    starts = list(range(0, B, chunk)) if chunk < B else [0]
    # one BLAS thread per worker thread; a single thread's BLAS gets the idle CPUs (_threads)
    with _threads.blas_limit(1 if shared is not None else blas):
        _run_chunks(model, method, mode, options, schedule, inits, B, T, chunk, starts, progress, engine_hook, outputs, traces, parts,
                    shared)
    if shared is not None:
        traces = [shared.trace(traces)]
    return _assemble(traces, batched, method, mode), Final(parts, model.head)


#: Batch entries per worker below which the interval method runs its batch on one thread: above
#: it, the batch is split over the CPUs, each part in its own thread with one BLAS thread (numpy
#: releases the GIL in its loops and products). Measured on the benchmark model (n_a 256,
#: benchmarks/propagate.py, 2 cores, T 50): a batch of 512 took 630 ms in two threads against
#: 925 ms in one (the float64 forward pass: 397 ms), 256 entries 287 against 351 ms, 128 entries
#: 170 against 177 ms, and 64 entries in two threads of 32 gained nothing (119 against 120 ms).
PARALLEL_ROWS = 64


def _workers(method: str, model: Model, B: int, engine_hook: Any, cpus: int) -> int:
    """How many threads run an interval batch: one per idle CPU (``cpus``,
    :func:`._threads.idle_cpus`) while each gets at least :data:`PARALLEL_ROWS` entries — when
    threadpoolctl can hold every BLAS to one thread (else the threads' BLAS pools would
    oversubscribe the CPUs), the model runs time-major (no bidirectional or backward layer) and
    no engine hook is given (a hook sees one engine per chunk in order). Otherwise 1."""
    if method != "interval" or engine_hook is not None or B < 2 * PARALLEL_ROWS:
        return 1
    if any(layer.bidirectional or layer.backward for layer in model.layers) or not _threads.can_limit():
        return 1
    return max(1, min(cpus, B // PARALLEL_ROWS))


def _ends_store(shape: tuple[int, ...], fill: tuple[float, float] | None) -> np.ndarray:
    """A store (2, *shape) of lower ends then upper ends (``fill``: their initial values, else
    uninitialised)."""
    both = np.empty((2,) + shape)
    if fill is not None:
        both[0], both[1] = fill
    return both


class _SharedStore:
    """The (T, B, n) stores of a batch run in parallel parts: each part's recorder writes its
    rows of the same arrays (no copy to glue the parts together). Created on the first write of
    a signal, under a lock."""

    def __init__(self, T: int, B: int) -> None:
        self.T, self.B = T, B
        self.arrays: dict[tuple[int, str], np.ndarray] = {}
        self.lock = threading.Lock()

    def get(self, layer: int, name: str, n: int, fill: tuple[float, float] | None = None) -> np.ndarray:
        """The whole (2, T, B, n) store of ``name``, lower ends then upper ends (``fill``:
        their initial values, else uninitialised)."""
        with self.lock:
            both = self.arrays.get((layer, name))
            if both is None:
                both = self.arrays[(layer, name)] = _ends_store((self.T, self.B, n), fill)
            return both

    def trace(self, traces: list) -> tuple[list, Any]:
        """The whole run as one part's ``(layers, y)``, in the layout of the parts' traces."""
        def pair(both: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return both[0], both[1]

        layers = [{name: pair(self.arrays[(l, name)]) for name in d} for l, d in enumerate(traces[0][0])]
        y = pair(self.arrays[(-1, "y")]) if traces[0][1] is not None else None
        return layers, y


def _run_chunks(model: Model, method: str, mode: str, options: dict[str, Any], schedule: list, inits: list, B: int, T: int,
                chunk: int, starts: list[int], progress: Callable[[int, int], None] | None, engine_hook: Any, outputs: str,
                traces: list, parts: list, shared: "_SharedStore | None" = None) -> None:
    """Run every batch chunk, appending its trace and its :class:`Final` part (in batch
    order); with ``shared``, the chunks run at once, one thread each, recording into it."""
    lock = threading.Lock()

    def run(ci: int, start: int) -> tuple[tuple[Any, Any], tuple[Any, Any, int]]:
        idx = slice(start, min(start + chunk, B))
        b = idx.stop - idx.start
        sub_sched = schedule if len(starts) == 1 else [(s.take_batch(idx), i) for s, i in schedule]
        sub_inits = inits if len(starts) == 1 else [(n, _take(v, idx)) for n, v in inits]

        def tick(t: int) -> None:
            with lock:
                progress(ci * T + t, len(starts) * T)

        engine = M.make(method, model, b, mode, **options)
        if engine_hook is not None:
            engine = engine_hook(engine, idx)
        layers, y, a_last = _run(engine, model, sub_sched, sub_inits, b, None if progress is None else tick, outputs == "last step",
                                 None if shared is None else (shared, idx))
        return (layers, y), (engine, a_last, b)

    if shared is None:
        results = [run(ci, start) for ci, start in enumerate(starts)]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(starts)) as pool:
            results = list(pool.map(run, range(len(starts)), starts))
    for trace, part in results:
        traces.append(trace)
        parts.append(part)


def one_step(w: Any, inputs: InputSet, state: Mapping[str, tuple[np.ndarray, np.ndarray]], method: str = "symbolic", mode: str = "fast") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bounds of every signal after one step of a single-cell model from the state box
    ``state`` (``{"a": (lo, hi), "c": (lo, hi)}`` for an LSTM, arrays (B, n)) with ``x`` in
    ``inputs`` (index 0 of its time axis): the image of a box under one sound step, what
    all-horizon invariants are proved with. The a priori domains used are those of step 1
    from that box."""
    model = as_model(w)
    if len(model.layers) != 1 or model.layers[0].reverse is not None:
        raise InputError("w", "a model with one unidirectional layer")
    cell = model.layers[0].cell
    B = next(iter(state.values()))[0].shape[0]
    engine = M.make(method, model, B, mode)
    values = {k: engine.initial(*state[k]) for k in cell.state}
    sig = _step_cell(engine, cell, engine.input(inputs, 0), values, _a_priori_steps(cell, 1, state)[0])
    return {k: engine.bounds(v) for k, v in sig.items()}


def _chunk_size(method: str, model: Model, options: dict[str, Any], steps: int) -> int:
    """Batch entries per run: bounded by :data:`_SYMBOLIC_MEMORY` for the methods that carry
    dense generator matrices and by :data:`_LINEAR_MEMORY` for the backward passes' records
    (``best`` runs both), unbounded for interval."""
    if method == "interval":
        return 2**62
    from .methods.linear import LinearEngine
    from .methods.zonotope import ZonotopeEngine

    chunk = 2**62
    if method in ("linear", "best"):
        chunk = max(1, _LINEAR_MEMORY // LinearEngine.memory_per_sample(model, steps, options))
    if method != "linear":
        chunk = min(chunk, max(1, _SYMBOLIC_MEMORY // ZonotopeEngine.memory_per_sample(model, options.get("max_symbols"))))
    return chunk


# --- the loop ------------------------------------------------------------------------------------


class _Recorder:
    """Bounds per layer and signal, written in place into (T, B, n) arrays, and checked (fail
    closed: ordered and NaN-free) before anything is returned.

    Each signal's store is one array (2, T, B, n) — its lower ends, then its upper ends — so
    that a value whose bounds come as one ends array (2, B, n) (the interval engine's) is
    written with one copy; ``store`` holds the two halves, views (T, B, n). Each write of more
    than :data:`_CHECK_EACH` entries is checked at once, while it is in cache; smaller ones are
    checked all together by :meth:`finish` (one reduction per signal instead of one per step:
    per-call overhead dominates small batches). Either way every recorded entry is checked
    before the trace is built."""

    def __init__(self, n_layers: int, T: int, shared: "tuple[_SharedStore, slice] | None" = None) -> None:
        self.T = T
        self.store: list[dict[str, tuple[np.ndarray, np.ndarray]]] = [dict() for _ in range(n_layers)]
        self.slots: list[dict[str, tuple[np.ndarray, bool]]] = [dict() for _ in range(n_layers)]
        self.bad: str | None = None
        self.deferred: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.shared = shared

    def _new(self, layer: int, name: str, shape: tuple[int, ...], fill: tuple[float, float] | None = None) -> np.ndarray:
        """A fresh (2, T, B, n) store, or this part's rows of the shared one."""
        if self.shared is not None:
            store, rows = self.shared
            return store.get(layer, name, shape[-1], fill)[:, :, rows]
        return _ends_store((self.T,) + shape, fill)

    def y_slot(self, shape: tuple[int, int]) -> np.ndarray:
        """The (2, T, B, n_y) store of the softmax output, initialised to its a priori range
        [0, 1] (what steps that are not bounded report)."""
        return self._new(-1, "y", shape, (0.0, 1.0))

    def slot(self, layer: int, name: str, lo: np.ndarray) -> tuple[np.ndarray, bool]:
        """The (2, T, B, n) store of ``name`` (created from a first value's lower ends ``lo``)
        and whether its writes are checked one by one."""
        both = self._new(layer, name, lo.shape)
        self.store[layer][name] = (both[0], both[1])
        if lo.size <= _CHECK_EACH:
            self.deferred.append((name, both[0], both[1]))
        slot = self.slots[layer][name] = (both, lo.size > _CHECK_EACH)
        return slot

    def put(self, layer: int, name: str, t: int, bounds: Any) -> None:
        """Record ``bounds`` of ``name`` at step ``t``: ``(lo, hi)``, or one array (2, B, n)."""
        both, each = self.slots[layer].get(name) or self.slot(layer, name, bounds[0])
        if isinstance(bounds, np.ndarray):
            both[:, t] = bounds
        else:
            both[0, t], both[1, t] = bounds
        if each:
            self.check(name, both[0, t], both[1, t])

    def check(self, name: str, lo: np.ndarray, hi: np.ndarray) -> None:
        if self.bad is None and not np.greater_equal(hi, lo).all():  # False on NaN too
            self.bad = name

    def finish(self) -> None:
        """Check the deferred stores (every step of them was written: the loop ran to T)."""
        for name, lo, hi in self.deferred:
            self.check(name, lo, hi)
        self.deferred = []


#: Writes of at most this many entries are checked together at the end of the run.
_CHECK_EACH = 2**14


def _named_initial(model: Model, a0: Any, c0: Any) -> list[tuple[str, Any]]:
    """The initial states per cell and state name, ``[(argument name, value or None)]`` in cell
    order, each cell's states in its ``state`` order (:func:`~lstm_symbolic.model.per_cell`
    splits ``a0``/``c0``); a state given to a cell that has none (``c0`` for a GRU) raises."""
    given = {"a": per_cell(model, a0, "a0"), "c": per_cell(model, c0, "c0")}
    cells = model.cells
    out = []
    for i, cell in enumerate(cells):
        for name, values in given.items():
            label = f"{name}0" if len(cells) == 1 else f"{name}0[{i}]"
            if name not in cell.state:
                if values[i] is not None:
                    raise InputError(label, f"None (a {cell.kind} cell has no state {name!r})", got="an initial state")
                continue
            out.append((label, values[i]))
    return out


def _cells_initial(model: Model, inits: list[tuple[str, Any]], B: int) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Initial state boxes per cell (layer order, forward before reverse), each
    ``{state name: (lo, hi)}`` of shape (B, n): default zeros."""
    out, pos = [], 0
    for cell in model.cells:
        boxes = {}
        for name in cell.state:
            label, value = inits[pos]
            pos += 1
            boxes[name] = _initial_box(value, label, cell.state_sizes[name], B)
        out.append(boxes)
    return out


def _a_priori_steps(cell: Any, T: int, init: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The a priori domains of steps 1..T (:meth:`~lstm_symbolic.cells.base.Cell.a_priori`)
    from the initial state boxes ``init``, in one call with the column of steps: per step
    ``{signal: (lo, hi)}``."""
    table = cell.a_priori(np.arange(1, T + 1).reshape(T, 1, 1), init)
    return [{name: tuple(b[t] if np.ndim(b) == 3 else b for b in bounds) for name, bounds in table.items()} for t in range(T)]


def _step_cell(engine: Any, cell: Any, x: Any, state: dict[str, Any], prior: Mapping[str, Any]) -> dict[str, Any]:
    """One step of ``cell``: the equations, then the step's a priori domains ``prior``
    (:func:`_a_priori_steps`) intersected in."""
    sig = cell.step(engine, x, state)
    for name, (lo, hi) in prior.items():
        if name in sig:
            engine.refine(sig[name], lo, hi)
    return sig


def _run(engine: Any, model: Model, schedule: list, initial: list, B: int, tick: Callable[[int], None] | None, last_only: bool = False,
         shared: "tuple[_SharedStore, slice] | None" = None) -> tuple[list, Any, Any]:
    """One batch chunk through every step; ``tick(t)`` (None: no progress) after each step."""
    with K.quiet():  # one np.errstate for the run instead of one per kernel call
        return _run_quiet(engine, model, schedule, initial, B, tick, last_only, shared)


def _run_quiet(engine: Any, model: Model, schedule: list, initial: list, B: int, tick: Callable[[int], None] | None, last_only: bool,
               shared: "tuple[_SharedStore, slice] | None") -> tuple[list, Any, Any]:
    inits = _cells_initial(model, initial, B)
    T = len(schedule)
    rec = _Recorder(len(model.layers), T, shared)
    if not any(layer.bidirectional or layer.backward for layer in model.layers):
        y_store = None if model.head is None else rec.y_slot((B, model.head.n_y))
        states = [{k: engine.initial(*box) for k, box in init.items()} for init in inits]
        layers = [(l, layer.cell, layer.cell.signals, layer.cell.state, _a_priori_steps(layer.cell, T, inits[l]))
                  for l, layer in enumerate(model.layers)]
        last_layer = len(layers) - 1
        bounds, final_bounds = engine.bounds, engine.final_bounds
        for t, (x_set, index) in enumerate(schedule):
            x = engine.input(x_set, index)
            for l, cell, signals, state_names, priors in layers:
                sig = _step_cell(engine, cell, x, states[l], priors[t])
                get = final_bounds if (t == T - 1 and l == last_layer) else bounds
                for name in signals:
                    rec.put(l, name, t, get(sig[name]))
                states[l] = {k: sig[k] for k in state_names}
                x = sig["a"]
            if y_store is not None and (t == T - 1 or not last_only):
                y = engine.softmax(model.head, x, final=t == T - 1)
                y_store[0, t], y_store[1, t] = y
                rec.check("y", *y)
            states = engine.end_step(states)
            if tick is not None:
                tick(t + 1)
        _fail_closed(rec)
        return rec.store, None if y_store is None else (y_store[0], y_store[1]), states[-1]["a"]
    return _run_layer_major(engine, model, schedule, inits, rec, tick, last_only)


def _run_layer_major(engine: Any, model: Model, schedule: list, inits: list, rec: _Recorder, tick: Callable[[int], None] | None,
                     last_only: bool = False) -> tuple[list, Any, Any]:
    """Layer by layer over the whole sequence (bidirectional and backward layers). Values kept for a later
    step are stored as values by persistent engines and as bounds otherwise (then re-entered
    as boxes: the relation to earlier steps is given up there, never soundness)."""
    T = len(schedule)
    keep = (lambda v: v) if engine.persistent else (lambda v: engine.bounds(v))
    restore = (lambda k: k) if engine.persistent else (lambda k: engine.initial(*k))
    xs: list[Any] = [None] * T  # inputs of the current layer, per step (None: the input set)
    cell_index = 0
    for l, layer in enumerate(model.layers):
        outs: list[list[Any]] = []
        for d, (cell, order) in enumerate(layer.orders(T)):
            init = inits[cell_index]
            cell_index += 1
            state = {k: engine.initial(*box) for k, box in init.items()}
            priors = _a_priori_steps(cell, T, init)
            out: list[Any] = [None] * T
            for count, t in enumerate(order):
                x = engine.input(*schedule[t]) if xs[t] is None else restore(xs[t])
                sig = _step_cell(engine, cell, x, state, priors[count])
                for name in cell.signals:
                    bounds = engine.bounds(sig[name])
                    if layer.reverse is None:
                        rec.put(l, name, t, bounds)
                    else:  # each direction's signal fills its half of the layer's columns
                        lo, hi = bounds
                        n = lo.shape[-1]
                        _put_wide(rec, l, name, t, lo, hi, slice(d * n, (d + 1) * n), 2 * n)
                out[t] = keep(sig["a"])
                state = engine.end_step([{k: sig[k] for k in cell.state}])[0]
            outs.append(out)
        if layer.reverse is None:
            xs = outs[0]
        else:
            xs = [keep(engine.concat([restore(outs[0][t]), restore(outs[1][t])])) for t in range(T)]
        if tick is not None:
            tick(int(T * (l + 1) / len(model.layers)))
    y_store = None
    a_last = restore(xs[T - 1])
    if model.head is not None:
        y_store = rec.y_slot((engine.B, model.head.n_y))
        for t in range(T):
            if t == T - 1 or not last_only:
                y = engine.softmax(model.head, restore(xs[t]), final=t == T - 1)
                y_store[0, t], y_store[1, t] = y
                rec.check("y", *y)
    _fail_closed(rec)
    return rec.store, None if y_store is None else (y_store[0], y_store[1]), a_last


def _fail_closed(rec: _Recorder) -> None:
    rec.finish()
    if rec.bad is not None:
        raise FloatingPointError(f"internal error: invalid bound for {rec.bad}; please report this model")


def _put_wide(rec: _Recorder, l: int, name: str, t: int, lo: np.ndarray, hi: np.ndarray, cols: slice, width: int) -> None:
    """Record one direction's bounds into the columns ``cols`` of a bidirectional layer's
    signal of ``width`` units."""
    d = rec.store[l]
    if name not in d:
        shape = (rec.T,) + lo.shape[:-1] + (width,)
        d[name] = (np.full(shape, -np.inf), np.full(shape, np.inf))
    d[name][0][t][..., cols], d[name][1][t][..., cols] = lo, hi
    rec.check(name, lo, hi)


def _assemble(traces: list, batched: bool, method: str, mode: str) -> Trace:
    """One :class:`Trace` from the chunks, glued along the batch axis (every write was checked
    by the recorder)."""
    def glue(parts: list[np.ndarray]) -> np.ndarray:
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def interval(lo: np.ndarray, hi: np.ndarray) -> Interval:
        if not batched:
            lo, hi = lo[:, 0], hi[:, 0]
        return Interval._unchecked(lo, hi)

    layers = []
    for l in range(len(traces[0][0])):
        layers.append({name: interval(glue([tr[0][l][name][0] for tr in traces]), glue([tr[0][l][name][1] for tr in traces]))
                       for name in traces[0][0][l]})
    y = None
    if traces[0][1] is not None:
        y = interval(glue([tr[1][0] for tr in traces]), glue([tr[1][1] for tr in traces]))
    return Trace(layers, y, method, mode)
