"""Forward affine forms (zonotopes) through the cell algebra — the engine behind
``method="symbolic"`` (which runs it in lockstep with the interval engine, :mod:`.product`).

Every value is an affine form over shared noise symbols (:mod:`lstm_symbolic.symbolic.affine`)
plus sound bounds ``(lo, hi)``: the form remembers that the four gates read the same
``[a, x]``, the bounds are what relaxations are built on (they may have been tightened by
another engine). Operations:

- ``linear``: ``W [forms] + b`` exactly as affine forms (the bias as inputs fixed at 1), every
  rounding in the box term;
- ``sigmoid``, ``tanh``: the S-shaped relaxation ``f(x) ∈ λx + μ ± δ`` on the bounds, ``δ`` a
  fresh symbol per unit (:mod:`lstm_symbolic.relaxations`);
- ``gate``: the centred product plane ``g·v ∈ v_m g + g_m v − g_m v_m ± r_g r_v``; its error is
  kept *pending* so that the cell's sum ``Γ_f ⊙ c + Γ_u ⊙ c̃`` gives it one symbol per unit,
  not two;
- ``add``: exact; ``mix``: ``(1 − z) n + z h`` as two gate products.

**End of a step.** The rounding term of each carried form (the box ``ν``, which would
otherwise go through ``|W|`` every step and grow like the interval method) is turned into
fresh symbols — sound by the same argument as order reduction: ``|ν| <= box`` per unit is the
statement ``ν = box·ε`` for some ``ε ∈ [−1, 1]`` — and then the symbols are reduced to at most
``max_symbols`` (Girard's order reduction, :func:`~lstm_symbolic.symbolic.affine.reduce`).

**Overflow.** Pre-activations of finite inputs can overflow float64 (``W_x = 2``,
``x = 1e308``). Units whose form or bounds are not finite are relaxed with slope 0 (the
monotone image of their bounds, as the interval method does), and their form rows are zeroed
before anything multiplies them: no NaN, no crash, still sound.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..cells.affine import Affine
from ..inputs import InputSet
from ..interval import kernels as K
from ..interval import rounding as R
from ..relaxations import PRODUCT, SIGMOID, TANH
from ..symbolic import affine as A
from ..symbolic.affine import AffineForm
from .base import Engine, Pair, SetInput, TokenInput, input_value
from . import interval as _interval

__all__ = ["ZonotopeEngine", "SV", "MAX_SYMBOLS"]

#: Default cap on the number of noise symbols carried between steps (order reduction), for
#: models whose carried state has at most MAX_SYMBOLS / SYMBOLS_PER_STATE_UNIT units; larger
#: states get SYMBOLS_PER_STATE_UNIT symbols per unit, up to LARGE_MAX_SYMBOLS.
#: Measured (n_x 32, n_a 256, PyTorch init, eps 0.01, T 100; benchmarks/long_horizon.py): 2048
#: symbols explode past t ≈ 75, 4096 stay at 1.36x the attack's range, 8192 at 1.14x.
MAX_SYMBOLS = 2048
SYMBOLS_PER_STATE_UNIT = 16
LARGE_MAX_SYMBOLS = 8192


def default_symbols(model: Any) -> int:
    """The symbol budget for ``model``: ``clip(16 × units of carried state, 2048, 8192)``
    (:data:`MAX_SYMBOLS`, :data:`SYMBOLS_PER_STATE_UNIT`, :data:`LARGE_MAX_SYMBOLS`)."""
    units = sum(len(c.state) * c.n_hidden for layer in model.layers for c in (layer.cell, layer.reverse) if c is not None)
    return int(min(max(MAX_SYMBOLS, SYMBOLS_PER_STATE_UNIT * units), max(LARGE_MAX_SYMBOLS, MAX_SYMBOLS)))


class SV:
    """A value: ``form`` (AffineForm, (B, n)), sound bounds ``lo``, ``hi`` (B, n), and
    ``err`` — an error magnitude (B, n) not yet given its symbol (a pending product error), or
    None."""

    __slots__ = ("form", "lo", "hi", "err")

    def __init__(self, form: AffineForm, lo: np.ndarray, hi: np.ndarray, err: np.ndarray | None = None) -> None:
        self.form, self.lo, self.hi, self.err = form, lo, hi, err


def _quiet(fn: Any) -> Any:
    """Run ``fn`` with float overflow and invalid operations silent: they only arise from
    overflowing (finite but huge) inputs, whose units become non-finite and are handled as
    described in the module docstring."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def _finite_rows(form: AffineForm) -> np.ndarray:
    """Units (B, n) whose centre, box and every coefficient are finite."""
    ok = np.isfinite(form.centre) & np.isfinite(form.box)
    if form.k:
        ok &= np.isfinite(form.abs_sum())  # Σ|G| finite iff every coefficient is
    return ok


def _zero_rows(form: AffineForm, bad: np.ndarray) -> AffineForm:
    """The form with the units ``bad`` (B, n) set to exactly 0 (callers give them slope 0)."""
    return AffineForm(np.where(bad, 0.0, form.centre), np.where(bad[..., None], 0.0, form.G), np.where(bad, 0.0, form.box))


class ZonotopeEngine(Engine):
    """Affine forms over shared noise symbols (see the module docstring)."""

    name = "zonotope"
    persistent = False  # symbols are renumbered at every end_step

    def __init__(self, model: Any, batch: int, mode: str = "fast", max_symbols: int | None = None) -> None:
        super().__init__(model, batch, mode)
        if max_symbols is not None and (isinstance(max_symbols, bool) or not isinstance(max_symbols, (int, np.integer)) or max_symbols < 1):
            from ..errors import InputError

            raise InputError("max_symbols", "a positive integer", got=max_symbols)
        self.max_symbols = int(max_symbols or default_symbols(model))
        self.symbols = A.Symbols()

    # --- values --------------------------------------------------------------------------
    def _value(self, form: AffineForm, bound: Pair | None = None, err: np.ndarray | None = None) -> SV:
        lo, hi = form.bounds()
        if err is not None:
            lo, hi = R.step_down(lo - err), R.step_up(hi + err)
        bad = ~_finite_rows(form)
        if err is not None:
            bad |= ~np.isfinite(err)
        if bad.any():
            lo, hi = np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)
        lo, hi = np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi)
        if bound is not None:
            lo, hi = K.within((lo, hi), bound)
        return SV(form, lo, hi, err)

    def _box_form(self, lo: np.ndarray, hi: np.ndarray) -> AffineForm:
        n = lo.shape[-1]
        return A.from_box(np.broadcast_to(lo, (self.B, n)), np.broadcast_to(hi, (self.B, n)), self.symbols)

    def initial(self, lo: np.ndarray, hi: np.ndarray) -> SV:
        return self._value(self._box_form(lo, hi))

    def input(self, x_set: InputSet, t: int) -> Any:
        x = input_value(x_set, t, self.model.embedding)
        if isinstance(x, tuple):
            v = self._value(self._box_form(*x))
            if self.model.embedding is not None:
                E = self.model.embedding
                v = self.linear(Affine(E.T, None, [E.shape[0]]), [v])
            return v
        return x

    def bounds(self, v: SV) -> Pair:
        return v.lo, v.hi

    def refine(self, v: SV, lo: Any, hi: Any) -> None:
        v.lo, v.hi = K.within((v.lo, v.hi), (np.broadcast_to(lo, v.lo.shape), np.broadcast_to(hi, v.hi.shape)))

    def _settled(self, v: SV) -> AffineForm:
        """The form with its pending error given fresh symbols, and any unusable (non-finite)
        units replaced by a fresh-symbol form of their bounds when those are finite, or zeroed
        (their consumers then use the bounds alone)."""
        form = v.form
        if v.err is not None:
            form = A.add_symbols(form, np.where(np.isfinite(v.err), v.err, 0.0), self.symbols)
            v.form, v.err = form, None
        bad = ~_finite_rows(form)
        if bad.any():
            form = _zero_rows(form, bad)
            finite = bad & np.isfinite(v.lo) & np.isfinite(v.hi)
            if finite.any():
                m, r = K.midrad(np.where(finite, v.lo, 0.0), np.where(finite, v.hi, 0.0))
                form = AffineForm(np.where(finite, m, form.centre), form.G, form.box)
                form = A.add_symbols(form, np.where(finite, r, 0.0), self.symbols)
            v.form = form
        return form

    # --- the algebra ---------------------------------------------------------------------
    @_quiet
    def linear(self, affine: Affine, parts: Sequence[Any]) -> SV:
        special = [i for i, p in enumerate(parts) if not isinstance(p, SV)]
        if not special:
            forms = [self._settled(p) for p in parts]
            x = forms[0] if len(forms) == 1 else A.concat(forms)
            return self._value(A.linear(affine.W_b, affine.absW_b, x, n_const=affine.n_const))
        if len(special) > 1:
            raise AssertionError("zonotope: at most one token or set input per affine map")
        i = special[0]
        x = parts[i]
        rest = [self._settled(p) for j, p in enumerate(parts) if j != i]
        r_aff = affine.without(i)
        if rest:
            base = A.linear(r_aff.W_b, r_aff.absW_b, rest[0] if len(rest) == 1 else A.concat(rest), n_const=r_aff.n_const)
        else:
            m, r = K.midrad(*r_aff.bias_bounds)
            base = AffineForm(np.broadcast_to(m, (self.B, r_aff.m)).copy(), np.zeros((self.B, r_aff.m, 0)), np.broadcast_to(r, (self.B, r_aff.m)).copy())
        block = affine.block(i)
        if isinstance(x, TokenInput):
            cols = x.columns(block)
            if cols is None:
                P = x.points.T
                lo, hi = K.matmul(block, P, P)
                c_lo, c_hi = lo.min(axis=0), hi.max(axis=0)
            else:
                c_lo, c_hi = cols.min(axis=1), cols.max(axis=1)
        else:
            assert isinstance(x, SetInput)
            c_lo, c_hi = x.x_set.linear_bounds(block, x.t)
        contribution = self._box_form(c_lo, c_hi)
        ones = np.ones_like(base.centre)
        return self._value(A.combine([(ones, base), (ones, contribution)], np.zeros_like(base.centre), None))

    def split(self, v: SV, sizes: Sequence[int]) -> list[SV]:
        out, start = [], 0
        for n in sizes:
            cols = slice(start, start + n)
            err = None if v.err is None else v.err[:, cols]
            out.append(SV(v.form[cols], v.lo[:, cols], v.hi[:, cols], err))
            start += n
        return out

    @_quiet
    def concat(self, vs: Sequence[SV]) -> SV:
        forms = [self._settled(v) for v in vs]
        return SV(A.concat(forms), np.concatenate([v.lo for v in vs], axis=-1), np.concatenate([v.hi for v in vs], axis=-1))

    @_quiet
    def _unary(self, relax: Any, v: SV) -> SV:
        form = self._settled(v)
        finite = np.isfinite(v.lo) & np.isfinite(v.hi)
        image = relax.bounds(v.lo, v.hi, self.mode)
        if finite.all():
            lin = relax.relax(v.lo, v.hi, self.mode)
            slope, offset, error = lin.slope, lin.offset, lin.error
        else:  # overflowed units: slope 0, the monotone image of their bounds
            lin = relax.relax(np.where(finite, v.lo, 0.0), np.where(finite, v.hi, 0.0), self.mode)
            m, r = K.midrad(*image)
            slope = np.where(finite, lin.slope, 0.0)
            offset, error = np.where(finite, lin.offset, m), np.where(finite, lin.error, r)
            form = _zero_rows(form, ~finite)
        return self._value(A.combine([(slope, form)], offset, error, self.symbols), image)

    def sigmoid(self, v: SV) -> SV:
        return self._unary(SIGMOID, v)

    def tanh(self, v: SV) -> SV:
        return self._unary(TANH, v)

    @_quiet
    def gate(self, g: SV, v: SV) -> SV:
        gf, vf = self._settled(g), self._settled(v)
        lin = PRODUCT.relax(g.lo, g.hi, v.lo, v.hi)
        form = A.combine([(lin.slope_x, gf), (lin.slope_y, vf)], lin.offset, None)
        lo, hi = K.mul_nonneg(g.lo, g.hi, v.lo, v.hi)
        bound = (np.maximum(lo, np.minimum(v.lo, 0.0)), np.minimum(hi, np.maximum(v.hi, 0.0)))
        return self._value(form, bound, err=lin.error)

    @_quiet
    def add(self, v: SV, w: SV) -> SV:
        ones = np.ones_like(v.lo)
        form = A.combine([(ones, v.form), (ones, w.form)], np.zeros_like(v.lo), None)
        errs = [e for e in (v.err, w.err) if e is not None]
        err = None if not errs else (errs[0] if len(errs) == 1 else R.step_up(errs[0] + errs[1]))
        bound = K.add_outward(v.lo, v.hi, w.lo, w.hi)
        return self._value(form, bound, err)

    def mix(self, z: SV, n: SV, h: SV) -> SV:
        zf = self._settled(z)
        one_minus = A.combine([(-np.ones_like(z.lo), zf)], np.ones_like(z.lo), None)
        keep = self._value(one_minus, (R.step_down(1.0 - z.hi), R.step_up(1.0 - z.lo)))
        return self.add(self.gate(keep, n), self.gate(z, h))

    # --- outputs and the end of a step ---------------------------------------------------
    @_quiet
    def softmax(self, head: Any, a: SV, final: bool = False) -> Pair:
        """``y = softmax(W_y a + b_y)`` through the difference rows applied to the form (the
        correlation between ``z_j`` and ``z_k`` is kept), or from the logits' bounds for more
        than :data:`~.interval.SOFTMAX_PAIRWISE_MAX` classes."""
        form = self._settled(a)
        if head.n_y > _interval.SOFTMAX_PAIRWISE_MAX:
            z = A.linear(head.logits.W_b, head.logits.absW_b, form, n_const=1)
            return K.softmax_from_logits(*z.bounds(), self.mode)
        D_hi, D_lo, (bd_lo, bd_hi) = head.softmax_rows
        lo, hi = K.add_outward(*A.linear_split(D_hi, D_lo, form).bounds(), bd_lo, bd_hi)
        shape = lo.shape[:-1] + (head.n_y, head.n_y)
        return K.softmax_from_differences(lo.reshape(shape), hi.reshape(shape), self.mode)

    @_quiet
    def margins(self, head: Any, a: SV, labels: np.ndarray) -> np.ndarray:
        """Lower bounds of ``z_label − z_j`` (B, n_y): the exact difference rows applied to the
        form. ``+inf`` at ``j = label``."""
        form = self._settled(a)
        out = np.empty((labels.shape[0], head.n_y))
        for label in np.unique(labels):
            rows = labels == label
            D_hi, D_lo, b_lo = head.margin_rows(int(label))
            sub = AffineForm(form.centre[rows], form.G[rows], form.box[rows])
            out[rows] = R.step_down(A.linear_split(D_hi, D_lo, sub).bounds()[0] + b_lo)
        out[np.arange(labels.shape[0]), labels] = np.inf
        return np.where(np.isnan(out), -np.inf, out)

    @_quiet
    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [(i, k) for i, s in enumerate(states) for k in s]
        forms = []
        for i, k in names:
            form = self._settled(states[i][k])
            forms.append(A.add_symbols(AffineForm(form.centre, form.G, np.zeros_like(form.box)), form.box, self.symbols))
        reduced, self.symbols = A.reduce(forms, self.max_symbols)
        out: list[dict[str, Any]] = [dict() for _ in states]
        for (i, k), form in zip(names, reduced):
            v = states[i][k]
            out[i][k] = SV(form, v.lo, v.hi)
        return out

    @staticmethod
    def memory_per_sample(model: Any, max_symbols: int | None) -> int:
        """Bytes of dense generator matrices per batch entry (the largest products of a step)."""
        k = int(max_symbols or default_symbols(model))
        n_a = max(layer.cell.n_hidden for layer in model.layers)
        n_x = model.layers[0].n_in
        n_y = model.n_y or 0
        rows_y = n_y**2 if n_y <= _interval.SOFTMAX_PAIRWISE_MAX else n_y
        return 8 * (k + 8 * n_a + n_x) * max(4 * n_a, rows_y, 1)
