"""Branch and bound: split a sample's set until every piece is certified, a counterexample is
found, or the time budget runs out.

**Domains.** A sample's set is covered by *leaves*; the sample is certified only when every
leaf is (its margins' lower bounds all positive, or the leaf is empty). Three kinds of split,
each of which covers its parent exactly:

- ``activation`` (continuous sets): a leaf is the set with *split constraints* on
  pre-activations — ``p ≤ s`` or ``p ≥ s`` for the input ``p`` of one nonlinearity unit
  (numbered ``(t, k, unit)``: the ``k``-th sigmoid/tanh call of step ``t``, as
  :mod:`.tape` numbers them). The two children of a split at ``s`` are half-lines, so they
  cover every input of the parent whatever its bounds. The neuron split is the one whose
  relaxation costs the worst margin most by a BaBSR / GenBaB-style score: ``|∂m/∂σ_i| · gap_i``,
  the sensitivity of the float margin to the nonlinearity's output at the set's centre (exact
  reverse mode, :mod:`.tape`) times the gap of the S-shaped function on its current interval
  ``f(u) − f(l) − min(f'(l), f'(u)) (u − l)`` (zero when the function is linear there); the
  split point is 0 (the inflection: both halves are then convex or concave, where the lines are
  tightest) when it lies well inside, else the midpoint.
- ``input`` (continuous sets, preferred when the set has few free coordinates): a leaf is a
  sub-box of the set's outer box, split at the midpoint of the coordinate with the largest
  ``|∂m/∂x_i| · width_i`` at the leaf's centre.
- ``tokens`` (token sets and substitution budgets): a leaf gives each position a set of tokens
  and, for a budget, the positions still counted against the remaining number of changes.
  Positions counted are split first (the position keeps its base token, or changes and the
  budget drops by one — an exact partition of "at most k changed"); then the largest token set
  is split in two halves ordered by the first-order effect of each token on the margin. A leaf
  of single tokens is one sequence: its exact replay decides it.

**Constraints and infeasible branches.** Split constraints reach the engines through
:class:`SplitEngine`, a wrapper around the bounding engine (installed with the unrolling
loop's ``engine_hook``): before a nonlinearity is relaxed it asks the engine for the input's
bounds, intersects them with the leaf's constraint and hands the result to the engine's
``refine`` — so ``refine`` is never given a box disjoint from the engine's own bounds, and its
assertion keeps meaning "a bound is unsound". When the intersection is empty, no input of the
leaf satisfies the constraints up to that node: the entry is marked **infeasible** (vacuously
certified; its other constraints are then not imposed and its bounds ignored). An empty leaf
can also stay unnoticed at its constraint nodes and surface later as two engines' disjoint
enclosures of a downstream value; the engines raise then. That run is retried entry by entry,
and an entry that still raises is *not* taken as proof of emptiness (it could be a bug): it is
counted in ``failed`` and its sample ends unknown.

**Schedule.** Leaves wait in a priority queue, worst lower margin first (ties by creation
order). Each round pops up to ``width`` leaves, splits each in two and bounds all children in
one batched engine run. An attack on the worst leaves' region (or, for sub-boxes, inside the
leaf) runs every few rounds to falsify early. Everything is deterministic given ``seed`` and
the limits; only the time budget depends on the machine (``max_leaves`` bounds the work
deterministically). A round whose children would not fit in the budget left, at the measured
cost per child of the rounds before, is not started: the budget is kept, not overrun by a
round's worth.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..inputs import Box, OneHot
from ..propagate import unroll
from .regions import Region, replicate
from .tape import run_tape

__all__ = ["SplitEngine", "BabResult", "branch_and_bound", "SPLITS"]

SPLITS = ("auto", "activation", "input", "tokens")
#: ``split="auto"`` splits the input set when it has at most this many free coordinates.
INPUT_SPLIT_MAX_DIM = 16


class SplitEngine:
    """A bounding engine with split constraints imposed on nonlinearity inputs (see the module
    docstring). ``constraints``: ``{(t, k): (lo, hi)}`` with arrays (B, n) (``±inf`` where a
    unit is free) for the batch entries this engine bounds. After the run, ``infeasible`` (B,)
    marks the entries shown empty, and ``pre`` holds the bounds of every nonlinearity input
    ``{(t, k): (lo, hi)}`` (B, n), constraints included."""

    def __init__(self, inner: Any, constraints: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]) -> None:
        self.inner = inner
        self.constraints = constraints
        self.infeasible = np.zeros(inner.B, dtype=bool)
        self.pre: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._t, self._k = 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _constrain(self, v: Any) -> Any:
        key = (self._t, self._k)
        self._k += 1
        lo, hi = self.inner.bounds(v)
        cons = self.constraints.get(key)
        if cons is not None:
            c_lo, c_hi = cons
            new_lo, new_hi = np.maximum(lo, c_lo), np.minimum(hi, c_hi)
            empty = (new_lo > new_hi).any(axis=-1)
            self.infeasible |= empty
            new_lo = np.where(empty[:, None], lo, new_lo)
            new_hi = np.where(empty[:, None], hi, new_hi)
            if (new_lo > lo).any() or (new_hi < hi).any():
                self.inner.refine(v, new_lo, new_hi)
            lo, hi = new_lo, new_hi
        self.pre[key] = (np.array(lo), np.array(hi))
        return v

    def sigmoid(self, v: Any) -> Any:
        return self.inner.sigmoid(self._constrain(v))

    def tanh(self, v: Any) -> Any:
        return self.inner.tanh(self._constrain(v))

    def end_step(self, states: list) -> list:
        self._t += 1
        self._k = 0
        return self.inner.end_step(states)


# --- leaves ------------------------------------------------------------------------------------


@dataclass
class Leaf:
    """One piece of the set: ``kind`` and its description; ``margins`` (n_y,) lower bounds and
    ``pre`` (the nonlinearity input bounds of its own run) once bounded."""

    kind: str
    constraints: dict = field(default_factory=dict)  # activation: {(t, k, unit): (lo, hi)}
    box: tuple | None = None  # input: (lo, hi) (T, n_x)
    allowed: tuple | None = None  # tokens: per-position token arrays
    counted: frozenset = frozenset()  # tokens: positions counted against the budget
    budget: int = 0
    margins: np.ndarray | None = None
    pre: dict | None = None
    depth: int = 0
    failed: bool = False  # its run raised on disjoint enclosures (see the module docstring)

    def worst(self, label: int) -> float:
        m = np.delete(self.margins, label)
        return float(m.min()) if m.size else np.inf


@dataclass
class BabResult:
    """Outcome for one sample: ``status`` ``"certified"``, ``"falsified"`` or ``"unknown"``;
    ``margins`` (n_y,) lower bounds over the whole set when certified (the minimum over the
    leaves), else the root's; ``counterexample`` when falsified; ``leaves`` bounded,
    ``infeasible`` leaves shown empty, ``failed`` leaves whose run raised, ``rounds``,
    ``seconds``, ``split`` the kind used, ``reason`` why it stopped."""

    status: str
    margins: np.ndarray
    counterexample: Any = None
    leaves: int = 0
    infeasible: int = 0
    failed: int = 0
    rounds: int = 0
    seconds: float = 0.0
    split: str = ""
    reason: str = ""


def _gap(kind: str, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How far an S-shaped function is from linear on [lo, hi] (see the module docstring)."""
    lo, hi = np.clip(lo, -50, 50), np.clip(hi, -50, 50)
    if kind == "sigmoid":
        f = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
        d = lambda x: f(x) * (1.0 - f(x))  # noqa: E731
    else:
        f = np.tanh
        d = lambda x: 1.0 - np.tanh(x) ** 2  # noqa: E731
    return np.maximum(f(hi) - f(lo) - np.minimum(d(lo), d(hi)) * (hi - lo), 0.0)


class _Problem:
    """One sample's branch and bound (see :func:`branch_and_bound`)."""

    def __init__(self, model: Any, w: Any, region: Region, label: int, bound: Callable, falsify: Callable, seed: int) -> None:
        self.model, self.w, self.region, self.label = model, w, region, label
        self.bound, self.falsify = bound, falsify
        self.rng = np.random.default_rng(seed)
        self.counter = itertools.count()
        self.failed = 0
        self.infeasible = 0
        self.leaves = 0
        self._grads: dict[int, Any] = {}
        self._kinds: dict[tuple[int, int], str] | None = None

    # sensitivities at the centre, per target class
    def _tape_grad(self, j: int, xs: np.ndarray | None = None) -> Any:
        rows = np.zeros((1, self.model.n_y))
        rows[0, self.label], rows[0, j] = 1.0, -1.0
        centre = self.region.centre() if xs is None else xs
        run = run_tape(self.model, centre[:, None, :])
        if self._kinds is None:
            self._kinds = {key: v.op for key, v in run.ops.nonlinear.items()}
        return run, rows

    def nonlinear_sensitivity(self, j: int) -> dict:
        got = self._grads.get(j)
        if got is None:
            run, rows = self._tape_grad(j)
            got = self._grads[j] = {k: np.abs(g[0]) for k, g in run.nonlinear_gradient(rows).items()}
        return got

    def input_sensitivity(self, j: int, xs: np.ndarray) -> np.ndarray:
        run, rows = self._tape_grad(j, xs)
        return np.abs(run.input_gradient(rows)[:, 0])

    # splitting
    def split(self, leaf: Leaf) -> list[Leaf]:
        m = leaf.margins.copy()
        m[self.label] = np.inf
        j = int(np.argmin(m))
        if leaf.kind == "activation":
            return self._split_activation(leaf, j)
        if leaf.kind == "input":
            return self._split_input(leaf, j)
        return self._split_tokens(leaf, j)

    def _split_activation(self, leaf: Leaf, j: int) -> list[Leaf]:
        sens = self.nonlinear_sensitivity(j)
        best, where = -1.0, None
        for key, (lo, hi) in leaf.pre.items():
            g = sens.get(key)
            if g is None:
                continue
            score = g * _gap(self._kinds[key], lo[0], hi[0])
            score = np.where(hi[0] - lo[0] > 1e-9 * (1 + np.abs(lo[0]) + np.abs(hi[0])), score, -1.0)
            u = int(np.argmax(score))
            if score[u] > best:
                best, where = float(score[u]), (key, u)
        if where is None or best <= 0:
            return []
        (t, k), u = where
        lo, hi = float(leaf.pre[(t, k)][0][0, u]), float(leaf.pre[(t, k)][1][0, u])
        s = 0.0 if lo + 0.2 * (hi - lo) < 0.0 < hi - 0.2 * (hi - lo) else lo * 0.5 + hi * 0.5
        out = []
        for side in (0, 1):
            c = dict(leaf.constraints)
            old = c.get((t, k, u), (-np.inf, np.inf))
            c[(t, k, u)] = (old[0], min(old[1], s)) if side == 0 else (max(old[0], s), old[1])
            out.append(Leaf("activation", constraints=c, depth=leaf.depth + 1))
        return out

    def _split_input(self, leaf: Leaf, j: int) -> list[Leaf]:
        lo, hi = leaf.box
        mid = lo * 0.5 + hi * 0.5
        width = hi - lo
        score = self.input_sensitivity(j, np.clip(mid, *self.region.inner) if self.region.inner else mid) * width
        score = np.where(width > 0, score + width * 1e-12, -1.0)
        t, i = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[t, i] <= 0:
            return []
        s = mid[t, i]
        if not lo[t, i] < s < hi[t, i]:
            return []
        a_hi = hi.copy()
        a_hi[t, i] = s
        b_lo = lo.copy()
        b_lo[t, i] = s
        return [Leaf("input", box=(lo, a_hi), depth=leaf.depth + 1), Leaf("input", box=(b_lo, hi), depth=leaf.depth + 1)]

    def _split_tokens(self, leaf: Leaf, j: int) -> list[Leaf]:
        allowed = list(leaf.allowed)
        base = self.region.substitutions.base if self.region.substitutions is not None else None
        if leaf.counted:
            t = max(sorted(leaf.counted), key=lambda p: len(allowed[p]))
            rest = frozenset(leaf.counted - {t})
            keep = list(allowed)
            keep[t] = np.array([base[t]])
            out = [_normal(Leaf("tokens", allowed=tuple(keep), counted=rest, budget=leaf.budget, depth=leaf.depth + 1), base)]
            others = allowed[t][allowed[t] != base[t]]
            if leaf.budget >= 1 and others.size:
                change = list(allowed)
                change[t] = others
                out.append(_normal(Leaf("tokens", allowed=tuple(change), counted=rest, budget=leaf.budget - 1, depth=leaf.depth + 1), base))
            return out
        sizes = [len(a) for a in allowed]
        t = int(np.argmax(sizes))
        if sizes[t] <= 1:
            return []
        xs = np.eye(self.model.n_x)[[int(a[0]) for a in allowed]]
        run, rows = self._tape_grad(j, xs)
        g = run.input_gradient(rows)[t, 0]  # d(z_label − z_j)/dx⟨t⟩: token k's first-order effect is g[k]
        order = allowed[t][np.argsort(g[allowed[t]], kind="stable")]
        half = len(order) // 2
        out = []
        for part in (order[:half], order[half:]):
            a = list(allowed)
            a[t] = np.sort(part)
            out.append(Leaf("tokens", allowed=tuple(a), depth=leaf.depth + 1))
        return out


def _normal(leaf: Leaf, base: np.ndarray) -> Leaf:
    """A token leaf with its budget simplified: no budget left fixes the counted positions to
    their base tokens; a budget at least the number of counted positions is no constraint."""
    if leaf.counted and leaf.budget >= len(leaf.counted):
        leaf.counted = frozenset()
    elif leaf.counted and leaf.budget == 0:
        a = list(leaf.allowed)
        for t in leaf.counted:
            a[t] = np.array([base[t]])
        leaf.allowed, leaf.counted = tuple(a), frozenset()
    return leaf


# --- bounding leaves ---------------------------------------------------------------------------


def bound_leaves(model: Any, region: Region, leaves: list[Leaf], label: int, run: Callable, stats: Any) -> list[bool]:
    """Bound ``leaves`` in one batched run (``run(sets, K, hook) -> (margins (K, n_y), engines)``);
    fills each leaf's ``margins`` and ``pre``; returns per leaf whether it was shown empty.
    A run whose engines raise on disjoint enclosures is retried in halves down to single leaves;
    a single leaf that still raises gets margins −inf (counted in ``stats.failed``)."""
    K = len(leaves)
    if K == 0:
        return []
    kind = leaves[0].kind
    hook = None
    engines: list[SplitEngine] = []
    if kind == "input":
        lo = np.stack([lf.box[0] for lf in leaves], axis=1)
        hi = np.stack([lf.box[1] for lf in leaves], axis=1)
        sets: Any = Box(lo, hi)
    elif kind == "tokens":
        n_x = model.n_x
        if len({tuple(tuple(a.tolist()) for a in lf.allowed) for lf in leaves}) == 1:
            sets = [OneHot(n_x, a) for a in leaves[0].allowed]
        else:  # per-leaf token sets differ: bound them one by one
            out = []
            for lf in leaves:
                out += bound_leaves(model, region, [lf], label, run, stats)
            return out
    else:
        sets = replicate(region.sets, K)
        cons: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for b, lf in enumerate(leaves):
            for (t, k, u), (c_lo, c_hi) in lf.constraints.items():
                if (t, k) not in cons:
                    n = _site_width(model, k)
                    cons[(t, k)] = (np.full((K, n), -np.inf), np.full((K, n), np.inf))
                cons[(t, k)][0][b, u] = max(cons[(t, k)][0][b, u], c_lo)
                cons[(t, k)][1][b, u] = min(cons[(t, k)][1][b, u], c_hi)

        def hook(engine: Any, idx: slice) -> SplitEngine:
            sub = {key: (a[idx], b_[idx]) for key, (a, b_) in cons.items()}
            e = SplitEngine(engine, sub)
            engines.append(e)
            return e

    try:
        margins = run(sets, K, hook)
    except AssertionError as exc:
        if "disjoint" not in str(exc) or kind != "activation":
            raise
        if K == 1:
            stats.failed += 1
            leaves[0].margins = np.full(model.n_y, -np.inf)
            leaves[0].margins[label] = np.inf
            leaves[0].pre = {}
            leaves[0].failed = True
            return [False]
        half = K // 2
        return bound_leaves(model, region, leaves[:half], label, run, stats) + bound_leaves(model, region, leaves[half:], label, run, stats)
    infeasible = np.zeros(K, dtype=bool)
    pre: dict = {}
    if engines:
        start = 0
        for e in engines:
            n = e.inner.B
            infeasible[start : start + n] = e.infeasible
            for key, (a, b_) in e.pre.items():
                pre.setdefault(key, []).append((a, b_))
            start += n
        pre = {key: (np.concatenate([p[0] for p in v]), np.concatenate([p[1] for p in v])) for key, v in pre.items()}
    for b, lf in enumerate(leaves):
        lf.margins = margins[b]
        lf.pre = {key: (a[b : b + 1], b_[b : b + 1]) for key, (a, b_) in pre.items()}
    return infeasible.tolist()


def _site_width(model: Any, k: int) -> int:
    """Units of the ``k``-th nonlinearity call of a step (one cell per layer, each with the same
    pattern of calls: the LSTM's 3 n (gates), n (c̃), n (tanh c)); found by a one-step tape."""
    key = ("_widths", id(model))
    cache = _site_width.__dict__.setdefault("cache", {})
    widths = cache.get(key)
    if widths is None:
        run = run_tape(model, np.zeros((1, 1, model.n_x)))
        widths = cache[key] = [run.ops.nonlinear[(0, i)].v.shape[-1] for i in range(len(run.ops.nonlinear))]
    return widths[k]


def branch_and_bound(
    model: Any,
    w: Any,
    region: Region,
    label: int,
    root_margins: np.ndarray,
    root_pre: dict | None,
    run: Callable,
    falsify: Callable,
    budget: float,
    split: str = "auto",
    width: int = 8,
    max_leaves: int | None = None,
    seed: int = 0,
    attack_every: int = 4,
) -> BabResult:
    """Branch and bound for one sample (module docstring). ``root_margins`` (n_y,) and
    ``root_pre`` (nonlinearity input bounds, batch 1) come from the unsplit run; ``run`` bounds
    a batch of sets (``run(sets, K, hook) -> margins (K, n_y)``); ``falsify(leaf) ->
    Counterexample | None`` attacks a leaf; ``budget`` seconds of wall time."""
    t0 = time.perf_counter()
    kind = _kind(region, split)
    prob = _Problem(model, w, region, label, run, falsify, seed)
    if kind == "activation":
        root = Leaf("activation", margins=root_margins, pre=root_pre)
    elif kind == "input":
        root = Leaf("input", box=region.outer, margins=root_margins)
    else:
        s = region.substitutions
        allowed = tuple(s.allowed) if s is not None else tuple(np.asarray(t) for t in region.tokens)
        root = Leaf("tokens", allowed=allowed, counted=frozenset(range(region.T)) if s is not None else frozenset(), budget=s.k if s is not None else 0, margins=root_margins)
        if s is not None:
            root = _normal(root, s.base)
        if root.margins is None or s is not None:
            bound_leaves(model, region, [root], label, run, prob)
        elif root_pre is None:
            root.pre = {}
    if kind == "activation" and root.pre is None:
        bound_leaves(model, region, [root], label, run, prob)
    heap: list = []
    done_min = np.full(model.n_y, np.inf)

    def settle(lf: Leaf) -> bool:
        """True when the leaf is certified (its margins join the minimum)."""
        if lf.worst(label) > 0:
            np.minimum(done_min, lf.margins, out=done_min)
            return True
        return False

    def push(lf: Leaf) -> None:
        heapq.heappush(heap, (lf.worst(label), next(prob.counter), lf))

    if not settle(root):
        push(root)
    rounds = 0
    limit = max_leaves if max_leaves is not None else 10**9
    reason = ""
    per_leaf = 0.0  # measured seconds per bounded child: a round that cannot fit the budget left is not started
    while heap:
        k = min(width, len(heap))
        if time.perf_counter() - t0 + 2 * k * per_leaf >= budget:
            reason = "time budget"
            break
        if prob.leaves >= limit:
            reason = "max_leaves"
            break
        rounds += 1
        batch = [heapq.heappop(heap)[2] for _ in range(k)]
        t_round = time.perf_counter()
        if rounds % attack_every == 0:
            ce = falsify(batch[0])
            if ce is not None:
                return BabResult("falsified", root_margins, ce, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, "attack on a leaf")
        children: list[Leaf] = []
        stuck: list[Leaf] = []
        for lf in batch:
            kids = prob.split(lf)
            (children.extend(kids) if kids else stuck.append(lf))
        for lf in stuck:  # nothing left to split: a single point (tokens) or no useful neuron
            ce = falsify(lf)
            if ce is not None:
                return BabResult("falsified", root_margins, ce, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, "exact replay of a leaf")
            return BabResult("unknown", root_margins, None, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, "a leaf cannot be split further")
        if children and children[0].kind == "tokens":
            empty = []
            for c in children:
                empty += bound_leaves(model, region, [c], label, run, prob)
        else:
            empty = bound_leaves(model, region, children, label, run, prob)
        prob.leaves += len(children)
        per_leaf = (time.perf_counter() - t_round) / max(len(children), 1)
        for c, e in zip(children, empty):
            if e:
                prob.infeasible += 1
                continue
            if not settle(c):
                if c.failed:
                    return BabResult("unknown", root_margins, None, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, "a leaf's run raised on disjoint enclosures")
                push(c)
    if not heap:
        margins = np.where(np.isfinite(done_min), done_min, root_margins)
        margins = np.maximum(margins, root_margins)  # both are sound lower bounds over the whole set
        margins[label] = np.inf
        return BabResult("certified", margins, None, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, "every leaf certified")
    return BabResult("unknown", root_margins, None, prob.leaves, prob.infeasible, prob.failed, rounds, time.perf_counter() - t0, kind, reason)


def _kind(region: Region, split: str) -> str:
    if region.kind in ("tokens", "substitutions"):
        return "tokens"
    if region.kind != "box":
        raise NotImplementedError("branch and bound over sets mixing tokens and boxes")
    if split == "auto":
        return "input" if region.dimension <= INPUT_SPLIT_MAX_DIM else "activation"
    if split == "tokens":
        raise ValueError("split='tokens' needs a token set")
    return split
