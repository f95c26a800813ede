"""The neutral description: one gate-order table per framework, and one place that refuses
what cannot be bounded yet (so that lifting a limitation is one branch, for every reader)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_symbolic.errors import NotAModelError
from lstm_symbolic.io import onnx as onnx_io
from lstm_symbolic.io import torch as torch_io
from lstm_symbolic.io.description import Description, Head, Recurrent, Tensor, build, head_request, refusal
from lstm_symbolic.lstm import GATES


@pytest.mark.parametrize("table", [torch_io.GATES, onnx_io.GATES], ids=["torch", "onnx"])
def test_each_framework_maps_its_lstm_blocks_onto_the_four_seed_gates(table):
    letters = [letter for letter, _ in table["lstm"]]
    assert sorted(gate for _, gate in table["lstm"]) == sorted(GATES) and len(set(letters)) == 4


def test_the_tables_are_the_documented_orders():
    assert [f for f, _ in torch_io.GATES["lstm"]] == ["i", "f", "g", "o"]  # torch.nn.LSTM docs
    assert [f for f, _ in onnx_io.GATES["lstm"]] == ["i", "o", "f", "c"]  # ONNX LSTM operator spec


def _layer(n_a=2, n_x=3, **kw) -> Recurrent:
    rng = np.random.default_rng(0)
    base = dict(kind="lstm", label="nn.LSTM", name="lstm.", gates=torch_io.GATES["lstm"],
                W_x=Tensor(rng.normal(size=(4 * n_a, n_x)), "W_x"), W_a=Tensor(rng.normal(size=(4 * n_a, n_a)), "W_a"))
    return Recurrent(**(base | kw))


def _desc(*layers, head=None) -> Description:
    return Description("test", "nn.LSTM", tuple(layers), head)


@pytest.mark.parametrize(
    "layers, words",
    [
        ((), "no recurrent layer"),
        ((_layer(kind="rnn", label="nn.RNN", gates=torch_io.GATES["rnn"]),), "this is an nn.RNN: only LSTM and GRU layers are supported"),
        ((_layer(), _layer(name="other.")), "2 recurrent modules ('lstm.', 'other.'): a state dict does not say how they are connected"),
        ((_layer(layer=1),), "recurrent layers numbered [1]"),
        ((_layer(), _layer(), ), "layer 0 has directions ['forward', 'forward']"),
        ((_layer(kind="gru", label="nn.GRU", gates=torch_io.GATES["gru"], projection=Tensor(np.ones((1, 2)), "weight_hr_l0")),),
         "a projection on a nn.GRU"),
        ((_layer(unsupported=(("cell clipping", "clip=3"),)),), "cell clipping (clip=3): not supported"),
    ],
)
def test_refusal_names_the_feature(layers, words):
    desc = _desc(*layers)
    assert words in refusal(desc)
    with pytest.raises(NotAModelError, match="expected recurrent layers that can be bounded"):
        build(desc, "path")


def test_build_makes_a_model_beyond_one_lstm_layer():
    """A stack of a bidirectional GRU and an LSTM with a projection and peepholes: a Model whose
    cells carry exactly the file's rows (gate orders from the tables), with the mapping."""
    rng = np.random.default_rng(1)
    gru = dict(kind="gru", label="nn.GRU", name="rnn.", gates=torch_io.GATES["gru"])
    fwd = Recurrent(**gru, W_x=Tensor(rng.normal(size=(6, 3)), "W0"), W_a=Tensor(rng.normal(size=(6, 2)), "R0"),
                    b_x=Tensor(rng.normal(size=6), "b0"), b_a=Tensor(rng.normal(size=6), "c0"))
    rev = Recurrent(**gru, W_x=Tensor(rng.normal(size=(6, 3)), "W0r"), W_a=Tensor(rng.normal(size=(6, 2)), "R0r"), direction="reverse")
    lstm = _layer(3, 4, layer=1, name="rnn.", W_a=Tensor(rng.normal(size=(12, 2)), "R1"), W_x=Tensor(rng.normal(size=(12, 4)), "W1"),
                  projection=Tensor(rng.normal(size=(2, 3)), "P1"), peepholes=Tensor(rng.normal(size=9), "peep"))
    m = build(_desc(fwd, rev, lstm, head=Head(Tensor(np.ones((5, 2)), "fc.weight"), None, "fc")))
    assert m.describe() == "bidirectional gru 2 (x2), lstm 2 (cell 3, projection 2) with peepholes, head 5"
    cell = m.layers[0].cell
    np.testing.assert_array_equal(cell.gates.W[:2, :2], fwd.W_a.value[0:2])  # r rows: torch's first block
    np.testing.assert_array_equal(cell.candidate.W, fwd.W_x.value[4:6])  # n rows: the third
    np.testing.assert_array_equal(m.layers[1].cell.peepholes[1], lstm.peepholes.value[:3])  # p_u is ONNX's i block
    assert ("W1[0:3] (i)", "layer 2 LSTM gate u: input weights") in m.info.mapping


def test_build_keeps_the_bias_sum_exact_and_records_the_mapping():
    n_a = 2
    layer = _layer(n_a, b_x=Tensor(np.ones(4 * n_a), "b_ih"), b_a=Tensor(np.full(4 * n_a, 2.0**-60), "b_hh"))
    w = build(_desc(layer, head=Head(Tensor(np.ones((3, n_a)), "fc.weight"), None, "fc")))
    b, r = w.bias_exact("u")
    assert (b == 1).all() and (r == 2.0**-60).all() and (w.b_y == 0).all()
    assert ("b_ih[0:2] + b_hh[0:2] (i)", "b_u (exact sum)") in w.info.mapping and ("fc.weight", "W_y") in w.info.mapping
    assert any("no bias: b_y = 0" in n for n in w.info.notes)


def test_build_names_bad_tensors():
    with pytest.raises(NotAModelError, match=r"W_a: recurrent weights of shape \(4 n_a, n_a\)"):
        build(_desc(_layer(W_a=Tensor(np.ones((5, 2)), "W_a"))))
    with pytest.raises(NotAModelError, match=r"W_x: non-finite entries"):
        build(_desc(_layer(W_x=Tensor(np.full((8, 3), np.inf), "W_x"))))
    with pytest.raises(NotAModelError, match=r"output layer fc: weight of shape \(n_y, 2\)"):
        build(_desc(_layer(), head=Head(Tensor(np.ones((3, 5)), "fc.weight"), None, "fc")))


@pytest.mark.parametrize("head, mode", [(None, "auto"), (True, "required"), (False, "none"), ("none", "none"), (" fc ", "named")])
def test_head_request(head, mode):
    assert head_request(head).mode == mode


@pytest.mark.parametrize("head", [0, 1.0, "", ["fc"]])
def test_bad_head_request(head):
    with pytest.raises(ValueError, match="head"):
        head_request(head)
