"""Several engines in lockstep, sharing their bounds: the intersection of methods, node by node.

Every operation is applied by each component engine to its own value; whenever a value's
bounds are needed (before a relaxation is built on them, or when they are reported), the
components' bounds are intersected and every component is refined with the intersection. So
each method relaxes on the tightest box any of them found — strictly better than intersecting
finished traces — and the result is never looser than any component alone. The intersection
of sound enclosures of one quantity is sound; an empty one would mean a component is unsound
and raises (:func:`~lstm_symbolic.interval.kernels.within`).

A component may also run *independent*: it contributes its bounds to every intersection but
is never refined. Floating-point interval products are inclusion-monotone only up to their
rounding slack (the float32 radius product rounds a tighter box's radius a little differently),
so a refined interval engine can end a few ulps-of-float32 *outside* a plain interval run; an
independent copy alongside makes "never looser than ``interval``" exact.

``method="symbolic"`` is the zonotope with the interval engine alongside; ``method="best"`` is
every method.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..inputs import InputSet
from .base import Engine, Pair

__all__ = ["ProductEngine", "PV"]


class PV:
    """A value of every component (``parts``, in component order); ``shared`` once the
    components' bounds have been intersected and written back."""

    __slots__ = ("parts", "shared")

    def __init__(self, parts: list[Any]) -> None:
        self.parts, self.shared = parts, False


class ProductEngine(Engine):
    """Components run in lockstep with shared bounds (see the module docstring)."""

    name = "product"

    def __init__(self, engines: Sequence[Engine], name: str = "product", independent: Sequence[Engine] = ()) -> None:
        first = engines[0]
        super().__init__(first.model, first.B, first.mode)
        self.engines, self.name = list(engines) + list(independent), name
        self.refined = [True] * len(engines) + [False] * len(independent)
        self.persistent = all(e.persistent for e in self.engines)

    def _each(self, method: str, *args: Any) -> PV:
        """Apply ``method`` in every component, unwrapping product values in ``args`` (lists
        of values too)."""
        out = []
        for i, e in enumerate(self.engines):
            call = [self._pick(a, i) for a in args]
            out.append(getattr(e, method)(*call))
        return PV(out)

    @staticmethod
    def _pick(a: Any, i: int) -> Any:
        if isinstance(a, PV):
            return a.parts[i]
        if isinstance(a, list):
            return [x.parts[i] if isinstance(x, PV) else x for x in a]
        return a

    def _share(self, v: PV) -> Pair:
        """Intersect the components' bounds and refine each with the result."""
        boxes = [e.bounds(p) for e, p in zip(self.engines, v.parts)]
        lo = boxes[0][0]
        hi = boxes[0][1]
        for b in boxes[1:]:
            lo, hi = np.maximum(lo, b[0]), np.minimum(hi, b[1])
        if (lo > hi).any():
            raise AssertionError("disjoint enclosures of one signal from two methods: a bound is unsound")
        if not v.shared:
            for e, p, r in zip(self.engines, v.parts, self.refined):
                if r:
                    e.refine(p, lo, hi)
            v.shared = True
        return lo, hi

    # --- values --------------------------------------------------------------------------
    def initial(self, lo: np.ndarray, hi: np.ndarray) -> PV:
        return PV([e.initial(lo, hi) for e in self.engines])

    def input(self, x_set: InputSet, t: int) -> PV:
        return PV([e.input(x_set, t) for e in self.engines])

    def bounds(self, v: PV) -> Pair:
        return self._share(v)

    def final_bounds(self, v: PV) -> Pair:
        self._share(v)
        for e, p, r in zip(self.engines, v.parts, self.refined):
            if r and type(e).final_bounds is not Engine.final_bounds:
                e.final_bounds(p)
        v.shared = False
        return self._share(v)

    def refine(self, v: PV, lo: Any, hi: Any) -> None:
        for e, p in zip(self.engines, v.parts):  # a priori domains: every component
            e.refine(p, lo, hi)
        v.shared = False

    # --- the algebra ---------------------------------------------------------------------
    def linear(self, affine: Any, parts: Sequence[Any]) -> PV:
        return self._each("linear", affine, list(parts))

    def split(self, v: PV, sizes: Sequence[int]) -> list[PV]:
        per = [e.split(p, sizes) for e, p in zip(self.engines, v.parts)]
        return [PV([per[i][j] for i in range(len(self.engines))]) for j in range(len(sizes))]

    def concat(self, vs: Sequence[PV]) -> PV:
        return self._each("concat", list(vs))

    def sigmoid(self, v: PV) -> PV:
        self._share(v)
        return self._each("sigmoid", v)

    def tanh(self, v: PV) -> PV:
        self._share(v)
        return self._each("tanh", v)

    def gate(self, g: PV, v: PV) -> PV:
        self._share(g)
        self._share(v)
        return self._each("gate", g, v)

    def add(self, v: PV, w: PV) -> PV:
        return self._each("add", v, w)

    def mix(self, z: PV, n: PV, h: PV) -> PV:
        for p in (z, n, h):
            self._share(p)
        return self._each("mix", z, n, h)

    # --- outputs and the end of a step ---------------------------------------------------
    def softmax(self, head: Any, a: PV, final: bool = False) -> Pair:
        self._share(a)
        ys = [e.softmax(head, p, final) for e, p in zip(self.engines, a.parts)]
        lo, hi = ys[0]
        for y in ys[1:]:
            lo, hi = np.maximum(lo, y[0]), np.minimum(hi, y[1])
        return lo, hi

    def margins(self, head: Any, a: PV, labels: np.ndarray) -> np.ndarray:
        self._share(a)
        ms = [e.margins(head, p, labels) for e, p in zip(self.engines, a.parts)]
        return np.maximum.reduce(ms)

    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for s in states:
            for v in s.values():
                self._share(v)
        per = [e.end_step([{k: v.parts[i] for k, v in s.items()} for s in states]) for i, e in enumerate(self.engines)]
        out = []
        for j, s in enumerate(states):
            d = {}
            for k in s:
                pv = PV([per[i][j][k] for i in range(len(self.engines))])
                pv.shared = True
                d[k] = pv
            out.append(d)
        return out
