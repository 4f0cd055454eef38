"""The pruners a study can use, by name with checked settings: the median rule, successive halving,
Hyperband, a patient median rule, or none.

A bad name or setting must fail before any storage is touched or any data loaded, with a message that names
what is allowed; so every setting is checked here, against each pruner's own list and Optuna's own checks.
"""

from __future__ import annotations

from typing import Any

import optuna

PRUNERS = ("median", "sh", "hyperband", "patient", "none")
# Each pruner's settings and their defaults (Optuna's own, except where a face-net study needs its epochs).
SETTINGS: dict[str, dict[str, Any]] = {
    "median": {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1},
    "sh": {"min_resource": 1, "reduction_factor": 4, "min_early_stopping_rate": 0},
    "hyperband": {"min_resource": 1, "max_resource": None, "reduction_factor": 3},
    "patient": {"patience": 3, "min_delta": 0.0, "n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1},
    "none": {},
}


class PrunerConfigError(ValueError):
    """An unknown pruner, or a setting it does not take or cannot use."""


def make_pruner(name: str, n_epochs: int | None = None, **settings: Any) -> optuna.pruners.BasePruner:
    """The pruner called ``name`` (see :data:`PRUNERS`) with ``settings`` replacing its defaults.

    ``median`` with no settings is ``MedianPruner()``, the original study's. ``hyperband``'s ``max_resource``
    defaults to ``n_epochs`` (the study's last step), since Optuna's "auto" guesses it from the first trial
    that finishes. ``patient`` is ``PatientPruner(MedianPruner(...), patience, min_delta)``.
    """
    key = str(name).lower()
    if key not in SETTINGS:
        raise PrunerConfigError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")
    unknown = sorted(set(settings) - set(SETTINGS[key]))
    if unknown:
        allowed = ", ".join(SETTINGS[key]) or "no settings"
        raise PrunerConfigError(f"pruner {key!r} takes no setting {', '.join(unknown)}; it takes {allowed}")
    s = {**SETTINGS[key], **settings}
    try:
        if key == "median":
            return optuna.pruners.MedianPruner(**s)
        if key == "sh":
            return optuna.pruners.SuccessiveHalvingPruner(**s)
        if key == "hyperband":
            if s["max_resource"] is None:
                s["max_resource"] = n_epochs if n_epochs is not None else "auto"
            return optuna.pruners.HyperbandPruner(**s)
        if key == "patient":
            median = optuna.pruners.MedianPruner(
                n_startup_trials=s["n_startup_trials"], n_warmup_steps=s["n_warmup_steps"], interval_steps=s["interval_steps"]
            )
            return optuna.pruners.PatientPruner(median, patience=s["patience"], min_delta=s["min_delta"])
        return optuna.pruners.NopPruner()
    except (TypeError, ValueError) as exc:
        raise PrunerConfigError(f"pruner {key!r} rejects the settings {dict(settings)}: {exc}") from None
