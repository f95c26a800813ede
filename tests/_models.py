"""Random models shared by the tests (imported as ``from _models import random_lstm``: pytest puts
this folder on ``sys.path``)."""

from __future__ import annotations

from typing import Any

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


def random_inputs(rng: np.random.Generator, kind: str, n_x: int, T: int, batch: int = 3) -> tuple[Any, dict[str, Any]]:
    """A random input set of ``kind`` (box, box_time, ball, ball_batched with ``batch`` entries,
    onehot, mixed_sequence) and the extra propagate kwargs it needs (``steps``)."""
    width = float(rng.choice([0.0, 1e-3, 0.1, 1.0]))
    if kind == "box":
        c = rng.normal(size=n_x)
        return ls.Box(c - width * rng.random(n_x), c + width * rng.random(n_x)), {"steps": T}
    if kind == "box_time":
        c = rng.normal(size=(T, n_x))
        return ls.Box(c - width * rng.random((T, n_x)), c + width * rng.random((T, n_x))), {}
    if kind == "ball":
        return ls.LinfBall(rng.normal(size=(T, n_x)), width), {}
    if kind == "ball_batched":
        return ls.LinfBall(rng.normal(size=(T, batch, n_x)), rng.uniform(0, max(width, 1e-3), n_x)), {}
    if kind == "onehot":
        k = int(rng.integers(1, n_x + 1))
        return ls.OneHot(n_x, allowed=rng.choice(n_x, size=k, replace=False).tolist()), {"steps": T}
    if kind == "mixed_sequence":
        sets = []
        for _ in range(T):
            pick = rng.integers(3)
            if pick == 0:
                sets.append(ls.OneHot(n_x, allowed=rng.choice(n_x, size=int(rng.integers(1, n_x + 1)), replace=False).tolist()))
            elif pick == 1:
                c = rng.normal(size=n_x)
                sets.append(ls.Box(c - width, c + width))
            else:
                sets.append(ls.LinfBall(rng.normal(size=n_x), width))
        return sets, {}
    raise AssertionError(kind)  # pragma: no cover
