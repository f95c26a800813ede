"""BLAS threads for small matrix products (optional: threadpoolctl).

numpy's BLAS (OpenBLAS here) splits a product over its threads whatever its size. For the small
products of an unrolled step that costs more than it saves, and on a loaded machine far more:
measured on the 2-core development machine with another process busy (benchmarks/propagate.py),
``(8, 321) @ (321, 1024)`` in float64 + float32 took 0.27 ms on one thread and 1.2 ms on two,
and ``256×46 @ 46×64`` 0.5 ms against 4 ms (issue 14). :func:`blas_limit` limits every BLAS to
one thread while a run whose products are small is going on; larger products keep the BLAS's
own setting (on an idle machine its threads pay off there).

threadpoolctl (3.8 or later) is optional (``pip install lstm_symbolic[threads]``): without it nothing changes.
Its limits are process-wide, so while a limited run is going on other threads of the process
get one BLAS thread too; from version 3.8 on, threadpoolctl lets one controlling thread (the
first to set a limit) change a process-wide pool and makes the others' limits no-ops, so
concurrent runs cannot leave a wrong setting behind (older versions count as absent). Thread counts never affect results: the
library never changes the rounding mode (BLAS threads would not inherit it) and its bounds hold
for any summation order.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["SMALL_PRODUCT", "blas_limit", "can_limit", "product_work"]

#: Multiply-adds of a step's largest product below which BLAS runs on one thread. 2**25 puts the
#: benchmark model's interval products (321 × 1024 per batch entry) on one thread up to ~100 batch
#: entries: measured there (load 2 on 2 cores), two threads were 4.6x slower at 8 entries, 2.3x
#: at 32, even at 64 and slower again above (1.4-3x at 128-512: a loaded machine); on an idle
#: machine they pay off for the large ones, which therefore keep the BLAS's setting.
SMALL_PRODUCT = 2**25

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
    """Whether :func:`blas_limit` can hold the BLAS to one thread (threadpoolctl 3.8 or later)."""
    return _controller() is not False


def _recent(version: str) -> bool:
    """threadpoolctl >= 3.8: limits of a process-wide pool are changed by one controlling
    thread only (the others' are no-ops), so concurrent runs cannot leave a wrong setting."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (3, 8)


def product_work(model: Any, rows: int, method: str, options: dict[str, Any] | None = None) -> int:
    """Multiply-adds of the largest matrix product a step of ``method`` makes on ``rows`` batch
    entries — an estimate: the interval method multiplies the gates' map (``4 n_a × (n_x + n_a)``)
    by ``rows`` boxes; the other methods carry ``max_symbols + 1`` rows per entry (zonotope
    forms, backward passes of a similar size), so their products count as that many times
    larger."""
    size = max(4 * c.n_hidden * (c.n_in + c.n_hidden) for c in model.cells)  # an LSTM's four gates (a GRU has three)
    if method == "interval":
        return rows * size
    from .methods.zonotope import default_symbols

    k = (options or {}).get("max_symbols") or default_symbols(model)
    return rows * size * (k + 1)


@contextlib.contextmanager
def blas_limit(work: int) -> Iterator[None]:
    """One BLAS thread while the body runs, when ``work`` (multiply-adds of the largest product,
    :func:`product_work`) is below :data:`SMALL_PRODUCT` and threadpoolctl is installed;
    otherwise nothing. Nests; the previous setting comes back on exit."""
    controller = _controller() if work < SMALL_PRODUCT else False
    if controller is False:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
