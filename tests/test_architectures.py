"""Soundness beyond one LSTM layer, zero tolerance: GRUs (reset after and before the hidden
matmul), LSTMs with a projection or peepholes, stacks, bidirectional layers, embeddings, and
mixtures of them — every method, every kind of input set, initial states per cell.

Each case builds a random model straight from the cells, bounds it, and checks every signal of
every layer against exact mpmath trajectories (:func:`lstm_symbolic.reference.
exact_model_trajectory`, equations written out independently of the cells) of corners, random
members, mixtures and sequences found by hill climbing towards a bound
(:func:`lstm_symbolic.testing.assert_sound`). Also: the a priori domains of each cell, extreme
magnitudes, long horizons, the per-cell initial-state API (PyTorch's stacked layout), the
reference against ``ls.forward`` and the checker shown to catch a one-ulp-too-tight bound of a
lower layer.

Default run: about a minute and a half. ``-m slow``: more cases, longer horizons.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.cells import Affine, GRUCell, LSTMCell
from lstm_symbolic.model import Head, Layer, Model
from lstm_symbolic.reference import exact_model_trajectory, violations
from lstm_symbolic.testing import assert_sound
from _models import random_inputs

DPS = 40
METHODS = ("interval", "symbolic", "linear", "best")
SCALES = {"small": (0.5, 0.5), "medium": (2.0, 1.0), "saturating": (8.0, 5.0)}


# --- random models, straight from the cells --------------------------------------------------------


def _affine(rng, m: int, parts: list[int], ws: float, bs: float, bias_columns: int = 1) -> Affine:
    W = rng.uniform(-ws, ws, (m, sum(parts)))
    if bias_columns == 0:
        return Affine(W, None, parts)
    bias = rng.uniform(-bs, bs, (m, bias_columns))
    if bias_columns == 2:  # an exact residual, as PyTorch's b_ih + b_hh
        bias[:, 1] = bias[:, 0] * 2.0**-55
    return Affine(W, bias, parts)


def lstm_cell(rng, n_a: int, n_x: int, scale: str, proj: int | None = None, peepholes: bool = False) -> LSTMCell:
    ws, bs = SCALES[scale]
    n_out = proj or n_a
    gates = _affine(rng, 4 * n_a, [n_out, n_x], ws, bs, bias_columns=2)
    projection = None if proj is None else _affine(rng, proj, [n_a], ws, 0.0, bias_columns=0)
    peep = tuple(rng.uniform(-ws, ws, n_a) for _ in range(3)) if peepholes else None
    return LSTMCell(gates, projection, peep)


def gru_cell(rng, n_a: int, n_x: int, scale: str, reset_after: bool = True) -> GRUCell:
    ws, bs = SCALES[scale]
    gates = _affine(rng, 2 * n_a, [n_a, n_x], ws, bs, bias_columns=2)
    if reset_after:
        return GRUCell(gates, _affine(rng, n_a, [n_x], ws, bs), _affine(rng, n_a, [n_a], ws, bs))
    return GRUCell(gates, _affine(rng, n_a, [n_a, n_x], ws, bs, bias_columns=2))


#: architecture -> layers as (kind, hidden, bidirectional, options)
ARCHS = {
    "gru": [("gru", 3, False, {})],
    "gru_reset_before": [("gru", 3, False, {"reset_after": False})],
    "lstm_proj": [("lstm", 4, False, {"proj": 2})],
    "lstm_peepholes": [("lstm", 3, False, {"peepholes": True})],
    "lstm_stack": [("lstm", 3, False, {}), ("lstm", 2, False, {})],
    "gru_stack": [("gru", 2, False, {}), ("gru", 3, False, {"reset_after": False})],
    "bi_lstm": [("lstm", 2, True, {})],
    "bi_gru": [("gru", 2, True, {})],
    "bi_lstm_stack": [("lstm", 2, True, {}), ("lstm", 2, True, {})],
    "gru_then_bi_lstm_proj": [("gru", 2, False, {}), ("lstm", 3, True, {"proj": 2})],
    "embedding_lstm": [("lstm", 3, False, {})],
    "embedding_bi_gru": [("gru", 2, True, {})],
    "backward_lstm_then_gru": [("lstm", 2, "backward", {}), ("gru", 2, False, {})],
}


def make_model(arch: str, rng: np.random.Generator, n_x: int, n_y: int, scale: str) -> Model:
    ws, bs = SCALES[scale]
    embedding = None
    width = n_x
    if arch.startswith("embedding"):
        embedding = rng.uniform(-ws, ws, (n_x, 3))
        width = 3
    layers = []
    for kind, n, bi, opts in ARCHS[arch]:
        make = (lambda: lstm_cell(rng, n, width, scale, **opts)) if kind == "lstm" else (lambda: gru_cell(rng, n, width, scale, **opts))
        cells = [make() for _ in range(2 if bi is True else 1)]
        layers.append(Layer(*cells, backward=bi == "backward"))
        width = layers[-1].n_out
    head = Head(rng.uniform(-ws, ws, (n_y, width)), rng.uniform(-bs, bs, n_y)) if n_y else None
    return Model(tuple(layers), head, embedding)


def make_inputs(rng, kind: str, n_x: int, T: int, embedded: bool) -> tuple[Any, dict[str, Any]]:
    # token sets behind an embedding (the only meaningful kind there)
    return random_inputs(rng, "onehot" if embedded else kind, n_x, T, batch=2)


def make_initial(rng, model: Model, style: str) -> tuple[Any, Any]:
    """Per-cell initial states: None, a list of arrays, or a list of Intervals (None for a GRU's c)."""
    if style == "zeros":
        return None, None
    a0, c0 = [], []
    for cell in model.cells:
        a = rng.uniform(-1, 1, cell.state_sizes["a"])
        c = rng.uniform(-3, 3, cell.state_sizes["c"]) if "c" in cell.state else None
        if style == "intervals":
            ra = rng.uniform(0, 0.5, a.shape)
            a = ls.Interval(a - ra, a + ra)
            if c is not None:
                c = ls.Interval(c - 0.5, c + 0.5)
        a0.append(a)
        c0.append(c)
    if len(a0) == 1:
        return a0[0], c0[0]
    return a0, (c0 if any(v is not None for v in c0) else None)


@dataclass(frozen=True)
class Case:
    arch: str
    scale: str
    kind: str
    T: int
    init: str
    seed: int
    method: str
    mode: str = "fast"

    def __str__(self) -> str:
        return f"{self.method}-{self.mode}-{self.arch}-{self.scale}-{self.kind}-T{self.T}-{self.init}"


KINDS = ("box", "ball_batched", "onehot", "mixed_sequence")


def cases(count: int, seed: int, horizons: tuple[int, ...], method: str, mode: str = "fast") -> list[Case]:
    rng = np.random.default_rng(seed)
    archs = list(ARCHS)
    out = []
    for i in range(count):
        out.append(Case(archs[i % len(archs)], list(SCALES)[(i // 2) % len(SCALES)], KINDS[(i // 3) % len(KINDS)],
                        horizons[(i // 4) % len(horizons)], ("zeros", "arrays", "intervals")[(i // 5) % 3],
                        int(rng.integers(2**31)), method, mode))
    return out


def build(case: Case):
    rng = np.random.default_rng(case.seed)
    n_x = 3
    model = make_model(case.arch, rng, n_x, 3 if case.seed % 3 else 0, case.scale)
    inputs, kw = make_inputs(rng, case.kind, n_x, case.T, model.embedding is not None)
    a0, c0 = make_initial(rng, model, case.init)
    trace = ls.propagate(model, inputs, a0=a0, c0=c0, method=case.method, mode=case.mode, **kw)
    return model, inputs, a0, c0, trace


def check_a_priori(model: Model, trace: Any, a0: Any) -> None:
    """What holds for every weight: gates in [0, 1], candidates in [−1, 1], an LSTM's a in
    [−1, 1] without a projection, a GRU's a in the hull of a⟨0⟩ and [−1, 1], y in [0, 1]."""
    for layer, d in zip(model.layers, trace.layers):
        cell = layer.cell
        for name in ("f", "u", "o", "r", "z"):
            if name in d:
                assert (d[name].lo >= 0).all() and (d[name].hi <= 1).all(), name
        for name in ("c_tilde", "n"):
            if name in d:
                assert (d[name].lo >= -1).all() and (d[name].hi <= 1).all(), name
        if cell.kind == "lstm" and cell.projection is None:
            assert (d["a"].lo >= -1 - 4 * 2.0**-52).all() and (d["a"].hi <= 1 + 4 * 2.0**-52).all()
        if cell.kind == "gru" and a0 is None:
            assert (d["a"].lo >= -1).all() and (d["a"].hi <= 1).all(), "GRU a leaves the hull of a0 = 0 and [-1, 1]"
        for name, iv in d.items():
            assert (iv.lo <= iv.hi).all() and not np.isnan(iv.lo).any() and not np.isnan(iv.hi).any(), name
    if trace.y is not None:
        assert (trace.y.lo >= 0).all() and (trace.y.hi <= 1).all()


def run_case(case: Case, samples: int, search: int) -> None:
    model, inputs, a0, c0, trace = build(case)
    check_a_priori(model, trace, a0)
    assert_sound(model, inputs, trace, samples=samples, seed=case.seed, dps=DPS, a0=a0, c0=c0, search=search)


DEFAULT_CASES = [c for m in METHODS for c in cases(24, seed=51 + METHODS.index(m), horizons=(1, 4, 9), method=m)]
DEFAULT_CASES += cases(8, seed=57, horizons=(3, 6), method="best", mode="rigorous")
SLOW_CASES = [c for m in METHODS for c in cases(96, seed=61 + 7 * METHODS.index(m), horizons=(2, 10, 25, 40), method=m)]
SLOW_CASES += [c for m in METHODS for c in cases(26, seed=71 + METHODS.index(m), horizons=(5, 20), method=m, mode="rigorous")]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=str)
def test_sound_on_random_architectures(case: Case) -> None:
    run_case(case, samples=10 if case.T >= 9 else 14, search=2)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=str)
def test_sound_on_random_architectures_slow(case: Case) -> None:
    run_case(case, samples=30, search=6)


# --- long horizons, extreme magnitudes, saturation -----------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ["gru", "bi_lstm_stack"])
def test_long_horizon(arch: str, method: str) -> None:
    rng = np.random.default_rng(7 + len(arch))
    model = make_model(arch, rng, 2, 2, "medium")
    box = ls.Box(-np.ones(2), np.ones(2))
    T = 40 if arch == "gru" else 25
    trace = ls.propagate(model, box, steps=T, method=method)
    check_a_priori(model, trace, None)
    assert_sound(model, box, trace, samples=6, seed=3, dps=DPS, search=2)


@pytest.mark.parametrize(
    "label, w_scale, x_centre, x_eps",
    [
        ("tiny weights ~1e-300", 1e-300, 1.0, 0.5),
        ("subnormal weights", 1e-320, 1.0, 0.5),
        ("huge inputs ~1e150", 1.0, 1e150, 1e149),
        ("huge pre-activations ~1e300", 1e150, 1e150, 1e149),
        ("saturated gates", 40.0, 1.0, 0.5),
    ],
)
@pytest.mark.parametrize("arch", ["gru", "gru_reset_before", "lstm_peepholes", "lstm_proj", "bi_gru"])
def test_extreme_magnitudes(arch: str, label: str, w_scale: float, x_centre: float, x_eps: float) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{arch} {label}".encode()))
    model = make_model(arch, rng, 2, 3, "small")
    scaled = []
    for layer in model.layers:
        cells = []
        for cell in layer.cells:
            if cell.kind == "gru":
                s = lambda A: Affine(A.W * w_scale, A.bias, A.parts)  # noqa: E731
                cells.append(GRUCell(s(cell.gates), s(cell.candidate), None if cell.recurrent is None else s(cell.recurrent)))
            else:
                proj = None if cell.projection is None else Affine(cell.projection.W * w_scale, None, cell.projection.parts)
                peep = None if cell.peepholes is None else tuple(p * w_scale for p in cell.peepholes)
                cells.append(LSTMCell(Affine(cell.gates.W * w_scale, cell.gates.bias, cell.gates.parts), proj, peep))
        scaled.append(Layer(*cells))
    model = Model(tuple(scaled), model.head)
    T = 5
    ball = ls.LinfBall(x_centre * rng.choice([-1.0, 1.0], (T, 2)) * rng.uniform(0.5, 1.0, (T, 2)), x_eps)
    for method in METHODS:
        trace = ls.propagate(model, ball, method=method)
        check_a_priori(model, trace, None)
        assert_sound(model, ball, trace, samples=8, seed=1, dps=DPS)


def test_gru_a_priori_hull_of_the_initial_state() -> None:
    """a⟨t⟩ of a GRU stays in the hull of a⟨0⟩ and [−1, 1], per unit, whatever the weights —
    the bounds of a model with huge weights still respect it exactly."""
    rng = np.random.default_rng(3)
    cell = gru_cell(rng, 3, 2, "saturating")
    model = Model((Layer(cell),))
    a0 = ls.Interval(np.array([-4.0, 0.0, 2.0]), np.array([-3.0, 0.5, 6.0]))
    ball = ls.LinfBall(rng.normal(size=(8, 2)) * 1e3, 1e3)
    for method in METHODS:
        trace = ls.propagate(model, ball, a0=a0, method=method)
        assert (trace.a.lo >= np.minimum(a0.lo, -1)).all() and (trace.a.hi <= np.maximum(a0.hi, 1)).all(), method
        assert_sound(model, ball, trace, samples=8, seed=2, dps=DPS, a0=a0)


# --- initial states per cell ---------------------------------------------------------------------


def test_initial_states_in_pytorch_layout_match_lists() -> None:
    """(num_layers · num_directions, [B,] n) arrays are split per cell exactly like lists."""
    rng = np.random.default_rng(4)
    model = make_model("bi_lstm_stack", rng, 2, 2, "medium")
    k = len(model.cells)
    h0, c0 = rng.uniform(-1, 1, (k, 3, 2)), rng.uniform(-2, 2, (k, 3, 2))
    ball = ls.LinfBall(rng.normal(size=(4, 3, 2)), 0.1)
    stacked = ls.propagate(model, ball, a0=h0, c0=ls.Interval(c0, c0), method="interval")
    listed = ls.propagate(model, ball, a0=list(h0), c0=[ls.Interval(c, c) for c in c0], method="interval")
    for l in range(2):
        for name in stacked.layers[l]:
            np.testing.assert_array_equal(stacked.layers[l][name].lo, listed.layers[l][name].lo)
    assert stacked.a.shape == (4, 3, 4)
    run = ls.forward(model, ball.center, a0=h0, c0=c0)
    assert run.a.shape == (4, 3, 4) and run.layers[0]["c"].shape == (4, 3, 4)
    assert_sound(model, ball, stacked, samples=6, seed=4, dps=DPS, a0=h0, c0=ls.Interval(c0, c0))


def test_initial_state_errors_name_the_cell() -> None:
    rng = np.random.default_rng(5)
    model = make_model("gru_then_bi_lstm_proj", rng, 2, 0, "small")  # cells: gru, lstm, lstm (proj 2, cell 3)
    box = ls.Box(-np.ones(2), np.ones(2))
    with pytest.raises(ls.InputError, match=r"c0\[0\]: expected None \(a gru cell has no state 'c'\)"):
        ls.propagate(model, box, steps=2, c0=[np.zeros(2), np.zeros(3), np.zeros(3)])
    with pytest.raises(ls.InputError, match=r"a0: expected 3 initial state"):
        ls.propagate(model, box, steps=2, a0=[np.zeros(2)])
    with pytest.raises(ls.InputError, match=r"a0: expected one initial state per cell"):
        ls.propagate(model, box, steps=2, a0=np.zeros(2))
    with pytest.raises(ls.ShapeError, match=r"c0\[2\]"):
        ls.propagate(model, box, steps=2, c0=[None, np.zeros(3), np.zeros(2)])  # the cell has 3 units, a has 2
    trace = ls.propagate(model, box, steps=2, a0=[None, np.zeros(2), np.full(2, 0.5)], c0=[None, np.ones(3), None])
    assert trace.c.shape == (2, 6) and trace.a.shape == (2, 4)


# --- the reference and the checker ---------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_reference_matches_float_forward(arch: str) -> None:
    """ls.forward (the cells through the float algebra) and the independent mpmath equations
    agree to rounding error on every signal of every layer."""
    rng = np.random.default_rng(200 + len(arch))
    model = make_model(arch, rng, 3, 3, "small")
    T = 7
    xs = np.eye(3)[rng.integers(3, size=T)] if model.embedding is not None else rng.normal(size=(T, 3))
    a0, c0 = make_initial(rng, model, "arrays")
    run = ls.forward(model, xs, a0=a0, c0=c0)
    ex = exact_model_trajectory(model, xs, a0, c0, dps=DPS).to_float()
    for l, d in enumerate(ex):
        for name, v in d.items():
            got = run.y if name == "y" else run.layers[l][name]
            assert np.abs(got - v).max() < 1e-13, f"layer {l + 1} {name}"


def test_checker_catches_a_one_ulp_too_tight_bound_in_a_lower_layer() -> None:
    rng = np.random.default_rng(9)
    model = make_model("lstm_stack", rng, 2, 0, "medium")
    x = np.array([[0.3, -0.2], [-0.7, 0.4], [0.1, 0.9]])
    box = ls.Box(x, x)
    trace = ls.propagate(model, box, method="interval")
    ex = exact_model_trajectory(model, x, dps=DPS)
    v = ex.layers[0]["c"][1, 0]
    f = float(v)
    below = f if mpmath.mpf(f) < v else float(np.nextafter(f, -np.inf))
    c = trace.layers[0]["c"]
    hi, lo = c.hi.copy(), c.lo.copy()
    hi[1, 0] = below
    lo[1, 0] = min(lo[1, 0], below)
    trace.layers[0]["c"] = ls.Interval(lo, hi)
    assert violations(trace, ex)
    with pytest.raises(AssertionError, match=r"layer1\.c⟨2⟩\[0\]"):
        assert_sound(model, box, trace, samples=3, dps=DPS)


@pytest.mark.parametrize("method", METHODS)
def test_embedding_tokens_are_the_rows(method: str) -> None:
    """Behind an embedding a token set means the rows E[k] exactly: one token per step gives a
    point trajectory, and its bounds are a few ulps wide around the exact one."""
    rng = np.random.default_rng(10)
    model = make_model("embedding_lstm", rng, 5, 3, "medium")
    seq = [ls.OneHot(5, allowed=[k]) for k in (3, 0, 4, 4, 1)]
    trace = ls.propagate(model, seq, method=method)
    assert (trace.a.width < 1e-12).all()
    ex = exact_model_trajectory(model, np.eye(5)[[3, 0, 4, 4, 1]], dps=DPS)
    assert not violations(trace, ex)


def test_certify_accepts_a_model() -> None:
    rng = np.random.default_rng(12)
    model = make_model("bi_gru", rng, 2, 3, "medium")
    xs = rng.normal(size=(5, 2))
    label = int(ls.forward(model, xs).y[-1].argmax())
    cert = ls.certify(model, xs, 1e-4, label)
    assert cert.certified
    ball = ls.LinfBall(xs, 1e-4)
    assert_sound(model, ball, cert.trace, samples=6, dps=DPS)


@pytest.mark.parametrize("arch", ["bi_lstm", "lstm_stack", "embedding_bi_gru"])
def test_batched_and_chunked_runs(monkeypatch: pytest.MonkeyPatch, arch: str) -> None:
    """Symbolic runs in one-entry chunks (a forced tiny memory budget) with batched inputs and
    batched per-cell initial states."""
    import importlib

    P = importlib.import_module("lstm_symbolic.propagate")
    monkeypatch.setattr(P, "_SYMBOLIC_MEMORY", 1)
    rng = np.random.default_rng(13)
    model = make_model(arch, rng, 3, 3, "medium")
    B, T = 3, 4
    a0 = [ls.Interval(rng.uniform(-1, 0, (B, c.state_sizes["a"])), rng.uniform(0, 1, (B, c.state_sizes["a"]))) for c in model.cells]
    inputs = ls.OneHot(3, [0, 2]) if model.embedding is not None else ls.LinfBall(rng.normal(size=(T, B, 3)), 0.1)
    kw = {"steps": T} if model.embedding is not None else {}
    a0 = a0[0] if len(a0) == 1 else a0
    for method in ("symbolic", "best"):
        trace = ls.propagate(model, inputs, a0=a0, method=method, **kw)
        assert trace.a.shape[:2] == (T, B)
        assert_sound(model, inputs, trace, samples=9, seed=5, dps=DPS, a0=a0, search=2)


def test_model_describe_and_aliases() -> None:
    rng = np.random.default_rng(14)
    model = make_model("gru_then_bi_lstm_proj", rng, 2, 3, "small")
    assert model.describe() == "gru 2, bidirectional lstm 2 (x2) (cell 3, projection 2), head 3"
    assert model.n_a == 4 and model.W_y.shape == (3, 4) and len(model.cells) == 3


def test_layer_refuses_mismatched_directions() -> None:
    rng = np.random.default_rng(15)
    with pytest.raises(ls.InputError, match="reverse"):
        Layer(lstm_cell(rng, 2, 3, "small"), gru_cell(rng, 2, 3, "small"))


# --- the command line on models beyond one LSTM layer --------------------------------------------


def test_cli_bounds_and_certify_on_a_gru_with_a_vocabulary(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from lstm_symbolic.cli import main

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    state = {**{f"gru.{k}": v for k, v in torch.nn.GRU(4, 3, bidirectional=True).state_dict().items()},
             "fc.weight": torch.randn(2, 6), "fc.bias": torch.randn(2)}
    torch.save(state, "gru.pt")
    (tmp_path / "vocab.txt").write_text("a\nb\n \n.\n", encoding="utf-8")  # a space is a symbol
    assert main(["bounds", "gru.pt", "--head", "fc", "--vocab", "vocab.txt", "--input", "onehot:a,.", "--steps", "3", "--signals", "z,a,y",
                 "--method", "interval"]) == 0
    out = capsys.readouterr().out
    assert "bidirectional gru 3 (x2), head 2" in out and "update gate (GRU)" in out and "softmax output" in out
    np.save("X.npy", np.eye(4)[[0, 2, 3]][:, None, :])
    assert main(["certify", "gru.pt", "--head", "fc", "--inputs", "X.npy", "--labels", "predicted", "--eps", "0.0001"]) == 0
    assert "certified: 1 / 1" in capsys.readouterr().out
    assert main(["bounds", "gru.pt", "--vocab", "vocab.txt", "--input", "onehot:q", "--steps", "2"]) == 2
    assert "--input" in capsys.readouterr().err
    (tmp_path / "short.txt").write_text("a\nb\n", encoding="utf-8")
    assert main(["bounds", "gru.pt", "--vocab", "short.txt", "--input", "onehot", "--steps", "2"]) == 2
    assert "--vocab: expected 4 symbols" in capsys.readouterr().err
