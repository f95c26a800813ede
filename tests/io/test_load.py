"""``ls.load``: one loader for every format, chosen by content (sniffing) with a note when the
extension says otherwise; clear errors for files that are not models; ``.npz`` round trips with
the vocabulary; the CLI's ``--head``; the ``lstm_symbolic.importers`` compatibility shim."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic import demo_model
from lstm_symbolic.cli import main
from lstm_symbolic.errors import NotAModelError

torch = pytest.importorskip("torch") if not os.environ.get("LSTM_SYMBOLIC_REQUIRE_TORCH") else __import__("torch")

from torch_models import Net, randomize  # noqa: E402


def _small(n_y: int | None = 3) -> ls.LSTMWeights:
    rng = np.random.default_rng(0)
    kw = {f"W_{g}": rng.normal(size=(2, 4)) for g in "fuco"} | {f"b_{g}": rng.normal(size=2) for g in "fuco"}
    if n_y:
        kw |= {"W_y": rng.normal(size=(n_y, 2)), "b_y": rng.normal(size=n_y)}
    return ls.LSTMWeights(**kw)


def test_npz_demo_model_with_vocab():
    w = ls.load(demo_model.DEMO_MODEL_PATH)
    assert w.info.vocab is not None and w.info.vocab[1] == "a" and len(w.info.vocab) == w.n_x
    assert w.info.source.endswith("(npz)") and ("W_y", "W_y") in w.info.mapping
    assert not w.info.notes  # its metadata (seed, checksum, loss) are not tensors that were left out


def test_save_round_trip_keeps_the_vocabulary(tmp_path):
    w = ls.load(demo_model.DEMO_MODEL_PATH)
    w.save(tmp_path / "copy.npz")
    w2 = ls.load(tmp_path / "copy.npz")
    assert w2.info.vocab == w.info.vocab
    for k, v in w.to_arrays().items():
        assert np.array_equal(v, w2.to_arrays()[k])


def test_npz_extra_arrays_and_head_argument(tmp_path):
    w = _small()
    np.savez(tmp_path / "m.npz", **w.to_arrays(), embedding=np.ones((5, 2)))
    w2 = ls.load(tmp_path / "m.npz")
    assert any("left out" in n and "embedding" in n for n in w2.info.notes)
    assert ls.load(tmp_path / "m.npz", head=False).W_y is None
    assert ls.load(tmp_path / "m.npz", head="W_y").n_y == 3
    with pytest.raises(NotAModelError, match="head"):
        ls.load(tmp_path / "m.npz", head="fc")
    np.savez(tmp_path / "nohead.npz", **_small(None).to_arrays())
    with pytest.raises(NotAModelError, match="head"):
        ls.load(tmp_path / "nohead.npz", head=True)


def test_npz_in_pytorch_naming(tmp_path):
    w = _small()
    np.savez(tmp_path / "t.npz", **w.to_torch())  # W_y, b_y: the library's own names, taken as the head
    w2 = ls.load(tmp_path / "t.npz")
    xs = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_array_equal(ls.forward(w, xs).y, ls.forward(w2, xs).y)


def test_content_decides_when_the_extension_lies(tmp_path):
    (tmp_path / "demo.pt").write_bytes(demo_model.DEMO_MODEL_PATH.read_bytes())
    w = ls.load(tmp_path / "demo.pt")
    assert w.n_a == 16 and w.info.notes[0] == "the file is named .pt but holds an npz archive: read as npz archive"
    torch.save(randomize(Net(), 0).state_dict(), tmp_path / "net.npz")
    w = ls.load(tmp_path / "net.npz")
    assert w.n_y == 5 and "holds a PyTorch file" in w.info.notes[0]
    torch.save(randomize(Net(), 0).state_dict(), tmp_path / "net.weights")  # unknown extension: no note needed
    assert ls.load(tmp_path / "net.weights").n_y == 5


def test_onnx_under_another_extension(tmp_path):
    pytest.importorskip("onnx")
    from onnx_graphs import Graph

    g = Graph()
    path = g.save(tmp_path / "m.bin", [g.lstm()[0]])
    w = ls.load(path)
    assert w.n_a == 4 and "holds an ONNX model" in w.info.notes[0]


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, b"x")


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("x.pt", b"not a model\n", r"x\.pt: a text file"),
        ("x.npz", b"this is not a zip", r"expected a numpy \.npz archive .*x\.npz: a text file"),
        ("x.npz", b"PK\x03\x04junk\x00\x01", r"x\.npz: neither a zip archive"),
        ("x.onnx", b"", "an empty file"),
        ("x.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 16, r"x\.h5: not a readable HDF5 file"),
        ("x.dat", b"hello", "a text file"),
        ("x.onnx", b"\x08\x07\x12\x04junk\xff\xfe", r"x\.onnx: (not a readable ONNX protobuf|no graph nodes)"),
    ],
)
def test_files_that_are_not_models(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(NotAModelError, match=match) as err:
        ls.load(tmp_path / name)
    assert str(err.value).startswith("path: expected")


def test_other_archives_are_named(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(NotAModelError, match="a single .npy array"):
        ls.load(tmp_path / "a.npy")
    _zip(tmp_path / "m.keras", ["config.json", "model.weights.h5", "metadata.json"])  # junk contents
    with pytest.raises(NotAModelError, match=r"expected a \.keras file \(config\.json and model\.weights\.h5\)"):
        ls.load(tmp_path / "m.keras")
    _zip(tmp_path / "other.zip", ["readme.txt"])
    with pytest.raises(NotAModelError, match="neither an npz, a PyTorch nor a Keras file"):
        ls.load(tmp_path / "other.zip")


def test_missing_file_and_bad_source():
    with pytest.raises(NotAModelError, match="path: expected an existing model file"):
        ls.load("/nonexistent/model.pt")
    with pytest.raises(ls.InputError, match="path: expected a path to a model file, a state dict or a torch.nn.Module"):
        ls.load(3.5)


def test_seed_naming_mapping_is_accepted_in_memory():
    w = _small()
    assert ls.load(w.to_arrays()).n_y == 3
    assert ls.load(w.to_torch(), head=False).W_y is None


# --- the command line -----------------------------------------------------------------------------


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_head_option(capsys, tmp_path):
    net = randomize(Net(n_x=3, n_a=4, n_y=3), 0)  # n_y = n_x: not guessed
    torch.save(net.state_dict(), tmp_path / "m.pt")
    common = ["--steps", "2", "--input", "box:-1:1", "--format", "json"]
    code, out, err = _run(capsys, "bounds", str(tmp_path / "m.pt"), *common)
    data = json.loads(out)
    assert code == 0 and data["n_y"] is None and any("--head fc" in n for n in data["notes"])
    code, out, err = _run(capsys, "bounds", str(tmp_path / "m.pt"), "--head", "fc", *common)
    assert code == 0 and json.loads(out)["n_y"] == 3
    code, out, err = _run(capsys, "bounds", str(tmp_path / "m.pt"), "--head", "none", *common)
    assert code == 0 and json.loads(out)["n_y"] is None
    code, out, err = _run(capsys, "bounds", str(tmp_path / "m.pt"), "--head", "nope", *common)
    assert code == 2 and err.startswith("lstm-symbolic: error: head: expected the name of an nn.Linear") and err.count("\n") == 1
    np.save(tmp_path / "X.npy", np.zeros((2, 1, 3)))
    code, out, err = _run(capsys, "certify", str(tmp_path / "m.pt"), "--head", "fc", "--inputs", str(tmp_path / "X.npy"),
                          "--labels", "predicted", "--eps", "0")
    assert code == 0, err


def test_cli_errors_name_model(capsys, tmp_path):
    (tmp_path / "m.pt").write_text("hello")
    code, out, err = _run(capsys, "bounds", str(tmp_path / "m.pt"), "--steps", "1", "--input", "onehot")
    assert code == 2 and err.startswith("lstm-symbolic: error: MODEL: expected a PyTorch state dict file") and "a text file" in err


# --- compatibility --------------------------------------------------------------------------------


def test_importers_shim(tmp_path):
    from lstm_symbolic.importers import LoadedModel, from_torch_file, from_torch_state_dict, load_model

    m = load_model(demo_model.DEMO_MODEL_PATH)
    assert isinstance(m, LoadedModel) and m.vocab[:3] == [" ", "a", "b"] and m.weights.n_a == 16
    net = randomize(Net(), 0)
    torch.save(net.state_dict(), tmp_path / "n.pt")
    assert from_torch_file(tmp_path / "n.pt").n_y == 5 and from_torch_state_dict(net.state_dict()).n_y == 5
    with pytest.raises(NotAModelError, match="MODEL: expected an existing model file"):
        load_model("no/such/file.onnx")
