"""certify: exact checks against high-precision trajectories, zero tolerance."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.reference import exact_trajectory
import _models


def random_lstm(seed: int, n_a: int = 4, n_x: int = 3, n_y: int | None = 3, scale: float = 1.0, bias: float = 1.0) -> ls.LSTMWeights:
    return _models.random_lstm(seed, n_a, n_x, n_y, scale, bias, head_scale=2.0)


def exact_margins(w: ls.LSTMWeights, xs: np.ndarray, label: int) -> list[mpmath.mpf]:
    """z_label − z_j at the last step, exactly (mpmath, 60 digits)."""
    ex = exact_trajectory(w, xs, dps=60)
    a = ex.a[-1]
    with mpmath.workdps(60):
        z = [mpmath.fsum(mpmath.mpf(float(w.W_y[j, i])) * a[i] for i in range(w.n_a)) + mpmath.mpf(float(w.b_y[j])) for j in range(w.n_y)]
        return [z[label] - z[j] for j in range(w.n_y)]


@pytest.mark.parametrize("method", ["interval", "symbolic"])
@pytest.mark.parametrize("seed", range(4))
def test_margin_lower_bounds_hold_exactly(method: str, seed: int) -> None:
    w = random_lstm(seed, scale=1.5)
    rng = np.random.default_rng(100 + seed)
    T, eps = 6, 0.05
    xs = rng.normal(size=(T, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmax())
    cert = ls.certify(w, xs, eps, label, method=method)
    assert cert.margins.shape == (w.n_y,) and cert.margins[label] == np.inf
    ball = ls.LinfBall(xs, eps)
    points = [xs, xs - eps, xs + eps] + [ball.sample(rng, 1, 0)[0] * 0 + xs + eps * rng.choice([-1.0, 1.0], xs.shape) for _ in range(4)]
    for x in points:
        x = np.clip(x, ball.lo, ball.hi)
        for j, m in enumerate(exact_margins(w, x, label)):
            if j != label:
                assert cert.margins[j] <= m, f"margin bound {cert.margins[j]} above the exact {m} (j={j})"


def test_certified_means_argmax_everywhere_sampled() -> None:
    w = random_lstm(7, scale=0.5)
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(5, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmax())
    cert = ls.certify(w, xs, 1e-3, label)
    assert cert.certified, "a tiny ball around a sample should certify on this model"
    X = xs[:, None, :] + 1e-3 * rng.uniform(-1, 1, (5, 500, w.n_x))
    assert (ls.forward(w, X).y[-1].argmax(axis=-1) == label).all()


def test_symbolic_margins_at_least_interval_and_batched() -> None:
    w = random_lstm(11, scale=1.0)
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(8, 6, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(axis=-1)
    ci = ls.certify(w, xs, 0.02, labels, method="interval")
    cs = ls.certify(w, xs, 0.02, labels, method="symbolic")
    assert ci.margins.shape == cs.margins.shape == (6, w.n_y)
    assert (cs.margins >= ci.margins).all()
    assert cs.count >= ci.count
    # batched result equals the per-sample results
    for b in range(6):
        one = ls.certify(w, xs[:, b], 0.02, int(labels[b]), method="symbolic")
        assert one.certified == cs.certified[b]


def test_a_wrong_label_is_never_certified() -> None:
    w = random_lstm(2)
    xs = np.random.default_rng(0).normal(size=(4, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmin())
    cert = ls.certify(w, xs, 0.0, label)
    assert not cert.certified and cert.min_margin < 0


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"labels": 7}, "labels"), ({"labels": 1.5}, "labels"), ({"eps": -1.0}, "eps"), ({"xs_or_sets": np.zeros((3, 5))}, "xs")],
)
def test_certify_bad_input(kwargs: dict, argument: str) -> None:
    w = random_lstm(0)
    args = {"model": w, "xs_or_sets": np.zeros((3, w.n_x)), "eps": 0.1, "labels": 0} | kwargs
    with pytest.raises(ValueError, match=argument):
        ls.certify(**args)


def test_certify_needs_output_layer() -> None:
    with pytest.raises(ValueError, match="output layer"):
        ls.certify(random_lstm(0, n_y=None), np.zeros((2, 3)), 0.1, 0)
