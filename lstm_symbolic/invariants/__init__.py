"""All-horizon invariants: bounds for (a, c) that hold at every step t ≥ 0, each reported with
how far real trajectories were seen to go.

:func:`invariant` proves, in order:

1. a **box invariant** ``S = A × C`` with ``(a⟨0⟩, c⟨0⟩) ∈ S`` and ``step(S, X) ⊆ S``
   (:mod:`.box`: closed form, Kleene iteration, per-unit fixed points, verified narrowing; the
   inclusion checked with sound one-step images through ``method``). By induction ``S``
   contains the whole trajectory for every t and every input sequence from ``X``.
2. optionally the **output-gate template** (:mod:`.gated`): ``a = o ⊙ tanh(c)`` with ``c ∈ C``,
   ``o ∈ O`` — the relation between a unit's ``a`` and ``c`` that a box forgets — proved with
   the same kind of sound step, its box read off at the end;
3. when the model **contracts** on the set proved so far (:mod:`.contraction`: a nonnegative
   matrix ``M`` with ``|δ⁺| <= M |δ|`` between any two of its states under the same input, a weighted
   norm that ``M`` shrinks), the tighter all-horizon box made of a ``T``-step sound trace from
   the initial state and ``M^T width(S)``: a model that forgets its initial state stays near
   where ``T`` steps can take it. Repeated with ``M`` recomputed on the smaller set.

``Invariant.a``, ``Invariant.c`` are always the inductive box of 1 (``step(A × C) ⊆ A × C``);
``Invariant.bounds`` is the intersection of everything proved (each part a valid bound for every
t, so the intersection is one too), the tightest box the call found.

Beside the proof, :func:`lstm_symbolic.worst_case.worst_case` searches long input sequences
(greedy over the vertices of ``X``, held vertices, hold-then-greedy, random holds) for the states real
trajectories reach — ``Invariant.reached`` — and :func:`~lstm_symbolic.worst_case.box_floor`
estimates the narrowest cell box *any* box invariant could have (``Invariant.floor``): the gap
between the invariant and the search is split into what the template cannot avoid and what the
method loses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..inputs import InputSet
from ..interval import Interval
from ..lstm import LSTMWeights
from ..propagate import METHODS, _initial_box
from ..worst_case import Reached, box_floor, check_every_step, worst_case
from . import box as _box
from . import gated as _gated
from .contraction import Contraction, certificate, horizon_bound

__all__ = ["invariant", "Invariant", "Contraction"]

_REFINE = 3  # contraction rounds (each recomputes M on the last proven set)


@dataclass(frozen=True)
class Invariant:
    """Result of :func:`invariant`.

    ``found``: whether a bound valid for every t ≥ 0 was proved; then ``a``, ``c`` are Intervals
    (n_a,) containing ``a⟨t⟩``, ``c⟨t⟩`` for every t ≥ 0 and every input sequence from the set.
    ``reason``: how it was proved, or why not (a unit that can count, a failed induction and by
    how much, a budget exhausted). ``iterations``: verified narrowing rounds.
    ``a``, ``c`` form an inductive box: ``step(A × C) ⊆ A × C``, checked with sound ``method``
    steps. ``bounds``: ``(a, c)`` Intervals, the tightest box proved to contain every state at
    every t ≥ 0 (the inductive box intersected with the output-gate template's box and the
    contraction bound; ``(a, c)`` when neither tightened it). ``template``: ``(C, O)`` Intervals
    of the output-gate template when proved (:mod:`.gated`), else None. ``contraction``: the
    certificate on the last set it was computed on (None when not computed), ``horizon``: the
    trace length ``T`` the contraction bound used (0: not used). ``reached``: the worst-case
    search (:class:`~lstm_symbolic.worst_case.Reached`, None when not run); ``floor``: the
    narrowest cell box any box invariant could have (an estimate from the reached states).
    ``method``: the one-step method of the proof and ``split`` its splitting of the ``a`` box
    (:class:`.box.Stepper`); ``seconds``: time taken (search included).
    """

    found: bool
    a: Interval | None
    c: Interval | None
    reason: str
    iterations: int
    bounds: tuple[Interval, Interval] | None = None
    template: tuple[Interval, Interval] | None = None
    contraction: Contraction | None = None
    horizon: int = 0
    reached: Reached | None = None
    floor: Interval | None = None
    method: str = "best"
    split: int = 0
    seconds: float = 0.0

    @property
    def ratio(self) -> np.ndarray | None:
        """Per unit, the width of the tightest proven ``c`` bound (``bounds``) over the width the
        search reached (n_a,): how far the proof is from what real trajectories showed (``inf``
        where the search saw a single value). None without both."""
        return _ratio(None if self.bounds is None else self.bounds[1], None if self.reached is None else self.reached.c)

    @property
    def a_ratio(self) -> np.ndarray | None:
        """Like :attr:`ratio` for ``a``."""
        return _ratio(None if self.bounds is None else self.bounds[0], None if self.reached is None else self.reached.a)

    @property
    def floor_ratio(self) -> np.ndarray | None:
        """Per unit, the box floor's width over the reached width: the part of :attr:`ratio`
        that no box invariant can avoid."""
        return _ratio(self.floor, None if self.reached is None else self.reached.c)

    def summary(self) -> str:
        """A few lines: what was proved, and the gap to the worst-case search."""
        if not self.found:
            return f"no invariant: {self.reason}"
        A, C = self.bounds
        lines = [f"invariant ({self.reason})",
                 f"  inductive box: c median width {np.median(self.c.width):.4g}, a median width {np.median(self.a.width):.4g}",
                 f"  tightest proven bounds: c median width {np.median(C.width):.4g}, a median width {np.median(A.width):.4g}"]
        if self.reached is not None:
            r = self.ratio
            lines.append(f"  reached by a worst-case search over {self.reached.steps} steps: c median width "
                         f"{np.median(self.reached.c.width):.4g}; invariant / reached: median {np.median(r):.3g}, max {np.max(r):.3g}")
        if self.floor is not None:
            lines.append(f"  no box invariant can be narrower than about {np.median(self.floor_ratio):.3g}x the reached width (median)")
        return "\n".join(lines)


def _ratio(outer: Interval | None, inner: Interval | None) -> np.ndarray | None:
    if outer is None or inner is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        r = outer.width / inner.width
    return np.where(inner.width > 0, r, np.inf)


def invariant(
    w: LSTMWeights,
    inputs: InputSet,
    a0: Any = None,
    c0: Any = None,
    max_iter: int = 200,
    mode: str = "fast",
    method: str = "best",
    search: bool | int = True,
    contraction: bool = True,
    split: int | None = None,
    gated: bool | None = None,
    slabs: int = 4,
) -> Invariant:
    """Find bounds ``a``, ``c`` valid for all t ≥ 0 when ``x⟨t⟩ ∈ inputs`` at every step.

    ``inputs``: one input set without a time axis or batch; ``a0``, ``c0``: (n_a,) arrays or
    Intervals, default zeros. ``max_iter``: rounds of each iteration (Kleene, narrowing).
    ``method``: the one-step method of the proof obligation (one of ``METHODS``; ``"best"``, the
    library's default, is the tightest; ``"symbolic"`` about twice as fast). ``search``: run the
    worst-case search beside the proof (True: 2000 steps; an int: that many steps; False: none).
    ``contraction``: try the contraction bound. ``split``: cut the ``a`` box into ``2**split``
    pieces in each step (tighter, ``2**split`` times the work; at most 16; None: 8 for
    ``n_a <= 8``, 4 for ``n_a <= 16``, else 0). ``gated``: try the output-gate template (None:
    when ``n_a <= 8``), with ``slabs`` pieces per unit. Returns an :class:`Invariant`
    (``found=False`` with the reason when no bound was proved).
    """
    t_start = time.perf_counter()
    check_every_step(w, inputs)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise InputError("max_iter", "a non-negative integer", got=max_iter)
    if not isinstance(method, str) or method not in METHODS:
        raise InputError("method", f"one of {METHODS}", got=method)
    if not isinstance(mode, str) or mode not in ("fast", "rigorous"):
        raise InputError("mode", "'fast' or 'rigorous'", got=mode)
    if not isinstance(search, (bool, int, np.integer)) or (not isinstance(search, bool) and search < 1):
        raise InputError("search", "True, False or a positive number of steps", got=search)
    if split is not None and (isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not 0 <= split <= 16):
        raise InputError("split", "None or an integer in [0, 16]", got=split)
    if isinstance(slabs, bool) or not isinstance(slabs, (int, np.integer)) or slabs < 1:
        raise InputError("slabs", "a positive integer", got=slabs)
    if gated is not None and not isinstance(gated, (bool, np.bool_)):
        raise InputError("gated", "None, True or False", got=gated)
    n = w.n_a
    a_lo, a_hi = _initial_box(a0, "a0", n, 1)
    c_lo, c_hi = _initial_box(c0, "c0", n, 1)
    a_init, c_init = (a_lo[0], a_hi[0]), (c_lo[0], c_hi[0])
    if split is None:
        split = 8 if n <= 8 else 4 if n <= 16 else 0
    step = _box.Stepper(w, inputs, method, mode, split)

    box, how, iterations, F = _box.search(step, a_init, c_init, int(max_iter))
    reached = None
    if search is not False:
        steps = 2000 if search is True else int(search)
        reached = worst_case(w, inputs, steps, Interval(*a_init), Interval(*c_init))
    if box is None:
        reason = how + _counting_note(F, reached)
        return Invariant(False, None, None, reason, 0, reached=reached, method=method, seconds=time.perf_counter() - t_start)

    how = f"{how}, then {iterations} verified narrowing steps; step(box) ⊆ box checked with sound {method} steps"
    bounds: _box.BoxPair = box
    template = None
    if gated is None:
        gated = n <= 8
    if gated:
        res, how_t = _gated.search(step, a_init, c_init, None, slabs, int(max_iter))
        if res is not None:
            template = res
            read = _gated.read_off(*res, a_init, c_init, mode)
            bounds = _intersect(bounds, read)
            how += f"; {how_t}"
    cert, horizon = None, 0
    if contraction:
        for _ in range(_REFINE):
            c_ = certificate(step, bounds)
            if cert is None or c_.holds:
                cert = c_
            out = horizon_bound(step, c_, a_init, c_init, method)
            if out is None:
                break
            cand, T = out
            if _box.width(cand) >= (1.0 - 1e-3) * _box.width(bounds):
                break
            bounds, horizon = _intersect(bounds, cand), T
        if horizon:
            how += (f"; the model contracts (rate {cert.rate:.4g} per step in a weighted max-norm), so every state lies "
                    f"within M^{horizon} width of a {horizon}-step sound trace from the initial state")
        elif cert is not None and not cert.holds:
            how += f"; no contraction certificate (rate bound {cert.rate:.4g} >= 1)"
    floor = None if reached is None else box_floor(w, inputs, reached)
    iv = lambda p: Interval(*p)  # noqa: E731
    return Invariant(
        True,
        iv(box[0]),
        iv(box[1]),
        how,
        iterations,
        bounds=(iv(bounds[0]), iv(bounds[1])),
        template=None if template is None else (iv(template[0]), iv(template[1])),
        contraction=cert,
        horizon=horizon,
        reached=reached,
        floor=floor,
        method=method,
        split=step.split,
        seconds=time.perf_counter() - t_start,
    )


def _intersect(p: _box.BoxPair, q: _box.BoxPair) -> _box.BoxPair:
    """Two valid bounds of the same states: their intersection (never empty when both are
    sound; checked)."""
    out = tuple((np.maximum(x[0], y[0]), np.minimum(x[1], y[1])) for x, y in zip(p, q))
    if any((lo > hi).any() for lo, hi in out):
        raise AssertionError("internal error: two proven bounds are disjoint; please report this model")
    return out  # type: ignore[return-value]


def _counting_note(F: np.ndarray, reached: Reached | None) -> str:
    """What the search saw of the units whose forget gate can reach 1."""
    if reached is None:
        return ""
    growth = np.maximum(np.abs(reached.c.lo), np.abs(reached.c.hi))
    i = int(np.argmax(growth))
    note = (f"; worst-case search ({reached.steps} steps): unit {i}'s cell reached |c| = {growth[i]:.4g} "
            f"with Γ_f up to 1 − {1.0 - reached.max_forget[i]:.2g}")
    if growth[i] >= 0.25 * reached.steps:
        note += " — it counts (grows about linearly in t): no bounded invariant exists"
    return note
