"""ONNX graphs beyond one forward LSTM node, built here node by node and compared against the
framework's own evaluation (``onnx.reference.ReferenceEvaluator``, float64) at 1e-12: GRU nodes
(``linear_before_reset`` 0 and 1), ``direction`` reverse and bidirectional, chains of nodes
joined by the layout ops ``torch.onnx.export`` writes, heads after a bidirectional node; the
refusals; and the same models exported by ``torch.onnx.export`` against torch itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import NotAModelError
from lstm_symbolic.testing import assert_sound

onnx = pytest.importorskip("onnx")

from onnx_graphs import Graph, softmax  # noqa: E402

RTOL, ATOL = 1e-12, 1e-14
T, BATCH = 5, 2


def recurrent(g: Graph, op: str, X: str, n_in: int, n: int, direction: str = "forward", name: str | None = None, **attrs) -> list[str]:
    """A recurrent node with random W, R, B over input ``X`` (T, B, n_in)."""
    k = 4 if op == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1
    W, R, B = g.random(dirs, k * n, n_in), g.random(dirs, k * n, n), g.random(dirs, 2 * k * n)
    return g.node(op, [X, W, R, B], 3 if op == "LSTM" else 2, name=name or g.fresh(op.lower()), hidden_size=n, direction=direction, **attrs)


def join(g: Graph, Y: str, dirs: int) -> str:
    """What torch.onnx.export writes after a recurrent node: (T, B, dirs·n)."""
    if dirs == 1:
        return g.node("Squeeze", [Y, g.const(np.array([1]))])[0]
    t = g.node("Transpose", [Y], perm=[0, 2, 1, 3])[0]
    return g.node("Reshape", [t, g.const(np.array([0, 0, -1]))])[0]


def xs_for(g: Graph, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, (T, BATCH, g.n_x))


CHAINS = {
    "gru": [("GRU", 3, "forward", {"linear_before_reset": 1})],
    "gru_reset_before": [("GRU", 3, "forward", {})],
    "lstm_reverse": [("LSTM", 3, "reverse", {})],
    "lstm_bidirectional": [("LSTM", 2, "bidirectional", {})],
    "gru_bidirectional_lbr": [("GRU", 2, "bidirectional", {"linear_before_reset": 1})],
    "lstm_stack": [("LSTM", 3, "forward", {}), ("LSTM", 2, "forward", {})],
    "bi_lstm_stack": [("LSTM", 2, "bidirectional", {}), ("LSTM", 3, "bidirectional", {})],
    "gru_then_reverse_lstm": [("GRU", 3, "forward", {"linear_before_reset": 1}), ("LSTM", 2, "reverse", {})],
}


def build_chain(chain: list, seed: int, head: bool) -> tuple[Graph, list[str], int]:
    g = Graph(n_x=3, seed=seed)
    X, n_in = "X", g.n_x
    for i, (op, n, direction, attrs) in enumerate(chain):
        dirs = 2 if direction == "bidirectional" else 1
        Y = recurrent(g, op, X, n_in, n, direction, name=f"rnn{i}", **attrs)[0]
        X, n_in = join(g, Y, dirs), dirs * n
    outputs = [X]
    if head:
        z = g.node("MatMul", [X, g.random(n_in, g.n_y)], name="head")[0]
        outputs.append(g.node("Add", [z, g.random(g.n_y)])[0])
    return g, outputs, n_in


@pytest.mark.parametrize("head", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("arch", sorted(CHAINS))
def test_chains_match_the_reference_evaluator(tmp_path, arch, seed, head):
    g, outputs, width = build_chain(CHAINS[arch], seed, head)
    m = ls.load(g.save(tmp_path / "m.onnx", outputs))
    assert isinstance(m, ls.Model)
    assert m.n_out == width and (m.n_y == (g.n_y if head else None)), m.info.notes
    xs = xs_for(g, seed)
    outs = g.run(xs)
    run = ls.forward(m, xs)
    np.testing.assert_allclose(run.a, outs[0], rtol=RTOL, atol=ATOL)
    if head:
        np.testing.assert_allclose(run.y, softmax(outs[1]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("arch", ["gru_reset_before", "bi_lstm_stack", "gru_then_reverse_lstm"])
def test_chains_are_bounded_soundly(tmp_path, arch):
    g, outputs, _ = build_chain(CHAINS[arch], 3, True)
    m = ls.load(g.save(tmp_path / "m.onnx", outputs))
    ball = ls.LinfBall(xs_for(g)[:, 0], 0.05)
    for method in ("interval", "best"):
        assert_sound(m, ball, ls.propagate(m, ball, method=method), samples=8, dps=40, search=2)


def test_gru_reset_placement_is_read_from_linear_before_reset(tmp_path):
    for lbr in (0, 1):
        g, outputs, _ = build_chain([("GRU", 2, "forward", {"linear_before_reset": lbr} if lbr else {})], 4, False)
        m = ls.load(g.save(tmp_path / f"m{lbr}.onnx", outputs))
        assert m.layers[0].cell.reset_after == bool(lbr)
        assert any(f"linear_before_reset={lbr}" in n for n in m.info.notes)


def test_last_step_head_after_a_bidirectional_node(tmp_path):
    """Y -> Transpose -> Reshape (join the directions) -> Gather(last step) -> Gemm: the output
    layer on a⟨T⟩ = [a_forward⟨T⟩; a_reverse⟨T⟩], as torch.onnx.export writes fc(out[-1])."""
    g = Graph(n_x=3, seed=6)
    Y = recurrent(g, "LSTM", "X", 3, 2, "bidirectional")[0]
    a = g.node("Gather", [join(g, Y, 2), g.const(np.array(-1))], axis=0)[0]
    z = g.node("Gemm", [a, g.random(g.n_y, 4), g.random(g.n_y)], transB=1)[0]
    m = ls.load(g.save(tmp_path / "m.onnx", [z]))
    assert m.n_y == g.n_y and any("last step" in n for n in m.info.notes), m.info.notes
    xs = xs_for(g)
    np.testing.assert_allclose(ls.forward(m, xs).y[-1], softmax(g.run(xs)[0]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("how", ["y_h", "one_direction", "no_join"])
def test_heads_that_do_not_read_a_of_a_bidirectional_node(tmp_path, how):
    """Y_h (the reverse half is the state after the whole sequence), a Gather of one direction,
    a MatMul on the unjoined directions: no output layer, with the reason; head=True raises."""
    g = Graph(n_x=3, seed=7)
    Y, Y_h = recurrent(g, "LSTM", "X", 3, 2, "bidirectional")[:2]
    if how == "y_h":
        a = g.node("Reshape", [g.node("Transpose", [Y_h], perm=[1, 0, 2])[0], g.const(np.array([0, -1]))])[0]
        z = g.node("MatMul", [a, g.random(4, g.n_y)])[0]
    elif how == "one_direction":
        a = g.node("Gather", [Y, g.const(np.array(0))], axis=1)[0]
        z = g.node("MatMul", [a, g.random(2, g.n_y)])[0]
    else:
        z = g.node("MatMul", [Y, g.random(2, g.n_y)])[0]
    path = g.save(tmp_path / "m.onnx", [z])
    m = ls.load(path)
    assert m.n_y is None and any(n.startswith("no output layer") for n in m.info.notes), m.info.notes
    words = {"y_h": "reverse half is the state after the whole sequence", "one_direction": "selects one direction",
             "no_join": "two directions of a bidirectional node separately"}[how]
    assert any(words in n for n in m.info.notes), m.info.notes
    with pytest.raises(NotAModelError, match="head"):
        ls.load(path, head=True)


@pytest.mark.parametrize("attrs, match", [({"clip": 2.0}, "cell clipping"), ({"activations": ["Sigmoid", "Relu"]}, "activations")])
def test_unsupported_gru_options(tmp_path, attrs, match):
    g = Graph(n_x=3)
    Y = recurrent(g, "GRU", "X", 3, 2, **attrs)[0]
    with pytest.raises(NotAModelError, match=match):
        ls.load(g.save(tmp_path / "m.onnx", [Y]))


# --- torch.onnx.export ----------------------------------------------------------------------------


def _export(module, path, n_x):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (torch.zeros(6, 1, n_x, dtype=torch.float64),), str(path), dynamo=False)
        except Exception as exc:  # pragma: no cover - an exporter without the legacy path
            pytest.skip(f"torch.onnx.export unavailable: {exc}")


@pytest.mark.parametrize("kind", ["bi_lstm_2_layers", "gru_2_layers", "bi_gru"])
def test_torch_onnx_export_of_stacks_matches_torch(tmp_path, kind):
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch_models import randomize

    class Classifier(nn.Module):
        def __init__(self, rnn, width):
            super().__init__()
            self.rnn, self.fc = rnn, nn.Linear(width, 4)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[-1])

    rnn, width = {"bi_lstm_2_layers": (nn.LSTM(3, 3, num_layers=2, bidirectional=True), 6), "gru_2_layers": (nn.GRU(3, 4, num_layers=2), 4),
                  "bi_gru": (nn.GRU(3, 2, bidirectional=True), 4)}[kind]
    module = randomize(Classifier(rnn, width), 2)
    _export(module, tmp_path / "m.onnx", 3)
    m = ls.load(tmp_path / "m.onnx")
    assert m.n_y == 4, m.info.notes
    xs = np.random.default_rng(3).uniform(-2, 2, (7, 2, 3))
    with torch.no_grad():
        out = module.rnn(torch.tensor(xs))[0].numpy()
        y = torch.softmax(module(torch.tensor(xs)), -1).numpy()
    run = ls.forward(m, xs)
    np.testing.assert_allclose(run.a, out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(run.y[-1], y, rtol=RTOL, atol=ATOL)
