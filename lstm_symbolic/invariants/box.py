"""Box invariants ``B = A × C`` with ``step(B) ⊆ B``, proved with sound one-step images.

**The step of a box** (:func:`step_box`). For fixed ``(a, x)``, unit ``i``'s new cell
``c_i⁺ = Γ_f c_i + Γ_u c̃`` is affine in ``c_i`` with slope ``Γ_f ∈ (0, 1)`` and does not read
any other ``c_j``; ``a_i⁺ = Γ_o tanh(c_i⁺)`` is nondecreasing in ``c_i⁺`` (``Γ_o > 0``). So over
the box, the largest ``c_i⁺`` and ``a_i⁺`` are reached with ``c_i`` at the top ``U_i`` of
``C_i``, the smallest with ``c_i`` at the bottom ``L_i`` — for every unit at once. Two sound
steps, from ``A × {U}`` and from ``A × {L}``, therefore bound the image of the whole box, and
they lose nothing to the width of ``C`` (one step from the box relaxes ``Γ_f ⊙ c`` over all of
``C``; here ``c`` is a point). Gates and ``c̃`` do not read ``c``: either step bounds them.

**Candidates**, each verified by its own inclusion ``step(B) ⊆ B`` before it is kept:

1. **Closed form.** ``|a⟨t⟩| <= 1`` for t ≥ 1, so with ``A₀ = hull([−1, 1], a⟨0⟩)`` the gate
   ranges over ``A₀ × X`` hold at every step. Per unit, with ``Γ_f ∈ [0, F]``, ``F < 1``, and
   ``Γ_u c̃ ∈ [g_lo, g_hi]``, ``C = [min(c⁰_lo, g_lo/(1−F), 0), max(c⁰_hi, g_hi/(1−F), 0)]`` maps
   into itself (``F U + g_hi <= U ⇔ U >= g_hi/(1−F)``); limit ``M/(1 − sup Γ_f)`` of
   ``docs/proofs/domains.md``. When some ``F`` is 1 to float precision there is no such box.
2. **Kleene iteration with widening** from the initial state, capped by the closed form.
3. **Per-unit fixed points** (:func:`cell_fixed_point`): for the current ``A``, the smallest
   ``U_i`` with ``sup c_i⁺(U_i) <= U_i`` (and likewise ``L_i``), by Newton steps on the
   endpoint steps above — the joint dependence of ``Γ_f`` and ``Γ_u c̃`` on ``(a, x)`` that the
   closed form's separate suprema lose.

then **narrowing**: ``B ← hull(step(B), init) ∩ B`` and per-unit fixed points for the narrowed
``A``, each candidate verified.
"""

from __future__ import annotations

import numpy as np

from ..inputs import InputSet
from ..interval import kernels as K
from ..interval import rounding as R
from ..lstm import LSTMWeights
from ..propagate import one_step

Pair = tuple[np.ndarray, np.ndarray]
BoxPair = tuple[Pair, Pair]

_WIDEN_AFTER = 20
_MIN_GAIN = 1e-3  # narrowing stops when a round shrinks the boxes by less than 0.1%
_GIVE_UP = 1e12  # a cell box this wide says nothing useful: report failure instead
_NEWTON = 12  # Newton rounds of the per-unit fixed point


class Stepper:
    """Sound one-step images of boxes with ``x ∈ inputs``, through ``method``; counts calls.

    ``split``: the ``A`` part of a box is cut into ``2**split`` pieces (see :meth:`pieces`) and
    the image is the hull of the pieces' images — sound because the pieces cover ``A``, and tighter because each
    relaxation sees a smaller box. All pieces (and both ends of ``C``) go through one batched
    step."""

    def __init__(self, w: LSTMWeights, inputs: InputSet, method: str, mode: str, split: int = 0) -> None:
        self.w, self.inputs, self.method, self.mode = w, inputs, method, mode
        self.split = int(split)
        W = w.to_model().layers[0].cell.gates.W
        self.influence = np.abs(W[:, : w.n_a]).sum(axis=0)  # (n_a,)
        self.calls = 0

    def raw(self, a: Pair, c: Pair) -> dict[str, Pair]:
        """``one_step`` from the boxes ``a``, ``c`` given as (k, n) arrays (a batch of boxes)."""
        self.calls += 1
        return one_step(self.w, self.inputs, {"a": a, "c": c}, self.method, self.mode)

    def pieces(self, A: Pair) -> Pair:
        """The pieces of ``A`` (see the class docstring), (P, n) each: ``split`` halvings, each
        given to the coordinate whose weight × piece width is largest, so a coordinate may be
        cut into 2, 4, 8, … equal segments; the pieces are the grid of the segments."""
        if not self.split:
            return A[0][None], A[1][None]
        counts = np.zeros(A[0].shape[0], dtype=np.int64)
        for _ in range(self.split):
            counts[int(np.argmax(self.influence * (A[1] - A[0]) / 2.0**counts))] += 1
        lo, hi = A[0][None].copy(), A[1][None].copy()
        for j in np.flatnonzero(counts):
            k = 2 ** int(counts[j])
            edges = A[0][j] + (A[1][j] - A[0][j]) * (np.arange(k + 1) / k)
            edges[0], edges[-1] = A[0][j], A[1][j]
            edges = np.clip(np.maximum.accumulate(edges), A[0][j], A[1][j])
            P = lo.shape[0]
            lo, hi = np.repeat(lo, k, axis=0), np.repeat(hi, k, axis=0)
            seg = np.tile(np.arange(k), P)
            lo[:, j], hi[:, j] = edges[seg], edges[seg + 1]
        return lo, hi

    def ends(self, A: Pair, L: np.ndarray, U: np.ndarray) -> tuple[Pair, Pair, dict[str, Pair]]:
        """The image of ``A × [L, U]`` (see the module docstring): ``(a⁺, c⁺, gates)`` with
        ``a⁺``, ``c⁺`` (lo, hi) arrays (n,) and the gate bounds of the step."""
        lo, hi = self.pieces(A)
        P = lo.shape[0]
        a2 = (np.concatenate([lo, lo]), np.concatenate([hi, hi]))
        ends = np.concatenate([np.broadcast_to(U, lo.shape), np.broadcast_to(L, lo.shape)])
        out = self.raw(a2, (ends, ends))
        top, bottom = slice(0, P), slice(P, 2 * P)
        a_new = (out["a"][0][bottom].min(axis=0), out["a"][1][top].max(axis=0))  # monotone in c
        c_new = (out["c"][0][bottom].min(axis=0), out["c"][1][top].max(axis=0))
        gates = {k: (out[k][0].min(axis=0), out[k][1].max(axis=0)) for k in ("f", "u", "o", "c_tilde")}
        return a_new, c_new, gates

    def box(self, box: BoxPair) -> tuple[Pair, Pair]:
        a_new, c_new, _ = self.ends(box[0], box[1][0], box[1][1])
        return a_new, c_new


def inside(inner: Pair, outer: Pair) -> bool:
    return bool(np.all(outer[0] <= inner[0]) and np.all(inner[1] <= outer[1]))


def excess(step: Stepper, box: BoxPair) -> float:
    """How far ``step(box)`` leaves ``box`` (0 when inductive): the largest overshoot of an
    end, relative to the width of its interval."""
    a_new, c_new = step.box(box)
    worst = 0.0
    for new, old in ((a_new, box[0]), (c_new, box[1])):
        width = np.maximum(old[1] - old[0], 1e-300)
        worst = max(worst, float(np.max((old[0] - new[0]) / width)), float(np.max((new[1] - old[1]) / width)))
    return max(worst, 0.0)


def verified(step: Stepper, box: BoxPair) -> bool:
    """The proof obligation: ``step(box) ⊆ box`` with the sound endpoint steps."""
    a_new, c_new = step.box(box)
    return inside(a_new, box[0]) and inside(c_new, box[1])


def width(box: BoxPair) -> float:
    return float(sum(np.sum(p[1] - p[0]) for p in box))


def _gates(step: Stepper, A: Pair) -> dict[str, Pair]:
    """Bounds of Γ_f, Γ_u, c̃ over ``A × inputs`` (any c: they do not read c), by the interval
    method (what the closed form is stated with)."""
    zero = (np.zeros((1, A[0].shape[0])), np.zeros((1, A[0].shape[0])))
    out = one_step(step.w, step.inputs, {"a": (A[0][None], A[1][None]), "c": zero}, "interval", step.mode)
    return {k: (out[k][0][0], out[k][1][0]) for k in ("f", "u", "c_tilde")}


def cell_closed_form(step: Stepper, A: Pair, c_init: Pair) -> tuple[Pair | None, np.ndarray]:
    """The closed-form cell box for ``a ∈ A``: per unit ``[min(c0, g_lo/(1−F), 0),
    max(c0, g_hi/(1−F), 0)]`` with ``F = sup Γ_f`` and ``[g_lo, g_hi] ⊇ Γ_u c̃`` over ``A × X``.
    ``None`` when some ``F`` is 1 to float precision. Returns the box and ``F`` (n,)."""
    s = _gates(step, A)
    F = s["f"][1]
    if np.any(F >= 1.0):
        return None, F
    g_lo, g_hi = K.mul_nonneg(*s["u"], *s["c_tilde"])
    one_minus_F = R.sub_down(np.ones_like(F), F)  # > 0, rounded down
    # The fixed point g/(1-F) satisfies F U + g = U with equality; inflating it by a relative
    # delta = 2**-44/(1-F) leaves room (1-F) U delta = U 2**-44 for the rounding of the check.
    inflate = 1.0 + 2.0**-44 / one_minus_F
    U = np.maximum(np.maximum(c_init[1], R.div_up(np.maximum(g_hi, 0.0), one_minus_F) * inflate), 0.0)
    L = np.minimum(np.minimum(c_init[0], R.div_down(np.minimum(g_lo, 0.0), one_minus_F) * inflate), 0.0)
    return (L, U), F


def closed_form(step: Stepper, a_init: Pair, c_init: Pair) -> tuple[BoxPair | None, str, np.ndarray]:
    """Candidate 1 (see the module docstring): from gate ranges over ``hull([-1, 1], a0)``.
    Returns the box (or None), how, and ``sup Γ_f`` per unit."""
    n = a_init[0].shape[0]
    A0 = (np.minimum(a_init[0], -1.0), np.maximum(a_init[1], 1.0))
    C, F = cell_closed_form(step, A0, c_init)
    if C is None:
        units = np.flatnonzero(F >= 1.0)
        return None, (f"closed form: with a anywhere in [-1, 1]^{n} the forget gate of unit"
                      f"{'s' if len(units) > 1 else ''} {', '.join(map(str, units[:8]))} can reach 1 (to float precision)"), F
    box = (A0, C)
    if not verified(step, box):
        return None, f"closed form: the box failed its own inclusion check (by {excess(step, box):.3g} of its width)", F
    return box, f"closed form (1 − sup Γ_f >= {1.0 - float(F.max()):.3g})", F


def cell_fixed_point(step: Stepper, A: Pair, c_init: Pair, start: Pair) -> Pair:
    """Per-unit fixed points of the endpoint step for ``a ∈ A`` (not verified here):
    ``U_i`` with ``sup c_i⁺(U_i) = U_i`` and likewise ``L_i``, by Newton steps on
    ``ψ(U) = sup c⁺(U) − U`` (slope ``Γ_f − 1 < 0``) from ``start``, then inflated by a
    relative ``2⁻³⁰`` (room for the rounding of the check). Never below the initial state."""
    L, U = start[0].copy(), start[1].copy()
    for _ in range(_NEWTON):
        h = np.maximum(np.maximum(np.abs(U), np.abs(L)), 1.0) * 1e-4
        _, c1, _ = step.ends(A, L, U)
        _, c2, _ = step.ends(A, L - h, U + h)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            su = np.clip((c2[1] - c1[1]) / h, 0.0, 1.0 - 2.0**-40)
            sl = np.clip((c1[0] - c2[0]) / h, 0.0, 1.0 - 2.0**-40)
            U_new = U + (c1[1] - U) / (1.0 - su)
            L_new = L + (c1[0] - L) / (1.0 - sl)
        if not (np.isfinite(U_new).all() and np.isfinite(L_new).all()):
            break
        done = np.allclose(U_new, U, rtol=1e-9, atol=1e-12) and np.allclose(L_new, L, rtol=1e-9, atol=1e-12)
        U, L = U_new, L_new
        if done:
            break
    U = np.maximum(U * (1.0 + 2.0**-30) + 2.0**-40, c_init[1])
    L = np.minimum(L * (1.0 + 2.0**-30) - 2.0**-40, c_init[0])
    return L, U


def kleene(step: Stepper, a_init: Pair, c_init: Pair, max_iter: int, cap: BoxPair | None = None) -> tuple[BoxPair | None, str]:
    """Candidate 2: ``B ← hull(B, step(B))`` from the initial state, with widening of the cell
    box after ``_WIDEN_AFTER`` rounds (an end that keeps moving is pushed out by a multiple of
    its last move, the multiple growing by 1.25 each round; ``a`` is only hulled: it cannot
    leave ``[-1, 1]``, and keeping it tight keeps the gates from saturating) until
    ``step(B) ⊆ B`` is verified."""
    box = (a_init, c_init)
    for it in range(max_iter):
        a_new, c_new = step.box(box)
        if inside(a_new, box[0]) and inside(c_new, box[1]):
            return box, f"Kleene iteration with widening from the initial state ({it} rounds)"
        nxt = []
        for j, (old, new) in enumerate(((box[0], a_new), (box[1], c_new))):
            lo, hi = np.minimum(old[0], new[0]), np.maximum(old[1], new[1])
            if j == 1 and it >= _WIDEN_AFTER:  # widen c only (a is bounded by [-1, 1] anyway)
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
                          "closing (a unit whose cell grows step after step)")
    return None, (f"Kleene iteration with widening did not close in {max_iter} rounds (budget exhausted; its last box "
                  f"fails induction by {excess(step, box):.3g} of its width)")


def narrow(step: Stepper, box: BoxPair, a_init: Pair, c_init: Pair, max_iter: int) -> tuple[BoxPair, int]:
    """Verified narrowing: per-unit fixed points of the cell box for the current ``A``, and
    ``B ← hull(step(B), init) ∩ B``; each candidate kept only once ``step(B) ⊆ B`` is verified.
    Returns the box and the number of rounds that improved it."""
    iterations = 0
    for _ in range(max_iter):
        improved, before = False, width(box)
        L, U = cell_fixed_point(step, box[0], c_init, box[1])
        cand = (box[0], (np.maximum(L, box[1][0]), np.minimum(U, box[1][1])))
        if width(cand) < width(box) and verified(step, cand):
            box, improved = cand, True
        a_new, c_new = step.box(box)
        cand = (
            (np.maximum(np.minimum(a_new[0], a_init[0]), box[0][0]), np.minimum(np.maximum(a_new[1], a_init[1]), box[0][1])),
            (np.maximum(np.minimum(c_new[0], c_init[0]), box[1][0]), np.minimum(np.maximum(c_new[1], c_init[1]), box[1][1])),
        )
        if width(cand) < width(box) and verified(step, cand):
            box, improved = cand, True
        if not improved:
            break
        iterations += 1
        if width(box) > (1.0 - _MIN_GAIN) * before:
            break
    return box, iterations


def search(step: Stepper, a_init: Pair, c_init: Pair, max_iter: int) -> tuple[BoxPair | None, str, int, np.ndarray]:
    """The best verified box from the candidates and narrowing (see the module docstring).
    Returns the box (None when none was found), how (or why not), the narrowing rounds and the
    closed form's ``sup Γ_f`` per unit."""
    closed, how_closed, F = closed_form(step, a_init, c_init)
    kl, how_kleene = kleene(step, a_init, c_init, max_iter, cap=closed)
    found = [(b, h) for b, h in ((closed, how_closed), (kl, how_kleene)) if b is not None]
    if not found:
        return None, f"{how_closed}; {how_kleene}", 0, F
    box, how = min(found, key=lambda bh: width(bh[0]))
    box, iterations = narrow(step, box, a_init, c_init, max_iter)
    return box, how, iterations, F
