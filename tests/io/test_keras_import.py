"""Keras importer: ``.keras`` and legacy ``.h5`` files written by Keras 3 itself (on the torch
backend, ``KERAS_BACKEND=torch``, float64 weights) and read back with h5py alone, compared against
Keras's own forward pass: every recurrent layer's output sequence at 1e-12 (Keras evaluates
them in float64), and the output layer against a numpy evaluation of the file's Dense kernel at
1e-12 plus Keras's own Dense output at 1e-6 (Keras 3.15's torch backend computes ``Dense`` in
float32 even under a float64 dtype policy: ``dtypes.result_type`` of two float64 torch tensors
is float32 there). Also the refusals (hard_sigmoid, go_backwards, return_state, masking,
non-sequence Bidirectional, weights-only files) and soundness spot checks."""

from __future__ import annotations

import os
import warnings

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported anywhere in this process

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lstm_symbolic as ls  # noqa: E402
from lstm_symbolic.errors import NotAModelError  # noqa: E402
from lstm_symbolic.testing import assert_sound  # noqa: E402

pytest.importorskip("h5py")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":  # pragma: no cover - keras imported earlier with another backend
    pytest.skip(f"keras runs on the {keras.backend.backend()} backend in this process", allow_module_level=True)
keras.config.set_floatx("float64")
L = keras.layers

RTOL, ATOL = 1e-12, 1e-14
T, B = 5, 2


def _randomize(model, seed: int):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.uniform(-1.5, 1.5, w.shape))
    return model


def _np(x) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's own numpy-2 copy= notice for variables
        return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _call(model, x) -> np.ndarray:
    """Keras's forward pass (its own deprecation and input-structure chatter silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _np(model(x))


def _save(model, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-format notice of model.save(".h5")
        model.save(str(path))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _keras_gru_reset_before(layer, xs: np.ndarray) -> np.ndarray:
    """Keras's GRU(reset_after=False) step (keras/src/layers/rnn/gru.py), in float64 numpy from
    the layer's own weights: z, r, h blocks; hh = tanh(x W_h + b_h + (r ⊙ h) U_h);
    h = z ⊙ h + (1 − z) ⊙ hh."""
    kernel, rec, bias = (_np(w) for w in layer.weights)
    u = rec.shape[0]
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    h = np.zeros((xs.shape[1], u))
    out = []
    for x in xs:
        xz, xr, xh = np.split(x @ kernel + bias, 3, axis=-1)
        z = sig(xz + h @ rec[:, :u])
        r = sig(xr + h @ rec[:, u : 2 * u])
        hh = np.tanh(xh + (r * h) @ rec[:, 2 * u :])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out)


MODELS = {
    "lstm_last": lambda: [keras.Input((T, 3)), L.LSTM(4), L.Dense(3)],
    "lstm_sequence_softmax": lambda: [keras.Input((T, 3)), L.LSTM(4, return_sequences=True), L.Dense(3, activation="softmax")],
    "gru_reset_after": lambda: [keras.Input((T, 3)), L.GRU(4, return_sequences=True), L.Dense(2)],
    "gru_reset_before": lambda: [keras.Input((T, 3)), L.GRU(4, reset_after=False), L.Dense(2)],
    "gru_no_bias": lambda: [keras.Input((T, 3)), L.GRU(3, use_bias=False, return_sequences=True)],
    "lstm_stack": lambda: [keras.Input((T, 3)), L.LSTM(4, return_sequences=True), L.Dropout(0.3), L.LSTM(2), L.Dense(3)],
    "embedding_lstm_gru": lambda: [keras.Input((T,), dtype="int32"), L.Embedding(7, 3), L.LSTM(4, return_sequences=True),
                                   L.GRU(2, return_sequences=True), L.Dense(3, activation="softmax")],
    "bidirectional_lstm": lambda: [keras.Input((T, 3)), L.Bidirectional(L.LSTM(2, return_sequences=True)), L.Dense(3)],
    "bidirectional_gru_stack": lambda: [keras.Input((T, 3)), L.Bidirectional(L.GRU(2, return_sequences=True)), L.LSTM(3), L.Dense(2)],
}


def _inputs(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(Keras's batch-first input, the library's time-major one-hot or float input)."""
    rng = np.random.default_rng(seed)
    if name.startswith("embedding"):
        tokens = rng.integers(0, 7, (B, T))
        return tokens, np.eye(7)[tokens.T]
    x = rng.uniform(-2, 2, (B, T, 3))
    return x, x.transpose(1, 0, 2)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every model of MODELS built, randomised and saved in both formats."""
    out = {}
    d = tmp_path_factory.mktemp("keras")
    for i, (name, layers) in enumerate(MODELS.items()):
        model = _randomize(keras.Sequential(layers()), i)
        paths = {ext: d / f"{name}.{ext}" for ext in ("keras", "h5")}
        for p in paths.values():
            _save(model, p)
        out[name] = (model, paths)
    return out


@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_parity_with_keras(saved, name, ext):
    model, paths = saved[name]
    m = ls.load(paths[ext])
    k_in, xs = _inputs(name, 3)
    run = ls.forward(m.to_model() if isinstance(m, ls.LSTMWeights) else m, xs)  # every layer's signals
    # every recurrent layer's output, at float64 precision
    recurrent = [layer for layer in model.layers if isinstance(layer, (L.LSTM, L.GRU, L.Bidirectional))]
    for l, layer in enumerate(recurrent):
        out = _call(keras.Model(model.inputs, layer.output), k_in)
        ours = run.layers[l]["a"]
        want = out.transpose(1, 0, 2) if out.ndim == 3 else out
        got = ours if out.ndim == 3 else ours[-1]
        if isinstance(layer, L.GRU) and not layer.get_config()["reset_after"]:
            # Keras computes (r ⊙ h) @ recurrent_kernel in float32 here (module docstring): the
            # float64 check is against the Keras GRU equations evaluated in numpy
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(ours, _keras_gru_reset_before(layer, xs if l == 0 else run.layers[l - 1]["a"]), rtol=RTOL, atol=ATOL)
            continue
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"layer {l + 1} ({layer.name})")
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    if not dense:
        assert m.n_y is None
        return
    (d,) = dense
    kernel, bias = (_np(w) for w in d.weights)
    a = run.a if recurrent[-1].get_config().get("return_sequences", True) or isinstance(recurrent[-1], L.Bidirectional) else run.a[-1:]
    np.testing.assert_allclose(run.y[-a.shape[0]:], _softmax(a @ kernel + bias), rtol=RTOL, atol=ATOL)  # the file's Dense, exactly
    k_out = _call(model, k_in)
    probs = k_out if d.get_config()["activation"] == "softmax" else _softmax(k_out)
    got = run.y[-1] if probs.ndim == 2 else run.y.transpose(1, 0, 2)
    np.testing.assert_allclose(got, probs, rtol=1e-6, atol=1e-9)  # Keras's Dense: float32 (module docstring)


def test_mapping_and_notes(saved):
    m = ls.load(saved["lstm_stack"][1]["keras"])
    assert m.describe() == "lstm 4, lstm 2, head 3"
    assert any("Dropout layer" in n and "identity at inference" in n for n in m.info.notes)
    assert any("last step" in n for n in m.info.notes), m.info.notes  # the Dense reads y⟨T⟩ only
    assert ("layers/lstm/cell/vars/0.T[0:4] (i)", "layer 1 LSTM gate u: input weights") in m.info.mapping
    w = ls.load(saved["lstm_last"][1]["h5"])
    assert isinstance(w, ls.LSTMWeights) and w.n_y == 3  # one LSTM layer: the v1 type


def test_functional_chain(tmp_path):
    inp = keras.Input((T, 3))
    out = L.Dense(2)(L.GRU(3, return_sequences=True)(inp))
    model = _randomize(keras.Model(inp, out), 9)
    _save(model, tmp_path / "f.keras")
    m = ls.load(tmp_path / "f.keras")
    x, xs = _inputs("f", 4)
    h = _call(keras.Model(inp, model.layers[1].output), x)
    np.testing.assert_allclose(ls.forward(m, xs).a, h.transpose(1, 0, 2), rtol=RTOL, atol=ATOL)


def test_functional_model_that_is_not_a_chain_is_refused(tmp_path):
    inp = keras.Input((T, 3))
    h = L.LSTM(2, return_sequences=True)(inp)
    out = L.Dense(2)(L.Concatenate()([h, inp]))
    _save(keras.Model(inp, out), tmp_path / "skip.keras")
    with pytest.raises(NotAModelError, match="one chain of layers"):
        ls.load(tmp_path / "skip.keras")


@pytest.mark.parametrize("layers, match", [
    (lambda: [L.LSTM(2, recurrent_activation="hard_sigmoid")], "recurrent_activation='hard_sigmoid'"),
    (lambda: [L.GRU(2, activation="relu")], "activation='relu'"),
    (lambda: [L.LSTM(2, go_backwards=True)], "go_backwards=True"),
    (lambda: [L.Masking(), L.LSTM(2)], "Masking layer"),
    (lambda: [L.Bidirectional(L.LSTM(2))], "Bidirectional layers with return_sequences=True"),
    (lambda: [L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="sum")], "merge_mode='concat'"),
    (lambda: [L.SimpleRNN(2)], "of class SimpleRNN"),
])
def test_refusals_name_the_option(tmp_path, layers, match):
    _save(keras.Sequential([keras.Input((T, 3))] + layers()), tmp_path / "m.keras")
    with pytest.raises(NotAModelError, match=match):
        ls.load(tmp_path / "m.keras")


def test_embedding_mask_zero_and_return_state_are_refused(tmp_path):
    _save(keras.Sequential([keras.Input((T,), dtype="int32"), L.Embedding(5, 2, mask_zero=True), L.LSTM(2)]), tmp_path / "mask.keras")
    with pytest.raises(NotAModelError, match="mask_zero=True"):
        ls.load(tmp_path / "mask.keras")
    inp = keras.Input((T, 3))
    out, h, c = L.LSTM(2, return_state=True)(inp)
    _save(keras.Model(inp, out), tmp_path / "state.keras")
    with pytest.raises(NotAModelError, match="return_state=True"):
        ls.load(tmp_path / "state.keras")


def test_heads_that_are_not_output_layers(tmp_path):
    _save(_randomize(keras.Sequential([keras.Input((T, 3)), L.LSTM(2), L.Dense(3, activation="relu")]), 1), tmp_path / "relu.keras")
    m = ls.load(tmp_path / "relu.keras")
    assert m.n_y is None and any("activation='relu'" in n for n in m.info.notes)
    with pytest.raises(NotAModelError, match="head"):
        ls.load(tmp_path / "relu.keras", head=True)
    _save(keras.Sequential([keras.Input((T, 3)), L.LSTM(2), L.Dense(4), L.Dense(3)]), tmp_path / "mlp.keras")
    assert ls.load(tmp_path / "mlp.keras").n_y is None
    _save(keras.Sequential([keras.Input((T, 3)), L.LSTM(2), L.Dense(3, name="out")]), tmp_path / "named.keras")
    assert ls.load(tmp_path / "named.keras", head="out").n_y == 3
    assert ls.load(tmp_path / "named.keras", head=False).n_y is None
    with pytest.raises(NotAModelError, match="head: expected the name of the model's Dense output layer"):
        ls.load(tmp_path / "named.keras", head="other")


def test_weights_only_h5_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((T, 3)), L.LSTM(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_weights(str(tmp_path / "only.weights.h5"))
    with pytest.raises(NotAModelError, match="without a model config"):
        ls.load(tmp_path / "only.weights.h5")


@pytest.mark.parametrize("name", ["embedding_lstm_gru", "bidirectional_gru_stack"])
def test_imported_models_are_bounded_soundly(saved, name):
    m = ls.load(saved[name][1]["keras"])
    inputs = ls.OneHot(7, [0, 3, 5]) if m.embedding is not None else ls.Box(-np.ones(3), np.ones(3))
    for method in ("interval", "best"):
        trace = ls.propagate(m, inputs, steps=4, method=method)
        assert_sound(m, inputs, trace, samples=8, dps=40, search=2)
