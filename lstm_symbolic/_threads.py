"""BLAS threads while a run goes on: as many as there are idle CPUs (optional: threadpoolctl).

numpy's BLAS (OpenBLAS here) splits every product over all its threads, one per CPU. On an
idle machine that pays off at every size the methods use: measured on the 2-core development
machine (issue 14), two threads against one were 2.1x faster on ``(2, 321) @ (321, 1024)``,
1.8x on ``(64, 321) @ (321, 1024)`` and 2.0x on the symbolic method's ``256×46 @ 46×64``. When
another process keeps a CPU busy it costs far more than it saves — a BLAS thread that waits
for a CPU stalls the whole product: with one busy process beside it the interval method at
batch 8 took 137 ms on two BLAS threads and 55 ms on one (the float64 forward pass: 27 ms),
and ``256×46 @ 46×64`` 4 ms against 0.5 ms. So a run takes its thread count from the CPUs
that are idle when it starts (:func:`idle_cpus`: the process's CPUs less the threads of other
processes that are running or waiting to run, read from ``/proc`` on Linux) and
:func:`blas_limit` holds every BLAS to that many threads while it goes on. The count is of the
whole kernel the process sees: inside a container that is usually the host's, so a busy host
means fewer BLAS threads even on CPUs reserved for the container (never more than the BLAS's
own setting; elsewhere, with no ``/proc``, the BLAS keeps its setting).

**Reproducible bits.** Soundness never depends on the thread count, but the last bits of a
bound may: OpenBLAS sums a product in another order on two threads than on one (measured on the
benchmark model: bit-identical bounds at batch 1, not at 2, 8 or 64), and a large interval batch
is split over as many worker threads as there are idle CPUs. So by default the last bits may
follow the machine's load. The environment variable :data:`ENV` (``LSTM_SYMBOLIC_BLAS_THREADS``)
fixes the count instead — every run then uses that many BLAS threads (never more than the BLAS's
own setting) and that many workers at most, whatever the load: the same bits run after run.

threadpoolctl (3.8 or later) is optional (``pip install lstm_symbolic[threads]``): without it nothing changes.
Its limits are process-wide, so while a limited run is going on other threads of the process
get fewer BLAS threads too; from version 3.8 on, threadpoolctl lets one controlling thread (the
first to set a limit) change a process-wide pool and makes the others' limits no-ops, so
concurrent runs cannot leave a wrong setting behind (older versions count as absent). Thread counts never affect soundness: the
library never changes the rounding mode (BLAS threads would not inherit it) and its bounds hold
for any summation order.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Iterator

from .errors import InputError

__all__ = ["ENV", "IDLE_FRESH", "blas_limit", "can_limit", "cpus", "idle_cpus", "pinned", "run_threads", "runnable_elsewhere"]

_state: dict[str, Any] = {"controller": None}


def _controller() -> Any:
    """A cached threadpoolctl controller, or False when threadpoolctl (3.8 or later) is not
    installed."""
    c = _state["controller"]
    if c is None:
        try:
            import threadpoolctl
        except ImportError:
            c = False
        else:
            c = threadpoolctl.ThreadpoolController() if _recent(threadpoolctl.__version__) else False
        _state["controller"] = c
    return c


def can_limit() -> bool:
    """Whether :func:`blas_limit` can hold the BLAS to fewer threads (threadpoolctl 3.8 or later)."""
    return _controller() is not False


def _recent(version: str) -> bool:
    """threadpoolctl >= 3.8: limits of a process-wide pool are changed by one controlling
    thread only (the others' are no-ops), so concurrent runs cannot leave a wrong setting."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (3, 8)


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def runnable_elsewhere() -> int | None:
    """Threads of other processes running or waiting for a CPU right now, or None when the
    system does not say (no Linux ``/proc``): the kernel's count of runnable threads (the
    fourth field of ``/proc/loadavg``, an instant count, not an average) less this process's
    threads in state R (``/proc/self/task/*/stat``) — its own BLAS or OpenMP threads that are
    still spinning after a product do not count as load."""
    try:
        with open("/proc/loadavg") as f:
            runnable = int(f.read().split()[3].split("/")[0])
        if runnable <= 1:  # the reading thread alone
            return 0
        own = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:  # the thread ended meanwhile
                continue
            state = stat.rindex(")") + 2  # the field after the name, which may hold spaces or ")"
            own += stat[state : state + 1] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(runnable - max(own, 1), 0)  # the reading thread itself is running


#: Seconds for which :func:`idle_cpus` answers from its last look (runs that follow each other
#: closely — a certificate's many small runs — do not read ``/proc`` each time).
IDLE_FRESH = 0.05


def idle_cpus() -> int:
    """CPUs free for this process now: :func:`cpus` less :func:`runnable_elsewhere`, at least
    1 (all of them when the system does not say); a look at most :data:`IDLE_FRESH` s old."""
    now = time.monotonic()
    seen = _state.get("idle")
    if seen is not None and now - seen[0] < IDLE_FRESH:
        return seen[1]
    n = cpus()
    busy = runnable_elsewhere()
    idle = n if busy is None else max(1, n - busy)
    _state["idle"] = (now, idle)
    return idle


#: The environment variable that fixes the BLAS threads of every run (a positive integer).
ENV = "LSTM_SYMBOLIC_BLAS_THREADS"


def pinned() -> int | None:
    """The thread count fixed by :data:`ENV`, or None when it is not set (or empty); anything
    but a positive integer raises :class:`~lstm_symbolic.errors.InputError`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(ENV, "a positive integer (BLAS threads for every run), or unset", got=value)
    return n


def run_threads() -> tuple[int, int | None]:
    """What a run may use: ``(cpus for worker threads, BLAS threads for a single-threaded run or
    None for the BLAS's own setting)`` — from :data:`ENV` when it is set, else from
    :func:`idle_cpus` (None when every CPU is idle)."""
    fixed = pinned()
    if fixed is not None:
        return fixed, fixed
    idle = idle_cpus()
    return idle, (idle if idle < cpus() else None)


@contextlib.contextmanager
def blas_limit(threads: int | None) -> Iterator[None]:
    """At most ``threads`` BLAS threads while the body runs (None: the BLAS's own setting; a
    setting already below ``threads`` stays), when threadpoolctl is installed; otherwise
    nothing. Nests; the previous setting comes back on exit."""
    controller = _controller() if threads is not None else False
    if controller is not False:
        blas = controller.select(user_api="blas")
        now = [lib.num_threads for lib in blas.lib_controllers]
        if now and max(now) > threads:  # never more threads than the user's setting
            with blas.limit(limits=max(1, int(threads))):
                yield
            return
    yield
