"""The ``lstm-symbolic`` command: demo, bounds, certify; one-line errors with exit status 2;
outward-rounded tables; exact JSON; the progress bar never changes a result."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_symbolic as ls
from lstm_symbolic import demo_model
from lstm_symbolic import cli
from lstm_symbolic.cli import Progress, main, parse_input_spec
from lstm_symbolic.report import fmt_down, fmt_up

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


@pytest.fixture(scope="module")
def demo_w():
    return ls.LSTMWeights.from_arrays(demo_model.load_demo_arrays())


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, *fragments):
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lstm-symbolic: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


# --- demo ------------------------------------------------------------------------------------------


def test_demo_writes_report_json_and_plot(capsys, tmp_path, demo_w):
    rc, out, err = run(capsys, "demo", "--steps", "3", "--samples", "50", "--out", str(tmp_path / "d"))
    assert rc == 0, err
    head = out.splitlines()[:2]
    assert "character-level LSTM" in head[0] and "Proved below" in head[1]
    assert "→ No: certified" in out and "→ Yes: falsified" in out and "replayed in mpmath" in out
    assert "real trajectories" in out and "counting unit" in out and "ls.invariant finds none" in out and "it counts" in out
    report = (tmp_path / "d" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# lstm-symbolic demo report") and "## 3. A counting unit" in report and "## Appendix" in report
    data = json.loads((tmp_path / "d" / "bounds.json").read_text(encoding="utf-8"))
    statuses = {t["status"] for t in data["typos"]}
    assert statuses == {"certified", "falsified"}
    for t in data["typos"]:  # the proofs agree with the exact answers by enumeration
        assert (t["status"] == "certified") == (t["exact_changers"] == 0 and t["exact_min_margin"] > 0)
        if t["status"] == "certified":
            assert t["margin"] <= t["exact_min_margin"]
        else:
            assert t["counter_margin"] < 0 and t["counterexample"] is not None
    ball = data["ball"]
    ratio = ball["final_ratio"]
    assert ratio["best"] >= 1 and ratio["interval"] >= ratio["best"]  # bounds contain the real trajectories
    png = tmp_path / "d" / "bounds.png"
    if HAVE_MPL:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "bounds.png" in out
    else:
        assert not png.exists() and "note: no plot" in out


def test_demo_without_matplotlib_notes_and_skips_png(capsys, tmp_path, monkeypatch):
    for mod in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    rc, out, err = run(capsys, "demo", "--steps", "1", "--samples", "20", "--out", str(tmp_path))
    assert rc == 0, err
    notes = [line for line in out.splitlines() if line.startswith("note: no plot")]
    assert len(notes) == 1 and "matplotlib" in notes[0]
    assert not (tmp_path / "bounds.png").exists() and (tmp_path / "report.md").exists()
    assert "![" not in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_demo_no_plot_and_bad_out(capsys, tmp_path):
    rc, out, _ = run(capsys, "demo", "--steps", "1", "--samples", "10", "--no-plot", "--out", str(tmp_path / "x"))
    assert rc == 0 and not (tmp_path / "x" / "bounds.png").exists() and "no plot" not in out
    (tmp_path / "file").write_text("")
    rc, _, err = run(capsys, "demo", "--steps", "1", "--samples", "10", "--no-plot", "--out", str(tmp_path / "file"))
    assert_one_line_error(rc, err, "--out")


# --- bounds ----------------------------------------------------------------------------------------


def _rows(out: str, signal_header: str) -> list[list[str]]:
    """The table rows (t, '[lo,', 'hi]', width) of one signal block."""
    lines = out.splitlines()
    start = lines.index(signal_header) + 2
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


@pytest.mark.parametrize("method", ["interval", "symbolic"])
def test_bounds_table_is_rounded_outward(capsys, demo_w, method):
    rc, out, err = run(capsys, "bounds", "demo", "--steps", "4", "--input", "onehot:t,h,e, ", "--method", method, "--digits", "3")
    assert rc == 0, err
    tr = ls.propagate(demo_w, ls.OneHot(demo_w.n_x, [20, 8, 5, 0]), steps=4, method=method)
    for name, header in (("c", "c  cell"), ("a", "a  hidden state"), ("f", "Γ_f  forget gate")):
        iv = getattr(tr, name)
        for t, row in enumerate(_rows(out, header)):
            lo, hi = Decimal(row[1].strip("[,")), Decimal(row[2].strip("]"))
            exact_lo, exact_hi = Decimal(float(iv.lo[t].min())), Decimal(float(iv.hi[t].max()))
            assert lo <= exact_lo and exact_hi <= hi
            assert exact_lo - lo < Decimal("0.001") and hi - exact_hi < Decimal("0.001")


def test_bounds_json_is_exact(capsys, demo_w, tmp_path):
    center = np.eye(demo_w.n_x)[demo_model.encode("four")]
    np.save(tmp_path / "c.npy", center)
    rc, out, err = run(capsys, "bounds", "demo", "--input", f"linf:0.001:{tmp_path / 'c.npy'}", "--format", "json", "--method", "interval")
    assert rc == 0, err
    data = json.loads(out)
    tr = ls.propagate(demo_w, ls.LinfBall(center, 0.001), method="interval")
    assert data["steps"] == 4 and data["method"] == "interval"
    for name in ("f", "u", "o", "c_tilde", "c", "a", "y"):
        assert data["signals"][name]["lo"] == getattr(tr, name).lo.tolist()
        assert data["signals"][name]["hi"] == getattr(tr, name).hi.tolist()


def test_bounds_text_center_markdown_and_signals(capsys, demo_w):
    rc, out, err = run(capsys, "bounds", "demo", "--input", "linf:1e-4:text=four", "--format", "markdown", "--signals", "a,y")
    assert rc == 0, err
    assert "### a — hidden state" in out and "### y — softmax output" in out and "### c — cell" not in out
    assert out.count("\n| 4 |") == 2  # T = 4 from the text


def test_bounds_box_numbers_and_files(capsys, demo_w, tmp_path):
    np.save(tmp_path / "lo.npy", np.zeros(demo_w.n_x))
    np.save(tmp_path / "hi.npy", np.full(demo_w.n_x, 0.5))
    rc1, out1, _ = run(capsys, "bounds", "demo", "--steps", "2", "--input", "box:0:0.5", "--format", "json")
    rc2, out2, _ = run(capsys, "bounds", "demo", "--steps", "2", "--input", f"box:{tmp_path / 'lo.npy'}:{tmp_path / 'hi.npy'}", "--format", "json")
    assert rc1 == rc2 == 0
    assert json.loads(out1)["signals"] == json.loads(out2)["signals"]


def test_bounds_plot(capsys, tmp_path):
    rc, out, err = run(capsys, "bounds", "demo", "--steps", "2", "--input", "onehot", "--method", "interval", "--plot", str(tmp_path / "p.png"))
    assert rc == 0
    if HAVE_MPL:
        assert (tmp_path / "p.png").exists() and "wrote" in err
    else:
        assert "note: no plot" in err


def test_bounds_torch_and_onnx_models(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    rc, out, err = run(capsys, "bounds", str(tmp_path / "m.pt"), "--steps", "3", "--input", "box:-1:1", "--format", "json", "--method", "symbolic")
    assert rc == 0, err
    data = json.loads(out)
    assert data["n_y"] is None and "y" not in data["signals"] and data["n_a"] == 4
    w = ls.LSTMWeights.from_torch(lstm.state_dict())
    assert data["signals"]["a"]["hi"] == ls.propagate(w, ls.Box(-np.ones(3), np.ones(3)), steps=3, method="symbolic").a.hi.tolist()
    pytest.importorskip("onnx")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(lstm, (torch.zeros(2, 1, 3),), str(tmp_path / "m.onnx"), dynamo=False)
        except Exception as exc:  # pragma: no cover
            pytest.skip(f"torch.onnx.export unavailable: {exc}")
    rc, out2, err = run(capsys, "bounds", str(tmp_path / "m.onnx"), "--steps", "3", "--input", "box:-1:1", "--format", "json", "--method", "symbolic")
    assert rc == 0, err
    assert json.loads(out2)["signals"]["a"] == data["signals"]["a"]


# --- certify ---------------------------------------------------------------------------------------


def _certify_files(tmp_path):
    idx = demo_model.encode("four score and seven")
    X = np.stack([idx[i : i + 6] for i in range(3)], axis=1)  # (T, B) tokens
    Y = np.array([idx[i + 6] for i in range(3)])
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    return X, Y


def test_certify_table_and_json_agree_with_library(capsys, demo_w, tmp_path):
    X, Y = _certify_files(tmp_path)
    cert = ls.certify(demo_w, np.eye(demo_w.n_x)[X], 1e-4, Y, method="interval")
    rc, out, err = run(capsys, "certify", "demo", "--inputs", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "Y.npy"),
                       "--eps", "1e-4", "--method", "interval", "--format", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["certified_count"] == cert.count and data["total"] == 3
    for i, s in enumerate(data["samples"]):
        assert s["certified"] == bool(cert.certified[i]) and s["min_margin"] == float(cert.min_margin[i])
        assert s["margins"][Y[i]] is None
    rc, out, err = run(capsys, "certify", "demo", "--inputs", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "Y.npy"),
                       "--eps", "1e-4", "--method", "interval")
    assert rc == 0 and f"certified: {cert.count} / 3" in out
    rc, _, _ = run(capsys, "certify", "demo", "--inputs", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "Y.npy"),
                   "--eps", "1e-4", "--method", "interval", "--require-all")
    assert rc == (0 if cert.count == 3 else 1)


def test_certify_predicted_labels_batch_first(capsys, demo_w, tmp_path):
    X, _ = _certify_files(tmp_path)
    np.save(tmp_path / "Xb.npy", np.eye(demo_w.n_x)[X.T])  # (B, T, n_x) floats
    rc, out, err = run(capsys, "certify", "demo", "--inputs", str(tmp_path / "Xb.npy"), "--batch-first",
                       "--labels", "predicted", "--eps", "0", "--method", "interval", "--require-all")
    assert rc == 0, out + err  # eps = 0 and the model's own prediction: always provable here
    assert "certified: 3 / 3" in out


# --- errors: one line, status 2, no traceback -----------------------------------------------------


@pytest.fixture
def files(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    np.savez(tmp_path / "nomodel.npz", x=np.zeros(3))
    np.save(tmp_path / "center_bad.npy", np.zeros((4, 7)))
    np.save(tmp_path / "center4.npy", np.zeros((4, 30)))
    np.save(tmp_path / "X.npy", np.zeros((5, 30)))
    np.save(tmp_path / "Xbad.npy", np.zeros((5, 29)))
    np.save(tmp_path / "Xtok.npy", np.array([0, 1, 99]))
    np.save(tmp_path / "Y2.npy", np.array([0, 1]))
    np.save(tmp_path / "Yf.npy", np.array([0.5]))
    np.save(tmp_path / "Ybig.npy", np.array([30]))
    (tmp_path / "pickle.npy").write_bytes(b"\x93NUMPY garbage")
    return tmp_path


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["bounds", "{d}/missing.npz", "--steps", "2", "--input", "onehot"], "MODEL"),
        (["bounds", "{d}/garbage.npz", "--steps", "2", "--input", "onehot"], "MODEL"),
        (["bounds", "{d}/nomodel.npz", "--steps", "2", "--input", "onehot"], "arrays"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot:zz"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot:"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot:1,,2"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot:30"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "linf:abc"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "linf:-1"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "linf:nan"], "--input"),
        (["bounds", "demo", "--input", "linf:0.1:{d}/center_bad.npy"], "--input"),
        (["bounds", "demo", "--steps", "3", "--input", "linf:0.1:{d}/center4.npy"], "--steps"),
        (["bounds", "demo", "--input", "linf:0.1:{d}/nothere.npy"], "--input"),
        (["bounds", "demo", "--input", "linf:0.1:{d}/pickle.npy"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "box:1"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "box:2:1"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "ball:1"], "--input"),
        (["bounds", "demo", "--input", "onehot"], "--steps"),
        (["bounds", "demo", "--steps", "0", "--input", "onehot"], "--steps"),
        (["bounds", "demo", "--steps", "2"], "--input"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot", "--method", "crown"], "--method"),
        (["bounds", "demo", "--steps", "2", "--input", "onehot", "--signals", "q"], "--signals"),
        (["certify", "demo", "--inputs", "{d}/Xbad.npy", "--labels", "predicted", "--eps", "0.1"], "--inputs"),
        (["certify", "demo", "--inputs", "{d}/Xtok.npy", "--labels", "predicted", "--eps", "0.1"], "--inputs"),
        (["certify", "demo", "--inputs", "{d}/X.npy", "--labels", "{d}/Y2.npy", "--eps", "0.1"], "--labels"),
        (["certify", "demo", "--inputs", "{d}/X.npy", "--labels", "{d}/Yf.npy", "--eps", "0.1"], "--labels"),
        (["certify", "demo", "--inputs", "{d}/X.npy", "--labels", "{d}/Ybig.npy", "--eps", "0.1"], "--labels"),
        (["certify", "demo", "--inputs", "{d}/X.npy", "--labels", "predicted", "--eps", "-1"], "--eps"),
        (["certify", "demo", "--inputs", "{d}/X.npy", "--labels", "predicted", "--eps", "x"], "--eps"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, files, argv, fragment):
    rc, out, err = run(capsys, *[a.format(d=files) for a in argv])
    assert_one_line_error(rc, err, fragment)


def test_bad_torch_file_is_one_line(capsys, files):
    pytest.importorskip("torch")
    rc, _, err = run(capsys, "bounds", str(files / "garbage.pt"), "--steps", "2", "--input", "onehot")
    assert_one_line_error(rc, err, "MODEL")


def test_process_exit_status_and_stderr(tmp_path):
    """The real process: status 2, one stderr line, nothing on stdout."""
    proc = subprocess.run([sys.executable, "-m", "lstm_symbolic.cli", "bounds", str(tmp_path / "none.onnx"), "--steps", "1",
                           "--input", "onehot"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, "MODEL")


def test_help_lists_every_command(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0
    for cmd in ("demo", "bounds", "certify", "constants", "prove"):
        assert cmd in out


# --- the spec parser, progress, formatting ---------------------------------------------------------


def test_parse_input_spec_kinds(demo_w):
    vocab = list(demo_model.VOCAB)
    s, T, desc = parse_input_spec("onehot:0,a, ", 30, vocab, 5)
    assert isinstance(s, ls.OneHot) and s.allowed.tolist() == [0, 1] and T == 5
    s, T, _ = parse_input_spec("linf:0.5", 30, None, 2)
    assert isinstance(s, ls.LinfBall) and float(s.eps.max()) == 0.5 and T == 2
    s, T, _ = parse_input_spec("box:-1:2", 30, None, 1)
    assert float(s.lo.min()) == -1 and float(s.hi.max()) == 2


def test_progress_silent_without_tty():
    stream = io.StringIO()
    p = Progress(10, "x", delay=0.0, stream=stream)
    for _ in range(10):
        p.tick()
    p.close()
    assert stream.getvalue() == ""


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6), st.integers(0, 8))
def test_printed_bounds_enclose_the_float(x, digits):
    assert Decimal(fmt_down(x, digits)) <= Decimal(x) <= Decimal(fmt_up(x, digits))
    assert Decimal(fmt_up(x, digits)) - Decimal(fmt_down(x, digits)) <= Decimal(1).scaleb(-digits)


# --- progress: through propagate's callback, never by wrapping the input sets --------------------


class _Recorder(Progress):
    """A Progress on a fake terminal that draws at once and records every update."""

    calls: list = []

    def __init__(self, total, label, **kw):
        stream = io.StringIO()
        stream.isatty = lambda: True  # type: ignore[method-assign]
        super().__init__(total, label, delay=0.0, interval=0.0, stream=stream)
        _Recorder.calls = []
        _Recorder.last = self

    def update(self, done, total=None):
        _Recorder.calls.append((done, total))
        super().update(done, total)


@pytest.mark.parametrize("method", ["interval", "symbolic"])
def test_progress_once_per_step_and_bounds_unchanged(capsys, monkeypatch, method):
    rc, plain, err = run(capsys, "bounds", "demo", "--steps", "3", "--input", "onehot:t,h,e", "--method", method, "--format", "json")
    assert rc == 0 and err == ""  # not a terminal: no bar
    monkeypatch.setattr(cli, "Progress", _Recorder)
    rc, ticked, _ = run(capsys, "bounds", "demo", "--steps", "3", "--input", "onehot:t,h,e", "--method", method, "--format", "json")
    assert rc == 0
    assert _Recorder.calls == [(1, 3), (2, 3), (3, 3)]  # the bar is full only at the end
    drawn = _Recorder.last.stream.getvalue()
    assert drawn.index("1/3") < drawn.index("2/3") < drawn.index("3/3") and drawn.endswith("\r")
    assert json.loads(ticked)["signals"] == json.loads(plain)["signals"]


def _big_vocab_model(tmp_path, n_y=200):
    rng = np.random.default_rng(5)
    n_a, n_x = 3, 2
    arrays = {f"W_{g}": rng.normal(size=(n_a, n_a + n_x)) for g in "fuco"} | {f"b_{g}": rng.normal(size=n_a) for g in "fuco"}
    arrays |= {"W_y": rng.normal(size=(n_y, n_a)), "b_y": rng.normal(size=n_y)}
    np.savez(tmp_path / "m.npz", **arrays)
    return ls.LSTMWeights.from_arrays(arrays)


def test_progress_on_a_chunked_symbolic_run_terminates(capsys, monkeypatch, tmp_path):
    """n_y = 200 makes the symbolic method chunk the batch; the old progress wrapper's
    take_batch returned itself and recursed forever under a terminal."""
    w = _big_vocab_model(tmp_path)
    center = np.random.default_rng(6).normal(size=(2, 12, 2))  # (T, B, n_x)
    np.save(tmp_path / "cent.npy", center)
    monkeypatch.setattr(cli, "Progress", _Recorder)
    rc, out, err = run(capsys, "bounds", str(tmp_path / "m.npz"), "--input", f"linf:0.1:{tmp_path / 'cent.npy'}", "--format", "json", "--method", "symbolic")
    assert rc == 0, err
    totals = {t for _, t in _Recorder.calls}
    assert len(totals) == 1 and (total := totals.pop()) > 2 and total % 2 == 0  # T steps per chunk, > 1 chunk
    assert [d for d, _ in _Recorder.calls] == list(range(1, total + 1))
    expected = ls.propagate(w, ls.LinfBall(center, 0.1), method="symbolic")
    assert json.loads(out)["signals"]["a"]["hi"] == expected.a.hi.tolist()


_PATCH = "import functools, sys, lstm_symbolic.cli as c; c.Progress = functools.partial(c.Progress, delay=0.0, interval=0.0); "


def test_no_progress_bar_in_a_pipe_and_one_in_a_terminal(tmp_path):
    argv = ["bounds", "demo", "--steps", "3", "--input", "onehot", "--signals", "a"]
    code = _PATCH + f"sys.exit(c.main({argv!r}))"
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == "" and "hidden state" in piped.stdout
    pty = pytest.importorskip("pty")
    import os

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert "best bounds [" in b"".join(chunks).decode() and "3/3" in b"".join(chunks).decode()  # the default method


def test_progress_update_grows_total_and_throttles():
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    p = Progress(2, "x", delay=0.0, interval=3600.0, stream=stream)
    p.update(1)  # the first draw
    p.update(2, 4)  # too soon: not drawn
    p.update(4, 4)  # the end is always drawn
    p.close()
    out = stream.getvalue()
    assert "1/2" in out and "2/4" not in out and "4/4" in out


# --- options: --digits, --signals, --batch-first, per-class y ------------------------------------


@pytest.mark.parametrize("digits", ["0", "17", "40", "50"])
def test_digits_range_is_supported_and_outward(capsys, demo_w, digits):
    rc, out, err = run(capsys, "bounds", "demo", "--steps", "2", "--input", "onehot:t,h,e", "--method", "interval",
                       "--signals", "c", "--digits", digits)
    assert rc == 0, err  # --digits 40 was a decimal.InvalidOperation traceback
    tr = ls.propagate(demo_w, ls.OneHot(demo_w.n_x, [20, 8, 5]), steps=2, method="interval")
    for t, row in enumerate(_rows(out, "c  cell")):
        lo, hi = Decimal(row[1].strip("[,")), Decimal(row[2].strip("]"))
        assert lo <= Decimal(float(tr.c.lo[t].min())) and Decimal(float(tr.c.hi[t].max())) <= hi
        assert len(row[1].strip("[,").partition(".")[2]) == int(digits)


def test_fmt_many_digits_of_huge_floats():
    assert fmt_down(1.5e300, 40).startswith("+15") and fmt_up(-1.7e308, 45).endswith("." + "0" * 45)
    assert Decimal(fmt_down(0.1, 50)) <= Decimal(0.1) <= Decimal(fmt_up(0.1, 50))
    with pytest.raises(ls.errors.InputError, match="^digits: "):
        fmt_down(0.5, 51)


def test_signals_asked_twice_are_shown_once(capsys):
    rc, out, _ = run(capsys, "bounds", "demo", "--steps", "2", "--input", "onehot", "--method", "interval", "--signals", "a,c,a,ct,c_tilde")
    assert rc == 0
    assert out.count("a  hidden state") == 1 and out.count("c̃  candidate cell") == 1
    assert out.index("a  hidden state") < out.index("c  cell") < out.index("c̃  candidate cell")  # first-asked order
    rc, out, _ = run(capsys, "bounds", "demo", "--steps", "2", "--input", "onehot", "--format", "markdown", "--signals", "y,y")
    assert rc == 0 and out.count("### y") == 1


def _class_block(out: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """(t, class, lo, hi) rows of the per-class y block of a text table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("y  softmax output")) + 2
    rows, t = [], ""
    for line in lines[start:]:
        if not line.strip():
            break
        head, _, cell = line.partition("[")
        t = head[:5].strip() or t
        lo, hi = cell.rstrip("]").split(", ")
        rows.append((t, head[5:].strip(), Decimal(lo), Decimal(hi)))
    return rows


def test_classifier_y_per_class_top_rows_with_vocabulary(capsys, demo_w):
    rc, out, err = run(capsys, "bounds", "demo", "--steps", "2", "--input", "onehot:t,h,e", "--method", "interval", "--signals", "y")
    assert rc == 0, err
    assert "the 5 with the highest upper bound at each step, then the other 25 as one row" in out
    tr = ls.propagate(demo_w, ls.OneHot(demo_w.n_x, [20, 8, 5]), steps=2, method="interval")
    rows = _class_block(out)
    assert len(rows) == 2 * 6
    vocab = list(demo_model.VOCAB)
    for step in (1, 2):
        mine = [r for r in rows if r[0] == str(step)] if step == 1 else rows[6:]
        shown = []
        for _, name, lo, hi in mine[:5]:
            k = int(name.split()[0])
            assert name == f"{k} {vocab[k]!r}"
            assert lo <= Decimal(float(tr.y.lo[step - 1, k])) and Decimal(float(tr.y.hi[step - 1, k])) <= hi
            shown.append(k)
        rest = [k for k in range(30) if k not in shown]
        assert mine[5][1] == "(25 others)"
        assert mine[5][2] <= Decimal(float(tr.y.lo[step - 1, rest].min())) and Decimal(float(tr.y.hi[step - 1, rest].max())) <= mine[5][3]
        assert max(tr.y.hi[step - 1, rest]) <= min(tr.y.hi[step - 1, shown])  # the top 5 by upper bound


def test_classifier_y_all_classes_when_few(capsys, tmp_path):
    w = _big_vocab_model(tmp_path, n_y=4)
    rc, out, err = run(capsys, "bounds", str(tmp_path / "m.npz"), "--steps", "2", "--input", "box:-1:1", "--signals", "y", "--method", "symbolic")
    assert rc == 0, err
    rows = _class_block(out)
    assert "per class (all 4)" in out and [r[1] for r in rows] == ["0", "1", "2", "3"] * 2
    tr = ls.propagate(w, ls.Box(-np.ones(2), np.ones(2)), steps=2, method="symbolic")
    for i, (_, name, lo, hi) in enumerate(rows):
        t, k = divmod(i, 4)
        assert lo <= Decimal(float(tr.y.lo[t, k])) and Decimal(float(tr.y.hi[t, k])) <= hi
    rc, md, _ = run(capsys, "bounds", str(tmp_path / "m.npz"), "--steps", "2", "--input", "box:-1:1", "--signals", "y", "--format", "markdown", "--method", "symbolic")
    assert rc == 0 and "| t | class | symbolic |" in md and md.count("\n| 1 |") == 1 and md.count("\n|  | ") == 6


def test_bounds_batch_first_center(capsys, demo_w, tmp_path):
    center = np.eye(demo_w.n_x)[np.stack([demo_model.encode("four"), demo_model.encode("scor")])]  # (B, T, n_x) = (2, 4, 30)
    np.save(tmp_path / "bt.npy", center)
    np.save(tmp_path / "tb.npy", center.transpose(1, 0, 2))
    args = ["--method", "interval", "--format", "json", "--signals", "a"]
    rc1, out1, _ = run(capsys, "bounds", "demo", "--input", f"linf:0.01:{tmp_path / 'bt.npy'}", "--batch-first", *args)
    rc2, out2, _ = run(capsys, "bounds", "demo", "--input", f"linf:0.01:{tmp_path / 'tb.npy'}", *args)
    assert rc1 == rc2 == 0
    assert json.loads(out1)["signals"] == json.loads(out2)["signals"] and json.loads(out1)["steps"] == 4
    np.save(tmp_path / "lo.npy", center - 0.5)
    rc3, out3, _ = run(capsys, "bounds", "demo", "--input", f"box:{tmp_path / 'lo.npy'}:{tmp_path / 'bt.npy'}", "--batch-first", *args)
    assert rc3 == 0 and np.shape(json.loads(out3)["signals"]["a"]["lo"]) == (4, 2, 16)
    # read time first by mistake: the steps mismatch says which layout was assumed
    rc, _, err = run(capsys, "bounds", "demo", "--steps", "4", "--input", f"linf:0.01:{tmp_path / 'bt.npy'}", *args)
    assert_one_line_error(rc, err, "--steps", "time first; pass --batch-first")


# --- new bad-input paths: one line, status 2 -----------------------------------------------------


@pytest.fixture
def bad_arrays(tmp_path):
    np.save(tmp_path / "complex.npy", np.zeros((3, 30)) + 1j)
    np.save(tmp_path / "bool.npy", np.zeros((3, 30), dtype=bool))
    np.save(tmp_path / "bigint.npy", np.full((3, 30), 2**53 + 1))
    np.save(tmp_path / "nan.npy", np.full((3, 30), np.nan))
    np.save(tmp_path / "bt.npy", np.zeros((2, 5, 30)))  # (B, T, n_x)
    np.save(tmp_path / "Y5.npy", np.zeros(5, dtype=np.int64))
    np.save(tmp_path / "Y2.npy", np.zeros(2, dtype=np.int64))
    np.save(tmp_path / "four_d.npy", np.zeros((1, 2, 3, 30)))
    return tmp_path


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["bounds", "demo", "--steps", "2", "--input", "onehot", "--digits", "51"], ["--digits", "0 to 50"]),
        (["bounds", "demo", "--steps", "2", "--input", "onehot", "--digits", "-1"], ["--digits"]),
        (["bounds", "demo", "--steps", "2", "--input", "onehot", "--digits", "x"], ["--digits"]),
        (["bounds", "demo", "--steps", str(10**20), "--input", "onehot"], ["--steps", "at most"]),
        (["bounds", "demo", "--steps", "10000001", "--input", "onehot"], ["--steps", "at most 10,000,000"]),
        (["demo", "--samples", str(10**20), "--no-plot"], ["--samples", "at most"]),
        (["demo", "--steps", str(10**20), "--no-plot"], ["--steps", "at most"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/complex.npy"], ["--input", "complex"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/bool.npy"], ["--input", "booleans"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/bigint.npy"], ["--input", "exactly representable"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/nan.npy"], ["--input", "finite"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/four_d.npy"], ["--input", "time first; pass batch_first=True"]),
        (["bounds", "demo", "--input", "box:{d}/complex.npy:{d}/complex.npy"], ["--input", "complex"]),
        (["bounds", "demo", "--input", "linf:0.1:{d}/bt.npy", "--batch-first", "--steps", "2"], ["--steps", "as --batch-first says"]),
        (["certify", "demo", "--inputs", "{d}/complex.npy", "--labels", "predicted", "--eps", "0.1"], ["--inputs"]),
        (["certify", "demo", "--inputs", "{d}/bt.npy", "--labels", "{d}/Y2.npy", "--eps", "0.1"],  # (B, T) read as (T, B)
         ["--labels", "one label per sample (5: the batch axis of --inputs, time first; pass --batch-first"]),
        (["certify", "demo", "--inputs", "{d}/bt.npy", "--batch-first", "--labels", "{d}/Y5.npy", "--eps", "0.1"],
         ["--labels", "one label per sample (2: the batch axis of --inputs, batch first, as --batch-first says"]),
        (["certify", "demo", "--inputs", "{d}/four_d.npy", "--labels", "predicted", "--eps", "0.1"], ["--inputs", "time first"]),
        (["certify", "demo", "--inputs", "{d}/four_d.npy", "--labels", "predicted", "--eps", "0.1", "--batch-first"],
         ["--inputs", "(B, T, 30)", "batch first"]),
    ],
)
def test_new_bad_input_paths_are_one_line_exit_2(capsys, bad_arrays, argv, fragments):
    rc, out, err = run(capsys, *[a.format(d=bad_arrays) for a in argv])
    assert_one_line_error(rc, err, *fragments)
    assert out == ""


def test_certify_batch_first_float_inputs(capsys, bad_arrays):
    rc, out, err = run(capsys, "certify", "demo", "--inputs", str(bad_arrays / "bt.npy"), "--batch-first", "--labels",
                       str(bad_arrays / "Y2.npy"), "--eps", "0", "--method", "interval")
    assert rc == 0, err
    assert "2 sample(s) of T = 5 steps" in out
