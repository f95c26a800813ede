"""Affine forms (zonotopes) over shared noise symbols, with every float rounding accounted for.

A form of shape (B, n) stands for the set::

    { centre + G ε + ν  :  ε ∈ [−1, 1]^k shared by all forms,  |ν| <= box elementwise }

``centre`` (B, n), ``G`` (B, n, k) and ``box`` (B, n) ≥ 0 are float64. Symbols are columns of
``G``; a form with fewer columns than another has zeros in the missing ones (symbols are only
ever appended). ``box`` collects what has no symbol: the rounding errors of the float
operations, which the operations below bound and add with the derivations stated.

Operations: :func:`linear` (a float matrix, the bias folded in as constant columns),
:func:`combine` (elementwise linear combination ``Σ λ_i x_i + μ`` with a fresh symbol per
neuron for an extra error term), :func:`concat`, :meth:`AffineForm.bounds`, :func:`reduce`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..interval import rounding as R

Pair = tuple[np.ndarray, np.ndarray]

@dataclass(eq=False)
class AffineForm:
    """``centre + G ε + [−box, box]``; shapes (B, n), (B, n, k), (B, n). Arrays are not
    modified after construction (the upper bound of ``Σ_j |G_ij|`` is cached)."""

    centre: np.ndarray
    G: np.ndarray
    box: np.ndarray
    _abs: np.ndarray | None = field(default=None, init=False, repr=False)

    def abs_sum(self) -> np.ndarray:
        """Upper bound of ``Σ_j |G_ij|`` (B, n), computed once."""
        if self._abs is None:
            self._abs = R.abs_sum_up(self.G)
        return self._abs

    @property
    def k(self) -> int:
        return self.G.shape[-1]

    @property
    def n(self) -> int:
        return self.centre.shape[-1]

    def radius(self) -> np.ndarray:
        """Upper bound of ``Σ|G| + box`` (B, n)."""
        return R.step_up(self.abs_sum() + self.box)

    def bounds(self) -> Pair:
        """Sound interval bounds of the form, (B, n) each."""
        r = self.radius()
        return R.step_down(self.centre - r), R.step_up(self.centre + r)

    def padded(self, k: int) -> np.ndarray:
        """``G`` with zero columns appended up to ``k`` symbols."""
        if self.k == k:
            return self.G
        if self.k > k:
            raise ValueError("padded: cannot shrink")
        pad = np.zeros(self.G.shape[:-1] + (k - self.k,))
        return np.concatenate([self.G, pad], axis=-1)

    def __getitem__(self, cols: slice) -> "AffineForm":
        """Units ``cols`` (a slice of the last axis of centre)."""
        out = AffineForm(self.centre[:, cols], self.G[:, cols, :], self.box[:, cols])
        if self._abs is not None:
            out._abs = self._abs[:, cols]
        return out


def from_box(lo: np.ndarray, hi: np.ndarray, symbols: Symbols) -> AffineForm:
    """A form for the box ``[lo, hi]`` (B, n) with one fresh symbol per unit that has a nonzero
    radius: ``x = m + r ε`` with ``(m, r)`` the midpoint-radius enclosure of the box."""
    from ..interval import kernels as K

    m, r = K.midrad(lo, hi)
    B, n = m.shape
    return add_symbols(AffineForm(m, np.zeros((B, n, 0)), np.zeros((B, n))), r, symbols)


def concat(forms: list[AffineForm]) -> AffineForm:
    """Stack forms along the unit axis (exact)."""
    k = max(f.k for f in forms)
    B = forms[0].centre.shape[0]
    G = np.zeros((B, sum(f.n for f in forms), k))
    start = 0
    for f in forms:
        G[:, start : start + f.n, : f.k] = f.G
        start += f.n
    return AffineForm(
        np.concatenate([f.centre for f in forms], axis=-1),
        G,
        np.concatenate([f.box for f in forms], axis=-1),
    )


def linear(W: np.ndarray, absW: np.ndarray, x: AffineForm, n_const: int = 0) -> AffineForm:
    """``W x`` (the last ``n_const`` columns of ``W`` multiply an exact 1: the bias).

    Shapes: ``W`` (m, n + n_const), ``x`` (B, n) -> (B, m).

    ``centre' = fl(W [c; 1])``, ``G' = fl(W G)`` and ``box' = R`` of the midpoint–radius proof
    (:func:`.rounding.midrad_product_constants`) applied to the radius
    ``box + alpha (|c| + Σ_j |G_:j|)``: the ``alpha |c|`` part covers the centre's rounding, the
    ``alpha Σ|G|`` part the rounding of every entry of ``W G`` (each dot product of length n is
    within ``gamma_n |W||G|`` of exact, summed over symbols), and ``box`` is carried through
    ``|W|``. Underflow of the k·m entries of ``W G`` adds ``n k eta`` per unit.
    """
    n = x.n
    alpha, scale, k_eta = R.midrad_product_constants(n + n_const)
    c = x.centre
    t = x.abs_sum().copy()
    t += np.abs(c)
    t *= alpha
    t += x.box
    t *= scale
    G = x.G
    if n_const:
        ones = np.ones(c.shape[:-1] + (n_const,))
        c = np.concatenate([c, ones], axis=-1)
        t = np.concatenate([t, ones * (alpha * scale)], axis=-1)  # centre's rounding on the bias
        W_n = W[:, :n]
    else:
        W_n = W
    centre = c @ W.T
    Gp = np.matmul(W_n, G)
    box = t @ absW.T
    box += (k_eta + 2.0 * n * x.k) * R.ETA
    return AffineForm(centre, Gp, box)


class Symbols:
    """The count of noise symbols in use. Fresh symbols are always taken from here, never from
    a form's own width: two independent error terms must never share an index (that would
    claim they are equal, which is unsound)."""

    def __init__(self, count: int = 0) -> None:
        self.count = count

    def take(self, n: int) -> int:
        """Reserve ``n`` fresh symbols; returns the index of the first."""
        start = self.count
        self.count += n
        return start


def linear_split(D_hi: np.ndarray, D_lo: np.ndarray, x: AffineForm) -> AffineForm:
    """``(D_hi + D_lo) x`` for an exact matrix split into two floats (the difference rows of
    softmax and margins): ``D_hi x`` through :func:`linear`, and the tiny ``D_lo x`` (``|D_lo|``
    is about 2^-53 of ``|D_hi|``) added to the box as ``|D_lo| (|c| + Σ|G| + box)`` rounded up —
    the same bound, one mat-vec instead of a second product with all the symbols."""
    out = linear(D_hi, np.abs(D_hi), x)
    if D_lo.any():
        mag = R.nonneg_up(np.abs(x.centre) + x.abs_sum() + x.box, 2.0)
        n = D_lo.shape[1]
        extra = R.nonneg_up((mag @ np.abs(D_lo).T) * (1.0 + 2.0 * R.gamma(n + 2)), 2.0 * n)  # Higham: depth n
        out = AffineForm(out.centre, out.G, R.nonneg_up(out.box + extra, 1.0))
    return out


def combine(
    terms: list[tuple[np.ndarray, AffineForm]],
    offset: np.ndarray,
    error: np.ndarray | None,
    symbols: Symbols | None = None,
) -> AffineForm:
    """``Σ_i λ_i ⊙ x_i + μ`` plus, if ``error`` is given, a fresh symbol per unit (taken from
    ``symbols``) with coefficient ``error`` (so ``± error`` is represented, correlated wherever
    it flows).

    ``λ_i``, ``μ``, ``error``: (B, n). Let ``m = len(terms)``. The float centre
    ``fl(Σ λ_i c_i + μ)`` takes ``2m`` roundings, so its error is at most
    ``gamma_{2m} (Σ|λ_i c_i| + |μ|)``; each entry of ``fl(Σ λ_i G_i)`` likewise within
    ``gamma_{2m} Σ|λ_i G_i|``, summed over symbols ``gamma_{2m} Σ_i |λ_i| Σ|G_i|``; the boxes
    carry through as ``Σ|λ_i| box_i``. Underflow: at most ``(m (k + 1) + 1) eta`` per unit.
    ``gamma_{2m} <= 2^-48`` for ``m <= 8``; we use ``2^-47``.
    """
    m = len(terms)
    if m > 8:
        raise ValueError("combine: at most 8 terms")
    k = max(f.k for _, f in terms)
    live = np.zeros(0, dtype=np.int64)
    if error is not None:
        if symbols is None:
            raise ValueError("combine: an error term needs the Symbols counter")
        live = np.flatnonzero((error > 0).any(axis=0))
        if live.size:  # the fresh symbols are numbered after every existing one
            k = max(k, symbols.count)
    centre = offset.copy()
    G = np.zeros(terms[0][1].centre.shape + (k + live.size,))  # room for the fresh symbols
    acc = np.abs(offset) * 2.0**-47
    for lam, f in terms:
        centre += lam * f.centre
        G[..., : f.k] += lam[..., None] * f.G
        alam = np.abs(lam)
        acc += alam * (f.box + 2.0**-47 * (np.abs(f.centre) + f.abs_sum()))
    box = R.nonneg_up(acc, m * (k + 1) + 1)
    if live.size:
        start = symbols.take(live.size)
        if start != k:  # pragma: no cover - symbols are only ever appended
            raise AssertionError("combine: symbol numbering out of step")
        G[:, live, start + np.arange(live.size)] = error[:, live]
    return AffineForm(centre, G, box)


def add_symbols(form: AffineForm, coeff: np.ndarray, symbols: Symbols) -> AffineForm:
    """Append one fresh symbol per unit (only for units where some batch entry has a nonzero
    coefficient), with coefficient ``coeff`` (B, n) ≥ 0; the symbols come from ``symbols``."""
    live = np.flatnonzero((coeff > 0).any(axis=0))
    if live.size == 0:
        return form
    start = symbols.take(live.size)
    G = form.padded(start + live.size)
    G[:, live, start + np.arange(live.size)] = coeff[:, live]
    return AffineForm(form.centre, G, form.box)


def reduce(forms: list[AffineForm], max_symbols: int) -> tuple[list[AffineForm], Symbols]:
    """Order reduction (Girard 2005, "Reachability of uncertain linear systems using
    zonotopes"): keep the ``max_symbols − n_total`` symbols with the largest total weight across
    the given forms; the others' contributions are summed per unit (absolute values, rounded
    up) into one fresh symbol per unit. Sound: a sum of independent ``|g_j| ε_j`` lies in
    ``± Σ|g_j|``; only correlation carried by small symbols is given up.

    Symbols that are zero in every form are dropped, and the survivors renumbered from 0: the
    returned forms are all that is carried to the next step, so nothing else refers to the
    old numbering. Returns the forms and a fresh :class:`Symbols` counter past their symbols.
    """
    k = max(f.k for f in forms)
    Gs = [f.padded(k) for f in forms]
    weight = sum(np.abs(G).sum(axis=(0, 1)) for G in Gs)
    n_total = sum(f.n for f in forms)
    alive = np.flatnonzero(weight > 0)
    if alive.size <= max_symbols:
        return [AffineForm(f.centre, G[..., alive], f.box) for f, G in zip(forms, Gs)], Symbols(alive.size)
    keep_n = max(max_symbols - n_total, 0)
    order = alive[np.argsort(weight[alive])[::-1]]
    keep, drop = np.sort(order[:keep_n]), order[keep_n:]
    symbols = Symbols(keep.size)
    out = []
    for f, G in zip(forms, Gs):
        reduced = AffineForm(f.centre, G[..., keep], f.box)
        out.append(add_symbols(reduced, R.abs_sum_up(G[..., drop]), symbols))
    return out, symbols
