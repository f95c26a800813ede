"""Exceptions. Every bad-input error is a ``ValueError`` subclass that names the argument."""

from __future__ import annotations

__all__ = ["InputError", "ShapeError", "NotAModelError", "UncertainComparisonError"]


class InputError(ValueError):
    """Bad input: names the argument and says what was expected.

    >>> raise InputError("eps", "a non-negative float", got=-1.0)
    Traceback (most recent call last):
    ...
    lstm_symbolic.errors.InputError: eps: expected a non-negative float, got -1.0
    """

    def __init__(self, argument: str, expected: str, got: object = None, detail: str = "") -> None:
        self.argument = argument
        self.expected = expected
        self.got = got
        msg = f"{argument}: expected {expected}"
        if got is not None:
            msg += f", got {got!r}" if not isinstance(got, str) else f", got {got}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class ShapeError(InputError):
    """An array has the wrong shape."""


class NotAModelError(InputError):
    """A file or mapping is not an LSTM model this library can read."""


class UncertainComparisonError(ValueError):
    """A comparison of intervals whose answer is not certain (mpmath's habit: no guess)."""
