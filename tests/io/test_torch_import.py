"""PyTorch importer: state dicts (files and in memory), checkpoints, live modules traced by
torch.fx, and torch.onnx exports — each compared against the torch module's own float64 forward
pass through ``ls.forward``; the output-layer rules (never a guess); the refusals; soundness."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import NotAModelError

torch = pytest.importorskip("torch") if not os.environ.get("LSTM_SYMBOLIC_REQUIRE_TORCH") else __import__("torch")
from torch import nn  # noqa: E402

from torch_models import InputProjection, LastStep, MLPHead, Net, Tagger, lstm_forward, module_forward, randomize  # noqa: E402

RTOL, ATOL = 1e-12, 1e-15
SEEDS = [0, 1, 2]


def _xs(n_x: int = 3, seed: int = 1, T: int = 7, B: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, (T, B, n_x))


def _assert_lstm_parity(w: ls.LSTMWeights, lstm: nn.LSTM, xs: np.ndarray) -> ls.Run:
    run = ls.forward(w, xs)
    np.testing.assert_allclose(run.a, lstm_forward(lstm, xs), rtol=RTOL, atol=ATOL)
    return run


# --- accepted layouts: parity with torch ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bias", [True, False])
def test_bare_lstm_state_dict(tmp_path, seed, bias):
    lstm = randomize(nn.LSTM(3, 4, bias=bias), seed)
    torch.save(lstm.state_dict(), tmp_path / "lstm.pth")
    w = ls.load(tmp_path / "lstm.pth")
    assert w.W_y is None and (w.n_a, w.n_x) == (4, 3)
    assert not any(n.startswith("no output layer") for n in w.info.notes)
    assert any("bias=False" in n for n in w.info.notes) == (not bias)
    _assert_lstm_parity(w, lstm, _xs())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("wrap", ["none", "state_dict", "model_state_dict"])
def test_module_state_dict_with_its_linear_head(tmp_path, seed, wrap):
    net = randomize(Net(), seed)
    state = net.state_dict()
    if wrap != "none":
        state = {wrap: state, "epoch": 3, "optimizer_state_dict": {"state": {}, "param_groups": []}}
    torch.save(state, tmp_path / "net.pt")
    w = ls.load(tmp_path / "net.pt")
    assert w.n_y == 5, w.info.notes
    assert ("fc.weight", "W_y") in w.info.mapping and ("fc.bias", "b_y") in w.info.mapping
    assert any("nothing in between" in n for n in w.info.notes)  # the assumption a state dict needs
    if wrap != "none":
        assert any(wrap in n and "epoch" in n for n in w.info.notes)
    xs = _xs()
    run = _assert_lstm_parity(w, net.lstm, xs)
    np.testing.assert_allclose(run.y, module_forward(net, xs), rtol=RTOL, atol=ATOL)


def test_gate_blocks_land_where_the_seed_says(tmp_path):
    net = randomize(Net(), 0)
    w = ls.load(net.state_dict())
    W_ih = net.lstm.weight_ih_l0.detach().numpy()
    for block, gate in enumerate(("u", "f", "c", "o")):  # torch stacks i, f, g, o
        np.testing.assert_array_equal(getattr(w, "W_" + gate)[:, 4:], W_ih[4 * block : 4 * block + 4])
    assert ("lstm.weight_ih_l0[4:8] (f)", "W_f[:, 4:] (input columns)") in w.info.mapping


@pytest.mark.parametrize("seed", SEEDS)
def test_from_torch_accepts_prefixed_keys(seed):
    net = randomize(Net(), seed)
    w = ls.LSTMWeights.from_torch(net.state_dict())  # lstm.weight_ih_l0, …, fc.weight, fc.bias
    xs = _xs(seed=seed)
    np.testing.assert_allclose(_assert_lstm_parity(w, net.lstm, xs).y, module_forward(net, xs), rtol=RTOL, atol=ATOL)
    deep = {"encoder.rnn." + k: v for k, v in net.lstm.state_dict().items()}
    assert ls.LSTMWeights.from_torch(deep).n_a == 4


def test_legacy_torch_save_format(tmp_path):
    net = randomize(Net(), 4)
    torch.save(net.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    w = ls.load(tmp_path / "old.pt")
    assert w.n_y == 5
    _assert_lstm_parity(w, net.lstm, _xs())


def test_load_weights_reads_pt_files(tmp_path):
    """It used to fail with a misleading 'expected seed naming' message."""
    torch.save(randomize(nn.LSTM(3, 4), 0).state_dict(), tmp_path / "model.pt")
    assert ls.load_weights is ls.load
    assert ls.load_weights(tmp_path / "model.pt").n_a == 4


def test_named_head_when_n_y_equals_n_x(tmp_path):
    """A character model predicts its own vocabulary (n_y = n_x): the Linear could as well be an
    input projection, so it is not guessed; named, it is taken and matches torch."""
    net = randomize(Net(n_x=6, n_a=4, n_y=6), 5)
    torch.save(net.state_dict(), tmp_path / "char.pt")
    w = ls.load(tmp_path / "char.pt")
    assert w.W_y is None and any("input projection" in n and "head='fc'" in n for n in w.info.notes), w.info.notes
    w = ls.load(tmp_path / "char.pt", head="fc")
    xs = _xs(6)
    np.testing.assert_allclose(_assert_lstm_parity(w, net.lstm, xs).y, module_forward(net, xs), rtol=RTOL, atol=ATOL)
    assert ls.load(tmp_path / "char.pt", head="fc.weight").n_y == 6


def test_head_false_and_none(tmp_path):
    torch.save(randomize(Net(), 0).state_dict(), tmp_path / "net.pt")
    for head in (False, "none", "None"):
        w = ls.load(tmp_path / "net.pt", head=head)
        assert w.W_y is None and any("fc.weight" in n and n.startswith("left out") for n in w.info.notes)


# --- the state-dict defects: never take a tensor that may not be the output layer -----------------


def test_embedding_of_a_tagger_is_not_the_output_layer(tmp_path):
    """An nn.Embedding (V, n_x) with n_x = n_a looks like a bias-free Linear on a⟨t⟩: it is
    never the output layer. Named like an embedding and the only such tensor, it is imported as
    the model's embedding (inputs: tokens); embedding=False bounds the LSTM on its own input."""
    tagger = randomize(Tagger(vocab=7, n_a=4), 0)
    torch.save(tagger.state_dict(), tmp_path / "tagger.pt")
    m = ls.load(tmp_path / "tagger.pt")
    assert m.W_y is None and m.n_x == 7 and m.embedding.shape == (7, 4)
    assert any("embedding E from 'emb'" in n and "nn.Embedding" in n for n in m.info.notes), m.info.notes
    assert ("emb.weight", "embedding E (7 tokens x 4)") in m.info.mapping
    with pytest.raises(NotAModelError, match="head: .*unambiguous"):
        ls.load(tmp_path / "tagger.pt", head=True)
    tokens = np.random.default_rng(0).integers(0, 7, (5, 2))
    with torch.no_grad():
        want = tagger(torch.tensor(tokens)).numpy()
    np.testing.assert_allclose(ls.forward(m, np.eye(7)[tokens]).a, want, rtol=RTOL, atol=ATOL)
    w = ls.load(tmp_path / "tagger.pt", embedding=False)
    assert w.W_y is None and any(n.startswith("left out") and "emb.weight" in n for n in w.info.notes)
    x = tagger.emb(torch.tensor(tokens)).detach().numpy()  # the LSTM's own input
    _assert_lstm_parity(w, tagger.lstm, x)


def test_input_projection_is_not_the_output_layer(tmp_path):
    model = randomize(InputProjection(n_x=3, n_a=4), 0)
    torch.save(model.state_dict(), tmp_path / "proj.pt")
    w = ls.load(tmp_path / "proj.pt")
    assert w.W_y is None and any("input projection" in n for n in w.info.notes), w.info.notes


def test_first_layer_of_an_mlp_head_is_not_the_output_layer(tmp_path):
    model = randomize(MLPHead(), 0)
    torch.save(model.state_dict(), tmp_path / "mlp.pt")
    w = ls.load(tmp_path / "mlp.pt")
    assert w.W_y is None and any("fc2.weight" in n for n in w.info.notes), w.info.notes
    # named, the user takes responsibility; the rest is listed as left out
    w1 = ls.load(tmp_path / "mlp.pt", head="fc1")
    assert w1.n_y == 16 and any(n.startswith("left out") and "fc2.weight" in n for n in w1.info.notes)
    with pytest.raises(NotAModelError, match=r"head: .*fc2.weight of shape \(n_y, 4\)"):
        ls.load(tmp_path / "mlp.pt", head="fc2")  # reads 16 features, not a⟨t⟩
    with pytest.raises(NotAModelError, match=r"head: .*got 'out'; .* has 'fc1', 'fc2'"):
        ls.load(tmp_path / "mlp.pt", head="out")


def test_bad_head_argument():
    with pytest.raises(ls.InputError, match="head"):
        ls.load(randomize(Net(), 0).state_dict(), head=3)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, match",
    [
        (lambda: nn.RNN(3, 4), r"this is an nn\.RNN: only LSTM and GRU layers are supported"),
        (lambda: nn.RNN(3, 4, num_layers=2), r"this is an nn\.RNN"),
        (lambda: nn.Linear(3, 4), "weight_ih_l0"),
    ],
)
def test_unsupported_layers_are_named(tmp_path, module, match):
    torch.save(module().state_dict(), tmp_path / "m.pt")
    with pytest.raises(NotAModelError, match=match):
        ls.load(tmp_path / "m.pt")


def test_whole_pickled_module_gets_one_clean_line(tmp_path):
    torch.save(randomize(Net(), 0), tmp_path / "whole.pt")
    with pytest.raises(NotAModelError) as err:
        ls.load(tmp_path / "whole.pt")
    msg = str(err.value)
    assert "model.state_dict()" in msg and "torch_models.Net" in msg
    assert "\n" not in msg and "\x1b" not in msg and "Weights only load failed" not in msg


def test_whole_module_in_the_legacy_format_and_numpy_pickles(tmp_path):
    torch.save(randomize(Net(), 0), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(NotAModelError, match=r"whole pickled object of class torch_models\.Net"):
        ls.load(tmp_path / "old.pt")
    torch.save({"lstm.weight_ih_l0": np.zeros((16, 3))}, tmp_path / "np.pt")
    with pytest.raises(NotAModelError, match=r"it pickles numpy\..* objects, which torch.load\(weights_only=True\) does not read"):
        ls.load(tmp_path / "np.pt")


def test_text_file_named_pt(tmp_path):
    (tmp_path / "m.pt").write_text("this is not a model\n")
    with pytest.raises(NotAModelError, match=r"path: expected a PyTorch state dict file .*m\.pt: a text file"):
        ls.load(tmp_path / "m.pt")


def test_nan_weights_are_named(tmp_path):
    lstm = nn.LSTM(3, 4)
    with torch.no_grad():
        lstm.weight_hh_l0[2, 1] = float("nan")
    with pytest.raises(NotAModelError, match=r"weight_hh_l0: non-finite entries"):
        ls.load(lstm.state_dict())


# --- live modules (torch.fx) ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make", [Net, LastStep, lambda: LastStep(batch_first=True), lambda: LastStep(dropout=True)],
                         ids=["all_steps", "h_n", "out_last_batch_first", "dropout"])
def test_live_module_matches_its_forward(make, seed):
    module = randomize(make(), seed)
    w = ls.load(module)
    assert w.n_y == 5 and any("torch.fx" in n for n in w.info.notes), w.info.notes
    xs = _xs(seed=seed)
    run = _assert_lstm_parity(w, module.lstm, xs)
    probs = module_forward(module, xs, batch_first=module.lstm.batch_first)
    np.testing.assert_allclose(run.y if isinstance(module, Net) else run.y[-1], probs, rtol=RTOL, atol=ATOL)


def test_live_bare_lstm():
    lstm = randomize(nn.LSTM(3, 4), 0)
    _assert_lstm_parity(ls.load(lstm), lstm, _xs())
    with pytest.raises(NotAModelError, match="this is an nn.RNN"):
        ls.load(nn.RNN(3, 4))


class _ReadsCell(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(3, 4), nn.Linear(4, 5)

    def forward(self, x):
        _, (_, c) = self.lstm(x)
        return self.fc(c[-1])


@pytest.mark.parametrize("module, match", [
    (lambda: InputProjection(), "through proj"),
    (lambda: MLPHead(), "relu"),
    (lambda: _ReadsCell(), "c_n"),
])
def test_live_modules_outside_the_pattern_are_refused(module, match):
    with pytest.raises(NotAModelError, match=match):
        ls.load(module())


# --- torch.onnx.export ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [Net, LastStep], ids=["all_steps", "h_n"])
def test_torch_onnx_export_matches_torch(tmp_path, make):
    pytest.importorskip("onnx")
    module = randomize(make(), 3).float()  # the exporter's usual dtype
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation chatter
        torch.onnx.export(module, (torch.zeros(6, 1, 3),), str(path), dynamo=False)
    w = ls.load(path)
    assert w.n_y == 5, w.info.notes
    assert any("computed in the graph as zeros" in n for n in w.info.notes)
    module = module.double()  # same (float32-valued) weights, evaluated in float64
    xs = _xs()
    run = _assert_lstm_parity(w, module.lstm, xs)
    np.testing.assert_allclose(run.y if make is Net else run.y[-1], module_forward(module, xs), rtol=RTOL, atol=ATOL)


# --- soundness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["file", "module"])
def test_interval_bounds_contain_torch_forward(tmp_path, source):
    net = randomize(Net(), 11)
    torch.save(net.state_dict(), tmp_path / "net.pt")
    w = ls.load(tmp_path / "net.pt") if source == "file" else ls.load(net)
    rng = np.random.default_rng(2)
    center, eps = rng.uniform(-1, 1, (5, 3)), 1e-3
    trace = ls.propagate(w, ls.LinfBall(center, eps), method="interval")
    xs = center[:, None, :] + rng.uniform(-eps, eps, (5, 64, 3))  # 64 points of the ball
    a = lstm_forward(net.lstm, xs)
    y = module_forward(net, xs)
    for s in range(xs.shape[1]):
        assert trace.a.contains(a[:, s]).all() and trace.y.contains(y[:, s]).all()


def test_onnx_by_hand_matches_torch_on_the_same_weights(tmp_path):
    """The same weights through torch.nn.LSTM (i, f, g, o) and through an ONNX LSTM node (i, o, f,
    c) built by hand: both gate-order tables against torch's forward."""
    pytest.importorskip("onnx")
    from onnx_graphs import Graph

    g = Graph(n_x=2, n_a=3, seed=5)
    Y = g.lstm()[0]
    w = ls.load(g.save(tmp_path / "m.onnx", [Y]))
    n = g.n_a
    perm = np.concatenate([np.arange(k * n, (k + 1) * n) for k in (0, 2, 3, 1)])  # torch i, f, g, o from ONNX i, o, f, c
    lstm = nn.LSTM(2, 3).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(g.W[0][perm]))
        lstm.weight_hh_l0.copy_(torch.tensor(g.R[0][perm]))
        lstm.bias_ih_l0.copy_(torch.tensor(g.B[0, : 4 * n][perm]))
        lstm.bias_hh_l0.copy_(torch.tensor(g.B[0, 4 * n :][perm]))
    _assert_lstm_parity(w, lstm, _xs(2))
