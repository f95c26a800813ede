"""Bounding methods, one module each, behind one registry.

A method is an engine (:mod:`.base`) that implements the cells' algebra on its own values.
:func:`make` builds the engine for a method name; :data:`METHODS` lists the names. Adding a
method is one module plus one line in :data:`_REGISTRY`.

- ``interval`` (:mod:`.interval`): boxes through every operation;
- ``symbolic`` (:mod:`.zonotope` with :mod:`.interval` alongside, :mod:`.product`): affine
  forms over shared noise symbols;
- ``linear`` (:mod:`.linear` with :mod:`.interval` alongside): backward linear bounds (CROWN);
- ``best``: every method in lockstep, sharing bounds node by node (the backward method only
  where its passes are affordable, or when its options are given).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import InputError
from .base import Engine

__all__ = ["METHODS", "make", "Engine"]


def _interval(model: Any, batch: int, mode: str, **options: Any) -> Engine:
    from .interval import IntervalEngine

    _no_options("interval", options)
    return IntervalEngine(model, batch, mode)


def _symbolic(model: Any, batch: int, mode: str, max_symbols: int | None = None, **options: Any) -> Engine:
    from .interval import IntervalEngine
    from .product import ProductEngine
    from .zonotope import ZonotopeEngine

    _no_options("symbolic", options)
    return ProductEngine(
        [ZonotopeEngine(model, batch, mode, max_symbols), IntervalEngine(model, batch, mode)],
        "symbolic",
        independent=[IntervalEngine(model, batch, mode)],
    )


def _best(model: Any, batch: int, mode: str, max_symbols: int | None = None, window: int | None = None,
          optimise: int | None = None, optimise_intermediate: bool = False, **options: Any) -> Engine:
    from .interval import IntervalEngine
    from .linear import LinearEngine
    from .product import ProductEngine
    from .zonotope import ZonotopeEngine

    _no_options("best", options)
    engines: list[Engine] = [IntervalEngine(model, batch, mode), ZonotopeEngine(model, batch, mode, max_symbols)]
    # the backward method joins when its full-horizon passes are affordable (small models), or
    # when asked for through its options; on large models its windowed passes, concretised over
    # boxes, were measured to add nothing to the zonotope at several times its cost
    if LinearEngine._default_window(model) is None or window is not None or optimise is not None:
        engines.append(LinearEngine(model, batch, mode, window, optimise, optimise_intermediate))
    return ProductEngine(engines, "best", independent=[IntervalEngine(model, batch, mode)])


def _linear(model: Any, batch: int, mode: str, window: int | None = None, optimise: int | None = None,
            optimise_intermediate: bool = False, **options: Any) -> Engine:
    from .interval import IntervalEngine
    from .linear import LinearEngine
    from .product import ProductEngine

    _no_options("linear", options)
    return ProductEngine([LinearEngine(model, batch, mode, window, optimise, optimise_intermediate), IntervalEngine(model, batch, mode)], "linear",
                         independent=[IntervalEngine(model, batch, mode)])


#: Method name -> factory ``(model, batch, mode, **options) -> Engine``.
_REGISTRY: dict[str, Callable[..., Engine]] = {
    "interval": _interval,
    "symbolic": _symbolic,
    "linear": _linear,
    "best": _best,
}

#: The method names, in the order of increasing cost.
METHODS = tuple(_REGISTRY)


def _no_options(method: str, options: dict[str, Any]) -> None:
    if options:
        raise InputError(next(iter(options)), f"an option of method {method!r}", got="not one")


def make(method: str, model: Any, batch: int, mode: str = "fast", **options: Any) -> Engine:
    """The engine of ``method`` for ``model`` and a batch of ``batch``, or :class:`InputError`
    naming ``method``."""
    factory = _REGISTRY.get(method) if isinstance(method, str) else None
    if factory is None:
        raise InputError("method", f"one of {METHODS}", got=method)
    return factory(model, batch, mode, **options)
