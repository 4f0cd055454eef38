"""Compute as an axis: a study's records cut at a budget of training epochs, and its best-so-far per epoch.

Samplers that learn from pruned trials complete more trials, so at an equal number of trials they have
trained more epochs: comparing them per trial hands them more compute. Cutting every study at the epochs its
paired reference study (Random, same seed) trained asks the other question a learner has: which sampler is
better for the same compute?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .records import counted, select_trial, trial_values


def cumulative_epochs(trials: pd.DataFrame) -> np.ndarray:
    """Epochs trained by ONE study after each of its counted trials, in trial order."""
    return counted(trials)["epochs_trained"].fillna(0).astype(int).cumsum().to_numpy()


def within_epochs(trials: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """The counted trials of ONE study that it had finished when it had trained ``epochs`` epochs.

    A trial that was still training when the budget ran out is left out: at that point the study had no
    value for it yet.
    """
    spent = counted(trials)
    return spent[cumulative_epochs(trials) <= epochs]


def best_so_far_by_epochs(trials: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, best)``: the best validation value of ONE study after each counted trial, against the epochs
    trained by then (NaN until the first completed trial)."""
    values = trial_values(trials)
    best = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, values))
    return cumulative_epochs(trials), np.where(np.isinf(best), np.nan, best)


def at_reference_epochs(records: pd.DataFrame, reference: str = "random", pruner: str = "median") -> pd.DataFrame:
    """One row per study of ``pruner``: what it selects when cut at the epochs its seed's ``reference`` study
    trained (its selected trial's test and validation accuracy, and the trials and epochs it had by then)."""
    studies = records[records["pruner"] == pruner]
    budgets = {
        int(seed): int(cumulative_epochs(trials)[-1])
        for seed, trials in studies[studies["sampler"] == reference].groupby("seed")
        if len(counted(trials))
    }
    rows = []
    for (sampler, seed), trials in studies.groupby(["sampler", "seed"], sort=True):
        if int(seed) not in budgets:
            continue
        cut = within_epochs(trials, budgets[int(seed)])
        chosen = select_trial(cut)
        rows.append({
            "sampler": sampler, "seed": int(seed), "epoch_budget": budgets[int(seed)],
            "n_trials": len(cut), "epochs_trained": int(cut["epochs_trained"].fillna(0).sum()),
            "best_valid": float(chosen["value"]) if chosen is not None else np.nan,
            "selected_test": float(chosen["test_age_accuracy"]) if chosen is not None else np.nan,
        })
    return pd.DataFrame(rows)
