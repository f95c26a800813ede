"""PyTorch models beyond one LSTM layer — nn.GRU, num_layers ≥ 2, bidirectional=True,
proj_size, nn.Embedding in front — from state dicts and live modules (torch.fx), each compared
against torch's own float64 forward at 1e-12: the output sequence, every layer's final states
h_n (and c_n), initial states in torch's (num_layers · num_directions, B, n) layout, heads
and embeddings; the head rules for bidirectional layers; vocabularies; soundness spot checks."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.errors import NotAModelError
from lstm_symbolic.testing import assert_sound

torch = pytest.importorskip("torch") if not os.environ.get("LSTM_SYMBOLIC_REQUIRE_TORCH") else __import__("torch")
from torch import nn  # noqa: E402

from torch_models import randomize  # noqa: E402

RTOL, ATOL = 1e-12, 1e-14

LAYERS = {
    "gru": lambda: nn.GRU(3, 4),
    "gru_no_bias": lambda: nn.GRU(3, 4, bias=False),
    "lstm_2_layers": lambda: nn.LSTM(3, 4, num_layers=2),
    "gru_3_layers": lambda: nn.GRU(3, 2, num_layers=3),
    "lstm_bidirectional": lambda: nn.LSTM(3, 3, bidirectional=True),
    "gru_bidirectional_2_layers": lambda: nn.GRU(3, 2, num_layers=2, bidirectional=True),
    "lstm_bidirectional_2_layers": lambda: nn.LSTM(3, 3, num_layers=2, bidirectional=True),
    "lstm_proj": lambda: nn.LSTM(3, 5, proj_size=2),
    "lstm_proj_bidirectional_2_layers": lambda: nn.LSTM(3, 4, proj_size=3, num_layers=2, bidirectional=True),
}


def _xs(n_x: int = 3, seed: int = 1, T: int = 6, B: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, (T, B, n_x))


def _torch_run(rnn: nn.RNNBase, xs: np.ndarray, h0=None, c0=None):
    with torch.no_grad():
        x = torch.tensor(xs)
        if isinstance(rnn, nn.LSTM):
            state = None if h0 is None else (torch.tensor(h0), torch.tensor(c0))
            out, (h_n, c_n) = rnn(x, state)
            return out.numpy(), h_n.numpy(), c_n.numpy()
        out, h_n = rnn(x, None if h0 is None else torch.tensor(h0))
        return out.numpy(), h_n.numpy(), None


def _final_states(run: ls.ModelRun, model: ls.Model, name: str) -> np.ndarray:
    """Every cell's final ``name`` state in torch's h_n order: (L·D, B, n)."""
    out, T = [], next(iter(run.layers[0].values())).shape[0]
    for l, layer in enumerate(model.layers):
        full = run.layers[l][name]
        n = full.shape[-1] // (2 if layer.bidirectional else 1)
        out.append(full[T - 1][..., :n])
        if layer.bidirectional:
            out.append(full[0][..., n:])  # the reverse cell ends at step 1
    return np.stack(out)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("arch", sorted(LAYERS))
def test_state_dicts_match_torch(tmp_path, arch, seed):
    rnn = randomize(LAYERS[arch](), seed)
    torch.save(rnn.state_dict(), tmp_path / "rnn.pt")
    m = ls.load(tmp_path / "rnn.pt")
    assert isinstance(m, ls.Model) and m.n_y is None
    xs = _xs(seed=seed)
    out, h_n, c_n = _torch_run(rnn, xs)
    run = ls.forward(m, xs)
    np.testing.assert_allclose(run.a, out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_final_states(run, m, "a"), h_n, rtol=RTOL, atol=ATOL)
    if c_n is not None:
        np.testing.assert_allclose(_final_states(run, m, "c"), c_n, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("arch", ["lstm_bidirectional_2_layers", "gru_bidirectional_2_layers", "lstm_proj_bidirectional_2_layers"])
def test_initial_states_in_torch_layout(arch):
    """h_0, c_0 of shape (num_layers · num_directions, B, n) mean the same for ls.forward and
    ls.propagate as for torch."""
    rnn = randomize(LAYERS[arch](), 3)
    m = ls.load(rnn)
    k = rnn.num_layers * (2 if rnn.bidirectional else 1)
    rng = np.random.default_rng(4)
    h0 = rng.uniform(-1, 1, (k, 2, rnn.proj_size or rnn.hidden_size))
    c0 = rng.uniform(-1, 1, (k, 2, rnn.hidden_size)) if isinstance(rnn, nn.LSTM) else None
    xs = _xs()
    out, h_n, _ = _torch_run(rnn, xs, h0, c0)
    run = ls.forward(m, xs, a0=h0, c0=c0)
    np.testing.assert_allclose(run.a, out, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(_final_states(run, m, "a"), h_n, rtol=RTOL, atol=ATOL)
    trace = ls.propagate(m, ls.Box(xs, xs), a0=h0, c0=c0, method="interval")
    assert trace.a.contains(out).all()


# --- heads and embeddings ----------------------------------------------------------------------


class Classifier(nn.Module):
    """recurrent layers -> out[-1] (the last step, both directions) -> Linear."""

    def __init__(self, rnn: nn.RNNBase, n_y: int = 3, batch_first: bool = False) -> None:
        super().__init__()
        self.rnn = rnn
        width = (rnn.proj_size or rnn.hidden_size) * (2 if rnn.bidirectional else 1)
        self.drop, self.fc, self.batch_first = nn.Dropout(0.3), nn.Linear(width, n_y), batch_first

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(self.drop(out[:, -1] if self.batch_first else out[-1]))


class LastHidden(nn.Module):
    """recurrent layers -> h_n[-1] (the last layer's final state) -> Linear."""

    def __init__(self, rnn: nn.RNNBase, n_y: int = 3) -> None:
        super().__init__()
        self.rnn, self.fc = rnn, nn.Linear(rnn.hidden_size, n_y)

    def forward(self, x):
        out = self.rnn(x)[1]
        h_n = out[0] if isinstance(self.rnn, nn.LSTM) else out
        return self.fc(h_n[-1])


class EmbeddingTagger(nn.Module):
    """nn.Embedding -> recurrent layers -> Linear on every step."""

    def __init__(self, vocab: int = 6, dim: int = 3, rnn: nn.RNNBase | None = None, n_y: int = 4) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.rnn = rnn if rnn is not None else nn.LSTM(dim, 4)
        width = self.rnn.hidden_size * (2 if self.rnn.bidirectional else 1)
        self.fc = nn.Linear(width, n_y)

    def forward(self, tokens):
        return self.fc(self.rnn(self.emb(tokens))[0])


def _probs(module: nn.Module, x) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(module(x), dim=-1).numpy()


@pytest.mark.parametrize("arch", ["lstm_bidirectional_2_layers", "gru", "gru_bidirectional_2_layers", "lstm_proj_bidirectional_2_layers"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_live_classifiers_match_torch(arch, batch_first):
    rnn = LAYERS[arch]()
    rnn.batch_first = batch_first
    module = randomize(Classifier(rnn, batch_first=batch_first), 5)
    m = ls.load(module)
    assert m.n_y == 3 and any("torch.fx" in n for n in m.info.notes), m.info.notes
    xs = _xs()
    x = torch.tensor(xs.transpose(1, 0, 2) if batch_first else xs)
    np.testing.assert_allclose(ls.forward(m, xs).y[-1], _probs(module, x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("arch", ["gru", "lstm_2_layers", "gru_3_layers"])
def test_live_last_hidden_state_heads(arch):
    module = randomize(LastHidden(LAYERS[arch]()), 6)
    m = ls.load(module)
    assert m.n_y == 3, m.info.notes
    xs = _xs()
    np.testing.assert_allclose(ls.forward(m, xs).y[-1], _probs(module, torch.tensor(xs)), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("rnn", [None, "gru_bidirectional"])
def test_embedding_taggers_match_torch(tmp_path, rnn):
    inner = None if rnn is None else nn.GRU(3, 2, bidirectional=True)
    module = randomize(EmbeddingTagger(rnn=inner), 7)
    tokens = np.random.default_rng(8).integers(0, 6, (5, 2))
    want = _probs(module, torch.tensor(tokens))
    torch.save(module.state_dict(), tmp_path / "tagger.pt")
    sources = {"module": ls.load(module), "state dict": ls.load(tmp_path / "tagger.pt", head="fc" if inner is not None else None)}
    for how, m in sources.items():
        assert m.n_x == 6 and m.embedding.shape == (6, 3) and m.n_y == 4, (how, m.info.notes)
        np.testing.assert_allclose(ls.forward(m, np.eye(6)[tokens]).y, want, rtol=RTOL, atol=ATOL, err_msg=how)


def test_bidirectional_head_in_a_state_dict_is_taken_only_when_named(tmp_path):
    """out[t] or cat(h_n[-2], h_n[-1])? A state dict cannot tell: no head, with the reason;
    head='fc' means fc(out[t])."""
    module = randomize(Classifier(nn.LSTM(3, 3, num_layers=2, bidirectional=True), n_y=4), 9)
    torch.save(module.state_dict(), tmp_path / "bi.pt")
    m = ls.load(tmp_path / "bi.pt")
    assert m.n_y is None and any("cannot tell" in n and "head='fc'" in n for n in m.info.notes), m.info.notes
    with pytest.raises(NotAModelError, match="head"):
        ls.load(tmp_path / "bi.pt", head=True)
    m = ls.load(tmp_path / "bi.pt", head="fc")
    xs = _xs()
    np.testing.assert_allclose(ls.forward(m, xs).y[-1], _probs(module, torch.tensor(xs)), rtol=RTOL, atol=ATOL)
    assert any("out[t]" in n for n in m.info.notes)


class _BiHn(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.fc = nn.LSTM(3, 2, bidirectional=True), nn.Linear(2, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[1][0][-1])


class _FirstLayerHn(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.fc = nn.GRU(3, 2, num_layers=2), nn.Linear(2, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[1][0])


class _MaxNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.rnn = nn.Embedding(5, 3, max_norm=1.0), nn.LSTM(3, 2)

    def forward(self, t):
        return self.rnn(self.emb(t))[0]


@pytest.mark.parametrize("module, match", [
    (_BiHn, r"h_n of a bidirectional LSTM: its reverse half is the state after the whole sequence"),
    (_FirstLayerHn, r"h_n\[0\], the final state of layer 1 of 2"),
    (_MaxNorm, r"max_norm=1.0: it rescales rows at lookup"),
])
def test_live_modules_that_do_not_read_a_are_refused(module, match):
    with pytest.raises(NotAModelError, match=match):
        ls.load(module())


# --- vocabularies --------------------------------------------------------------------------------


def test_vocabulary_from_a_checkpoint_and_given(tmp_path):
    module = randomize(EmbeddingTagger(), 10)
    symbols = list("abcdef")
    torch.save({"model_state_dict": module.state_dict(), "vocab": symbols, "epoch": 2}, tmp_path / "ckpt.pt")
    m = ls.load(tmp_path / "ckpt.pt")
    assert m.info.vocab == tuple(symbols) and any("checkpoint entry 'vocab'" in n for n in m.info.notes)
    m2 = ls.load(tmp_path / "ckpt.pt", vocab=list("uvwxyz"))
    assert m2.info.vocab == tuple("uvwxyz") and any("in place of the file's own" in n for n in m2.info.notes)
    with pytest.raises(ls.InputError, match=r"vocab: expected 6 symbols \(the model's n_x\), got 2"):
        ls.load(tmp_path / "ckpt.pt", vocab=["a", "b"])
    with pytest.raises(ls.InputError, match="distinct symbols"):
        ls.load(tmp_path / "ckpt.pt", vocab=list("aabcde"))
    with pytest.raises(ls.InputError, match="vocab: expected a list of 6 strings"):
        ls.load(tmp_path / "ckpt.pt", vocab="abcdef")


def test_embedding_argument(tmp_path):
    class Odd(nn.Module):  # an embedding whose name does not say so
        def __init__(self):
            super().__init__()
            self.table, self.rnn = nn.Embedding(5, 3), nn.GRU(3, 2)

    module = randomize(Odd(), 11)
    torch.save(module.state_dict(), tmp_path / "odd.pt")
    m = ls.load(tmp_path / "odd.pt")
    assert m.embedding is None and any("embedding='table'" in n for n in m.info.notes), m.info.notes
    m = ls.load(tmp_path / "odd.pt", embedding="table")
    assert m.n_x == 5
    with pytest.raises(NotAModelError, match="embedding: expected the name of an nn.Embedding"):
        ls.load(tmp_path / "odd.pt", embedding="rnn")
    with pytest.raises(ls.InputError, match="embedding"):
        ls.load(tmp_path / "odd.pt", embedding=3)


# --- soundness spot checks -----------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["gru", "lstm_proj_bidirectional_2_layers"])
def test_imported_models_are_bounded_soundly(arch):
    module = randomize(Classifier(LAYERS[arch]()), 12)
    m = ls.load(module)
    ball = ls.LinfBall(_xs(T=4)[:, 0], 0.05)
    for method in ("interval", "best"):
        trace = ls.propagate(m, ball, method=method)
        assert_sound(m, ball, trace, samples=8, dps=40, search=2)


def test_npz_of_a_gru_state_dict(tmp_path):
    """Arrays in PyTorch naming inside an .npz (no pickles) go through the same rules."""
    gru = randomize(nn.GRU(3, 2, num_layers=2), 13)
    np.savez(tmp_path / "gru.npz", **{k: v.numpy() for k, v in gru.state_dict().items()}, vocab=np.array(list("xyz")))
    m = ls.load(tmp_path / "gru.npz")
    assert m.describe() == "gru 2, gru 2" and m.info.vocab == ("x", "y", "z")
    xs = _xs()
    np.testing.assert_allclose(ls.forward(m, xs).a, _torch_run(gru, xs)[0], rtol=RTOL, atol=ATOL)


def test_tightness_on_a_model():
    from lstm_symbolic.testing import tightness

    m = ls.load(randomize(Classifier(nn.GRU(3, 2, num_layers=2)), 14))
    box = ls.Box(-np.ones(3), np.ones(3))
    r = tightness(m, box, ls.propagate(m, box, steps=3, method="interval"), samples=50)
    assert set(r) == {"layer1.r", "layer1.z", "layer1.n", "layer1.a", "layer2.r", "layer2.z", "layer2.n", "layer2.a", "y"}
    assert all(((v > 0) & (v <= 1)).all() for v in r.values())
