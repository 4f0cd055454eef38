"""Best-so-far curves (tutorial_utils.curves): hand-computed answers for minimising, maximising and gaps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutorial_utils.curves import best_so_far, check_direction


def test_best_so_far_minimising_and_maximising_known_answers():
    values = [3.0, 1.0, 2.0, 0.5, 4.0, 0.5]
    np.testing.assert_array_equal(best_so_far(values), [3.0, 1.0, 1.0, 0.5, 0.5, 0.5])  # minimize by default
    np.testing.assert_array_equal(best_so_far(np.array(values), "maximize"), [3.0, 3.0, 3.0, 3.0, 4.0, 4.0])
    np.testing.assert_array_equal(best_so_far([-1.0, -3.0, -2.0], "minimize"), [-1.0, -3.0, -3.0])


def test_best_so_far_skips_trials_without_a_value():
    out = best_so_far([np.nan, 5.0, np.nan, 7.0, 4.0], "minimize")
    assert math.isnan(out[0])  # no value yet
    np.testing.assert_array_equal(out[1:], [5.0, 5.0, 5.0, 4.0])  # a pruned trial keeps the previous best
    np.testing.assert_array_equal(best_so_far([1.0, np.nan, 3.0], "maximize"), [1.0, 1.0, 3.0])
    assert np.isnan(best_so_far([np.nan, np.nan], "maximize")).all()
    empty = best_so_far([], "minimize")
    assert empty.shape == (0,) and empty.dtype == float


def test_bad_directions_and_shapes_are_clear_errors():
    check_direction("minimize")
    check_direction("maximize")
    for bad in ("min", "Maximize", "", None):
        with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize'"):
            check_direction(bad)
    with pytest.raises(ValueError, match="direction"):
        best_so_far([1.0], "min")
    with pytest.raises(ValueError, match="1-D"):
        best_so_far(np.zeros((2, 2)))
