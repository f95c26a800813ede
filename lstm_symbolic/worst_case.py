"""Worst-case input search over long horizons: how far real trajectories go.

An all-horizon invariant is an *outer* bound: it contains every trajectory, for every t. This
module gives the matching *inner* estimate — ranges of ``a`` and ``c`` that real trajectories
were seen to reach — so that an invariant is always reported with its gap (see
:attr:`lstm_symbolic.Invariant.reached`). Every value recorded here is the state of a float
forward pass (:func:`lstm_symbolic.lstm.cell_step`, the library's one step) from the initial
state with inputs in the set: a real trajectory, up to float rounding.

Strategies (all over the *vertices* of the input set — the tokens of a one-hot set, the corners
of a box (every corner when there are at most :data:`MAX_CORNERS`, otherwise a pool of random
corners and the corners that push each gate row up or down)):

``greedy``
    one trajectory per target (unit, direction, signal ``c`` or ``a``): at every step the vertex
    whose next value of the target is largest (one-step lookahead, from the unit's own gate
    rows), for ``steps`` steps.
``hold``
    each vertex held constant for ``steps`` steps (a contracting model settles on the fixed
    point of that input; a counting unit counts).
``hold-greedy``
    per target, the held vertex whose state is best for it after ``steps // 2`` steps, then the
    greedy from there for the rest of the horizon.
``random``
    random vertex sequences, each vertex held for a random number of steps (geometric, with the
    means of :data:`MEAN_HOLDS` in turn).

:func:`box_floor` turns the visited states into a *lower* estimate of the cell box of any box
invariant: a box ``A × C`` contains every reachable ``a``, so for a visited ``a``, a vertex
``x`` and ``c_i`` at the top ``U_i`` of ``C_i``, ``step`` stays in the box only if
``Γ_f U_i + Γ_u c̃ <= U_i``, i.e. ``U_i >= Γ_u c̃ / (1 − Γ_f) = Γ_u c̃ (1 + e^{p_f})`` (``p_f``
the forget gate's pre-activation); and the least box invariant contains every iterate of the
exact box iteration, hence of a sampled one. No box invariant — whatever the one-step operator
proving it — can be narrower. It is a float estimate from sampled states, not a proof; it says
how much of a gap is the template's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .inputs import InputSet
from .interval import Interval
from .lstm import LSTMWeights, cell_step
from .methods.concrete import sigmoid
from .testing import _StepMembers

__all__ = ["worst_case", "Reached", "box_floor", "vertices", "MAX_CORNERS", "MEAN_HOLDS"]

#: Boxes with at most this many corners are searched over all of them.
MAX_CORNERS = 1024
#: Mean numbers of steps a vertex is held in the ``random`` strategy (one per sequence, in turn).
MEAN_HOLDS = (5, 25, 125)
_POOL = 256  # random corners in the pool of a box with more than MAX_CORNERS corners
_MAX_STATES = 2000  # visited a-states kept for box_floor
_CHUNK = 256  # steps per forward chunk of the hold / random strategies
#: Trajectories per call of the cell step. OpenBLAS threads its products above a size threshold,
#: and on a loaded machine its threads make a (256 × 46) @ (46 × 64) product 10-40x slower than
#: four (64 × 46) ones (measured here: 4 ms against 0.5 ms); blocks of 64 rows stay below it.
_ROWS = 64


@dataclass(frozen=True)
class Reached:
    """What :func:`worst_case` saw. ``a``, ``c``: Intervals (n_a,) — the hull of every visited
    state (the initial state included); ``sources``: ``{strategy: (a, c)}`` per strategy;
    ``max_forget``: the largest Γ_f seen per unit along the trajectories (n_a,) — a value of 1
    (to float precision) marks a unit that can count; ``steps``: the horizon; ``trajectories``:
    how many were run; ``states``: a sample of visited ``a`` states (k, n_a) (for
    :func:`box_floor`); ``seconds``: the time taken."""

    a: Interval
    c: Interval
    sources: dict[str, tuple[Interval, Interval]]
    max_forget: np.ndarray
    steps: int
    trajectories: int
    states: np.ndarray = field(repr=False)
    seconds: float = 0.0


def vertices(inputs: InputSet, n_a: int | None = None, W_x: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Vertices of an input set without time axis or batch, (k, n_x), every one in the set:
    the allowed tokens of a one-hot set; all corners of a box with at most :data:`MAX_CORNERS`
    of them, otherwise ``_POOL`` random corners, the two extreme corners and, given the input
    columns ``W_x`` (m, n_x) of the gate rows, the corner that maximises and the one that
    minimises each row. Other sets: their own ``extreme_points``."""
    m = _StepMembers(inputs, 0, None)
    if m.kind == "onehot":
        return m.tokens.copy()
    if m.kind == "other":
        return np.asarray(inputs.extreme_points(0, limit=_POOL), dtype=np.float64).reshape(-1, inputs.n_x)
    lo, hi = m.lo, m.hi
    n_x = lo.shape[0]
    free = np.flatnonzero(hi > lo)
    if 2 ** len(free) <= MAX_CORNERS:
        bits = (np.arange(2 ** len(free))[:, None] >> np.arange(len(free))[None, :]) & 1
        out = np.broadcast_to(lo, (len(bits), n_x)).copy()
        out[:, free] = np.where(bits == 1, hi[free], lo[free])
        return out
    rng = np.random.default_rng(seed)
    pool = [np.where(rng.random((_POOL, n_x)) < 0.5, hi, lo), lo[None], hi[None]]
    if W_x is not None:
        pool += [np.where(W_x > 0, hi, lo), np.where(W_x > 0, lo, hi)]
    return np.unique(np.concatenate(pool), axis=0)


def _initial_points(value: Any, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ends (n,) of an initial state given as None, an array or an Interval."""
    if value is None:
        return np.zeros(n), np.zeros(n)
    if isinstance(value, Interval):
        lo, hi = np.broadcast_to(value.lo, (n,)).astype(np.float64), np.broadcast_to(value.hi, (n,)).astype(np.float64)
    else:
        lo = hi = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InputError(name, f"a finite state of shape ({n},)")
    return lo, hi


class _Recorder:
    """Running hull of a and c, the largest Γ_f, and a reservoir of visited a-states."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.a_lo, self.a_hi = np.full(n, np.inf), np.full(n, -np.inf)
        self.c_lo, self.c_hi = np.full(n, np.inf), np.full(n, -np.inf)
        self.f_max = np.zeros(n)
        self.rng = rng
        self.states: list[np.ndarray] = []
        self.count = 0

    def point(self, a: np.ndarray, c: np.ndarray) -> None:
        """Initial states (k, n): only the hull (no gate is evaluated at them)."""
        self.a_lo, self.a_hi = np.minimum(self.a_lo, a.min(0)), np.maximum(self.a_hi, a.max(0))
        self.c_lo, self.c_hi = np.minimum(self.c_lo, c.min(0)), np.maximum(self.c_hi, c.max(0))

    def record(self, a: np.ndarray, c: np.ndarray, f: np.ndarray) -> None:
        """States (..., n) after a step and the forget gate that made them."""
        a2, c2 = a.reshape(-1, a.shape[-1]), c.reshape(-1, c.shape[-1])
        self.point(a2, c2)
        self.f_max = np.maximum(self.f_max, f.reshape(-1, f.shape[-1]).max(0))
        keep = self.rng.choice(len(a2), size=min(len(a2), 64), replace=False)
        self.states.append(a2[keep])
        self.count += 1

    def result(self) -> tuple[Interval, Interval]:
        return Interval(self.a_lo, self.a_hi), Interval(self.c_lo, self.c_hi)

    def sample(self) -> np.ndarray:
        if not self.states:
            return np.zeros((0, self.a_lo.shape[0]))
        allst = np.concatenate(self.states)
        if len(allst) > _MAX_STATES:
            allst = allst[self.rng.choice(len(allst), size=_MAX_STATES, replace=False)]
        return allst


def _step(w: LSTMWeights, a: np.ndarray, c: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`cell_step` in blocks of ``_ROWS`` trajectories (same values, see ``_ROWS``)."""
    if len(a) <= _ROWS:
        return cell_step(w, a, c, x)
    parts = [cell_step(w, a[i : i + _ROWS], c[i : i + _ROWS], x[i : i + _ROWS]) for i in range(0, len(a), _ROWS)]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("f", "a", "c")}


def _targets(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit, sign, on_a) of the 4n targets: c up, c down, a up, a down, unit by unit."""
    return np.tile(np.arange(n), 4), np.tile(np.repeat([1.0, -1.0], n), 2), np.repeat([False, True], 2 * n)


def _greedy(w: LSTMWeights, V: np.ndarray, a0: tuple, c0: tuple, steps: int, rec: _Recorder,
            start: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """One trajectory per (signal, unit, direction), one-step lookahead over the vertices, from
    the initial state's end that helps the target or from ``start`` ((4n, n) states, one per
    target)."""
    n = w.n_a
    gates = w.to_model().layers[0].cell.gates  # rows Γ_f, Γ_u, Γ_o, c̃ (cells.lstm.ROWS)
    W, bias = gates.W, gates.bias_float
    unit, sign, on_a = _targets(n)
    cols = np.stack([unit, unit + n, unit + 2 * n, unit + 3 * n], axis=1)  # (K, 4) rows of the unit
    Wa, Wx = W[:, :n], W[:, n:]
    Px = (V @ Wx.T)[:, cols]  # (V, K, 4)
    Wa_k = Wa[cols]  # (K, 4, n)
    b_k = bias[cols]  # (K, 4)
    K = len(unit)
    if start is None:
        a = np.where((sign > 0)[:, None], a0[1], a0[0])
        c = np.where((sign > 0)[:, None], c0[1], c0[0])
        rec.point(a, c)
    else:
        a, c = start
    rows = np.arange(K)
    for _ in range(steps):
        pre = np.einsum("kgj,kj->kg", Wa_k, a) + b_k  # (K, 4)
        p = pre[None] + Px  # (V, K, 4)
        f, u, o = sigmoid(p[..., 0]), sigmoid(p[..., 1]), sigmoid(p[..., 2])
        c_next = f * c[rows, unit] + u * np.tanh(p[..., 3])
        value = np.where(on_a, o * np.tanh(c_next), c_next)
        pick = np.argmax(sign * value, axis=0)
        out = _step(w, a, c, V[pick])
        a, c = out["a"], out["c"]
        rec.record(a, c, out["f"])


def _sequences(w: LSTMWeights, V: np.ndarray, a0: tuple, c0: tuple, steps: int, rec: _Recorder, picks: Any,
               start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run trajectories whose vertex index at each step is ``picks(t0, t1)`` -> (t1 − t0, k),
    from the initial state's corners or from ``start`` ((k, n) states); returns their last
    states (a, c)."""
    a, c = (None, None) if start is None else start
    for t0 in range(0, steps, _CHUNK):
        t1 = min(steps, t0 + _CHUNK)
        idx = picks(t0, t1)
        k = idx.shape[1]
        if a is None:
            start = np.arange(k) % 2 == 0
            a = np.where(start[:, None], a0[1], a0[0])
            c = np.where(start[:, None], c0[1], c0[0])
            rec.point(a, c)
        for t in range(t1 - t0):
            out = _step(w, a, c, V[idx[t]])
            a, c = out["a"], out["c"]
            rec.record(a, c, out["f"])
    return a, c



def check_every_step(w: Any, inputs: Any) -> None:
    """``w`` an LSTMWeights and ``inputs`` one input set over its inputs, without a time axis or
    a batch (the set used at every step, as all-horizon questions need) — or
    :class:`InputError` naming the argument."""
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights", got=type(w).__name__)
    if not isinstance(inputs, InputSet) or inputs.steps not in (None, 1) or inputs.batch is not None:
        raise InputError("inputs", "one input set without time axis or batch (used at every step)", got=inputs)
    if inputs.n_x != w.n_x:
        raise InputError("inputs", f"a set over n_x = {w.n_x} inputs", got=f"n_x = {inputs.n_x}")


def worst_case(
    w: LSTMWeights,
    inputs: InputSet,
    steps: int = 2000,
    a0: Any = None,
    c0: Any = None,
    seed: int = 0,
    random_sequences: int = 384,
) -> Reached:
    """Search for input sequences from ``inputs`` (one set, used at every step) that drive
    ``a`` and ``c`` furthest, over ``steps`` steps from ``a0``, ``c0`` (points or Intervals
    (n_a,); default zeros; the search starts at their corners). Returns a :class:`Reached`
    (see the module docstring for the strategies); ``random_sequences``: how many random
    hold-sequences to run.
    """
    t_start = time.perf_counter()
    check_every_step(w, inputs)
    for name, v, low in (("steps", steps, 1), ("random_sequences", random_sequences, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise InputError(name, f"an integer >= {low}", got=v)
    n = w.n_a
    a0_, c0_ = _initial_points(a0, "a0", n), _initial_points(c0, "c0", n)
    gates = w.to_model().layers[0].cell.gates
    V = vertices(inputs, n, gates.W[:, n:], seed)
    rng = np.random.default_rng(seed)
    recs: dict[str, _Recorder] = {}

    recs["greedy"] = _Recorder(n, rng)
    _greedy(w, V, a0_, c0_, steps, recs["greedy"])

    hold_idx = np.arange(len(V)) if len(V) <= 1024 else rng.choice(len(V), size=1024, replace=False)
    recs["hold"] = _Recorder(n, rng)
    half = max(steps // 2, 1)
    a_h, c_h = _sequences(w, V, a0_, c0_, half, recs["hold"], lambda t0, t1: np.broadcast_to(hold_idx, (t1 - t0, len(hold_idx))))
    if steps > half:
        _sequences(w, V, a0_, c0_, steps - half, recs["hold"], lambda t0, t1: np.broadcast_to(hold_idx, (t1 - t0, len(hold_idx))),
                   start=(a_h, c_h))

    # hold-greedy: per target, the held vertex whose state is best for it after half the
    # horizon, then the greedy for the other half
    unit, sign, on_a = _targets(n)
    value = np.where(on_a[:, None], a_h[:, unit].T, c_h[:, unit].T)  # (4n, holds)
    best = np.argmax(sign[:, None] * value, axis=1)
    recs["hold-greedy"] = _Recorder(n, rng)
    _greedy(w, V, a0_, c0_, steps - half, recs["hold-greedy"], start=(a_h[best], c_h[best]))

    if random_sequences:
        recs["random"] = _Recorder(n, rng)
        state = {"cur": rng.integers(len(V), size=random_sequences)}
        mean = np.array(MEAN_HOLDS, dtype=np.float64)[np.arange(random_sequences) % len(MEAN_HOLDS)]

        def random_picks(t0: int, t1: int) -> np.ndarray:
            out = np.empty((t1 - t0, random_sequences), dtype=np.int64)
            for t in range(t1 - t0):
                switch = rng.random(random_sequences) < 1.0 / mean
                state["cur"] = np.where(switch, rng.integers(len(V), size=random_sequences), state["cur"])
                out[t] = state["cur"]
            return out

        _sequences(w, V, a0_, c0_, steps, recs["random"], random_picks)

    sources = {name: r.result() for name, r in recs.items()}
    a = Interval(np.min([s[0].lo for s in sources.values()], axis=0), np.max([s[0].hi for s in sources.values()], axis=0))
    c = Interval(np.min([s[1].lo for s in sources.values()], axis=0), np.max([s[1].hi for s in sources.values()], axis=0))
    f_max = np.max([r.f_max for r in recs.values()], axis=0)
    states = np.concatenate([r.sample() for r in recs.values()])
    trajectories = 8 * n + len(hold_idx) + random_sequences
    return Reached(a, c, sources, f_max, int(steps), int(trajectories), states, time.perf_counter() - t_start)


def _corner_search(W: np.ndarray, bias: np.ndarray, V: np.ndarray, box: Interval, start: np.ndarray, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the largest and smallest ``Γ_u c̃ (1 + e^{p_f})`` over the vertices ``V`` and
    corners of ``box`` found by coordinate flips from the best of ``start`` (k, n) corners.
    Returns ``(lo, hi)`` (n,)."""
    n = box.lo.shape[0]
    K = 2 * n
    unit, sign = np.tile(np.arange(n), 2), np.repeat([1.0, -1.0], n)
    rows = np.stack([unit, unit + n, unit + 3 * n], axis=1)  # Γ_f, Γ_u, c̃ rows of each target
    Wk, bk = W[rows, :n], bias[rows]  # (K, 3, n), (K, 3)
    Xk = np.moveaxis((V @ W[:, n:].T)[:, rows], 0, 1)  # (K, V, 3)

    def value(cand: np.ndarray) -> np.ndarray:  # cand (K, m, n) -> (K, m): sign * max over V
        pre = np.einsum("kgj,kmj->kmg", Wk, cand) + bk[:, None]
        p = pre[:, :, None, :] + Xk[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            h = sigmoid(p[..., 1]) * np.tanh(p[..., 2]) * (1.0 + np.exp(p[..., 0]))
        h = np.where(np.isnan(h), 0.0, h)
        return (sign[:, None, None] * h).max(axis=2)

    cand = np.broadcast_to(start, (K,) + start.shape)
    v = value(cand)
    pick = np.argmax(v, axis=1)
    best, best_v = cand[np.arange(K), pick].copy(), v[np.arange(K), pick]
    flip = np.eye(n, dtype=bool)
    for _ in range(sweeps):
        cand = np.where(flip[None], np.where(best[:, None, :] == box.hi, box.lo, box.hi), best[:, None, :])
        v = value(cand)
        pick = np.argmax(v, axis=1)
        better = v[np.arange(K), pick] > best_v
        if not better.any():
            break
        best[better] = cand[np.arange(K), pick][better]
        best_v = np.where(better, v[np.arange(K), pick], best_v)
    return -best_v[n:], best_v[:n]


def box_floor(w: LSTMWeights, inputs: InputSet, reached: Reached, rounds: int = 150, samples: int = 2048, seed: int = 0,
              sweeps: int = 4) -> Interval:
    """A lower estimate of the cell box of *any* box invariant ``A × C`` containing the initial
    state, from two arguments (the hull of both is returned; infinite ends: no box invariant):

    1. (module docstring) ``C`` contains the reached range, and for every ``a`` in ``A`` and
       vertex ``x``, ``U_i >= Γ_u c̃ (1 + e^{p_f})`` (likewise ``L_i``) — ``A`` contains the
       hull of the reached ``a``, so this is evaluated at the visited states and at corners of
       that hull: for each unit, the corners that push ``p_f ± p_u ± p_c`` up (the sign
       patterns of those weight rows), then improved by flipping one coordinate at a time
       (``sweeps`` rounds per unit and direction);
    2. the least box invariant ``B*`` contains every iterate of the exact box iteration
       ``B ← hull(B ∪ step(B))`` started inside it (``B ⊆ B*`` implies
       ``step(B) ⊆ step(B*) ⊆ B*``), and so every iterate of the same iteration with each hull
       taken over *samples* of ``B`` (corners and uniform points, random vertices): ``rounds``
       rounds from the hull of the reached states, ``samples`` states each.

    Float estimates from real float steps, not a proof; they say how much of a gap is the box
    template's."""
    n = w.n_a
    gates = w.to_model().layers[0].cell.gates
    W, bias = gates.W, gates.bias_float
    V = vertices(inputs, n, W[:, n:])
    Wa = W[:, :n]
    rows_f, rows_u, rows_c = Wa[:n], Wa[n : 2 * n], Wa[3 * n :]
    combos = [rows_f + su * rows_u + sc * rows_c for su in (-1.0, 0.0, 1.0) for sc in (-1.0, 0.0, 1.0)]
    corners = np.concatenate([np.where(d > 0, reached.a.hi, reached.a.lo) for d in combos])  # (9n, n)
    A = np.concatenate([reached.states, corners]) if len(reached.states) else corners
    lo, hi = reached.c.lo.copy(), reached.c.hi.copy()
    if len(A):
        rows = np.r_[0:n, n : 2 * n, 3 * n : 4 * n]  # Γ_f, Γ_u, c̃
        Pa = A @ W[rows, :n].T + bias[rows]  # (k, 3n)
        Px = V @ W[rows, n:].T  # (V, 3n)
        with np.errstate(over="ignore", invalid="ignore"):
            for j in range(0, len(V), 16):
                p = Pa[None] + Px[j : j + 16, None]  # (v, k, 3n)
                g = sigmoid(p[..., n : 2 * n]) * np.tanh(p[..., 2 * n :])
                h = g * (1.0 + np.exp(p[..., :n]))
                h = np.where(np.isnan(h), 0.0, h)
                hi = np.maximum(hi, h.max(axis=(0, 1)))
                lo = np.minimum(lo, h.min(axis=(0, 1)))
    c_lo, c_hi = _corner_search(W, bias, V, reached.a, corners, sweeps)
    lo, hi = np.minimum(lo, c_lo), np.maximum(hi, c_hi)
    # 2. the sampled box iteration from the reached hull
    rng = np.random.default_rng(seed)
    box_a = (reached.a.lo.copy(), reached.a.hi.copy())
    box_c = (reached.c.lo.copy(), reached.c.hi.copy())
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(rounds):
            pts = []
            for b_lo, b_hi in (box_a, box_c):
                corner = np.where(rng.random((samples, n)) < 0.5, b_hi, b_lo)
                inner = b_lo + (b_hi - b_lo) * rng.random((samples, n))
                pts.append(np.where(rng.random((samples, 1)) < 0.5, corner, inner))
            out = _step(w, pts[0], pts[1], V[rng.integers(len(V), size=samples)])
            if not (np.isfinite(out["c"]).all() and np.isfinite(out["a"]).all()):
                break
            box_a = (np.minimum(box_a[0], out["a"].min(0)), np.maximum(box_a[1], out["a"].max(0)))
            box_c = (np.minimum(box_c[0], out["c"].min(0)), np.maximum(box_c[1], out["c"].max(0)))
    return Interval(np.minimum(lo, box_c[0]), np.maximum(hi, box_c[1]))
