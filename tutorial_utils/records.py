"""Per-trial records of the face-network studies: compact CSV files that a notebook loads in a second.

A study's SQLite file is large and git-ignored; its record is one CSV row per trial (params, state, the
validation curve, the sampler's phase, timings, and the test accuracy of completed trials), with the
study's settings repeated on every row, so one file is self-contained and a folder of them is one table.
Learners see the real runs without the face data and without retraining.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from . import curves
from .data import COURSE_HOME_ENV, repo_root
from .machine import machine_label
from .results import STATES, ResultsFormatError, trials_frame

# The committed records, found as data/ is (data.repo_root: $HPO_COURSE_HOME, the checkout holding this
# package, or for a wheel install the working directory or its parent).
SHOWDOWN_RECORDS = repo_root() / "results" / "showdown"
STUDY_COLUMNS = (
    "study", "sampler", "pruner", "seed", "n_trials_budget", "n_epochs", "batch_size", "image_side", "data_source",
    "split", "paired_startup", "space", "study_cpu_time_s", "study_wall_time_s", "machine",
)
# Columns added after records were first committed, and the value every older record had.
LATER_COLUMNS = {"space": "original"}
TRIAL_COLUMNS = (
    "number", "state", "value", "test_age_accuracy", "sampler_phase", "model_trials", "epochs_trained",
    "cpu_time_s", "seconds", "datetime_start", "params", "valid_curve",
)
COLUMNS = STUDY_COLUMNS + TRIAL_COLUMNS


def _curve_text(trial: optuna.trial.FrozenTrial) -> str:
    steps = sorted(trial.intermediate_values)
    return " ".join(f"{trial.intermediate_values[s]:.3f}" for s in steps)


def _attr(frame: pd.DataFrame, name: str) -> pd.Series:
    """A user attr's column of ``results.trials_frame`` (missing when no trial has it: all empty)."""
    return frame.get(f"user_attrs_{name}", pd.Series(None, index=frame.index, dtype=object))


def trial_records(study: optuna.Study) -> pd.DataFrame:
    """One row per trial of ``study`` (all states), with the study's settings on every row.

    Built on :func:`tutorial_utils.results.trials_frame`, the exporter's one row per trial, keeping the
    columns a comparison needs and adding the validation curve and the params as JSON text (one column).
    """
    attrs = study.user_attrs
    machine = attrs.get("machine", {})
    settings = {
        "study": study.study_name,
        "sampler": attrs.get("sampler"),
        "pruner": attrs.get("pruner"),
        "seed": attrs.get("seed"),
        "n_trials_budget": attrs.get("n_trials_budget"),
        "n_epochs": attrs.get("n_epochs"),
        "batch_size": attrs.get("batch_size"),
        "image_side": attrs.get("image_side"),
        "data_source": attrs.get("data_source"),
        "split": attrs.get("split"),
        "paired_startup": attrs.get("paired_startup"),
        "space": attrs.get("space", "original"),
        "study_cpu_time_s": attrs.get("cpu_time_s"),
        "study_wall_time_s": attrs.get("wall_time_s"),
        "machine": machine_label(machine) if machine else "",
    }
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    if not trials:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = trials_frame(study).set_index("number").loc[[t.number for t in trials]].reset_index()
    rows = pd.DataFrame({
        "number": frame["number"],
        "state": frame["state"],
        "value": frame["value"].where(frame["state"] == "COMPLETE"),
        "test_age_accuracy": _attr(frame, "test_age_accuracy"),
        "sampler_phase": _attr(frame, "sampler_phase"),
        "model_trials": _attr(frame, "model_trials"),
        "epochs_trained": _attr(frame, "epochs_trained").fillna(
            pd.Series([len(t.intermediate_values) for t in trials], index=frame.index)
        ),
        "cpu_time_s": _attr(frame, "cpu_time_s"),
        "seconds": frame["duration_s"],
        "datetime_start": frame["datetime_start"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "params": [json.dumps(t.params, sort_keys=True) for t in trials],
        "valid_curve": [_curve_text(t) for t in trials],
    })
    return rows.assign(**settings)[list(COLUMNS)]


def write_records(study: optuna.Study, folder: str | os.PathLike = SHOWDOWN_RECORDS) -> Path:
    """Write ``<folder>/<study name>.csv`` (replacing an older one) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{study.study_name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    trial_records(study).to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)
    return path


def read_records(path: str | os.PathLike) -> pd.DataFrame:
    """Read one records file, checking its columns and states; errors name the file, row and column."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"valid_curve": str, "params": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ResultsFormatError(f"{path}: not a records CSV ({exc}); regenerate it with write_records") from None
    for column, value in LATER_COLUMNS.items():
        if column not in frame.columns:
            frame.insert(min(list(COLUMNS).index(column), len(frame.columns)), column, value)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ResultsFormatError(f"{path}: missing column(s) {missing}; expected the columns of write_records")
    bad = ~frame["state"].isin(STATES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ResultsFormatError(
            f"{path}, row {row + 2}, column 'state': {frame['state'].iloc[row]!r} is not one of {', '.join(STATES)}"
        )
    for column in ("value", "test_age_accuracy", "cpu_time_s"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        wrong = numbers.isna() & frame[column].notna()
        if wrong.any():
            row = int(np.flatnonzero(wrong.to_numpy())[0])
            raise ResultsFormatError(
                f"{path}, row {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not a number"
            )
        frame[column] = numbers
    frame["valid_curve"] = frame["valid_curve"].fillna("")
    return frame


def load_records(folder: str | os.PathLike = SHOWDOWN_RECORDS) -> pd.DataFrame:
    """Every ``*.csv`` records file of ``folder`` as one table (one row per trial)."""
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        hint = ""
        if Path(folder) == SHOWDOWN_RECORDS:
            hint = (
                f"; the committed records live in results/showdown/ of a course checkout: run from the checkout "
                f"(or its notebooks/), or set {COURSE_HOME_ENV} to the checkout's folder"
            )
        raise FileNotFoundError(f"no records (*.csv) in {Path(folder).resolve()}{hint}")
    return pd.concat([read_records(f) for f in files], ignore_index=True)


def curve(row: pd.Series) -> np.ndarray:
    """A trial's validation age accuracy (percent) after each epoch it trained."""
    text = row["valid_curve"]
    return np.array(text.split(), dtype=float) if isinstance(text, str) and text else np.array([])


def counted(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials of ONE study that count toward its budget (completed and pruned), in trial order."""
    return trials[trials["state"].isin(["COMPLETE", "PRUNED"])].sort_values("number")


def trial_values(trials: pd.DataFrame) -> np.ndarray:
    """Per counted trial of ONE study: its validation value if completed, NaN if pruned (paid, no value)."""
    spent = counted(trials)
    return spent["value"].where(spent["state"] == "COMPLETE").to_numpy(dtype=float)


def by_study(records: pd.DataFrame, sampler: str, pruner: str = "median") -> list[pd.DataFrame]:
    """The trials of every study of one arm, one frame per study, in seed order."""
    arm = records[(records["sampler"] == sampler) & (records["pruner"] == pruner)]
    return [trials for _, trials in sorted(arm.groupby("seed"), key=lambda item: item[0])]


def best_so_far(trials: pd.DataFrame) -> np.ndarray:
    """Best validation value after each counted trial (completed or pruned) of ONE study, in trial order.

    Pruned trials count as trials paid for and keep the previous best; NaN until the first completed trial.
    """
    return curves.best_so_far(trial_values(trials), "maximize")


def select_trial(trials: pd.DataFrame) -> pd.Series | None:
    """The trial a study selects: the completed trial with the best VALIDATION value (earliest on ties)."""
    complete = trials[trials["state"] == "COMPLETE"].sort_values("number")
    if complete.empty:
        return None
    return complete.loc[complete["value"].idxmax()]


def reached_budget(trials: pd.DataFrame) -> bool:
    """Whether one study's trials count (completed or pruned) as many as its budget: a finished study."""
    return len(counted(trials)) >= int(trials["n_trials_budget"].iloc[0])


def summarize(records: pd.DataFrame) -> pd.DataFrame:
    """One row per study: the selected trial's validation and test accuracy, what selecting on test would
    have reported instead (the original's protocol), trial counts, and times."""
    rows: list[dict[str, Any]] = []
    for name, trials in records.groupby("study", sort=True):
        first = trials.iloc[0]
        chosen = select_trial(trials)
        spent = trials["state"].isin(["COMPLETE", "PRUNED"])
        complete = trials[trials["state"] == "COMPLETE"]
        rows.append(
            {
                "study": name,
                "sampler": first["sampler"],
                "pruner": first["pruner"],
                "seed": int(first["seed"]),
                "reached_budget": reached_budget(trials),
                "n_trials": int(spent.sum()),
                "completed": len(complete),
                "pruned": int((trials["state"] == "PRUNED").sum()),
                "failed": int((trials["state"] == "FAIL").sum()),
                "best_valid": float(chosen["value"]) if chosen is not None else np.nan,
                "selected_trial": int(chosen["number"]) if chosen is not None else None,
                "selected_test": float(chosen["test_age_accuracy"]) if chosen is not None else np.nan,
                "best_test_if_selected_on_test": float(complete["test_age_accuracy"].max()) if len(complete) else np.nan,
                "epochs_trained": int(trials["epochs_trained"].sum()),
                "cpu_time_s": float(first["study_cpu_time_s"]) if pd.notna(first["study_cpu_time_s"]) else np.nan,
                "wall_time_s": float(first["study_wall_time_s"]) if pd.notna(first["study_wall_time_s"]) else np.nan,
                "machine": first["machine"],
            }
        )
    return pd.DataFrame(rows)
