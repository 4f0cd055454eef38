"""Rebuild the face network from an exported best_params file and retrain it under several seeds.

One training run of the best configuration says little: its score moves with the seed. Retraining under a
few seeds gives a mean and a spread, to set beside the single number the study reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from .models import MultiHeadFCNet, count_parameters
from .prepare import FaceTensors
from .results import load_best_params
from .training import evaluate, fit

METRICS = ("age", "ethnicity", "gender", "all", "mean")


def mean_accuracy(metrics: Mapping[str, float]) -> float:
    """The mean of the three heads' accuracies: a smoother score to tune than age accuracy alone, whose
    landscape is flat wherever a network still predicts the majority age bin."""
    return (metrics["age"] + metrics["ethnicity"] + metrics["gender"]) / 3


def _record(best: str | os.PathLike | Mapping) -> dict:
    return dict(best) if isinstance(best, Mapping) else load_best_params(best)


def rebuild_model(best: str | os.PathLike | Mapping, n_features: int) -> MultiHeadFCNet:
    """An untrained network with the architecture in best_params.yaml/.json (or a loaded record)."""
    return MultiHeadFCNet.from_params(_record(best)["params"], n_features)


def retrain_best(
    best: str | os.PathLike | Mapping,
    data: FaceTensors,
    n_epochs: int | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    batch_size: int = 128,
    eval_name: str = "valid",
    extra_sets: Mapping[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> pd.DataFrame:
    """Train the exported configuration once per seed on ``data``'s fit rows; one row per seed.

    Columns: ``seed``, ``n_parameters``, ``epochs``, ``fit_s``, ``train_loss`` (last epoch), then
    ``<set>_<metric>`` (fractions) for ``data``'s validation rows (named ``eval_name``) and for each of
    ``extra_sets`` (e.g. the test rows, once the study is over); metric is age, ethnicity, gender, all (all
    three right) or mean (of the three heads). ``training.config_seed(params, study_seed)`` is the seed the
    study's objective trained the configuration with.
    ``n_epochs`` defaults to the epochs the best trial trained for.
    """
    record = _record(best)
    if n_epochs is None:
        n_epochs = record.get("user_attrs", {}).get("epochs_trained")
        if n_epochs is None:
            raise ValueError("the best-params record has no user_attrs.epochs_trained: pass n_epochs=")
    if not seeds:
        raise ValueError("pass at least one seed")
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        model, history = fit(record["params"], data, int(n_epochs), batch_size=batch_size, seed=int(seed))
        row = {"seed": int(seed), "n_parameters": count_parameters(model), "epochs": int(n_epochs)}
        row["fit_s"] = time.perf_counter() - start
        row["train_loss"] = history[-1]["loss"]
        sets = {eval_name: history[-1]} | {name: evaluate(model, x, y) for name, (x, y) in (extra_sets or {}).items()}
        for name, scores in sets.items():
            row |= {f"{name}_{m}": mean_accuracy(scores) if m == "mean" else scores[m] for m in METRICS}
        rows.append(row)
    return pd.DataFrame(rows)


def mean_sd(frame: pd.DataFrame, column: str) -> str:
    """``mean ± sd`` of one column (sd with n-1; '±  n/a' for a single seed), for printing."""
    values = frame[column]
    sd = f"{values.std(ddof=1):.4f}" if len(values) > 1 else "n/a"
    return f"{values.mean():.4f} ± {sd} (n={len(values)})"
