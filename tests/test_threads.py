"""BLAS thread control (lstm_symbolic._threads): one thread for small products, the user's setting
back afterwards, nothing at all without threadpoolctl."""

from __future__ import annotations

import threading

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


def test_small_products_run_on_one_thread_and_the_setting_comes_back(two_threads) -> None:
    with _threads.blas_limit(_threads.SMALL_PRODUCT - 1):
        assert set(blas_threads()) == {1}
        with _threads.blas_limit(10):  # reentrant
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}
    assert blas_threads() == two_threads
    with _threads.blas_limit(_threads.SMALL_PRODUCT):  # large: the BLAS's own setting
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


def test_propagate_limits_small_runs_only(two_threads, monkeypatch: pytest.MonkeyPatch) -> None:
    """propagate enters the limit for the interval method's small products, not for large work;
    the bounds are sound either way (thread counts never change the rounding mode)."""
    from lstm_symbolic.testing import assert_sound

    seen = []
    real = _threads.blas_limit

    def spy(work: int):
        seen.append(work)
        return real(work)

    monkeypatch.setattr(_threads, "blas_limit", spy)
    rng = np.random.default_rng(0)
    W = {f"W_{g}": rng.normal(size=(3, 5)) for g in "fuco"}
    b = {f"b_{g}": rng.normal(size=3) for g in "fuco"}
    w = ls.LSTMWeights(**W, **b)
    ball = ls.LinfBall(rng.normal(size=(4, 2)), 0.1)
    trace = ls.propagate(w, ball, method="interval")
    assert seen == [4 * 3 * 5]  # one entry: 4 n_a × (n_x + n_a) multiply-adds
    assert_sound(w, ball, trace, samples=20)
    assert _threads.product_work(w.to_model(), 512, "symbolic") > _threads.SMALL_PRODUCT
