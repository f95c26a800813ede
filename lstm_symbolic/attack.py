"""Inner estimates: ranges of signals over *real* trajectories — what every sound bound contains.

A sound bound must contain the value of its signal for every input sequence in the set, so the
hull of the values along any collection of real trajectories is an *inner* estimate of the
exact reachable range. :func:`inner_estimate` builds that hull from float forward passes
(:func:`lstm_symbolic.forward`, batched) over sequences drawn from the set in three ways, and
reports each source separately so that a bound can be compared with each:

``uniform``
    ``samples`` sequences, each input uniform in its step's set (uniform token for one-hot).
``corners``
    as many sequences of random corners (random vertices: every coordinate at one of its ends);
    for one-hot sets the vertices are the tokens, so this is the ``uniform`` source again and
    is not repeated.
``attack``
    per target (signal, step, unit, direction): start at the corner given by the sign of the
    gradient at the centre of the set, then sign-gradient (PGD / iterated FGSM) steps projected
    back onto the set, with a per-target step that starts at the full width of the set and is
    halved whenever a step does not improve the target. Gradients are exact reverse-mode
    derivatives of the float forward pass (:func:`gradient`), batched over targets. Every
    iterate is a real trajectory and enters the hull, not only the best one.
``exhaustive``
    one-hot sets with at most ``enumerate_limit`` sequences: every sequence, enumerated as a
    tree (each prefix computed once). The hull is then the exact reachable range of the float
    forward pass (``InnerEstimate.exact`` is True) and the other sources are skipped.

Every point lies in the real set: boxes by clipping to their ends, L∞ balls by the exact
TwoSum test of :func:`lstm_symbolic.testing._into_ball`. With ``witnesses=True`` the input
sequence that attains each end is kept, so a test can replay it with :func:`forward`.

These are float trajectories: they differ from the exact real-number model by rounding (a few
ulps), far below any width this module is used to measure.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .errors import InputError
from .inputs import InputSet, OneHot, as_schedule
from .interval import Interval
from .lstm import LSTMWeights, Run, cell_step, forward, softmax
from .testing import _StepMembers

__all__ = ["inner_estimate", "InnerEstimate", "gradient", "SOURCES", "margin_attack", "token_attack"]

#: Names of the sources of an inner estimate, in the order they are computed.
SOURCES = ("exhaustive", "uniform", "corners", "attack")
_SIGNALS = ("f", "u", "o", "c_tilde", "c", "a", "y")

Pair = tuple[np.ndarray, np.ndarray]


class InnerEstimate(dict):
    """``{signal: (lo, hi)}``: the hull over every source, arrays of shape (T, n).

    Attributes: ``sources`` — ``{source: {signal: (lo, hi)}}`` for each source that ran;
    ``exact`` — True when the one-hot sets were enumerated exhaustively (the hull is then the
    exact reachable range of the float model); ``witnesses`` — with ``witnesses=True``,
    ``{source: {signal: (x_lo, x_hi)}}`` with ``x_lo[t, j]`` (T, n_x) the input sequence whose
    trajectory attains ``sources[source][signal][0][t, j]`` (likewise ``x_hi``); ``notes`` —
    sources skipped and why; ``counts`` — trajectories evaluated per source. The attack
    runs each target only up to its step, so with ``attack_steps`` restricted the ``attack``
    source is empty (``lo = +inf``, ``hi = −inf``) after the last attacked step.
    """

    sources: dict[str, dict[str, Pair]]
    witnesses: dict[str, dict[str, Pair]]
    exact: bool
    notes: list[str]
    counts: dict[str, int]

    def mean_width(self, signal: str = "a", source: str | None = None) -> np.ndarray:
        """Mean width over units of ``signal`` per step, (T,), of the hull or of one source."""
        lo, hi = self[signal] if source is None else self.sources[source][signal]
        return (hi - lo).mean(axis=1)


# --- hull of trajectories -------------------------------------------------------------------


class _Hull:
    """Running min/max of each signal over trajectories, (T, n) each, with optional witnesses."""

    def __init__(self, sizes: dict[str, int], T: int, n_x: int, witnesses: bool) -> None:
        self.lo = {s: np.full((T, n), np.inf) for s, n in sizes.items()}
        self.hi = {s: np.full((T, n), -np.inf) for s, n in sizes.items()}
        self.wit = None
        if witnesses:
            self.wit = {s: (np.full((T, n, T, n_x), np.nan), np.full((T, n, T, n_x), np.nan)) for s, n in sizes.items()}
        self.count = 0

    def update(self, values: dict[str, np.ndarray], xs: np.ndarray | None) -> None:
        """``values[s]``: (T', K, n) for steps 1..T' (T' <= T); ``xs``: (T, K, n_x) inputs."""
        for s, v in values.items():
            T_ = v.shape[0]
            for side, reduce_, arg, better in (("lo", np.min, np.argmin, np.less), ("hi", np.max, np.argmax, np.greater)):
                best = getattr(self, side)[s][:T_]
                idx = arg(v, axis=1)  # (T', n)
                val = np.take_along_axis(v, idx[:, None, :], axis=1)[:, 0, :]
                improved = better(val, best)
                if not improved.any():
                    continue
                best[improved] = val[improved]
                if self.wit is not None and xs is not None:
                    ti, ui = np.nonzero(improved)
                    store = self.wit[s][0 if side == "lo" else 1]
                    store[ti, ui] = np.moveaxis(xs[:, idx[ti, ui], :], 1, 0)
        if values:
            self.count += next(iter(values.values())).shape[1]

    def pairs(self) -> dict[str, Pair]:
        return {s: (self.lo[s].copy(), self.hi[s].copy()) for s in self.lo}


def _values(run: Run, signals: Iterable[str]) -> dict[str, np.ndarray]:
    return {s: getattr(run, s) for s in signals}


# --- exact reverse-mode gradient of the float forward pass ----------------------------------


def gradient(
    w: LSTMWeights,
    run: Run,
    xs: np.ndarray,
    a0: np.ndarray,
    c0: np.ndarray,
    signal: np.ndarray,
    step: np.ndarray,
    unit: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """Gradient of ``weight[b] · s_b⟨step_b + 1⟩[unit_b]`` with respect to the inputs, per
    sequence ``b`` — reverse mode through the seed's equations, on the float trajectory ``run``.

    ``run``: :func:`forward` of ``xs`` (T, B, n_x) from ``a0``, ``c0`` (B, n_a) (arrays may be
    broadcast views); ``signal`` (B,) names from ``f u o c_tilde c a y``; ``step`` (B,)
    0-based; ``unit``, ``weight`` (B,). Returns d/dxs, (T, B, n_x) (zero after each step_b).
    """
    n = w.n_a
    T, B, n_x = xs.shape
    dx = np.zeros((T, B, n_x))
    dA = np.zeros((B, n))
    dC = np.zeros((B, n))
    W = w.W_gates
    rows = np.arange(B)
    for t in range(int(step.max()), -1, -1):
        inject = {s: np.zeros((B, n)) for s in ("f", "u", "o", "c_tilde")}
        here = step == t
        for s in set(signal[here].tolist()):
            m = here & (signal == s)
            if s == "a":
                dA[rows[m], unit[m]] += weight[m]
            elif s == "c":
                dC[rows[m], unit[m]] += weight[m]
            elif s == "y":
                y = run.y[t][m]  # dy_k/dz = y_k (e_k − y); z = W_y a + b_y
                g = -y * y[np.arange(m.sum()), unit[m]][:, None]
                g[np.arange(m.sum()), unit[m]] += y[np.arange(m.sum()), unit[m]]
                dA[m] += (weight[m][:, None] * g) @ w.W_y
            else:
                inject[s][rows[m], unit[m]] += weight[m]
        f, u, o, ct, c = run.f[t], run.u[t], run.o[t], run.c_tilde[t], run.c[t]
        c_prev = run.c[t - 1] if t else c0
        tc = np.tanh(c)
        g_o = dA * tc + inject["o"]
        dc = dC + dA * o * (1.0 - tc * tc)
        g_f = dc * c_prev + inject["f"]
        g_u = dc * ct + inject["u"]
        g_ct = dc * u + inject["c_tilde"]
        dP = np.concatenate([g_f * f * (1.0 - f), g_u * u * (1.0 - u), g_ct * (1.0 - ct * ct), g_o * o * (1.0 - o)], axis=-1)
        dz = dP @ W
        dx[t] = dz[:, n:]
        dA = dz[:, :n]
        dC = dc * f
    return dx


# --- the input schedule, vectorised over time -----------------------------------------------


class _Schedule:
    """Per-step members of the (unbatched) input sets, with (T, 1, n_x) ends for boxes."""

    def __init__(self, w: LSTMWeights, inputs: Any, steps: int | None) -> None:
        schedule, B = as_schedule(inputs, steps, w.n_x)
        if B is not None:
            raise InputError("inputs", "unbatched input sets (call once per batch entry)", got=f"batch size {B}")
        self.T = len(schedule)
        self.sets = [s for s, _ in schedule]
        self.members = [_StepMembers(s, t, None) for s, t in schedule]
        self.onehot = all(m.kind == "onehot" for m in self.members)
        self.continuous = all(m.kind != "onehot" for m in self.members)
        if self.continuous:
            self.lo = np.stack([m.lo for m in self.members])[:, None, :]
            self.hi = np.stack([m.hi for m in self.members])[:, None, :]
            self.centre = np.stack([m.centre() for m in self.members])[:, None, :]

    def fix(self, xs: np.ndarray) -> np.ndarray:
        """Project (T', K, n_x) onto the sets, step by step (exact membership)."""
        return np.stack([self.members[t]._fix(xs[t]) for t in range(xs.shape[0])])

    def uniform(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return np.stack([m.random(rng, k) for m in self.members])

    def corners(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return np.stack([m.extreme(rng, k) for m in self.members])

    def tokens(self) -> list[np.ndarray]:
        return [m.tokens for m in self.members]


def _point(value: Any, name: str, n_a: int) -> np.ndarray:
    if value is None:
        return np.zeros(n_a)
    if isinstance(value, Interval):
        if not (value.lo == value.hi).all():
            raise InputError(name, "a point (array, or an Interval of width 0)", got="an Interval of positive width")
        value = value.lo
    arr = np.array(value, dtype=np.float64)
    if arr.shape != (n_a,) or not np.isfinite(arr).all():
        raise InputError(name, f"a finite array of shape ({n_a},)", got=f"shape {arr.shape}")
    return arr


# --- the sources -----------------------------------------------------------------------------


def _run_batches(w, xs_fn, total: int, batch: int, a0, c0, hull: _Hull, signals) -> None:
    done = 0
    while done < total:
        k = min(batch, total - done)
        xs = xs_fn(k)
        hull.update(_values(forward(w, xs, a0=a0, c0=c0), signals), xs)
        done += k


def _enumerate(w, tokens: list[np.ndarray], a0, c0, hull: _Hull, signals, chunk: int) -> None:
    """Every token sequence, as a tree: each prefix's state computed once, children in chunks
    of at most ``chunk`` states. Same float operations as :func:`forward` (its ``cell_step``)."""
    T = len(tokens)
    n_x = tokens[0].shape[1]

    def grow(a: np.ndarray, c: np.ndarray, seq: np.ndarray, t: int) -> None:
        if t == T:
            return
        k = len(tokens[t])
        if len(a) * k > chunk and len(a) > 1:
            part = max(chunk // k, 1)
            for i in range(0, len(a), part):
                grow(a[i : i + part], c[i : i + part], seq[:, i : i + part], t)
            return
        N = len(a)
        a_r, c_r = np.repeat(a, k, axis=0), np.repeat(c, k, axis=0)
        x = np.tile(tokens[t], (N, 1))
        s = cell_step(w, a_r, c_r, x)
        if w.W_y is not None:
            s["y"] = softmax(s["a"] @ w.W_y.T + w.b_y)
        new_seq = np.repeat(seq, k, axis=1)
        new_seq[t] = x
        # only step t+1 is new: the earlier steps were recorded at their own level
        _hull_at(hull, {name: s[name][None] for name in signals}, t, new_seq)
        grow(s["a"], s["c"], new_seq, t + 1)

    seq0 = np.stack([tok[:1] for tok in tokens])  # later steps: any member (witnesses)
    grow(a0[None], c0[None], seq0, 0)


def _hull_at(hull: _Hull, vals: dict[str, np.ndarray], t: int, xs: np.ndarray) -> None:
    """Update ``hull`` at step index ``t`` only with ``vals[s]`` of shape (1, K, n)."""
    for s, v in vals.items():
        lo, hi = hull.lo[s][t : t + 1], hull.hi[s][t : t + 1]
        for side, arg, better, store in ((lo, np.argmin, np.less, 0), (hi, np.argmax, np.greater, 1)):
            idx = arg(v, axis=1)
            val = np.take_along_axis(v, idx[:, None, :], axis=1)[:, 0, :]
            improved = better(val, side)
            if not improved.any():
                continue
            side[improved] = val[improved]
            if hull.wit is not None:
                _, ui = np.nonzero(improved)
                hull.wit[s][store][t, ui] = np.moveaxis(xs[:, idx[0, ui], :], 1, 0)


def _attack(w, sched: _Schedule, a0, c0, hull: _Hull, signals, sizes, attack_steps, iterations: int, batch: int) -> None:
    """Sign-gradient ascent per (signal, step, unit, direction), batched over targets."""
    targets = [(s, t, j, d) for s in signals for t in attack_steps for j in range(sizes[s]) for d in (1.0, -1.0)]
    width = sched.hi - sched.lo  # (T, 1, n_x)
    for start in range(0, len(targets), batch):
        chunk = targets[start : start + batch]
        K = len(chunk)
        sig = np.array([c[0] for c in chunk])
        step = np.array([c[1] for c in chunk])
        unit = np.array([c[2] for c in chunk])
        sign = np.array([c[3] for c in chunk])
        T_ = int(step.max()) + 1
        lo, hi, centre, wd = sched.lo[:T_], sched.hi[:T_], sched.centre[:T_], width[:T_]
        A0, C0 = np.broadcast_to(a0, (K, a0.size)), np.broadcast_to(c0, (K, c0.size))

        def run_of(xs: np.ndarray) -> Run:
            return forward(w, xs, a0=A0, c0=C0)

        def objective(run: Run) -> np.ndarray:
            out = np.empty(K)
            for s in set(sig.tolist()):
                m = sig == s
                out[m] = sign[m] * getattr(run, s)[step[m], np.flatnonzero(m), unit[m]]
            return out

        def grad(run: Run, xs: np.ndarray) -> np.ndarray:
            return gradient(w, run, xs, A0, C0, sig, step, unit, sign)

        def record(run: Run, xs: np.ndarray) -> None:
            hull.update(_values(run, signals), _pad(xs, sched))

        xs = np.broadcast_to(centre, (T_, K, w.n_x)).copy()
        run = run_of(xs)
        g = grad(run, xs)
        xs = sched.fix(np.where(g > 0, hi, np.where(g < 0, lo, centre)))  # sign-of-gradient corner
        run = run_of(xs)
        record(run, xs)
        best, best_obj, g = xs, objective(run), grad(run, xs)
        factor = np.ones(K)
        for _ in range(iterations):
            cand = sched.fix(np.clip(best + factor[None, :, None] * wd * np.sign(g), lo, hi))
            run = run_of(cand)
            record(run, cand)
            obj = objective(run)
            up = obj > best_obj
            if up.any():
                best = best.copy()
                best[:, up] = cand[:, up]
                best_obj = np.where(up, obj, best_obj)
                g_new = grad(run, cand)
                g[:, up] = g_new[:, up]
            factor = np.where(up, factor, factor * 0.5)


def _pad(xs: np.ndarray, sched: _Schedule) -> np.ndarray:
    """Inputs (T', K, n_x) completed to the full horizon with the centre (for witnesses)."""
    if xs.shape[0] == sched.T:
        return xs
    rest = np.broadcast_to(sched.centre[xs.shape[0] :], (sched.T - xs.shape[0],) + xs.shape[1:])
    return np.concatenate([xs, rest])


def inner_estimate(
    w: LSTMWeights,
    inputs: InputSet | Any,
    steps: int | None = None,
    a0: Any = None,
    c0: Any = None,
    samples: int = 20000,
    corners: bool | int = True,
    attack: bool = True,
    seed: int = 0,
    signals: Iterable[str] = ("a",),
    *,
    attack_steps: int | Iterable[int] | None = None,
    iterations: int = 12,
    enumerate_limit: int = 200_000,
    batch: int = 4096,
    witnesses: bool = False,
) -> InnerEstimate:
    """Hull of ``signals`` over real trajectories of ``w`` with inputs in ``inputs``.

    ``inputs``, ``steps``: as for :func:`lstm_symbolic.propagate` (unbatched sets only).
    ``a0``, ``c0``: points (n_a,), default zeros. ``samples``: uniform sequences;
    ``corners``: True for as many random-corner sequences, an int for that many, False for
    none; ``attack``: the gradient attack on every (signal, step in ``attack_steps``, unit,
    direction) — ``attack_steps``: 1-based steps, an int or an iterable (default: every step);
    ``iterations``: sign-gradient steps per target. One-hot schedules with at most
    ``enumerate_limit`` sequences are enumerated (exact; the other sources are then skipped);
    larger ones are sampled (no attack: there is no gradient to follow). ``batch``:
    sequences per forward pass. Returns an :class:`InnerEstimate` (arrays (T, n)).
    """
    if not isinstance(w, LSTMWeights):
        raise InputError("w", "an LSTMWeights", got=type(w).__name__)
    signals = tuple(signals)
    for s in signals:
        if s not in _SIGNALS:
            raise InputError("signals", f"names from {_SIGNALS}", got=s)
        if s == "y" and w.W_y is None:
            raise InputError("signals", "'y' only for a model with an output layer")
    if not signals:
        raise InputError("signals", "at least one signal name")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise InputError("samples", "a non-negative integer", got=samples)
    sched = _Schedule(w, inputs, steps)
    T = sched.T
    a0_, c0_ = _point(a0, "a0", w.n_a), _point(c0, "c0", w.n_a)
    sizes = {s: (w.n_y if s == "y" else w.n_a) for s in signals}
    if attack_steps is None:
        att_steps = list(range(T))
    else:
        given = [attack_steps] if isinstance(attack_steps, (int, np.integer)) else list(attack_steps)
        if not given or any(isinstance(t, bool) or not 1 <= int(t) <= T for t in given):
            raise InputError("attack_steps", f"1-based steps in [1, {T}]", got=attack_steps)
        att_steps = sorted({int(t) - 1 for t in given})
    n_corners = samples if corners is True else int(corners or 0)
    rng = np.random.default_rng(seed)
    hulls: dict[str, _Hull] = {}
    notes: list[str] = []
    exact = False

    def new_hull() -> _Hull:
        return _Hull(sizes, T, w.n_x, witnesses)

    if sched.onehot:
        count = 1.0
        for tok in sched.tokens():
            count *= len(tok)
        if count <= enumerate_limit:
            hulls["exhaustive"] = new_hull()
            _enumerate(w, sched.tokens(), a0_, c0_, hulls["exhaustive"], signals, max(batch, 1))
            hulls["exhaustive"].count = int(count)
            exact = True
            notes.append(f"one-hot: all {int(count)} sequences enumerated (exact range of the float model)")
        else:
            notes.append(f"one-hot: {count:.3g} sequences > enumerate_limit; sampled, no attack (no gradient)")
    if not exact:
        if samples:
            hulls["uniform"] = new_hull()
            _run_batches(w, lambda k: sched.uniform(rng, k), samples, batch, a0_, c0_, hulls["uniform"], signals)
        if n_corners and not sched.onehot:
            hulls["corners"] = new_hull()
            _run_batches(w, lambda k: sched.corners(rng, k), n_corners, batch, a0_, c0_, hulls["corners"], signals)
        elif n_corners:
            notes.append("one-hot: the corners are the tokens; see 'uniform'")
        if attack and sched.continuous:
            hulls["attack"] = new_hull()
            _attack(w, sched, a0_, c0_, hulls["attack"], signals, sizes, att_steps, iterations, max(batch // 4, 64))
        elif attack:
            notes.append("attack skipped: it needs continuous input sets at every step")
    if not hulls:
        raise InputError("samples", "at least one source (samples, corners or attack)")
    out = InnerEstimate()
    for s in signals:
        out[s] = (
            np.min([h.lo[s] for h in hulls.values()], axis=0),
            np.max([h.hi[s] for h in hulls.values()], axis=0),
        )
    out.sources = {name: h.pairs() for name, h in hulls.items()}
    out.witnesses = {name: h.wit for name, h in hulls.items() if h.wit is not None}
    out.exact = exact
    out.notes = notes
    out.counts = {name: h.count for name, h in hulls.items()}
    return out


# --- margin attacks: candidate counterexamples for certificates -------------------------------


def _margins_float(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float ``min_{j≠label} (z_label − z_j)`` (K,) and the arg-min class (K,)."""
    z = logits.copy()
    K = np.arange(z.shape[0])
    zl = z[K, labels]
    z[K, labels] = -np.inf
    j = z.argmax(axis=-1)
    return zl - z[K, j], j


def margin_attack(
    model: Any,
    lo: np.ndarray,
    hi: np.ndarray,
    labels: np.ndarray,
    a0: Any = None,
    c0: Any = None,
    restarts: int = 4,
    iterations: int = 20,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Search each box ``[lo[:, b], hi[:, b]]`` (T, B, n_x) for an input sequence whose logits
    at the last step put some class above ``labels[b]``: projected sign-gradient ascent on the
    margin ``max_{j≠label} z_j − z_label`` (Carlini–Wagner's), from the centre, from the
    corner the centre's gradient points to, and from ``restarts − 2`` uniform points; the step
    starts at a quarter of the width and shrinks geometrically. Gradients are exact for the
    float forward pass (:mod:`lstm_symbolic.certification.tape`), for any unidirectional model.

    The boxes must consist of members of the set (``lo``, ``hi`` exact members, as
    :class:`~lstm_symbolic.inputs.ClippedBall` ``.inner``): every candidate is clipped into
    them, so it is a member too. Returns the best candidate per entry (T, B, n_x) and its
    float margin ``min_{j≠label} (z_label − z_j)`` (B,) — negative means a candidate
    counterexample, still to be replayed exactly."""
    from .certification.tape import run_tape
    from .model import as_model

    m = as_model(model)
    T, B, n_x = lo.shape
    R_ = max(int(restarts), 2)
    rng = np.random.default_rng(seed)
    L = np.tile(lo, (1, R_, 1))
    H = np.tile(hi, (1, R_, 1))
    lab = np.tile(labels, R_)
    width = H - L
    A0, C0 = _tile_state(a0, R_), _tile_state(c0, R_)

    def evaluate(xs: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
        run = run_tape(m, xs, A0, C0)
        marg, j = _margins_float(run.logits, lab)
        return run, marg, j

    def ascent(run: Any, j: np.ndarray) -> np.ndarray:
        rows = np.zeros((lab.size, m.n_y))
        rows[np.arange(lab.size), j] = 1.0
        rows[np.arange(lab.size), lab] -= 1.0
        return run.input_gradient(rows)  # d(z_j − z_label)/dx

    xs = L * 0.5 + H * 0.5
    xs = np.clip(xs, L, H)
    noise = rng.random(xs.shape)
    xs[:, 2 * B :] = np.clip(L[:, 2 * B :] + width[:, 2 * B :] * noise[:, 2 * B :], L[:, 2 * B :], H[:, 2 * B :])
    run, marg, j = evaluate(xs)
    g = ascent(run, j)
    xs[:, B : 2 * B] = np.where(g[:, :B] > 0, H[:, B : 2 * B], L[:, B : 2 * B])  # the corner the centre's gradient points to
    run, marg, j = evaluate(xs)
    best, best_m = xs.copy(), marg.copy()
    step = 0.25
    for _ in range(int(iterations)):
        g = ascent(run, j)
        xs = np.clip(xs + step * width * np.sign(g), L, H)
        run, marg, j = evaluate(xs)
        better = marg < best_m
        best[:, better], best_m[better] = xs[:, better], marg[better]
        step *= 0.8
    per = best_m.reshape(R_, B)
    pick = per.argmin(axis=0)
    cand = best.reshape(T, R_, B, n_x)[:, pick, np.arange(B)]
    return cand, per[pick, np.arange(B)]


def _tile_state(v: Any, k: int) -> Any:
    """An initial state point (n,) or (B, n) repeated for ``k`` restarts (None stays None)."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return [_tile_state(x, k) for x in v]
    arr = np.asarray(v, dtype=np.float64)
    return arr if arr.ndim == 1 else np.tile(arr, (k, 1))


def token_attack(
    model: Any,
    tokens: list[np.ndarray],
    base: np.ndarray,
    label: int,
    k: int | None = None,
    a0: Any = None,
    c0: Any = None,
    sweeps: int = 3,
) -> tuple[np.ndarray, float]:
    """Greedy coordinate search over token sequences: from ``base`` (T,) token indices, each
    sweep tries every allowed token at every position (``tokens[t]``, one batched forward pass
    per position) and keeps the change that lowers the margin ``min_{j≠label} (z_label − z_j)``
    most; with ``k``, at most ``k`` positions may differ from ``base``. Returns the best
    sequence as token indices (T,) and its float margin."""
    from .certification.tape import run_tape
    from .model import as_model

    m = as_model(model)
    n_x = m.n_x
    T = len(tokens)
    eye = np.eye(n_x)
    cur = np.asarray(base, dtype=np.int64).copy()

    def margins_of(seqs: np.ndarray) -> np.ndarray:
        xs = eye[seqs.T]  # (T, K, n_x)
        run = run_tape(m, xs, _tile_state(a0, len(seqs)), _tile_state(c0, len(seqs)))
        return _margins_float(run.logits, np.full(len(seqs), label))[0]

    best = float(margins_of(cur[None])[0])
    for _ in range(int(sweeps)):
        improved = False
        for t in range(T):
            changed = int((cur != base).sum()) - int(cur[t] != base[t])
            cands = tokens[t] if k is None or changed < k else np.array([base[t]])
            seqs = np.repeat(cur[None], len(cands), axis=0)
            seqs[:, t] = cands
            ms = margins_of(seqs)
            i = int(ms.argmin())
            if ms[i] < best:
                best, cur = float(ms[i]), seqs[i].copy()
                improved = True
        if not improved or best < 0:
            break
    return cur, best
