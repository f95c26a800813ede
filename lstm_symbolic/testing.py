"""Helpers for your own test suite: check that bounds are sound, measure how tight they are.

:func:`assert_sound` draws input sequences from an input set — its extreme points (corners of a
box or ball, the allowed tokens of a one-hot set), random members, mixtures of both, and
optionally sequences found by a hill-climbing search for a violation — runs the *exact*
real-number LSTM on each (:func:`lstm_symbolic.reference.exact_trajectory`, mpmath at ``dps``
digits) and compares every signal with its bound exactly (mpf against float, no tolerance).

:func:`tightness` runs the float forward pass on many such sequences and reports, per signal,
the sampled range divided by the bound's width (1 = the bound is attained; a sampled *inner*
estimate, so the true ratio is at least this).

>>> import numpy as np, lstm_symbolic as ls
>>> from lstm_symbolic.testing import assert_sound, tightness
>>> rng = np.random.default_rng(0)
>>> w = ls.LSTMWeights(**{k: rng.normal(size=(2, 3)) for k in ("W_f", "W_u", "W_c", "W_o")},
...                    **{k: rng.normal(size=2) for k in ("b_f", "b_u", "b_c", "b_o")},
...                    W_y=rng.normal(size=(3, 2)), b_y=np.zeros(3))
>>> box = ls.Box([-0.5], [0.5])
>>> trace = ls.propagate(w, box, steps=5)
>>> assert_sound(w, box, trace, samples=20)           # raises AssertionError on a violation
>>> ratios = tightness(w, box, trace, samples=200)
>>> sorted(ratios)
['a', 'c', 'c_tilde', 'f', 'o', 'u', 'y']
>>> bool(0 < ratios["f"][0].min() <= 1)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from .inputs import Box, InputSet, LinfBall, OneHot, as_schedule
from .interval import Interval
from .lstm import forward
from .reference import SIGNALS, Violation, exact_trajectory, iter_violations

__all__ = ["assert_sound", "tightness", "sample_sequences", "search_extremes", "SampledSequence"]


# --- per-step members of an input set ------------------------------------------------------


def _at(s: InputSet, arr: np.ndarray, t: int) -> np.ndarray:
    """Index ``t`` of a set's own time axis (length 1 broadcasts), like the sets themselves."""
    if s.steps is None:
        return arr
    return arr[0] if arr.shape[0] == 1 else arr[t]


def _pick(arr: np.ndarray, b: int | None, batched: bool) -> np.ndarray:
    return arr[b] if (batched and b is not None) else arr


def _into_ball(x: np.ndarray, c: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Move each float ``x`` (by single ulps, towards ``c``) until ``|x − c| <= e`` holds exactly.

    Decided exactly with TwoSum: ``d = fl(x − c)`` and its error ``r`` give ``x − c = d + r``;
    rounding is monotone, so ``|d| < e`` implies ``|x − c| <= e``, ``|d| > e`` the contrary,
    and at ``|d| = e`` the sign of ``r`` decides.
    """
    x = np.array(x, dtype=np.float64)
    for _ in range(64):
        with np.errstate(over="ignore", invalid="ignore"):
            d = x - c
            bb = d - x
            r = (x - (d - bb)) + (-c - bb)
        ad = np.abs(d)
        r_out = np.where(d >= 0, r, -r)  # the error's component away from c
        outside = (ad > e) | ((ad == e) & (r_out > 0))
        if not outside.any():
            return x
        x = np.where(outside, np.nextafter(x, c), x)
    raise AssertionError("could not place a sample inside the L∞ ball")  # pragma: no cover


class _StepMembers:
    """Members of one input set at one step, for one batch entry: random points, extreme points
    and per-coordinate choices for the search. Every point returned lies in the (real) set."""

    def __init__(self, s: InputSet, t: int, b: int | None) -> None:
        self.s, self.t, self.b = s, t, b
        batched = s.batch is not None
        if isinstance(s, OneHot):
            self.kind = "onehot"
            self.tokens = np.eye(s.n_x)[s.allowed]
        elif isinstance(s, LinfBall):
            self.kind = "ball"
            self.c = _pick(_at(s, s.center, t), b, batched)
            self.e = _pick(_at(s, s.eps, t), b, batched)
            self.lo = _into_ball(self.c - self.e, self.c, self.e)
            self.hi = _into_ball(self.c + self.e, self.c, self.e)
        elif isinstance(s, Box):
            self.kind = "box"
            self.lo = _pick(_at(s, s.lo, t), b, batched)
            self.hi = _pick(_at(s, s.hi, t), b, batched)
        else:  # a user's InputSet: its own sampler, clipped to its own box
            self.kind = "other"
            lo, hi = s.box(t)
            self.lo, self.hi = _pick(lo, b, batched), _pick(hi, b, batched)
        self.n_x = s.n_x

    def _fix(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(x, self.lo, self.hi)
        return _into_ball(x, self.c, self.e) if self.kind == "ball" else x

    def random(self, rng: np.random.Generator, k: int) -> np.ndarray:
        if self.kind == "onehot":
            return self.tokens[rng.integers(len(self.tokens), size=k)]
        if self.kind == "other":
            x = self.s.sample(rng, k, self.t)
            if self.s.batch is not None and self.b is not None:
                x = x[:, self.b]
            return self._fix(x)
        r = rng.random((k, self.n_x))
        return self._fix(self.lo * (1.0 - r) + self.hi * r)

    def extreme(self, rng: np.random.Generator, k: int) -> np.ndarray:
        if self.kind == "onehot":
            return self.random(rng, k)
        pick = rng.random((k, self.n_x)) < 0.5
        return np.where(pick, self.hi, self.lo)

    def corner(self, high: bool) -> np.ndarray:
        if self.kind == "onehot":
            return self.tokens[-1 if high else 0]
        return (self.hi if high else self.lo).copy()

    def centre(self) -> np.ndarray:
        if self.kind == "onehot":
            return self.tokens[len(self.tokens) // 2]
        if self.kind == "ball":
            return self.c.copy()
        return self._fix(self.lo * 0.5 + self.hi * 0.5)

    def variations(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Candidates for the search: ``x`` with one coordinate moved to an end (or another
        token), plus two random members. Shape (m, n_x)."""
        if self.kind == "onehot":
            return self.tokens
        out = []
        for j in range(self.n_x):
            for end in (self.lo, self.hi):
                y = x.copy()
                y[j] = end[j]
                out.append(y)
        out.extend(self.random(rng, 2))
        return np.array(out)


class _StateMembers:
    """Members of an initial state given as None, an array or an Interval, for entry ``b``."""

    def __init__(self, value: Any, n_a: int, b: int | None) -> None:
        if value is None:
            self.lo = self.hi = np.zeros(n_a)
        elif isinstance(value, Interval):
            self.lo, self.hi = value.lo, value.hi
        else:
            self.lo = self.hi = np.asarray(value, dtype=np.float64)
        if self.lo.ndim == 2:
            self.lo, self.hi = self.lo[b if b is not None else 0], self.hi[b if b is not None else 0]
        self.lo = np.broadcast_to(self.lo, (n_a,)).astype(np.float64)
        self.hi = np.broadcast_to(self.hi, (n_a,)).astype(np.float64)


class _Initial:
    """Every initial state of a model (each cell's ``a`` and ``c``, in cell order) for one batch
    entry, as one flat vector: ``lo``, ``hi`` (N,); :meth:`args` turns flat vectors back into
    the ``a0``, ``c0`` arguments of propagate / forward / the reference (arrays for a one-cell
    model, per-cell lists otherwise)."""

    def __init__(self, model: Any, a0: Any, c0: Any, b: int | None, single: bool) -> None:
        from .model import per_cell

        given = {"a": per_cell(model, a0, "a0"), "c": per_cell(model, c0, "c0")}
        self.pieces: list[tuple[int, str, int, int]] = []  # (cell, state name, start, stop)
        los, his, pos = [], [], 0
        self.cells = len(model.cells)
        for i, cell in enumerate(model.cells):
            for name in cell.state:
                n = cell.state_sizes[name]
                m = _StateMembers(given[name][i], n, b)
                los.append(m.lo)
                his.append(m.hi)
                self.pieces.append((i, name, pos, pos + n))
                pos += n
        self.lo, self.hi = np.concatenate(los), np.concatenate(his)
        self.single = single
        self.point = bool((self.lo == self.hi).all())

    def random(self, rng: np.random.Generator) -> np.ndarray:
        r = rng.random(self.lo.shape)
        return np.clip(self.lo * (1.0 - r) + self.hi * r, self.lo, self.hi)

    def extreme(self, rng: np.random.Generator) -> np.ndarray:
        return np.where(rng.random(self.lo.shape) < 0.5, self.hi, self.lo)

    def args(self, flat: np.ndarray) -> tuple[Any, Any]:
        """``(a0, c0)`` for flat state vectors (N,) or (K, N)."""
        out: dict[str, list[Any]] = {"a": [None] * self.cells, "c": [None] * self.cells}
        for i, name, start, stop in self.pieces:
            out[name][i] = np.array(flat[..., start:stop])
        if self.cells == 1:
            return out["a"][0], out["c"][0]
        return out["a"], (None if all(v is None for v in out["c"]) else out["c"])


@dataclass(frozen=True)
class SampledSequence:
    """One member of the input set: batch entry ``b`` (None: unbatched), inputs ``xs`` (T, n_x),
    initial state ``a0``, ``c0`` (n_a,) — for a model of several cells, per-cell lists as
    :func:`~lstm_symbolic.propagate` takes them (``c0`` None without LSTM cells) — and how it
    was drawn (``kind``)."""

    b: int | None
    xs: np.ndarray
    a0: Any
    c0: Any
    kind: str
    flat: np.ndarray | None = None  # every initial state as one vector (for the search)


class _Plan:
    """The resolved schedule: one :class:`_StepMembers` per step, per batch entry."""

    def __init__(self, weights: Any, inputs: Any, steps: int | None, a0: Any, c0: Any, batch_hint: int | None) -> None:
        from .model import as_model, per_cell

        model = as_model(weights)
        schedule, B = as_schedule(inputs, steps, model.n_x)
        for value in per_cell(model, a0, "a0") + per_cell(model, c0, "c0"):
            arr = value.lo if isinstance(value, Interval) else value
            if arr is not None and np.ndim(arr) == 2:
                B = B or int(np.shape(arr)[0])
        if B is None and batch_hint:
            B = batch_hint
        self.B = B
        self.entries: list[int | None] = [None] if B is None else list(range(B))
        self.T = len(schedule)
        self.members = {b: [_StepMembers(s, t, b) for s, t in schedule] for b in self.entries}
        single = not hasattr(weights, "layers")  # an LSTMWeights: arrays, as its v1 API
        self.init = {b: _Initial(model, a0, c0, b, single or len(model.cells) == 1) for b in self.entries}

    def only(self, b: int | None) -> "_Plan":
        """The same plan restricted to batch entry ``b``."""
        sub = _Plan.__new__(_Plan)
        sub.__dict__.update(self.__dict__)
        sub.entries = [b]
        return sub


def _sequences(plan: _Plan, samples: int, rng: np.random.Generator) -> Iterator[SampledSequence]:
    """``samples`` sequences in all, round-robin over batch entries: first the constant corner
    sequences and the centre, then random corner / random / mixed sequences."""
    kinds = ("lo-corner", "hi-corner", "centre")
    for k in range(samples):
        b = plan.entries[k % len(plan.entries)]
        j = k // len(plan.entries)
        steps, init = plan.members[b], plan.init[b]
        if j < len(kinds):
            kind = kinds[j]
            if kind == "centre":
                xs = np.array([m.centre() for m in steps])
                flat = init.random(rng)
            else:
                high = kind == "hi-corner"
                xs = np.array([m.corner(high) for m in steps])
                flat = init.hi.copy() if high else init.lo.copy()
        else:
            kind = ("corners", "random", "mixed")[j % 3]
            if kind == "corners":
                xs = np.array([m.extreme(rng, 1)[0] for m in steps])
                flat = init.extreme(rng)
            elif kind == "random":
                xs = np.array([m.random(rng, 1)[0] for m in steps])
                flat = init.random(rng)
            else:
                xs = np.array([(m.extreme(rng, 1) if rng.random() < 0.5 else m.random(rng, 1))[0] for m in steps])
                flat = np.where(rng.random(init.lo.shape) < 0.5, init.extreme(rng), init.random(rng))
        a0, c0 = init.args(flat)
        yield SampledSequence(b, xs, a0, c0, kind, flat)


def sample_sequences(
    weights: Any, inputs: Any, steps: int | None = None, samples: int = 200, seed: int = 0, a0: Any = None, c0: Any = None
) -> list[SampledSequence]:
    """Members of the input set as concrete sequences (see the module docstring).

    ``inputs``, ``steps``, ``a0``, ``c0``: as for :func:`lstm_symbolic.propagate` (``a0``/``c0``
    may be Intervals: their corners and random members are drawn). Every returned point lies
    in the real set (L∞-ball points are checked exactly). Returns ``samples`` sequences.
    """
    plan = _Plan(weights, inputs, steps, a0, c0, None)
    return list(_sequences(plan, samples, np.random.default_rng(seed)))


# --- search for extremes -------------------------------------------------------------------


def _signal_values(weights: Any, xs: np.ndarray, init: _Initial, flat: np.ndarray, name: str) -> np.ndarray:
    """Float forward pass of a batch of sequences ``xs`` (T, K, n_x) from the initial states
    ``flat`` (K, N): signal ``name`` (T, K, n) — ``"a"``, ``"y"``, or ``"layer2.c"`` for a
    layer of a model."""
    a0, c0 = init.args(flat)
    run = forward(weights, xs, a0=a0, c0=c0)
    if "." in name:
        layer, _, sig = name.partition(".")
        return run.layers[int(layer[len("layer"):]) - 1][sig]
    return getattr(run, name)


def search_extremes(
    weights: Any,
    inputs: Any,
    targets: Sequence[tuple[str, int, int, int]],
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    b: int | None = None,
    seed: int = 0,
    restarts: int = 4,
    sweeps: int = 2,
) -> list[SampledSequence]:
    """For each target ``(signal, step, unit, direction)`` (``step`` 1-based, ``direction``
    +1 to maximise, −1 to minimise; ``signal`` a name of the last layer or ``y``, or
    ``"layer2.c"`` for a layer of a model) find a member sequence pushing that signal far in
    that direction: best of ``restarts`` random corner/random starts, then ``sweeps`` passes of
    coordinate-wise hill climbing (each step's input coordinates moved to their ends, tokens
    swapped, initial-state coordinates moved to their ends), all on the float forward pass.
    The result is meant to be verified *exactly* by the caller."""
    plan = _Plan(weights, inputs, steps, a0, c0, None)
    if b is None and plan.B is not None:
        b = 0
    rng = np.random.default_rng(seed)
    members, init = plan.members[b], plan.init[b]
    found = []
    for name, step, unit, direction in targets:
        T = step
        starts = list(_sequences(plan.only(b), 3 + restarts, rng))
        X = np.stack([s.xs[:T] for s in starts], axis=1)
        S = np.stack([s.flat for s in starts])
        score = direction * _signal_values(weights, X, init, S, name)[T - 1, :, unit]
        k = int(np.argmax(score))
        xs, st, best = X[:, k].copy(), S[k].copy(), score[k]
        for _ in range(sweeps):
            # initial-state coordinates first, then each step's inputs
            if not init.point:
                cand = []
                for j in range(len(init.lo)):
                    if init.lo[j] == init.hi[j]:
                        continue
                    for end in (init.lo, init.hi):
                        v = st.copy()
                        v[j] = end[j]
                        cand.append(v)
                if cand:
                    cand_arr = np.array(cand)
                    K = len(cand_arr)
                    vals = direction * _signal_values(weights, np.broadcast_to(xs[:, None], (T, K, xs.shape[1])), init, cand_arr, name)[T - 1, :, unit]
                    k = int(np.argmax(vals))
                    if vals[k] > best:
                        best, st = vals[k], cand_arr[k].copy()
            for t in range(T):
                cand_x = members[t].variations(xs[t], rng)
                K = len(cand_x)
                Xc = np.repeat(xs[:, None, :], K, axis=1)
                Xc[t] = cand_x
                vals = direction * _signal_values(weights, Xc, init, np.broadcast_to(st, (K, len(st))), name)[T - 1, :, unit]
                k = int(np.argmax(vals))
                if vals[k] > best:
                    best, xs = vals[k], Xc[:, k].copy()
        full = np.array([m.centre() for m in members])  # steps after the target: anything
        full[:T] = xs
        a_arg, c_arg = init.args(st)
        found.append(SampledSequence(b, full, a_arg, c_arg, f"search {name}⟨{step}⟩[{unit}] {'max' if direction > 0 else 'min'}", st))
    return found


def _signal_names(trace: Any) -> list[str]:
    """Every signal a search can target in ``trace``: the last layer's (and ``y``) for a
    single layer, ``layerL.name`` for every layer of a deeper model (and ``y``)."""
    layers = getattr(trace, "layers", None)
    if layers is None or len(layers) == 1:
        names = [n for n in SIGNALS if getattr(trace, n, None) is not None]
        if layers is not None:
            names = list(layers[0]) + (["y"] if trace.y is not None else [])
        return names
    out = [f"layer{l + 1}.{n}" for l, d in enumerate(layers) for n in d]
    return out + (["y"] if trace.y is not None else [])


def _bounds_width(trace: Any, name: str) -> int:
    return int(np.shape(_trace_signal(trace, name).lo)[-1])


# --- the two public checks -----------------------------------------------------------------


def _trace_steps(trace: Any) -> int:
    return int(np.shape(trace.a.lo)[0])


def _trace_batch(trace: Any) -> int | None:
    lo = trace.a.lo
    return int(lo.shape[1]) if lo.ndim == 3 else None


def assert_sound(
    weights: Any,
    inputs: Any,
    trace: Any,
    samples: int = 200,
    seed: int = 0,
    dps: int = 50,
    *,
    a0: Any = None,
    c0: Any = None,
    search: int = 0,
    max_report: int = 10,
) -> None:
    """Check a trace against exact trajectories of sampled members of the input set.

    ``weights``: :class:`~lstm_symbolic.LSTMWeights` or a :class:`~lstm_symbolic.model.Model`
    (every signal of every layer is then checked); ``inputs``, ``a0``, ``c0``: exactly what
    was given to :func:`~lstm_symbolic.propagate` (``a0``/``c0`` arrays or Intervals, per cell
    for a model of several cells);
    ``trace``: its result, (T, [B,] n) per signal. ``samples`` sequences are drawn (extreme
    points, random members, mixtures; round-robin over batch entries) and, with ``search=k``,
    ``k`` more found by hill climbing towards a bound (random signal, step and unit). Each runs
    through :func:`~lstm_symbolic.reference.exact_trajectory` at ``dps`` digits and every signal
    is compared with its bound exactly.

    Raises ``AssertionError`` listing (up to ``max_report``) violations — signal, step, index,
    exact value, bound — and the input sequence that produced the first one.

    >>> import numpy as np, lstm_symbolic as ls
    >>> w = ls.LSTMWeights(**{k: np.ones((1, 2)) for k in ("W_f", "W_u", "W_c", "W_o")},
    ...                    **{k: np.zeros(1) for k in ("b_f", "b_u", "b_c", "b_o")})
    >>> ball = ls.LinfBall(np.zeros((3, 1)), 0.25)
    >>> assert_sound(w, ball, ls.propagate(w, ball), samples=10)
    """
    T = steps = _trace_steps(trace)
    plan = _Plan(weights, inputs, steps, a0, c0, _trace_batch(trace))
    batched = _trace_batch(trace) is not None
    rng = np.random.default_rng(seed)
    seqs = list(_sequences(plan, samples, rng))
    if search:
        names = _signal_names(trace)
        for k in range(search):
            name = names[int(rng.integers(len(names)))]
            n = _bounds_width(trace, name)
            target = (name, int(rng.integers(1, T + 1)), int(rng.integers(n)), int(rng.choice([-1, 1])))
            b = plan.entries[k % len(plan.entries)]
            seqs += search_extremes(weights, inputs, [target], steps=steps, a0=a0, c0=c0, b=b, seed=seed + k, restarts=2, sweeps=1)
    found: list[Violation] = []
    first: SampledSequence | None = None
    for seq in seqs:
        ex = exact_trajectory(weights, seq.xs, seq.a0, seq.c0, dps=dps)
        for v in iter_violations(trace, ex, index=(seq.b if batched else None)):
            if first is None:
                first = seq
            found.append(v)
            if len(found) >= max_report:
                break
        if len(found) >= max_report:
            break
    if found:
        assert first is not None
        lines = [f"{len(found)}{'+' if len(found) >= max_report else ''} bound violation(s) by exact trajectories:"]
        lines += ["  " + str(v) for v in found]
        show = lambda v: None if v is None else (v.tolist() if isinstance(v, np.ndarray) else [None if p is None else p.tolist() for p in v])  # noqa: E731
        lines.append(
            f"first from sequence kind={first.kind!r} batch entry={first.b}: xs={first.xs.tolist()!r}, "
            f"a0={show(first.a0)!r}, c0={show(first.c0)!r}"
        )
        raise AssertionError("\n".join(lines))


def tightness(
    weights: Any,
    inputs: Any,
    trace: Any,
    samples: int = 500,
    seed: int = 0,
    *,
    a0: Any = None,
    c0: Any = None,
) -> dict[str, np.ndarray]:
    """Per-signal ratios ``(sampled max − sampled min) / (hi − lo)``, shaped like the trace's
    signals (T, [B,] n): 1 means the bound is attained by the samples, small means loose (or
    under-sampled: the ratio is an inner estimate). A zero-width bound gives 1.

    Samples are ``samples`` sequences per batch entry drawn as in :func:`assert_sound`, run
    through the float forward pass (fast; this is a measurement, not a soundness check).

    >>> import numpy as np, lstm_symbolic as ls
    >>> w = ls.LSTMWeights(**{k: np.ones((1, 2)) for k in ("W_f", "W_u", "W_c", "W_o")},
    ...                    **{k: np.zeros(1) for k in ("b_f", "b_u", "b_c", "b_o")})
    >>> box = ls.Box([-1.0], [1.0])
    >>> r = tightness(w, box, ls.propagate(w, box, steps=1), samples=50)
    >>> float(r["c_tilde"][0, 0]) > 0.99      # c̃⟨1⟩ = tanh(x): monotone, attained at corners
    True
    """
    steps = _trace_steps(trace)
    plan = _Plan(weights, inputs, steps, a0, c0, _trace_batch(trace))
    batched = _trace_batch(trace) is not None
    rng = np.random.default_rng(seed)
    names = _signal_names(trace)
    out = {n: np.zeros(np.shape(_trace_signal(trace, n).lo)) for n in names}
    for b in plan.entries:
        seqs = list(_sequences(plan.only(b), samples, rng))
        X = np.stack([s.xs for s in seqs], axis=1)
        S = np.stack([s.flat for s in seqs])
        for n in names:
            vals = _signal_values(weights, X, plan.init[b], S, n)  # (T, K, n)
            iv = _trace_signal(trace, n)
            lo, hi = (iv.lo[:, b], iv.hi[:, b]) if batched else (iv.lo, iv.hi)
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                width = hi - lo
                ratio = (vals.max(axis=1) - vals.min(axis=1)) / width
            ratio = np.where(width == 0, 1.0, np.where(np.isinf(width), 0.0, ratio))
            if batched:
                out[n][:, b] = ratio
            else:
                out[n] = ratio
    return out


def _trace_signal(trace: Any, name: str) -> Any:
    if "." in name:
        layer, _, sig = name.partition(".")
        return trace.layers[int(layer[len("layer"):]) - 1][sig]
    return getattr(trace, name)
