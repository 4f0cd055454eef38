"""Tests of SkoptSampler, run from the registry's root: ``pytest package/samplers/skopt_sampler/tests``.

Optuna's own test cases for third-party samplers (``optuna.testing.pytest_samplers``) in three
configurations, then the behaviours Optuna expects of every sampler and what is particular to this one.
"""

from __future__ import annotations

from collections.abc import Callable
import copy
import logging
import math
import pickle
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.search_space import intersection_search_space
from optuna.testing.pytest_samplers import BasicSamplerTestCase
from optuna.testing.pytest_samplers import RelativeSamplerTestCase
from optuna.testing.pytest_samplers import SingleOnlySamplerTestCase
from optuna.trial import FrozenTrial
from optuna.trial import Trial
from optuna.trial import TrialState
import optunahub
import pytest


module = optunahub.load_local_module(package="samplers/skopt_sampler", registry_root="package/")
SkoptSampler = module.SkoptSampler

optuna.logging.set_verbosity(optuna.logging.ERROR)

# The acquisition is maximised over 500 random points (skopt's default is 10,000, and L-BFGS-B from 5
# starts for a GP): the same code paths at a twentieth of the cost, so the suite stays within minutes.
FEW_POINTS: dict[str, Any] = {"n_points": 500, "n_restarts_optimizer": 1}
# The original study's settings with fewer start-up points, so the test cases reach the model.
ET_EI: dict[str, Any] = {
    "base_estimator": "ET",
    "n_initial_points": 2,
    "acq_func": "EI",
    "acq_func_kwargs": {"xi": 0.02},
    "acq_optimizer_kwargs": FEW_POINTS,
}
GP_HEDGE: dict[str, Any] = {
    "base_estimator": "GP",
    "n_initial_points": 2,
    "acq_optimizer_kwargs": FEW_POINTS,
}  # one Optimizer per study
LHS: dict[str, Any] = {
    "base_estimator": "ET",
    "n_initial_points": 4,
    "initial_point_generator": "lhs",
    "acq_optimizer_kwargs": FEW_POINTS,
}


class TestStateless(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: SkoptSampler(skopt_kwargs=dict(ET_EI), seed=0)


class TestGpHedge(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: SkoptSampler(skopt_kwargs=dict(GP_HEDGE), seed=0)


class TestLatinHypercube(BasicSamplerTestCase, RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: SkoptSampler(skopt_kwargs=dict(LHS), seed=0)


CONFIGS = pytest.mark.parametrize(
    "kwargs", [ET_EI, GP_HEDGE, LHS], ids=["et-ei", "gp-hedge", "lhs"]
)


def _study(kwargs: dict[str, Any], seed: int = 0, **options: Any) -> optuna.Study:
    return optuna.create_study(
        sampler=SkoptSampler(skopt_kwargs=dict(kwargs), seed=seed, **options)
    )


def _quadratic(trial: Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", -5, 5)
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# -- every distribution, single values, conditional spaces --------------------------------------


@CONFIGS
def test_every_distribution_type_including_mixed_categorical_choices(
    kwargs: dict[str, Any],
) -> None:
    choices = (None, True, 1, 1.5, "a")

    def objective(trial: Trial) -> float:
        a = trial.suggest_float("a", -1.0, 1.0, step=0.25)
        b = trial.suggest_float("b", 1e-3, 1.0, log=True)
        c = trial.suggest_int("c", 1, 1000, log=True)
        d = trial.suggest_int("d", 0, 10, step=5)
        e = trial.suggest_categorical("e", choices)
        return a + b + math.log(c) + d + choices.index(e)

    study = _study(kwargs)
    study.optimize(objective, n_trials=10)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert t.params["a"] in np.arange(-1.0, 1.01, 0.25) and isinstance(t.params["a"], float)
        assert 1e-3 <= t.params["b"] <= 1.0
        assert 1 <= t.params["c"] <= 1000 and type(t.params["c"]) is int
        assert t.params["d"] in (0, 5, 10) and type(t.params["d"]) is int
        assert any(
            t.params["e"] is c or (type(t.params["e"]) is type(c) and t.params["e"] == c)
            for c in choices
        )


@CONFIGS
def test_single_value_distributions(kwargs: dict[str, Any]) -> None:
    def objective(trial: Trial) -> float:
        fixed = trial.suggest_float("fixed", 1.0, 1.0) + trial.suggest_int("one", 3, 3)
        trial.suggest_categorical("only", ["x"])
        return fixed + trial.suggest_float("x", 0.0, 1.0)

    study = _study(kwargs)
    study.optimize(objective, n_trials=6)
    assert {t.params["fixed"] for t in study.trials} == {1.0}
    assert {t.params["one"] for t in study.trials} == {3}
    space = study.sampler.infer_relative_search_space(study, study.trials[-1])
    assert set(space) == {"x"}  # single values are left out of what skopt sees


@CONFIGS
def test_conditional_space(kwargs: dict[str, Any]) -> None:
    def objective(trial: Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if kind == "a":
            return trial.suggest_float("a", 0.0, 1.0)
        return trial.suggest_int("b", 0, 3) + trial.suggest_float("shared", -1.0, 1.0)

    study = _study(kwargs, warn_independent_sampling=False)
    study.optimize(objective, n_trials=12)
    for t in study.trials:
        assert ("a" in t.params) == (t.params["kind"] == "a")
    space = study.sampler.infer_relative_search_space(study, study.trials[-1])
    assert space == intersection_search_space(
        study.get_trials(deepcopy=False)
    )  # cached, same result


# -- values and states ---------------------------------------------------------------------------


@CONFIGS
def test_nan_and_inf_objective_values(kwargs: dict[str, Any]) -> None:
    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        return [float("nan"), float("inf"), -float("inf"), x][trial.number % 4]

    study = _study(kwargs)
    study.optimize(objective, n_trials=12)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) == 3  # Optuna fails a NaN result
    assert states.count(TrialState.COMPLETE) == 9


@CONFIGS
@pytest.mark.parametrize("consider_pruned_trials", [False, True])
def test_fail_and_pruned_trials(kwargs: dict[str, Any], consider_pruned_trials: bool) -> None:
    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number % 3 == 1:
            raise ValueError("a failed trial")
        if trial.number % 3 == 2:
            trial.report(x, 0)
            raise optuna.TrialPruned()
        return x

    study = _study(kwargs, consider_pruned_trials=consider_pruned_trials)
    study.optimize(objective, n_trials=12, catch=(ValueError,))
    assert {t.state for t in study.trials} == {
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.PRUNED,
    }


@CONFIGS
def test_enqueued_trials_and_fixed_params(kwargs: dict[str, Any]) -> None:
    study = _study(kwargs)
    study.enqueue_trial({"x": 1.5, "y": 3})
    study.optimize(_quadratic, n_trials=4)
    assert study.trials[0].params == {"x": 1.5, "y": 3}
    study.sampler = optuna.samplers.PartialFixedSampler({"y": -2}, study.sampler)
    study.optimize(_quadratic, n_trials=4)
    assert [t.params["y"] for t in study.trials[4:]] == [-2] * 4


@CONFIGS
def test_parallel_threads(kwargs: dict[str, Any]) -> None:
    study = _study(kwargs)
    study.optimize(_quadratic, n_trials=16, n_jobs=4)
    assert len([t for t in study.trials if t.state == TrialState.COMPLETE]) == 16
    points = {(t.params["x"], t.params["y"]) for t in study.trials}
    assert len(points) >= 14  # workers asking at once do not all get the same point


# -- seeds: reproducible, reseedable, resumable ------------------------------------------------


@CONFIGS
def test_a_seed_reproduces_a_study_and_another_seed_does_not(kwargs: dict[str, Any]) -> None:
    def params(seed: int) -> list[dict[str, Any]]:
        study = _study(kwargs, seed=seed)
        study.optimize(_quadratic, n_trials=8)
        return [t.params for t in study.trials]

    assert params(3) == params(3)
    assert params(3) != params(4)


@CONFIGS
def test_reseed_rng_changes_what_a_seeded_sampler_suggests_next(kwargs: dict[str, Any]) -> None:
    study = _study(kwargs)
    study.optimize(_quadratic, n_trials=6)
    trials = study.get_trials(deepcopy=False)
    space = study.sampler.infer_relative_search_space(study, trials[-1])

    def next_point(sampler: BaseSampler) -> dict[str, Any]:
        clone = optuna.create_study(sampler=sampler)
        clone.add_trials(trials)
        trial = clone.ask()
        return sampler.sample_relative(clone, clone._storage.get_trial(trial._trial_id), space)

    same = copy.deepcopy(study.sampler)
    reseeded = copy.deepcopy(study.sampler)
    reseeded.reseed_rng()
    assert next_point(copy.deepcopy(same)) == next_point(same)
    assert next_point(reseeded) != next_point(copy.deepcopy(study.sampler))


@CONFIGS
def test_a_resumed_study_is_reproducible_and_does_not_replay(
    kwargs: dict[str, Any], tmp_path: Any
) -> None:
    def resumed(name: str) -> list[dict[str, Any]]:
        storage = f"sqlite:///{tmp_path}/{name}.db"
        for _ in range(2):  # a first run, then a resumed one with a new sampler
            study = optuna.create_study(
                study_name=name,
                storage=storage,
                load_if_exists=True,
                sampler=SkoptSampler(skopt_kwargs=dict(kwargs), seed=0),
            )
            study.optimize(_quadratic, n_trials=5)
        return [t.params for t in study.trials]

    first, again = resumed("a"), resumed("b")
    assert first == again
    assert not [p for p in first[5:] if p in first[:5]]


def test_pickle_and_deepcopy() -> None:
    study = _study(GP_HEDGE)
    study.optimize(_quadratic, n_trials=4)
    for sampler in (pickle.loads(pickle.dumps(study.sampler)), copy.deepcopy(study.sampler)):
        study.sampler = sampler
        study.optimize(_quadratic, n_trials=2)
    assert len(study.trials) == 8


# -- skopt's state: the design and gp_hedge's portfolio -----------------------------------------


def test_a_latin_hypercube_design_is_one_design() -> None:
    n = 9
    study = _study(
        {"base_estimator": "ET", "n_initial_points": n, "initial_point_generator": "lhs"}
    )
    study.optimize(
        lambda t: t.suggest_float("x", 0.0, 1.0) + t.suggest_float("y", 0.0, 1.0), n_trials=n
    )
    # Trial 0 is the independent sampler's (no search space is known before a trial ran); trials 1..8
    # are points 1..8 of one design, so they fall in 8 different strata of 9 on each axis.
    for name in ("x", "y"):
        strata = [min(int(t.params[name] * n), n - 1) for t in study.trials[1:]]
        assert len(set(strata)) == n - 1, (name, strata)


def test_gp_hedge_keeps_one_optimizer_whose_portfolio_learns() -> None:
    sampler = SkoptSampler(skopt_kwargs=dict(GP_HEDGE), seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=4)
    state = sampler._state(study)
    optimizer = state.optimizer
    study.optimize(_quadratic, n_trials=6)
    assert state.optimizer is optimizer  # the same Optimizer across trials
    assert (
        len(optimizer.yi) == 10 - 1
    )  # told each finished trial once (the last one after it ended: not yet)
    assert len(set(np.round(optimizer.gains_, 12))) > 1  # the gains of LCB, EI and PI moved apart


# -- errors, settings and hooks -------------------------------------------------------------------


def test_several_objectives_get_a_clear_error() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=SkoptSampler())
    with pytest.raises(ValueError, match="single objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


@pytest.mark.parametrize("acq_func", ["EIps", "PIps"])
def test_time_aware_acquisitions_are_refused_at_construction(acq_func: str) -> None:
    with pytest.raises(ValueError, match="time each evaluation took"):
        SkoptSampler(skopt_kwargs={"acq_func": acq_func})


def test_random_state_may_be_a_numpy_random_state() -> None:
    def params() -> list[dict[str, Any]]:
        sampler = SkoptSampler(skopt_kwargs={**ET_EI, "random_state": np.random.RandomState(0)})
        study = optuna.create_study(sampler=sampler)
        study.optimize(_quadratic, n_trials=5)
        return [t.params for t in study.trials]

    assert params() == params()
    with pytest.raises(ValueError, match="seed once"):
        SkoptSampler(skopt_kwargs={"random_state": np.random.RandomState(0)}, seed=1)
    with pytest.raises(ValueError, match="RandomState"):
        SkoptSampler(skopt_kwargs={"random_state": "zero"})


def test_lbfgs_on_an_all_categorical_space_falls_back_to_sampling() -> None:
    records = _Records()
    logging.getLogger("optuna").addHandler(records)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        sampler = SkoptSampler(
            skopt_kwargs={"base_estimator": "GP", "n_initial_points": 2, "acq_optimizer": "lbfgs"}
        )
        study = optuna.create_study(sampler=sampler)
        study.optimize(
            lambda t: float(
                t.suggest_categorical("a", [0, 1, 2]) + t.suggest_categorical("b", [0, 1])
            ),
            n_trials=5,
        )
    finally:
        logging.getLogger("optuna").removeHandler(records)
        optuna.logging.set_verbosity(optuna.logging.ERROR)
    assert len([t for t in study.trials if t.state == TrialState.COMPLETE]) == 5
    assert any("acq_optimizer='sampling'" in m for m in records.messages)


def test_it_logs_through_optuna_logging_and_set_verbosity_silences_it() -> None:
    def run() -> list[str]:
        records = _Records()
        logging.getLogger("optuna").addHandler(records)
        try:
            study = _study(ET_EI)
            study.optimize(
                lambda t: (
                    t.suggest_float("x", 0, 1)
                    + (t.suggest_float("y", 0, 1) if t.number % 2 else 0)
                ),
                n_trials=5,
            )
        finally:
            logging.getLogger("optuna").removeHandler(records)
        return [m for m in records.messages if "SkoptSampler: parameter 'y'" in m]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        assert len(run()) == 1  # once per parameter
    finally:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
    assert run() == []


def test_before_and_after_trial_reach_the_independent_sampler() -> None:
    class Recording(optuna.samplers.RandomSampler):
        def __init__(self) -> None:
            super().__init__(seed=0)
            self.calls: list[str] = []

        def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
            self.calls.append(f"before {trial.number}")

        def after_trial(
            self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any
        ) -> None:
            self.calls.append(f"after {trial.number} {state.name}")

    recording = Recording()
    study = optuna.create_study(sampler=SkoptSampler(independent_sampler=recording, seed=0))
    study.optimize(_quadratic, n_trials=2)
    assert recording.calls == ["before 0", "after 0 COMPLETE", "before 1", "after 1 COMPLETE"]
