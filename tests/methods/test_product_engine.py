"""The lockstep product of methods (``lstm_symbolic/methods/product.py``): shared bounds, the
independent interval run that makes ``best``/``symbolic`` never looser than ``interval``, and
the fail-closed check that two methods' bounds of one signal must overlap."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic import methods as M
from lstm_symbolic.methods.interval import IntervalEngine
from lstm_symbolic.methods.product import ProductEngine


def model(seed: int) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    return ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(4, 6)) for g in "fuco"}, **{f"b_{g}": rng.normal(size=4) for g in "fuco"},
                          W_y=rng.normal(size=(3, 4)), b_y=rng.normal(size=3))


@pytest.mark.parametrize("method", ["symbolic", "linear", "best"])
@pytest.mark.parametrize("seed", range(3))
def test_never_looser_than_interval_exactly(method: str, seed: int) -> None:
    w = model(seed)
    rng = np.random.default_rng(seed)
    for inputs, kw in ((ls.LinfBall(rng.normal(size=(8, 2, 2)), 0.3), {}), (ls.OneHot(2), {"steps": 8})):
        ti = ls.propagate(w, inputs, method="interval", **kw)
        tm = ls.propagate(w, inputs, method=method, **kw)
        for name, iv in tm.signals().items():
            other = ti.signals()[name]
            assert (iv.lo >= other.lo).all() and (iv.hi <= other.hi).all(), (method, name)


def test_components_are_refined_with_the_intersection() -> None:
    """After a shared value's bounds are read, every refined component holds the intersection."""
    w = model(1)
    engine = M.make("best", w.to_model(), 1)
    assert isinstance(engine, ProductEngine)
    x = engine.input(ls.LinfBall(np.zeros(2), 0.5), 0)
    a = engine.initial(np.full((1, 4), -0.5), np.full((1, 4), 0.5))
    pre = engine.linear(w.to_model().layers[0].cell.gates, [a, x])
    lo, hi = engine.bounds(pre)
    for e, part, refined in zip(engine.engines, pre.parts, engine.refined):
        plo, phi = e.bounds(part)
        if refined:
            assert np.array_equal(plo, lo) and np.array_equal(phi, hi)
        else:  # the independent interval run keeps its own bounds, which contain the shared ones
            assert (plo <= lo).all() and (phi >= hi).all()


def test_disjoint_bounds_fail_closed() -> None:
    """A component that claims bounds disjoint from another's is an unsound component: the
    product raises instead of reporting either."""

    class Lying(IntervalEngine):
        def sigmoid(self, v):
            out = super().sigmoid(v)
            out.lo, out.hi = out.lo + 5.0, out.hi + 5.0  # far outside [0, 1]: impossible
            return out

    w = model(2)
    m = w.to_model()
    engine = ProductEngine([IntervalEngine(m, 1), Lying(m, 1)], "test")
    x = engine.input(ls.Box(np.zeros(2), np.ones(2)), 0)
    a = engine.initial(np.zeros((1, 4)), np.zeros((1, 4)))
    s = engine.sigmoid(engine.linear(m.layers[0].cell.gates, [a, x]))
    with pytest.raises(AssertionError, match="unsound"):
        engine.bounds(s)
