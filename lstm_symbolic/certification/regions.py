"""What ``certify`` is asked about, per sample: the input set, in the forms bounding, attacks and
branch and bound need.

A :class:`Region` is one sample's set of input sequences: ``sets`` (what
:func:`~lstm_symbolic.propagate` takes: one set with a time axis, or one set per step),
``outer`` a float box ``(lo, hi)`` (T, n_x) containing every member (for input splitting),
``inner`` a float box of members only (continuous sets: every float in it is a member
exactly; what attacks search), ``tokens`` the allowed tokens per step (token sets), and
``substitutions`` (a :class:`~lstm_symbolic.inputs.Substitutions` budget) when the set is
"at most k positions changed". :meth:`Region.contains` decides membership of a candidate
counterexample exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .._validate import finite_array
from ..errors import InputError, ShapeError
from ..inputs import Box, ClippedBall, InputSet, LinfBall, OneHot, Substitutions, as_schedule
from ..testing import _into_ball

__all__ = ["Region", "regions_of"]


class Region:
    """One sample's input set (see the module docstring). ``kind``: ``"box"`` (continuous at
    every step), ``"tokens"`` (one-hot at every step), ``"mixed"`` or ``"substitutions"``."""

    def __init__(self, sets: Any, schedule: list, kind: str, n_x: int, substitutions: Substitutions | None = None) -> None:
        self.sets, self.kind, self.n_x, self.substitutions = sets, kind, n_x, substitutions
        self.T = len(schedule)
        self._schedule = schedule
        if kind == "box":
            lo, hi, ilo, ihi = [], [], [], []
            for s, t in schedule:
                a, b = s.box(t)
                lo.append(a)
                hi.append(b)
                i_lo, i_hi = _inner(s, t)
                ilo.append(i_lo)
                ihi.append(i_hi)
            self.outer = (np.stack(lo), np.stack(hi))
            self.inner = (np.stack(ilo), np.stack(ihi))
            self.tokens = None
        else:
            self.outer = self.inner = None
            self.tokens = [s.tokens(t) for s, t in schedule] if kind in ("tokens", "substitutions") else None

    def members(self, limit: int) -> np.ndarray | None:
        """Every member of a token or substitution set as token indices (N, T), or None when
        the set is continuous or has more than ``limit`` members."""
        if self.kind not in ("tokens", "substitutions"):
            return None
        if self.substitutions is None:
            count = 1
            for tok in self.tokens:
                count *= len(tok)
                if count > limit:
                    return None
            grids = np.meshgrid(*self.tokens, indexing="ij")
            return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)
        s = self.substitutions
        alts = [np.setdiff1d(s.allowed[t], [s.base[t]]) for t in range(self.T)]
        rows = [s.base.copy()]
        frontier = [(s.base.copy(), -1)]
        for _ in range(s.k):  # sequences with exactly j changes, changed positions increasing
            nxt = []
            for seq, last in frontier:
                for t in range(last + 1, self.T):
                    for tok in alts[t]:
                        new = seq.copy()
                        new[t] = tok
                        nxt.append((new, t))
                        if len(rows) + len(nxt) > limit:
                            return None
            rows += [q for q, _ in nxt]
            frontier = nxt
        return np.stack(rows).astype(np.int64)

    @property
    def dimension(self) -> int:
        """Number of free real coordinates (continuous sets), 0 for token sets."""
        if self.outer is None:
            return 0
        return int((self.outer[1] > self.outer[0]).sum())

    def centre(self) -> np.ndarray:
        """A member near the middle: (T, n_x)."""
        if self.kind == "box":
            c = []
            for s, t in self._schedule:
                if isinstance(s, (LinfBall, ClippedBall)):
                    x = s._at(s.center, t)
                    if isinstance(s, ClippedBall):
                        x = np.clip(x, s._at(s.inner[0], t), s._at(s.inner[1], t))
                    c.append(x)
                else:
                    a, b = s.box(t)
                    c.append(np.clip(a * 0.5 + b * 0.5, a, b))
            return np.stack(c)
        if self.substitutions is not None:
            return np.eye(self.n_x)[self.substitutions.base]
        return np.eye(self.n_x)[[tok[0] for tok in self.tokens]]

    def contains(self, xs: np.ndarray) -> bool:
        """Whether the float sequence ``xs`` (T, n_x) is a member, decided exactly."""
        xs = np.asarray(xs, dtype=np.float64)
        if xs.shape != (self.T, self.n_x) or not np.isfinite(xs).all():
            return False
        if self.substitutions is not None:
            s = self.substitutions
            toks = _onehot_index(xs)
            if toks is None:
                return False
            changed = sum(int(toks[t] != s.base[t]) for t in range(self.T))
            return changed <= s.k and all(toks[t] in s.allowed[t] for t in range(self.T))
        for t, (s, i) in enumerate(self._schedule):
            if not _member(s, i, xs[t]):
                return False
        return True


def _onehot_index(xs: np.ndarray) -> list[int] | None:
    out = []
    for row in xs:
        nz = np.flatnonzero(row)
        if nz.size != 1 or row[nz[0]] != 1.0:
            return None
        out.append(int(nz[0]))
    return out


def _member(s: InputSet, t: int, x: np.ndarray) -> bool:
    """Exact membership of one step's input ``x`` (n_x,) in ``s`` at index ``t`` (unbatched)."""
    if isinstance(s, OneHot):
        idx = _onehot_index(x[None])
        return idx is not None and idx[0] in set(s.allowed.tolist())
    if isinstance(s, (LinfBall, ClippedBall)):
        c, e = s._at(s.center, t), s._at(s.eps, t)
        if any(abs(Fraction(float(a)) - Fraction(float(b))) > Fraction(float(r)) for a, b, r in zip(x, c, e)):
            return False
        if isinstance(s, ClippedBall):
            return bool(((x >= s._at(s.clip_lo, t)) & (x <= s._at(s.clip_hi, t))).all())
        return True
    if isinstance(s, Box):
        lo, hi = s.box(t)
        return bool(((x >= lo) & (x <= hi)).all())
    return False  # a user's set: no exact membership test, so no counterexample from it


def _inner(s: InputSet, t: int) -> tuple[np.ndarray, np.ndarray]:
    """A float box of exact members of ``s`` at ``t`` (unbatched)."""
    if isinstance(s, ClippedBall):
        return s._at(s.inner[0], t), s._at(s.inner[1], t)
    if isinstance(s, LinfBall):
        c, e = s._at(s.center, t), s._at(s.eps, t)
        lo, hi = s.box(t)
        return _into_ball(lo, c, e), _into_ball(hi, c, e)
    if isinstance(s, Box):
        return s.box(t)
    lo, hi = s.box(t)  # a user's set: the attack can search nothing safely
    mid = lo * 0.5 + hi * 0.5
    return mid, mid


def regions_of(model: Any, xs_or_sets: Any, eps: Any, clip: Any, batch_first: bool) -> tuple[Any, list[Region], bool]:
    """``certify``'s inputs as (what ``propagate`` takes for the whole batch, one
    :class:`Region` per sample, whether the input was batched). Raises :class:`InputError`
    naming ``xs_or_sets``, ``eps`` or ``clip``."""
    n_x = model.n_x
    if isinstance(xs_or_sets, Substitutions):
        if eps is not None:
            raise InputError("eps", "None for a substitution budget (the set says which tokens may appear)", got=eps)
        if clip is not None:
            raise InputError("clip", "None for a token set", got=clip)
        s = xs_or_sets
        if s.n_x != n_x:
            raise ShapeError("xs_or_sets", f"a vocabulary of n_x = {n_x} (the model's)", got=s.n_x)
        sets = s.relaxed()
        schedule, _ = as_schedule(sets, None, n_x)
        return sets, [Region(sets, schedule, "substitutions", n_x, s)], False
    if isinstance(xs_or_sets, InputSet) or (isinstance(xs_or_sets, (list, tuple)) and xs_or_sets and all(isinstance(v, InputSet) for v in xs_or_sets)):
        if eps is not None:
            kinds = "a token set" if _has_tokens(xs_or_sets) else "an input set"
            raise InputError("eps", f"None when xs_or_sets is {kinds} (the set itself says where x⟨t⟩ is)", got=eps)
        if clip is not None:
            raise InputError("clip", "None when xs_or_sets is an input set (clip an array's ball instead)", got=clip)
        schedule, B = as_schedule(xs_or_sets, None, n_x)
        batched = B is not None
        regions = []
        for b in range(B or 1):
            sub = [(s.take_batch(slice(b, b + 1)) if s.batch is not None else s, i) for s, i in schedule]
            sub = [(_unbatch(s), i) for s, i in sub]
            toks = [s.tokens(i) is not None for s, i in sub]
            kind = "tokens" if all(toks) else ("box" if not any(toks) and all(s.is_box for s, _ in sub) else "mixed")
            per_step = [s for s, _ in sub] if not isinstance(xs_or_sets, InputSet) or xs_or_sets.steps is None else sub[0][0]
            regions.append(Region(per_step, sub, kind, n_x))
        return xs_or_sets, regions, batched
    if eps is None:
        raise InputError("eps", "a non-negative radius (or array of radii) for an array of inputs", got=None)
    x = finite_array(xs_or_sets, "xs")  # an array of centres: named xs, as in v1
    if x.ndim == 3 and batch_first:
        x = x.transpose(1, 0, 2)
    if x.ndim not in (2, 3) or x.shape[-1] != n_x or x.shape[0] == 0:
        raise ShapeError("xs", f"shape (T, {n_x}) or (T, B, {n_x}) (time first; batch_first=True for (B, T, {n_x})), or input sets", got=f"shape {np.shape(xs_or_sets)}")
    e = finite_array(eps, "eps")
    if e.ndim == 3 and batch_first:
        e = e.transpose(1, 0, 2)
    if (e < 0).any():
        raise InputError("eps", "a non-negative radius", got=float(e.min()))
    if clip is None:
        whole: InputSet = LinfBall(x, e)
    else:
        if not isinstance(clip, (tuple, list)) or len(clip) != 2:
            raise InputError("clip", "a pair (lo, hi) of numbers or arrays, e.g. (0, 1) for pixels", got=clip)
        whole = ClippedBall(x, e, clip[0], clip[1])
    batched = x.ndim == 3
    regions = []
    for b in range(x.shape[1] if batched else 1):
        sub = _unbatch(whole.take_batch(slice(b, b + 1))) if batched else whole
        schedule, _ = as_schedule(sub, None, n_x)
        regions.append(Region(sub, schedule, "box", n_x))
    return whole, regions, batched


def _has_tokens(sets: Any) -> bool:
    seq = [sets] if isinstance(sets, InputSet) else list(sets)
    return any(s.tokens(0) is not None for s in seq)


def _unbatch(s: InputSet) -> InputSet:
    """A batch-1 set as an unbatched one (the time axis kept)."""
    if s.batch is None:
        return s
    if isinstance(s, ClippedBall):
        return ClippedBall(s.center[:, 0], s.eps[:, 0], s.clip_lo[:, 0], s.clip_hi[:, 0])
    if isinstance(s, LinfBall):
        return LinfBall(s.center[:, 0], s.eps[:, 0])
    if isinstance(s, Box):
        return Box(s.lo[:, 0], s.hi[:, 0])
    return s


def replicate(sets: Any, K: int) -> Any:
    """The same (unbatched) set(s) for a batch of ``K`` identical entries: batched copies of
    boxes and balls; token sets are shared by the batch as they are (the batch size then comes
    from the initial states)."""
    def one(s: InputSet) -> InputSet:
        if isinstance(s, ClippedBall):
            rep = lambda a: np.repeat(_lift3(a), K, axis=1)  # noqa: E731
            return ClippedBall(rep(s.center), rep(s.eps), rep(s.clip_lo), rep(s.clip_hi))
        if isinstance(s, LinfBall):
            return LinfBall(np.repeat(_lift3(s.center), K, axis=1), np.repeat(_lift3(s.eps), K, axis=1))
        if isinstance(s, Box):
            return Box(np.repeat(_lift3(s.lo), K, axis=1), np.repeat(_lift3(s.hi), K, axis=1))
        return s

    if isinstance(sets, InputSet):
        return one(sets)
    return [one(s) for s in sets]


def _lift3(a: np.ndarray) -> np.ndarray:
    """A time-major array (T, n) or (n,) as (T|1, 1, n)."""
    a = np.asarray(a)
    if a.ndim == 1:
        return a[None, None, :]
    if a.ndim == 2:
        return a[:, None, :]
    return a


def per_step_sets(sets: Any) -> Sequence[InputSet] | InputSet:
    return sets
