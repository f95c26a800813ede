"""ONNX importer: graphs built here node by node, compared against the framework's own evaluation
(``onnx.reference.ReferenceEvaluator``, float64) through ``ls.forward``; the output-layer pattern
(taken only when exact, otherwise left out with the reason); the refusals; soundness."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import NotAModelError
from lstm_symbolic.testing import assert_sound

onnx = pytest.importorskip("onnx")  # the test extra installs it
from onnx import TensorProto  # noqa: E402

from onnx_graphs import Graph, softmax  # noqa: E402

RTOL, ATOL = 1e-12, 1e-15
T, BATCH = 6, 2


def _xs(g: Graph, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, (T, BATCH, g.n_x))


# --- heads: each builder returns (logits or probabilities name, "all" | "last", is_softmax) ---------


def _matmul_add(g, Y, Y_h):
    z = g.node("MatMul", [g.node("Squeeze", [Y, g.const(np.array([1]))])[0], g.random(g.n_a, g.n_y)])[0]
    return g.node("Add", [z, g.random(g.n_y)])[0], "all", False


def _gemm_on_y_h(g, Y, Y_h):
    a = g.node("Squeeze", [Y_h, g.const(np.array([0]))])[0]
    return g.node("Gemm", [a, g.random(g.n_y, g.n_a), g.random(g.n_y)], transB=1)[0], "last", False


def _gemm_bias_row(g, Y, Y_h):  # Gemm bias of shape (1, n_y): was a bare numpy error
    a = g.node("Reshape", [Y_h, g.const(np.array([-1, g.n_a]))])[0]
    return g.node("Gemm", [a, g.random(g.n_a, g.n_y), g.random(1, g.n_y)])[0], "last", False


def _bias_1_1_ny(g, Y, Y_h):  # head bias of shape (1, 1, n_y): was read as zero
    a = g.node("Squeeze", [g.node("Transpose", [Y], perm=[0, 2, 1, 3])[0], g.const(np.array([2]))])[0]
    z = g.node("MatMul", [a, g.random(g.n_a, g.n_y)])[0]
    return g.node("Add", [g.random(1, 1, g.n_y), z])[0], "all", False


def _gather_softmax(g, Y, Y_h):
    a = g.node("Gather", [Y_h, g.const(np.array(0))], axis=0)[0]
    z = g.node("Add", [g.node("MatMul", [a, g.random(g.n_a, g.n_y)])[0], g.random(g.n_y)])[0]
    return g.node("Softmax", [z], axis=-1)[0], "last", True


def _last_step_of_y(g, Y, Y_h):
    a = g.node("Squeeze", [g.node("Gather", [Y, g.const(np.array(-1))], axis=0)[0], g.const(np.array([0]))])[0]
    return g.node("Gemm", [a, g.random(g.n_y, g.n_a), g.random(g.n_y)], transB=1)[0], "last", False


def _flatten(g, Y, Y_h):
    a = g.node("Flatten", [Y_h], axis=2)[0]
    return g.node("Gemm", [a, g.random(g.n_y, g.n_a)], transB=1)[0], "last", False


HEADS = {f.__name__.strip("_"): f for f in (_matmul_add, _gemm_on_y_h, _gemm_bias_row, _bias_1_1_ny, _gather_softmax, _last_step_of_y, _flatten)}


def _check_parity(g: Graph, w: ls.LSTMWeights, head_kind: str | None, softmaxed: bool = False, seed: int = 1, **feeds) -> None:
    xs = _xs(g, seed)
    outs = g.run(xs, **feeds)
    run = ls.forward(w, xs)
    np.testing.assert_allclose(run.a, outs[0][:, 0], rtol=RTOL, atol=ATOL)  # Y (T, 1, B, n_a)
    if head_kind is None:
        assert w.W_y is None
        return
    probs = outs[1] if softmaxed else softmax(outs[1])
    if head_kind == "all":
        np.testing.assert_allclose(run.y, probs.reshape(T, BATCH, g.n_y), rtol=RTOL, atol=ATOL)
    else:
        np.testing.assert_allclose(run.y[-1], probs.reshape(BATCH, g.n_y), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("head", sorted(HEADS))
def test_head_layouts_match_the_reference_evaluator(tmp_path, head, seed):
    g = Graph(seed=seed)
    Y, Y_h, _ = g.lstm()
    z, kind, softmaxed = HEADS[head](g, Y, Y_h)
    w = ls.load(g.save(tmp_path / "m.onnx", [Y, z]))
    assert w.n_y == g.n_y, w.info.notes
    assert ("W_y" in dict((b, a) for a, b in w.info.mapping)) and any("output layer" in n for n in w.info.notes)
    _check_parity(g, w, kind, softmaxed)


def _b_identity(g):
    return g.node("Identity", [g.const(g.B)])[0]


def _b_cast(g):
    g.B = g.B.astype(np.float32).astype(np.float64)  # what the graph computes
    return g.node("Cast", [g.const(g.B.astype(np.float32))], to=TensorProto.DOUBLE)[0]


def _b_sum(g):
    half = np.round(g.B / 2, 3)
    return g.node("Add", [g.const(half), g.const(g.B - half)])[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bias", ["initializer", "identity", "cast", "sum", "absent"])
def test_lstm_bias_through_constant_subgraphs(tmp_path, bias, seed):
    """B computed from constants (Identity, Cast, Add) is evaluated, not dropped (it used to be
    read as zero)."""
    g = Graph(seed=seed)
    g.B = g.rng.uniform(-1.5, 1.5, (1, 8 * g.n_a))
    source = {"initializer": lambda g: g.const(g.B), "identity": _b_identity, "cast": _b_cast, "sum": _b_sum, "absent": lambda g: None}[bias]
    b_name = source(g)
    Y, Y_h, _ = g.lstm(B=b_name)
    z, kind, _ = _matmul_add(g, Y, Y_h)
    w = ls.load(g.save(tmp_path / "m.onnx", [Y, z]))
    _check_parity(g, w, kind)
    if bias != "absent":
        b, res = w.bias_exact("u")  # ONNX block i is Γ_u: Wb + Rb, exactly
        n = g.n_a
        np.testing.assert_array_equal(b + res, g.B[0, :n] + g.B[0, 4 * n : 5 * n])
    else:
        assert any("bias=False" in n or "no bias" in n for n in w.info.notes)


def test_gate_order_block_by_block(tmp_path):
    g = Graph(n_x=2, n_a=3)
    Y, Y_h, _ = g.lstm()
    w = ls.load(g.save(tmp_path / "m.onnx", [Y]))
    n = g.n_a
    for block, gate in enumerate(("u", "o", "f", "c")):  # ONNX stacks i, o, f, c
        rows = slice(block * n, (block + 1) * n)
        Wg = getattr(w, "W_" + gate)
        np.testing.assert_array_equal(Wg[:, n:], g.W[0, rows])
        np.testing.assert_array_equal(Wg[:, :n], g.R[0, rows])
    assert ("W[0, 0:3] (i)", "W_u[:, 3:] (input columns)") in w.info.mapping and ("B[0, 0:3] + B[0, 12:15] (i)", "b_u (exact sum)") in w.info.mapping


def test_zero_peepholes_through_identity_are_accepted_and_noted(tmp_path):
    g = Graph()
    P = g.node("Identity", [g.const(np.zeros((1, 3 * g.n_a)))])[0]
    Y, _, _ = g.lstm(inputs={"P": P})
    w = ls.load(g.save(tmp_path / "m.onnx", [Y]))
    assert any("all zero" in n for n in w.info.notes)
    _check_parity(g, w, None)


@pytest.mark.parametrize("through", [False, True])
def test_nonzero_peepholes_are_bounded(tmp_path, through):
    """Non-zero P (even computed through Identity, where it used to be ignored) becomes the
    peephole terms of the cell: parity with the reference evaluator, and sound bounds."""
    g = Graph()
    P = g.random(1, 3 * g.n_a)
    if through:
        P = g.node("Identity", [P])[0]
    Y, _, _ = g.lstm(inputs={"P": P})
    m = ls.load(g.save(tmp_path / "m.onnx", [Y]))
    assert m.layers[0].cell.peepholes is not None and "with peepholes" in m.describe()
    xs = _xs(g)
    np.testing.assert_allclose(ls.forward(m, xs).a, g.run(xs)[0][:, 0], rtol=RTOL, atol=ATOL)
    box = ls.Box(-np.ones(g.n_x), np.ones(g.n_x))
    assert_sound(m, box, ls.propagate(m, box, steps=4), samples=6, dps=40)


def test_bias_computed_from_the_graph_input_is_refused(tmp_path):
    g = Graph()
    shift = g.node("ReduceSum", [g.node("Reshape", ["X", g.const(np.array([-1]))])[0]], keepdims=1)[0]
    B = g.node("Add", [g.random(1, 8 * g.n_a), shift])[0]
    Y, _, _ = g.lstm(B=B)
    with pytest.raises(NotAModelError, match=r"B = .*computed from the graph's inputs"):
        ls.load(g.save(tmp_path / "m.onnx", [Y]))


@pytest.mark.parametrize("how", ["input", "constant"])
def test_sequence_lens_is_refused(tmp_path, how):
    g = Graph()
    seq = g.input("seq_lens", TensorProto.INT32) if how == "input" else g.const(np.array([T] * BATCH, np.int32))
    Y, _, _ = g.lstm(inputs={"sequence_lens": seq})
    with pytest.raises(NotAModelError, match="sequence_lens") as err:
        ls.load(g.save(tmp_path / "m.onnx", [Y]))
    assert "variable lengths" in str(err.value)


def test_matmul_on_the_cell_state_is_not_a_head(tmp_path):
    g = Graph()
    Y, Y_h, Y_c = g.lstm()
    z = g.node("MatMul", [g.node("Squeeze", [Y_c, g.const(np.array([0]))])[0], g.random(g.n_a, g.n_y)])[0]
    path = g.save(tmp_path / "m.onnx", [Y, z])
    w = ls.load(path)
    assert w.W_y is None and any("Y_c" in n for n in w.info.notes), w.info.notes
    _check_parity(g, w, None)
    with pytest.raises(NotAModelError, match="head"):
        ls.load(path, head=True)


def test_relu_before_the_matmul_is_not_a_head(tmp_path):
    g = Graph()
    Y, Y_h, _ = g.lstm()
    r = g.node("Relu", [g.node("Squeeze", [Y_h, g.const(np.array([0]))])[0]], name="relu")[0]
    z = g.node("MatMul", [r, g.random(g.n_a, g.n_y)], name="fc")[0]
    path = g.save(tmp_path / "m.onnx", [Y, z])
    w = ls.load(path)
    assert w.W_y is None and any("Relu 'relu'" in n for n in w.info.notes), w.info.notes
    with pytest.raises(NotAModelError, match="head"):
        ls.load(path, head="fc")


def test_mlp_head_is_not_taken_as_the_output_layer(tmp_path):
    """Gemm(n_a -> 16) -> Relu -> Gemm(16 -> n_y): the first Gemm used to become a 16-class output."""
    g = Graph()
    Y, Y_h, _ = g.lstm()
    a = g.node("Squeeze", [Y_h, g.const(np.array([0]))])[0]
    h = g.node("Gemm", [a, g.random(16, g.n_a), g.random(16)], name="fc1", transB=1)[0]
    z = g.node("Gemm", [g.node("Relu", [h])[0], g.random(g.n_y, 16), g.random(g.n_y)], name="fc2", transB=1)[0]
    path = g.save(tmp_path / "m.onnx", [Y, z])
    w = ls.load(path)
    assert w.W_y is None
    assert any("fc1" in n and "Relu" in n for n in w.info.notes), w.info.notes
    assert any(n.startswith("left out") and "fc2" in n for n in w.info.notes)
    with pytest.raises(NotAModelError, match="Relu"):
        ls.load(path, head="fc1")
    with pytest.raises(NotAModelError, match="head"):
        ls.load(path, head="fc2")  # reads 16 features, not a⟨t⟩: not a candidate


def test_gemm_with_alpha_is_not_a_head(tmp_path):
    g = Graph()
    Y, Y_h, _ = g.lstm()
    a = g.node("Squeeze", [Y_h, g.const(np.array([0]))])[0]
    z = g.node("Gemm", [a, g.random(g.n_y, g.n_a)], transB=1, alpha=2.0)[0]
    w = ls.load(g.save(tmp_path / "m.onnx", [Y, z]))
    assert w.W_y is None and any("alpha" in n for n in w.info.notes)


def test_two_heads_are_ambiguous_and_a_named_one_is_taken(tmp_path):
    g = Graph()
    Y, Y_h, _ = g.lstm()
    a = g.node("Squeeze", [Y_h, g.const(np.array([0]))])[0]
    z1 = g.node("Gemm", [a, g.random(g.n_y, g.n_a, name="W1")], name="head1", transB=1)[0]
    z2 = g.node("Gemm", [a, g.random(2, g.n_a, name="W2")], name="head2", transB=1)[0]
    path = g.save(tmp_path / "m.onnx", [Y, z1, z2])
    w = ls.load(path)
    assert w.W_y is None and any("several output layers" in n for n in w.info.notes)
    assert ls.load(path, head="head2").n_y == 2
    assert ls.load(path, head="W1").n_y == g.n_y  # by the weight's name, too
    assert ls.load(path, head=False).W_y is None
    with pytest.raises(NotAModelError, match="head1"):
        ls.load(path, head="nope")


@pytest.mark.parametrize(
    "attrs, match",
    [
        ({"activations": ["Relu", "Tanh", "Tanh"]}, "activations"),
        ({"clip": 3.0}, "clip"),
        ({"input_forget": 1}, "input_forget"),
    ],
)
def test_unsupported_lstm_options(tmp_path, attrs, match):
    g = Graph()
    Y, _, _ = g.lstm(**attrs)
    with pytest.raises(NotAModelError, match=match):
        ls.load(g.save(tmp_path / "m.onnx", [Y]))


def test_rnn_nodes_are_named(tmp_path):
    g = Graph()
    Y = g.lstm(op="RNN", gates=1)[0]
    with pytest.raises(NotAModelError, match="this is an ONNX RNN node: only LSTM and GRU layers are supported"):
        ls.load(g.save(tmp_path / "m.onnx", [Y]))


def test_unchained_recurrent_nodes_are_refused(tmp_path):
    """Two LSTM nodes reading the graph input side by side: not one stack."""
    g = Graph(n_x=4, n_a=4)
    Y = g.lstm()[0]
    Y2 = g.node("LSTM", ["X", g.random(1, 16, 4), g.random(1, 16, 4)], 3, name="lstm2", hidden_size=4)[0]
    with pytest.raises(NotAModelError, match="2 of 2 recurrent nodes read the graph's input"):
        ls.load(g.save(tmp_path / "m.onnx", [Y, Y2]))


def test_glue_other_than_layout_ops_is_refused(tmp_path):
    g = Graph(n_x=4, n_a=4)
    Y = g.lstm()[0]
    x2 = g.node("Relu", [g.node("Squeeze", [Y, g.const(np.array([1]))])[0]])[0]
    Y2 = g.node("LSTM", [x2, g.random(1, 16, 4), g.random(1, 16, 4)], 3, name="lstm2", hidden_size=4)[0]
    with pytest.raises(NotAModelError, match="not .*'s output Y through layout ops"):
        ls.load(g.save(tmp_path / "m.onnx", [Y2]))


def test_initial_states(tmp_path):
    g = Graph()
    Y = g.lstm(inputs={"initial_h": g.const(np.zeros((1, BATCH, g.n_a)))})[0]
    _check_parity(g, ls.load(g.save(tmp_path / "zero.onnx", [Y])), None)
    g = Graph()
    Y = g.lstm(inputs={"initial_h": g.const(np.ones((1, BATCH, g.n_a)))})[0]
    with pytest.raises(NotAModelError, match="initial_h"):
        ls.load(g.save(tmp_path / "nonzero.onnx", [Y]))
    g = Graph()
    Y = g.lstm(inputs={"initial_h": g.input("h0")})[0]
    w = ls.load(g.save(tmp_path / "input.onnx", [Y]))
    assert any("initial_h is the graph input 'h0'" in n for n in w.info.notes)
    g = Graph()  # zeros computed from the input's shape, as torch.onnx.export writes them
    shape = g.node("Concat", [g.const(np.array([1])), g.node("Slice", [g.node("Shape", ["X"])[0], g.const(np.array([1])), g.const(np.array([2]))])[0],
                              g.const(np.array([g.n_a]))], axis=0)[0]
    h0 = g.node("Expand", [g.const(np.zeros(1)), shape])[0]
    Y = g.lstm(inputs={"initial_h": h0, "initial_c": g.node("ConstantOfShape", [shape])[0]})[0]
    w = ls.load(g.save(tmp_path / "computed.onnx", [Y]))
    assert sum("computed in the graph as zeros" in n for n in w.info.notes) == 2
    _check_parity(g, w, None)
    g = Graph()  # computed from the input's values: not provably zero
    h0 = g.node("Mul", [g.const(np.zeros((1, 1, g.n_a))), g.node("ReduceSum", ["X"], keepdims=1)[0]])[0]
    Y = g.lstm(inputs={"initial_h": h0})[0]
    with pytest.raises(NotAModelError, match="initial_h"):
        ls.load(g.save(tmp_path / "dependent.onnx", [Y]))


def test_layout_1_batch_first(tmp_path):
    g = Graph()
    Y, Y_h, _ = g.lstm(layout=1)
    a = g.node("Squeeze", [Y_h, g.const(np.array([1]))])[0]  # Y_h (B, 1, n_a)
    z = g.node("Gemm", [a, g.random(g.n_y, g.n_a), g.random(g.n_y)], transB=1)[0]
    w = ls.load(g.save(tmp_path / "m.onnx", [Y, z]))
    xs = _xs(g)
    Yr, zr = g.run(np.ascontiguousarray(xs.transpose(1, 0, 2)))
    run = ls.forward(w, xs)
    np.testing.assert_allclose(run.a, Yr[:, :, 0].transpose(1, 0, 2), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(run.y[-1], softmax(zr), rtol=RTOL, atol=ATOL)


def test_input_computed_in_the_graph_is_noted(tmp_path):
    g = Graph(n_x=3)
    g.inputs = []
    g.input("raw")
    g.node("MatMul", ["raw", g.random(2, 3)], name="proj")
    g.nodes[-1].output[0] = "X"
    Y = g.lstm()[0]
    w = ls.load(g.save(tmp_path / "m.onnx", [Y]))
    assert any("X is computed in the graph by MatMul 'proj'" in n for n in w.info.notes)


def test_no_lstm_node(tmp_path):
    g = Graph()
    out = g.node("Relu", ["X"])[0]
    with pytest.raises(NotAModelError, match="one LSTM node"):
        ls.load(g.save(tmp_path / "relu.onnx", [out]))


@pytest.mark.parametrize("head", ["matmul_add", "gemm_on_y_h"])
def test_interval_bounds_contain_the_reference_evaluator(tmp_path, head):
    """Soundness spot check: bounds on an L∞ ball contain ReferenceEvaluator's outputs on
    points sampled from it."""
    g = Graph(seed=7)
    Y, Y_h, _ = g.lstm()
    z, kind, _ = HEADS[head](g, Y, Y_h)
    w = ls.load(g.save(tmp_path / "m.onnx", [Y, z]))
    rng = np.random.default_rng(3)
    center = rng.uniform(-1, 1, (T, g.n_x))
    eps = 1e-3
    trace = ls.propagate(w, ls.LinfBall(center, eps), method="interval")
    for _ in range(32):
        xs = (center + rng.uniform(-eps, eps, center.shape))[:, None, :]
        Yr, zr = g.run(xs)
        assert trace.a.contains(Yr[:, 0, 0]).all()
        y = softmax(zr).reshape(-1, g.n_y)  # (T, n_y), or (1, n_y): the last step
        lo, hi = trace.y.lo[-len(y):], trace.y.hi[-len(y):]
        assert ((lo <= y) & (y <= hi)).all()
