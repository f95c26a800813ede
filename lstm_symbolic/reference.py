"""The reference LSTM: the real-number trajectory of the float weights, in high precision.

Soundness is checked against this module. It applies the seed's equations (see
:mod:`lstm_symbolic.lstm`) to the float64 weights and inputs *as exact rationals* and evaluates
them with mpmath at ``dps`` decimal digits::

    pre_g = W_g [a⟨t−1⟩, x⟨t⟩] + b_g          one rounding per pre-activation (mpmath.fdot:
                                               exact products, one rounded sum; the bias enters
                                               as the exact pair of :meth:`LSTMWeights.bias_exact`)
    Γ_f, Γ_u, Γ_o = σ(pre),  c̃ = tanh(pre)
    c⟨t⟩ = Γ_f c⟨t−1⟩ + Γ_u c̃,   a⟨t⟩ = Γ_o tanh(c⟨t⟩),   y⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)

Nothing is rounded to float64 on the way: the values carry ``dps`` digits (relative error about
``10**-dps`` per operation, far below one float64 ulp), so a float bound that excludes one of
them excludes the real value unless it lies within ~``10**-(dps-5)`` of it — which for the
transcendental values of an LSTM does not happen in practice (the exact ties that do happen —
σ(0) = 1/2, tanh(0) = 0, products with 0 — mpmath reproduces exactly).

Comparisons against float bounds are exact: a float converts to an mpf without rounding, and
the helpers here never round an mpf to a float before comparing (:func:`violations`).

>>> import numpy as np, lstm_symbolic as ls
>>> from lstm_symbolic.reference import exact_trajectory
>>> w = ls.LSTMWeights(W_f=np.ones((1, 2)), W_u=np.ones((1, 2)), W_c=np.ones((1, 2)),
...                    W_o=np.ones((1, 2)), b_f=[0.0], b_u=[0.0], b_c=[0.0], b_o=[0.0])
>>> ex = exact_trajectory(w, np.zeros((2, 1)))
>>> ex.f[0, 0], ex.c[0, 0]          # σ(0) = 1/2 and c = 1/2·0 + 1/2·tanh(0) = 0, exactly
(mpf('0.5'), mpf('0.0'))
>>> ex.T, ex.n_a
(2, 1)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple, Sequence

import mpmath
import numpy as np
from mpmath import mpf

__all__ = [
    "SIGNALS",
    "ExactTrajectory",
    "Violation",
    "exact_trajectory",
    "violations",
    "contained",
    "mp_sigmoid",
    "to_mpf_array",
]

#: Signal names, in the order of :class:`~lstm_symbolic.lstm.Run` and the propagation trace.
SIGNALS = ("f", "u", "o", "c_tilde", "c", "a", "y")
_GATE_OF = {"f": "f", "u": "u", "c_tilde": "c", "o": "o"}


def mp_sigmoid(x: mpf) -> mpf:
    """``σ(x) = 1 / (1 + e^{−x})`` at the current mpmath precision (no overflow: mpmath's
    exponent range is unbounded)."""
    return 1 / (1 + mpmath.exp(-x))


def to_mpf_array(values: Any) -> np.ndarray:
    """An object array of exact mpf copies of float64 ``values`` (``mpf(float)`` is exact)."""
    arr = np.asarray(values, dtype=np.float64)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = mpf(float(v))
    return out


@dataclass(frozen=True)
class ExactTrajectory:
    """High-precision values of every signal along one input sequence.

    Each signal is an object array of mpf of shape (T, n): ``f``, ``u``, ``o``, ``c_tilde``,
    ``c``, ``a`` (n = n_a) and ``y`` (n = n_y; ``None`` without an output layer). Row ``t−1``
    is step ``t``, as in the trace of :func:`lstm_symbolic.propagate`. ``z`` holds the logits
    ``W_y a⟨t⟩ + b_y`` (T, n_y) behind ``y`` (not a traced signal; for margin checks).
    """

    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    c: np.ndarray
    a: np.ndarray
    y: np.ndarray | None
    dps: int
    z: np.ndarray | None = None

    @property
    def T(self) -> int:
        """Number of steps."""
        return self.f.shape[0]

    @property
    def n_a(self) -> int:
        return self.f.shape[1]

    def signal(self, name: str) -> np.ndarray | None:
        """The object array of signal ``name`` (one of :data:`SIGNALS`)."""
        if name not in SIGNALS:
            raise KeyError(f"signal must be one of {SIGNALS}, got {name!r}")
        return getattr(self, name)

    def to_float(self) -> dict[str, np.ndarray | None]:
        """Every signal rounded to the nearest float64 (for display and sanity checks only —
        never for containment checks)."""
        out: dict[str, np.ndarray | None] = {}
        for name in SIGNALS:
            s = getattr(self, name)
            out[name] = None if s is None else np.array([[float(v) for v in row] for row in s], dtype=np.float64).reshape(s.shape)
        return out


class _MpModel(NamedTuple):
    rows: dict[str, list[list[mpf]]]  # gate -> n_a rows of [W row..., b, r] (mpf, exact)
    y_rows: list[list[mpf]] | None  # n_y rows of [W_y row..., b_y, r_y]


_CACHE: "weakref.WeakKeyDictionary[Any, _MpModel]" = weakref.WeakKeyDictionary()


def _mp_model(w: Any) -> _MpModel:
    """The weights as exact mpf rows, each with the two exact bias terms appended (so one
    :func:`mpmath.fdot` against ``[z..., 1, 1]`` gives ``W z + b`` with a single rounding)."""
    try:
        return _CACHE[w]
    except (KeyError, TypeError):
        pass
    rows: dict[str, list[list[mpf]]] = {}
    for gate in ("f", "u", "c", "o"):
        W = np.asarray(getattr(w, "W_" + gate), dtype=np.float64)
        b, r = (np.asarray(v, dtype=np.float64) for v in w.bias_exact(gate))
        rows[gate] = [[mpf(float(v)) for v in W[i]] + [mpf(float(b[i])), mpf(float(r[i]))] for i in range(W.shape[0])]
    y_rows = None
    if getattr(w, "W_y", None) is not None:
        W = np.asarray(w.W_y, dtype=np.float64)
        b, r = (np.asarray(v, dtype=np.float64) for v in w.bias_exact("y"))
        y_rows = [[mpf(float(v)) for v in W[i]] + [mpf(float(b[i])), mpf(float(r[i]))] for i in range(W.shape[0])]
    model = _MpModel(rows, y_rows)
    try:
        _CACHE[w] = model
    except TypeError:
        pass
    return model


def _initial(value: Any, n_a: int, name: str) -> list[mpf]:
    if value is None:
        return [mpf(0)] * n_a
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) == n_a and all(isinstance(v, mpf) for v in value):
        return [mpf(v) for v in value]
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n_a,):
        raise ValueError(f"{name}: expected shape ({n_a},) (one sequence), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values")
    return [mpf(float(v)) for v in arr]


def exact_trajectory(w: Any, xs: Any, a0: Any = None, c0: Any = None, dps: int = 60) -> ExactTrajectory:
    """The real-number LSTM trajectory of the float weights ``w`` along one input sequence.

    ``w``: :class:`~lstm_symbolic.LSTMWeights`; ``xs``: float array (T, n_x) (one sequence, no
    batch axis); ``a0``, ``c0``: (n_a,) floats or sequences of mpf (default zeros);
    ``dps``: decimal digits of the evaluation (default 60).

    Returns an :class:`ExactTrajectory` of mpf object arrays (T, n). The bias of each gate is
    the exact sum of the two floats of ``w.bias_exact(gate)``; ``y`` is the softmax evaluated in
    mpmath (shifted by the max logit, each ``y_k = e_k / Σ_j e_j``).

    >>> import numpy as np, lstm_symbolic as ls
    >>> rng = np.random.default_rng(0)
    >>> w = ls.LSTMWeights(**{k: rng.normal(size=(2, 3)) for k in ("W_f", "W_u", "W_c", "W_o")},
    ...                    **{k: rng.normal(size=2) for k in ("b_f", "b_u", "b_c", "b_o")})
    >>> xs = rng.normal(size=(4, 1))
    >>> ex = exact_trajectory(w, xs)
    >>> run = ls.forward(w, xs)
    >>> bool(abs(float(ex.c[3, 1]) - run.c[3, 1]) < 1e-14)
    True
    """
    x = np.asarray(xs, dtype=np.float64)
    n_a = int(w.n_a)
    n_x = int(w.n_x)
    if x.ndim != 2 or x.shape[1] != n_x or x.shape[0] == 0:
        raise ValueError(f"xs: expected shape (T, {n_x}) with T >= 1 (one sequence), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("xs: expected finite values")
    model = _mp_model(w)
    T = x.shape[0]
    n_y = None if model.y_rows is None else len(model.y_rows)
    out = {name: np.empty((T, n_a), dtype=object) for name in ("f", "u", "o", "c_tilde", "c", "a")}
    y = None if n_y is None else np.empty((T, n_y), dtype=object)
    zs = None if n_y is None else np.empty((T, n_y), dtype=object)
    one = mpf(1)
    fdot, exp, tanh = mpmath.fdot, mpmath.exp, mpmath.tanh
    with mpmath.workdps(dps):
        a = _initial(a0, n_a, "a0")
        c = _initial(c0, n_a, "c0")
        for t in range(T):
            z = a + [mpf(float(v)) for v in x[t]] + [one, one]
            pre = {g: [fdot(row, z) for row in model.rows[g]] for g in ("f", "u", "c", "o")}
            f = [1 / (1 + exp(-p)) for p in pre["f"]]
            u = [1 / (1 + exp(-p)) for p in pre["u"]]
            o = [1 / (1 + exp(-p)) for p in pre["o"]]
            ct = [tanh(p) for p in pre["c"]]
            c = [f[i] * c[i] + u[i] * ct[i] for i in range(n_a)]
            a = [o[i] * tanh(c[i]) for i in range(n_a)]
            for name, vals in (("f", f), ("u", u), ("o", o), ("c_tilde", ct), ("c", c), ("a", a)):
                out[name][t, :] = vals
            if y is not None:
                za = a + [one, one]
                logits = [fdot(row, za) for row in model.y_rows]
                zs[t, :] = logits
                zmax = max(logits)
                e = [exp(v - zmax) for v in logits]
                s = mpmath.fsum(e)
                y[t, :] = [v / s for v in e]
    return ExactTrajectory(y=y, dps=dps, z=zs, **out)


# --- exact comparison against float bounds ---------------------------------------------------


class Violation(NamedTuple):
    """A real value outside its float bound. ``step`` is 1-based (row ``step − 1`` of the
    trace); ``index`` is the position after the time axis (``(b, i)`` with a batch axis)."""

    signal: str
    step: int
    index: tuple[int, ...]
    value: mpf
    lo: float
    hi: float

    def __str__(self) -> str:
        side = "below lo" if self.value < self.lo else "above hi"
        return (
            f"{self.signal}⟨{self.step}⟩{list(self.index)}: exact value {mpmath.nstr(self.value, 25)} "
            f"{side}: bound [{self.lo!r}, {self.hi!r}]"
        )


def _bounds_of(trace: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    iv = getattr(trace, name, None)
    if iv is None:
        return None
    if isinstance(iv, tuple):
        return np.asarray(iv[0]), np.asarray(iv[1])
    return np.asarray(iv.lo), np.asarray(iv.hi)


def iter_violations(trace: Any, exact: ExactTrajectory, index: int | None = None, signals: Sequence[str] = SIGNALS) -> Iterator[Violation]:
    """Yield every entry of ``exact`` outside its bound in ``trace``.

    ``trace``: anything with attributes named like :data:`SIGNALS` holding Intervals (or
    ``(lo, hi)`` pairs) of shape (T', [B,] n) with T' >= ``exact.T``; ``index``: the batch entry
    ``b`` when the trace has a batch axis (required then). Comparisons are exact (mpf vs float).
    """
    for name in signals:
        vals = exact.signal(name)
        bounds = _bounds_of(trace, name)
        if vals is None and bounds is None:
            continue
        if vals is None or bounds is None:
            raise ValueError(f"signal {name!r}: present in only one of trace and exact trajectory")
        lo, hi = bounds
        if lo.ndim == 3:
            if index is None:
                raise ValueError(f"trace.{name} has a batch axis {lo.shape}: pass index=b")
            lo, hi = lo[:, index, :], hi[:, index, :]
        elif lo.ndim != 2:
            raise ValueError(f"trace.{name}: expected shape (T, [B,] n), got {lo.shape}")
        if lo.shape[0] < vals.shape[0] or lo.shape[1] != vals.shape[1]:
            raise ValueError(f"signal {name!r}: trace shape {lo.shape} does not cover exact shape {vals.shape}")
        for t in range(vals.shape[0]):
            for i in range(vals.shape[1]):
                v = vals[t, i]
                l_, h_ = float(lo[t, i]), float(hi[t, i])  # float() of a float64 is exact
                # mpf on the left: mpmath converts the float exactly and compares exactly
                if v < l_ or v > h_ or not (l_ <= h_):
                    yield Violation(name, t + 1, ((index, i) if index is not None and bounds[0].ndim == 3 else (i,)), v, l_, h_)


def violations(trace: Any, exact: ExactTrajectory, index: int | None = None, signals: Sequence[str] = SIGNALS) -> list[Violation]:
    """All violations (see :func:`iter_violations`), as a list."""
    return list(iter_violations(trace, exact, index, signals))


def contained(trace: Any, exact: ExactTrajectory, index: int | None = None, signals: Sequence[str] = SIGNALS) -> bool:
    """True when every exact value lies in its bound (exact comparison)."""
    return next(iter_violations(trace, exact, index, signals), None) is None
