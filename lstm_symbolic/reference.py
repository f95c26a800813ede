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
    "ModelTrajectory",
    "exact_model_trajectory",
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

    ``w``: :class:`~lstm_symbolic.LSTMWeights` (or a :class:`~lstm_symbolic.model.Model`: then
    :func:`exact_model_trajectory`); ``xs``: float array (T, n_x) (one sequence, no
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
    if not hasattr(w, "W_f"):  # a Model: every layer, every cell kind
        return exact_model_trajectory(w, xs, a0, c0, dps)
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


# --- any model: stacks, bidirectional layers, GRUs, projections, peepholes, embeddings ----------
#
# The equations below are written out again in mpmath, independently of lstm_symbolic.cells:
# only the *weights* are read from the model's cells (their documented layout: an LSTM cell's
# gate rows in the order f, u, o, c̃; a GRU's [r; z] rows and its candidate maps), never the
# cells' step code. Each affine map is one mpmath.fdot of exact rows (weights, then every bias
# column) against [inputs…, 1, …, 1]: exact products, one rounding at dps digits.


class ModelTrajectory:
    """High-precision values of every signal of every layer of a model along one sequence.

    ``layers``: one dict per layer, ``{signal: object array of mpf (T, n)}`` (a bidirectional
    layer's two directions concatenated, forward first, like the trace); ``y``, ``logits``: the
    softmax output and its logits ``W_y a⟨t⟩ + b_y`` (T, n_y), or None without a head. The
    last layer's signals are also attributes (``ex.a``, ``ex.r``, a GRU's ``ex.z`` …), as on a
    :class:`~lstm_symbolic.propagate.Trace`.
    """

    def __init__(self, layers: list[dict[str, np.ndarray]], y: np.ndarray | None, logits: np.ndarray | None, dps: int) -> None:
        self.layers, self.y, self.logits, self.dps = layers, y, logits, dps

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("layers", "y", "logits", "dps"):
            raise AttributeError(name)
        try:
            return self.layers[-1][name]
        except KeyError:
            raise AttributeError(f"no signal {name!r} in the last layer ({', '.join(self.layers[-1])})") from None

    @property
    def T(self) -> int:
        return next(iter(self.layers[-1].values())).shape[0]

    def signal(self, name: str) -> np.ndarray | None:
        """Signal ``name`` of the last layer, or ``y``."""
        if name == "y":
            return self.y
        return self.layers[-1].get(name)

    def to_float(self) -> list[dict[str, np.ndarray]]:
        """Every layer's signals rounded to float64 (and ``"y"`` in the last dict): display and
        sanity checks only."""
        conv = lambda a: np.array([[float(v) for v in row] for row in a], dtype=np.float64).reshape(a.shape)  # noqa: E731
        out = [{k: conv(v) for k, v in d.items()} for d in self.layers]
        if self.y is not None:
            out[-1]["y"] = conv(self.y)
        return out


def _mp_rows(W: np.ndarray, bias: np.ndarray) -> list[list[mpf]]:
    """Rows ``[W row…, bias columns…]`` as exact mpf."""
    W = np.asarray(W, dtype=np.float64)
    bias = np.zeros((W.shape[0], 0)) if bias is None else np.asarray(bias, dtype=np.float64).reshape(W.shape[0], -1)
    return [[mpf(float(v)) for v in W[i]] + [mpf(float(v)) for v in bias[i]] for i in range(W.shape[0])]


def _affine(affine: Any) -> tuple[list[list[mpf]], int]:
    """An :class:`~lstm_symbolic.cells.affine.Affine` as exact rows and its bias column count."""
    return _mp_rows(affine.W, affine.bias), int(affine.bias.shape[1])


def _apply(rows: tuple[list[list[mpf]], int], v: list[mpf]) -> list[mpf]:
    """``W v + b`` with one rounding per entry (mpmath.fdot of the exact rows)."""
    R_, k = rows
    z = list(v) + [mpf(1)] * k
    return [mpmath.fdot(row, z) for row in R_]


class _MpLSTM:
    """The LSTM equations in mpmath (with an optional projection and optional peepholes)::

        pre = W [a⟨t−1⟩, x⟨t⟩] + b, rows f, u, o, c̃
        Γ_f = σ(pre_f + p_f c⟨t−1⟩),  Γ_u = σ(pre_u + p_u c⟨t−1⟩),  c̃ = tanh(pre_c̃)
        c⟨t⟩ = Γ_f c⟨t−1⟩ + Γ_u c̃,   Γ_o = σ(pre_o + p_o c⟨t⟩),   a⟨t⟩ = W_hr (Γ_o tanh(c⟨t⟩))
    """

    def __init__(self, cell: Any) -> None:
        self.n = cell.gates.m // 4
        self.gates = _affine(cell.gates)
        self.proj = None if cell.projection is None else _affine(cell.projection)
        peep = cell.peepholes
        self.peep = None if peep is None else [[mpf(float(v)) for v in p] for p in peep]
        self.signals = ("f", "u", "o", "c_tilde", "c", "a")
        self.sizes = {"a": cell.n_hidden, "c": self.n}

    def step(self, x: list[mpf], state: dict[str, list[mpf]]) -> dict[str, list[mpf]]:
        n, a, c_prev = self.n, state["a"], state["c"]
        pre = _apply(self.gates, a + x)
        pf, pu, po, pc = pre[:n], pre[n : 2 * n], pre[2 * n : 3 * n], pre[3 * n :]
        if self.peep is not None:
            pf = [pf[i] + self.peep[0][i] * c_prev[i] for i in range(n)]
            pu = [pu[i] + self.peep[1][i] * c_prev[i] for i in range(n)]
        f = [mp_sigmoid(v) for v in pf]
        u = [mp_sigmoid(v) for v in pu]
        ct = [mpmath.tanh(v) for v in pc]
        c = [f[i] * c_prev[i] + u[i] * ct[i] for i in range(n)]
        if self.peep is not None:
            po = [po[i] + self.peep[2][i] * c[i] for i in range(n)]
        o = [mp_sigmoid(v) for v in po]
        h = [o[i] * mpmath.tanh(c[i]) for i in range(n)]
        a_new = h if self.proj is None else _apply(self.proj, h)
        return {"f": f, "u": u, "o": o, "c_tilde": ct, "c": c, "a": a_new}


class _MpGRU:
    """The GRU equations in mpmath::

        r = σ(W_r [a, x] + b_r),  z = σ(W_z [a, x] + b_z)
        n = tanh(W_in x + b_in + r (W_hn a + b_hn))     (reset after the hidden matmul)
          = tanh(W_hn (r a) + W_in x + b_n)             (reset before)
        a⟨t⟩ = (1 − z) n + z a⟨t−1⟩
    """

    def __init__(self, cell: Any) -> None:
        self.n = cell.n_hidden
        self.gates = _affine(cell.gates)
        self.candidate = _affine(cell.candidate)
        self.recurrent = None if cell.recurrent is None else _affine(cell.recurrent)
        self.signals = ("r", "z", "n", "a")
        self.sizes = {"a": self.n}

    def step(self, x: list[mpf], state: dict[str, list[mpf]]) -> dict[str, list[mpf]]:
        n, a = self.n, state["a"]
        g = _apply(self.gates, a + x)
        r = [mp_sigmoid(v) for v in g[:n]]
        z = [mp_sigmoid(v) for v in g[n:]]
        if self.recurrent is not None:
            xin, hid = _apply(self.candidate, x), _apply(self.recurrent, a)
            cand = [mpmath.tanh(xin[i] + r[i] * hid[i]) for i in range(n)]
        else:
            cand = [mpmath.tanh(v) for v in _apply(self.candidate, [r[i] * a[i] for i in range(n)] + x)]
        a_new = [(1 - z[i]) * cand[i] + z[i] * a[i] for i in range(n)]
        return {"r": r, "z": z, "n": cand, "a": a_new}


_MP_CELLS = {"lstm": _MpLSTM, "gru": _MpGRU}
_MODEL_CACHE: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _mp_of(model: Any) -> tuple[list[list[Any]], tuple | None, list[list[mpf]] | None]:
    try:
        return _MODEL_CACHE[model]
    except (KeyError, TypeError):
        pass
    layers = []
    for layer in model.layers:
        cells = [layer.cell] if layer.reverse is None else [layer.cell, layer.reverse]
        try:
            layers.append([(_MP_CELLS[c.kind](c), bool(layer.backward) or d == 1) for d, c in enumerate(cells)])
        except KeyError:
            raise ValueError(f"reference: no exact equations for a {cells[0].kind!r} cell") from None
    head = None if model.head is None else (_mp_rows(model.head.W, model.head.b[:, None]), 1)
    emb = None if model.embedding is None else [[mpf(float(v)) for v in row] for row in np.asarray(model.embedding, dtype=np.float64).T]
    out = (layers, head, emb)
    try:
        _MODEL_CACHE[model] = out
    except TypeError:
        pass
    return out


def exact_model_trajectory(model: Any, xs: Any, a0: Any = None, c0: Any = None, dps: int = 60) -> ModelTrajectory:
    """The real-number trajectory of every signal of ``model`` (a
    :class:`~lstm_symbolic.model.Model`, or anything :func:`~lstm_symbolic.model.as_model`
    takes) along one input sequence ``xs`` (T, n_x) — one-hot or soft vectors over the
    vocabulary when the model has an embedding (``x ↦ Eᵀ x``, exact for one-hot vectors).

    ``a0``, ``c0``: per cell, as :func:`~lstm_symbolic.propagate` takes them (one unbatched
    point each: (n,) floats or sequences of mpf; default zeros). Bidirectional layers run their
    reverse cell (and backward layers their cell) from step T down to 1; layer l + 1 reads
    layer l's output at each step.

    >>> import numpy as np
    >>> from lstm_symbolic.cells import Affine, GRUCell
    >>> from lstm_symbolic.model import Layer, Model
    >>> zero = lambda m, n: Affine(np.zeros((m, n)), np.zeros((m, 1)), [n])
    >>> cell = GRUCell(Affine(np.zeros((2, 2)), np.zeros((2, 1)), [1, 1]), zero(1, 1), zero(1, 1))
    >>> ex = exact_model_trajectory(Model((Layer(cell),)), np.ones((2, 1)), a0=[0.5])
    >>> ex.z[0, 0], ex.a[1, 0]           # z = σ(0) = 1/2, n = 0: a halves each step
    (mpf('0.5'), mpf('0.125'))
    """
    from .model import as_model, per_cell

    model = as_model(model)
    x = np.asarray(xs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != model.n_x or x.shape[0] == 0:
        raise ValueError(f"xs: expected shape (T, {model.n_x}) with T >= 1 (one sequence), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("xs: expected finite values")
    layers_mp, head, emb = _mp_of(model)
    starts = {"a": per_cell(model, a0, "a0"), "c": per_cell(model, c0, "c0")}
    T = x.shape[0]
    out_layers: list[dict[str, np.ndarray]] = []
    y = z = None
    with mpmath.workdps(dps):
        seq = [[mpf(float(v)) for v in x[t]] for t in range(T)]
        if emb is not None:
            seq = [[mpmath.fdot(col, xt) for col in emb] for xt in seq]
        k = 0
        for cells in layers_mp:
            per_dir = []
            for mc, backwards in cells:
                state = {name: _initial(starts[name][k], size, f"{name}0") for name, size in mc.sizes.items()}
                k += 1
                order = range(T - 1, -1, -1) if backwards else range(T)
                values: list[dict[str, list[mpf]]] = [dict() for _ in range(T)]
                for t in order:
                    sig = mc.step(seq[t], state)
                    state = {name: sig[name] for name in mc.sizes}
                    values[t] = sig
                per_dir.append(values)
            signals = {}
            for name in cells[0][0].signals:
                rows = [[v for vals in per_dir for v in vals[t][name]] for t in range(T)]
                arr = np.empty((T, len(rows[0])), dtype=object)
                for t in range(T):
                    arr[t, :] = rows[t]
                signals[name] = arr
            out_layers.append(signals)
            seq = [list(signals["a"][t]) for t in range(T)]
        if head is not None:
            n_y = len(head[0])
            y, z = np.empty((T, n_y), dtype=object), np.empty((T, n_y), dtype=object)
            for t in range(T):
                logits = _apply(head, seq[t])
                z[t, :] = logits  # z: the logits here (the GRU's gate z is a signal of out_layers)
                zmax = max(logits)
                e = [mpmath.exp(v - zmax) for v in logits]
                s = mpmath.fsum(e)
                y[t, :] = [v / s for v in e]
    return ModelTrajectory(out_layers, y, z, dps)


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


def _compare(label: str, vals: np.ndarray, bounds: tuple[np.ndarray, np.ndarray], index: int | None) -> Iterator[Violation]:
    lo, hi = bounds
    batched = lo.ndim == 3
    if batched:
        if index is None:
            raise ValueError(f"trace.{label} has a batch axis {lo.shape}: pass index=b")
        lo, hi = lo[:, index, :], hi[:, index, :]
    elif lo.ndim != 2:
        raise ValueError(f"trace.{label}: expected shape (T, [B,] n), got {lo.shape}")
    if lo.shape[0] < vals.shape[0] or lo.shape[1] != vals.shape[1]:
        raise ValueError(f"signal {label!r}: trace shape {lo.shape} does not cover exact shape {vals.shape}")
    for t in range(vals.shape[0]):
        for i in range(vals.shape[1]):
            v = vals[t, i]
            l_, h_ = float(lo[t, i]), float(hi[t, i])  # float() of a float64 is exact
            # mpf on the left: mpmath converts the float exactly and compares exactly
            if v < l_ or v > h_ or not (l_ <= h_):
                yield Violation(label, t + 1, ((index, i) if index is not None and batched else (i,)), v, l_, h_)


def iter_violations(trace: Any, exact: Any, index: int | None = None, signals: Sequence[str] | None = None) -> Iterator[Violation]:
    """Yield every entry of ``exact`` outside its bound in ``trace``.

    ``trace``: anything with attributes named like :data:`SIGNALS` holding Intervals (or
    ``(lo, hi)`` pairs) of shape (T', [B,] n) with T' >= ``exact.T``; ``index``: the batch entry
    ``b`` when the trace has a batch axis (required then). Comparisons are exact (mpf vs float).
    For a :class:`ModelTrajectory`, every signal of every layer is compared with the trace's
    ``layers`` (named ``layer2.a`` … when there are several layers), and ``y``; ``signals``
    then filters by signal name.
    """
    if isinstance(exact, ModelTrajectory):
        many = len(exact.layers) > 1
        for l, d in enumerate(exact.layers):
            for name, vals in d.items():
                if signals is not None and name not in signals:
                    continue
                iv = trace.layers[l].get(name)
                if iv is None:
                    raise ValueError(f"signal {name!r} of layer {l + 1}: not in the trace")
                yield from _compare(f"layer{l + 1}.{name}" if many else name, vals, (np.asarray(iv.lo), np.asarray(iv.hi)), index)
        if exact.y is not None and (signals is None or "y" in signals):
            yield from _compare("y", exact.y, _bounds_of(trace, "y"), index)
        return
    for name in SIGNALS if signals is None else signals:
        vals = exact.signal(name)
        bounds = _bounds_of(trace, name)
        if vals is None and bounds is None:
            continue
        if vals is None or bounds is None:
            raise ValueError(f"signal {name!r}: present in only one of trace and exact trajectory")
        yield from _compare(name, vals, bounds, index)


def violations(trace: Any, exact: Any, index: int | None = None, signals: Sequence[str] | None = None) -> list[Violation]:
    """All violations (see :func:`iter_violations`), as a list."""
    return list(iter_violations(trace, exact, index, signals))


def contained(trace: Any, exact: Any, index: int | None = None, signals: Sequence[str] | None = None) -> bool:
    """True when every exact value lies in its bound (exact comparison)."""
    return next(iter_violations(trace, exact, index, signals), None) is None
