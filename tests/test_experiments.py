"""experiments/: the trainer's backward passes, the cells against the library, the result caches."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.demo_model import VOCAB, encode, load_corpus

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments import cache, run as runner, tasks, training as T  # noqa: E402

CELLS = {
    "lstm": T.LSTM(),
    "lstm-sigmoid-normaliser": T.LSTM(normaliser="sigmoid"),
    "lstm-tanh-output-gate": T.LSTM(output_gate="tanh"),
    "lstm-open-f": T.LSTM(open_gates=("f",)),
    "lstm-open-u-o": T.LSTM(open_gates=("u", "o")),
    "gru": T.GRU(),
    "rnn": T.RNN(),
}


def _curved(cell: T.Cell, seed: int, n_h: int, n_x: int) -> dict[str, np.ndarray]:
    """Weights scaled up so that gates and tanh are in their curved regions, not near-linear."""
    rng = np.random.default_rng(seed)
    params = T.init_params(cell, rng, n_h, n_x)
    return {k: v if k in cell.frozen else 2.0 * v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}


# --------------------------------------------------------------------------- backward passes


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("dropout", [False, True])
def test_gradient_matches_central_finite_differences(name: str, dropout: bool) -> None:
    # Tiny model, float64, non-zero initial state, one masked target. Central differences with
    # h ≈ u^(1/3): truncation ~ h²|f'''|/6 ~ 1e-11 and rounding ~ u|f|/h ~ 1e-11 (loss ≈ 2),
    # against gradient norms ≥ 1e-3. Measured relative errors ≤ 4e-9, so 1e-6 leaves a wide
    # margin while a backprop bug shows: a dropped σ' or cell-carry factor gives ~1e-1, and
    # scaling one matrix gradient by 0.999 gives ~2e-4.
    cell = CELLS[name]
    rng = np.random.default_rng(1234)
    n_h, n_x, steps, batch = 3, 5, 6, 2
    params = _curved(cell, 99, n_h, n_x)
    inputs = rng.integers(0, n_x, size=(steps, batch))
    targets = rng.integers(0, n_x, size=(steps, batch))
    targets[2, 1] = -1
    state = tuple(0.5 * rng.standard_normal((batch, n_h)) for _ in range(cell.n_state))
    keep = (rng.random((steps, batch, n_h)) > 0.3) / 0.7 if dropout else None
    _, grads, _ = T.loss_and_grads(cell, params, inputs, targets, state, keep)
    h = 1e-5
    for key in params:
        if key in cell.frozen:
            continue
        fd = np.zeros_like(params[key])
        for i in np.ndindex(params[key].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][i] += h
            minus[key][i] -= h
            f_plus = T.loss_and_grads(cell, plus, inputs, targets, state, keep)[0]
            f_minus = T.loss_and_grads(cell, minus, inputs, targets, state, keep)[0]
            fd[i] = (f_plus - f_minus) / (2 * h)
        err = np.linalg.norm(grads[key] - fd) / (np.linalg.norm(grads[key]) + np.linalg.norm(fd))
        assert err < 1e-6, f"{name} {key}: relative error {err:.3e}"
        assert np.linalg.norm(fd) > 1e-3, f"{name} {key}: gradient too small to test anything"


def test_masked_targets_do_not_contribute() -> None:
    cell = T.LSTM()
    rng = np.random.default_rng(5)
    params = T.init_params(cell, rng, 3, 4)
    inputs = rng.integers(0, 4, size=(4, 1))
    targets = rng.integers(0, 4, size=(4, 1))
    full = T.loss_and_grads(cell, params, inputs, targets)[0]
    masked_targets = targets.copy()
    masked_targets[3] = -1
    masked = T.loss_and_grads(cell, params, inputs, masked_targets)[0]
    first3 = T.loss_and_grads(cell, params, inputs[:3], targets[:3])[0]
    assert masked == first3 and masked != full
    with pytest.raises(ValueError, match="targets"):
        T.loss_and_grads(cell, params, inputs, np.full((4, 1), -1))


# --------------------------------------------------------------------------- cells vs the library


def test_lstm_cell_runs_the_library_forward_and_the_variant_forward_matches_it_bit_for_bit() -> None:
    cell = T.LSTM()
    assert cell.library_forward and not T.LSTM(normaliser="sigmoid").library_forward
    params = _curved(cell, 7, 4, 6)
    rng = np.random.default_rng(8)
    inputs = rng.integers(0, 6, size=(9, 3))
    a0, c0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    cache_, _ = cell.forward(params, inputs, (a0, c0))
    run = ls.forward(cell.weights(params), np.eye(6)[inputs], a0, c0)
    variant = T.lstm_variant_forward(params, np.eye(6)[inputs], a0, c0)
    for k in ("f", "u", "o", "c_tilde", "c", "a"):
        np.testing.assert_array_equal(cache_[k], getattr(run, k), err_msg=k)
        np.testing.assert_array_equal(variant[k], getattr(run, k), err_msg=k)
    # the variants really change the step
    other = T.lstm_variant_forward(params, np.eye(6)[inputs], a0, c0, normaliser="sigmoid")
    assert not np.array_equal(other["a"], run.a) and np.array_equal(other["c"][0], run.c[0])


def test_open_gates_are_exactly_one_and_never_trained() -> None:
    assert float(ls.lstm.sigmoid(np.array([T.OPEN_BIAS]))[0]) == 1.0
    assert np.tanh(T.OPEN_BIAS) == 1.0
    cell = T.LSTM(open_gates=("f", "o"))
    streams = T.text_streams(encode(load_corpus()), 8)
    params, _ = T.train(cell, streams, len(VOCAB), T.TrainConfig(epochs=1), seed=0)
    init = T.init_params(cell, np.random.default_rng(0), 16, len(VOCAB))
    for key in cell.frozen:
        np.testing.assert_array_equal(params[key], init[key], err_msg=key)
    assert not np.array_equal(params["W_u"], init["W_u"])
    cache_, _ = cell.forward(params, streams.inputs[:20], cell.zero_state(8, 16))
    assert np.all(cache_["f"] == 1.0) and np.all(cache_["o"] == 1.0) and not np.all(cache_["u"] == 1.0)


def test_matching_hidden_sizes() -> None:
    lstm = T.n_params(T.init_params(T.LSTM(), np.random.default_rng(0), 16, 30))
    assert lstm == 3518  # the demo model's count
    n = tasks.matching_hidden_size(T.GRU(), 30, 30, lstm)
    gru = T.n_params(T.init_params(T.GRU(), np.random.default_rng(0), n, 30))
    assert n == 19 and abs(gru - lstm) / lstm < 0.02


def test_recall_task_targets_are_the_latest_key() -> None:
    task = tasks.recall_task(seed=3, n_streams=2, length=300)
    marker, query = tasks.RECALL_SYMBOLS.index("M"), tasks.RECALL_SYMBOLS.index("Q")
    for s in range(2):
        key = -1
        inp, tgt = task.streams.inputs[:, s], task.streams.targets[:, s]
        for t in range(len(inp)):
            if t > 0 and inp[t - 1] == marker:
                key = inp[t]
            if tgt[t] >= 0:
                assert inp[t] == query and tgt[t] == key
            elif inp[t] == query:
                pytest.fail("a query without a target")
        assert (tgt >= 0).sum() > 10


# --------------------------------------------------------------------------- result caches


@pytest.mark.parametrize("name", runner.EXPERIMENTS)
def test_cached_results_are_current(name: str) -> None:
    chk = cache.verify(name)
    assert chk.ok, f"{name}: {chk.problems}; rerun `python -m experiments.run {name}` and commit the JSON"
    record = json.loads((cache.RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    mod = importlib.import_module(f"experiments.{name}")
    assert record["config"] == json.loads(json.dumps(mod.CONFIG)), "config in the JSON is not the module's CONFIG"
    assert record["claims"] == list(mod.CLAIMS)


def test_cache_check_detects_a_changed_input(tmp_path: Path) -> None:
    name = runner.EXPERIMENTS[0]
    for rel in cache.input_files(name) + (f"experiments/results/{name}.json",):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    assert cache.verify(name, tmp_path).ok
    src = tmp_path / "experiments" / "training.py"
    src.write_text(src.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    chk = cache.verify(name, tmp_path)
    assert not chk.ok and any("training.py" in p for p in chk.problems)
    with pytest.raises(cache.StaleResult, match="rerun"):
        cache.load(name, tmp_path)
    (tmp_path / "experiments" / "results" / f"{name}.json").unlink()
    assert not cache.verify(name, tmp_path).ok


@pytest.mark.parametrize("name", runner.EXPERIMENTS)
def test_experiment_runs_in_smoke_mode(name: str) -> None:
    """Every experiment's code runs end to end (tiny settings: seconds; the numbers are not checked)."""
    record = runner.run_one(name, smoke=True)
    json.dumps(record, allow_nan=False)
    assert record["results"]


@pytest.mark.slow
def test_rerun_reproduces_the_cached_numbers(request) -> None:
    """Rerun the quickest experiment in full and compare every number with its cache (exactly:
    deterministic on the machine that made the cache; another BLAS may change last bits)."""
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("reruns an experiment (~30 s): run with -m slow")
    record = runner.run_one("stability")
    cached = json.loads((cache.RESULTS / "stability.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(record["results"])) == cached["results"]
