"""SkoptSampler: an Optuna sampler backed by scikit-optimize, written against Optuna's BaseSampler.

Optuna removed ``optuna.integration.SkoptSampler`` (optuna-integration 4.0). This module provides one
with the same constructor, so code written for the old sampler runs after changing its import.

How it keeps skopt's state (and why):

- Most settings need no state between trials. Each relative sample rebuilds a ``skopt.Optimizer``
  from the trials stored in the study, seeded from ``(seed, trial.number)``: a study resumed from
  storage continues exactly like an uninterrupted one, and workers sharing a study and a seed still
  propose different points.
- Two skopt features do depend on one Optimizer living through the study: an
  ``initial_point_generator`` other than ``"random"`` (``"lhs"``, ``"sobol"``, ...: one design whose
  points are handed out in turn) and ``acq_func="gp_hedge"`` (skopt's default: its portfolio learns
  across fits). With those, the sampler keeps one Optimizer per study and search space, tells it each
  new result once, and seeds it from ``seed`` and the number of results it starts from, so a resumed or
  reseeded study is reproducible and does not replay earlier draws.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
import threading
from typing import Any
import weakref
import zlib

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.samplers import BaseSampler
from optuna.samplers import RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState
from sklearn.base import BaseEstimator
from sklearn.base import clone
from sklearn.base import is_regressor
from sklearn.base import RegressorMixin
from sklearn.ensemble import GradientBoostingRegressor


__all__ = [
    "QuantileGBRTRegressor",
    "SkoptSampler",
    "from_skopt_value",
    "to_skopt_dimension",
    "to_skopt_value",
]

# A child of Optuna's library logger, so optuna.logging.set_verbosity() governs it.
_logger = optuna.logging.get_logger("optuna.samplers.skopt")

SKOPT_ESTIMATORS = ("GP", "ET", "RF", "GBRT")
_STATEFUL_ACQ_FUNCS = ("gp_hedge",)
_DUPLICATE_WARNING = r"The objective has been evaluated at point"


# --------------------------------------------------------------------------------------------
# Distribution conversion: Optuna distribution <-> skopt dimension, and values both ways.
# Steps become integer grids (index k -> low + k * step) so skopt never proposes an off-grid
# value; categorical choices become their indices, so choices of any type round-trip.
# --------------------------------------------------------------------------------------------


def _n_steps(distribution: FloatDistribution | IntDistribution) -> int:
    """Number of step intervals between low and high (Optuna snapped high onto the grid)."""
    assert distribution.step is not None
    return round((distribution.high - distribution.low) / distribution.step)


def to_skopt_dimension(distribution: BaseDistribution) -> Any:
    """Return the skopt dimension (Real, Integer or Categorical) that spans ``distribution``."""
    from skopt.space import Categorical
    from skopt.space import Integer
    from skopt.space import Real

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
            k = (int(value) - distribution.low) // distribution.step
            return int(min(max(k, 0), _n_steps(distribution)))
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


# --------------------------------------------------------------------------------------------
# A GBRT surrogate that works with current scikit-learn and NumPy.
# --------------------------------------------------------------------------------------------


class QuantileGBRTRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Gradient-boosted trees fitted to the 16 %, 50 % and 84 % quantiles: a mean and a std for EI.

    Replaces skopt's ``base_estimator="GBRT"`` surrogate, which fails with scikit-learn >= 1.6 ("has
    to be a regressor": its base classes come in an order the new estimator tags ignore) and which
    calls ``np.in1d``, removed in NumPy 2.4. The std is half the 16-84 % spread, as for a normal
    distribution.
    """

    quantiles = (0.16, 0.5, 0.84)

    def __init__(self, n_estimators: int = 30, random_state: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> QuantileGBRTRegressor:
        self.models_ = [
            GradientBoostingRegressor(
                loss="quantile",
                alpha=q,
                n_estimators=self.n_estimators,
                random_state=self.random_state,
            ).fit(X, y)
            for q in self.quantiles
        ]
        return self

    def predict(self, X: Any, return_std: bool = False) -> Any:
        low, median, high = (model.predict(X) for model in self.models_)
        if return_std:
            return median, np.maximum(high - low, 0.0) / 2.0
        return median


# --------------------------------------------------------------------------------------------
# The sampler
# --------------------------------------------------------------------------------------------


def _derived_seed(*parts: int) -> int:
    """A 32-bit seed that depends only on ``parts`` (e.g. the sampler's seed and a trial number)."""
    words = [int(p) & 0xFFFFFFFF for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


class _StudyState:
    """What the sampler keeps for one study: its cached search space and, if needed, an Optimizer."""

    def __init__(self, include_pruned: bool) -> None:
        self.search_space = IntersectionSearchSpace(include_pruned=include_pruned)
        self.lock = threading.Lock()
        self.optimizer: Any = None
        self.optimizer_space: dict[str, BaseDistribution] = {}
        self.told: set[int] = set()
        self.unused_tell = False  # a result was told since the Optimizer's last proposal


class SkoptSampler(BaseSampler):
    """Sample with scikit-optimize's Bayesian optimization (GP, ExtraTrees, RF or GBRT surrogate).

    Same constructor as the removed ``optuna.integration.SkoptSampler``::

        sampler = SkoptSampler(
            skopt_kwargs={"base_estimator": "ET", "n_random_starts": 10, "acq_func": "EI"}, seed=0
        )

    Args:
        independent_sampler: samples the parameters outside the relative search space (those
            present in only some trials, e.g. the widths of optional layers) and every parameter
            of the first ``n_startup_trials`` trials. Default: a RandomSampler seeded per trial
            from ``seed``.
        warn_independent_sampling: log a warning (once per parameter) when a parameter falls
            back to the independent sampler.
        skopt_kwargs: keyword arguments for ``skopt.Optimizer`` (``base_estimator``,
            ``n_initial_points`` or its old alias ``n_random_starts``, ``acq_func``,
            ``acq_func_kwargs``, ``initial_point_generator``, ``random_state``, ...).
        n_startup_trials: trials it learns from (see ``consider_pruned_trials``) sampled by
            ``independent_sampler`` before skopt takes over.
        consider_pruned_trials: let pruned trials count, with their last reported value.
        seed: makes a sequential study reproducible.

    Cost: every trial after the start-up ones refits the surrogate on all the trials it learns
    from. ExtraTrees stays cheap as a study grows; a GP's fit grows roughly with the cube of the
    number of trials, which shows past a hundred or so.
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
                "skopt_kwargs must not contain 'dimensions': SkoptSampler builds the space from "
                "the distributions your objective suggests"
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
            seed = _seed_from_random_state(kwargs.pop("random_state"), seed)
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        acq_func = kwargs.get("acq_func", "gp_hedge")
        if acq_func in ("EIps", "PIps"):
            raise ValueError(
                f"acq_func={acq_func!r} needs the time each evaluation took, which SkoptSampler "
                "does not pass to scikit-optimize; use 'EI', 'PI', 'LCB' or 'gp_hedge'"
            )

        kwargs["base_estimator"] = _check_base_estimator(kwargs.get("base_estimator", "GP"))
        gbrt = kwargs["base_estimator"] == "GBRT"
        if gbrt and kwargs.setdefault("acq_optimizer", "sampling") != "sampling":
            raise ValueError(
                "base_estimator='GBRT' has no gradients: use acq_optimizer='sampling'"
            )

        self._skopt_kwargs = kwargs
        self._independent_sampler = independent_sampler
        self._warn_independent_sampling = warn_independent_sampling
        self._n_startup_trials = n_startup_trials
        self._consider_pruned_trials = consider_pruned_trials
        self._seed = seed
        generator = kwargs.get("initial_point_generator", "random")
        self._stateful = acq_func in _STATEFUL_ACQ_FUNCS or generator != "random"
        self._warned_params: set[str] = set()  # only keeps the log short; never affects sampling
        self._states: weakref.WeakKeyDictionary[Any, dict[int, _StudyState]] = (
            weakref.WeakKeyDictionary()
        )
        self._states_lock = threading.Lock()

        # Fail now, not at trial 10, if skopt rejects the settings (unknown acq_func, ...).
        self._build_optimizer({"probe": FloatDistribution(0.0, 1.0)}, random_state=0)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_states"], state["_states_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._states = weakref.WeakKeyDictionary()
        self._states_lock = threading.Lock()

    # -- BaseSampler API ------------------------------------------------------------------------

    def reseed_rng(self) -> None:
        """Draw a new seed: what the sampler suggests next changes (and so does each worker's)."""
        self._seed = _fresh_seed()
        with self._states_lock:
            self._states = weakref.WeakKeyDictionary()
        if self._independent_sampler is not None:
            self._independent_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        _raise_if_multi_objective(study)
        if self._independent_sampler is not None:
            self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if self._independent_sampler is not None:
            self._independent_sampler.after_trial(study, trial, state, values)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Parameters in every learned-from trial with the same distribution (single values out)."""
        _raise_if_multi_objective(study)
        state = self._state(study)
        with state.lock:
            space = state.search_space.calculate(study)
        return {name: dist for name, dist in space.items() if not dist.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        _raise_if_multi_objective(study)
        if not search_space:
            return {}
        observations = self._observations(study, search_space)
        if len(observations) < self._n_startup_trials:
            return {}
        proposal = None
        if self._stateful:
            proposal = self._ask_study_optimizer(self._state(study), search_space, observations)
        if proposal is None:
            # A fresh Optimizer, seeded from (seed, trial number), told every result.
            seed = self._seed if self._seed is not None else _fresh_seed()
            optimizer = self._build_optimizer(
                search_space, random_state=_derived_seed(seed, trial.number)
            )
            proposal = _tell_and_ask(optimizer, observations)
        return {
            name: from_skopt_value(dist, x)
            for (name, dist), x in zip(search_space.items(), proposal)
        }

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        _raise_if_multi_objective(study)
        if (
            self._warn_independent_sampling
            and param_name not in self._warned_params
            and len(self._learning_trials(study)) >= max(self._n_startup_trials, 1)
        ):
            self._warned_params.add(param_name)
            _logger.warning(
                f"SkoptSampler: parameter '{param_name}' (trial {trial.number}) is not in every "
                "learned-from trial with the same distribution (e.g. it exists only for some "
                f"values of another parameter), so {self._independent_name()} samples it. This "
                "is logged once per parameter; pass warn_independent_sampling=False to silence it."
            )
        sampler = self._independent_sampler
        if sampler is None:
            seed = None
            if self._seed is not None:
                seed = _derived_seed(self._seed, trial.number, zlib.crc32(param_name.encode()))
            sampler = RandomSampler(seed=seed)
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    # -- internals ------------------------------------------------------------------------------

    def _state(self, study: Study) -> _StudyState:
        """This study's state (studies are told apart by storage object and study id)."""
        storage = study._storage
        with self._states_lock:
            per_storage = self._states.setdefault(storage, {})
            if study._study_id not in per_storage:
                per_storage[study._study_id] = _StudyState(self._consider_pruned_trials)
            return per_storage[study._study_id]

    def _independent_name(self) -> str:
        if self._independent_sampler is None:
            return "RandomSampler"
        return type(self._independent_sampler).__name__

    def _learning_trials(self, study: Study) -> list[FrozenTrial]:
        """The trials skopt is told: COMPLETE ones, and PRUNED ones if consider_pruned_trials."""
        states: tuple[TrialState, ...] = (TrialState.COMPLETE,)
        if self._consider_pruned_trials:
            states = (TrialState.COMPLETE, TrialState.PRUNED)
        return study.get_trials(deepcopy=False, states=states)

    def _observations(
        self, study: Study, search_space: dict[str, BaseDistribution]
    ) -> list[tuple[int, list[Any], float]]:
        """(trial number, point in skopt's coordinates, value to minimize) of each usable trial."""
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        observations = []
        for trial in self._learning_trials(study):
            value = _trial_value(trial)
            if value is None:
                continue
            if any(trial.distributions.get(n) != d for n, d in search_space.items()):
                continue
            point = [to_skopt_value(d, trial.params[n]) for n, d in search_space.items()]
            observations.append((trial.number, point, sign * value))
        # skopt needs finite values: an infinite result counts as the worst (or best) finite one.
        finite = [v for _, _, v in observations if math.isfinite(v)]
        if not finite:
            return []
        low, high = min(finite), max(finite)
        return [(n, p, min(max(v, low), high)) for n, p, v in observations]

    def _ask_study_optimizer(
        self,
        state: _StudyState,
        search_space: dict[str, BaseDistribution],
        observations: list[tuple[int, list[Any], float]],
    ) -> list[Any] | None:
        """Propose from the study's own Optimizer, or None when it has nothing new to go on."""
        with state.lock:
            if state.optimizer is None or state.optimizer_space != search_space:
                seed = self._seed if self._seed is not None else _fresh_seed()
                # The design (initial_point_generator) comes from the seed alone, so a resumed
                # study continues it; the draws after it from the seed and the results so far,
                # so a resumed study does not replay the draws of its first run.
                state.optimizer = self._build_optimizer(search_space, random_state=seed)
                state.optimizer.rng = np.random.RandomState(
                    _derived_seed(seed, len(observations), 1)
                )
                state.optimizer_space = dict(search_space)
                state.told = set()
            new = [(p, v) for n, p, v in observations if n not in state.told]
            if new:
                state.told.update(n for n, _, _ in observations)
                state.unused_tell = True
                _tell(state.optimizer, [p for p, _ in new], [v for _, v in new])
            if not state.unused_tell:
                # Another proposal is still running (parallel workers): asking again would repeat
                # it, so this one comes from a fresh Optimizer seeded per trial instead.
                return None
            state.unused_tell = False
            return _ask(state.optimizer)

    def _build_optimizer(
        self, search_space: dict[str, BaseDistribution], random_state: int
    ) -> Any:
        from skopt import Optimizer

        kwargs = dict(self._skopt_kwargs)
        estimator = kwargs["base_estimator"]
        if estimator == "GBRT":
            kwargs["base_estimator"] = QuantileGBRTRegressor(random_state=random_state)
        elif not isinstance(estimator, str) and "random_state" in estimator.get_params():
            # skopt seeds only the estimators it builds from a name; seed a given one too.
            kwargs["base_estimator"] = clone(estimator).set_params(random_state=random_state)
        dimensions = [to_skopt_dimension(d) for d in search_space.values()]
        if kwargs.get("acq_optimizer") == "lbfgs" and all(
            isinstance(d, CategoricalDistribution) for d in search_space.values()
        ):
            # skopt's GP on an all-categorical space (Hamming kernel) has no gradients.
            if "lbfgs-categorical" not in self._warned_params:
                self._warned_params.add("lbfgs-categorical")
                _logger.warning(
                    "SkoptSampler: acq_optimizer='lbfgs' needs gradients, which an "
                    "all-categorical space lacks; using acq_optimizer='sampling' for it."
                )
            kwargs["acq_optimizer"] = "sampling"
        return Optimizer(dimensions, random_state=random_state, **kwargs)


def _tell(optimizer: Any, points: list[list[Any]], values: list[float]) -> None:
    import warnings

    with warnings.catch_warnings():
        # skopt replaces a repeated proposal with a random point and says so; expected here.
        warnings.filterwarnings("ignore", message=_DUPLICATE_WARNING)
        optimizer.tell(points, values)


def _ask(optimizer: Any) -> list[Any]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DUPLICATE_WARNING)
        return list(optimizer.ask())


def _tell_and_ask(optimizer: Any, observations: list[tuple[int, list[Any], float]]) -> list[Any]:
    if observations:
        _tell(optimizer, [p for _, p, _ in observations], [v for _, _, v in observations])
    return _ask(optimizer)


def _seed_from_random_state(random_state: Any, seed: int | None) -> int | None:
    """skopt_kwargs['random_state'] (an int, None or a numpy RandomState) as the sampler's seed."""
    if isinstance(random_state, np.random.RandomState):
        if seed is not None:
            raise ValueError("give the seed once: either seed= or skopt_kwargs['random_state']")
        return int(random_state.randint(0, 2**31 - 1))
    if random_state is not None and not isinstance(random_state, (int, np.integer)):
        raise ValueError(
            "skopt_kwargs['random_state'] must be an int, None or a numpy.random.RandomState, "
            f"got {type(random_state).__name__}"
        )
    if seed is not None and random_state is not None and int(random_state) != seed:
        raise ValueError("give the seed once: either seed= or skopt_kwargs['random_state']")
    if seed is None and random_state is not None:
        return int(random_state)
    return seed


def _check_base_estimator(base_estimator: Any) -> Any:
    """Accept skopt's estimator names (any case) or a scikit-learn regressor; explain the rest."""
    if isinstance(base_estimator, str):
        name = base_estimator.upper()
        if name == "DUMMY":
            raise ValueError(
                "base_estimator='DUMMY' (pure random search) fails inside scikit-optimize with "
                "scikit-learn >= 1.6; use optuna.samplers.RandomSampler instead"
            )
        if name not in SKOPT_ESTIMATORS:
            raise ValueError(
                f"unknown base_estimator {base_estimator!r}; use one of "
                f"{', '.join(SKOPT_ESTIMATORS)} or a scikit-learn regressor whose predict() "
                "accepts return_std=True"
            )
        return name
    if not is_regressor(base_estimator):
        hint = ""
        if type(base_estimator).__name__ == "GradientBoostingQuantileRegressor":
            hint = (
                " skopt's GradientBoostingQuantileRegressor is not recognised as a regressor by "
                "scikit-learn >= 1.6; pass base_estimator='GBRT' (SkoptSampler then uses its "
                "own QuantileGBRTRegressor) or one of 'ET', 'RF', 'GP'."
            )
        raise ValueError(
            f"base_estimator {base_estimator!r} is not a scikit-learn regressor.{hint}"
        )
    return base_estimator


def _trial_value(trial: FrozenTrial) -> float | None:
    """The value a trial contributes: its result, or for a pruned one its last reported value."""
    if trial.state == TrialState.COMPLETE:
        assert trial.value is not None
        return float(trial.value)
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
        return None if math.isnan(value) else float(value)
    return None


def _raise_if_multi_objective(study: Study) -> None:
    if len(study.directions) > 1:
        directions = ", ".join(d.name.lower() for d in study.directions)
        raise ValueError(
            f"SkoptSampler optimizes a single objective, but study '{study.study_name}' has "
            f"{len(study.directions)} ({directions}). Use optuna.samplers.NSGAIISampler, "
            "TPESampler or GPSampler for multi-objective studies."
        )
