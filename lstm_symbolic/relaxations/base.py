"""The relaxation interface and the shared construction for S-shaped functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ..interval import kernels as K
from ..interval import rounding as R

Pair = tuple[np.ndarray, np.ndarray]

# one outward step after each correctly rounded operation (finite values here)
_up, _down = R.step_up, R.step_down


class Linear1(NamedTuple):
    """``f(x) ∈ slope·x + offset + [−error, error]`` for every ``x`` in the given bounds.
    Arrays of one shape; ``error >= 0`` already rounded up."""

    slope: np.ndarray
    offset: np.ndarray
    error: np.ndarray


class Linear2(NamedTuple):
    """``g(x, y) ∈ slope_x·x + slope_y·y + offset + [−error, error]`` on the given box."""

    slope_x: np.ndarray
    slope_y: np.ndarray
    offset: np.ndarray
    error: np.ndarray


@dataclass(frozen=True)
class SShaped:
    """Relaxation of an increasing S-shaped function whose derivative is unimodal with its peak
    ``f'(0) = peak`` at 0 (σ and tanh).

    For any slope ``λ`` the residual ``g(x) = f(x) − λx`` has ``g' = f' − λ``. As ``f'`` is
    unimodal and even, ``{f' > λ} = (−x_λ, x_λ)`` with ``f'(x_λ) = λ`` (empty when
    ``λ >= peak``): ``g`` decreases, then increases, then decreases. So on ``[l, u]`` its minimum
    is at ``l``, ``u`` or ``−x_λ`` and its maximum at ``l``, ``u`` or ``x_λ`` — whichever lie in
    ``[l, u]``. Then ``f(x) ∈ λx + mid(g) ± rad(g)``.

    Two slopes are tried per unit and the one with the smaller error kept:

    - ``λ = min(f'(l), f'(u))`` bounded below (DeepZ, Singh et al. 2018): ``g`` is monotone on
      ``[l, u]``, the ends suffice — always available;
    - the secant slope (the Chebyshev choice on a convex or concave piece; much better than
      DeepZ on wide intervals): ``x_λ`` is computed from :attr:`inverse_derivative`, enclosed in
      ``X = x̃ ± δ``, the enclosure *verified* with sound bounds of ``f'`` at the ends of ``X``
      (``f'`` is monotone there), and ``g`` over ``X`` bounded by the mean-value form
      ``g(x̃) ± max|g'|·δ`` with ``max|g'| <= f'(X.near) − f'(X.far)``. An unverified enclosure
      drops this candidate for that unit.

    Every quantity is a sound enclosure; the float slopes need not be exact.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray, str], Pair]  # interval kernel of f
    derivative: Callable[[np.ndarray, str], Pair]  # bounds (lo, hi) of f'(x), pointwise
    inverse_derivative: Callable[[np.ndarray], np.ndarray]  # float x >= 0 with f'(x) ≈ λ
    peak: float  # f'(0), the maximum of f'

    def relax(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Linear1:
        """Linear enclosure of ``f`` on ``[lo, hi]`` (arrays, finite)."""
        f_lo_l, f_hi_l = self.value(lo, lo, mode)
        f_lo_u, f_hi_u = self.value(hi, hi, mode)
        ends = (lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u)

        deepz = np.maximum(np.minimum(self.derivative(lo, mode)[0], self.derivative(hi, mode)[0]), 0.0)
        best_off, best_err = self._residual(deepz, ends, mode, stationary=False)
        best_slope = deepz

        with np.errstate(invalid="ignore", divide="ignore"):
            secant = (0.5 * (f_lo_u + f_hi_u) - 0.5 * (f_lo_l + f_hi_l)) / (hi - lo)
        wide = (hi - lo) > 0
        if wide.any():
            secant = np.where(wide & np.isfinite(secant), np.clip(secant, 0.0, self.peak), deepz)
            off, err = self._residual(secant, ends, mode, stationary=True)
            better = err < best_err
            best_slope = np.where(better, secant, best_slope)
            best_off = np.where(better, off, best_off)
            best_err = np.where(better, err, best_err)
        return Linear1(best_slope, best_off, best_err)

    def _residual(self, lam: np.ndarray, ends: tuple, mode: str, stationary: bool) -> Pair:
        """Sound ``(mid, rad)`` of ``g = f − λx`` on ``[l, u]``; ``rad = inf`` where unverified."""
        lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u = ends
        # g(x) = f(x) − λx at the ends: two roundings (product, difference), two outward steps
        g_min = np.minimum(_down(f_lo_l - _up(lam * lo)), _down(f_lo_u - _up(lam * hi)))
        g_max = np.maximum(_up(f_hi_l - _down(lam * lo)), _up(f_hi_u - _down(lam * hi)))
        bad = np.zeros(lo.shape, dtype=bool)
        if stationary:
            inner = (lam > 0) & (lam < self.peak)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                xs = np.where(inner, self.inverse_derivative(np.where(inner, lam, 0.5 * self.peak)), 0.0)
            xs = np.where(np.isfinite(xs), xs, 0.0)
            delta = (np.abs(xs) + 1.0) * 2.0**-30
            for sign in (1.0, -1.0):  # +x_λ: local max of g;  −x_λ: local min of g
                centre = sign * xs
                near, far = centre - sign * delta, centre + sign * delta  # |near| < |far|
                X_lo, X_hi = np.minimum(near, far), np.maximum(near, far)
                touches = inner & (X_hi >= lo) & (X_lo <= hi)
                if not touches.any():
                    continue
                # f' decreases in |x|: verify f'(near) >= λ >= f'(far), so x_λ ∈ X
                d_near, d_far = self.derivative(near, mode), self.derivative(far, mode)
                ok = (d_near[0] >= lam) & (d_far[1] <= lam)
                bad |= touches & ~ok
                slope_span = _up(d_near[1] - d_far[0])
                spread = _up(_up(np.maximum(slope_span, 0.0) * delta))
                f_lo_c, f_hi_c = self.value(centre, centre, mode)
                if sign > 0:
                    g_c = _up(_up(f_hi_c - _down(lam * centre)) + spread)
                    g_max = np.where(touches & ok, np.maximum(g_max, g_c), g_max)
                else:
                    g_c = _down(_down(f_lo_c - _up(lam * centre)) - spread)
                    g_min = np.where(touches & ok, np.minimum(g_min, g_c), g_min)
        offset, error = K.midrad(g_min, g_max)
        return offset, np.where(bad, np.inf, error)

    def bounds(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
        """The interval enclosure of ``f([lo, hi])``."""
        return self.value(lo, hi, mode)
