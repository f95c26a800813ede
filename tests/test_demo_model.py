"""The built-in demo model: backprop, the shipped corpus, weights and report."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lstm_symbolic import demo_model as dm

WEIGHT_SHAPES = {
    "W_f": (dm.N_A, dm.N_A + len(dm.VOCAB)),
    "W_u": (dm.N_A, dm.N_A + len(dm.VOCAB)),
    "W_c": (dm.N_A, dm.N_A + len(dm.VOCAB)),
    "W_o": (dm.N_A, dm.N_A + len(dm.VOCAB)),
    "b_f": (dm.N_A,),
    "b_u": (dm.N_A,),
    "b_c": (dm.N_A,),
    "b_o": (dm.N_A,),
    "W_y": (len(dm.VOCAB), dm.N_A),
    "b_y": (len(dm.VOCAB),),
}
METADATA_KEYS = ("vocab", "seed", "epochs", "train_loss", "corpus_sha256")


@pytest.fixture(scope="module")
def shipped():
    return dm.load_demo_arrays()


@pytest.fixture(scope="module")
def corpus_indices():
    return dm.encode(dm.load_corpus())


def _reference_cross_entropy(arrays, indices):
    """The seed's equations read literally: z = [a, x] with x a one-hot vector, one matrix
    product per gate. Independent of the module's stacked, column-picking implementation."""
    n_a = arrays["b_f"].shape[0]
    n_x = arrays["W_f"].shape[1] - n_a
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731 (|pre-activations| < 700 here)
    a, c = np.zeros(n_a), np.zeros(n_a)
    total = 0.0
    for t in range(len(indices) - 1):
        x = np.zeros(n_x)
        x[indices[t]] = 1.0
        z = np.concatenate([a, x])
        gate_forget = sigmoid(arrays["W_f"] @ z + arrays["b_f"])
        gate_update = sigmoid(arrays["W_u"] @ z + arrays["b_u"])
        gate_output = sigmoid(arrays["W_o"] @ z + arrays["b_o"])
        c_tilde = np.tanh(arrays["W_c"] @ z + arrays["b_c"])
        c = gate_forget * c + gate_update * c_tilde
        a = gate_output * np.tanh(c)
        logits = arrays["W_y"] @ a + arrays["b_y"]
        m = logits.max()
        total -= logits[indices[t + 1]] - m - np.log(np.exp(logits - m).sum())
    return total / (len(indices) - 1)


# --------------------------------------------------------------------------- backprop


def test_gradient_matches_central_finite_differences():
    # Tiny model, float64, non-zero initial state, one masked (padding) target. Weights are
    # scaled up so that gates and tanh are in their curved regions, not near-linear.
    rng = np.random.default_rng(1234)
    n_a, n_x, T, B = 3, 5, 6, 2
    params = dm.init_params(rng, n_a, n_x)
    params = {k: 2.0 * v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}
    inputs = rng.integers(0, n_x, size=(T, B))
    targets = rng.integers(0, n_x, size=(T, B))
    targets[2, 1] = -1
    a0 = 0.5 * rng.standard_normal((B, n_a))
    c0 = rng.standard_normal((B, n_a))
    _, grads, _ = dm.loss_and_grads(params, inputs, targets, a0, c0)

    # Central differences with h ≈ u^(1/3): truncation error ~ h²·|f'''|/6 ~ 1e-11 and
    # rounding error ~ u·|f|/h ~ 1e-11 (loss ≈ 1.6), against gradient norms of 1e-2..0.3.
    # Measured relative errors: 3e-11 (b_y) to 4e-9 (W_f), so 1e-6 leaves a wide margin,
    # while a backprop bug shows: a dropped σ' factor or cell-carry factor gives ~1e-1, and
    # even scaling one matrix gradient by 0.999 gives 2e-4.
    h = 1e-5
    for key in dm.PARAM_KEYS:
        fd = np.zeros_like(params[key])
        for i in np.ndindex(params[key].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][i] += h
            minus[key][i] -= h
            f_plus = dm.loss_and_grads(plus, inputs, targets, a0, c0)[0]
            f_minus = dm.loss_and_grads(minus, inputs, targets, a0, c0)[0]
            fd[i] = (f_plus - f_minus) / (2 * h)
        err = np.linalg.norm(grads[key] - fd) / (np.linalg.norm(grads[key]) + np.linalg.norm(fd))
        assert err < 1e-6, f"{key}: relative error {err:.3e}"
        assert np.linalg.norm(fd) > 1e-3, f"{key}: gradient too small to test anything"


def test_masked_targets_do_not_contribute():
    rng = np.random.default_rng(5)
    params = dm.init_params(rng, 3, 4)
    inputs = rng.integers(0, 4, size=(4, 1))
    targets = rng.integers(0, 4, size=(4, 1))
    full, _, _ = dm.loss_and_grads(params, inputs, targets)
    masked_targets = targets.copy()
    masked_targets[3] = -1
    masked, _, _ = dm.loss_and_grads(params, inputs, masked_targets)
    first3, _, _ = dm.loss_and_grads(params, inputs[:3], targets[:3])
    assert masked == first3
    assert masked != full
    with pytest.raises(ValueError, match="targets"):
        dm.loss_and_grads(params, inputs, np.full((4, 1), -1))


def test_init_forget_bias_is_one():
    params = dm.init_params(np.random.default_rng(0))
    assert np.all(params["b_f"] == 1.0)
    assert np.all(params["b_u"] == 0.0) and np.all(params["b_o"] == 0.0)
    assert {k: v.shape for k, v in params.items()} == WEIGHT_SHAPES


def test_training_is_deterministic():
    first = dm.train(seed=3, epochs=1)
    again = dm.train(seed=3, epochs=1)
    other = dm.train(seed=4, epochs=1)
    for key in dm.PARAM_KEYS:
        np.testing.assert_array_equal(first[key], again[key])
    assert first["train_loss"] == again["train_loss"]
    assert not np.array_equal(first["W_f"], other["W_f"])


# --------------------------------------------------------------------------- corpus


def test_corpus_file_is_normalised():
    raw = dm.CORPUS_PATH.read_text(encoding="utf-8")
    text = dm.load_corpus()
    assert raw == text + "\n"
    assert set(text) <= set(dm.VOCAB)
    assert text.startswith("four score and seven years ago our fathers brought forth")
    assert text.endswith("shall not perish from the earth.")


def test_vocabulary():
    assert len(dm.VOCAB) <= 32
    assert len(set(dm.VOCAB)) == len(dm.VOCAB)
    assert set("abcdefghijklmnopqrstuvwxyz ") <= set(dm.VOCAB)


def test_normalise_encode_decode():
    assert dm.normalise("Four  Score;\n\tAND 7 \u201cyears\u201d\u2014ago!") == "four score. and years--ago."
    text = "a new nation, conceived in liberty -- battle-field."
    idx = dm.encode(text)
    assert idx.dtype == np.int64 and idx.shape == (len(text),)
    assert dm.decode(idx) == text
    assert dm.VOCAB[idx[0]] == "a"
    with pytest.raises(ValueError, match="'A'"):
        dm.encode("A")


# --------------------------------------------------------------------------- shipped model


def test_shipped_npz_contents(shipped):
    assert dm.DEMO_MODEL_PATH.stat().st_size < 100_000
    assert set(shipped) == set(dm.PARAM_KEYS) | set(METADATA_KEYS)
    for key, shape in WEIGHT_SHAPES.items():
        assert shipped[key].dtype == np.float64, key
        assert shipped[key].shape == shape, key
        assert np.all(np.isfinite(shipped[key])), key
    assert shipped["vocab"].dtype.kind == "U"
    assert shipped["vocab"].tolist() == list(dm.VOCAB)
    for key in ("seed", "epochs", "train_loss", "corpus_sha256"):
        assert shipped[key].shape == (), key
    assert shipped["seed"].dtype.kind == "i" and shipped["epochs"].dtype.kind == "i"
    assert shipped["train_loss"].dtype == np.float64
    assert str(shipped["corpus_sha256"]) == hashlib.sha256(dm.CORPUS_PATH.read_bytes()).hexdigest()


def test_shipped_train_loss_is_reproduced(shipped, corpus_indices):
    params = {k: shipped[k] for k in dm.PARAM_KEYS}
    stored = float(shipped["train_loss"])
    # Same code, same weights: equal up to summation order inside BLAS (a different library
    # may reorder the 46-term dot products; ~1e-16 per step over ~1500 steps, far below 1e-9).
    assert dm.cross_entropy(params, corpus_indices) == pytest.approx(stored, rel=1e-9, abs=0)
    # The literal equations of DESIGN.md (z = [a, x], one-hot x) give the same number: the
    # module's column-picking and gate stacking mean what the seed's notation says.
    assert _reference_cross_entropy(shipped, corpus_indices) == pytest.approx(
        stored, rel=1e-9, abs=0
    )


def test_shipped_model_beats_unigram_baseline(shipped, corpus_indices):
    assert float(shipped["train_loss"]) < dm.unigram_entropy(corpus_indices)


def test_readme_matches_shipped_model(shipped):
    assert dm.README_PATH.read_text(encoding="utf-8") == dm.render_readme(shipped), (
        "lstm_symbolic/data/README.md is stale: rerun "
        "python -m lstm_symbolic.demo_model --out lstm_symbolic/data/demo_char_lstm.npz"
    )


def test_main_writes_loadable_npz(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert dm.main(["--out", str(out), "--epochs", "1", "--no-readme", "--quiet"]) == 0
    arrays = dm.load_demo_arrays(out)
    assert set(arrays) == set(dm.PARAM_KEYS) | set(METADATA_KEYS)
    assert int(arrays["epochs"]) == 1
    assert not (tmp_path / "README.md").exists()
    assert "train_loss" in capsys.readouterr().out


@pytest.mark.slow
def test_retraining_reproduces_shipped_weights(request, shipped):
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("full retrain (~20 s): run with -m slow")
    arrays = dm.train(seed=int(shipped["seed"]), epochs=int(shipped["epochs"]))
    # Bitwise on the platform that produced the shipped file; another BLAS may differ.
    for key in dm.PARAM_KEYS:
        np.testing.assert_array_equal(arrays[key], shipped[key], err_msg=key)
