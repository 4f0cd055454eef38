"""LightGBM notebook helpers that are not about Optuna: fixed CV folds and reading ``lgb.cv``'s result.

The search space itself stays in the notebook, as plain ``trial.suggest_*`` calls in the objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold


def cv_folds(y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold indices as a list, so every study and LightGBMTunerCV can reuse the same folds.

    A list (not a splitter object or generator) is reusable any number of times and stays identical.
    """
    y = np.asarray(y)
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits}")
    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < n_splits:
        smallest = labels[counts.argmin()].item()  # a plain Python value prints without "np.int64(...)"
        raise ValueError(
            f"class {smallest!r} has only {counts.min()} samples, fewer than n_splits={n_splits}; "
            "use fewer folds or merge rare classes"
        )
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def cv_best(cv_result: Mapping[str, Sequence[float]], metric: str) -> tuple[float, int]:
    """Final mean validation score and number of rounds from ``lightgbm.cv``'s result.

    With early stopping, LightGBM truncates the history at the best round, so the last entry is the best.
    """
    key = f"valid {metric}-mean"
    if key not in cv_result:
        raise KeyError(f"lightgbm.cv returned no {key!r}; it has {sorted(cv_result)} (is metric={metric!r} set?)")
    history = cv_result[key]
    return float(history[-1]), len(history)
