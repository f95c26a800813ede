"""The cells on their own: each step, run through the float algebra, is the textbook equations
written out in numpy (independently of the cell code); the a priori domains hold on random
trajectories; constructors refuse maps that do not fit."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_symbolic.cells import Affine, GRUCell, LSTMCell
from lstm_symbolic.methods.concrete import ConcreteOps

OPS = ConcreteOps()


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gru(rng, n, m, reset_after):
    W = {k: rng.normal(size=(n, m)) for k in ("ir", "iz", "in")}
    U = {k: rng.normal(size=(n, n)) for k in ("hr", "hz", "hn")}
    b = {k: rng.normal(size=n) for k in ("ir", "iz", "in", "hr", "hz", "hn")}
    gates = Affine(np.block([[U["hr"], W["ir"]], [U["hz"], W["iz"]]]), np.stack([np.r_[b["ir"], b["iz"]], np.r_[b["hr"], b["hz"]]], 1), [n, m])
    if reset_after:
        cell = GRUCell(gates, Affine(W["in"], b["in"][:, None], [m]), Affine(U["hn"], b["hn"][:, None], [n]))
    else:
        cell = GRUCell(gates, Affine(np.hstack([U["hn"], W["in"]]), np.stack([b["in"], b["hn"]], 1), [n, m]))
    return cell, W, U, b


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_is_the_equations(reset_after):
    rng = np.random.default_rng(0)
    n, m, B = 3, 2, 4
    cell, W, U, b = _gru(rng, n, m, reset_after)
    x, h = rng.normal(size=(B, m)), rng.uniform(-1, 1, (B, n))
    r = sig(x @ W["ir"].T + b["ir"] + h @ U["hr"].T + b["hr"])
    z = sig(x @ W["iz"].T + b["iz"] + h @ U["hz"].T + b["hz"])
    if reset_after:  # PyTorch: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        cand = np.tanh(x @ W["in"].T + b["in"] + r * (h @ U["hn"].T + b["hn"]))
    else:  # ONNX linear_before_reset=0: n = tanh(W_in x + W_hn (r ⊙ h) + b_in + b_hn)
        cand = np.tanh(x @ W["in"].T + (r * h) @ U["hn"].T + b["in"] + b["hn"])
    got = cell.step(OPS, x, {"a": h})
    for name, want in (("r", r), ("z", z), ("n", cand), ("a", (1 - z) * cand + z * h)):
        np.testing.assert_allclose(got[name], want, rtol=1e-13, atol=1e-15, err_msg=name)
    assert cell.reset_after == reset_after and cell.state == ("a",) and cell.signals == ("r", "z", "n", "a")


def test_lstm_peepholes_and_projection_are_the_equations():
    """ONNX peepholes (Γ_f, Γ_u read c⟨t−1⟩, Γ_o reads c⟨t⟩) and PyTorch's projection
    a = W_hr (Γ_o ⊙ tanh c)."""
    rng = np.random.default_rng(1)
    n, p, m, B = 4, 2, 3, 2
    W = rng.normal(size=(4 * n, p + m))
    bias = rng.normal(size=(4 * n, 1))
    P = [rng.normal(size=n) for _ in range(3)]
    W_hr = rng.normal(size=(p, n))
    cell = LSTMCell(Affine(W, bias, [p, m]), Affine(W_hr, None, [n]), tuple(P))
    a, c, x = rng.uniform(-1, 1, (B, p)), rng.normal(size=(B, n)), rng.normal(size=(B, m))
    pre = np.hstack([a, x]) @ W.T + bias[:, 0]
    f = sig(pre[:, :n] + P[0] * c)
    u = sig(pre[:, n : 2 * n] + P[1] * c)
    ct = np.tanh(pre[:, 3 * n :])
    c_new = f * c + u * ct
    o = sig(pre[:, 2 * n : 3 * n] + P[2] * c_new)
    got = cell.step(OPS, x, {"a": a, "c": c})
    for name, want in (("f", f), ("u", u), ("o", o), ("c_tilde", ct), ("c", c_new), ("a", (o * np.tanh(c_new)) @ W_hr.T)):
        np.testing.assert_allclose(got[name], want, rtol=1e-13, atol=1e-15, err_msg=name)
    assert cell.state_sizes == {"a": p, "c": n} and "a" not in cell.a_priori(1, {"c": (np.zeros((1, n)), np.zeros((1, n)))})


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_gru_a_priori_holds_on_trajectories(scale):
    rng = np.random.default_rng(2)
    cell, *_ = _gru(rng, 3, 2, True)
    cell = GRUCell(Affine(cell.gates.W * scale, cell.gates.bias, cell.gates.parts), cell.candidate, cell.recurrent)
    h0 = np.array([[-3.0, 0.2, 2.5]])
    h = np.repeat(h0, 50, axis=0)
    dom = cell.a_priori(1, {"a": (h0, h0)})
    for t in range(30):
        s = cell.step(OPS, rng.normal(size=(50, 2)) * 10, {"a": h})
        for name in ("r", "z", "n"):
            lo, hi = dom[name]
            assert (s[name] >= lo).all() and (s[name] <= hi).all(), name
        h = s["a"]
        assert (h >= dom["a"][0]).all() and (h <= dom["a"][1]).all()


def test_constructors_refuse_maps_that_do_not_fit():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="gates must map"):
        GRUCell(Affine(rng.normal(size=(5, 5)), None, [2, 3]), Affine(rng.normal(size=(2, 3)), None, [3]))
    gates = Affine(rng.normal(size=(4, 5)), None, [2, 3])
    with pytest.raises(ValueError, match="candidate must map"):
        GRUCell(gates, Affine(rng.normal(size=(2, 4)), None, [1, 3]))
    with pytest.raises(ValueError, match="a projection is missing"):
        LSTMCell(Affine(rng.normal(size=(16, 5)), None, [2, 3]))
    with pytest.raises(ValueError, match="projection must map"):
        LSTMCell(Affine(rng.normal(size=(16, 5)), None, [2, 3]), Affine(rng.normal(size=(3, 4)), None, [4]))
    with pytest.raises(ValueError, match="peepholes must be three vectors"):
        LSTMCell(Affine(rng.normal(size=(8, 5)), None, [2, 3]), peepholes=(np.ones(2), np.ones(2), np.ones(3)))
