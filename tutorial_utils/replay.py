"""Finished trials back into Optuna, so that the search-space diagnostics (:mod:`tutorial_utils.space`) can read
trials that live in a table rather than a storage.

- :func:`face_trials`: rows of the face-network records (:mod:`tutorial_utils.records`) as ``FrozenTrial``s, each
  with the distributions its space declares. The records keep only the params; the ranges come from replaying the
  space's suggest function (:data:`~tutorial_utils.models.SPACES`, named by the record's ``space`` column) on an
  ``optuna.trial.FixedTrial``, so a range is never typed twice.
- :func:`searches_frame` and :func:`load_searches`: a set of small studies (one per search and seed) as one table
  that a CSV holds, and back as in-memory studies, for searches too slow to rerun whenever a notebook opens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import optuna
import pandas as pd
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.trial import FixedTrial, FrozenTrial, TrialState, create_trial

SEARCH_COLUMNS = ("search", "seed", "number", "state", "value", "params", "distributions")


def _frozen(number: int, state: TrialState, value: float | None, params: dict, distributions: dict,
            user_attrs: dict | None = None) -> FrozenTrial:
    trial = create_trial(
        state=state, value=value if state == TrialState.COMPLETE else None, params=params,
        distributions=distributions, user_attrs=user_attrs or {},
    )
    trial.number = number
    return trial


def face_trials(
    records: pd.DataFrame,
    states: Iterable[str] = ("COMPLETE", "PRUNED"),
    suggest: Callable[[Any], Any] | None = None,
) -> list[FrozenTrial]:
    """The records' trials in ``states`` as ``FrozenTrial``s with their distributions, in the frame's order.

    A completed trial keeps its validation value; a pruned one has none (spent, never ranked). Each trial's
    ``number`` is its number in its own study, and ``user_attrs`` name the ``study`` and ``seed`` it came from.
    ``suggest`` (default: ``models.SPACES[row.space]``) declares the ranges: it is called on a ``FixedTrial``
    holding the row's params, exactly as the study called it, so a record whose params the space cannot have
    produced is an error naming the study and trial.
    """
    from .models import SPACES

    wanted = set(states)
    unknown = wanted - {s.name for s in TrialState}
    if unknown:
        raise ValueError(f"unknown trial state(s) {sorted(unknown)}; choose from {[s.name for s in TrialState]}")
    missing = [c for c in ("study", "seed", "number", "state", "value", "params") if c not in records.columns]
    if missing:
        raise ValueError(f"the frame lacks column(s) {missing}; pass records.load_records' frame")
    trials = []
    for row in records[records["state"].isin(wanted)].itertuples(index=False):
        params = json.loads(row.params)
        space = getattr(row, "space", "original")
        declare = suggest if suggest is not None else SPACES.get(space)
        if declare is None:
            raise ValueError(f"study {row.study!r}: unknown space {space!r}; known: {', '.join(SPACES)}")
        fixed = FixedTrial(params, number=int(row.number))
        try:
            declare(fixed)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"study {row.study!r}, trial {row.number}: its params do not fit its space: {exc}") from exc
        if set(fixed.distributions) != set(params):
            extra = sorted(set(params) - set(fixed.distributions))
            raise ValueError(f"study {row.study!r}, trial {row.number}: params {extra} are not in its space")
        state = TrialState[row.state]
        trials.append(_frozen(int(row.number), state, float(row.value) if pd.notna(row.value) else None, params,
                              dict(fixed.distributions), {"study": row.study, "seed": int(row.seed)}))
    return trials


def searches_frame(studies: Mapping[tuple[str, int], optuna.Study], **settings: Any) -> pd.DataFrame:
    """One row per trial of every study in ``studies`` (keyed by ``(search, seed)``): its state, value, params
    and distributions as JSON, and each of ``settings`` (e.g. ``n_estimators=100``) as a column of its own, so
    a reader can check that the table was made the way it wants."""
    rows = []
    for (search, seed), study in studies.items():
        for t in study.get_trials(deepcopy=False):
            rows.append({
                "search": search, "seed": int(seed), "number": t.number, "state": t.state.name,
                "value": t.value if t.state == TrialState.COMPLETE else None,
                "params": json.dumps(t.params, sort_keys=True),
                "distributions": json.dumps({k: distribution_to_json(d) for k, d in sorted(t.distributions.items())}),
                **settings,
            })
    return pd.DataFrame(rows, columns=[*SEARCH_COLUMNS, *settings])


def load_searches(frame: pd.DataFrame, direction: str) -> dict[tuple[str, int], optuna.Study]:
    """:func:`searches_frame`'s table back as in-memory studies keyed by ``(search, seed)``, in the table's
    order, each trial with its own params, distributions, state and value (and its number, from 0 in order)."""
    missing = [c for c in SEARCH_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks column(s) {missing}; pass searches_frame's table")
    studies: dict[tuple[str, int], optuna.Study] = {}
    for (search, seed), rows in frame.groupby(["search", "seed"], sort=False):
        study = optuna.create_study(direction=direction)
        trials = []
        for row in rows.sort_values("number").itertuples(index=False):
            dists = {k: json_to_distribution(v) for k, v in json.loads(row.distributions).items()}
            state = TrialState[row.state]
            trials.append(_frozen(int(row.number), state, float(row.value) if pd.notna(row.value) else None,
                                  json.loads(row.params), dists))
        study.add_trials(trials)
        studies[str(search), int(seed)] = study
    return studies
