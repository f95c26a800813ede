"""Importers: PyTorch state_dict files and ONNX files, with parity against the framework's own
forward pass (torch) on the same weights, gate orders pinned block by block, and bad files."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import NotAModelError
from lstm_symbolic.importers import from_onnx, from_torch_file, from_torch_state_dict, load_model

torch = pytest.importorskip("torch") if not os.environ.get("LSTM_SYMBOLIC_REQUIRE_TORCH") else __import__("torch")


class Net(torch.nn.Module):
    """A module containing an nn.LSTM and an nn.Linear on its hidden state."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(n_x, n_a)
        self.fc = torch.nn.Linear(n_a, n_y)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.fc(h)


def _net(seed: int = 0) -> Net:
    torch.manual_seed(seed)
    net = Net()
    with torch.no_grad():  # biases far from zero so that a gate mix-up cannot hide
        for p in net.parameters():
            p.uniform_(-1.5, 1.5)
    return net


def _torch_reference(net: Net, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, log y) of the torch module in float64 on the same (float32-valued) weights."""
    net64 = Net()
    net64.load_state_dict(net.state_dict())
    net64.double()
    with torch.no_grad():
        x = torch.tensor(xs[:, None, :], dtype=torch.float64)
        h = net64.lstm(x)[0][:, 0].numpy()
        logy = torch.log_softmax(net64(x)[:, 0], dim=-1).numpy()
    return h, logy


def _assert_parity(w: ls.LSTMWeights, net: Net, seed: int = 1) -> None:
    xs = np.random.default_rng(seed).uniform(-2, 2, (7, 3))
    h, logy = _torch_reference(net, xs)
    run = ls.forward(w, xs)
    np.testing.assert_allclose(run.a, h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.log(run.y), logy, rtol=0, atol=1e-13)


# --- PyTorch files -------------------------------------------------------------------------------


def test_torch_file_module_with_linear_matches_torch(tmp_path):
    net = _net()
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    model = load_model(path)
    assert model.weights.n_y == 5 and any("fc" in n for n in model.notes)
    _assert_parity(model.weights, net)
    # the gate blocks land where the seed's notation says (torch: i, f, g, o)
    W_ih = net.lstm.weight_ih_l0.detach().double().numpy()
    for block, gate in enumerate(("u", "f", "c", "o")):
        np.testing.assert_array_equal(getattr(model.weights, "W_" + gate)[:, 4:], W_ih[4 * block : 4 * block + 4])


def test_torch_bare_lstm_and_checkpoint_wrapper(tmp_path):
    net = _net(2)
    torch.save(net.lstm.state_dict(), tmp_path / "lstm.pth")
    w = from_torch_file(tmp_path / "lstm.pth")
    assert w.W_y is None and (w.n_a, w.n_x) == (4, 3)
    torch.save({"epoch": 3, "model_state_dict": net.state_dict()}, tmp_path / "ckpt.pt")
    _assert_parity(from_torch_file(tmp_path / "ckpt.pt"), net)
    # in-memory, any prefix
    state = {"encoder.rnn." + k: v for k, v in net.lstm.state_dict().items()}
    assert from_torch_state_dict(state).n_a == 4


def test_torch_ignored_tensors_and_ambiguous_heads_are_reported(tmp_path):
    net = _net(3)
    state = dict(net.state_dict())
    state["embed.weight"] = torch.zeros(10, 3)
    state["fc2.weight"], state["fc2.bias"] = torch.zeros(2, 4), torch.zeros(2)
    torch.save(state, tmp_path / "m.pt")
    model = load_model(tmp_path / "m.pt")
    assert model.weights.W_y is None
    assert any("several candidate" in n for n in model.notes)
    assert any("embed.weight" in n for n in model.notes)


@pytest.mark.parametrize(
    "module, match",
    [
        (lambda: torch.nn.LSTM(3, 4, num_layers=2), "single-layer"),
        (lambda: torch.nn.LSTM(3, 4, bidirectional=True), "single-layer"),
        (lambda: torch.nn.LSTM(3, 4, proj_size=2), "proj_size"),
        (lambda: torch.nn.Linear(3, 4), "weight_ih_l0"),
    ],
)
def test_torch_unsupported_layouts(tmp_path, module, match):
    torch.save(module().state_dict(), tmp_path / "m.pt")
    with pytest.raises(NotAModelError, match=match):
        load_model(tmp_path / "m.pt")


def test_torch_whole_pickled_module_is_refused(tmp_path):
    torch.save(_net(), tmp_path / "whole.pt")
    with pytest.raises(NotAModelError, match="state_dict"):
        load_model(tmp_path / "whole.pt")


@pytest.mark.parametrize("name, content", [("x.pt", b"not a model"), ("x.npz", b"PK\x03\x04junk"), ("x.dat", b"hello")])
def test_garbage_files(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(NotAModelError):
        load_model(tmp_path / name)


def test_missing_file():
    with pytest.raises(NotAModelError, match="existing model file"):
        load_model("/nonexistent/model.pt")


def test_npz_with_vocab_and_sniffing(tmp_path):
    from lstm_symbolic import demo_model

    model = load_model(demo_model.DEMO_MODEL_PATH)
    assert model.vocab is not None and model.vocab[1] == "a" and len(model.vocab) == model.weights.n_x
    # an npz under another extension is recognised by content
    other = tmp_path / "model.weights"
    other.write_bytes(demo_model.DEMO_MODEL_PATH.read_bytes())
    assert load_model(other).weights.n_a == 16
    # a PyTorch zip under another extension, too
    torch.save(_net().state_dict(), tmp_path / "m.ckpt")
    assert load_model(tmp_path / "m.ckpt").weights.n_y == 5


# --- ONNX ----------------------------------------------------------------------------------------

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # the onnx extra (installed by the test extra; skip only without it)
    onnx = None

needs_onnx = pytest.mark.skipif(onnx is None, reason="needs the onnx extra")


@needs_onnx
def test_onnx_export_of_torch_module_matches_torch(tmp_path):
    net = _net(4)
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation chatter
        try:
            torch.onnx.export(net, (torch.zeros(6, 1, 3),), str(path), dynamo=False)
        except Exception as exc:  # pragma: no cover - exporter unavailable offline
            pytest.skip(f"torch.onnx.export unavailable: {exc}")
    model = load_model(path)
    assert model.weights.n_y == 5, model.notes
    _assert_parity(model.weights, net)


def _onnx_lstm(tmp_path, n_x=2, n_a=3, seed=0, attrs=None, head=True, initial_h=None, name="m.onnx"):
    """An ONNX graph built by hand: LSTM (+ Squeeze + Gemm head). Returns (path, W, R, B, Wy, by)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, (1, 4 * n_a, n_x)).astype(np.float32)
    R = rng.uniform(-1, 1, (1, 4 * n_a, n_a)).astype(np.float32)
    B = rng.uniform(-1, 1, (1, 8 * n_a)).astype(np.float32)
    Wy = rng.uniform(-1, 1, (4, n_a)).astype(np.float32)
    by = rng.uniform(-1, 1, (4,)).astype(np.float32)
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"), numpy_helper.from_array(B, "B"),
             numpy_helper.from_array(Wy, "Wy"), numpy_helper.from_array(by, "by"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    lstm_inputs = ["X", "W", "R", "B"]
    if initial_h is not None:
        inits.append(numpy_helper.from_array(initial_h.astype(np.float32), "h0"))
        lstm_inputs += ["", "h0"]
    nodes = [helper.make_node("LSTM", lstm_inputs, ["Y", "Y_h"], hidden_size=n_a, **(attrs or {}))]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]
    if head:
        nodes += [helper.make_node("Squeeze", ["Y", "axis1"], ["Ys"]),
                  helper.make_node("Reshape", ["Ys", "shape2"], ["Y2"]),
                  helper.make_node("Gemm", ["Y2", "Wy", "by"], ["Z"], transB=1)]
        inits.append(numpy_helper.from_array(np.array([-1, n_a], np.int64), "shape2"))
        outputs = [helper.make_tensor_value_info("Z", TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)], outputs, inits)
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path, W, R, B, Wy, by


@needs_onnx
def test_onnx_gate_order_block_by_block(tmp_path):
    n_a, n_x = 3, 2
    path, W, R, B, Wy, by = _onnx_lstm(tmp_path, n_x, n_a)
    w = from_onnx(path)
    blocks = dict(zip("iofc", range(4)))  # ONNX stacks i, o, f, c
    for onnx_gate, ours in (("i", "u"), ("o", "o"), ("f", "f"), ("c", "c")):
        rows = slice(blocks[onnx_gate] * n_a, (blocks[onnx_gate] + 1) * n_a)
        Wg = getattr(w, "W_" + ours)
        np.testing.assert_array_equal(Wg[:, n_a:], W[0, rows])
        np.testing.assert_array_equal(Wg[:, :n_a], R[0, rows])
        b, res = w.bias_exact(ours)
        # exact: Wb + Rb == b + residual, as real numbers (float32 sums are exact in float64)
        np.testing.assert_array_equal(b + res, B[0, rows].astype(np.float64) + B[0, 4 * n_a + rows.start : 4 * n_a + rows.stop])
    np.testing.assert_array_equal(w.W_y, Wy)
    np.testing.assert_array_equal(w.b_y, by)


@needs_onnx
def test_onnx_by_hand_matches_torch_on_same_weights(tmp_path):
    """The same weights through torch.nn.LSTM (torch order i, f, g, o) and through our ONNX reader."""
    n_a, n_x = 3, 2
    path, W, R, B, _, _ = _onnx_lstm(tmp_path, n_x, n_a, seed=5, head=False)
    perm = np.concatenate([np.arange(k * n_a, (k + 1) * n_a) for k in (0, 2, 3, 1)])  # torch i,f,g,o from ONNX i,o,f,c
    lstm = torch.nn.LSTM(n_x, n_a).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(W[0][perm], dtype=torch.float64))
        lstm.weight_hh_l0.copy_(torch.tensor(R[0][perm], dtype=torch.float64))
        lstm.bias_ih_l0.copy_(torch.tensor(B[0, : 4 * n_a][perm], dtype=torch.float64))
        lstm.bias_hh_l0.copy_(torch.tensor(B[0, 4 * n_a :][perm], dtype=torch.float64))
    xs = np.random.default_rng(0).uniform(-3, 3, (9, n_x))
    with torch.no_grad():
        h = lstm(torch.tensor(xs[:, None, :]))[0][:, 0].numpy()
    np.testing.assert_allclose(ls.forward(from_onnx(path), xs).a, h, rtol=0, atol=1e-14)


@needs_onnx
@pytest.mark.parametrize(
    "attrs, match",
    [
        ({"direction": "bidirectional"}, "forward"),
        ({"direction": "reverse"}, "forward"),
        ({"activations": ["Relu", "Tanh", "Tanh"]}, "activations"),
        ({"clip": 3.0}, "clipping"),
        ({"input_forget": 1}, "input_forget"),
    ],
)
def test_onnx_unsupported(tmp_path, attrs, match):
    path = _onnx_lstm(tmp_path, attrs=attrs, head=False)[0]
    with pytest.raises(NotAModelError, match=match):
        from_onnx(path)


@needs_onnx
def test_onnx_initial_state(tmp_path):
    zero = _onnx_lstm(tmp_path, initial_h=np.zeros((1, 1, 3)), name="z.onnx")[0]
    assert from_onnx(zero).n_a == 3
    nonzero = _onnx_lstm(tmp_path, initial_h=np.ones((1, 1, 3)), name="nz.onnx")[0]
    with pytest.raises(NotAModelError, match="initial_h"):
        from_onnx(nonzero)


@needs_onnx
def test_onnx_without_lstm(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    buf = io.BytesIO(helper.make_model(graph).SerializeToString())
    (tmp_path / "relu.onnx").write_bytes(buf.getvalue())
    with pytest.raises(NotAModelError, match="one LSTM node"):
        load_model(tmp_path / "relu.onnx")
