"""All-horizon invariants: boxes for (a, c) that hold at every step t ≥ 0.

A box ``B = A × C`` with ``(a⟨0⟩, c⟨0⟩) ∈ B`` and ``step(B, X) ⊆ B`` for the input set ``X``
contains the whole trajectory, for every t and every input sequence from ``X`` (induction).
``step`` here is one sound symbolic step (``propagate(..., method="symbolic")`` from the box),
so the inclusion check *is* the proof; ``tests/test_certify_invariant.py`` replays it.

Method:

1. **Closed form.** ``|a⟨t⟩| <= 1`` for t ≥ 1, so with ``A₀ = hull([−1, 1], a⟨0⟩)`` the gate and
   candidate ranges over ``A₀ × X`` hold at every step. Per unit, with ``Γ_f ∈ [0, F]``,
   ``F < 1``, and ``Γ_u c̃ ∈ [g_lo, g_hi]``, the map ``c ↦ Γ_f c + Γ_u c̃`` sends
   ``C = [min(c⟨0⟩_lo, g_lo/(1−F), 0), max(c⟨0⟩_hi, g_hi/(1−F), 0)]`` into itself (for
   ``U ≥ 0``: ``F U + g_hi ≤ U ⇔ U ≥ g_hi/(1−F)``, and symmetrically). This is the
   all-horizon form of the a priori bound of ``docs/proofs/domains.md``, limit
   ``M/(1 − sup Γ_f)``. If some unit can have ``Γ_f = 1`` (to float precision) there is no
   such box: ``c`` may grow like ``t``.
2. **Monotone narrowing.** ``B ← hull(step(B), init) ∩ B``, repeated; each candidate is kept
   only after its own inclusion ``step(B) ⊆ B`` is verified, so rounding can never make an
   unverified box the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError
from .inputs import InputSet
from .interval import Interval
from .interval import kernels as K
from .interval import rounding as R
from .lstm import LSTMWeights
from .propagate import _initial_box, one_step

__all__ = ["invariant", "Invariant"]

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Invariant:
    """Result of :func:`invariant`. When ``found``: ``a``, ``c`` are Intervals (n_a,) valid for
    every t ≥ 0; ``reason`` says how it was found or why not; ``iterations`` counts the
    verified narrowing steps."""

    found: bool
    a: Interval | None
    c: Interval | None
    reason: str
    iterations: int


def _step(w: LSTMWeights, inputs: InputSet, a: Pair, c: Pair, mode: str) -> tuple[Pair, Pair]:
    """A sound image of the box ``a × c`` under one step with ``x ∈ inputs``: the symbolic step
    (affine forms over fresh symbols for the box, so the four gates' shared dependence on
    ``[a, x]`` is kept), which is never looser than the interval step it runs alongside."""
    out = one_step(w, inputs, {"a": a, "c": c}, "symbolic", mode)
    return out["a"], out["c"]


def _inside(inner: Pair, outer: Pair) -> bool:
    return bool(np.all(outer[0] <= inner[0]) and np.all(inner[1] <= outer[1]))


def _verified(w: LSTMWeights, inputs: InputSet, box: tuple[Pair, Pair], mode: str) -> bool:
    """The proof obligation: ``step(box) ⊆ box`` with one sound symbolic step."""
    a_new, c_new = _step(w, inputs, *box, mode)
    return _inside(a_new, box[0]) and _inside(c_new, box[1])


def _width(box: tuple[Pair, Pair]) -> float:
    return float(sum(np.sum(p[1] - p[0]) for p in box))


def invariant(
    w: LSTMWeights, inputs: InputSet, a0: Any = None, c0: Any = None, max_iter: int = 200, mode: str = "fast"
) -> Invariant:
    """Find boxes ``a``, ``c`` valid for all t ≥ 0 when ``x⟨t⟩ ∈ inputs`` at every step.

    ``inputs``: one input set without a time axis or batch; ``a0``, ``c0``: (n_a,) arrays or
    Intervals, default zeros. Returns an :class:`Invariant` (``found=False`` with the reason
    when the closed form does not exist).
    """
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights", got=type(w).__name__)
    if not isinstance(inputs, InputSet) or inputs.steps not in (None, 1) or inputs.batch is not None:
        raise InputError("inputs", "one input set without time axis or batch (used at every step)", got=inputs)
    if inputs.n_x != w.n_x:
        raise InputError("inputs", f"a set over n_x = {w.n_x} inputs", got=f"n_x = {inputs.n_x}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise InputError("max_iter", "a non-negative integer", got=max_iter)
    n = w.n_a
    a_init = _initial_box(a0, "a0", n, 1)
    c_init = _initial_box(c0, "c0", n, 1)

    closed, how_closed = _closed_form(w, inputs, a_init, c_init, mode)
    kleene, how_kleene = _kleene(w, inputs, a_init, c_init, mode, max_iter, cap=closed)
    found = [(b, h) for b, h in ((closed, how_closed), (kleene, how_kleene)) if b is not None]  # ties: closed form
    if not found:
        return Invariant(False, None, None, f"{how_closed}; {how_kleene}", 0)
    box, how = min(found, key=lambda bh: _width(bh[0]))

    # 2. narrowing, each candidate verified: (i) the cell's closed-form box for the current a-box
    #    (jumps to the fixed point of the c recursion), (ii) hull(step(B), init) ∩ B
    iterations = 0
    for _ in range(max_iter):
        improved, before = False, _width(box)
        C, _F = _cell_fixed_box(w, inputs, box[0], c_init, mode)
        if C is not None:
            cand = (box[0], (np.maximum(C[0], box[1][0]), np.minimum(C[1], box[1][1])))
            # (only helps when the a-box has shrunk since C was last computed)
            if _verified(w, inputs, cand, mode) and _width(cand) < _width(box):
                box, improved = cand, True
        a_new, c_new = _step(w, inputs, *box, mode)
        cand = (
            (np.maximum(np.minimum(a_new[0], a_init[0]), box[0][0]), np.minimum(np.maximum(a_new[1], a_init[1]), box[0][1])),
            (np.maximum(np.minimum(c_new[0], c_init[0]), box[1][0]), np.minimum(np.maximum(c_new[1], c_init[1]), box[1][1])),
        )
        if _verified(w, inputs, cand, mode) and _width(cand) < _width(box):
            box, improved = cand, True
        if not improved:
            break
        iterations += 1
        if _width(box) > (1.0 - _MIN_GAIN) * before:
            break
    return Invariant(
        True,
        Interval(box[0][0][0], box[0][1][0]),
        Interval(box[1][0][0], box[1][1][0]),
        f"{how}, then {iterations} verified narrowing steps; step(box) ⊆ box checked with one sound symbolic step",
        iterations,
    )


def _cell_fixed_box(w: LSTMWeights, inputs: InputSet, A: Pair, c_init: Pair, mode: str) -> tuple[Pair | None, float]:
    """The closed-form cell box for ``a ∈ A``: per unit ``[min(c0, g_lo/(1−F), 0),
    max(c0, g_hi/(1−F), 0)]`` with ``F = sup Γ_f`` and ``[g_lo, g_hi] ⊇ Γ_u c̃`` over ``A × X``.
    ``None`` when some ``F`` is 1 to float precision. Returns the box and ``max F``."""
    s = _gates(w, inputs, A, mode)
    F = s["f"][1]
    if np.any(F >= 1.0):
        return None, float(F.max())
    g_lo, g_hi = K.mul_nonneg(*s["u"], *s["c_tilde"])
    one_minus_F = R.sub_down(np.ones_like(F), F)  # > 0, rounded down
    # The fixed point g/(1-F) satisfies F U + g = U with equality; inflating it by a relative
    # delta = 2**-44/(1-F) leaves room (1-F) U delta = U 2**-44 for the rounding of the check.
    inflate = 1.0 + 2.0**-44 / one_minus_F
    U = np.maximum(np.maximum(c_init[1], R.div_up(np.maximum(g_hi, 0.0), one_minus_F) * inflate), 0.0)
    L = np.minimum(np.minimum(c_init[0], R.div_down(np.minimum(g_lo, 0.0), one_minus_F) * inflate), 0.0)
    return (L, U), float(F.max())


def _closed_form(w: LSTMWeights, inputs: InputSet, a_init: Pair, c_init: Pair, mode: str) -> tuple[tuple[Pair, Pair] | None, str]:
    """Candidate 1 (see the module docstring): from gate ranges over ``hull([-1, 1], a0)``."""
    n = w.n_a
    A0 = (np.minimum(a_init[0], -1.0), np.maximum(a_init[1], 1.0))
    C, F = _cell_fixed_box(w, inputs, A0, c_init, mode)
    if C is None:
        return None, f"closed form: with a anywhere in [-1, 1]^{n} the forget gate can reach 1 (to float precision)"
    box = (A0, C)
    a_new, c_new = _step(w, inputs, *box, mode)
    if not (_inside(a_new, box[0]) and _inside(c_new, box[1])):
        return None, "closed form: the box failed its own inclusion check"
    return box, f"closed form (1 − sup Γ_f >= {1.0 - F:.3g})"


_WIDEN_AFTER = 20
_MIN_GAIN = 1e-3  # narrowing stops when a round shrinks the boxes by less than 0.1%
_GIVE_UP = 1e12  # a cell box this wide says nothing useful: report failure instead


def _kleene(
    w: LSTMWeights, inputs: InputSet, a_init: Pair, c_init: Pair, mode: str, max_iter: int, cap: tuple[Pair, Pair] | None = None
) -> tuple[tuple[Pair, Pair] | None, str]:
    """Candidate 2: ``B ← hull(B, step(B))`` from the initial state, with widening of the cell
    box after ``_WIDEN_AFTER`` rounds (an end that keeps moving is pushed out by a multiple of
    its last move, the multiple growing by 1.25 each round; ``a`` is only hulled: it cannot
    leave ``[-1, 1]``, and keeping it tight keeps the gates from saturating) until
    ``step(B) ⊆ B`` is verified. ``a`` is also kept inside ``[-1, 1]`` (proved a priori)."""
    box = (a_init, c_init)
    push = (np.zeros_like(a_init[0]), np.zeros_like(c_init[0]))
    for it in range(max_iter):
        a_new, c_new = _step(w, inputs, *box, mode)
        if _inside(a_new, box[0]) and _inside(c_new, box[1]):
            return box, f"Kleene iteration with widening from the initial state ({it} rounds)"
        nxt = []
        for j, (old, new) in enumerate(((box[0], a_new), (box[1], c_new))):
            lo, hi = np.minimum(old[0], new[0]), np.maximum(old[1], new[1])
            if j == 1 and it >= _WIDEN_AFTER:  # widen c only (a is bounded by [-1, 1] anyway):
                # push a moving end out by a growing multiple of its move
                moved_lo, moved_hi = old[0] - lo, hi - old[1]
                factor = 1.25 ** (it - _WIDEN_AFTER)
                with np.errstate(over="ignore"):
                    lo = lo - np.where(moved_lo > 0, moved_lo * factor, 0.0)
                    hi = hi + np.where(moved_hi > 0, moved_hi * factor, 0.0)
            if j == 0:
                lo, hi = np.maximum(lo, np.minimum(-1.0, a_init[0])), np.minimum(hi, np.maximum(1.0, a_init[1]))
            if cap is not None:
                lo, hi = np.maximum(lo, cap[j][0]), np.minimum(hi, cap[j][1])
            nxt.append((lo, hi))
        if not all(np.isfinite(p[0]).all() and np.isfinite(p[1]).all() for p in nxt):
            break
        box = (nxt[0], nxt[1])
        if float(np.max(np.abs(box[1]))) > _GIVE_UP:
            return None, (f"Kleene iteration with widening passed |c| = {_GIVE_UP:.0e} after {it + 1} rounds without "
                          "closing (a unit that can count: its cell grows step after step)")
    return None, f"Kleene iteration with widening did not close in {max_iter} rounds"


def _gates(w: LSTMWeights, inputs: InputSet, a: Pair, mode: str) -> dict[str, Pair]:
    """Bounds of Γ_f, Γ_u, c̃ over a × inputs (any c: they do not read c), from one step of
    the same interval stepper :func:`~lstm_symbolic.propagate` uses."""
    zero = (np.zeros_like(a[0]), np.zeros_like(a[0]))
    out = one_step(w, inputs, {"a": a, "c": zero}, "interval", mode)
    return {"f": out["f"], "u": out["u"], "c_tilde": out["c_tilde"]}
