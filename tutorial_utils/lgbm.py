"""LightGBM notebook helpers that are not about Optuna: fixed CV folds, reading ``lgb.cv``'s result, scoring.

The search space itself stays in the notebook, as plain ``trial.suggest_*`` calls in the objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


def per_sample_log_loss(y_true: np.ndarray, proba: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    """Each sample's log loss, -log p(true class); their mean is scikit-learn's ``log_loss``.

    Kept per sample so two models can be compared on the same test rows (paired bootstrap).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise ValueError(f"proba must be (n_samples, n_classes) with n_samples={len(y_true)}, got {proba.shape}")
    if y_true.min() < 0 or y_true.max() >= proba.shape[1]:
        raise ValueError(f"labels must be in 0..{proba.shape[1] - 1}, got {y_true.min()}..{y_true.max()}")
    picked = proba[np.arange(len(y_true)), y_true.astype(int)]
    return -np.log(np.clip(picked, eps, 1.0))


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (a - b) over the same samples, with a bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    level: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> PairedDifference:
    """Bootstrap CI of mean(a - b), resampling test rows; tells a real gain from test-set luck.

    Pairing matters: both models saw the same rows, so resampling rows keeps their shared difficulty.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"a and b must be non-empty 1-D arrays of equal length, got {a.shape} and {b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    diff = a - b
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return PairedDifference(float(diff.mean()), float(low), float(high), level)
