"""Diagnosing a search space from finished trials, the way the Deep Learning Tuning Playbook designs one.

A first search explores (quasi-random trials over generous ranges); before the next round we ask of its trials:

- ``boundary_flags``: do the best trials crowd an end of a hyperparameter's range? Then the optimum may lie
  beyond it, and ``widen`` gives the range extended at that end (within a natural limit, if any);
  ``choice_shares`` says which choices of a categorical hyperparameter the best trials took;
- ``unit_cube`` and ``coverage``: how evenly did the trials cover the space (centered L2 discrepancy)?
- ``bootstrap_best_so_far``: have we sampled enough? The best of n trials drawn from this study's own trials,
  over budgets n; a plateau means more trials of this same search would rarely help;
- ``isolation``: per value of a scientific hyperparameter, the best over all its trials (the nuisance
  hyperparameters tuned by the search), the numbers an isolation plot draws (``plotting.space``).

Positions in a range are measured in the range's own scale: log-scaled hyperparameters in log space, so
"near the high end of lr in [1e-5, 1e-1]" means the last few percent of the decades, not of the numbers.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import qmc

from .curves import Direction, check_direction

Numeric = FloatDistribution | IntDistribution
Trials = optuna.Study | Iterable[FrozenTrial]
Side = Literal["low", "high", "low edge", "high edge"]

FLAG_COLUMNS = (
    "param", "low", "high", "log", "best_value", "best_position", "n_top", "share_near_low", "share_near_high",
    "flag",
)

# ----------------------------------------------------------------------------------------- trials and ranges


def trials_and_direction(trials: Trials, direction: Direction | None) -> tuple[list[FrozenTrial], Direction]:
    """The trials as a list, and the direction: a study's own, or the one given (required for a list of trials)."""
    if isinstance(trials, optuna.Study):
        if len(trials.directions) != 1:
            raise ValueError(f"study {trials.study_name!r} has {len(trials.directions)} objectives; give one")
        own = trials.direction.name.lower()
        if direction is not None and direction != own:
            raise ValueError(f"direction={direction!r} but study {trials.study_name!r} is to {own}")
        return trials.get_trials(deepcopy=False), own  # type: ignore[return-value]
    if direction is None:
        raise ValueError("give direction='minimize' or 'maximize' with a list of trials (a study knows its own)")
    check_direction(direction)
    return list(trials), direction


def space_of(trials: Sequence[FrozenTrial]) -> dict[str, BaseDistribution]:
    """The distributions the trials were sampled from, by name (one per name: a clash is an error naming it)."""
    space: dict[str, BaseDistribution] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            if space.setdefault(name, dist) != dist:
                raise ValueError(
                    f"param {name!r} has two distributions in these trials ({space[name]} and {dist}); "
                    "pass the distributions to use"
                )
    return space


def numeric(distributions: Mapping[str, BaseDistribution]) -> dict[str, Numeric]:
    """The float and int distributions (categoricals and single-value ranges have no ends to sit near)."""
    return {
        name: d for name, d in distributions.items()
        if isinstance(d, FloatDistribution | IntDistribution) and d.high > d.low
    }


def position(value: float, distribution: Numeric, name: str = "param") -> float:
    """Where ``value`` sits in the distribution's range, 0 at ``low`` and 1 at ``high``, in its own scale.

    A value outside the range is an error naming ``name``: the trials come from another (wider) space.
    """
    low, high = distribution.low, distribution.high
    if not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside its range [{low}, {high}]; pass the space it was sampled from")
    if distribution.log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def ranked(trials: Iterable[FrozenTrial], direction: Direction) -> list[FrozenTrial]:
    """The completed trials with a value, best first (ties in trial order); pruned and failed ones have none."""
    check_direction(direction)
    done = []
    for t in trials:
        if t.state != TrialState.COMPLETE or t.values is None:
            continue
        if len(t.values) != 1:
            raise ValueError(f"trial {t.number} has {len(t.values)} objective values; give single-objective trials")
        if not math.isnan(t.values[0]):
            done.append(t)
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(done, key=lambda t: (sign * t.values[0], t.number))


def top_count(top: int | float, n: int) -> int:
    """``top`` as a number of trials out of ``n``: an int is a count (at most n), a float in (0, 1] a share."""
    if isinstance(top, bool) or not isinstance(top, numbers.Real):
        raise ValueError(f"top must be a count (int >= 1) or a share (float in (0, 1]), not {top!r}")
    if isinstance(top, numbers.Integral):
        if top < 1:
            raise ValueError(f"top must be at least 1 trial, not {top}")
        return min(top, n)
    if not 0 < top <= 1:
        raise ValueError(f"top as a share must be in (0, 1], not {top}")
    return max(1, math.ceil(top * n))


def _ranked_with(param: str, best_first: list[FrozenTrial]) -> list[FrozenTrial]:
    done = [t for t in best_first if param in t.params]
    if not done:
        raise ValueError(f"no completed trial sets {param!r}; leave it out of the distributions")
    return done


def top_trials(
    trials: Trials, param: str, direction: Direction | None = None, top: int | float = 10
) -> list[FrozenTrial]:
    """The best ``top`` completed trials that set ``param``, best first: the trials ``boundary_flags`` reads."""
    trial_list, direction = trials_and_direction(trials, direction)
    done = _ranked_with(param, ranked(trial_list, direction))
    return done[: top_count(top, len(done))]


# ------------------------------------------------------------------------------------------- boundaries


def boundary_flags(
    trials: Trials,
    distributions: Mapping[str, BaseDistribution] | None = None,
    direction: Direction | None = None,
    top: int | float = 10,
    edge: float = 0.05,
    crowd: float = 0.5,
) -> pd.DataFrame:
    """Per numeric hyperparameter: where the best trials sit in its range, and a flag when they crowd an end.

    ``trials``: a study (its direction is used) or a list of ``FrozenTrial`` with ``direction``.
    ``distributions``: the search space by name (default: the trials' own). Among the completed trials that
    set a param, the ``top`` best (a count, or a share as a float) are its top trials. ``share_near_low`` /
    ``share_near_high``: the share of them within ``edge`` of that end, as a fraction of the range in the
    param's own scale (log space for log params). ``best_position`` is the best trial's place in [0, 1].

    The rule: flag "low edge" (or "high edge") when the best trial is within ``edge`` of that end AND at least
    ``crowd`` (half) of the top trials are too. Either alone misleads: one lucky trial at an end is noise, and
    top trials crowding an end while the best sits inside means the optimum is inside. Both together are
    rarely chance: a uniform sampler puts a trial within 5 % of one end with probability 0.05, so 5 of 10
    top trials there by luck has probability below 1e-4. The 5 % edge is strict: with few trials the top ones
    may crowd the last 10-20 % of a range without half of them in the last 5 %; ``edge=0.1`` catches that, and
    ``plotting.space.plot_boundary`` shows it either way. Categorical params are skipped (``choice_shares``).
    """
    if not 0 < edge < 0.5:
        raise ValueError(f"edge must be in (0, 0.5) (a fraction of the range at each end), not {edge}")
    if not 0 < crowd <= 1:
        raise ValueError(f"crowd must be a share in (0, 1], not {crowd}")
    trial_list, direction = trials_and_direction(trials, direction)
    best_first = ranked(trial_list, direction)
    if not best_first:
        raise ValueError(f"none of the {len(trial_list)} trials completed with a value; nothing to rank")
    space = numeric(space_of(trial_list) if distributions is None else distributions)
    rows = []
    for name, dist in space.items():
        done = _ranked_with(name, best_first)
        chosen = done[: top_count(top, len(done))]
        where = np.array([position(t.params[name], dist, name) for t in chosen])
        near_low, near_high = float(np.mean(where <= edge)), float(np.mean(where >= 1 - edge))
        flag = ""
        if where[0] <= edge and near_low >= crowd:
            flag = "low edge"
        elif where[0] >= 1 - edge and near_high >= crowd:
            flag = "high edge"
        rows.append({
            "param": name, "low": dist.low, "high": dist.high, "log": dist.log, "best_value": chosen[0].params[name],
            "best_position": float(where[0]), "n_top": len(chosen), "share_near_low": near_low,
            "share_near_high": near_high, "flag": flag,
        })
    frame = pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
    frame.attrs.update(direction=direction, top=top, edge=edge, crowd=crowd)
    return frame


def choice_shares(
    trials: Trials, param: str, direction: Direction | None = None, top: int | float = 10
) -> pd.DataFrame:
    """For a categorical ``param``: per choice, its completed trials, its share of the top trials, and which the
    best took. A choice missing from the top trials is a candidate to drop; one that takes them all, to fix."""
    trial_list, direction = trials_and_direction(trials, direction)
    done = _ranked_with(param, ranked(trial_list, direction))
    chosen = done[: top_count(top, len(done))]
    dist = space_of(trial_list).get(param)
    choices = list(dist.choices) if isinstance(dist, CategoricalDistribution) else sorted({t.params[param] for t in done})
    return pd.DataFrame({
        "choice": choices,
        "n_completed": [sum(t.params[param] == c for t in done) for c in choices],
        "share_top": [sum(t.params[param] == c for t in chosen) / len(chosen) for c in choices],
        "best": [chosen[0].params[param] == c for c in choices],
    })


def widen(
    distribution: Numeric,
    side: Side,
    factor: float = 2.0,
    limits: tuple[float | None, float | None] | None = None,
) -> Numeric:
    """The range widened at ``side`` ("low"/"high", or a flag "low edge"/"high edge"), as a new distribution.

    Log ranges move the end by a factor (high * factor, low / factor: the same number of decades whatever the
    numbers); linear ranges by ``factor - 1`` times the range's width. ``limits=(lo, hi)`` (None: no limit) are
    natural bounds the end stops at (a share cannot pass 1, a count 1). Ranges with a step grow by whole steps,
    so every value of the old grid stays on the new one. At a limit already, the range is returned unchanged
    with a warning.
    """
    if side not in ("low", "high", "low edge", "high edge"):
        raise ValueError(f"side must be 'low', 'high', 'low edge' or 'high edge', not {side!r}")
    if not factor > 1:
        raise ValueError(f"factor must be above 1 to widen, not {factor}")
    if not isinstance(distribution, FloatDistribution | IntDistribution):
        raise ValueError(f"only float and int ranges widen, not {distribution}")
    lo_limit, hi_limit = limits if limits is not None else (None, None)
    low, high, log = distribution.low, distribution.high, distribution.log
    is_int = isinstance(distribution, IntDistribution)
    step = distribution.step if distribution.step is not None else (1 if is_int else None)
    at_high = side.startswith("high")
    if log:
        target = high * factor if at_high else low / factor
    else:
        target = high + (factor - 1) * (high - low) if at_high else low - (factor - 1) * (high - low)
    if at_high:
        if hi_limit is not None:
            target = min(target, hi_limit)
        if step is not None:  # whole steps from low, outward, then back inside the limit
            steps = math.ceil(round((target - low) / step, 9))
            if hi_limit is not None and low + steps * step > hi_limit:
                steps -= 1
            target = low + steps * step
        new_low, new_high = low, max(target, high)
    else:
        if lo_limit is not None:
            target = max(target, lo_limit)
        if log and is_int:
            target = max(target, 1)
        if step is not None:
            steps = math.ceil(round((low - target) / step, 9))
            if (lo_limit is not None and low - steps * step < lo_limit) or (log and is_int and low - steps < 1):
                steps -= 1
            target = low - steps * step
        new_low, new_high = min(target, low), high
    if (new_low, new_high) == (low, high):
        warnings.warn(f"the {'high' if at_high else 'low'} end of {distribution} is at its limit; not widened",
                      stacklevel=2)
    if is_int:
        return IntDistribution(int(new_low), int(new_high), log=log, step=distribution.step)
    if distribution.step is not None:
        digits = max(0, -math.floor(math.log10(distribution.step)) + 9)  # drop float noise of the step sums
        new_low, new_high = round(new_low, digits), round(new_high, digits)
    return FloatDistribution(new_low, new_high, log=log, step=distribution.step)


# -------------------------------------------------------------------------------------------- coverage


def unit_cube(trials: Trials, distributions: Mapping[str, BaseDistribution] | None = None) -> np.ndarray:
    """Each trial's numeric params as a point of [0, 1]^d (log params in log space), one row per trial.

    Every trial that set all the numeric params counts, whatever its state: coverage is about where the
    sampler went, not what came back. Columns follow the order of ``distributions`` (default: the trials').
    """
    trial_list = trials.get_trials(deepcopy=False) if isinstance(trials, optuna.Study) else list(trials)
    space = numeric(space_of(trial_list) if distributions is None else distributions)
    if not space:
        raise ValueError("no numeric (float or int) hyperparameter with a range to place the trials in")
    rows = [
        [position(t.params[name], dist, name) for name, dist in space.items()]
        for t in sorted(trial_list, key=lambda t: t.number)
        if all(name in t.params for name in space)
    ]
    return np.array(rows, dtype=float).reshape(len(rows), len(space))


def coverage(points: np.ndarray) -> float:
    """Centered L2 discrepancy of points in [0, 1]^d (``scipy.stats.qmc.discrepancy``, method "CD").

    Lower is more even. Compare like with like: the same n and d (e.g. against ``rng.random((n, d))``), since
    the value shrinks as n grows.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"points must be a non-empty (n, d) array, got shape {points.shape}")
    return float(qmc.discrepancy(points, method="CD"))


# ------------------------------------------------------------------------------------ sampled enough?


def bootstrap_best_so_far(
    values: Sequence[float] | np.ndarray,
    n_trials_grid: Iterable[int],
    n_boot: int = 2000,
    seed: int = 0,
    direction: Direction = "maximize",
) -> pd.DataFrame:
    """The playbook's "have we sampled enough?": the best of n trials resampled from this study's, per budget n.

    ``values``: every trial the study paid for, NaN for pruned or failed ones (spent, never the best). For each
    n in ``n_trials_grid``, ``n_boot`` draws of n values with replacement; each draw's best. Columns:
    ``n_trials``, ``median``, ``p5``, ``p95`` (5th and 95th percentiles of the draws' bests: p5 <= median <=
    p95 numerically, whichever direction is better), ``share_no_value`` (draws with no value at all, which rank
    worst; a quantile falling among them is NaN). Each quantile is a best some draw reached (inverted CDF).
    A median that stops moving as n grows means more trials of this search would rarely help. Past the
    study's own size the curve can only approach the best already seen: it is then a plateau by construction.
    """
    check_direction(direction)
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence of trial values, got shape {arr.shape}")
    if np.isnan(arr).all():
        raise ValueError("values has no trial with a value (all NaN): no best to resample")
    grid = [int(n) for n in n_trials_grid]
    if not grid or min(grid) < 1:
        raise ValueError(f"n_trials_grid must hold budgets of at least 1 trial, got {grid}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    rng = np.random.default_rng(seed)
    worst = -np.inf if direction == "maximize" else np.inf
    best_of = np.fmax if direction == "maximize" else np.fmin
    rows = []
    for n in grid:
        draws = arr[rng.integers(0, arr.size, size=(n_boot, n))]
        bests = best_of.reduce(draws, axis=1)  # NaN only when all n draws are NaN
        none = np.isnan(bests)
        ranked_bests = np.where(none, worst, bests)
        q = np.quantile(ranked_bests, [0.05, 0.5, 0.95], method="inverted_cdf")
        q = np.where(np.isinf(q), np.nan, q)
        rows.append({"n_trials": n, "median": q[1], "p5": q[0], "p95": q[2], "share_no_value": float(none.mean())})
    frame = pd.DataFrame(rows, columns=["n_trials", "median", "p5", "p95", "share_no_value"])
    frame.attrs.update(n_boot=n_boot, direction=direction, n_values=int(arr.size))
    return frame


# ------------------------------------------------------------------------------------------- isolation


def _scientific_column(frame: pd.DataFrame, scientific: str) -> pd.Series:
    for column in (scientific, f"params_{scientific}"):
        if column in frame.columns:
            return frame[column]
    if "params" in frame.columns:  # records: the params as JSON text
        return frame["params"].map(lambda text: json.loads(text).get(scientific) if isinstance(text, str) else None)
    raise ValueError(
        f"the frame has no column {scientific!r} or 'params_{scientific}' (nor a 'params' JSON column); "
        f"its columns are {list(frame.columns)}"
    )


def isolation(
    trials_frame: pd.DataFrame, scientific: str, value: str = "value", direction: Direction = "maximize"
) -> pd.DataFrame:
    """Per value of the scientific hyperparameter: the best ``value`` over all its trials, and their counts.

    The best over a value's trials is its result with the nuisance hyperparameters tuned by the search (the
    playbook's isolation plot). ``trials_frame``: one row per trial, e.g. ``results.trials_frame`` (column
    ``params_<scientific>``) or records (``params`` as JSON); rows without a value (pruned) are counted but
    never best. Columns: ``scientific``, ``best_value``, ``n_trials``, ``n_with_value``; sorted best first
    (values with no result last).
    """
    check_direction(direction)
    if value not in trials_frame.columns:
        raise ValueError(f"the frame has no column {value!r}; its columns are {list(trials_frame.columns)}")
    frame = pd.DataFrame({
        scientific: _scientific_column(trials_frame, scientific),
        "value": pd.to_numeric(trials_frame[value], errors="coerce"),
    }).dropna(subset=[scientific])
    grouped = frame.groupby(scientific, sort=False)["value"]
    out = pd.DataFrame({
        "best_value": grouped.max() if direction == "maximize" else grouped.min(),
        "n_trials": grouped.size(),
        "n_with_value": grouped.count(),
    }).reset_index()
    return out.sort_values("best_value", ascending=direction == "minimize", na_position="last",
                           kind="stable").reset_index(drop=True)
