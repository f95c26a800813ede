"""Random models shared by the tests (imported as ``from _models import random_lstm``: pytest puts
this folder on ``sys.path``)."""

from __future__ import annotations

import numpy as np

import lstm_symbolic as ls


def random_lstm(seed: int = 0, n_a: int = 4, n_x: int = 3, n_y: int | None = 3, scale: float = 1.0, bias: float = 1.0,
                head_scale: float = 1.0) -> ls.LSTMWeights:
    """A one-layer LSTM with weights ``scale · N(0, 1)``, biases ``bias · N(0, 1)`` and, when
    ``n_y``, a head ``W_y = head_scale · N(0, 1)``, ``b_y = N(0, 1)`` — drawn in that order from
    ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    kw = {f"W_{g}": rng.normal(size=(n_a, n_a + n_x)) * scale for g in "fuco"}
    kw.update({f"b_{g}": rng.normal(size=n_a) * bias for g in "fuco"})
    if n_y:
        kw.update(W_y=rng.normal(size=(n_y, n_a)) * head_scale, b_y=rng.normal(size=n_y))
    return ls.LSTMWeights(**kw)
