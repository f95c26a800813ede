"""The sigmoid relaxation (`lstm_symbolic/relaxations/sigmoid.py`) against the exact function."""

from __future__ import annotations

import pytest

from lstm_symbolic.relaxations import SIGMOID

import _template as T


@pytest.mark.parametrize("check", [T.run_parallelogram, T.run_default_lines, T.run_any_slopes, T.run_touch_point, T.run_checker_catches])
def test_sigmoid(check, rng) -> None:
    check(SIGMOID, "sigmoid", rng)
