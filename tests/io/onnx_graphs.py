"""ONNX graphs built node by node for the importer tests, in float64 so that
``onnx.reference.ReferenceEvaluator`` — the framework's own evaluation — computes in float64."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

OPSET = 17


class Graph:
    """A graph under construction: input ``X`` (T, B, n_x), an LSTM (optional), any nodes."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5, seed: int = 0) -> None:
        self.n_x, self.n_a, self.n_y = n_x, n_a, n_y
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.inputs = [helper.make_tensor_value_info("X", TensorProto.DOUBLE, None)]
        self.feeds: dict[str, np.ndarray] = {}
        self._names = itertools.count()

    def fresh(self, stem: str = "v") -> str:
        return f"{stem}{next(self._names)}"

    def const(self, value, name: str | None = None) -> str:
        name = name or self.fresh("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def random(self, *shape: int, name: str | None = None) -> str:
        return self.const(self.rng.uniform(-1.5, 1.5, shape), name)

    def node(self, op: str, inputs: list[str], n_out: int = 1, name: str | None = None, **attrs) -> list[str]:
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name or self.fresh(op), **attrs))
        return outs

    def input(self, name: str, dtype=TensorProto.DOUBLE) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, None))
        return name

    def lstm(self, B: str | None = "init", inputs: dict[str, str] | None = None, op: str = "LSTM", gates: int = 4, **attrs) -> list[str]:
        """An LSTM node with random W, R (and B unless None); returns [Y, Y_h, Y_c]."""
        n = self.n_a
        self.W = self.rng.uniform(-1.5, 1.5, (1, gates * n, self.n_x))
        self.R = self.rng.uniform(-1.5, 1.5, (1, gates * n, n))
        if getattr(self, "B", np.zeros(0)).shape != (1, 2 * gates * n):  # a test may have set B (and built it into the graph)
            self.B = self.rng.uniform(-1.5, 1.5, (1, 2 * gates * n))
        args = ["X", self.const(self.W, "W"), self.const(self.R, "R")]
        if B == "init":
            args.append(self.const(self.B, "B"))
        elif B is not None:
            args.append(B)  # computed by the caller
        for slot, position in (("sequence_lens", 4), ("initial_h", 5), ("initial_c", 6), ("P", 7)):
            if inputs and slot in inputs:
                while len(args) < position:
                    args.append("")
                args.append(inputs[slot])
        return self.node(op, args, 3 if op == "LSTM" else 2, name="lstm", hidden_size=n, **attrs)

    def model(self, outputs: list[str]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, "g", self.inputs, [helper.make_tensor_value_info(o, TensorProto.DOUBLE, None) for o in outputs], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])

    def save(self, path, outputs: list[str]):
        self.outputs = outputs
        m = self.model(outputs)
        onnx.save(m, str(path))
        return path

    def run(self, xs: np.ndarray, **feeds) -> list[np.ndarray]:
        """The graph's outputs for X = xs (T, B, n_x), by onnx.reference.ReferenceEvaluator."""
        return ReferenceEvaluator(self.model(self.outputs)).run(None, {"X": xs, **feeds})


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
