"""Three-way verdicts: certified, falsified or unknown, per sample.

``argmax y⟨T⟩ = label`` holds for every input of a set exactly when every margin
``z_label − z_j = (W_y[label] − W_y[j]) a⟨T⟩ + (b_label − b_j)`` is positive there (softmax is
monotone in the logit differences). For each sample :func:`certify`

1. bounds the margins from below over the whole set with the chosen method (one batched run;
   the rows are the exact differences of ``W_y``, split into two floats);
2. attacks the samples not yet certified (:func:`~lstm_symbolic.attack.margin_attack` on
   continuous sets, :func:`~lstm_symbolic.attack.token_attack` on token sets) and replays every
   candidate exactly (:mod:`.counterexamples`): a member whose exact logits put another class
   strictly above the label *falsifies* the sample;
3. re-bounds the samples still open with optimised slopes (``optimise`` iterations, α-CROWN
   style, methods ``linear`` and ``best``), spent on every intermediate backward pass as well
   as on the margins (the full form: the intermediate bounds are what limit the margins);
4. runs branch and bound (:mod:`.bab`) on what is left, ``budget`` seconds per sample.

A sample is **certified** when a lower bound of every margin is positive, **falsified** when a
verified counterexample exists, **unknown** otherwise. Never both: a falsified sample whose
bounds say certified means an unsound bound, and :func:`certify` raises ``AssertionError``
rather than return it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ShapeError
from ..interval import Interval
from ..model import as_model
from ..propagate import METHODS, Trace, unroll
from .bab import SPLITS, BabResult, branch_and_bound
from .counterexamples import Counterexample, replay
from .regions import Region, regions_of

__all__ = ["certify", "Certificate", "DEFAULT_OPTIMISE", "STATUSES"]

#: Slope-optimisation iterations for the samples the plain bounds leave open (linear, best),
#: on every backward pass (digits benchmark, eps 1e-2, 40 images: plain 24 certified, 5
#: iterations 31, 10 iterations 33).
DEFAULT_OPTIMISE = 8
#: Token and substitution sets with at most this many member sequences are decided member by
#: member: every member bounded as a point sequence in one batched run (exhaustive case split).
ENUMERATE_MAX = 20000
STATUSES = ("certified", "falsified", "unknown")


@dataclass(frozen=True)
class Certificate:
    """Result of :func:`certify`. For a batch of B samples (batched arrays or sets):

    ``certified``, ``falsified``: bool arrays (B,), never both true for one sample;
    ``status``: (B,) strings ``"certified"`` / ``"falsified"`` / ``"unknown"``;
    ``margins``: (B, n_y) lower bounds of ``z_label − z_j`` over the whole set (``+inf`` at the
    label; after branch and bound, the minimum over its leaves when that is higher);
    ``min_margin``: (B,) their minimum (> 0 exactly when certified by bounds);
    ``counterexamples``: B entries, a :class:`~.counterexamples.Counterexample` (a member ``xs``
    (T, n_x) with its exact logits) for each falsified sample, else None;
    ``label``: (B,) labels; ``seconds``: (B,) wall time spent per sample (the batched steps
    shared equally); ``branches``: (B,) leaves bounded by branch and bound; ``details``: (B,)
    :class:`~.bab.BabResult` or None; ``method``; ``trace``: the bounds of every signal at
    every step for the whole set (the first, unsplit run) — the softmax output ``y`` bounded at
    the last step only (earlier steps report its a priori [0, 1]; ``ls.propagate`` bounds every
    step).

    For an unbatched input (one sequence (T, n_x), or unbatched sets) the per-sample fields are
    scalars: ``certified`` and ``falsified`` Python bools, ``margins`` (n_y,), ``counterexamples`` one entry.
    """

    certified: Any
    falsified: Any
    status: Any
    margins: np.ndarray
    min_margin: Any
    counterexamples: Any
    label: Any
    seconds: Any
    branches: Any
    details: Any
    method: str
    trace: Trace

    @property
    def count(self) -> int:
        """How many samples are certified."""
        return int(np.sum(self.certified))

    @property
    def unknown(self) -> Any:
        """Neither certified nor falsified (bool array, or a bool when unbatched)."""
        return ~(np.asarray(self.certified) | np.asarray(self.falsified))

    def counts(self) -> dict[str, int]:
        """``{"certified": …, "falsified": …, "unknown": …}``."""
        st = np.atleast_1d(self.status)
        return {s: int((st == s).sum()) for s in STATUSES}


def _labels(labels: Any, n_y: int, B: int, batched: bool) -> np.ndarray:
    if labels is None:
        raise InputError("labels", f"integer class indices in [0, {n_y})", got=None)
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iu" or not np.all((lab >= 0) & (lab < n_y)):
        raise InputError("labels", f"integer class indices in [0, {n_y})", got=labels if lab.size <= 8 else f"values in [{lab.min()}, {lab.max()}]")
    if batched:
        lab = np.broadcast_to(lab, (B,)) if lab.ndim == 0 else lab
        if lab.shape != (B,):
            raise ShapeError("labels", f"an int or shape ({B},)", got=f"shape {lab.shape}")
    elif lab.ndim != 0 and lab.shape != (1,):
        raise ShapeError("labels", "an int for one unbatched sample", got=f"shape {lab.shape}")
    return np.atleast_1d(lab).astype(np.int64)


def _point_state(v: Any, b: int) -> Any:
    """Sample ``b``'s initial state as a point for the exact replay, or ``"interval"``."""
    if v is None:
        return None
    if isinstance(v, Interval):
        if not (v.lo == v.hi).all():
            return "interval"
        v = v.lo
    arr = np.asarray(v, dtype=np.float64)
    return arr[b] if arr.ndim == 2 else arr


def _batched_state(v: Any, K: int, n: int) -> Any:
    if v is None:
        return np.zeros((K, n))
    if isinstance(v, Interval):
        return Interval(np.broadcast_to(v.lo, (K, n)).copy(), np.broadcast_to(v.hi, (K, n)).copy())
    return np.broadcast_to(np.asarray(v, dtype=np.float64), (K, n)).copy()


def certify(
    model: Any,
    xs_or_sets: Any,
    eps: Any = None,
    labels: Any = None,
    method: str = "best",
    budget: float | None = None,
    *,
    optimise: int | None = None,
    attack: bool = True,
    clip: Any = None,
    split: str = "auto",
    seed: int = 0,
    max_leaves: int | None = None,
    bab_width: int = 8,
    mode: str = "fast",
    a0: Any = None,
    c0: Any = None,
    batch_first: bool = False,
) -> Certificate:
    """Certify or falsify ``argmax y⟨T⟩ = label`` for every input sequence of a set, per sample.

    ``model``: an :class:`~lstm_symbolic.LSTMWeights` or a model with an output layer.
    ``xs_or_sets``: an array (T, n_x) or (T, B, n_x) (``batch_first=True``: (B, T, n_x)) of
    centres, with ``eps`` (a number ≥ 0 or an array broadcastable to it: the L∞ ball per step
    and coordinate) and optionally ``clip=(lo, hi)`` (the ball intersected with that box, e.g.
    ``(0, 1)`` for pixels: :class:`~lstm_symbolic.inputs.ClippedBall`); or input sets as
    :func:`~lstm_symbolic.propagate` takes them (a Box / LinfBall / ClippedBall, possibly
    batched, or one set per step — :class:`~lstm_symbolic.OneHot` token sets for "any of these
    tokens at these positions"), or a :class:`~lstm_symbolic.inputs.Substitutions` budget ("at
    most k positions changed"); then ``eps`` must be None. ``labels``: an int or (B,) ints.

    ``method``: the bounding method (``"best"``: every method in lockstep). ``optimise``:
    slope-optimisation iterations for the samples the plain bounds leave open (default
    :data:`DEFAULT_OPTIMISE` for ``linear`` and ``best``, 0 disables). ``budget``: seconds of
    branch and bound per open sample (None or 0: none); ``split``: ``"auto"``, ``"activation"``,
    ``"input"`` (see :mod:`.bab`); ``max_leaves``: a deterministic limit on leaves per sample;
    ``bab_width``: leaves split per round. ``attack``: search for counterexamples (exactly
    replayed). ``seed``: attacks and branch and bound are deterministic given it (the time
    budget aside). ``mode``, ``a0``, ``c0``: as for ``propagate``.

    Returns a :class:`Certificate`.

    >>> import numpy as np, lstm_symbolic as ls
    >>> rng = np.random.default_rng(0)
    >>> w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(4, 6)) for g in "fuco"},
    ...                    **{f"b_{g}": rng.normal(size=4) for g in "fuco"},
    ...                    W_y=rng.normal(size=(3, 4)), b_y=rng.normal(size=3))
    >>> xs = rng.normal(size=(5, 2))
    >>> label = int(ls.forward(w, xs).y[-1].argmax())
    >>> cert = ls.certify(w, xs, 1e-3, label)
    >>> bool(cert.certified), bool(cert.falsified), str(cert.status)
    (True, False, 'certified')
    >>> wrong = (label + 1) % 3
    >>> bad = ls.certify(w, xs, 1e-3, wrong)
    >>> str(bad.status), bad.counterexamples.predicted == label
    ('falsified', True)
    """
    t_start = time.perf_counter()
    try:
        m = as_model(model)
    except InputError:
        raise InputError("model", "an LSTMWeights or a Model (see ls.load)", got=type(model).__name__) from None
    if m.head is None:
        raise InputError("model", "a model with an output layer (W_y, b_y) to certify a label")
    if not isinstance(method, str) or method not in METHODS:
        raise InputError("method", f"one of {METHODS}", got=method)
    if not isinstance(split, str) or split not in SPLITS:
        raise InputError("split", f"one of {SPLITS}", got=split)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)) or not budget >= 0 or not np.isfinite(budget)):
        raise InputError("budget", "a non-negative number of seconds per sample, or None", got=budget)
    if optimise is not None:
        if isinstance(optimise, bool) or not isinstance(optimise, (int, np.integer)) or optimise < 0:
            raise InputError("optimise", "a non-negative number of iterations", got=optimise)
        if optimise and method not in ("linear", "best"):
            raise InputError("optimise", "a linear or best run (a backward-pass option)", got=optimise)
    n_opt = (DEFAULT_OPTIMISE if method in ("linear", "best") else 0) if optimise is None else int(optimise)
    whole, regions, batched = regions_of(m, xs_or_sets, eps, clip, batch_first)
    B = len(regions)
    lab = _labels(labels, m.n_y, B, batched)

    from ..propagate import _batch_size

    for name, v in (("a0", a0), ("c0", c0)):
        if not isinstance(v, (list, tuple)) and _batch_size(v) not in (0, B):
            raise ShapeError(name, f"one initial state, or a batch of {B} like the samples (certify one sample per call otherwise)",
                             got=f"batch {_batch_size(v)}")

    # 1. one batched run over every sample
    trace, final = unroll(m, whole, a0=a0, c0=c0, method=method, mode=mode, outputs="last step")
    margins = final.margins(lab if B > 1 or batched else lab[:1])
    if margins.shape[0] != B:  # unbatched sets with a batched initial state: one region per state
        raise ShapeError("a0", "the batch of the input sets (certify one sample per call otherwise)", got=f"batch {margins.shape[0]}")
    status = np.where(margins.min(axis=1) > 0, "certified", "unknown").astype(object)
    counterexamples: list[Counterexample | None] = [None] * B
    branches = np.zeros(B, dtype=np.int64)
    details: list[BabResult | None] = [None] * B
    seconds = np.zeros(B)
    shared = time.perf_counter() - t_start
    seconds += shared / B

    def points(b: int) -> tuple[Any, Any]:
        return _point_state(a0, b), _point_state(c0, b)

    def check(b: int, xs: np.ndarray) -> Counterexample | None:
        p_a, p_c = points(b)
        if isinstance(p_a, str) or isinstance(p_c, str):
            return None
        return replay(model, regions[b], xs, int(lab[b]), p_a, p_c)

    # 1b. small token sets, member by member: the set is the union of its members, so bounding
    #     each member (a point sequence) soundly decides the whole set; a member whose bounds do
    #     not certify is replayed exactly as a candidate counterexample
    for b in [b for b in range(B) if status[b] == "unknown"]:
        members = regions[b].members(ENUMERATE_MAX) if _single_state(a0) and _single_state(c0) else None
        if members is None:
            continue
        t0 = time.perf_counter()
        low, witness = _bound_members(m, members, int(lab[b]), a0, c0, mode)
        margins[b] = np.maximum(margins[b], low)
        if low.min() > 0:
            status[b] = "certified"
        elif witness is not None:
            ce = check(b, np.eye(m.n_x)[witness])
            if ce is not None:
                counterexamples[b] = ce
                status[b] = "falsified"
        branches[b] = len(members)
        seconds[b] += time.perf_counter() - t0

    # 2. attacks on the open samples
    if attack:
        t0 = time.perf_counter()
        open_ = [b for b in range(B) if status[b] == "unknown"]
        _attack_samples(m, regions, lab, open_, points, check, counterexamples, seed)
        for b in open_:
            if counterexamples[b] is not None:
                status[b] = "falsified"
        seconds[open_] += (time.perf_counter() - t0) / max(len(open_), 1)

    # 3. optimised slopes on what is left
    open_ = [b for b in range(B) if status[b] == "unknown"]
    if open_ and n_opt and method in ("linear", "best"):
        t0 = time.perf_counter()
        for group in _groups(regions, open_):
            sub_m = _bound_group(m, regions, group, lab, a0, c0, method, mode, n_opt)
            for b, row in zip(group, sub_m):
                margins[b] = np.maximum(margins[b], row)
                if row.min() > 0:
                    status[b] = "certified"
        seconds[open_] += (time.perf_counter() - t0) / len(open_)

    # 4. branch and bound
    if budget:
        for b in [b for b in range(B) if status[b] == "unknown"]:
            t0 = time.perf_counter()
            res = _bab_sample(m, model, regions[b], int(lab[b]), margins[b], a0, c0, b, method, mode, float(budget), split, bab_width, max_leaves, seed, check,
                              n_opt if method in ("linear", "best") else 0)
            details[b] = res
            branches[b] = res.leaves
            if res.status == "certified":
                margins[b] = res.margins
                status[b] = "certified"
            elif res.status == "falsified":
                counterexamples[b] = res.counterexample
                status[b] = "falsified"
            seconds[b] += time.perf_counter() - t0

    certified = status == "certified"
    falsified = status == "falsified"
    for b in range(B):  # fail closed: a verified counterexample under positive bounds is unsoundness
        if counterexamples[b] is not None and margins[b].min() > 0:
            raise AssertionError(f"internal error: sample {b} is both certified and falsified by an exact counterexample; a bound is unsound")
    min_margin = margins.min(axis=1)
    status = status.astype(str)
    if not batched:
        return Certificate(bool(certified[0]), bool(falsified[0]), str(status[0]), margins[0], float(min_margin[0]), counterexamples[0],
                           int(lab[0]), float(seconds[0]), int(branches[0]), details[0], method, trace)
    return Certificate(certified, falsified, status, margins, min_margin, counterexamples, lab, seconds, branches, details, method, trace)


def _single_state(v: Any) -> bool:
    """An initial state shared by the whole batch (what member-by-member bounding can repeat)."""
    if v is None:
        return True
    if isinstance(v, (list, tuple)):
        return all(_single_state(x) for x in v)
    arr = v.lo if isinstance(v, Interval) else np.asarray(v)
    return np.ndim(arr) == 1


def _bound_members(m: Any, members: np.ndarray, label: int, a0: Any, c0: Any, mode: str, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray | None]:
    """Decide a token set member by member (``members`` (N, T) token indices): the member with
    the smallest float margin when that is not positive — a candidate counterexample, returned
    at once (the caller replays it exactly) with no bounds computed; otherwise lower bounds of
    the margins over every member, each a point sequence bounded soundly — interval first (one
    batched run), then the zonotope (a few symbols suffice for a point: they only carry the
    rounding) for the members interval leaves open, since rounding alone can blow an interval
    run up over long sequences — their minimum (n_y,), and None."""
    from ..inputs import Box

    eye = np.eye(m.n_x)
    worst_float, witness = np.inf, None
    for start in range(0, members.shape[0], chunk):  # float screening: a falsification needs no bound
        part = members[start : start + chunk]
        z = _float_logits(m, eye[part].transpose(1, 0, 2), a0, c0)
        margin = z[:, label][:, None] - z
        margin[:, label] = np.inf
        k = int(np.argmin(margin.min(axis=1)))
        if margin[k].min() < worst_float:
            worst_float, witness = float(margin[k].min()), part[k]
    if worst_float <= 0:
        return np.full(m.n_y, -np.inf), witness
    worst = np.full(m.n_y, np.inf)
    units = sum(len(c.state) * c.n_hidden for c in m.cells)
    for start in range(0, members.shape[0], chunk):
        part = members[start : start + chunk]
        xs = eye[part].transpose(1, 0, 2)  # (T, N, n_x)
        labels = np.full(part.shape[0], label)
        _, fin = unroll(m, Box(xs, xs), a0=a0, c0=c0, method="interval", mode=mode, outputs="last step")
        low = fin.margins(labels)
        open_ = np.flatnonzero(low.min(axis=1) <= 0)
        if open_.size:
            sub = Box(xs[:, open_], xs[:, open_])
            _, fin = unroll(m, sub, a0=a0, c0=c0, method="symbolic", mode=mode, outputs="last step", max_symbols=4 * units)
            low[open_] = np.maximum(low[open_], fin.margins(labels[open_]))
        worst = np.minimum(worst, low.min(axis=0))
    return worst, None


def _float_logits(m: Any, xs: np.ndarray, a0: Any, c0: Any) -> np.ndarray:
    """Float logits ``W_y a⟨T⟩ + b_y`` of the point sequences ``xs`` (T, N, n_x): (N, n_y),
    from the library's one forward pass."""
    from ..lstm import forward
    from ..methods.concrete import ConcreteOps

    run = forward(m, xs, a0=_point(a0), c0=_point(c0))
    return ConcreteOps().linear(m.head.logits, [run.a[-1]])


def _point(v: Any) -> Any:
    if isinstance(v, Interval):
        return v.mid
    if isinstance(v, (list, tuple)):
        return [_point(x) for x in v]
    return v


def _groups(regions: list[Region], idx: list[int]) -> list[list[int]]:
    """Samples that can be bounded in one batched run: continuous regions together, token
    regions one by one."""
    boxes = [b for b in idx if regions[b].kind == "box"]
    rest = [[b] for b in idx if regions[b].kind != "box"]
    return ([boxes] if boxes else []) + rest


def _bound_group(m: Any, regions: list[Region], group: list[int], lab: np.ndarray, a0: Any, c0: Any, method: str, mode: str, optimise: int) -> np.ndarray:
    """Margins (len(group), n_y) of the samples in ``group`` with ``optimise`` iterations."""
    from ..inputs import Box

    if len(group) > 1 or regions[group[0]].kind == "box":
        lo = np.stack([regions[b].outer[0] for b in group], axis=1)
        hi = np.stack([regions[b].outer[1] for b in group], axis=1)
        sets: Any = Box(lo, hi) if len(group) > 1 else regions[group[0]].sets
    else:
        sets = regions[group[0]].sets
    sub_a0, sub_c0 = _take_states(a0, c0, group, len(group) > 1)
    _, fin = unroll(m, sets, a0=sub_a0, c0=sub_c0, method=method, mode=mode, optimise=optimise, outputs="last step",
                    optimise_intermediate=bool(optimise))
    return fin.margins(lab[group])


def _take_states(a0: Any, c0: Any, group: list[int], batched: bool) -> tuple[Any, Any]:
    def take(v: Any) -> Any:
        if v is None or isinstance(v, (list, tuple)):
            return v
        if isinstance(v, Interval):
            return Interval(v.lo[group], v.hi[group]) if v.lo.ndim == 2 else v
        arr = np.asarray(v)
        return arr[group] if arr.ndim == 2 else arr
    return take(a0), take(c0)


def _attack_samples(m: Any, regions: list[Region], lab: np.ndarray, open_: list[int], points: Any, check: Any, out: list, seed: int) -> None:
    """Attack every open sample; keep exactly verified counterexamples in ``out``."""
    from ..attack import margin_attack, token_attack

    boxes = [b for b in open_ if regions[b].kind == "box" and _plain_states(points, b)]
    if boxes:
        lo = np.stack([regions[b].inner[0] for b in boxes], axis=1)
        hi = np.stack([regions[b].inner[1] for b in boxes], axis=1)
        A0 = _stack_points([points(b)[0] for b in boxes])
        C0 = _stack_points([points(b)[1] for b in boxes])
        try:
            cand, fm = margin_attack(m, lo, hi, lab[boxes], A0, C0, seed=seed)
        except NotImplementedError:
            cand, fm = None, None
        if cand is not None:
            for i, b in enumerate(boxes):
                if fm[i] <= 0:
                    out[b] = check(b, cand[:, i])
    for b in open_:
        r = regions[b]
        if r.kind not in ("tokens", "substitutions") or not _plain_states(points, b):
            continue
        s = r.substitutions
        base = s.base if s is not None else np.array([t[0] for t in r.tokens])
        k = s.k if s is not None else None
        p_a, p_c = points(b)
        try:
            seq, fm_ = token_attack(m, r.tokens, base, int(lab[b]), k, p_a, p_c)
        except NotImplementedError:
            continue
        if fm_ <= 0:
            out[b] = check(b, np.eye(m.n_x)[seq])


def _plain_states(points: Any, b: int) -> bool:
    return not any(isinstance(p, str) for p in points(b))


def _stack_points(ps: list) -> Any:
    if all(p is None for p in ps):
        return None
    n = next(p for p in ps if p is not None).shape[-1]
    return np.stack([np.zeros(n) if p is None else p for p in ps])


def _bab_sample(m: Any, model: Any, region: Region, label: int, margins: np.ndarray, a0: Any, c0: Any, b: int, method: str, mode: str,
                budget: float, split: str, width: int, max_leaves: int | None, seed: int, check: Any, optimise: int = 0) -> BabResult:
    """Branch and bound of sample ``b`` (see :mod:`.bab`); every leaf bounded with ``optimise``
    slope iterations on every backward pass (the samples that reach branching are those the
    optimised root left open, so plain leaves would start weaker than their parent)."""
    from ..attack import margin_attack, token_attack

    cells = [c for layer in m.layers for c in ((layer.cell,) if layer.reverse is None else (layer.cell, layer.reverse))]
    single = len(cells) == 1
    p_a, p_c = _point_state(a0, b), _point_state(c0, b)

    def states(K: int) -> tuple[Any, Any]:
        if not single:
            return a0, c0  # several cells: the sets carry the batch (continuous) or one leaf per run
        n = cells[0].n_hidden
        va = a0 if a0 is None or isinstance(a0, Interval) or np.ndim(a0) == 1 else (np.asarray(a0)[b] if not isinstance(a0, Interval) else a0)
        vc = c0 if c0 is None or isinstance(c0, Interval) or np.ndim(c0) == 1 else np.asarray(c0)[b]
        if isinstance(a0, Interval) and a0.lo.ndim == 2:
            va = Interval(a0.lo[b], a0.hi[b])
        if isinstance(c0, Interval) and c0.lo.ndim == 2:
            vc = Interval(c0.lo[b], c0.hi[b])
        return _batched_state(va, K, n), (None if vc is None and "c" not in cells[0].state else (_batched_state(vc, K, n) if "c" in cells[0].state else None))

    def run(sets: Any, K: int, hook: Any) -> np.ndarray:
        sa, sc = states(K)
        kw = {"optimise": optimise, "optimise_intermediate": True} if optimise else {}
        _, fin = unroll(m, sets, a0=sa, c0=sc, method=method, mode=mode, engine_hook=hook, outputs="last step", **kw)
        return fin.margins(np.full(K, label))

    plain = not (isinstance(p_a, str) or isinstance(p_c, str))
    counter = [0]

    def falsify(leaf: Any) -> Counterexample | None:
        if not plain:
            return None
        counter[0] += 1
        try:
            if leaf.kind == "tokens":
                if all(len(a) == 1 for a in leaf.allowed):
                    return check(b, np.eye(m.n_x)[[int(a[0]) for a in leaf.allowed]])
                base = region.substitutions.base if region.substitutions is not None else np.array([a[0] for a in leaf.allowed])
                start = np.array([a[0] if base[t] not in a else base[t] for t, a in enumerate(leaf.allowed)])
                seq, fm = token_attack(m, list(leaf.allowed), start, label, None, p_a, p_c)
                return check(b, np.eye(m.n_x)[seq]) if fm <= 0 else None
            lo, hi = region.inner
            if leaf.kind == "input":
                lo, hi = np.maximum(lo, leaf.box[0]), np.minimum(hi, leaf.box[1])
                if (lo > hi).any():
                    return None
            cand, fm = margin_attack(m, lo[:, None], hi[:, None], np.array([label]), p_a, p_c, restarts=6, seed=seed + 1000 * counter[0])
            return check(b, cand[:, 0]) if fm[0] <= 0 else None
        except NotImplementedError:
            return None

    return branch_and_bound(m, model, region, label, margins, None, run, falsify, budget, split, width, max_leaves, seed)
