"""What a study and its trials store, written in one place: by the plain runner, the lockstep runner and notebooks.

The exports (``results``), the per-trial records (``records``) and the notebooks read these user attrs. One
writer keeps their names and units the same whichever trainer ran a trial, so a plain study and a lockstep
study export the same columns (tests/test_recording.py checks it).

- ``record_setup``: the study's setup (sampler, seed, pruner and their settings), once, after ``create_study``:
  a storage keeps neither the sampler object nor its seed.
- ``record_ask``: the seconds from the trial's ask to its whole configuration suggested: the sampler's cost.
- ``report_epoch``: after each epoch, the epochs trained and the validation age accuracy in percent, the value
  the pruner decides on.
- ``record_trained``: after the last epoch, the validation accuracy of every head, the train loss, the
  parameter count and (outside the objective, for the report only) the test age accuracy.
- ``record_cost``: the trial's CPU and wall seconds and its device. On a GPU the CPU seconds count only the
  host's share, so wall seconds are measured after the device finished its queued work.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import optuna

# The study user attrs that describe its setup.
SETUP_ATTRS = ("sampler", "sampler_kwargs", "seed", "pruner", "pruner_kwargs")
# The user attrs every trained trial gets, whichever trainer ran it (pruned trials: the first and the last two).
TRIAL_ATTRS = ("ask_seconds", "epochs_trained", "cpu_time_s", "wall_time_s", "device", "valid_accuracy", "train_loss",
               "n_parameters")
HEAD_METRICS = ("age", "ethnicity", "gender", "all")


def json_safe(value: Any) -> bool:
    """Whether ``value`` survives a user attr and a JSON export unchanged (plain, finite, string-keyed)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    return False


def _settings_text(settings: Mapping[str, Any] | None, what: str) -> str:
    """Settings as the runner stores them: JSON text with sorted keys (a user attr holds plain values)."""
    if settings is None:
        return "{}"
    if not isinstance(settings, Mapping) or not json_safe(dict(settings)):
        raise TypeError(
            f"{what} must be a mapping of names to plain values (numbers, strings, lists), got {settings!r}"
        )
    return json.dumps(dict(settings), sort_keys=True)


def record_setup(
    study: optuna.Study,
    *,
    sampler: str,
    seed: int | None = None,
    pruner: str | None = None,
    sampler_settings: Mapping[str, Any] | None = None,
    pruner_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the study's one setup record: the flat user attrs the runner writes, so exports can name them.

    Why explicit: a storage does not keep the sampler or pruner object, and Optuna's samplers do not keep
    their seed, so only the code that creates the study knows them. Call it right after ``create_study``
    with the names you chose (the course uses the runner's: ``"tpe"``, ``"random"``, ``"gp"``, ``"skopt"``;
    ``"median"``, ``"none"``). Calling it again with the same values is harmless (a resumed study); a
    different record raises ValueError, because one study ran one setup. Returns the attrs written.
    """
    if not isinstance(sampler, str) or not sampler.strip():
        raise TypeError(f"sampler must be the sampler's name, e.g. 'tpe', got {sampler!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    if pruner is not None and (not isinstance(pruner, str) or not pruner.strip()):
        raise TypeError(f"pruner must be the pruner's name, e.g. 'median', or None, got {pruner!r}")
    record = {
        "sampler": sampler,
        "sampler_kwargs": _settings_text(sampler_settings, "sampler_settings"),
        "seed": seed,
        "pruner": pruner,
        "pruner_kwargs": _settings_text(pruner_settings, "pruner_settings"),
    }
    stored = {k: study.user_attrs[k] for k in SETUP_ATTRS if k in study.user_attrs}
    clashes = {k: (v, record[k]) for k, v in stored.items() if v != record[k]}
    if clashes:
        shown = ", ".join(f"{k}: recorded {old!r}, now {new!r}" for k, (old, new) in clashes.items())
        raise ValueError(
            f"study {study.study_name!r} already records another setup ({shown}); a study has one setup "
            "record. Create a new study (or delete this one) to run another setup."
        )
    for key, value in record.items():
        if key not in stored:
            study.set_user_attr(key, value)
    return record


def record_ask(trial: optuna.Trial, seconds: float | None = None) -> None:
    """The sampler's cost of this trial: ``seconds`` when the caller timed ask and suggests itself (lockstep),
    else the time since Optuna started the trial (its ``datetime_start``, set in ``ask``), read right after
    the objective's suggests."""
    if seconds is None:
        seconds = (datetime.now() - trial.datetime_start).total_seconds()
    trial.set_user_attr("ask_seconds", float(seconds))


def report_epoch(trial: optuna.Trial, epoch: int, metrics: Mapping[str, float]) -> float:
    """Report epoch ``epoch``'s validation age accuracy (``metrics`` in fractions) in percent, the study's
    unit, and count the epoch; returns the reported value. The caller then asks ``trial.should_prune()``."""
    accuracy = 100 * float(metrics["age"])
    trial.set_user_attr("epochs_trained", epoch + 1)
    trial.report(accuracy, epoch)
    return accuracy


def record_trained(
    trial: optuna.Trial, metrics: Mapping[str, float], n_parameters: int, test_age: float | None = None
) -> None:
    """The record of a trial trained to its last epoch: ``metrics`` holds that epoch's train ``loss`` and the
    validation accuracies (fractions); ``test_age`` (a fraction) is scored outside the objective, never selected on."""
    trial.set_user_attr("valid_accuracy", {k: 100 * float(metrics[k]) for k in HEAD_METRICS})
    trial.set_user_attr("train_loss", float(metrics["loss"]))
    trial.set_user_attr("n_parameters", int(n_parameters))
    if test_age is not None:
        trial.set_user_attr("test_age_accuracy", 100 * float(test_age))


def record_cost(trial: optuna.Trial, cpu_s: float, wall_s: float, device: Any) -> None:
    """What the trial cost: CPU seconds of this process (host time only on a GPU), wall seconds, and where it ran."""
    trial.set_user_attr("cpu_time_s", float(cpu_s))
    trial.set_user_attr("wall_time_s", float(wall_s))
    trial.set_user_attr("device", str(device))


def n_parameters(params: Mapping, n_features: int) -> int:
    """The parameter count of the face network ``params`` describes, built on the meta device: no memory, and
    no draw from the global RNG (so recording it cannot change a later trial's initial weights)."""
    import torch

    from .models import MultiHeadFCNet, count_parameters

    with torch.device("meta"):
        return count_parameters(MultiHeadFCNet.from_params(params, n_features))


__all__ = ["HEAD_METRICS", "SETUP_ATTRS", "TRIAL_ATTRS", "json_safe", "n_parameters", "record_ask", "record_cost",
           "record_setup", "record_trained", "report_epoch"]
