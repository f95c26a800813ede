"""Shared checks for the relaxation tests: every line, plane and parallelogram a relaxation
returns is compared with the exact function (mpmath, 50 digits) at points of its box, with no
tolerance. The float coefficients are converted to mpf exactly, so the line is evaluated
exactly; only the function value carries mpmath's 50-digit error, far below any float gap."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

mpmath.mp.dps = 50

_EXACT = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "tanh": mpmath.tanh,
}


def exact(name: str, x: float) -> mpmath.mpf:
    return _EXACT[name](mpmath.mpf(float(x)))


def points_in(lo: float, hi: float, rng: np.random.Generator, extra: tuple[float, ...] = ()) -> list[float]:
    """The ends, a few random points, and any ``extra`` points that lie in ``[lo, hi]``."""
    pts = [lo, hi] + list(rng.uniform(lo, hi, 6)) + [p for p in extra if lo <= p <= hi]
    if lo < hi:
        pts += [float(np.nextafter(lo, hi)), float(np.nextafter(hi, lo))]
    return pts


def boxes(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Random and adversarial boxes: points, ulp-wide, tiny, moderate, wide, crossing 0,
    saturated on either side, huge."""
    lo, hi = [], []
    for _ in range(n):
        kind = rng.integers(8)
        c = rng.normal() * (3.0 if kind < 4 else 30.0)
        if kind == 0:
            w = 0.0
        elif kind == 1:
            w = abs(c) * 2.0**-50 + 1e-300
        elif kind == 2:
            w = 10.0 ** rng.uniform(-9, -3)
        elif kind == 3:
            w = rng.exponential(2.0)
        elif kind == 4:
            c, w = rng.uniform(-1, 1), rng.uniform(1, 20)
        elif kind == 5:
            c, w = rng.choice([-1, 1]) * rng.uniform(20, 700), rng.exponential(5.0)
        elif kind == 6:
            c, w = rng.choice([-1, 1]) * 10.0 ** rng.uniform(2, 300), 10.0 ** rng.uniform(0, 2)
        else:
            c, w = 0.0, 10.0 ** rng.uniform(-300, 1)
        lo.append(c - w)
        hi.append(c + w)
    return np.array(lo), np.array(hi)


def assert_lines(name: str, lo: np.ndarray, hi: np.ndarray, L, rng: np.random.Generator, peak: float) -> int:
    """Every point checked: lower line <= f <= upper line. Returns the number of checks."""
    checked = 0
    M = mpmath.mpf
    for i in range(lo.size):
        ls_, lo_, us_, uo_ = (float(np.ravel(a)[i]) for a in L)
        for x in points_in(float(lo[i]), float(hi[i]), rng):
            fx = exact(name, x)
            if np.isfinite(lo_):
                assert M(ls_) * M(x) + M(lo_) <= fx, (name, i, lo[i], hi[i], x, "lower")
            if np.isfinite(uo_):
                assert fx <= M(us_) * M(x) + M(uo_), (name, i, lo[i], hi[i], x, "upper")
            checked += 1
    return checked


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261201)
