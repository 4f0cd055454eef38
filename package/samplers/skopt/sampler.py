# GENERATED from tutorial_utils/samplers.py by tools/make_optunahub_package.py: do not edit here,
# edit tutorial_utils/samplers.py and run `python tools/make_optunahub_package.py`.
"""SkoptSampler: an Optuna sampler backed by scikit-optimize, written against Optuna's BaseSampler.

Optuna removed ``optuna.integration.SkoptSampler`` (optuna-integration 4.0). The study this course
reproduces was run with it, so this module provides one with the same constructor: changing only the
import line is enough to run the original code.

Design choices (and why):
- No hidden state between trials. Each relative sample rebuilds a ``skopt.Optimizer`` from the trials
  stored in the study, so a study resumed from SQLite, or shared by several worker processes, sees exactly
  the history it should.
- Randomness is derived from ``(seed, trial.number)``, not from a generator advancing inside the sampler:
  a sequential study with a fixed seed is reproducible, a resumed study does not replay old draws, and
  workers that share one seed still propose different points (trial numbers are unique in a study).
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import intersection_search_space
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_regressor
from sklearn.ensemble import GradientBoostingRegressor

__all__ = [
    "IndependentSamplingWarning",
    "QuantileGBRTRegressor",
    "SkoptSampler",
    "from_skopt_value",
    "to_skopt_dimension",
    "to_skopt_value",
]

SKOPT_ESTIMATORS = ("GP", "ET", "RF", "GBRT")
_SKOPT_DUPLICATE_WARNING = r"The objective has been evaluated at point"


class IndependentSamplingWarning(UserWarning):
    """A parameter outside the relative search space was sampled by the independent sampler."""


# --------------------------------------------------------------------------------------------------
# Distribution conversion: Optuna distribution <-> skopt dimension, and values both ways.
# Steps become integer grids (index k -> low + k * step) so skopt never proposes an off-grid value;
# categorical choices become their indices, so choices of any type (None, tuples, mixed) round-trip.
# --------------------------------------------------------------------------------------------------


def _n_steps(distribution: FloatDistribution | IntDistribution) -> int:
    """Number of step intervals between low and high (Optuna already snapped high onto the grid)."""
    return int(round((distribution.high - distribution.low) / distribution.step))


def to_skopt_dimension(distribution: BaseDistribution):
    """Return the skopt dimension (Real, Integer or Categorical) that spans ``distribution``."""
    from skopt.space import Categorical, Integer, Real

    if distribution.single():
        raise ValueError(f"{distribution} holds a single value; it has nothing to optimize")
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            return Integer(0, _n_steps(distribution))
        prior = "log-uniform" if distribution.log else "uniform"
        return Real(distribution.low, distribution.high, prior=prior)
    if isinstance(distribution, IntDistribution):
        if distribution.log:
            return Integer(distribution.low, distribution.high, prior="log-uniform")
        if distribution.step != 1:
            return Integer(0, _n_steps(distribution))
        return Integer(distribution.low, distribution.high)
    if isinstance(distribution, CategoricalDistribution):
        return Categorical(list(range(len(distribution.choices))))
    raise NotImplementedError(
        f"SkoptSampler cannot convert {type(distribution).__name__}; "
        "use FloatDistribution, IntDistribution or CategoricalDistribution"
    )


def to_skopt_value(distribution: BaseDistribution, value: Any) -> Any:
    """Map a trial's parameter value onto the skopt dimension from :func:`to_skopt_dimension`."""
    if isinstance(distribution, CategoricalDistribution):
        return int(distribution.to_internal_repr(value))
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            k = round((float(value) - distribution.low) / distribution.step)
            return int(min(max(k, 0), _n_steps(distribution)))
        return float(min(max(float(value), distribution.low), distribution.high))
    if isinstance(distribution, IntDistribution):
        if not distribution.log and distribution.step != 1:
            return int(
                min(max((int(value) - distribution.low) // distribution.step, 0), _n_steps(distribution))
            )
        return int(value)
    raise NotImplementedError(f"SkoptSampler cannot convert {type(distribution).__name__}")


def from_skopt_value(distribution: BaseDistribution, skopt_value: Any) -> Any:
    """Map a point proposed by skopt back to a value Optuna accepts for ``distribution``."""
    if isinstance(distribution, CategoricalDistribution):
        return distribution.to_external_repr(int(skopt_value))
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            value = distribution.low + int(skopt_value) * distribution.step
            return float(min(max(value, distribution.low), distribution.high))
        return float(min(max(float(skopt_value), distribution.low), distribution.high))
    if isinstance(distribution, IntDistribution):
        if not distribution.log and distribution.step != 1:
            return int(distribution.low + int(skopt_value) * distribution.step)
        return int(min(max(int(skopt_value), distribution.low), distribution.high))
    raise NotImplementedError(f"SkoptSampler cannot convert {type(distribution).__name__}")


# --------------------------------------------------------------------------------------------------
# A GBRT surrogate that works with current scikit-learn and NumPy.
# --------------------------------------------------------------------------------------------------


class QuantileGBRTRegressor(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees fitted to the 16 %, 50 % and 84 % quantiles: a mean and an uncertainty for EI.

    Replaces skopt's ``base_estimator="GBRT"`` surrogate, which fails with scikit-learn >= 1.6 ("has to be
    a regressor": its base classes come in an order the new estimator tags ignore) and which calls
    ``np.in1d``, removed in NumPy 2.4. The std is half the 16-84 % spread, as for a normal distribution.
    """

    quantiles = (0.16, 0.5, 0.84)

    def __init__(self, n_estimators: int = 30, random_state: int | None = None):
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X, y):
        self.models_ = [
            GradientBoostingRegressor(
                loss="quantile", alpha=q, n_estimators=self.n_estimators, random_state=self.random_state
            ).fit(X, y)
            for q in self.quantiles
        ]
        return self

    def predict(self, X, return_std: bool = False):
        low, median, high = (model.predict(X) for model in self.models_)
        if return_std:
            return median, np.maximum(high - low, 0.0) / 2.0
        return median


# --------------------------------------------------------------------------------------------------
# The sampler
# --------------------------------------------------------------------------------------------------


def _derived_seed(*parts: int) -> int:
    """A 32-bit seed that depends only on ``parts`` (e.g. the sampler's seed and the trial number)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


class SkoptSampler(BaseSampler):
    """Sample with scikit-optimize's Bayesian optimization (GP, ExtraTrees, RandomForest or GBRT surrogate).

    Same constructor as the removed ``optuna.integration.SkoptSampler``::

        sampler = SkoptSampler(skopt_kwargs={"base_estimator": "ET", "n_random_starts": 10,
                                             "acq_func": "EI", "acq_func_kwargs": {"xi": 0.02}}, seed=0)

    Args:
        independent_sampler: samples the parameters outside the relative search space (those present in
            only some trials, e.g. the widths of optional layers) and every parameter of the first
            ``n_startup_trials`` trials. Default: a RandomSampler seeded per trial from ``seed``.
        warn_independent_sampling: warn (once per parameter) when a parameter falls back to it.
        skopt_kwargs: keyword arguments for ``skopt.Optimizer`` (``base_estimator``, ``n_initial_points``
            or its old alias ``n_random_starts``, ``acq_func``, ``acq_func_kwargs``, ...).
        n_startup_trials: trials it learns from (see ``consider_pruned_trials``) sampled by ``independent_sampler`` before skopt takes over.
        consider_pruned_trials: let pruned trials count, with their last reported value.
        seed: makes a sequential study reproducible.

    Cost: every trial after the start-up ones refits the surrogate on all the trials it learns from. ExtraTrees stays
    cheap as a study grows; a GP's fit grows roughly with the cube of the number of trials, which shows past
    a hundred or so (``benchmarks/bench_sampler_overhead.py`` measures both on the face-net space).
    """

    def __init__(
        self,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        skopt_kwargs: dict[str, Any] | None = None,
        n_startup_trials: int = 1,
        *,
        consider_pruned_trials: bool = False,
        seed: int | None = None,
    ) -> None:
        kwargs = dict(skopt_kwargs or {})
        if "dimensions" in kwargs:
            raise ValueError(
                "skopt_kwargs must not contain 'dimensions': SkoptSampler builds the space from the "
                "distributions your objective suggests"
            )
        if "n_random_starts" in kwargs:
            alias = kwargs.pop("n_random_starts")
            if "n_initial_points" in kwargs and kwargs["n_initial_points"] != alias:
                raise ValueError(
                    f"skopt_kwargs gives n_random_starts={alias} and n_initial_points="
                    f"{kwargs['n_initial_points']}; they are the same setting, give only one"
                )
            kwargs["n_initial_points"] = alias
        if "random_state" in kwargs:
            random_state = kwargs.pop("random_state")
            if seed is not None and random_state is not None and random_state != seed:
                raise ValueError("give the seed once: either seed= or skopt_kwargs['random_state']")
            seed = random_state if seed is None else seed
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")

        kwargs["base_estimator"] = _check_base_estimator(kwargs.get("base_estimator", "GP"))
        if kwargs["base_estimator"] == "GBRT":
            if kwargs.setdefault("acq_optimizer", "sampling") != "sampling":
                raise ValueError("base_estimator='GBRT' has no gradients: use acq_optimizer='sampling'")

        self._skopt_kwargs = kwargs
        self._independent_sampler = independent_sampler
        self._warn_independent_sampling = warn_independent_sampling
        self._n_startup_trials = n_startup_trials
        self._consider_pruned_trials = consider_pruned_trials
        self._seed = seed
        self._warned_params: set[str] = set()  # only to keep the log short, never affects sampling

        # Fail now, not at trial 10, if skopt rejects the settings (unknown acq_func, bad kwargs, ...).
        self._build_optimizer({"probe": FloatDistribution(0.0, 1.0)}, trial_number=0)

    # -- BaseSampler API ---------------------------------------------------------------------------

    def reseed_rng(self) -> None:
        """Per-trial seeds already differ between trials; only a user-given sampler needs reseeding."""
        if self._independent_sampler is not None:
            self._independent_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        _raise_if_multi_objective(study)
        if self._independent_sampler is not None:
            self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        if self._independent_sampler is not None:
            self._independent_sampler.after_trial(study, trial, state, values)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """Parameters present, with the same distribution, in every trial the sampler learns from (single values dropped)."""
        _raise_if_multi_objective(study)
        space = intersection_search_space(
            study.get_trials(deepcopy=False), include_pruned=self._consider_pruned_trials
        )
        return {name: dist for name, dist in space.items() if not dist.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        _raise_if_multi_objective(study)
        if not search_space:
            return {}
        points, values = self._observations(study, search_space)
        if len(values) < self._n_startup_trials:
            return {}
        optimizer = self._build_optimizer(search_space, trial.number)
        with warnings.catch_warnings():
            # skopt replaces a repeated proposal with a random point and says so; that's expected here.
            warnings.filterwarnings("ignore", message=_SKOPT_DUPLICATE_WARNING)
            if points:
                optimizer.tell(points, values)
            proposal = optimizer.ask()
        return {
            name: from_skopt_value(dist, x)
            for (name, dist), x in zip(search_space.items(), proposal, strict=True)
        }

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        _raise_if_multi_objective(study)
        if self._warn_independent_sampling and param_name not in self._warned_params:
            if len(self._learning_trials(study)) >= max(self._n_startup_trials, 1):
                self._warned_params.add(param_name)
                warnings.warn(
                    f"SkoptSampler: parameter '{param_name}' (trial {trial.number}) is not in every learned-from "
                    "trial with the same distribution (e.g. it exists only for some values of another "
                    f"parameter), so {self._independent_name()} samples it. This warning is shown once per "
                    "parameter; pass warn_independent_sampling=False to silence it.",
                    IndependentSamplingWarning,
                    stacklevel=2,
                )
        sampler = self._independent_sampler
        if sampler is None:
            seed = (
                None
                if self._seed is None
                else _derived_seed(self._seed, trial.number, zlib.crc32(param_name.encode()))
            )
            sampler = RandomSampler(seed=seed)
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    # -- internals ---------------------------------------------------------------------------------

    def _independent_name(self) -> str:
        return type(self._independent_sampler).__name__ if self._independent_sampler else "RandomSampler"

    def _learning_trials(self, study: Study) -> list[FrozenTrial]:
        """The trials skopt is told: COMPLETE ones, and PRUNED ones with ``consider_pruned_trials``."""
        states = (
            (TrialState.COMPLETE, TrialState.PRUNED)
            if self._consider_pruned_trials
            else (TrialState.COMPLETE,)
        )
        return study.get_trials(deepcopy=False, states=states)

    def _observations(
        self, study: Study, search_space: dict[str, BaseDistribution]
    ) -> tuple[list[list[Any]], list[float]]:
        """Points (in skopt's coordinates) and values to minimize, from every trial it learns from that has a value."""
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        points, values = [], []
        for trial in self._learning_trials(study):
            value = _trial_value(trial)
            if value is None or any(trial.distributions.get(n) != d for n, d in search_space.items()):
                continue
            points.append([to_skopt_value(d, trial.params[n]) for n, d in search_space.items()])
            values.append(sign * value)
        if values:
            # skopt needs finite values: an infinite result counts as the worst (or best) finite one.
            finite = [v for v in values if math.isfinite(v)]
            if not finite:
                return [], []
            low, high = min(finite), max(finite)
            values = [min(max(v, low), high) for v in values]
        return points, values

    def _build_optimizer(self, search_space: dict[str, BaseDistribution], trial_number: int):
        from skopt import Optimizer

        kwargs = dict(self._skopt_kwargs)
        random_state = (
            _derived_seed(self._seed, trial_number)
            if self._seed is not None
            else int(np.random.SeedSequence().generate_state(1)[0])
        )
        estimator = kwargs["base_estimator"]
        if estimator == "GBRT":
            kwargs["base_estimator"] = QuantileGBRTRegressor(random_state=random_state)
        elif not isinstance(estimator, str) and "random_state" in estimator.get_params():
            # skopt seeds only the estimators it builds from a name; seed a given one too.
            kwargs["base_estimator"] = clone(estimator).set_params(random_state=random_state)
        dimensions = [to_skopt_dimension(d) for d in search_space.values()]
        return Optimizer(dimensions, random_state=random_state, **kwargs)


def _check_base_estimator(base_estimator: Any) -> Any:
    """Accept skopt's estimator names (any case) or a scikit-learn regressor; explain anything else."""
    if isinstance(base_estimator, str):
        name = base_estimator.upper()
        if name == "DUMMY":
            raise ValueError(
                "base_estimator='DUMMY' (pure random search) fails inside scikit-optimize with "
                "scikit-learn >= 1.6; use optuna.samplers.RandomSampler instead"
            )
        if name not in SKOPT_ESTIMATORS:
            raise ValueError(
                f"unknown base_estimator {base_estimator!r}; use one of {', '.join(SKOPT_ESTIMATORS)} "
                "or a scikit-learn regressor whose predict() accepts return_std=True"
            )
        return name
    if not is_regressor(base_estimator):
        hint = ""
        if type(base_estimator).__name__ == "GradientBoostingQuantileRegressor":
            hint = (
                " skopt's GradientBoostingQuantileRegressor is not recognised as a regressor by "
                "scikit-learn >= 1.6; pass base_estimator='GBRT' (SkoptSampler then uses its own "
                "QuantileGBRTRegressor) or one of 'ET', 'RF', 'GP'."
            )
        raise ValueError(f"base_estimator {base_estimator!r} is not a scikit-learn regressor.{hint}")
    return base_estimator


def _trial_value(trial: FrozenTrial) -> float | None:
    """The value a trial contributes: its result, or for a pruned trial its last reported value."""
    if trial.state == TrialState.COMPLETE:
        return float(trial.value)
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
        return None if math.isnan(value) else float(value)
    return None


def _raise_if_multi_objective(study: Study) -> None:
    if len(study.directions) > 1:
        raise ValueError(
            f"SkoptSampler optimizes a single objective, but study '{study.study_name}' has "
            f"{len(study.directions)} ({', '.join(d.name.lower() for d in study.directions)}). "
            "Use optuna.samplers.NSGAIISampler, TPESampler or GPSampler for multi-objective studies."
        )
