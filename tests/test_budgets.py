"""Cutting studies at an epoch budget: which trials a study had finished, and what it selects then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tutorial_utils import budgets


def _study(sampler: str, seed: int, rows: list[tuple[str, float | None, float | None, int]]) -> pd.DataFrame:
    """rows: (state, validation value, test accuracy, epochs trained), numbered in order."""
    return pd.DataFrame([
        {"study": f"{sampler}-seed{seed}", "sampler": sampler, "pruner": "median", "seed": seed, "number": i,
         "state": state, "value": value, "test_age_accuracy": test, "epochs_trained": epochs}
        for i, (state, value, test, epochs) in enumerate(rows)
    ])


# Random trained 10 + 1 + 10 = 21 epochs; the other arm spends them on two long trials and a pruned one.
RANDOM = _study("random", 0, [("COMPLETE", 60.0, 59.0, 10), ("PRUNED", None, None, 1), ("COMPLETE", 62.0, 61.5, 10)])
TPE = _study("tpe", 0, [("COMPLETE", 61.0, 60.0, 10), ("PRUNED", None, None, 2), ("FAIL", None, None, 3),
                        ("COMPLETE", 70.0, 64.0, 10), ("COMPLETE", 71.0, 66.0, 10)])


def test_a_study_cut_at_an_epoch_budget_keeps_the_trials_finished_by_then():
    assert list(budgets.cumulative_epochs(TPE)) == [10, 12, 22, 32]  # the FAIL trial does not count
    assert list(budgets.within_epochs(TPE, 21)["number"]) == [0, 1]  # trial 3 was still training at epoch 21
    assert list(budgets.within_epochs(TPE, 22)["number"]) == [0, 1, 3]


def test_best_so_far_against_epochs():
    epochs, best = budgets.best_so_far_by_epochs(_study("x", 0, [("PRUNED", None, None, 1), *[
        ("COMPLETE", 61.0, 60.0, 10), ("COMPLETE", 60.0, 60.0, 10)]]))
    assert list(epochs) == [1, 11, 21]
    np.testing.assert_array_equal(best, [np.nan, 61.0, 61.0])


def test_at_reference_epochs_selects_within_the_paired_random_budget():
    table = budgets.at_reference_epochs(pd.concat([RANDOM, TPE])).set_index("sampler")
    assert table.loc["random", "epoch_budget"] == table.loc["tpe", "epoch_budget"] == 21
    assert table.loc["random", "selected_test"] == pytest.approx(61.5)  # all of Random: it set the budget
    # Per trial TPE would select trial 4 (test 66.0); within 21 epochs it had only trials 0 and 1.
    assert table.loc["tpe", "selected_test"] == pytest.approx(60.0)
    assert (table.loc["tpe", "n_trials"], table.loc["tpe", "epochs_trained"]) == (2, 12)


def test_a_seed_without_its_reference_study_is_left_out():
    assert budgets.at_reference_epochs(TPE).empty
