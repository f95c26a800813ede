"""Counterexamples: candidates from the attacks, kept only when their exact replay misclassifies.

A candidate ``xs`` (T, n_x) for a sample with label ``label`` *falsifies* the sample when

1. ``xs`` is a member of the sample's set, decided exactly (:meth:`.regions.Region.contains`);
2. the exact real-number logits ``z⟨T⟩`` of the float weights on ``xs`` — replayed in mpmath
   by :func:`lstm_symbolic.reference.exact_trajectory` at 60 digits, independently of every
   bounding method and of the float forward pass the attack used — put some class ``j ≠
   label`` strictly above the label by more than the replay's own error: ``z_j − z_label >
   10^{-(dps−10)} · (1 + max |z|)``. (mpmath's relative error per operation is about
   ``10^{-dps}``; the margin must beat it by ten orders of magnitude, so a float-level tie is
   never called a counterexample.)

Then ``argmax y⟨T⟩ ≠ label`` at a real input of the set, so no certificate may exist for it:
:func:`lstm_symbolic.certify` checks that too, and raises if a bound says otherwise (fail
closed: that would be an unsound bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from ..reference import exact_trajectory

__all__ = ["Counterexample", "replay"]

DPS = 60


@dataclass(frozen=True)
class Counterexample:
    """A member ``xs`` (T, n_x) of the set whose exact logits ``z`` (n_y,) (floats nearest to the
    mpmath values) put class ``predicted`` strictly above ``label``; ``margin`` is the exact
    ``z_label − z_predicted`` rounded to float (negative)."""

    xs: np.ndarray
    label: int
    predicted: int
    margin: float
    z: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {"xs": self.xs.tolist(), "label": self.label, "predicted": self.predicted, "margin": self.margin, "z": self.z.tolist()}


def replay(w: Any, region: Any, xs: np.ndarray, label: int, a0: Any = None, c0: Any = None) -> Counterexample | None:
    """The exact check of the module docstring: a :class:`Counterexample`, or None when ``xs`` is
    not a member, the model has no exact replay (only LSTMWeights today), or the exact logits
    keep ``label`` on top."""
    if not hasattr(w, "bias_exact") or not region.contains(xs):
        return None
    ex = exact_trajectory(w, xs, a0=a0, c0=c0, dps=DPS)
    z = ex.z[-1]
    with mpmath.workdps(DPS):
        scale = 1 + max(abs(v) for v in z)
        tol = mpmath.mpf(10) ** (-(DPS - 10)) * scale
        diffs = [(z[j] - z[label], j) for j in range(len(z)) if j != label]
        best, j = max(diffs, key=lambda p: p[0])
        if not best > tol:
            return None
        return Counterexample(np.array(xs, dtype=np.float64), int(label), int(j), float(-best), np.array([float(v) for v in z]))
