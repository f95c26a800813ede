"""``method="linear"``: backward linear bounds (CROWN / DeepPoly class), soundly in floating point.

Every value is a node of a tape — the unrolled computation, recorded as the cell's algebra is
applied. Each nonlinearity gets a lower and an upper line (plane) on its input's bounds
(:mod:`lstm_symbolic.relaxations`, ``lines``), built when the node is created. A node's own
bounds, when they are needed (to relax its consumers, or to report them), come from a *backward
pass*: the rows ``Λ v`` (``Λ = [I; −I]`` for the bounds of ``v``) are rewritten through the tape,
node by node in reverse order, each node replaced by its lines — the upper line where a
coefficient is positive, the lower one where it is negative, so that ``Λ v <= Λ' p + β`` holds
for the node's inputs ``p`` — until only input sets and initial states remain, which are
concretised over their own shape: boxes and balls by ``Λ m + |Λ| r``, one-hot sets by the
largest coefficient among the allowed tokens (a linear function on a set of vertices is
extreme at a vertex: exact, so token sets keep their relations). Intermediate bounds come from
the same backward pass, step after step (CROWN, Zhang et al. 2018).

**Optimised slopes** (α-CROWN, Xu et al. 2021). For a final query (the last step's bounds,
certificate margins) the lines can be re-chosen *per row*: every slope gives a sound line
(the offsets are the sound extremes of ``f − λx``, and of ``x·y − s·(x, y)`` at the box's
vertices), so projected gradient steps on the slopes — the gradient of a row's bound with
respect to a node's slope is ``Λ (p̂ − x*)``, ``p̂`` the value the relaxed network gives the
node's input at the bound's maximiser and ``x*`` where the line touches — can only tighten a
bound that is re-verified at every iterate; the best iterate per row is kept.

**Floating point.** Let ``u = 2⁻⁵³``, ``γ_n = n u/(1 − n u)``, ``η = 2⁻¹⁰⁷⁴``. Each rewrite
computes new coefficients in float; the exact ones differ, and the difference is concretised
at once with the input's magnitude ``|p| <= mag(p)`` (its sound bounds) into the constant ``β``,
rounded up. Per node this is one vector ``e`` with ``Σ_j |Λ_j| e_j`` bounding the rounding of
the rewrite (:meth:`LinearEngine._error_vector`):

- ``v = W p + b`` (``m`` rows): ``fl(Λ W)`` is within ``γ_m |Λ||W| + m η`` of ``Λ W``
  entrywise (Higham §3.5, any order, FMA or not), so ``e = γ_{m+1} |W| mag(p)`` plus the bias
  products' own ``γ |b|``;
- a line or plane (``v = f(p)``, ``g ⊙ s``): each new coefficient is one product ``Λ_j λ_j``
  (one line per entry), within ``u |Λ_j λ_j| + η``, and the constant ``Σ Λ_j μ_j`` is within
  ``γ_n Σ |Λ_j μ_j| + n η``: ``e = u (1+u) max|λ| mag(p) + γ_{n+1} max|μ|``;
- where two consumers' coefficients meet, ``fl(A + B)`` is within ``u |fl(A + B)|``;
- leaves and constants over boxes use the midpoint–radius constants of
  :func:`~lstm_symbolic.interval.rounding.midrad_product_constants` (the interval product's
  proof), so the computed upper end needs no further step; sums ``Σ |Λ_j| e_j`` are bounded
  above for their own rounding (:func:`_absdot_up`).

**Cost.** An LSTM step with ``n_a`` units reading ``n_x`` inputs asks three backward passes: the
``4 n_a`` pre-activations, the cell ``c⟨t⟩`` (its tanh is relaxed on it) and the output
``a⟨t⟩``, each with twice as many rows (upper and lower). Going back through one step costs
about ``rows × 4 n_a × (n_a + n_x)`` multiply–adds (the affine map) plus ``O(rows × n_a)`` for the
lines. Without a window the pass at step ``t`` goes back ``t`` steps: ``O(T²)`` over a horizon.
With ``window = W`` it stops ``W`` steps back and concretises the state there over its (already
computed) bounds: ``O(T W)``, linear in T. The default window is unlimited while a pass costs
at most :data:`FULL_HORIZON_WORK` multiply–adds per step, and shortened beyond.
"""

from __future__ import annotations

import heapq
from typing import Any, Sequence

import numpy as np

from ..cells.affine import Affine
from ..errors import InputError
from ..inputs import InputSet
from ..interval import kernels as K
from ..interval import rounding as R
from ..relaxations import PRODUCT, SIGMOID, TANH, Lines1, Lines2
from .base import Engine, Pair, SetInput, TokenInput, input_value

__all__ = ["LinearEngine", "Node", "FULL_HORIZON_WORK", "DEFAULT_OPTIMISE"]

#: A backward pass may cost this many multiply-adds per step before the window is shortened.
FULL_HORIZON_WORK = 2e8
#: Without a fixed window a pass stops going back once the rows left could change the bound by
#: at most this fraction of the rows' spread over their own seeds' bounds (see _backward_pass).
TOLERANCE = 1e-4
#: Backward passes of the softmax rows go back this many steps before the last step.
OUTPUT_WINDOW = 2
#: Slope optimisation re-chooses the lines of the last this many steps (measured on the n_a 16
#: model at T = 10: the last 2 steps give 1.0154x the attack's range, all 10 steps 1.0146x, at
#: half the cost).
OPTIMISE_STEPS = 2
#: Default number of slope-optimisation iterations for final queries (0: none).
DEFAULT_OPTIMISE = 0

_LEAVES = ("box", "tokens", "set")
_RELAX = {"sigmoid": SIGMOID, "tanh": TANH}
_PASS = ("slice", "add", "concat")  # rewritten exactly, at once, when coefficients arrive


class Node:
    """One value of the tape: ``op`` and its ``parents``; ``t`` the engine's step counter at
    creation; ``ibox`` the interval image of the parents' bounds (always known, sound);
    ``box`` the backward bounds once computed; ``ext`` bounds given from outside (a priori
    domains, other methods); ``data`` what the op needs (the affine map, the lines, the
    token set, the columns of a slice); ``err`` the cached rounding vector of its rewrite."""

    __slots__ = ("id", "t", "op", "parents", "n", "data", "ibox", "box", "ext", "err")

    def __init__(self, id: int, t: int, op: str, parents: tuple, n: int, data: Any, ibox: Pair) -> None:
        self.id, self.t, self.op, self.parents, self.n, self.data = id, t, op, parents, n, data
        self.ibox, self.box, self.ext, self.err = ibox, None, None, None

    def __lt__(self, other: "Node") -> bool:  # heap order: later nodes first
        return self.id > other.id


def _meet(a: Pair, b: Pair | None) -> Pair:
    if b is None:
        return a
    return K.within(a, (np.broadcast_to(b[0], a[0].shape), np.broadcast_to(b[1], a[1].shape)))


def _mag(box: Pair) -> np.ndarray:
    """``max(|lo|, |hi|)``: a bound of ``|v|`` over the box (may be inf)."""
    return np.maximum(np.abs(box[0]), np.abs(box[1]))


def _raw_absdot(absA: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``fl(Σ_j |A_ij| v_j)`` for ``v >= 0`` (its rounding is bounded by the caller's
    :class:`~lstm_symbolic.interval.rounding.UpperSum`); a nonzero coefficient against an
    infinite ``v`` gives ``inf``, a zero one 0."""
    if np.isfinite(v).all():
        return np.matmul(absA, v[..., None])[..., 0]
    return R.absdot_up(absA, v)


def _up_vec(x: np.ndarray) -> np.ndarray:
    """A float upper bound of a non-negative quantity computed with a few roundings."""
    return R.nonneg_up(R.step_up(x), 2.0)


class LinearEngine(Engine):
    """Backward linear bounds over a tape (see the module docstring). ``window``: how many
    steps a backward pass goes back before it concretises (None: the default rule);
    ``optimise``: slope-optimisation iterations for final queries (0: none);
    ``optimise_intermediate``: spend them on every intermediate pass too."""

    name = "linear"
    persistent = True

    def __init__(self, model: Any, batch: int, mode: str = "fast", window: int | None = None, optimise: int | None = None,
                 optimise_intermediate: bool = False) -> None:
        super().__init__(model, batch, mode)
        if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1):
            raise InputError("window", "a positive number of steps", got=window)
        if optimise is not None and (isinstance(optimise, bool) or not isinstance(optimise, (int, np.integer)) or optimise < 0):
            raise InputError("optimise", "a non-negative number of iterations", got=optimise)
        self.window = window if window is not None else self._default_window(model)
        self.optimise = DEFAULT_OPTIMISE if optimise is None else int(optimise)
        self.t = 0
        self.count = 0
        self._cut = -1
        self._cache: dict[Any, Any] = {}
        self.optimise_steps: int | None = OPTIMISE_STEPS  # optimise the lines of this many last steps (None: all)
        #: optimise the slopes of every intermediate pass too, not only final queries (α-CROWN's
        #: full form; on the digits benchmark at eps 1e-2 it certifies 33 of 40 images where the
        #: final queries alone certify 26, at about 15x the cost)
        self.optimise_intermediate = bool(optimise_intermediate)
        #: the adaptive cut of passes without a fixed window (0: go back to the start)
        self.tolerance = TOLERANCE
        #: backward passes for the pre-activations too (False: their bounds come from the
        #: interval image and other methods only; passes for the states and outputs remain)
        self.intermediate = True

    @staticmethod
    def memory_per_sample(model: Any, steps: int, options: dict[str, Any]) -> int:
        """Bytes per batch entry of a run over ``steps`` steps (an estimate fitted on LSTMs of
        16..64 units and 8..16 steps: the recorded coefficient matrices of a backward pass are
        (rows, 4 n) per node for up to ``steps`` steps back; slope optimisation of every
        intermediate pass keeps about 24 times more, its records and gradients)."""
        n = max(max(layer.cell.n_hidden, layer.reverse.n_hidden if layer.reverse is not None else 0) for layer in model.layers)
        window = options.get("window") or LinearEngine._default_window(model)
        back = min(int(steps), int(window)) if window else int(steps)
        factor = 96 if options.get("optimise_intermediate") and options.get("optimise", DEFAULT_OPTIMISE) else 4
        return factor * 8 * (4 * n) ** 2 * max(back, 1)

    @staticmethod
    def _default_window(model: Any) -> int | None:
        work = 0
        for layer in model.layers:
            for cell in (layer.cell, layer.reverse):
                if cell is not None:
                    n = cell.n_hidden
                    work += 16 * n * n * (n + cell.n_in)  # ≈ 8 n rows, twice, × the affine map
        if work <= FULL_HORIZON_WORK:
            return None
        return max(1, int(FULL_HORIZON_WORK * 10 // work))

    # --- nodes ---------------------------------------------------------------------------
    def _node(self, op: str, parents: tuple, n: int, data: Any, ibox: Pair) -> Node:
        self.count += 1
        return Node(self.count, self.t, op, parents, n, data, ibox)

    def _best(self, v: Node) -> Pair:
        """The tightest bounds known now, without starting a backward pass."""
        return _meet(v.box if v.box is not None else v.ibox, v.ext)

    def initial(self, lo: np.ndarray, hi: np.ndarray) -> Node:
        n = lo.shape[-1]
        return self._node("box", (), n, None, (np.broadcast_to(lo, (self.B, n)), np.broadcast_to(hi, (self.B, n))))

    def input(self, x_set: InputSet, t: int) -> Node:
        x = input_value(x_set, t, self.model.embedding)
        if isinstance(x, tuple):
            node = self.initial(*x)
            if self.model.embedding is not None:
                E = self.model.embedding
                node = self.linear(Affine(E.T, None, [E.shape[0]]), [node])
            return node
        if isinstance(x, TokenInput):
            P = x.points  # (d, K)
            d = P.shape[0]
            return self._node("tokens", (), d, x, (np.broadcast_to(P.min(axis=1), (self.B, d)), np.broadcast_to(P.max(axis=1), (self.B, d))))
        assert isinstance(x, SetInput)
        lo, hi = x.x_set.box(x.t)
        n = lo.shape[-1]
        return self._node("set", (), n, x, (np.broadcast_to(lo, (self.B, n)), np.broadcast_to(hi, (self.B, n))))

    def bounds(self, v: Node) -> Pair:
        if v.box is None:
            if v.op in ("gate", "add", "mix", "concat") or (v.op == "affine" and self.intermediate):
                v.box = self._backward_box(v, self.window, self.optimise if self.optimise_intermediate else 0)
            elif v.op == "slice":
                lo, hi = self.bounds(v.parents[0])
                v.box = (lo[:, v.data], hi[:, v.data])
            else:
                v.box = v.ibox
        return _meet(v.box, v.ext)

    def _identity_rows(self, n: int) -> np.ndarray:
        return np.broadcast_to(np.concatenate([np.eye(n), -np.eye(n)])[None], (self.B, 2 * n, n))

    def _backward_box(self, v: Node, window: int | None, optimise: int = 0) -> Pair:
        """Backward bounds of ``v`` intersected with its interval image."""
        seeds = [(v, self._identity_rows(v.n))]
        U = self._optimised(seeds, optimise, window) if optimise else self._backward(seeds, window)[0]
        n = v.n
        with np.errstate(invalid="ignore"):
            lo = np.where(np.isnan(U[:, n:]), -np.inf, -U[:, n:])
            hi = np.where(np.isnan(U[:, :n]), np.inf, U[:, :n])
        return np.maximum(lo, v.ibox[0]), np.minimum(hi, v.ibox[1])

    def refine(self, v: Node, lo: Any, hi: Any) -> None:
        lo, hi = np.broadcast_to(lo, (self.B, v.n)), np.broadcast_to(hi, (self.B, v.n))
        v.ext = (lo, hi) if v.ext is None else K.within(v.ext, (lo, hi))

    def final_bounds(self, v: Node) -> Pair:
        """Bounds of ``v`` at the last step: with optimised slopes when ``optimise`` > 0."""
        base = self.bounds(v)
        if not self.optimise or v.op not in ("affine", "gate", "add", "mix", "concat"):
            return base
        opt = self._backward_box(v, self.window, self.optimise)
        v.box = (np.maximum(v.box[0], opt[0]), np.minimum(v.box[1], opt[1]))
        return _meet(v.box, v.ext)

    # --- the algebra ---------------------------------------------------------------------
    def linear(self, affine: Affine, parts: Sequence[Node]) -> Node:
        boxes = [self._best(p) for p in parts]
        lo = boxes[0][0] if len(boxes) == 1 else np.concatenate([b[0] for b in boxes], axis=-1)
        hi = boxes[0][1] if len(boxes) == 1 else np.concatenate([b[1] for b in boxes], axis=-1)
        ibox = K.matmul(affine.W_b, lo, hi, affine.absW_b, n_const=affine.n_const, absW32=affine.absW_b32)
        return self._node("affine", tuple(parts), affine.m, affine, ibox)

    def split(self, v: Node, sizes: Sequence[int]) -> list[Node]:
        out, start = [], 0
        for n in sizes:
            cols = slice(start, start + n)
            node = self._node("slice", (v,), n, cols, (v.ibox[0][:, cols], v.ibox[1][:, cols]))
            if v.ext is not None:
                node.ext = (v.ext[0][:, cols], v.ext[1][:, cols])
            out.append(node)
            start += n
        return out

    def concat(self, vs: Sequence[Node]) -> Node:
        boxes = [self._best(v) for v in vs]
        ibox = (np.concatenate([b[0] for b in boxes], axis=-1), np.concatenate([b[1] for b in boxes], axis=-1))
        return self._node("concat", tuple(vs), sum(v.n for v in vs), [v.n for v in vs], ibox)

    def _unary(self, op: str, v: Node) -> Node:
        relax = _RELAX[op]
        lo, hi = self.bounds(v)
        image = relax.bounds(lo, hi, self.mode)
        finite = np.isfinite(lo) & np.isfinite(hi)
        if finite.all():
            lines = relax.lines(lo, hi, self.mode)
        else:  # overflowed inputs: slope 0, the monotone image as the two lines
            safe = relax.lines(np.where(finite, lo, 0.0), np.where(finite, hi, 0.0), self.mode)
            lines = Lines1(np.where(finite, safe.lower_slope, 0.0), np.where(finite, safe.lower_offset, image[0]),
                           np.where(finite, safe.upper_slope, 0.0), np.where(finite, safe.upper_offset, image[1]))
        return self._node(op, (v,), v.n, lines, image)

    def sigmoid(self, v: Node) -> Node:
        return self._unary("sigmoid", v)

    def tanh(self, v: Node) -> Node:
        return self._unary("tanh", v)

    @staticmethod
    def _planes(g: Pair, v: Pair, lower: Any = None, upper: Any = None) -> Lines2:
        """Planes of ``g·v`` on the box (slope 0 and the product's interval image where a
        bound is infinite)."""
        finite = np.isfinite(v[0]) & np.isfinite(v[1]) & np.isfinite(g[0]) & np.isfinite(g[1])
        if finite.all():
            return PRODUCT.lines(g[0], g[1], v[0], v[1], lower, upper)
        z = lambda a: np.where(finite, a, 0.0)  # noqa: E731
        pl = PRODUCT.lines(z(g[0]), z(g[1]), z(v[0]), z(v[1]), lower, upper)
        img = K.mul(g[0], g[1], v[0], v[1])
        return Lines2(z(pl.lower_x), z(pl.lower_y), np.where(finite, pl.lower_offset, img[0]),
                      z(pl.upper_x), z(pl.upper_y), np.where(finite, pl.upper_offset, img[1]))

    def gate(self, g: Node, v: Node) -> Node:
        gb, vb = self.bounds(g), self.bounds(v)
        lo, hi = K.mul_nonneg(*gb, *vb)
        ibox = (np.maximum(lo, np.minimum(vb[0], 0.0)), np.minimum(hi, np.maximum(vb[1], 0.0)))
        return self._node("gate", (g, v), v.n, self._planes(gb, vb), ibox)

    def add(self, v: Node, w: Node) -> Node:
        return self._node("add", (v, w), v.n, None, K.add_outward(*self._best(v), *self._best(w)))

    def mix(self, z: Node, n: Node, h: Node) -> Node:
        zb, nb, hb = self.bounds(z), self.bounds(n), self.bounds(h)
        keep = (R.step_down(1.0 - zb[1]), R.step_up(1.0 - zb[0]))  # bounds of w = 1 − z
        data = (self._planes(zb, hb), self._planes(keep, nb))
        return self._node("mix", (z, n, h), n.n, data, K.mix(zb, nb, hb))

    # --- the rounding of one rewrite -----------------------------------------------------
    def _error_vector(self, node: Node, lines: Any = None) -> np.ndarray:
        """``e`` (B, [q,] n) with ``Σ_j |Λ_j| e_j`` bounding the rounding of the rewrite of
        ``node`` (module docstring); cached for the node's own lines."""
        if lines is None and node.err is not None:
            return node.err
        op = node.op
        u1 = R.U * (1.0 + R.U)
        if op == "affine":
            affine: Affine = node.data
            mag = np.concatenate([_mag(self._best(p)) for p in node.parents], axis=-1)
            s = R.absdot_up(affine.absW_b[:, : affine.W.shape[1]], mag)  # |W| mag(p), (B, m)
            eta = np.where(np.isfinite(mag), mag, 0.0).sum(axis=-1)[:, None] + 1.0
            b = np.abs(affine.bias).sum(axis=1)  # the bias products Λ·b_k, every column
            e = _up_vec(R.gamma(affine.m + 2) * (s + b) + eta * (affine.m + 2) * R.ETA)
        else:
            L = node.data if lines is None else lines
            n = node.n
            g = R.gamma(n + 2)
            if op in ("sigmoid", "tanh"):
                (p,) = node.parents
                mag = _mag(self._best(p))
                mag = np.broadcast_to(mag[:, None, :], np.broadcast_shapes(L.upper_slope.shape, (self.B, 1, n))) if L.upper_slope.ndim == 3 else mag
                e = u1 * np.maximum(np.abs(L.upper_slope), np.abs(L.lower_slope)) * mag
                e = e + g * np.maximum(np.abs(L.upper_offset), np.abs(L.lower_offset)) + (mag + 1.0) * (n + 2) * R.ETA
            elif op == "gate":
                gp, vp = node.parents
                mg, mv = _mag(self._best(gp)), _mag(self._best(vp))
                if L.upper_x.ndim == 3:
                    mg, mv = mg[:, None, :], mv[:, None, :]
                e = u1 * (np.maximum(np.abs(L.upper_x), np.abs(L.lower_x)) * mg + np.maximum(np.abs(L.upper_y), np.abs(L.lower_y)) * mv)
                e = e + g * np.maximum(np.abs(L.upper_offset), np.abs(L.lower_offset)) + (mg + mv + 1.0) * (n + 2) * R.ETA
            elif op == "mix":
                P1, P2 = L
                zp, np_, hp = node.parents
                mz, mn, mh = (_mag(self._best(p)) for p in (zp, np_, hp))
                e = u1 * (np.maximum(np.abs(P1.upper_x), np.abs(P1.lower_x)) * mz + np.maximum(np.abs(P1.upper_y), np.abs(P1.lower_y)) * mh
                          + np.maximum(np.abs(P2.upper_x), np.abs(P2.lower_x)) * (mz + 1.0) + np.maximum(np.abs(P2.upper_y), np.abs(P2.lower_y)) * mn)
                e = e + g * (np.maximum(np.abs(P1.upper_offset), np.abs(P1.lower_offset)) + np.maximum(np.abs(P2.upper_offset), np.abs(P2.lower_offset))
                             + np.maximum(np.abs(P2.upper_x), np.abs(P2.lower_x))) + (mz + mn + mh + 1.0) * (n + 4) * R.ETA
            else:  # pragma: no cover
                raise AssertionError(op)
            e = _up_vec(np.where(np.isnan(e), np.inf, e))
        if lines is None:
            node.err = e
        return e

    # --- the backward pass ---------------------------------------------------------------
    def _backward(self, seeds: list[tuple[Node, np.ndarray]], window: int | None, lines: dict | None = None, record: bool = False) -> tuple[np.ndarray, dict]:
        """Upper bounds ``U`` (B, q) with ``Σ_seeds Λ v <= U`` for every execution (each
        ``Λ`` (B, q, n_v)); ``lines``: per-row lines replacing a node's own (by node id);
        ``record``: also return every rewritten node's coefficients ``{id: (node, Λ)}``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._backward_pass(seeds, window, lines, record)

    def _backward_pass(self, seeds: list, window: int | None, lines: dict | None, record: bool, sound: bool = True) -> tuple[np.ndarray, dict]:
        q = seeds[0][1].shape[1]
        acc = R.UpperSum((self.B, q))
        pending: dict[int, list] = {}
        heap: list[Node] = []
        seen: dict[int, tuple[Node, np.ndarray]] = {}
        cut = -1 if window is None else self.t - window
        self._cut = cut

        def push(node: Node, coeff: np.ndarray, cols: slice | None = None) -> None:
            if node.op in _PASS and node.t >= cut:  # exact rewrites: forward the rows now
                if node.op == "slice":
                    (p,) = node.parents
                    if cols is not None:  # a slice of a slice
                        idx = np.arange(node.data.start, node.data.stop)[cols]
                        push(p, coeff, slice(int(idx[0]), int(idx[-1]) + 1))
                    else:
                        push(p, coeff, node.data)
                    return
                full = coeff
                if cols is not None:
                    full = np.zeros((self.B, q, node.n))
                    full[..., cols] = coeff
                if node.op == "add":
                    for p in node.parents:
                        push(p, full)
                else:  # concat
                    start = 0
                    for p, n in zip(node.parents, node.data):
                        push(p, full[..., start : start + n])
                        start += n
                return
            entry = pending.get(node.id)
            if entry is None:
                if cols is not None:
                    full = np.zeros((self.B, q, node.n))
                    full[..., cols] = coeff
                    touched = np.zeros(node.n, dtype=bool)
                    touched[cols] = True
                    pending[node.id] = [node, full, touched]
                else:
                    pending[node.id] = [node, np.array(coeff), None]
                heapq.heappush(heap, node)
                return
            _, old, touched = entry
            if cols is None:
                overlap = touched if touched is not None else None
                old = old + coeff
                entry[2] = None
            else:
                overlap = np.zeros(node.n, dtype=bool)
                overlap[cols] = True
                if touched is not None:
                    overlap &= touched
                    touched[cols] = True
                old[..., cols] += coeff
            entry[1] = old
            if sound and (overlap is None or overlap.any()):  # fl(A + B): within u |fl(A + B)| where both were nonzero
                mag = _mag(self._best(node))
                if overlap is not None:
                    mag = np.where(overlap, mag, 0.0)
                acc.error(_raw_absdot(np.abs(old), mag) * R.U, node.n)

        for node, lam in seeds:
            push(node, lam)
        # the adaptive cut: stop going back once what the rest of the pass could still gain,
        # at most the remaining rows' spread over their nodes' known bounds, is below TOLERANCE
        # of the rows' spread over the seeds' own bounds
        reference = None
        if self.tolerance and window is None:
            reference = sum(_raw_absdot(np.abs(lam), self._radius(nd)) for nd, lam in seeds)
        step = heap[0].t if heap else 0
        while heap:
            if reference is not None and heap[0].t < step:  # every pending node is from earlier steps
                step = heap[0].t
                rest = sum(_raw_absdot(np.abs(e[1]), self._radius(e[0])) for e in pending.values() if e[0].op not in _LEAVES)
                if np.all(rest <= self.tolerance * reference):
                    cut = step + 1
                    self._cut = cut
            node = heapq.heappop(heap)
            _, lam, _ = pending.pop(node.id)
            if record:
                seen[node.id] = (node, lam)
            if node.op in _LEAVES or node.t < cut:
                acc.const(self._concretise(node, lam))
            else:
                self._rewrite(node, lam, push, None if lines is None else lines.get(node.id), acc, sound)
        return (acc.upper() if sound else acc.c), seen

    def _radius(self, node: Node) -> np.ndarray:
        """Half the width of the node's known bounds (B, n); inf where unbounded."""
        lo, hi = self._best(node)
        with np.errstate(invalid="ignore", over="ignore"):
            r = 0.5 * (hi - lo)
        return np.where(np.isnan(r), np.inf, r)

    def _concretise(self, node: Node, lam: np.ndarray) -> np.ndarray:
        """Upper bound of ``Λ v`` over the node's own set (B, q)."""
        if node.op == "tokens":
            x: TokenInput = node.data
            cols = x.columns(lam.reshape(-1, lam.shape[-1])) if x.table is None else None
            if cols is not None:  # one-hot: Λ e_k is column k of Λ, exactly
                return cols.max(axis=-1).reshape(lam.shape[:2])
            P = x.points  # (d, K): an upper bound of Λ p_k for every token, then the largest
            return np.max([K.dot_upper(lam, P[:, k], P[:, k]) for k in range(P.shape[1])], axis=0)
        if node.op == "set":
            x_set: InputSet = node.data.x_set
            out = np.empty(lam.shape[:2])
            for b in range(self.B):
                sub = x_set.take_batch(slice(b, b + 1)) if x_set.batch is not None else x_set
                _, hi = sub.linear_bounds(lam[b], node.data.t)
                out[b] = np.reshape(hi, -1)
            return out
        lo, hi = self._best(node)  # a leaf's set, or a node past the window: its known bounds
        return K.dot_upper(lam, lo, hi)

    @staticmethod
    def _pick(lam_pos: np.ndarray, up: np.ndarray, low: np.ndarray) -> np.ndarray:
        if up.ndim == 2:
            if up is low:  # one slope for both lines (the default parallelogram, McCormick's x_lo)
                return up[:, None, :]
            up, low = up[:, None, :], low[:, None, :]
        return np.where(lam_pos, up, low)

    def _offset_midrad(self, node: Node, up: np.ndarray, low: np.ndarray) -> Pair:
        """``(m, r)`` with ``[low, up] ⊆ [m − r, m + r]`` (B, n), cached per node: then
        ``Σ_j Λ_j μ_sel,j <= Λ·m + |Λ|·r`` for the offsets ``μ_sel`` the signs pick (an upper
        line's offset may only be raised, a lower line's only lowered), two dot products and no
        selection."""
        key = ("offsets", node.id, id(up))
        got = self._cache.get(key)
        if got is None:
            with np.errstate(over="ignore", invalid="ignore"):
                m, r = K.midrad(low, up)
            got = self._cache[key] = (m, np.where(np.isnan(r), np.inf, r))
        return got

    def _rewrite(self, node: Node, lam: np.ndarray, push: Any, lines: Any, acc: R.UpperSum, sound: bool = True) -> None:
        """Push ``Λ v`` to the node's parents; add the constant and (``sound``) the rewrite's
        rounding bound to ``acc``."""
        op = node.op
        n = lam.shape[-1]
        alam = np.abs(lam)
        if sound:
            e = self._error_vector(node, lines)
            if e.ndim == 2:
                acc.error(_raw_absdot(alam, e), n)
            else:  # per-row lines: per-row error vectors
                s = np.einsum("bqn,bqn->bq", alam, e)
                acc.error(np.where(np.isnan(s), np.inf, s), n)
        if op == "affine":
            affine: Affine = node.data
            M = np.matmul(lam, affine.W)  # (B, q, n_in)
            for j in range(affine.n_const):
                acc.const(np.matmul(lam, affine.bias[:, j]))
            o = affine.offsets
            for i, p in enumerate(node.parents):
                push(p, M[..., o[i] : o[i + 1]])
            return
        L = node.data if lines is None else lines
        pos = lam > 0
        if lines is None and op in ("sigmoid", "tanh", "gate"):  # per-unit lines: offsets without selection
            if op == "gate":
                g, v = node.parents
                push(g, lam * self._pick(pos, L.upper_x, L.lower_x))
                push(v, lam * self._pick(pos, L.upper_y, L.lower_y))
            else:
                push(node.parents[0], lam * self._pick(pos, L.upper_slope, L.lower_slope))
            m, r = self._offset_midrad(node, L.upper_offset, L.lower_offset)
            c = np.matmul(lam, m[..., None])[..., 0] + _raw_absdot(alam, r)
            acc.const(np.where(np.isnan(c), np.inf, c))
            return
        if op in ("sigmoid", "tanh"):
            push(node.parents[0], lam * self._pick(pos, L.upper_slope, L.lower_slope))
            offsets = [self._pick(pos, L.upper_offset, L.lower_offset)]
        elif op == "gate":
            g, v = node.parents
            push(g, lam * self._pick(pos, L.upper_x, L.lower_x))
            push(v, lam * self._pick(pos, L.upper_y, L.lower_y))
            offsets = [self._pick(pos, L.upper_offset, L.lower_offset)]
        elif op == "mix":
            # v = z·h + w·n with w = 1 − z: planes P1 of z·h and P2 of w·n; the w-coefficient
            # s_w becomes −s_w on z plus the constant s_w (w = 1 − z exactly)
            P1, P2 = L
            z, nn, h = node.parents
            sw = self._pick(pos, P2.upper_x, P2.lower_x)
            push(z, lam * self._pick(pos, P1.upper_x, P1.lower_x))
            push(z, -(lam * sw))
            push(h, lam * self._pick(pos, P1.upper_y, P1.lower_y))
            push(nn, lam * self._pick(pos, P2.upper_y, P2.lower_y))
            offsets = [self._pick(pos, P1.upper_offset, P1.lower_offset), self._pick(pos, P2.upper_offset, P2.lower_offset), sw]
        else:  # pragma: no cover
            raise AssertionError(f"linear: no rewrite for {op}")
        for mu in offsets:
            c = np.einsum("bqn,bqn->bq", lam, mu)
            acc.const(np.where(np.isnan(c), np.inf, c))

    # --- optimised slopes ----------------------------------------------------------------
    def _optimised(self, seeds: list[tuple[Node, np.ndarray]], iterations: int, window: int | None) -> np.ndarray:
        """Upper bounds of the seeds' rows with per-row slopes optimised by projected gradient
        (module docstring). The iterations run in plain float (offsets from the float
        extremes, no rounding terms: only a search direction); each row keeps the parameters
        of its lowest float bound, and those are then verified with sound lines in one sound
        pass. The result is the per-row minimum of that and the unoptimised sound bound."""
        base, seen = self._backward(seeds, window, record=True)
        if iterations <= 0:
            return base
        cut = -1 if window is None else self.t - window
        first = max(cut, self.t - self.optimise_steps) if self.optimise_steps is not None else cut
        nodes = {i: nd for i, (nd, _) in seen.items() if nd.op in ("sigmoid", "tanh", "gate") and nd.t >= first}
        if not nodes:
            return base
        q = seeds[0][1].shape[1]
        params: dict[int, list[np.ndarray]] = {}
        for i, nd in nodes.items():
            if nd.op == "gate":  # mixing weights in [0, 1] between the two McCormick pairs
                params[i] = [np.zeros((self.B, q, nd.n)), np.zeros((self.B, q, nd.n))]
            else:
                L = nd.data
                params[i] = [np.broadcast_to(L.lower_slope[:, None, :], (self.B, q, nd.n)).copy(),
                             np.broadcast_to(L.upper_slope[:, None, :], (self.B, q, nd.n)).copy()]
        kept = {i: [p.copy() for p in par] for i, par in params.items()}
        kept_U = np.full((self.B, q), np.inf)
        step = 0.5
        self._touch: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(iterations):
                lines = {i: self._row_lines(nodes[i], params[i], sound=False) for i in nodes}
                U, seen = self._backward_pass(seeds, window, lines, record=True, sound=False)
                better = U < kept_U  # (B, q)
                kept_U = np.where(better, U, kept_U)
                for i, par in params.items():
                    for k in range(2):
                        kept[i][k] = np.where(better[..., None], par[k], kept[i][k])
                values = self._relaxed_values(seen, lines)
                for i, nd in nodes.items():
                    if i in seen:
                        self._ascend(nd, seen[i][1], values, params[i], step)
                step *= 0.8
        lines = {i: self._row_lines(nodes[i], kept[i], sound=True) for i in nodes}
        U, _ = self._backward(seeds, window, lines)
        return np.minimum(base, U)

    def _slope_range(self, node: Node) -> Pair:
        """The useful slopes of a unary node's lines, ``[min f', max f']`` over its input's box
        (``f'`` is unimodal with its peak at 0), (B, 1, n); cached on the node's error slot of
        the optimiser."""
        key = ("range", node.id)
        got = self._cache.get(key)
        if got is None:
            relax = _RELAX[node.op]
            lo, hi = self._best(node.parents[0])
            d_lo, d_hi = relax.derivative(lo, "fast")[0], relax.derivative(hi, "fast")[0]
            s_min = np.minimum(d_lo, d_hi)
            s_max = np.where((lo <= 0) & (hi >= 0), relax.peak, np.maximum(d_lo, d_hi))
            got = self._cache[key] = (s_min[:, None, :], s_max[:, None, :])
        return got

    def _row_lines(self, node: Node, par: list[np.ndarray], sound: bool) -> Any:
        """Per-row lines (planes) of ``node`` for the parameters ``par`` (B, q, n): sound
        offsets, or (``sound=False``) the float extremes — a search direction only."""
        if node.op == "gate":
            g, v = node.parents
            gb, vb = self._best(g), self._best(v)
            gl, gh, vl, vh = (a[:, None, :] for a in (gb[0], gb[1], vb[0], vb[1]))
            al, au = par
            lower = ((1 - al) * vl + al * vh, (1 - al) * gl + al * gh)
            upper = ((1 - au) * vh + au * vl, (1 - au) * gl + au * gh)
            if sound:
                return self._planes((gl, gh), (vl, vh), lower, upper)
            lo_off = hi_off = None
            for x, y in ((gl, vl), (gl, vh), (gh, vl), (gh, vh)):
                lo_v, hi_v = x * y - lower[0] * x - lower[1] * y, x * y - upper[0] * x - upper[1] * y
                lo_off = lo_v if lo_off is None else np.minimum(lo_off, lo_v)
                hi_off = hi_v if hi_off is None else np.maximum(hi_off, hi_v)
            return Lines2(lower[0], lower[1], lo_off, upper[0], upper[1], hi_off)
        relax = _RELAX[node.op]
        lo, hi = self._best(node.parents[0])
        lo, hi = lo[:, None, :], hi[:, None, :]
        if sound:
            return relax.lines(lo, hi, self.mode, par[0], par[1])
        (x_l, g_l), (x_u, g_u) = relax.touch_point(par[0], lo, hi, False), relax.touch_point(par[1], lo, hi, True)
        self._touch[node.id] = (x_l, x_u)
        return Lines1(par[0], g_l, par[1], g_u)

    def _relaxed_values(self, seen: dict, lines: dict) -> dict[int, np.ndarray]:
        """The value of every node the pass reached, in the relaxed network at each row's
        maximiser (B, q, n): leaves and nodes past the window at the vertex their coefficients
        pick, then forward through the line (plane) each row took at each node."""
        vals: dict[int, np.ndarray] = {}
        q = next(iter(seen.values()))[1].shape[1]

        def value(nd: Node) -> np.ndarray:
            out = vals.get(nd.id)
            if out is not None:
                return out
            op = nd.op
            if nd.id in seen and (op in _LEAVES or op in _PASS):  # concretised where it stood
                lam = seen[nd.id][1]
                if op == "tokens" and nd.data.table is None:
                    k = np.argmax(lam, axis=-1)  # (B, q): the token each row picks
                    out = np.zeros(lam.shape)
                    np.put_along_axis(out, k[..., None], 1.0, axis=-1)
                else:
                    lo, hi = self._best(nd)
                    out = np.where(lam > 0, hi[:, None, :], lo[:, None, :])
            elif op == "affine" and nd.id in seen and nd.t < self._cut:
                lo, hi = self._best(nd)
                out = np.where(seen[nd.id][1] > 0, hi[:, None, :], lo[:, None, :])
            elif op == "affine":
                parts = [value(p) for p in nd.parents]
                x = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
                out = x @ nd.data.W.T + nd.data.bias_float
            elif op == "slice":
                out = value(nd.parents[0])[..., nd.data]
            elif op == "concat":
                out = np.concatenate([value(p) for p in nd.parents], axis=-1)
            elif op == "add":
                out = value(nd.parents[0]) + value(nd.parents[1])
            elif nd.id in seen and nd.t >= self._cut:
                L = lines.get(nd.id, nd.data)
                pos = seen[nd.id][1] > 0
                if op == "gate":
                    g, v = (value(p) for p in nd.parents)
                    out = self._pick(pos, L.upper_x, L.lower_x) * g + self._pick(pos, L.upper_y, L.lower_y) * v + self._pick(pos, L.upper_offset, L.lower_offset)
                elif op == "mix":
                    P1, P2 = L
                    z, n, h = (value(p) for p in nd.parents)
                    out = (self._pick(pos, P1.upper_x, P1.lower_x) * z + self._pick(pos, P1.upper_y, P1.lower_y) * h + self._pick(pos, P1.upper_offset, P1.lower_offset)
                           + self._pick(pos, P2.upper_x, P2.lower_x) * (1.0 - z) + self._pick(pos, P2.upper_y, P2.lower_y) * n + self._pick(pos, P2.upper_offset, P2.lower_offset))
                else:
                    out = self._pick(pos, L.upper_slope, L.lower_slope) * value(nd.parents[0]) + self._pick(pos, L.upper_offset, L.lower_offset)
            else:  # past the window: the vertex its coefficients pick
                lo, hi = self._best(nd)
                lam = seen[nd.id][1] if nd.id in seen else np.zeros((self.B, q, nd.n))
                out = np.where(lam > 0, hi[:, None, :], lo[:, None, :])
            vals[nd.id] = out
            return out

        for i in sorted(lines):
            if i in seen:
                value(seen[i][0])
        return vals

    def _ascend(self, node: Node, lam: np.ndarray, values: dict, par: list[np.ndarray], step: float) -> None:
        """One projected sign-gradient step on the node's per-row parameters (minimising
        every row's bound)."""
        pos, neg = lam > 0, lam < 0
        if node.op == "gate":
            g, v = node.parents
            gh, vh = values.get(g.id), values.get(v.id)
            if gh is None or vh is None:
                return
            gb, vb = self._best(g), self._best(v)
            gl, gu, vl, vu = (a[:, None, :] for a in (gb[0], gb[1], vb[0], vb[1]))
            # d(lower plane)/dα at (ĝ, v̂) and d(upper plane)/dα (the offsets' exact McCormick forms)
            d_low = (vu - vl) * gh + (gu - gl) * vh - (gu * vu - gl * vl)
            d_up = (vl - vu) * gh + (gu - gl) * vh - (gu * vl - gl * vu)
            grad_l = lam * d_low  # rows with Λ < 0 use the lower plane
            grad_u = lam * d_up
            par[0][:] = np.clip(par[0] - step * np.sign(grad_l) * neg, 0.0, 1.0)
            par[1][:] = np.clip(par[1] - step * np.sign(grad_u) * pos, 0.0, 1.0)
            return
        (p,) = node.parents
        ph = values.get(p.id)
        if ph is None:
            return
        relax = _RELAX[node.op]
        s_min, s_max = self._slope_range(node)
        span = s_max - s_min
        for k, mask in enumerate((neg, pos)):
            lam_k = par[k]
            grad = lam * (ph - self._touch[node.id][k])
            lam_k[:] = np.clip(lam_k - step * span * np.sign(grad) * mask, s_min, s_max)

    # --- outputs -------------------------------------------------------------------------
    def _rows_upper(self, a: Node, D_hi: np.ndarray, D_lo: np.ndarray, optimise: int = 0, window: Any = "engine") -> np.ndarray:
        """Upper bounds of ``(D_hi + D_lo) a`` (B, q) for rows ``D_hi + D_lo`` (B, q, n) exact:
        ``D_hi a`` by a backward pass, the tiny ``D_lo a`` by ``|D_lo| mag(a)``."""
        seeds = [(a, D_hi)]
        window = self.window if window == "engine" else window
        U = self._optimised(seeds, optimise, window) if optimise else self._backward(seeds, window)[0]
        if D_lo.any():
            U = R.step_up(U + R.absdot_up(np.abs(D_lo), _mag(self.bounds(a))))
        return U

    def margins(self, head: Any, a: Node, labels: np.ndarray) -> np.ndarray:
        """Lower bounds of ``z_label − z_j = (W_y[label] − W_y[j]) a + (b_label − b_j)``:
        ``−U`` for the rows ``−(W_y[label] − W_y[j])``, one backward pass for the batch (each
        entry its own label's rows), slopes optimised when ``optimise`` > 0. ``+inf`` at
        ``j = label``."""
        rows = [head.margin_rows(int(k)) for k in labels]
        D_hi = np.stack([r[0] for r in rows])
        D_lo = np.stack([r[1] for r in rows])
        b_lo = np.stack([r[2] for r in rows])
        U = self._rows_upper(a, -D_hi, -D_lo, self.optimise)
        out = R.step_down(R.step_down(-U) + b_lo)
        out[np.arange(labels.shape[0]), labels] = np.inf
        return np.where(np.isnan(out), -np.inf, out)

    def softmax(self, head: Any, a: Node, final: bool = False) -> Pair:
        """``y = softmax(W_y a + b_y)`` from backward bounds of every difference ``z_j − z_k``
        (or of the logits, above :data:`~.interval.SOFTMAX_PAIRWISE_MAX` classes). These are
        ``n_y²`` rows: before the last step the pass goes back at most
        :data:`OUTPUT_WINDOW` steps (the output is only reported there), at the last step as
        far as the engine's window."""
        from . import interval as I

        window = self.window if final else (OUTPUT_WINDOW if self.window is None else min(self.window, OUTPUT_WINDOW))
        if head.n_y > I.SOFTMAX_PAIRWISE_MAX:
            W = head.W
            U = self._rows_upper(a, np.broadcast_to(np.concatenate([W, -W])[None], (self.B, 2 * head.n_y, W.shape[1])), np.zeros((1, 1, 1)), window=window)
            z = (R.step_down(R.step_down(-U[:, head.n_y :]) + head.b), R.step_up(U[:, : head.n_y] + head.b))
            return K.softmax_from_logits(*z, self.mode)
        D_hi, D_lo, (bd_lo, bd_hi) = head.softmax_rows
        q = D_hi.shape[0]
        rows = lambda D: np.broadcast_to(np.concatenate([D, -D])[None], (self.B, 2 * q, D.shape[1]))  # noqa: E731
        U = self._rows_upper(a, rows(D_hi), rows(D_lo), window=window)
        lo = R.step_down(R.step_down(-U[:, q:]) + bd_lo)
        hi = R.step_up(U[:, :q] + bd_hi)
        shape = (self.B, head.n_y, head.n_y)
        return K.softmax_from_differences(lo.reshape(shape), hi.reshape(shape), self.mode)

    def end_step(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.t += 1
        return states
