"""How much of a reported number is selection: the validation-test offset, the optimism of a maximum, and
what selecting on test adds.

"Best validation minus the selected trial's test accuracy" mixes two things: validation and test rows can
differ in difficulty (an offset every configuration shows, selected or not), and picking the maximum of many
noisy validation scores favours lucky ones (the optimism of selection). The offset is measured on the trials
a study did NOT select; what is left is the optimism.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .records import select_trial


def selection_split(records: pd.DataFrame) -> pd.DataFrame:
    """One row per study: ``offset`` (mean validation minus test accuracy of its completed, unselected
    trials), ``optimism`` (best validation minus the selected trial's test accuracy, net of the offset) and
    ``test_selection_gain`` (what reporting the best test accuracy, the original's protocol, adds)."""
    rows = []
    for name, trials in records.groupby("study", sort=True):
        complete = trials[trials["state"] == "COMPLETE"]
        chosen = select_trial(trials)
        if chosen is None:
            continue
        others = complete[complete["number"] != chosen["number"]]
        offset = float((others["value"] - others["test_age_accuracy"]).mean()) if len(others) else np.nan
        raw = float(chosen["value"] - chosen["test_age_accuracy"])
        rows.append({
            "study": name, "sampler": trials["sampler"].iloc[0], "pruner": trials["pruner"].iloc[0],
            "seed": int(trials["seed"].iloc[0]), "n_unselected": len(others),
            "best_valid_minus_selected_test": raw, "offset": offset, "optimism": raw - offset,
            "test_selection_gain": float(complete["test_age_accuracy"].max() - chosen["test_age_accuracy"]),
        })
    return pd.DataFrame(rows)
