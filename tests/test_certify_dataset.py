"""certify_dataset: executors (threads, Dask), JSON-lines results that survive kill -9 and resume
without losing or duplicating a sample, the summary table and plot, and the CLI's dataset mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.certification.datasets import read_results


def model(seed: int = 0) -> ls.LSTMWeights:
    rng = np.random.default_rng(seed)
    return ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(4, 6)) * 1.5 for g in "fuco"}, **{f"b_{g}": rng.normal(size=4) for g in "fuco"},
                          W_y=rng.normal(size=(3, 4)) * 2, b_y=rng.normal(size=3))


def data(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    w = model()
    X = np.random.default_rng(seed).normal(size=(n, 5, 2))
    return X, ls.forward(w, X, batch_first=True).y[:, -1].argmax(-1)


EPS = [0.01, 0.2]


def keys(records) -> list:
    return [(r["index"], r["eps"]) for r in records]


def test_in_process_and_thread_executor_agree(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    X, y = data(9)
    a = ls.certify_dataset(model(), X, y, EPS, chunk=4)
    with ThreadPoolExecutor(2) as ex:
        b = ls.certify_dataset(model(), X, y, EPS, executor=ex, chunk=2)
    assert keys(a.records) == keys(b.records) == [(i, e) for e in EPS for i in range(9)]
    assert [r["status"] for r in a.records] == [r["status"] for r in b.records]
    rows = a.rows()
    assert [r["n"] for r in rows] == [9, 9] and all(r["certified"] + r["falsified"] + r["unknown"] == 9 for r in rows)
    assert "certified" in a.table() and len(a.table().splitlines()) == 3
    png = a.plot(tmp_path / "p.png")
    assert Path(png).stat().st_size > 1000
    direct = ls.certify(model(), X.transpose(1, 0, 2), 0.2, y)
    assert [r["status"] for r in a.records if r["eps"] == 0.2] == direct.status.tolist()


def test_dask_distributed_executor(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    X, y = data(6)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        s = ls.certify_dataset(model(), X, y, EPS, executor=client, chunk=2, results=tmp_path / "r.jsonl")
    ref = ls.certify_dataset(model(), X, y, EPS, chunk=6)
    assert keys(s.records) == keys(ref.records)
    assert [r["status"] for r in s.records] == [r["status"] for r in ref.records]
    meta, recs, _ = read_results(tmp_path / "r.jsonl")
    assert meta["n"] == 6 and len(recs) == 12


def test_resume_drops_a_torn_last_line_and_never_duplicates(tmp_path: Path) -> None:
    X, y = data(8)
    path = tmp_path / "r.jsonl"
    full = ls.certify_dataset(model(), X, y, EPS, results=path, chunk=3)
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 1 + 16
    path.write_bytes(b"".join(lines[:7]) + lines[7][: len(lines[7]) // 2])  # 6 records and half of one
    again = ls.certify_dataset(model(), X, y, EPS, results=path, chunk=3)
    assert again.resumed == 6
    assert keys(again.records) == keys(full.records)
    assert [r["status"] for r in again.records] == [r["status"] for r in full.records]
    meta, recs, good = read_results(path)
    assert len(recs) == 16 and good == path.stat().st_size
    assert len(path.read_bytes().splitlines()) == 17  # no duplicate, no torn line left
    with pytest.raises(ls.InputError, match="^results:"):
        ls.certify_dataset(model(), X, y, [0.3], results=path)


_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from test_certify_dataset import model, data, EPS
    import lstm_symbolic as ls
    X, y = data(24)
    ls.certify_dataset(model(), X, y, EPS, results={path!r}, chunk=1, progress=False)
    """
)


def test_killed_run_resumes_without_losing_or_duplicating(tmp_path: Path) -> None:
    """A real subprocess killed with SIGKILL in the middle of the run; the same call resumes."""
    path = tmp_path / "r.jsonl"
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT.format(tests=str(Path(__file__).parent), path=str(path)))
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as err_fh:
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=err_fh)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if path.exists() and path.read_bytes().count(b"\n") >= 4:
                break
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it was killed: {err.read_text()[-2000:]}")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    _, before, _ = read_results(path)
    assert 3 <= len(before) < 48, "killed mid-run"
    X, y = data(24)
    s = ls.certify_dataset(model(), X, y, EPS, results=path, chunk=8, progress=False)
    assert s.resumed == len(before)
    assert sorted(keys(s.records)) == sorted((i, e) for e in EPS for i in range(24))
    _, after, _ = read_results(path)
    raw = [json.loads(line) for line in path.read_bytes().splitlines()[1:]]
    assert len(raw) == len(after) == 48, "every sample exactly once in the file"
    fresh = ls.certify_dataset(model(), X, y, EPS, chunk=24, progress=False)
    assert [r["status"] for r in s.records] == [r["status"] for r in fresh.records]


def test_dataset_bad_input() -> None:
    X, y = data(4)
    with pytest.raises(ls.InputError, match="^labels:"):
        ls.certify_dataset(model(), X, y[:3], 0.1)
    with pytest.raises(ls.InputError, match="^X:"):
        ls.certify_dataset(model(), X[0], y, 0.1)
    with pytest.raises(ls.InputError, match="^eps:"):
        ls.certify_dataset(model(), X, y, [-0.1])


def test_cli_dataset_mode_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lstm_symbolic.cli import main

    w = model()
    w.save(tmp_path / "m.npz")
    X, y = data(5)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", y)
    argv = ["certify", str(tmp_path / "m.npz"), "--inputs", str(tmp_path / "X.npy"), "--batch-first", "--labels", str(tmp_path / "Y.npy"),
            "--eps", "0.01,0.2", "--results", str(tmp_path / "r.jsonl"), "--budget", "0.2"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "(0 resumed)" in first and "certified" in first
    assert main(argv) == 0
    assert "(10 resumed)" in capsys.readouterr().out
