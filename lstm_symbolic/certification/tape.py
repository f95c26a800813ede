"""The float forward pass of any model through the cells' algebra, recorded for reverse mode.

Not a bounding method: values are float64 arrays (B, n) in round-to-nearest, the numbers of
:class:`~lstm_symbolic.methods.concrete.ConcreteOps`, and every operation is kept on a tape so
that gradients of any linear function of the outputs come back exactly (for the float
computation) in one reverse sweep. The attacks use the gradients with respect to the inputs
(to search for counterexamples); branch and bound uses the gradients with respect to the
outputs of every nonlinearity (to score which pre-activation to split). Derivatives, per op:

- ``linear``: ``z = W p + b``: ``∂p = Wᵀ ∂z``;
- ``sigmoid``: ``s = σ(p)``: ``∂p = s (1 − s) ∂s``; ``tanh``: ``∂p = (1 − t²) ∂t``;
- ``gate``: ``g ⊙ v``: ``∂g = v ∂``, ``∂v = g ∂``; ``add``: both parents get ``∂``;
- ``mix``: ``(1 − z) n + z h``: ``∂z = (h − n) ∂``, ``∂n = (1 − z) ∂``, ``∂h = z ∂``;
- ``split`` / ``concat``: the blocks.

Nonlinearities are numbered as they are called: ``(t, k)`` is the ``k``-th sigmoid or tanh call
of step ``t`` (0-based), the same numbering :class:`~.bab.SplitEngine` uses for the bounding
engines — both follow the order in which the unrolling loop calls the cells.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..methods.concrete import sigmoid as _sigmoid
from ..model import Model

__all__ = ["Var", "TapeOps", "TapeRun", "run_tape"]


class Var:
    """A float value (B, n) on the tape: ``op``, ``parents``, ``data``; ``grad`` during a sweep."""

    __slots__ = ("v", "op", "parents", "data", "id", "grad")

    def __init__(self, v: np.ndarray, op: str, parents: tuple, data: Any, id: int) -> None:
        self.v, self.op, self.parents, self.data, self.id, self.grad = v, op, parents, data, id, None


class TapeOps:
    """The cell algebra on :class:`Var` values, recording a tape (see the module docstring)."""

    def __init__(self) -> None:
        self.tape: list[Var] = []
        self.nonlinear: dict[tuple[int, int], Var] = {}  # (t, k) -> the nonlinearity's output
        self.t = 0
        self._k = 0

    def _new(self, v: np.ndarray, op: str, parents: tuple = (), data: Any = None) -> Var:
        var = Var(v, op, parents, data, len(self.tape))
        self.tape.append(var)
        return var

    def leaf(self, v: np.ndarray) -> Var:
        return self._new(np.asarray(v, dtype=np.float64), "leaf")

    def next_step(self) -> None:
        self.t += 1
        self._k = 0

    # the algebra
    def linear(self, affine: Any, parts: Sequence[Var]) -> Var:
        z = parts[0].v if len(parts) == 1 else np.concatenate([p.v for p in parts], axis=-1)
        return self._new(z @ affine.W.T + affine.bias_float, "linear", tuple(parts), affine)

    def split(self, v: Var, sizes: Sequence[int]) -> list[Var]:
        out, start = [], 0
        for n in sizes:
            out.append(self._new(v.v[:, start : start + n], "slice", (v,), slice(start, start + n)))
            start += n
        return out

    def concat(self, vs: Sequence[Var]) -> Var:
        return self._new(np.concatenate([p.v for p in vs], axis=-1), "concat", tuple(vs), [p.v.shape[-1] for p in vs])

    def _nonlinear(self, v: Var, op: str, value: np.ndarray) -> Var:
        out = self._new(value, op, (v,))
        self.nonlinear[(self.t, self._k)] = out
        self._k += 1
        return out

    def sigmoid(self, v: Var) -> Var:
        return self._nonlinear(v, "sigmoid", _sigmoid(v.v))

    def tanh(self, v: Var) -> Var:
        return self._nonlinear(v, "tanh", np.tanh(v.v))

    def gate(self, g: Var, v: Var) -> Var:
        return self._new(g.v * v.v, "gate", (g, v))

    def add(self, v: Var, w: Var) -> Var:
        return self._new(v.v + w.v, "add", (v, w))

    def gated_sum(self, g1: Var, v1: Var, g2: Var, v2: Var) -> Var:
        return self.add(self.gate(g1, v1), self.gate(g2, v2))

    def mix(self, z: Var, n: Var, h: Var) -> Var:
        return self._new((1.0 - z.v) * n.v + z.v * h.v, "mix", (z, n, h))

    # reverse mode
    def backward(self, seeds: Sequence[tuple[Var, np.ndarray]]) -> None:
        """Accumulate ``.grad`` of ``Σ seed · var`` into every var on the tape (``grad`` None
        where the seeds do not depend on it)."""
        for var in self.tape:
            var.grad = None
        for var, g in seeds:
            var.grad = g.copy() if var.grad is None else var.grad + g
        for var in reversed(self.tape):
            g = var.grad
            if g is None or not var.parents:
                continue
            op = var.op
            if op == "linear":
                dz = g @ var.data.W
                o = var.data.offsets
                for i, p in enumerate(var.parents):
                    _acc(p, dz[:, o[i] : o[i + 1]])
            elif op == "slice":
                (p,) = var.parents
                full = np.zeros_like(p.v)
                full[:, var.data] = g
                _acc(p, full)
            elif op == "concat":
                start = 0
                for p, n in zip(var.parents, var.data):
                    _acc(p, g[:, start : start + n])
                    start += n
            elif op == "sigmoid":
                _acc(var.parents[0], g * var.v * (1.0 - var.v))
            elif op == "tanh":
                _acc(var.parents[0], g * (1.0 - var.v * var.v))
            elif op == "gate":
                gv, vv = var.parents
                _acc(gv, g * vv.v)
                _acc(vv, g * gv.v)
            elif op == "add":
                for p in var.parents:
                    _acc(p, g)
            elif op == "mix":
                z, n, h = var.parents
                _acc(z, g * (h.v - n.v))
                _acc(n, g * (1.0 - z.v))
                _acc(h, g * z.v)
            else:  # pragma: no cover
                raise AssertionError(op)


def _acc(var: Var, g: np.ndarray) -> None:
    var.grad = g.copy() if var.grad is None else var.grad + g


class TapeRun:
    """A recorded forward pass: ``ops`` (the tape), ``xs`` the input leaves per step, ``logits``
    (B, n_y) at the last step, ``final`` the last output ``a⟨T⟩`` var."""

    def __init__(self, ops: TapeOps, xs: list[Var], final: Var, logits: np.ndarray | None, head: Any) -> None:
        self.ops, self.xs, self.final, self.logits, self.head = ops, xs, final, logits, head

    def input_gradient(self, rows: np.ndarray) -> np.ndarray:
        """Gradient of ``rows[b] · z⟨T⟩`` (logits; ``rows`` (B, n_y)) with respect to the inputs,
        (T, B, n_x)."""
        self.ops.backward([(self.final, rows @ self.head.W)])
        return np.stack([x.grad if x.grad is not None else np.zeros_like(x.v) for x in self.xs])

    def nonlinear_gradient(self, rows: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Gradient of ``rows[b] · z⟨T⟩`` with respect to the output of every nonlinearity
        ``(t, k)``: (B, n) arrays (zeros where there is no dependence)."""
        self.ops.backward([(self.final, rows @ self.head.W)])
        return {key: (v.grad if v.grad is not None else np.zeros_like(v.v)) for key, v in self.ops.nonlinear.items()}


def run_tape(model: Model, xs: np.ndarray, a0: np.ndarray | None = None, c0: np.ndarray | None = None) -> TapeRun:
    """Record the float forward pass of ``model`` on ``xs`` (T, B, n_x) from the initial states
    ``a0``, ``c0`` (None: zeros; (n,) or (B, n) points; one per cell for several cells).
    Unidirectional layers only (time-major, as the unrolling loop runs them)."""
    if any(layer.bidirectional for layer in model.layers):
        raise NotImplementedError("tape: bidirectional layers are not recorded")
    T, B, _ = xs.shape
    ops = TapeOps()
    cells = [layer.cell for layer in model.layers]
    states = []
    for i, cell in enumerate(cells):
        given = {"a": a0, "c": c0}
        if len(cells) > 1:
            given = {k: (None if v is None else v[i]) for k, v in given.items()}
        st = {}
        for name in cell.state:
            v = given.get(name)
            st[name] = ops.leaf(np.zeros((B, cell.n_hidden)) if v is None else np.broadcast_to(np.asarray(v, dtype=np.float64), (B, cell.n_hidden)).copy())
        states.append(st)
    inputs: list[Var] = []
    x_out = None
    for t in range(T):
        x = ops.leaf(xs[t])
        inputs.append(x)
        if model.embedding is not None:
            x = ops._new(x.v @ model.embedding, "linear", (x,), _Embed(model.embedding))
        for l, cell in enumerate(cells):
            sig = cell.step(ops, x, states[l])
            states[l] = {k: sig[k] for k in cell.state}
            x = sig["a"]
        x_out = x
        ops.next_step()
    logits = None if model.head is None else x_out.v @ model.head.W.T + model.head.b
    return TapeRun(ops, inputs, x_out, logits, model.head)


class _Embed:
    """The embedding as a linear map for the tape: ``x E`` (x one-hot rows, E (vocab, d))."""

    def __init__(self, E: np.ndarray) -> None:
        self.W = E.T
        self.offsets = [0, E.shape[0]]
