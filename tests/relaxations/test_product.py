"""The product relaxation (``lstm_symbolic/relaxations/product.py``) against exact products.

A bilinear function minus a plane is bilinear, so its extremes over a box are at the vertices:
checking the vertices and random inner points exactly (rationals) is a complete test of a
plane's validity at those points, and the vertices are where a wrong offset shows first."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from lstm_symbolic.relaxations import PRODUCT


def _boxes(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, ...]:
    """Gate boxes in [0, 1] (points, tiny, wide, saturated) times signal boxes of every scale."""
    g_lo = rng.uniform(0, 1, n)
    g_hi = np.minimum(1.0, g_lo + rng.choice([0.0, 1e-12, 1e-4, 0.1, 1.0], n) * rng.random(n))
    scale = 10.0 ** rng.uniform(-300, 5, n) * rng.choice([1.0, 1.0, 1e-3], n)
    c = rng.normal(size=n) * scale
    w = rng.choice([0.0, 1e-15, 1e-3, 1.0, 10.0], n) * scale
    return g_lo, g_hi, c - w, c + w


def _points(x_lo, x_hi, y_lo, y_hi, rng):
    pts = [(x_lo, y_lo), (x_lo, y_hi), (x_hi, y_lo), (x_hi, y_hi)]
    for _ in range(4):
        pts.append((rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)))
    return pts


def _check_planes(L, boxes, rng, i_range) -> int:
    n = 0
    for i in i_range:
        b = [float(a[i]) for a in boxes]
        lx, ly, lo_, ux, uy, uo_ = (F(float(np.ravel(a)[i])) for a in L)
        for x, y in _points(*b, rng):
            x, y = F(float(x)), F(float(y))
            assert lx * x + ly * y + lo_ <= x * y, (i, b, "lower")
            assert x * y <= ux * x + uy * y + uo_, (i, b, "upper")
            n += 1
    return n


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_centred_parallelogram(rng) -> None:
    boxes = _boxes(rng)
    lin = PRODUCT.relax(*boxes)
    for i in range(boxes[0].size):
        b = [float(a[i]) for a in boxes]
        sx, sy, o, e = (F(float(a[i])) for a in lin)
        for x, y in _points(*b, rng):
            x, y = F(float(x)), F(float(y))
            line = sx * x + sy * y + o
            assert line - e <= x * y <= line + e, (i, b)


def test_default_mccormick_planes(rng) -> None:
    boxes = _boxes(rng)
    assert _check_planes(PRODUCT.lines(*boxes), boxes, rng, range(boxes[0].size)) > 2000


def test_planes_are_exact_along_the_gates_lower_end(rng) -> None:
    """The default pair is exact on the edge x = x_lo (what makes it the better pair for gates)."""
    boxes = _boxes(rng, 50)
    L = PRODUCT.lines(*boxes)
    x = boxes[0]
    for y in (boxes[2], boxes[3]):
        lower = L.lower_x * x + L.lower_y * y + L.lower_offset
        upper = L.upper_x * x + L.upper_y * y + L.upper_offset
        scale = np.abs(x * y) + 1e-300
        assert (np.abs(lower - x * y) <= 1e-12 * scale + 1e-290).all() and (np.abs(upper - x * y) <= 1e-12 * scale + 1e-290).all()


def test_any_slopes_are_sound(rng) -> None:
    """Random (even silly) slopes, and per-row slopes broadcast against per-unit boxes."""
    boxes = _boxes(rng, 150)
    n = boxes[0].size
    for _ in range(3):
        lower = (rng.normal(size=n) * np.abs(boxes[3]), rng.uniform(-1, 2, n))
        upper = (rng.normal(size=n) * np.abs(boxes[3]), rng.uniform(-1, 2, n))
        _check_planes(PRODUCT.lines(*boxes, lower=lower, upper=upper), boxes, rng, range(n))
    b3 = [a[None, None, :6].repeat(2, 0) for a in boxes]
    sl = (rng.normal(size=(2, 3, 6)), rng.uniform(0, 1, (2, 3, 6)))
    L = PRODUCT.lines(*b3, lower=sl, upper=sl)
    assert L.lower_offset.shape == (2, 3, 6)
    for r in range(3):
        sub = type(L)(*(np.broadcast_to(a, (2, 3, 6))[1, r] for a in L))
        _check_planes(sub, [a[:6] for a in boxes], rng, range(6))


def test_checker_catches_a_plane_too_tight() -> None:
    boxes = [np.array([0.2]), np.array([0.7]), np.array([-1.0]), np.array([2.0])]
    L = PRODUCT.lines(*boxes)
    tight = type(L)(L.lower_x, L.lower_y, L.lower_offset + 1e-12, L.upper_x, L.upper_y, L.upper_offset)
    with pytest.raises(AssertionError):
        _check_planes(tight, boxes, np.random.default_rng(0), range(1))
