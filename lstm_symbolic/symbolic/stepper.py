"""The symbolic LSTM step: affine forms through the cell, relaxations from the bounds.

Each signal is carried twice: as an affine form over shared noise symbols (which remembers
that the four gates read the same ``[a, x]``) and as a box (the best sound bounds known). At
each stage the box is the intersection of the form's bounds and the interval image of the
previous boxes, and the relaxations are built on those boxes. A plain interval stepper runs
alongside and the reported bounds are intersected with it, so ``method="symbolic"`` is never
looser than ``method="interval"``.
"""

from __future__ import annotations

import numpy as np

from ..inputs import InputSet, Pair
from ..interval import kernels as K
from ..interval import rounding as R
from .. import lstm as L
from ..lstm import LSTMWeights
from ..relaxations import PRODUCT, SIGMOID, TANH
from . import affine as A
from .affine import AffineForm

#: Default cap on the number of noise symbols carried between steps (order reduction).
MAX_SYMBOLS = 2048


def _meet(a: Pair, b: Pair) -> Pair:
    """Intersection of two sound enclosures of the same quantity (never empty for exact
    values; a float-level crossing can only come from one of them being unsound)."""
    lo, hi = np.maximum(a[0], b[0]), np.minimum(a[1], b[1])
    if (lo > hi).any():  # pragma: no cover - would mean a soundness bug upstream
        raise AssertionError("disjoint enclosures of one signal: a bound is unsound")
    return lo, hi


def _apply1(relax, form: AffineForm, box: Pair, mode: str, symbols: A.Symbols) -> AffineForm:
    """``f(form)`` through the unary relaxation built on ``box``."""
    lin = relax.relax(box[0], box[1], mode)
    return A.combine([(lin.slope, form)], lin.offset, lin.error, symbols)


def _apply1_blocks(relax, parts: list[tuple[AffineForm, Pair]], mode: str, symbols: A.Symbols) -> list[AffineForm]:
    """:func:`_apply1` on several blocks of units with one relaxation call (same results, less
    per-call overhead for small layers)."""
    lo = np.concatenate([box[0] for _, box in parts], axis=-1)
    hi = np.concatenate([box[1] for _, box in parts], axis=-1)
    lin = relax.relax(lo, hi, mode)
    out, start = [], 0
    for form, _ in parts:
        cols = slice(start, start + form.n)
        out.append(A.combine([(lin.slope[:, cols], form)], lin.offset[:, cols], lin.error[:, cols], symbols))
        start += form.n
    return out


def _products(pairs: list[tuple[AffineForm, Pair, AffineForm, Pair]], symbols: A.Symbols) -> AffineForm:
    """``Σ x_i ⊙ y_i`` through the product relaxation on each pair's boxes, as one combine."""
    terms: list[tuple[np.ndarray, AffineForm]] = []
    offset = None
    error = None
    for x, xb, y, yb in pairs:
        lin = PRODUCT.relax(xb[0], xb[1], yb[0], yb[1])
        terms += [(lin.slope_x, x), (lin.slope_y, y)]
        offset = lin.offset if offset is None else offset + lin.offset
        error = lin.error if error is None else R.step_up(error + lin.error)
    if len(pairs) > 1:  # the float sum of the offsets is off by at most u|sum|
        error = R.step_up(error + R.step_up(np.abs(offset) * R.U + R.ETA))
    return A.combine(terms, offset, error, symbols)


class SymbolicStepper:
    """State: affine forms of ``a`` and ``c`` plus their boxes; one LSTM step per call."""

    def __init__(self, w: LSTMWeights, a0: Pair, c0: Pair, mode: str, max_symbols: int = MAX_SYMBOLS) -> None:
        from ..propagate import IntervalStepper

        self.w, self.mode, self.max_symbols = w, mode, max_symbols
        self.symbols = A.Symbols()
        self.a = A.from_box(a0[0], a0[1], self.symbols)
        self.c = A.from_box(c0[0], c0[1], self.symbols)
        self.a_box, self.c_box = (a0[0].copy(), a0[1].copy()), (c0[0].copy(), c0[1].copy())
        self.plain = IntervalStepper(w, a0, c0, mode)

    def _preactivation(self, inputs: InputSet, t: int) -> tuple[AffineForm, Pair]:
        """Form and box of ``W_gates [a; x] + b`` (B, 4 n_a)."""
        w = self.w
        B = self.a.centre.shape[0]
        nb = w.bias_columns.shape[1]
        if inputs.is_box:
            lo, hi = inputs.box(t)
            x_box = (np.broadcast_to(lo, (B, w.n_x)), np.broadcast_to(hi, (B, w.n_x)))
            x = A.from_box(x_box[0], x_box[1], self.symbols)
            form = A.linear(w.W_gates_b, w.absW_gates_b, A.concat([self.a, x]), n_const=nb)
            z_lo = np.concatenate([self.a_box[0], x_box[0]], axis=-1)
            z_hi = np.concatenate([self.a_box[1], x_box[1]], axis=-1)
            box = K.matmul(w.W_gates_b, z_lo, z_hi, w.absW_gates_b, n_const=nb)
        else:
            lo, hi = inputs.linear_bounds(w.W_x, t)
            px_box = (np.broadcast_to(lo, (B, lo.shape[-1])), np.broadcast_to(hi, (B, hi.shape[-1])))
            px = A.from_box(px_box[0], px_box[1], self.symbols)
            pa = A.linear(w.W_a_b, np.abs(w.W_a_b), self.a, n_const=nb)
            ones = np.ones_like(pa.centre)
            form = A.combine([(ones, pa), (ones, px)], np.zeros_like(pa.centre), None)
            box = K.add_outward(*K.matmul(w.W_a_b, *self.a_box, n_const=nb), *px_box)
        return form, _meet(form.bounds(), box)

    def step(self, inputs: InputSet, t: int) -> dict[str, Pair]:
        w, mode, n = self.w, self.mode, self.w.n_a
        pre, pre_box = self._preactivation(inputs, t)
        rows = {g: slice(i * n, (i + 1) * n) for i, g in enumerate(("f", "u", "c", "o"))}
        part = {g: (pre[rows[g]], (pre_box[0][:, rows[g]], pre_box[1][:, rows[g]])) for g in rows}

        # Γ_f, Γ_u, Γ_o = σ(W z + b);  c̃ = tanh(W_c z + b_c)
        sym = self.symbols
        gate_forget, gate_update, gate_output = _apply1_blocks(SIGMOID, [part[g] for g in "fuo"], mode, sym)
        c_tilde = _apply1(TANH, *part["c"], mode, sym)
        f_box, u_box, o_box = (SIGMOID.bounds(*part[g][1], mode) for g in "fuo")
        ct_box = TANH.bounds(*part["c"][1], mode)

        # c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
        cell = _products([(gate_forget, f_box, self.c, self.c_box), (gate_update, u_box, c_tilde, ct_box)], sym)
        c_box = _meet(cell.bounds(), K.gated_sum(f_box, self.c_box, u_box, ct_box))

        # a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
        tanh_c = _apply1(TANH, cell, c_box, mode, sym)
        tc_box = TANH.bounds(*c_box, mode)
        a = _products([(gate_output, o_box, tanh_c, tc_box)], sym)
        a_box = _meet(a.bounds(), K.mul_nonneg(*o_box, *tc_box))

        plain = self.plain.step(inputs, t)
        out = {
            "f": _meet(f_box, plain["f"]),
            "u": _meet(u_box, plain["u"]),
            "o": _meet(o_box, plain["o"]),
            "c_tilde": _meet(ct_box, plain["c_tilde"]),
            "c": _meet(c_box, plain["c"]),
            "a": _meet(a_box, plain["a"]),
        }
        if w.W_y is not None:
            out["y"] = _meet(self._output(a, out["a"]), plain["y"])
        (self.a, self.c), self.symbols = A.reduce([a, cell], self.max_symbols)
        self.a_box, self.c_box = out["a"], out["c"]
        return out

    def _output(self, a: AffineForm, a_box: Pair) -> Pair:
        """Bounds of ``y = softmax(W_y a + b_y)`` through difference rows applied to the form."""
        w = self.w
        if w.n_y > L.SOFTMAX_PAIRWISE_MAX:  # large vocabulary: from the logits' bounds (O(n_y))
            z = A.linear(w.W_y_b, np.abs(w.W_y_b), a, n_const=1)
            return K.softmax_from_logits(*z.bounds(), self.mode)
        D_hi, D_lo, (bd_lo, bd_hi) = w.softmax_rows
        lo, hi = K.add_outward(*A.linear_split(D_hi, D_lo, a).bounds(), bd_lo, bd_hi)
        shape = lo.shape[:-1] + (w.n_y, w.n_y)
        return K.softmax_from_differences(lo.reshape(shape), hi.reshape(shape), self.mode)

    def margins(self, labels: np.ndarray) -> np.ndarray:
        """Lower bounds of ``z_label − z_j`` (B, n_y) for the current ``a`` form: the exact
        difference rows applied to the form (so the correlation between ``z_label`` and
        ``z_j`` is kept), intersected with the interval margins. ``+inf`` at ``j = label``."""
        out = self.plain.margins(labels)
        for label in np.unique(labels):
            rows = labels == label
            D_hi, D_lo, b_lo = self.w.margin_rows(int(label))
            a = AffineForm(self.a.centre[rows], self.a.G[rows], self.a.box[rows])
            lo = R.step_down(A.linear_split(D_hi, D_lo, a).bounds()[0] + b_lo)
            out[rows] = np.maximum(out[rows], lo)
        out[np.arange(labels.shape[0]), labels] = np.inf
        return out
