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


class Lines1(NamedTuple):
    """Two lines around ``f`` on the given bounds, for every ``x`` in them::

        lower_slope·x + lower_offset  <=  f(x)  <=  upper_slope·x + upper_offset

    Arrays of one shape; slopes >= 0 (``f`` increasing); offsets already rounded the safe way
    (a line may be ``-inf``/``+inf`` offset where no sound line was found: then it says
    nothing, and its slope is 0)."""

    lower_slope: np.ndarray
    lower_offset: np.ndarray
    upper_slope: np.ndarray
    upper_offset: np.ndarray


class Lines2(NamedTuple):
    """Two planes around ``g(x, y)`` on the given box::

        lower_x·x + lower_y·y + lower_offset  <=  g(x, y)  <=  upper_x·x + upper_y·y + upper_offset
    """

    lower_x: np.ndarray
    lower_y: np.ndarray
    lower_offset: np.ndarray
    upper_x: np.ndarray
    upper_y: np.ndarray
    upper_offset: np.ndarray


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
    approx: Callable[[np.ndarray], np.ndarray] = np.tanh  # plain float f (search directions only)

    def relax(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Linear1:
        """Linear enclosure of ``f`` on ``[lo, hi]`` (arrays, finite)."""
        slope, g_min, g_max = self._best(lo, hi, mode)
        offset, error = K.midrad(g_min, g_max)
        return Linear1(slope, offset, error)

    def _best(self, lo: np.ndarray, hi: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The slope (DeepZ or the secant) whose residual ``g = f − λx`` has the smaller range
        on ``[lo, hi]``, and that range ``(g_min, g_max)``, sound."""
        f_lo_l, f_hi_l = self.value(lo, lo, mode)
        f_lo_u, f_hi_u = self.value(hi, hi, mode)
        ends = (lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u)
        slope = self._deepz(lo, hi, mode)
        g_min, g_max = self._range(slope, ends, mode, stationary=False)
        wide = (hi - lo) > 0
        if wide.any():
            secant = np.where(wide, self._secant(ends), slope)
            s_min, s_max = self._range(secant, ends, mode, stationary=True)
            with np.errstate(invalid="ignore"):
                better = (s_max - s_min) < (g_max - g_min)
            slope = np.where(better, secant, slope)
            g_min, g_max = np.where(better, s_min, g_min), np.where(better, s_max, g_max)
        return slope, g_min, g_max

    def _deepz(self, lo: np.ndarray, hi: np.ndarray, mode: str) -> np.ndarray:
        """A slope at most ``min f'`` on ``[lo, hi]`` (``f'`` is unimodal: its minimum is at an
        end), so ``f − λx`` is monotone there and its ends bound it."""
        return np.maximum(np.minimum(self.derivative(lo, mode)[0], self.derivative(hi, mode)[0]), 0.0)

    def _secant(self, ends: tuple) -> np.ndarray:
        """The chord slope (float, clipped to ``[0, peak]``; ``0`` on points)."""
        lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u = ends
        with np.errstate(invalid="ignore", divide="ignore"):
            secant = (0.5 * (f_lo_u + f_hi_u) - 0.5 * (f_lo_l + f_hi_l)) / (hi - lo)
        return np.where((hi - lo > 0) & np.isfinite(secant), np.clip(secant, 0.0, self.peak), 0.0)

    def lines(
        self,
        lo: np.ndarray,
        hi: np.ndarray,
        mode: str = "fast",
        lower_slope: np.ndarray | None = None,
        upper_slope: np.ndarray | None = None,
    ) -> Lines1:
        """A lower and an upper line of ``f`` on ``[lo, hi]`` (finite arrays; slopes may carry
        more axes than the bounds, e.g. one slope per row of a backward pass).

        For *any* slopes the lines are sound: the offsets are the sound minimum and maximum of
        ``g = f − λx`` on ``[lo, hi]`` (see the class docstring) — which is what lets callers
        optimise the slopes freely (α-CROWN). Given no slopes, both lines take the slope of
        :meth:`relax` (the smaller residual range of DeepZ and the secant; measured as tight as
        choosing each line's slope by area among the chord and the tangents at the ends and the
        midpoint, at a fifth of the cost) with the residual's minimum and maximum as offsets.
        """
        if lower_slope is None and upper_slope is None:
            slope, g_min, g_max = self._best(lo, hi, mode)
            return Lines1(slope, g_min, slope, g_max)
        f_lo_l, f_hi_l = self.value(lo, lo, mode)
        f_lo_u, f_hi_u = self.value(hi, hi, mode)
        ends = (lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u)
        default = None
        out = []
        for which, given in ((0, lower_slope), (1, upper_slope)):
            if given is None:
                if default is None:
                    default = self._best(lo, hi, mode)
                out.append((default[0], default[1 + which]))
                continue
            lam = np.clip(np.where(np.isfinite(given), given, 0.0), 0.0, self.peak)
            out.append((lam, self._range(lam, ends, mode, stationary=True)[which]))
        (ls_, lo_), (us_, uo_) = out
        return Lines1(ls_, lo_, us_, uo_)

    def _range(self, lam: np.ndarray, ends: tuple, mode: str, stationary: bool) -> Pair:
        """Sound ``(min, max)`` of ``g = f − λx`` on ``[l, u]``; ``(−inf, +inf)`` where a
        stationary point could not be verified."""
        lo, hi, f_lo_l, f_hi_l, f_lo_u, f_hi_u = ends
        # g(x) = f(x) − λx at the ends: two roundings (product, difference), two outward steps
        g_min = np.minimum(_down(f_lo_l - _up(lam * lo)), _down(f_lo_u - _up(lam * hi)))
        g_max = np.maximum(_up(f_hi_l - _down(lam * lo)), _up(f_hi_u - _down(lam * hi)))
        bad = np.zeros(np.broadcast_shapes(lo.shape, np.shape(lam)), dtype=bool)
        if stationary:
            # g' = f' − λ vanishes where f' = λ: at ±x_λ (f' even, decreasing in |x|), only for
            # 0 < λ < peak. On each side of 0 the stationary point lies strictly inside the
            # part of [l, u] on that side only if f'(end near 0) > λ > f'(end far from 0):
            # where sound bounds rule that out, the ends suffice; elsewhere x_λ must be
            # enclosed and the enclosure verified, or the unit is marked unverified.
            inner = (lam > 0) & (lam < self.peak)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                xs = np.where(inner, self.inverse_derivative(np.where(inner, lam, 0.5 * self.peak)), 0.0)
            found = np.isfinite(xs)
            xs = np.where(found, xs, 0.0)
            delta = (np.abs(xs) + 1.0) * 2.0**-30
            zero = np.zeros_like(lo)
            for sign in (1.0, -1.0):  # +x_λ: local max of g;  −x_λ: local min of g
                if sign > 0:
                    near_end, far_end, seg = np.maximum(lo, zero), hi, hi >= 0
                else:
                    near_end, far_end, seg = np.minimum(hi, zero), lo, lo <= 0
                d_ne, d_fe = self.derivative(near_end, mode), self.derivative(far_end, mode)
                possible = inner & seg & (d_ne[1] > lam) & (d_fe[0] < lam)
                if not possible.any():
                    continue
                centre = sign * xs
                near, far = centre - sign * delta, centre + sign * delta  # |near| < |far|
                X_lo, X_hi = np.minimum(near, far), np.maximum(near, far)
                # f' decreases in |x|: verify f'(near) >= λ >= f'(far), so x_λ ∈ X
                d_near, d_far = self.derivative(near, mode), self.derivative(far, mode)
                ok = found & (d_near[0] >= lam) & (d_far[1] <= lam)
                bad |= possible & ~ok
                touches = possible & ok & (X_hi >= lo) & (X_lo <= hi)
                if not touches.any():
                    continue
                slope_span = _up(d_near[1] - d_far[0])
                spread = _up(_up(np.maximum(slope_span, 0.0) * delta))
                f_lo_c, f_hi_c = self.value(centre, centre, mode)
                if sign > 0:
                    g_c = _up(_up(f_hi_c - _down(lam * centre)) + spread)
                    g_max = np.where(touches, np.maximum(g_max, g_c), g_max)
                else:
                    g_c = _down(_down(f_lo_c - _up(lam * centre)) - spread)
                    g_min = np.where(touches, np.minimum(g_min, g_c), g_min)
        return np.where(bad, -np.inf, g_min), np.where(bad, np.inf, g_max)

    def touch_point(self, lam: np.ndarray, lo: np.ndarray, hi: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray]:
        """Where the line of slope ``λ`` touches ``f`` on ``[lo, hi]`` and its offset there: the
        maximiser (upper line) or minimiser (lower line) ``x*`` of ``g(x) = f(x) − λx`` and
        ``g(x*)``, in plain float — a search direction for optimising slopes, never part of a
        bound (:meth:`lines` gives the sound offsets). ``∂ offset/∂λ = −x*`` (envelope
        theorem). The candidates are the ends and the stationary point ``±x_λ`` (``+`` for the
        maximum, ``−`` for the minimum)."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            inner = (lam > 0) & (lam < self.peak)
            xs = self.inverse_derivative(np.where(inner, lam, 0.5 * self.peak))
            xs = np.where(inner & np.isfinite(xs), xs, 0.0)
            xs = np.clip(xs if upper else -xs, lo, hi)
            f = self.approx
            g_lo, g_hi, g_s = f(lo) - lam * lo, f(hi) - lam * hi, f(xs) - lam * xs
        if upper:
            x = np.where(g_lo >= g_hi, lo, hi)
            g = np.maximum(g_lo, g_hi)
            take = g_s > g
        else:
            x = np.where(g_lo <= g_hi, lo, hi)
            g = np.minimum(g_lo, g_hi)
            take = g_s < g
        return np.where(take, xs, x), np.where(take, g_s, g)

    def bounds(self, lo: np.ndarray, hi: np.ndarray, mode: str = "fast") -> Pair:
        """The interval enclosure of ``f([lo, hi])``."""
        return self.value(lo, hi, mode)
