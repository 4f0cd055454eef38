"""Export a finished study so it outlives the notebook, read the exports back, and compare several studies.

A tuning run should leave behind what a practitioner needs next week without rerunning anything:

- ``best_params.yaml`` / ``best_params.json``: the best configuration, ready to rebuild the model from;
- ``trials.csv``: every trial (state, value, params, duration, last reported step) for pandas or a sheet;
- ``study_stats.json``: counts by state, the best trial, the sampler and pruner with their settings, the
  search space, and when the study started and finished.

A storage keeps trials but not the sampler or pruner object that produced them, and those objects do not
keep their seed. So whoever creates a study says what it runs, once, in the study's user attrs: the runner
(``tutorial_utils.studies``) and a notebook both write them with ``tutorial_utils.recording.record_setup(study,
sampler="tpe", seed=0, pruner="median", ...)``. The exports
and ``compare_studies`` read only those attrs, so a study read back from a storage reports exactly what its
creator recorded, and "unknown" (None) where nothing was recorded, never a guess from live objects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.trial import FrozenTrial, TrialState

from .recording import json_safe

BEST_PARAMS_YAML = "best_params.yaml"
BEST_PARAMS_JSON = "best_params.json"
TRIALS_CSV = "trials.csv"
STUDY_STATS_JSON = "study_stats.json"

BEST_PARAMS_KEYS = (
    "study_name",
    "direction",
    "best_value",
    "best_trial_number",
    "params",
    "user_attrs",
    "optuna_version",
    "exported_at",
)
STUDY_STATS_KEYS = (
    "study_name",
    "directions",
    "n_trials",
    "state_counts",
    "best_value",
    "best_trial_number",
    "pareto_front",
    "sampler",
    "pruner",
    "seed",
    "datetime_start",
    "datetime_complete",
    "wall_time_s",
    "search_space",
    "optuna_version",
    "exported_at",
)
TRIAL_COLUMNS_BEFORE_VALUES = ("number", "state")
TRIAL_COLUMNS_AFTER_VALUES = (
    "datetime_start",
    "datetime_complete",
    "duration_s",
    "last_step",
    "last_intermediate_value",
)
STATES = tuple(state.name for state in TrialState)


class ResultsFormatError(ValueError):
    """An export file is missing, malformed or lacks a field; the message names the file and the field."""


# ----------------------------------------------------------------------------------------------- setup


def _settings(attrs: Mapping[str, Any], key: str) -> dict:
    """Recorded settings (JSON text) as a dict; {} when absent or unreadable."""
    try:
        settings = json.loads(attrs.get(key) or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _setup(study: optuna.Study) -> tuple[dict, dict, int | None]:
    """Sampler, pruner and seed as the study's creator recorded them; None (unknown) where nothing was."""
    attrs = study.user_attrs
    sampler, pruner, seed = attrs.get("sampler"), attrs.get("pruner"), attrs.get("seed")
    return (
        {"name": sampler if isinstance(sampler, str) else None, "settings": _settings(attrs, "sampler_kwargs")},
        {"name": pruner if isinstance(pruner, str) else None, "settings": _settings(attrs, "pruner_kwargs")},
        seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )


# ----------------------------------------------------------------------------------------------- export


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _direction_names(study: optuna.Study) -> list[str]:
    return [d.name.lower() for d in study.directions]


def _pick_best(study: optuna.Study, best_trial: FrozenTrial | int | None) -> FrozenTrial:
    if isinstance(best_trial, FrozenTrial):
        return best_trial
    if isinstance(best_trial, int):
        return study.trials[best_trial]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(f"study {study.study_name!r} has no completed trial, so there are no best params to export")
    if len(study.directions) > 1:
        raise ValueError(
            f"study {study.study_name!r} has {len(study.directions)} objectives, so there is no single best trial: "
            "pick one from the Pareto front (study.best_trials) and pass it as best_trial="
        )
    return study.best_trial


def best_params_record(study: optuna.Study, best_trial: FrozenTrial | int | None = None) -> dict:
    """The content of best_params.yaml/json: params plus the value, trial number and direction(s)."""
    trial = _pick_best(study, best_trial)
    directions = _direction_names(study)
    single = len(directions) == 1
    values = trial.values if trial.values is not None else None
    return {
        "study_name": study.study_name,
        "direction": directions[0] if single else directions,
        "best_value": (values[0] if single else list(values)) if values is not None else None,
        "best_trial_number": trial.number,
        "params": dict(trial.params),
        "user_attrs": {k: v for k, v in trial.user_attrs.items() if json_safe(v)},
        "optuna_version": optuna.__version__,
        "exported_at": _now(),
    }


def _flat_user_attrs(attrs: Mapping) -> dict:
    """One level of nesting becomes ``outer.inner`` columns; deeper or odd values become JSON text."""
    flat = {}
    for key, value in attrs.items():
        if isinstance(value, Mapping):
            for inner, v in value.items():
                flat[f"user_attrs_{key}.{inner}"] = v if _scalar(v) else json.dumps(v)
        else:
            flat[f"user_attrs_{key}"] = value if _scalar(value) else json.dumps(value)
    return flat


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _value_columns(n_objectives: int) -> list[str]:
    return ["value"] if n_objectives == 1 else [f"values_{i}" for i in range(n_objectives)]


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value(s), times, duration, last reported step, params, user attrs.

    Integer params stay integers even when a conditional param is missing in some trials (nullable Int64).
    """
    value_cols = _value_columns(len(study.directions))
    rows = []
    for t in study.get_trials(deepcopy=False):
        last_step = max(t.intermediate_values) if t.intermediate_values else None
        duration = t.duration.total_seconds() if t.duration is not None else None
        values = list(t.values) if t.values is not None else [None] * len(value_cols)
        row = {"number": t.number, "state": t.state.name, **dict(zip(value_cols, values, strict=True))}
        row |= {
            "datetime_start": t.datetime_start,
            "datetime_complete": t.datetime_complete,
            "duration_s": duration,
            "last_step": last_step,
            "last_intermediate_value": t.intermediate_values[last_step] if last_step is not None else None,
        }
        row |= {f"params_{k}": v for k, v in sorted(t.params.items())}
        row |= _flat_user_attrs(t.user_attrs)
        rows.append(row)
    base = [*TRIAL_COLUMNS_BEFORE_VALUES, *value_cols, *TRIAL_COLUMNS_AFTER_VALUES]
    frame = pd.DataFrame(rows, columns=None if rows else base)
    extra = sorted(c for c in frame.columns if c.startswith("params_")) + sorted(
        c for c in frame.columns if c.startswith("user_attrs_")
    )
    frame = frame.reindex(columns=base + extra)
    for col in ("datetime_start", "datetime_complete"):
        frame[col] = pd.to_datetime(frame[col])
    for col in (*value_cols, "duration_s", "last_intermediate_value"):
        frame[col] = frame[col].astype("float64")
    frame["last_step"] = frame["last_step"].astype("Int64")
    for col in extra:  # from the raw values: the frame has already turned ints with gaps into floats
        frame[col] = _tidy_column(pd.Series([row.get(col) for row in rows], index=frame.index, dtype=object))
    return frame


def _tidy_column(column: pd.Series) -> pd.Series:
    """Ints (with gaps) as Int64, floats as float64, anything else (text, bools) left as objects."""
    present = list(column.dropna())
    if present and not any(isinstance(v, (bool, np.bool_)) for v in present):
        if all(isinstance(v, (int, np.integer)) for v in present):
            return column.astype("Int64")
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
            return column.astype("float64")
    return column.astype("object")


def study_stats(study: optuna.Study) -> dict:
    """The content of study_stats.json (see the module docstring). Sampler, pruner and seed come from the
    study's setup record (``record_setup`` or the runner), the same whether the study is live or loaded."""
    trials = study.get_trials(deepcopy=False)
    counts = {state: 0 for state in STATES}
    for t in trials:
        counts[t.state.name] += 1
    sampler, pruner, seed = _setup(study)
    single = len(study.directions) == 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if single and complete else None
    front = study.best_trials if complete else []
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    start, end = (min(starts) if starts else None), (max(ends) if ends else None)
    space: dict[str, dict] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            space.setdefault(name, json.loads(distribution_to_json(dist)))
    return {
        "study_name": study.study_name,
        "directions": _direction_names(study),
        "n_trials": len(trials),
        "state_counts": counts,
        "best_value": best.value if best is not None else None,
        "best_trial_number": best.number if best is not None else None,
        "pareto_front": [{"number": t.number, "values": list(t.values)} for t in front],
        "sampler": sampler,
        "pruner": pruner,
        "seed": seed,
        "datetime_start": _iso(start),
        "datetime_complete": _iso(end),
        "wall_time_s": (end - start).total_seconds() if start is not None and end is not None else None,
        "search_space": dict(sorted(space.items())),
        "optuna_version": optuna.__version__,
        "exported_at": _now(),
    }


def export_study(
    study: optuna.Study,
    out_dir: str | os.PathLike,
    *,
    best_trial: FrozenTrial | int | None = None,
) -> dict[str, Path]:
    """Write best_params.yaml/.json, trials.csv and study_stats.json into ``out_dir``; return their paths.

    For a multi-objective study pass ``best_trial`` (one trial of ``study.best_trials``). A study without a
    completed trial still gets trials.csv and study_stats.json (useful to see why everything failed).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    has_complete = bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if has_complete or best_trial is not None:
        record = best_params_record(study, best_trial)
        paths["best_params_yaml"] = out / BEST_PARAMS_YAML
        paths["best_params_yaml"].write_text(yaml.safe_dump(record, sort_keys=False))
        paths["best_params_json"] = out / BEST_PARAMS_JSON
        paths["best_params_json"].write_text(json.dumps(record, indent=2) + "\n")
    paths["trials_csv"] = out / TRIALS_CSV
    trials_frame(study).to_csv(paths["trials_csv"], index=False)
    paths["study_stats_json"] = out / STUDY_STATS_JSON
    paths["study_stats_json"].write_text(json.dumps(study_stats(study), indent=2) + "\n")
    return paths


def export_from_storage(
    url: str, study_name: str, out_dir: str | os.PathLike, *, best_trial: int | None = None
) -> dict[str, Path]:
    """Export a study straight from a storage URL (``sqlite:///...``, ``postgresql://...``, ``journal:file.log``)
    without running anything. Sampler and seed come from what the study recorded, else they are reported unknown.
    """
    study = _load(url, study_name)
    return export_study(study, out_dir, best_trial=best_trial)


def _open(url: str | optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """The storage behind a URL, opened the way the runner opens it (journal:..., clear errors)."""
    if not isinstance(url, str):
        return url
    from .storage import make_storage

    return make_storage(url)


def _load(url: str | optuna.storages.BaseStorage, study_name: str) -> optuna.Study:
    storage = _open(url)
    names = optuna.get_all_study_names(storage)
    if study_name not in names:
        raise KeyError(f"{url}: no study named {study_name!r}; the storage holds {names}")
    return optuna.load_study(study_name=study_name, storage=storage)


# ----------------------------------------------------------------------------------------------- loading


def _resolve(path: str | os.PathLike, default_name: str) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / default_name
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file. Export the study first with export_study(study, out_dir).")
    return p


def _check_keys(record: Any, expected: Sequence[str], path: Path) -> None:
    if not isinstance(record, Mapping):
        raise ResultsFormatError(f"{path}: expected a mapping of fields at the top level, found {type(record).__name__}")
    missing = [k for k in expected if k not in record]
    if missing:
        raise ResultsFormatError(
            f"{path}: field(s) {', '.join(missing)} missing (found {', '.join(map(str, record))}). "
            "Re-export the study with tutorial_utils.results.export_study, or add the fields by hand."
        )


def load_best_params(path: str | os.PathLike) -> dict:
    """Read best_params.yaml or .json (a folder means its best_params.yaml) and check its fields."""
    p = _resolve(path, BEST_PARAMS_YAML)
    text = p.read_text()
    try:
        record = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ResultsFormatError(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'} ({exc})") from exc
    _check_keys(record, BEST_PARAMS_KEYS, p)
    if not isinstance(record["params"], Mapping) or not record["params"]:
        raise ResultsFormatError(f"{p}: field 'params' must be a non-empty mapping of parameter names to values")
    return record


def load_study_stats(path: str | os.PathLike) -> dict:
    """Read study_stats.json (or a folder holding it) and check its fields."""
    p = _resolve(path, STUDY_STATS_JSON)
    try:
        record = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsFormatError(f"{p}: not valid JSON ({exc})") from exc
    _check_keys(record, STUDY_STATS_KEYS, p)
    return record


def search_space_from_stats(stats: Mapping) -> dict[str, BaseDistribution]:
    """The study's distributions from a loaded study_stats.json, e.g. to add trials with ``add_trial``."""
    return {name: json_to_distribution(json.dumps(spec)) for name, spec in stats["search_space"].items()}


_INT_TEXT = re.compile(r"-?\d+")


def load_trials(path: str | os.PathLike) -> pd.DataFrame:
    """Read trials.csv (or a folder holding it) with the dtypes ``trials_frame`` gave it."""
    p = _resolve(path, TRIALS_CSV)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise ResultsFormatError(f"{p}: not a readable CSV ({exc})") from exc
    value_cols = [c for c in raw.columns if c == "value" or re.fullmatch(r"values_\d+", c)]
    expected = [*TRIAL_COLUMNS_BEFORE_VALUES, *TRIAL_COLUMNS_AFTER_VALUES]
    missing = [c for c in expected if c not in raw.columns] + ([] if value_cols else ["value"])
    if missing:
        raise ResultsFormatError(
            f"{p}: column(s) {', '.join(missing)} missing (found {', '.join(raw.columns)}). Re-export the study."
        )
    bad_state = ~raw["state"].isin(STATES)
    if bad_state.any():
        i = int(np.flatnonzero(bad_state.to_numpy())[0])
        raise ResultsFormatError(f"{p}: row {i + 1}, column 'state': {raw['state'].iloc[i]!r} is not one of {STATES}")
    frame = raw.copy()
    frame["number"] = frame["number"].astype("int64")
    for col in ("datetime_start", "datetime_complete"):
        frame[col] = pd.to_datetime(frame[col])
    for col in (*value_cols, "duration_s", "last_intermediate_value"):
        frame[col] = frame[col].astype("float64")
    frame["last_step"] = frame["last_step"].astype("float64").astype("Int64")
    for col in raw.columns:
        if col.startswith(("params_", "user_attrs_")):
            frame[col] = _parse_text_column(raw[col])
    return frame


def _parse_text_column(column: pd.Series) -> pd.Series:
    """The inverse of ``_tidy_column`` on CSV text: ints, then floats, then booleans, else text."""
    present = column.dropna()
    if present.empty:
        return column.astype("object")
    if present.map(lambda s: bool(_INT_TEXT.fullmatch(s))).all():
        return column.map(lambda s: int(s) if isinstance(s, str) else pd.NA).astype("Int64")
    try:
        return column.astype("float64")
    except ValueError:
        pass
    if present.isin(["True", "False"]).all():
        return column.map({"True": True, "False": False}).astype("object")
    return column.astype("object")


# ----------------------------------------------------------------------------------------------- compare

COMPARE_COLUMNS = (
    "study",
    "direction",
    "sampler",
    "pruner",
    "seed",
    "best_value",
    "best_trial",
    "n_trials",
    "completed",
    "pruned",
    "failed",
    "wall_time_s",
)


def compare_studies(
    studies: Sequence[optuna.Study] | Mapping[str, optuna.Study] | None = None,
    *,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per study: sampler, pruner, seed (when known), best value and trial, counts by state, wall time.

    Pass live studies (a list, or a mapping label -> study), or a storage URL with ``study_names`` (all
    studies in the storage when omitted). Live or stored, a study names its sampler, pruner and seed only
    when its creator recorded them (``record_setup`` or the runner); otherwise they are unknown (empty).
    """
    if (studies is None) == (storage is None):
        raise ValueError("pass either studies (a list or a mapping label -> study) or storage= (with study_names=)")
    if studies is not None:
        labelled = studies.items() if isinstance(studies, Mapping) else [(s.study_name, s) for s in studies]
        entries = list(labelled)
    else:
        opened = _open(storage)
        names = list(study_names) if study_names is not None else optuna.get_all_study_names(opened)
        entries = [(n, _load(opened, n)) for n in names]
    rows = []
    for label, study in entries:
        stats = study_stats(study)
        counts = stats["state_counts"]
        rows.append(
            {
                "study": label,
                "direction": ",".join(stats["directions"]),
                "sampler": stats["sampler"]["name"],
                "pruner": stats["pruner"]["name"],
                "seed": stats["seed"],
                "best_value": stats["best_value"],
                "best_trial": stats["best_trial_number"],
                "n_trials": stats["n_trials"],
                "completed": counts["COMPLETE"],
                "pruned": counts["PRUNED"],
                "failed": counts["FAIL"],
                "wall_time_s": stats["wall_time_s"],
            }
        )
    frame = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    frame["seed"] = frame["seed"].astype("Int64")
    frame["best_trial"] = frame["best_trial"].astype("Int64")
    frame["best_value"] = frame["best_value"].astype("float64")
    frame["wall_time_s"] = frame["wall_time_s"].astype("float64")
    return frame
