"""The interval engine's fused operations give the values of the operations they fuse, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.methods import interval as I


def _box(engine: I.IntervalEngine, rng: np.random.Generator, rows: int, n: int, scale: float, k: int = 1) -> I.IV:
    m = rng.normal(size=(rows, n)) * scale
    r = np.abs(rng.normal(size=(rows, n))) * scale * rng.choice([0.0, 1e-12, 0.3], size=(rows, n))
    return I.IV(np.stack((m - r, m + r)), k)


def _gate(engine: I.IntervalEngine, rng: np.random.Generator, rows: int, n: int, k: int = 1) -> I.IV:
    lo = rng.choice([0.0, 0.2, 1.0], size=(rows, n)) * rng.uniform(size=(rows, n))
    hi = np.minimum(1.0, lo + rng.choice([0.0, 1e-9, 0.5, 1.0], size=(rows, n)))
    return I.IV(np.stack((lo, hi)), k)


@pytest.mark.parametrize("fuse_max", [I.FUSE_MAX, 0])
@pytest.mark.parametrize("scale", [1.0, 1e300])
def test_gated_sum_is_add_of_gates_bit_for_bit(monkeypatch: pytest.MonkeyPatch, fuse_max: int, scale: float) -> None:
    """Fused (operands side by side) or not, with huge and infinite ends (the kernel's fallback)
    and token copies on some operands."""
    monkeypatch.setattr(I, "FUSE_MAX", fuse_max)
    rng = np.random.default_rng(7)
    w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(5, 7)) for g in "fuco"}, **{f"b_{g}": rng.normal(size=5) for g in "fuco"})
    B, n, k = 3, 5, 4
    engine = I.IntervalEngine(w.to_model(), B)
    for trial in range(20):
        g1, g2 = _gate(engine, rng, B * k, n, k), _gate(engine, rng, B, n)
        v1, v2 = _box(engine, rng, B, n, scale), _box(engine, rng, B * k, n, scale, k)
        if trial % 3 == 0:
            v1.e[1, 0, 0], v2.e[0, 1, 2] = np.inf, -np.inf
        want = engine.add(engine.gate(g1, v1), engine.gate(g2, v2))
        got = engine.gated_sum(g1, v1, g2, v2)
        assert got.k == want.k == k
        np.testing.assert_array_equal(got.e, want.e)
