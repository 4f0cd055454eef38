"""The offset/optimism split of a reported maximum, on a hand-made study with a known answer."""

from __future__ import annotations

import pandas as pd
import pytest

from tutorial_utils.selection import selection_split


def test_the_offset_comes_from_unselected_trials_and_the_rest_is_optimism():
    # Validation runs 1 point above test for the ordinary trials; the selected one (value 72) was lucky on
    # validation: 4 points above its test score. Trial 3 has the best test accuracy but is not selected.
    trials = pd.DataFrame({
        "study": "tpe-seed0", "sampler": "tpe", "pruner": "median", "seed": 0,
        "number": [0, 1, 2, 3, 4],
        "state": ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "COMPLETE"],
        "value": [65.0, 72.0, None, 70.0, 66.0],
        "test_age_accuracy": [64.0, 68.0, None, 69.0, 65.0],
    })
    row = selection_split(trials).iloc[0]
    assert row["n_unselected"] == 3
    assert row["best_valid_minus_selected_test"] == pytest.approx(4.0)
    assert row["offset"] == pytest.approx(1.0)
    assert row["optimism"] == pytest.approx(3.0)
    assert row["test_selection_gain"] == pytest.approx(1.0)  # 69 (trial 3) instead of 68
