"""The tests every S-shaped relaxation must pass (sigmoid and tanh import and run them)."""

from __future__ import annotations

import mpmath
import numpy as np

from conftest import assert_lines, boxes, exact, points_in


def run_parallelogram(relax, name: str, rng: np.random.Generator) -> None:
    """``f(x) ∈ slope·x + offset ± error`` at the ends, inner points and both stationary points."""
    lo, hi = boxes(rng)
    lin = relax.relax(lo, hi)
    M = mpmath.mpf
    for i in range(lo.size):
        s, o, e = float(lin.slope[i]), float(lin.offset[i]), float(lin.error[i])
        assert e >= 0 and np.isfinite(s) and np.isfinite(o)
        for x in points_in(float(lo[i]), float(hi[i]), rng):
            fx = exact(name, x)
            line = M(s) * M(x) + M(o)
            assert line - M(e) <= fx <= line + M(e), (i, lo[i], hi[i], x)


def run_default_lines(relax, name: str, rng: np.random.Generator) -> None:
    lo, hi = boxes(rng)
    L = relax.lines(lo, hi)
    assert (L.lower_slope >= 0).all() and (L.upper_slope >= 0).all()
    assert np.isfinite(L.lower_offset).all() and np.isfinite(L.upper_offset).all()
    assert assert_lines(name, lo, hi, L, rng, relax.peak) > 1000


def run_any_slopes(relax, name: str, rng: np.random.Generator) -> None:
    """Sound for every slope, including slopes outside ``[0, peak]`` (clipped) and per-row
    slopes broadcast against per-unit bounds (the shape the optimiser uses)."""
    lo, hi = boxes(rng, 120)
    for _ in range(3):
        s_lo = rng.uniform(-0.2, 1.3, lo.size) * relax.peak
        s_hi = rng.uniform(-0.2, 1.3, lo.size) * relax.peak
        L = relax.lines(lo, hi, lower_slope=s_lo, upper_slope=s_hi)
        assert_lines(name, lo, hi, L, rng, relax.peak)
    per_row = rng.uniform(0, relax.peak, (2, 3, 8))
    l3, h3 = lo[None, None, :8].repeat(2, 0), hi[None, None, :8].repeat(2, 0)
    L = relax.lines(l3, h3, lower_slope=per_row, upper_slope=per_row[::-1])
    assert L.lower_offset.shape == (2, 3, 8)
    for r in range(3):
        sub = type(L)(*(np.broadcast_to(a, (2, 3, 8))[0, r] for a in L))
        assert_lines(name, lo[:8], hi[:8], sub, rng, relax.peak)


def run_touch_point(relax, name: str, rng: np.random.Generator) -> None:
    """The float touch point is a search direction: its value of ``f − λx`` lies within the
    sound offsets (up to float error) and is the extreme among the candidates."""
    lo, hi = boxes(rng, 100)
    lo, hi = np.clip(lo, -50, 50), np.clip(hi, -50, 50)
    lam = rng.uniform(0, relax.peak, lo.size)
    L = relax.lines(lo, hi, lower_slope=lam, upper_slope=lam)
    for upper in (False, True):
        x, g = relax.touch_point(lam, lo, hi, upper)
        assert ((x >= lo) & (x <= hi)).all()
        if upper:
            assert (g <= L.upper_offset + 1e-12).all()
        else:
            assert (g >= L.lower_offset - 1e-12).all()


def run_checker_catches(relax, name: str, rng: np.random.Generator) -> None:
    """The check can fail: lines moved inward by one ulp at a touching point are caught."""
    lo, hi = np.array([-1.0, 0.5]), np.array([1.0, 2.0])
    L = relax.lines(lo, hi)
    tight = type(L)(L.lower_slope, np.nextafter(L.lower_offset, np.inf) + 1e-9, L.upper_slope, L.upper_offset)
    try:
        assert_lines(name, lo, hi, tight, rng, relax.peak)
    except AssertionError:
        return
    raise AssertionError("a lower line 1e-9 too high was not caught")
