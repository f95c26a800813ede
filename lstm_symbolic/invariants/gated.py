"""The output-gate template: invariants of the form ``a = o ⊙ tanh(c)`` with ``c ∈ C``, ``o ∈ O``.

After its first step an LSTM's state is never an arbitrary pair ``(a, c)``: ``a⟨t⟩ = Γ_o⟨t⟩ ⊙
tanh(c⟨t⟩)``. A box ``A × C`` forgets that — it lets ``a_i`` be negative while ``c_i`` sits at
the top of ``C_i`` — and the forgotten pairs are often exactly the ones that would push the cell
further. The template here keeps it::

    T(C, O) = { (o ⊙ tanh(c), c) : c ∈ C, o ∈ O }      (C, O boxes, O ⊆ [0, 1])

**Claim.** If (i) the first step from the initial box lands in ``T`` — ``c⟨1⟩ ∈ C`` and
``Γ_o⟨1⟩ ∈ O`` for every initial state and input — and (ii) for every ``(c, o) ∈ C × O`` and
``x ∈ X`` the step from ``(o ⊙ tanh(c), c)`` has ``c⁺ ∈ C`` and ``Γ_o⁺ ∈ O``, then for every
t ≥ 1, ``c⟨t⟩ ∈ C`` and ``Γ_o⟨t⟩ ∈ O``, hence ``a⟨t⟩ ∈ O ⊙ tanh(C)``. (Induction: the state at
step t is ``(Γ_o⟨t⟩ ⊙ tanh(c⟨t⟩), c⟨t⟩)`` with ``(c⟨t⟩, Γ_o⟨t⟩) ∈ C × O``, so (ii) applies.)
The box read off at the end is the hull of the initial box and ``O ⊙ tanh(C) × C``.

**The step of the template** (:func:`template_step`) is one sound step of the method's engine
from the values ``c = C`` and ``a = o ⊙ tanh(c)`` built with the engine's own operations (so
an affine-form engine keeps ``a_i`` tied to ``c_i``). It is run on pieces: for each unit ``i``
``C_i`` is cut into ``slabs`` equal parts with every other unit whole; unit ``i``'s bounds of
``c⁺`` and ``Γ_o⁺`` are the hull over its own pieces (which cover ``C × O``), so a piece's
relaxations see a narrow ``c_i`` — the one that multiplies ``Γ_f`` — and ``a_i`` of one sign
at the top and bottom of ``C_i``. All ``n · slabs`` pieces go through one batched step.
"""

from __future__ import annotations

import numpy as np

from .. import methods as M
from ..interval import kernels as K
from ..propagate import one_step
from .box import BoxPair, Pair, Stepper

__all__ = ["template_step", "first_step", "search", "read_off"]

_WIDEN_AFTER = 15
_GIVE_UP = 1e12


def template_step(step: Stepper, C: Pair, O: Pair, slabs: int) -> tuple[Pair, Pair]:
    """Sound bounds ``(c⁺, o⁺)`` ((lo, hi) arrays (n,)) of the step from ``T(C, O)`` (see the
    module docstring)."""
    w, n = step.w, step.w.n_a
    k = max(int(slabs), 1)
    P = n * k
    lo = np.broadcast_to(C[0], (P, n)).copy()
    hi = np.broadcast_to(C[1], (P, n)).copy()
    unit = np.repeat(np.arange(n), k)
    part = np.tile(np.arange(k), n)
    edges_lo = C[0][unit] + (C[1][unit] - C[0][unit]) * (part / k)
    edges_hi = C[0][unit] + (C[1][unit] - C[0][unit]) * ((part + 1) / k)
    edges_lo = np.where(part == 0, C[0][unit], np.clip(edges_lo, C[0][unit], C[1][unit]))
    edges_hi = np.where(part == k - 1, C[1][unit], np.clip(edges_hi, C[0][unit], C[1][unit]))
    # consecutive slabs share their float edge, so they cover C_i
    edges_lo[1:] = np.where(part[1:] > 0, edges_hi[:-1], edges_lo[1:])
    rows = np.arange(P)
    lo[rows, unit], hi[rows, unit] = edges_lo, edges_hi
    model = w.to_model()
    cell = model.layers[0].cell
    engine = M.make(step.method, model, P, step.mode)
    c_val = engine.initial(lo, hi)
    o_val = engine.initial(np.broadcast_to(O[0], (P, n)).copy(), np.broadcast_to(O[1], (P, n)).copy())
    a_val = engine.gate(o_val, engine.tanh(c_val))
    engine.refine(a_val, -1.0, 1.0)
    sig = cell.step(engine, engine.input(step.inputs, 0), {"a": a_val, "c": c_val})
    for name, (l, h) in cell.a_priori(1, {"a": engine.bounds(a_val), "c": (lo, hi)}).items():
        if name in sig:
            engine.refine(sig[name], l, h)
    step.calls += 1
    c_lo, c_hi = engine.bounds(sig["c"])
    o_lo, o_hi = engine.bounds(sig["o"])
    own = lambda v, red: red(v[rows, unit].reshape(n, k), axis=1)  # noqa: E731  unit i from its pieces
    return (own(c_lo, np.min), own(c_hi, np.max)), (own(o_lo, np.min), own(o_hi, np.max))


def first_step(step: Stepper, a_init: Pair, c_init: Pair) -> tuple[Pair, Pair]:
    """Bounds of ``c⟨1⟩`` and ``Γ_o⟨1⟩`` over the initial box (one sound step)."""
    out = one_step(step.w, step.inputs, {"a": (a_init[0][None], a_init[1][None]), "c": (c_init[0][None], c_init[1][None])},
                   step.method, step.mode)
    return (out["c"][0][0], out["c"][1][0]), (out["o"][0][0], out["o"][1][0])


def _inside(inner: Pair, outer: Pair) -> bool:
    return bool(np.all(outer[0] <= inner[0]) and np.all(inner[1] <= outer[1]))


def verified(step: Stepper, C: Pair, O: Pair, slabs: int, first: tuple[Pair, Pair]) -> bool:
    """The proof obligation of the module docstring: (i) and (ii)."""
    if not (_inside(first[0], C) and _inside(first[1], O)):
        return False
    c_new, o_new = template_step(step, C, O, slabs)
    return _inside(c_new, C) and _inside(o_new, O)


def read_off(C: Pair, O: Pair, a_init: Pair, c_init: Pair, mode: str) -> BoxPair:
    """The box of every state at every t ≥ 0: the hull of the initial box and
    ``O ⊙ tanh(C) × C``."""
    t_lo, t_hi = K.tanh(C[0], C[1], mode)
    a_lo, a_hi = K.mul_nonneg(O[0], O[1], t_lo, t_hi)
    return ((np.minimum(a_lo, a_init[0]), np.maximum(a_hi, a_init[1])), (np.minimum(C[0], c_init[0]), np.maximum(C[1], c_init[1])))


def _inflate(C: Pair, O: Pair, by: float) -> tuple[Pair, Pair]:
    r = (C[1] - C[0]) * by + 1e-12
    ro = (O[1] - O[0]) * by + 1e-12
    return (C[0] - r, C[1] + r), (np.maximum(O[0] - ro, 0.0), np.minimum(O[1] + ro, 1.0))


def search(step: Stepper, a_init: Pair, c_init: Pair, cap: BoxPair | None, slabs: int, max_iter: int) -> tuple[tuple[Pair, Pair] | None, str]:
    """Kleene iteration on ``(C, O)`` from the first step's image; once it slows down
    (relative growth below ``1e-3`` a round) the iterate is inflated by 1%, 4%, 16% of its
    width and tried; after ``_WIDEN_AFTER`` rounds ``C`` is widened. ``C`` is capped by the box
    invariant's cell box ``cap`` when given (a candidate only: the result is verified). Then
    verified narrowing. Returns ``(C, O)`` or None, and how."""
    first = first_step(step, a_init, c_init)
    C, O = first
    found = None
    for it in range(max_iter):
        c_new, o_new = template_step(step, C, O, slabs)
        if _inside(c_new, C) and _inside(o_new, O):
            found = (C, O)
            break
        lo, hi = np.minimum(C[0], c_new[0]), np.maximum(C[1], c_new[1])
        O_next = (np.maximum(np.minimum(O[0], o_new[0]), 0.0), np.minimum(np.maximum(O[1], o_new[1]), 1.0))
        growth = float(np.sum(hi - lo) - np.sum(C[1] - C[0])) / max(float(np.sum(C[1] - C[0])), 1e-300)
        if growth < 1e-3:
            for by in (0.01, 0.04, 0.16):
                cand = _inflate((lo, hi), O_next, by)
                if cap is not None:
                    cand = ((np.maximum(cand[0][0], cap[1][0]), np.minimum(cand[0][1], cap[1][1])), cand[1])
                if verified(step, cand[0], cand[1], slabs, first):
                    found = cand
                    break
            if found is not None:
                break
        if it >= _WIDEN_AFTER:
            factor = 1.25 ** (it - _WIDEN_AFTER)
            with np.errstate(over="ignore"):
                lo = lo - np.where(C[0] > lo, (C[0] - lo) * factor, 0.0)
                hi = hi + np.where(hi > C[1], (hi - C[1]) * factor, 0.0)
        if cap is not None:
            lo, hi = np.maximum(lo, cap[1][0]), np.minimum(hi, cap[1][1])
        C, O = (lo, hi), O_next
        if not (np.isfinite(C[0]).all() and np.isfinite(C[1]).all()) or float(np.max(np.abs(C))) > _GIVE_UP:
            return None, "output-gate template: the cell box kept growing"
    if found is None:
        return None, f"output-gate template: Kleene iteration did not close in {max_iter} rounds"
    C, O = found
    if not verified(step, C, O, slabs, first):
        return None, "output-gate template: the candidate failed its inclusion check"
    rounds = 0
    for _ in range(max_iter):  # narrowing, each candidate verified
        c_new, o_new = template_step(step, C, O, slabs)
        cand_C = (np.maximum(np.minimum(c_new[0], first[0][0]), C[0]), np.minimum(np.maximum(c_new[1], first[0][1]), C[1]))
        cand_O = (np.maximum(np.minimum(o_new[0], first[1][0]), O[0]), np.minimum(np.maximum(o_new[1], first[1][1]), O[1]))
        gain = float(np.sum(C[1] - C[0]) - np.sum(cand_C[1] - cand_C[0]))
        if gain <= 1e-3 * float(np.sum(C[1] - C[0])) or not verified(step, cand_C, cand_O, slabs, first):
            break
        C, O, rounds = cand_C, cand_O, rounds + 1
    return (C, O), f"output-gate template a = o ⊙ tanh(c) ({it + 1} Kleene rounds, {rounds} verified narrowing steps, {slabs} slabs per unit)"
