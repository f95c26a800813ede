"""BLAS thread control (lstm_symbolic._threads): as many BLAS threads as idle CPUs, the user's
setting back afterwards (and never raised), nothing at all without threadpoolctl."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic import _threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_threads():
    """BLAS at two threads for the test (a one-core machine cannot show a limit)."""
    if not blas_threads():
        pytest.skip("no BLAS library seen by threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield blas_threads()


def test_the_limit_holds_inside_and_the_setting_comes_back(two_threads) -> None:
    with _threads.blas_limit(1):
        assert set(blas_threads()) == {1}
        with _threads.blas_limit(10):  # reentrant, and never above the setting it finds
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}
    assert blas_threads() == two_threads
    with _threads.blas_limit(None):  # None: the BLAS's own setting
        assert blas_threads() == two_threads
    with _threads.blas_limit(8):  # more than the setting: the setting stays
        assert blas_threads() == two_threads


def test_concurrent_runs_leave_the_setting_as_it_was(two_threads) -> None:
    """Runs in two threads entering and leaving in either order: afterwards BLAS has the threads
    it had (threadpoolctl lets one controlling thread change the process-wide pool)."""
    for order in ((True, False), (False, True)):
        inside = threading.Barrier(2)
        first_out = threading.Event()

        def run(leave_first: bool) -> None:
            with _threads.blas_limit(1):
                inside.wait()
                if not leave_first:
                    first_out.wait()
            if leave_first:
                first_out.set()

        threads = [threading.Thread(target=run, args=(flag,)) for flag in order]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert blas_threads() == two_threads
    with _threads.blas_limit(1):  # and the main thread still controls it
        assert set(blas_threads()) == {1}
    assert blas_threads() == two_threads


def test_without_threadpoolctl_nothing_changes(two_threads, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_threads._state, "controller", False)
    with _threads.blas_limit(1):
        assert blas_threads() == two_threads


def test_a_busy_process_counts_as_load() -> None:
    """A process spinning on a CPU is seen as a runnable thread elsewhere (Linux ``/proc``), so
    a run started beside it leaves that CPU to it."""
    if _threads.runnable_elsewhere() is None:
        pytest.skip("no /proc/loadavg: the load is unknown here")
    busy = subprocess.Popen([sys.executable, "-c", "import sys\nsys.stdout.write('go\\n'); sys.stdout.flush()\nwhile True: pass"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout is not None and busy.stdout.readline() == "go\n"
        seen = []
        for _ in range(50):  # the spinning process is runnable whenever it is looked at
            seen.append(_threads.runnable_elsewhere())
            if seen[-1]:
                break
            time.sleep(0.01)
        assert max(seen) >= 1
    finally:
        busy.kill()
        busy.wait()
        busy.stdout.close()


def test_without_proc_the_load_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """No /proc (not Linux, or hidden): the load is unknown and every CPU counts as idle."""
    def no_proc(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(args[0])

    monkeypatch.setattr(_threads, "open", no_proc, raising=False)
    monkeypatch.setattr(_threads, "IDLE_FRESH", 0.0)
    assert _threads.runnable_elsewhere() is None
    assert _threads.idle_cpus() == _threads.cpus()


def test_idle_cpus_is_between_one_and_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "IDLE_FRESH", 0.0)  # a fresh look each time
    assert 1 <= _threads.idle_cpus() <= _threads.cpus()
    monkeypatch.setattr(_threads, "runnable_elsewhere", lambda: 10**6)
    assert _threads.idle_cpus() == 1
    monkeypatch.setattr(_threads, "runnable_elsewhere", lambda: None)  # unknown: every CPU
    assert _threads.idle_cpus() == _threads.cpus()
    monkeypatch.setattr(_threads, "IDLE_FRESH", 60.0)  # within the freshness window: the last look
    monkeypatch.setattr(_threads, "runnable_elsewhere", lambda: 10**6)
    assert _threads.idle_cpus() == _threads.cpus()


@pytest.mark.parametrize("idle", [1, 2])
def test_propagate_gives_the_blas_the_idle_cpus(two_threads, monkeypatch: pytest.MonkeyPatch, idle: int) -> None:
    """propagate limits the BLAS to the idle CPUs only when some are busy; the bounds are sound
    either way (thread counts never change the rounding mode)."""
    import importlib

    from lstm_symbolic.testing import assert_sound

    P = importlib.import_module("lstm_symbolic.propagate")
    seen = []
    real = _threads.blas_limit

    def spy(threads: int | None):
        seen.append((threads, set(blas_threads())))
        return real(threads)

    monkeypatch.setattr(_threads, "cpus", lambda: 2)
    monkeypatch.setattr(_threads, "idle_cpus", lambda: idle)
    monkeypatch.setattr(_threads, "blas_limit", spy)
    rng = np.random.default_rng(0)
    W = {f"W_{g}": rng.normal(size=(3, 5)) for g in "fuco"}
    b = {f"b_{g}": rng.normal(size=3) for g in "fuco"}
    w = ls.LSTMWeights(**W, **b)
    ball = ls.LinfBall(rng.normal(size=(4, 2)), 0.1)
    trace = ls.propagate(w, ball, method="interval")
    assert seen == [(1 if idle == 1 else None, set(two_threads))]
    assert_sound(w, ball, trace, samples=20)
    # a batch split over worker threads: one BLAS thread each, whatever is idle
    seen.clear()
    monkeypatch.setattr(P, "PARALLEL_ROWS", 2)
    big = ls.LinfBall(rng.normal(size=(4, 6, 2)), 0.1)
    trace = ls.propagate(w, big, method="interval")
    assert seen == [(1, set(two_threads))]
    assert_sound(w, big, trace, samples=5)


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_pinned_thread_count_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_threads.ENV, value)
    with pytest.raises(ls.errors.InputError, match=_threads.ENV):
        _threads.pinned()


def test_pinned_threads_ignore_the_load_and_give_the_same_bits(two_threads, monkeypatch: pytest.MonkeyPatch) -> None:
    """With LSTM_SYMBOLIC_BLAS_THREADS set, no look at the load: busy or idle, a run gets the
    pinned count, so two runs give the same bounds bit for bit."""
    import importlib

    P = importlib.import_module("lstm_symbolic.propagate")
    seen = []
    real = _threads.blas_limit

    def spy(threads: int | None):
        seen.append(threads)
        return real(threads)

    def no_look() -> int:
        raise AssertionError("the load was looked at")

    monkeypatch.setattr(_threads, "blas_limit", spy)
    monkeypatch.setattr(_threads, "idle_cpus", no_look)
    monkeypatch.setenv(_threads.ENV, "1")
    assert _threads.run_threads() == (1, 1)
    rng = np.random.default_rng(3)
    W = {f"W_{g}": rng.normal(size=(6, 9)) for g in "fuco"}
    b = {f"b_{g}": rng.normal(size=6) for g in "fuco"}
    w = ls.LSTMWeights(**W, **b)
    ball = ls.LinfBall(rng.normal(size=(5, 8, 3)), 0.1)
    monkeypatch.setattr(P, "PARALLEL_ROWS", 2)  # a batch that would be split over idle CPUs
    first, second = (ls.propagate(w, ball, method="interval") for _ in range(2))
    assert seen == [1, 1]  # one thread, no workers: pinned to one
    for name in ("f", "u", "o", "c_tilde", "c", "a"):
        assert np.array_equal(getattr(first, name).lo, getattr(second, name).lo)
        assert np.array_equal(getattr(first, name).hi, getattr(second, name).hi)
    monkeypatch.setenv(_threads.ENV, "2")
    assert _threads.run_threads() == (2, 2)
