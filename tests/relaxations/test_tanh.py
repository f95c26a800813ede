"""The tanh relaxation (`lstm_symbolic/relaxations/tanh.py`) against the exact function."""

from __future__ import annotations

import pytest

from lstm_symbolic.relaxations import TANH

import _template as T


@pytest.mark.parametrize("check", [T.run_parallelogram, T.run_default_lines, T.run_any_slopes, T.run_touch_point, T.run_checker_catches])
def test_tanh(check, rng) -> None:
    check(TANH, "tanh", rng)
