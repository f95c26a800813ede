"""Robustness certificates: argmax y⟨T⟩ = label for every input in an L∞ ball.

softmax is monotone in each logit difference, so ``argmax y = label`` holds exactly when every
margin ``z_label − z_j = (W_y[label] − W_y[j]) a⟨T⟩ + (b_label − b_j)`` is positive. The
margins are bounded directly from the final state (its affine form for the symbolic method:
``z_label`` and ``z_j`` share the same noise symbols, far tighter than subtracting two
intervals), with the difference rows split exactly into two floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import finite_array
from .errors import InputError, ShapeError
from .inputs import LinfBall
from .lstm import LSTMWeights
from .model import Model
from .propagate import Trace, unroll

__all__ = ["certify", "Certificate"]


@dataclass(frozen=True)
class Certificate:
    """Result of :func:`certify`.

    ``certified``: bool (or (B,) bools) — proven for every input in the ball.
    ``margins``: (n_y,) (or (B, n_y)) lower bounds of ``z_label − z_j``; ``+inf`` at the label.
    ``min_margin``: the smallest of those (certified iff > 0). ``trace``: the bounds of every
    signal at every step, as from :func:`~lstm_symbolic.propagate`.
    """

    certified: Any
    margins: np.ndarray
    min_margin: Any
    label: Any
    method: str
    trace: Trace

    @property
    def count(self) -> int:
        """How many samples are certified."""
        return int(np.sum(self.certified))


def certify(
    w: LSTMWeights,
    xs: Any,
    eps: Any,
    label: Any,
    method: str = "best",
    mode: str = "fast",
    a0: Any = None,
    c0: Any = None,
) -> Certificate:
    """Prove ``argmax y⟨T⟩ = label`` for every input sequence within ``eps`` (L∞, per step and
    coordinate) of ``xs``.

    ``xs``: (T, n_x), or (T, B, n_x) for a batch; ``eps``: a float ≥ 0 or an array broadcastable
    to ``xs``; ``label``: an int, or (B,) ints for a batch. Requires an output layer.
    Returns a :class:`Certificate` (batched fields when ``xs`` is 3-D).

    >>> import numpy as np, lstm_symbolic as ls
    >>> rng = np.random.default_rng(0)
    >>> w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(4, 6)) for g in "fuco"},
    ...                    **{f"b_{g}": rng.normal(size=4) for g in "fuco"},
    ...                    W_y=rng.normal(size=(3, 4)), b_y=rng.normal(size=3))
    >>> xs = rng.normal(size=(5, 2))
    >>> label = int(ls.forward(w, xs).y[-1].argmax())
    >>> cert = ls.certify(w, xs, 1e-3, label)
    >>> bool(cert.certified), bool(cert.min_margin > 0)
    (True, True)
    """
    if not isinstance(w, (LSTMWeights, Model)):
        raise InputError("w", "an LSTMWeights or a Model", got=type(w).__name__)
    if w.W_y is None:
        raise InputError("w", "a model with an output layer (W_y, b_y) to certify a label")
    x = finite_array(xs, "xs")
    if x.ndim not in (2, 3) or x.shape[-1] != w.n_x:
        raise ShapeError("xs", f"shape (T, {w.n_x}) or (T, B, {w.n_x})", got=f"shape {np.shape(xs)}")
    batched = x.ndim == 3
    B = x.shape[1] if batched else 1
    lab = np.asarray(label)
    if lab.dtype.kind not in "iu" or not np.all((lab >= 0) & (lab < w.n_y)):
        raise InputError("label", f"integer class indices in [0, {w.n_y})", got=label)
    if batched:
        lab = np.broadcast_to(lab, (B,)) if lab.ndim == 0 else lab
        if lab.shape != (B,):
            raise ShapeError("label", f"an int or shape ({B},)", got=f"shape {lab.shape}")
    elif lab.ndim != 0:
        raise ShapeError("label", "an int for unbatched xs", got=f"shape {lab.shape}")
    trace, stepper = unroll(w, LinfBall(x, eps), a0=a0, c0=c0, method=method, mode=mode)
    margins = stepper.margins(np.atleast_1d(lab).astype(np.int64))
    min_margin = margins.min(axis=-1)
    certified = min_margin > 0
    if not batched:
        margins, min_margin, certified = margins[0], float(min_margin[0]), bool(certified[0])
        lab = int(lab)
    return Certificate(certified, margins, min_margin, lab, method, trace)
