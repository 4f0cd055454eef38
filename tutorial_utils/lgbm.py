"""LightGBM tuning helpers: a search space declared once (table + suggest calls), CV folds and scoring.

The LightGBM notebook shows its search space as a table and samples from the very same declaration, so
the table cannot drift away from what the study searches. ``check_study_matches_space`` proves it after
the fact from the distributions Optuna recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.model_selection import StratifiedKFold

KINDS = ("float", "int", "categorical")


@dataclass(frozen=True)
class ParamSpec:
    """One searched hyperparameter: its range, scale, LightGBM default and (optionally) its parent switch.

    ``only_if=("bagging", True)`` makes the parameter conditional: it is sampled only in trials where the
    parameter ``bagging`` took the value ``True``. ``default`` is LightGBM's own default (shown in the table
    and used for the baseline trial); it may lie outside the searched range, e.g. 0 for a log-scaled penalty.
    """

    name: str
    controls: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    default: Any = None
    only_if: tuple[str, Any] | None = None

    def __post_init__(self) -> None:
        where = f"ParamSpec {self.name!r}"
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "categorical":
            if len(self.choices) < 2:
                raise ValueError(f"{where}: a categorical parameter needs at least two choices")
            if self.log or self.low is not None or self.high is not None:
                raise ValueError(f"{where}: a categorical parameter takes choices, not low/high/log")
            if self.default is not None and self.default not in self.choices:
                raise ValueError(f"{where}: default {self.default!r} is not one of the choices {self.choices}")
        else:
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError(f"{where}: needs low < high, got low={self.low}, high={self.high}")
            if self.log and self.low <= 0:
                raise ValueError(f"{where}: a log-scaled range must start above 0, got low={self.low}")
            if self.kind == "int" and (int(self.low) != self.low or int(self.high) != self.high):
                raise ValueError(f"{where}: an int parameter needs integer bounds, got {self.low}..{self.high}")
        if self.only_if is not None and len(self.only_if) != 2:
            raise ValueError(f"{where}: only_if must be a (parent_name, value) pair, got {self.only_if!r}")

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution this spec samples from (what ``trial.distributions`` will record)."""
        if self.kind == "categorical":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def range_text(self) -> str:
        if self.kind == "categorical":
            return " / ".join(str(c) for c in self.choices)
        return f"{self.low:g} – {self.high:g}"


def suggest(trial: optuna.Trial, spec: ParamSpec) -> Any:
    """Ask ``trial`` for the value of ``spec`` with the matching ``suggest_*`` call."""
    if spec.kind == "categorical":
        return trial.suggest_categorical(spec.name, list(spec.choices))
    if spec.kind == "int":
        return trial.suggest_int(spec.name, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(spec.name, float(spec.low), float(spec.high), log=spec.log)


def by_name(specs: Sequence[ParamSpec]) -> dict[str, ParamSpec]:
    """Index specs by name; refuses duplicates and conditions on unknown parents (typos would go unnoticed)."""
    index: dict[str, ParamSpec] = {}
    for spec in specs:
        if spec.name in index:
            raise ValueError(f"the search space declares {spec.name!r} twice")
        index[spec.name] = spec
    for spec in specs:
        if spec.only_if is not None and spec.only_if[0] not in index:
            raise ValueError(f"{spec.name!r} is conditional on {spec.only_if[0]!r}, which is not in the space")
    return index


def space_table(specs: Sequence[ParamSpec]) -> pd.DataFrame:
    """The search space as a table for the notebook: what each parameter controls, range, scale, default."""
    by_name(specs)
    rows = [
        {
            "parameter": s.name,
            "controls": s.controls,
            "range searched": s.range_text(),
            "log scale": "yes" if s.log else "no",
            "LightGBM default": "" if s.default is None else str(s.default),
            "searched when": "always" if s.only_if is None else f"{s.only_if[0]} = {s.only_if[1]}",
        }
        for s in specs
    ]
    return pd.DataFrame(rows).set_index("parameter")


def baseline_trial_params(specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """LightGBM's defaults expressed as a trial of this space, to enqueue as trial 0.

    A default outside the searched range is moved to the nearest bound (e.g. an L1 penalty of 0 becomes
    the log range's 1e-8, which changes nothing in practice). Conditional parameters whose parent default
    switches them off are left out, exactly as the objective would leave them out.
    """
    index = by_name(specs)
    params: dict[str, Any] = {}
    for spec in specs:
        if spec.default is None:
            raise ValueError(f"{spec.name!r} has no default; give every ParamSpec a default to build a baseline")
        if spec.only_if is not None:
            parent, wanted = spec.only_if
            if index[parent].default != wanted:
                continue
        value = spec.default
        if spec.kind != "categorical":
            value = min(max(value, spec.low), spec.high)
            value = int(value) if spec.kind == "int" else float(value)
        params[spec.name] = value
    return params


def check_study_matches_space(study: optuna.Study, specs: Sequence[ParamSpec]) -> None:
    """Raise if any finished trial sampled a parameter outside the declared space (name, range or scale).

    Also checks the conditions: a conditional parameter must appear exactly in the trials whose parent
    took the required value. Trials still running are ignored.
    """
    index = by_name(specs)
    finished = [t for t in study.trials if t.state.is_finished() and t.distributions]
    for trial in finished:
        for name, dist in trial.distributions.items():
            if name not in index:
                raise AssertionError(f"trial {trial.number} sampled {name!r}, which the search space lacks")
            if dist != index[name].distribution():
                raise AssertionError(
                    f"trial {trial.number} sampled {name!r} from {dist}, but the table declares "
                    f"{index[name].distribution()}"
                )
        for spec in specs:
            if spec.only_if is None:
                continue
            parent, wanted = spec.only_if
            if parent not in trial.params:
                continue
            should_exist = trial.params[parent] == wanted
            if should_exist != (spec.name in trial.params):
                state = "missing" if should_exist else "present"
                raise AssertionError(
                    f"trial {trial.number}: {spec.name!r} is {state} although {parent} = {trial.params[parent]!r}"
                )


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
