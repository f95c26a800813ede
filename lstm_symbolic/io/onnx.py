"""ONNX: a graph of ``LSTM`` / ``GRU`` nodes, and its output layer when the graph pins it down.

The reader (the ``onnx`` extra) first evaluates every constant sub-graph — each node whose
inputs are all initializers or constants, with ``onnx.reference.ReferenceEvaluator`` — so a
``W``, ``R``, ``B`` or ``P`` computed in the graph (through ``Identity``, ``Cast``, ``Add`` …)
is read as the value the graph computes; an LSTM input that depends on the graph's inputs is
refused. It then parses the graph into a :class:`.description.Description`:

- the recurrent nodes (``LSTM``, ``GRU``; ``RNN`` is refused), one entry per direction
  (``direction`` forward, reverse or bidirectional), with their gate blocks in ONNX's order
  (:data:`GATES`: LSTM i, o, f, c; GRU z, r, h), peepholes ``P`` (bounded: one diagonal term
  per gate), a GRU's ``linear_before_reset``, and every option the node sets; what is not
  supported (``sequence_lens``, ``clip``, non-default activations, ``input_forget``, a
  non-zero or input-dependent initial state) is refused in one place,
  :func:`.description.refusal`;
- several recurrent nodes only as one chain, each reading the one before through the layout
  ops ``torch.onnx.export`` writes: ``Squeeze`` of the direction axis (one direction), or
  ``Transpose(perm=[0, 2, 1, 3])`` then ``Reshape`` to ``[0, 0, -1]`` (two directions, which
  concatenates them forward first) — anything else between two recurrent nodes is refused;
- the output layer, taken only when the graph is exactly ``Y_h`` (or ``Y``) -> [``Squeeze``,
  ``Unsqueeze``, ``Reshape``, ``Transpose``, ``Flatten``, ``Identity``, ``Cast``, and
  ``Gather`` of the direction axis or of the last step, each keeping the hidden axis last and
  whole; for a bidirectional last node ``Transpose`` + ``Reshape`` joining the two directions,
  and never ``Y_h``, whose reverse half is the state after the whole sequence] of the last
  recurrent node -> ``MatMul`` / ``Gemm`` by a constant (+ one ``Add`` of a constant bias that
  broadcasts along the classes) -> [the same layout ops, ``Softmax``/``LogSoftmax`` on the
  class axis] -> a graph output. Anything else after the LSTM (a ``Relu``, a second layer,
  a ``MatMul`` on ``Y_c``) means no output layer is imported: the notes say which node and why
  (and ``head=True`` or ``head="name"`` raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NotAModelError
from .description import Description, Head, HeadRequest, Recurrent, Tensor, head_request, refusal

__all__ = ["GATES", "LABELS", "read_file", "describe_model"]

#: How ONNX stacks the gate blocks of its ``LSTM`` / ``GRU`` / ``RNN`` operators (the ONNX
#: operator specification), each as (ONNX's letter, the seed's gate): for the LSTM
#: i -> Γ_u, o -> Γ_o, f -> Γ_f, c -> c̃; for the GRU z, r and the candidate h -> n. The only
#: place this order is written.
GATES: dict[str, tuple[tuple[str, str], ...]] = {
    "lstm": (("i", "u"), ("o", "o"), ("f", "f"), ("c", "c")),
    "gru": (("z", "z"), ("r", "r"), ("h", "n")),
    "rnn": (("i", "h"),),
}
#: What each recurrent operator is called in messages.
LABELS = {"lstm": "ONNX LSTM node", "gru": "ONNX GRU node", "rnn": "ONNX RNN node"}
_KINDS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
_DEFAULT_ACTIVATIONS = {"lstm": ("sigmoid", "tanh", "tanh"), "gru": ("sigmoid", "tanh"), "rnn": ("tanh",)}
_KNOWN_ATTRS = {"hidden_size", "direction", "activations", "activation_alpha", "activation_beta", "clip", "input_forget",
                "layout", "linear_before_reset"}
_NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
#: Ops that move or copy values without changing them (used to prove an initial state zero).
_COPIES = {"Expand", "Reshape", "Unsqueeze", "Squeeze", "Identity", "Cast", "Transpose", "Tile", "Flatten", "Slice", "Gather"}
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _onnx(argument: str, source: str) -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise NotAModelError(argument, "the onnx extra to read an ONNX file (pip install 'lstm_symbolic[onnx]')", got=source) from exc
    return onnx


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def _label(node: Any) -> str:
    return f"{node.op_type} {node.name!r}" if node.name else f"{node.op_type} (-> {node.output[0]!r})"


# --- constants -----------------------------------------------------------------------------------


def _constants(model: Any, notes: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every value the graph computes from initializers and constants alone, evaluated node by
    node with ``onnx.reference.ReferenceEvaluator``; and, for constant-input nodes that could
    not be evaluated, why (so a refusal can name it)."""
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    overridable = sorted({i.name for i in graph.input} & set(consts))
    if overridable:
        notes.append(f"initializers that are also graph inputs (overridable defaults) are read at their stored values: {', '.join(overridable[:6])}")
    opsets = {o.domain or "": o.version for o in model.opset_import}
    failed: dict[str, str] = {}
    for node in graph.node:
        if (node.domain not in ("", "ai.onnx") or node.op_type in _NONDETERMINISTIC or node.op_type in _KINDS
                or any(a.g.ByteSize() or len(a.graphs) for a in node.attribute)):
            continue
        ins = [i for i in node.input if i]
        if not all(i in consts for i in ins):
            continue
        try:
            values = ReferenceEvaluator(node, opsets=opsets).run(None, {i: consts[i] for i in ins})
        except Exception as exc:  # noqa: BLE001 - any op the reference evaluator cannot run
            for o in node.output:
                failed[o] = f"{_label(node)} could not be evaluated ({type(exc).__name__})"
            continue
        for o, v in zip(node.output, values):
            if o:
                consts[o] = np.asarray(v)
    return consts, failed


class _Graph:
    """Producers, consumers and constants of a graph, with the questions the reader asks."""

    def __init__(self, model: Any, consts: dict[str, np.ndarray], failed: dict[str, str]) -> None:
        self.graph = model.graph
        self.consts, self.failed = consts, failed
        self.producer = {o: n for n in self.graph.node for o in n.output if o}
        self.consumers: dict[str, list[Any]] = {}
        for n in self.graph.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.inputs = {i.name for i in self.graph.input} - set(c.name for c in self.graph.initializer)
        self.outputs = {o.name for o in self.graph.output}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    def constant(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def why_not_constant(self, name: str) -> str:
        if name in self.failed:
            return self.failed[name]
        if name in self.inputs:
            return f"it is the graph input {name!r}"
        node = self.producer.get(name)
        return f"it is computed from the graph's inputs (by {_label(node)})" if node is not None else f"{name!r} is not defined"

    def provably_zero(self, name: str, depth: int = 0) -> str | None:
        """How ``name`` is known to be all zeros whatever the graph's inputs, or None."""
        value = self.consts.get(name)
        if value is not None:
            return "a zero constant" if not np.any(value) else None
        node = self.producer.get(name)
        if node is None or depth > 32:
            return None
        if node.op_type == "ConstantOfShape":
            fill = _attrs(node).get("value")
            from onnx import numpy_helper

            return "ConstantOfShape of 0" if fill is None or not np.any(numpy_helper.to_array(fill)) else None
        if node.op_type in _COPIES and node.input and self.provably_zero(node.input[0], depth + 1):
            return f"zeros through {node.op_type}"
        if node.op_type == "Concat" and all(self.provably_zero(i, depth + 1) for i in node.input if i):
            return "a Concat of zeros"
        return None


# --- the recurrent nodes -------------------------------------------------------------------------


def _recurrent(g: _Graph, node: Any, source: str, argument: str, layer: int = 0) -> list[Recurrent]:
    kind = _KINDS[node.op_type]
    attrs = _attrs(node)
    ins = list(node.input) + [""] * (8 - len(node.input))
    name = node.name or f"{node.op_type} -> {node.output[0] if node.output else '?'}"
    unsupported: list[tuple[str, str]] = []
    notes: list[str] = []
    op = node.op_type

    def const(k: int, label: str) -> np.ndarray | None:
        if not ins[k]:
            return None
        value = g.constant(ins[k])
        if value is None:
            if kind == "rnn":
                return None
            raise NotAModelError(argument, f"ONNX {op} input {label} fixed in the file (an initializer, or computed from constants)",
                                 got=f"{source}: {label} = {ins[k]!r}: {g.why_not_constant(ins[k])}")
        return np.asarray(value, dtype=np.float64)

    W, Rm, B = const(1, "W"), const(2, "R"), const(3, "B")
    if kind == "rnn":
        W = np.zeros((1, 0, 0)) if W is None else W
        Rm = np.zeros((1, 0, 0)) if Rm is None else Rm
        return [Recurrent(kind, LABELS[kind], name, GATES[kind], Tensor(W[d], ins[1], (d,)), Tensor(Rm[d], ins[2], (d,)),
                          direction="forward" if d == 0 else "reverse", layer=layer) for d in range(max(W.shape[0], 1))]
    k = len(GATES[kind])
    if W is None or Rm is None:
        raise NotAModelError(argument, f"an ONNX {op} with inputs W and R", got=f"{source}: {name} lacks {'W' if W is None else 'R'}")
    if W.ndim != 3 or Rm.ndim != 3 or W.shape[0] not in (1, 2) or W.shape[1] % k or Rm.shape[:2] != W.shape[:2]:
        raise NotAModelError(argument, f"ONNX {op} W (num_directions, {k} n_a, n_x) and R (num_directions, {k} n_a, n_a)",
                             got=f"{source}: W {W.shape}, R {Rm.shape}")
    dirs, n_ak = W.shape[0], W.shape[1]
    n_a = n_ak // k
    if B is not None and B.shape != (dirs, 2 * n_ak):
        raise NotAModelError(argument, f"ONNX {op} B of shape ({dirs}, {2 * n_ak})", got=f"{source}: {ins[3]!r} has shape {B.shape}")
    if "hidden_size" in attrs and int(attrs["hidden_size"]) != n_a:
        raise NotAModelError(argument, f"hidden_size = {n_a} (from W)", got=f"{source}: hidden_size={attrs['hidden_size']}")
    direction = str(attrs.get("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise NotAModelError(argument, "direction forward, reverse or bidirectional", got=f"{source}: {name} direction={direction!r}")
    if (direction == "bidirectional") != (dirs == 2):
        raise NotAModelError(argument, f"W with {2 if direction == 'bidirectional' else 1} direction(s) for direction={direction}", got=f"{source}: W {W.shape}")
    acts = [str(a).lower() for a in attrs.get("activations", [])]
    if acts and acts != list(_DEFAULT_ACTIVATIONS[kind]) * dirs:
        unsupported.append(("activations", f"{attrs['activations']}; only {', '.join(a.capitalize() for a in _DEFAULT_ACTIVATIONS[kind])}"))
    for a in ("activation_alpha", "activation_beta"):
        if a in attrs:
            unsupported.append((a, f"{a}={attrs[a]}"))
    if "clip" in attrs:
        unsupported.append(("cell clipping", f"clip={attrs['clip']}: every pre-activation clamped to ±{attrs['clip']}, a step the bounds do not model"))
    if kind == "lstm" and int(attrs.get("input_forget", 0)):
        unsupported.append(("input_forget coupling", "input_forget=1 (the forget gate tied to the input gate)"))
    known = _KNOWN_ATTRS if kind == "lstm" else _KNOWN_ATTRS - {"input_forget"}
    if kind == "lstm":
        known = known - {"linear_before_reset"}
    for a in sorted(set(attrs) - known):
        unsupported.append((f"attribute {a}", f"{a}={attrs[a]}"))
    if ins[4]:
        where = (f"the graph input {ins[4]!r}" if ins[4] in g.inputs else
                 f"the constant {g.constant(ins[4]).tolist()!r}" if g.constant(ins[4]) is not None else f"computed in the graph ({ins[4]!r})")
        unsupported.append(("sequence_lens (per-sequence lengths)", f"{where}; variable lengths are not supported yet: drop it and "
                            "bound full-length sequences"))
    states = ((5, "initial_h", "a0"), (6, "initial_c", "c0")) if kind == "lstm" else ((5, "initial_h", "a0"),)
    for slot, label, ours in states:
        if not ins[slot]:
            continue
        if ins[slot] in g.inputs:
            notes.append(f"{label} is the graph input {ins[slot]!r}: bounds take {ours} = 0 unless you pass {ours} to propagate")
            continue
        zero = g.provably_zero(ins[slot])
        if zero:
            if g.constant(ins[slot]) is None:
                notes.append(f"{label} is computed in the graph as zeros ({zero}): {ours} = 0")
            continue
        what = "a non-zero constant" if g.constant(ins[slot]) is not None else f"computed from the graph's inputs ({g.why_not_constant(ins[slot])})"
        unsupported.append((label, f"{what}; pass the initial state as {ours} to propagate instead"))
    P = const(7, "P") if kind == "lstm" else None
    peep = None
    if P is not None:
        if P.shape != (dirs, 3 * n_a):
            raise NotAModelError(argument, f"ONNX LSTM P of shape ({dirs}, {3 * n_a})", got=f"{source}: {ins[7]!r} has shape {P.shape}")
        if np.any(P != 0):
            peep = P
        else:
            notes.append(f"peepholes P ({ins[7]!r}) are all zero: no peepholes")
    lbr = int(attrs.get("linear_before_reset", 0))
    if kind == "gru":
        notes.append(f"{name}: linear_before_reset={lbr}: the reset gate multiplies {'after' if lbr else 'before'} the recurrent matmul")
    layers = []
    for d in range(dirs):
        bx = None if B is None else Tensor(B[d, :n_ak], ins[3], (d,))  # Wb
        ba = None if B is None else Tensor(B[d, n_ak:], ins[3], (d,), n_ak)  # Rb
        layers.append(Recurrent(kind, LABELS[kind], name, GATES[kind], Tensor(W[d], ins[1], (d,)),
                                Tensor(Rm[d], ins[2], (d,)), bx, ba, layer=layer,
                                direction="forward" if d == 0 and direction != "reverse" else "reverse",
                                peepholes=None if peep is None else Tensor(peep[d], ins[7], (d,)), reset_after=bool(lbr),
                                unsupported=tuple(unsupported), notes=tuple(notes) if d == 0 else ()))
    return layers


# --- chains of recurrent nodes -------------------------------------------------------------------


def _glue(g: _Graph, node: Any, nxt: Any, dirs: int) -> str:
    """Why the input X of ``nxt`` is not the output sequence of ``node`` laid out as
    (time, batch, features) — ``[forward; reverse]`` features for two directions — through
    the layout ops between them, or "" when it is."""
    chain, name = [], nxt.input[0]
    while name != node.output[0]:
        p = g.producer.get(name)
        if p is None or p.op_type not in ("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Cast") or len(chain) > 16:
            return f"{_label(nxt)} reads {name!r}, which is not {_label(node)}'s output Y through layout ops"
        chain.append(p)
        name = p.input[0]
    layout_in = int(_attrs(node).get("layout", 0))
    roles: list[tuple[str, int]] = [("batch", 0), ("time", 0), ("dir", dirs), ("hidden", 1)] if layout_in else \
        [("time", 0), ("dir", dirs), ("batch", 0), ("hidden", 1)]
    for p in reversed(chain):
        attrs = _attrs(p)
        if p.op_type in ("Identity", "Cast"):
            continue
        if p.op_type == "Transpose":
            perm = attrs.get("perm", list(range(len(roles)))[::-1])
            roles = [roles[i] for i in perm]
        elif p.op_type == "Squeeze":
            axes = _axes(g, p, attrs)
            if axes is None:
                return f"{_label(p)} squeezes axes not fixed in the file"
            at = sorted(a + len(roles) if a < 0 else a for a in axes)
            if any(roles[a] != ("dir", 1) for a in at):
                return f"{_label(p)} squeezes an axis other than the single direction"
            roles = [r for i, r in enumerate(roles) if i not in at]
        elif p.op_type == "Reshape":
            shape = g.constant(p.input[1]) if len(p.input) > 1 else None
            if shape is None or int(attrs.get("allowzero", 0)):
                return f"{_label(p)} reshapes to a shape not fixed in the file (or with allowzero)"
            shape = [int(v) for v in np.ravel(shape)]
            lead = 0
            while lead < len(shape) and shape[lead] == 0:
                lead += 1
            rest = [r for r in roles[lead:] if r != ("dir", 1)]
            if shape[lead:] not in ([-1],) or len(shape) != lead + 1 or rest not in ([("dir", 2), ("hidden", 1)], [("hidden", 1)]):
                return f"{_label(p)} reshapes to {shape}, not (time, batch, features) with the directions joined"
            roles = roles[:lead] + [("hidden", 1)]
        else:  # pragma: no cover - filtered above
            return f"{_label(p)} is not a layout op"
    want = [("batch", 0), ("time", 0), ("hidden", 1)] if int(_attrs(nxt).get("layout", 0)) else [("time", 0), ("batch", 0), ("hidden", 1)]
    roles = [r for r in roles if r != ("dir", 1)]
    if roles != want:
        return f"the layout ops between {_label(node)} and {_label(nxt)} give axes {[r for r, _ in roles]}, not {[r for r, _ in want]}"
    return ""


def _reads_graph_input(g: _Graph, node: Any) -> bool:
    name, depth = node.input[0], 0
    while name not in g.inputs and depth < 32:
        p = g.producer.get(name)
        if p is None or p.op_type in _KINDS:
            return False
        name, depth = p.input[0] if p.input else "", depth + 1
    return name in g.inputs


def _chain(g: _Graph, nodes: list[Any], source: str, argument: str) -> list[Any]:
    """The recurrent nodes in stack order, each reading the one before (:func:`_glue`), or a
    refusal naming the nodes."""
    if len(nodes) == 1:
        return nodes
    firsts = [n for n in nodes if _reads_graph_input(g, n)]
    if len(firsts) != 1:
        raise NotAModelError(argument, "recurrent nodes in one chain, the first reading the graph's input",
                             got=f"{source}: {len(firsts)} of {len(nodes)} recurrent nodes read the graph's input ({', '.join(_label(n) for n in firsts)})")
    order = firsts
    left = [n for n in nodes if n is not firsts[0]]
    while left:
        last = order[-1]
        dirs = 2 if str(_attrs(last).get("direction", "forward")) == "bidirectional" else 1
        reasons = {}
        for n in left:
            why = _glue(g, last, n, dirs)
            if not why:
                order.append(n)
                left.remove(n)
                break
            reasons[n.name] = why
        else:
            raise NotAModelError(argument, "recurrent nodes in one chain, each reading the output sequence of the one before",
                                 got=f"{source}: {'; '.join(dict.fromkeys(reasons.values()))}")
    return order


# --- the output layer ----------------------------------------------------------------------------


@dataclass
class _Candidate:
    node: Any
    W: Tensor | None = None
    b: Tensor | None = None
    reads: str = "every step"
    start: str = "Y"
    path: tuple[Any, ...] = ()  # the nodes of the pattern, from the LSTM's output to the graph output
    why_not: str = ""  # empty: an exact output layer


def _axes(g: _Graph, node: Any, attrs: dict[str, Any]) -> list[int] | None:
    if len(node.input) > 1 and node.input[1]:
        v = g.constant(node.input[1])
        return None if v is None else [int(a) for a in np.ravel(v)]
    return [int(a) for a in attrs["axes"]] if "axes" in attrs else None


@dataclass
class _Step:
    """What a layout op does to the axes: ``ok``; ``roles`` after it (None: rank unknown, the
    kept axis still last); ``last``: it selected the last step; ``why``: when not ``ok``."""

    ok: bool
    roles: list[str] | None = None
    last: bool = False
    why: str = ""
    width: int | None = None  # the kept axis's new size (two directions joined), else unchanged


def _relayout(g: _Graph, node: Any, roles: list[str] | None, keep: str, n_keep: int, dirs: int = 1) -> _Step:
    """What layout op ``node`` does to a value whose axes play ``roles`` (``"time"``, ``"dir"``,
    ``"batch"``, ``"mixed"``, ``"new"``, and ``keep`` — the hidden or class axis — last); not
    ``ok`` when it does not keep the ``keep`` axis last and whole, or is not a layout op. With
    two directions (``dirs=2``) the direction axis must stay whole until a ``Reshape`` joins it
    with the hidden axis right after it (``[forward; reverse]``, row-major)."""
    op, attrs = node.op_type, _attrs(node)
    rank = None if roles is None else len(roles)

    def no(why: str) -> _Step:
        return _Step(False, why=f"{_label(node)} {why}")

    def norm(axes: list[int], r: int) -> list[int]:
        return sorted(a + r if a < 0 else a for a in axes)

    if op == "Identity" or (op == "Cast" and int(attrs.get("to", 0)) in _FLOAT_TYPES):
        return _Step(True, roles)
    if op == "Cast":
        return no("casts to a non-float type")
    if op in ("Transpose", "Squeeze", "Unsqueeze", "Flatten", "Gather") and rank is None and not (op == "Squeeze" and _axes(g, node, attrs) is None):
        return no("acts on a value of unknown rank")
    if op == "Transpose":
        new = [roles[p] for p in attrs.get("perm", list(range(rank))[::-1])]
        return _Step(True, new) if new[-1] == keep else no(f"moves the {keep} axis")
    if op == "Squeeze":
        axes = _axes(g, node, attrs)
        if axes is None:
            if len(node.input) > 1 and node.input[1]:
                return no("squeezes axes computed in the graph")
            return no(f"without axes could drop the {keep} axis") if n_keep == 1 else _Step(True, None)
        if rank - 1 in norm(axes, rank):
            return no(f"squeezes the {keep} axis")
        return _Step(True, [r for k, r in enumerate(roles) if k not in norm(axes, rank)])
    if op == "Unsqueeze":
        axes = _axes(g, node, attrs)
        if axes is None:
            return no("inserts axes computed in the graph")
        out_rank = rank + len(axes)
        at = norm(axes, out_rank)
        it = iter(roles)
        new = ["new" if k in at else next(it) for k in range(out_rank)]
        return _Step(True, new) if new[-1] == keep else no(f"inserts an axis after the {keep} axis")
    if op == "Reshape":
        shape = g.constant(node.input[1]) if len(node.input) > 1 else None
        if shape is None:
            return no("reshapes to a shape computed in the graph")
        shape = [int(s) for s in np.ravel(shape)]
        if dirs == 2 and roles is not None and "dir" in roles:
            lead = 0
            while lead < len(shape) and shape[lead] == 0:
                lead += 1
            if (len(roles) >= 2 and roles[-2:] == ["dir", keep] and lead == len(roles) - 2 and len(shape) == lead + 1
                    and shape[-1] in (-1, 2 * n_keep) and not int(attrs.get("allowzero", 0))):
                return _Step(True, roles[:-2] + [keep], width=2 * n_keep)
            return no(f"to {shape} does not join the two directions into the hidden axis ([0, …, 0, -1] after the direction axis)")
        if not shape or shape[-1] != n_keep:
            return no(f"to {shape} does not keep the {keep} axis ({n_keep}) last")
        # row-major: when the last axis has n_keep entries before and after, it is the same axis
        return _Step(True, ["mixed"] * (len(shape) - 1) + [keep])
    if op == "Flatten":
        axis = int(attrs.get("axis", 1))
        axis = axis + rank if axis < 0 else axis
        return _Step(True, ["mixed", keep]) if axis == rank - 1 else no(f"at axis {axis} merges the {keep} axis with others")
    if op == "Gather":
        idx = g.constant(node.input[1]) if len(node.input) > 1 else None
        if idx is None or idx.size != 1:
            return no("gathers indices computed in the graph, or several")
        axis = int(attrs.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        role, k = roles[axis], int(np.ravel(idx)[0])
        last = role == "time" and k == -1
        if role == "dir" and dirs == 2:
            return no("selects one direction of a bidirectional node")
        if not (last or (role == "dir" and k in (0, -1))):
            return no(f"selects index {k} of the {role} axis")
        new = [r for j, r in enumerate(roles) if j != axis] if idx.ndim == 0 else list(roles)
        return _Step(True, new, last=last)
    return no("is not a layout op (only Squeeze, Unsqueeze, Reshape, Transpose, Flatten, Gather, Identity, Cast may sit "
              "between a⟨t⟩ and the output layer's MatMul/Gemm)")


def _follow(g: _Graph, name: str, roles: list[str] | None, n_a: int, reads: str, start: str, path: tuple[Any, ...],
            out: list[_Candidate], left: list[str], dirs: int = 1) -> None:
    """Walk the consumers of ``name`` (hidden axis last) to the MatMul/Gemm nodes that read it."""
    for node in g.consumers.get(name, []):
        here = path + (node,)
        if node.op_type in ("MatMul", "Gemm"):
            c = _head(g, node, name, roles, n_a, reads, start, here)
            if dirs == 2 and (roles is None or "dir" in roles) and not c.why_not:
                c.why_not = f"{_label(node)} reads the two directions of a bidirectional node separately, not [a_forward⟨t⟩; a_reverse⟨t⟩]"
            out.append(c)
            continue
        if node.op_type in _KINDS:
            continue  # the next recurrent node of a chain
        step = _relayout(g, node, roles, "hidden", n_a, dirs) if node.input[0] == name else _Step(False, why=f"{_label(node)} reads a⟨t⟩ as a parameter")
        if not step.ok or len(path) > 64:
            left.append(step.why)
            continue
        width, d = (step.width, 1) if step.width is not None else (n_a, dirs)
        for o in node.output:
            if o:
                _follow(g, o, step.roles, width, "the last step" if step.last else reads, start, here, out, left, d)


def _broadcast_bias(value: np.ndarray, n_y: int) -> np.ndarray | None:
    """``value`` as a (n_y,) bias when it broadcasts along the class axis only (every axis but
    the last of size 1, the last n_y or 1), else None."""
    if value.ndim and (any(s != 1 for s in value.shape[:-1]) or value.shape[-1] not in (1, n_y)):
        return None
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n_y,)).copy() if value.size in (1, n_y) else None


def _head(g: _Graph, node: Any, a_name: str, roles: list[str] | None, n_a: int, reads: str, start: str, path: tuple[Any, ...]) -> _Candidate:
    """Check one MatMul/Gemm reading a⟨t⟩ against the output-layer pattern."""
    c = _Candidate(node, reads=reads, start=start, path=path)
    attrs = _attrs(node)
    if node.input[0] != a_name or len(node.input) < 2:
        c.why_not = f"{_label(node)} multiplies a⟨t⟩ from the right (it is not W a⟨t⟩)"
        return c
    Wm = g.constant(node.input[1])
    if Wm is None:
        c.why_not = f"{_label(node)}: its weight {node.input[1]!r} is not a constant ({g.why_not_constant(node.input[1])})"
        return c
    Wm = np.asarray(Wm, dtype=np.float64)
    bias = None
    if node.op_type == "Gemm":
        if int(attrs.get("transA", 0)) or float(attrs.get("alpha", 1.0)) != 1.0 or float(attrs.get("beta", 1.0)) != 1.0:
            c.why_not = f"{_label(node)} has transA, alpha or beta not at their defaults"
            return c
        if roles is not None and len(roles) != 2:
            c.why_not = f"{_label(node)} on a value of rank {len(roles)}"
            return c
        Wy = Wm if int(attrs.get("transB", 0)) else Wm.T
    else:
        Wy = Wm.T
    if Wm.ndim != 2 or Wy.shape[1] != n_a:
        c.why_not = f"{_label(node)}: weight of shape {Wm.shape} does not map the {n_a} hidden units"
        return c
    n_y = Wy.shape[0]
    c.W = Tensor(Wy, node.input[1] + (".T" if Wy is not Wm else ""))
    if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
        C = g.constant(node.input[2])
        b = None if C is None else _broadcast_bias(C, n_y)
        if b is None:
            c.why_not = (f"{_label(node)}: bias {node.input[2]!r} is not a constant" if C is None
                         else f"{_label(node)}: bias of shape {C.shape} does not broadcast along the {n_y} classes")
            return c
        bias = Tensor(b, node.input[2])
    z = node.output[0]
    users = g.consumers.get(z, [])
    if bias is None and len(users) == 1 and users[0].op_type == "Add" and z not in g.outputs:
        add = users[0]
        other = [i for i in add.input if i != z]
        C = g.constant(other[0]) if len(other) == 1 else None
        b = None if C is None else _broadcast_bias(C, n_y)
        if b is None:
            c.why_not = (f"{_label(add)} after {_label(node)} adds a value that is not a constant bias along the classes"
                         + ("" if C is None else f" (shape {C.shape})"))
            return c
        bias = Tensor(b, other[0])
        c.path += (add,)
        z = add.output[0]
    c.b = bias
    tail: list[Any] = []
    why = _tail(g, z, None if roles is None else roles[:-1] + ["class"], n_y, 0, tail)
    c.path += tuple(tail)
    if why:
        c.why_not = f"after {_label(node)}: {why}"
    return c


def _tail(g: _Graph, z: str, roles: list[str] | None, n_y: int, depth: int, seen: list[Any]) -> str:
    """Why the logits ``z`` do not reach a graph output unchanged (layout ops and a softmax on
    the class axis allowed), or "" when they do; the nodes passed are appended to ``seen``."""
    users = g.consumers.get(z, [])
    if not users:
        return "" if z in g.outputs else f"its value {z!r} is not an output of the graph"
    for u in users:
        if u.input[0] != z:
            return f"{_label(u)} reads the logits as a parameter"
        if u.op_type in ("Softmax", "LogSoftmax"):
            axis = int(_attrs(u).get("axis", -1 if g.opset >= 13 else 1))  # before opset 13: softmax of the flattened axes from 1 on
            if not (axis == -1 or (roles is not None and axis == len(roles) - 1)):
                return f"{_label(u)} is not taken along the class axis"
            seen.append(u)
            why = _tail(g, u.output[0], roles, n_y, depth + 1, seen) if depth < 16 else "too long"
        else:
            step = _relayout(g, u, roles, "class", n_y)
            if step.ok and not step.last:
                seen.append(u)
                why = _tail(g, u.output[0], step.roles, n_y, depth + 1, seen) if depth < 16 else "too long"
            elif step.ok:
                why = f"{_label(u)} selects a step after the output layer"
            elif u.op_type in ("Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Gather", "Cast"):
                why = step.why
            else:
                why = f"it feeds {_label(u)} (another layer?)"
        if why:
            return why
    return ""


# --- the whole graph -----------------------------------------------------------------------------


def describe_model(model: Any, source: str, head: Any = None, argument: str = "path") -> Description:
    """Parse an ``onnx.ModelProto`` into a :class:`.Description` (module docstring)."""
    request = head if isinstance(head, HeadRequest) else head_request(head)
    notes: list[str] = []
    consts, failed = _constants(model, notes)
    g = _Graph(model, consts, failed)
    nodes = [n for n in g.graph.node if n.op_type in _KINDS and n.domain in ("", "ai.onnx")]
    if not nodes:
        ops = sorted({n.op_type for n in g.graph.node})
        raise NotAModelError(argument, "an ONNX graph with one LSTM node", got=f"{source}: no recurrent node (ops: {', '.join(ops[:10]) or 'none'})")
    if any(n.op_type not in ("LSTM", "GRU") for n in nodes):
        layers = [layer for n in nodes for layer in _recurrent(g, n, source, argument)]
        return Description(source, "ONNX LSTM node", tuple(layers), notes=tuple(notes))  # the refusal names the RNN
    nodes = _chain(g, nodes, source, argument)
    layers = [layer for i, n in enumerate(nodes) for layer in _recurrent(g, n, source, argument, layer=i)]
    control = [_label(n) for n in g.graph.node if any(a.g.ByteSize() or len(a.graphs) for a in n.attribute)]
    if control:
        notes.append(f"the bodies of control-flow nodes are not inspected: {', '.join(control[:4])} (if they read the LSTM's outputs, "
                     "that use is not part of the bounded model)")
    if len(nodes) > 1:
        notes.append(f"{len(nodes)} recurrent nodes in one chain ({' -> '.join(_label(n) for n in nodes)}), each reading the output sequence of the one before")
    desc = Description(source, "ONNX LSTM node", tuple(layers), notes=tuple(notes), chained=True)
    if refusal(desc) is not None:
        return desc
    node = nodes[-1]
    direction = str(_attrs(node).get("direction", "forward"))
    dirs = 2 if direction == "bidirectional" else 1
    n_a = layers[-1].W_a.value.shape[-1]
    layout = int(_attrs(node).get("layout", 0))
    starts = {0: ["time", "dir", "batch", "hidden"], 1: ["dir", "batch", "hidden"]}
    if layout:
        starts = {0: ["batch", "time", "dir", "hidden"], 1: ["batch", "dir", "hidden"]}
        notes.append("layout=1 (batch first): same weights; the library's inputs are (T, B, n_x)")
    notes.extend(_input_notes(g, nodes[0]))
    candidates: list[_Candidate] = []
    left: list[str] = []
    for k, role_list in starts.items():
        if len(node.output) > k and node.output[k]:
            if k == 1 and direction != "forward":
                left += [f"{_label(u)} reads Y_h of a {direction} node: its reverse half is the state after the whole sequence (the output "
                         "at step 1), not a⟨T⟩" for u in g.consumers.get(node.output[1], [])]
                continue
            _follow(g, node.output[k], role_list, n_a, "every step" if k == 0 else "the last step", "Y_h" if k else "Y", (), candidates, left, dirs)
    if len(node.output) > 2 and node.output[2]:
        left += [f"{_label(u)} reads Y_c, the cell state (not a⟨t⟩)" for u in g.consumers.get(node.output[2], [])]
    good = [c for c in candidates if not c.why_not]
    chosen: _Candidate | None = None
    why_none = ""
    if request.mode == "named":
        named = [c for c in candidates if request.name in (c.node.name, c.node.input[1] if len(c.node.input) > 1 else "", c.node.output[0])]
        if not named:
            found = [n for n in g.graph.node if request.name in (n.name, n.output[0] if n.output else "")]
            got = (f"{_label(found[0])}, which does not read the LSTM's hidden state through layout ops only"
                   + (f" ({'; '.join(dict.fromkeys(left))})" if left else "") if found else
                   f"{request.name!r}; the MatMul/Gemm nodes reading a⟨t⟩ in {source}: " + (", ".join(_label(c.node) for c in candidates) or "none"))
            raise NotAModelError("head", "the name of a MatMul/Gemm node (or of its weight) that reads the LSTM's hidden state", got=got)
        if named[0].why_not:
            raise NotAModelError("head", "an output layer y = softmax(W a⟨t⟩ + b) with nothing else in between",
                                 got=f"{source}: {named[0].why_not}")
        chosen = named[0]
    elif request.mode == "none":
        why_none = "not asked for (head=False)"
    elif len(good) == 1:
        chosen = good[0]
    else:
        reasons = [c.why_not for c in candidates if c.why_not] + left
        why_none = (f"several output layers ({', '.join(_label(c.node) for c in good)})" if good
                    else "; ".join(dict.fromkeys(reasons)) if reasons else "nothing reads the LSTM's hidden state")
        if request.mode == "required":
            raise NotAModelError("head", "an output layer y = softmax(W a⟨t⟩ + b) read from Y or Y_h", got=f"{source}: {why_none}")
    head_desc = None
    if chosen is not None:
        head_desc = Head(chosen.W, chosen.b, _label(chosen.node), reads=chosen.reads,
                         how="graph: " + " -> ".join([chosen.start] + [_label(n) for n in chosen.path]))
    elif why_none and (candidates or left or request.mode == "none"):
        notes.append(f"no output layer imported: {why_none}")
    used = {id(n) for n in chosen.path} if chosen else set()
    left_out = [_label(n) for n in _downstream(g, node) if id(n) not in used]
    if left_out:
        notes.append(f"left out (not part of the bounded model): {', '.join(left_out[:8])}{' …' if len(left_out) > 8 else ''}")
    return Description(source, "ONNX LSTM node", tuple(layers), head_desc, notes=tuple(notes), left_out=tuple(left_out), chained=True)


def _downstream(g: _Graph, lstm: Any) -> list[Any]:
    """The nodes computed from the LSTM node's outputs (in graph order)."""
    names = {o for o in lstm.output if o}
    out = []
    for node in g.graph.node:
        if any(i in names for i in node.input):
            names.update(o for o in node.output if o)
            out.append(node)
    return out


def _input_notes(g: _Graph, node: Any) -> list[str]:
    """Where the LSTM's input X comes from: a graph input (directly or through layout ops), or
    nodes that are left out (bounds are then for the LSTM's own input)."""
    name, chain = node.input[0], []
    while name not in g.inputs and len(chain) <= len(g.graph.node):
        p = g.producer.get(name)
        if p is None or p.op_type not in ("Transpose", "Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze"):
            what = _label(p) if p is not None else repr(name)
            return [f"the LSTM's input X is computed in the graph by {what}: those nodes are left out, and bounds are for the "
                    "LSTM's own input x⟨t⟩"]
        chain.append(_label(p))
        name = p.input[0]
    return [f"the LSTM reads the graph input {name!r} through {', '.join(reversed(chain))} (layout only)"] if chain else []


def read_file(path: str, head: Any = None, argument: str = "path") -> Description:
    """Parse an ONNX file into a :class:`.Description`."""
    onnx = _onnx(argument, path)
    try:
        model = onnx.load(path)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError and friends
        raise NotAModelError(argument, "an ONNX model file", got=f"{path}: not a readable ONNX protobuf ({type(exc).__name__})") from None
    if not model.graph.node:
        raise NotAModelError(argument, "an ONNX model file", got=f"{path}: no graph nodes (not an ONNX model?)")
    return describe_model(model, f"{path} (ONNX)", head, argument)
