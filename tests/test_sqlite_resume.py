"""A study in SQLite survives an interruption: reload it, resume with load_if_exists, lose nothing.

This is what notebook 05 demonstrates (run part of the budget, drop the study object, reopen, finish);
here it is checked outside the notebook, with every trial state (complete, pruned, failed) represented.
"""

from __future__ import annotations

import gc

import numpy as np
import optuna
import pytest

optuna.logging.set_verbosity(optuna.logging.ERROR)  # the deliberate failures would log warnings

STUDY = "resume-test"
N_TOTAL = 12
N_FIRST = 7
FAILING_TRIAL = 3


def objective(trial: optuna.Trial) -> float:
    """Reports a learning curve (so the pruner acts) and fails deliberately in one trial."""
    x = trial.suggest_float("x", -5.0, 5.0)
    use_offset = trial.suggest_categorical("use_offset", [False, True])
    offset = trial.suggest_float("offset", 0.1, 10.0, log=True) if use_offset else 0.0
    if trial.number == FAILING_TRIAL:
        raise ValueError("deliberate failure")
    final = (x - 2.0) ** 2 + offset
    for step in range(5):
        trial.report(final + 4.0 / (step + 1), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return final


def open_study(storage: str, seed: int, load_if_exists: bool = False) -> optuna.Study:
    """Sampler and pruner are not stored in the database, so every (re)opening passes them again."""
    return optuna.create_study(
        study_name=STUDY,
        storage=storage,
        direction="minimize",
        load_if_exists=load_if_exists,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=4),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )


def snapshot(study: optuna.Study) -> dict[int, tuple]:
    return {
        t.number: (t.state, t.params, t.value, t.intermediate_values, t.datetime_start, t.datetime_complete)
        for t in study.trials
    }


@pytest.fixture
def storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def test_interrupted_and_resumed_study_keeps_every_earlier_trial(storage):
    study = open_study(storage, seed=0)
    study.optimize(objective, n_trials=N_FIRST, catch=(ValueError,))
    before = snapshot(study)
    assert len(before) == N_FIRST
    del study  # the "crash": the object is gone, only the file remains
    gc.collect()

    study = open_study(storage, seed=1, load_if_exists=True)
    assert snapshot(study) == before, "reloading alone must give back exactly the trials that ran"
    study.optimize(objective, n_trials=N_TOTAL - N_FIRST, catch=(ValueError,))

    after = snapshot(study)
    assert len(after) == N_TOTAL
    assert sorted(after) == list(range(N_TOTAL)), "trial numbers continue without gaps or repeats"
    for number, record in before.items():
        assert after[number] == record, f"trial {number} changed after resuming"
    states = [record[0] for record in after.values()]
    assert all(s.is_finished() for s in states), "no trial may be left RUNNING"
    assert after[FAILING_TRIAL][0] == optuna.trial.TrialState.FAIL
    assert optuna.trial.TrialState.PRUNED in states and optuna.trial.TrialState.COMPLETE in states
    completed = [r[2] for r in after.values() if r[0] == optuna.trial.TrialState.COMPLETE]
    assert study.best_value == min(completed), "the best trial is chosen over both parts"

    # A third, independent handle on the file sees the same history.
    assert snapshot(optuna.load_study(study_name=STUDY, storage=storage)) == after


def test_a_keyboard_interrupt_fails_only_the_running_trial(storage):
    """A real Ctrl-C inside a trial: the trials before it stay intact and the resumed study adds the rest."""
    interrupt_at = 4

    def interrupted(trial):
        if trial.number == interrupt_at:
            raise KeyboardInterrupt
        return objective(trial)

    study = open_study(storage, seed=0)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=N_TOTAL, catch=(ValueError,))
    before = snapshot(study)
    assert sorted(before) == list(range(interrupt_at + 1))
    assert before[interrupt_at][0] == optuna.trial.TrialState.FAIL
    del study
    gc.collect()

    study = open_study(storage, seed=1, load_if_exists=True)
    remaining = N_TOTAL - len(before)
    study.optimize(objective, n_trials=remaining, catch=(ValueError,))
    after = snapshot(study)
    assert sorted(after) == list(range(N_TOTAL))
    assert all(after[n] == before[n] for n in before)


def test_creating_an_existing_study_without_load_if_exists_refuses(storage):
    study = open_study(storage, seed=0)
    study.optimize(objective, n_trials=2)
    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        open_study(storage, seed=0, load_if_exists=False)
    assert len(open_study(storage, seed=0, load_if_exists=True).trials) == 2


def test_resuming_with_the_same_seed_repeats_the_random_startup_configurations(storage):
    """Why notebook 05 reseeds on resume: a re-created seeded sampler restarts its random stream."""

    def plain(trial):
        return trial.suggest_float("x", -5.0, 5.0) ** 2

    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=10)
    study = optuna.create_study(study_name="same-seed", storage=storage, sampler=sampler)
    study.optimize(plain, n_trials=3)
    resumed = optuna.create_study(study_name="same-seed", storage=storage, load_if_exists=True,
                                  sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=10))
    resumed.optimize(plain, n_trials=3)
    xs = [t.params["x"] for t in resumed.trials]
    assert xs[3:] == xs[:3], "same seed: the resumed startup trials repeat the first ones"

    reseeded = optuna.create_study(study_name="same-seed", storage=storage, load_if_exists=True,
                                   sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=10))
    reseeded.optimize(plain, n_trials=3)
    xs = [t.params["x"] for t in reseeded.trials]
    assert not set(xs[6:]) & set(xs[:3]), "a new seed proposes new configurations"


def test_lightgbm_study_with_pruning_callback_resumes_from_sqlite(storage):
    """The notebook's setting in miniature: lgb.cv on digits, LightGBMPruningCallback, SQLite, resume."""
    lgb = pytest.importorskip("lightgbm")
    from optuna_integration import LightGBMPruningCallback
    from sklearn.datasets import load_digits

    from tutorial_utils.lgbm import cv_best, cv_folds

    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    folds = cv_folds(y, n_splits=3, seed=0)

    def lgb_objective(trial):
        params = {"objective": "multiclass", "num_class": 10, "metric": "multi_logloss", "verbosity": -1,
                  "num_threads": 1, "seed": 0, "feature_pre_filter": False,
                  "learning_rate": trial.suggest_float("learning_rate", 0.05, 0.5, log=True),
                  "num_leaves": trial.suggest_int("num_leaves", 4, 32, log=True)}
        callbacks = [lgb.early_stopping(5, verbose=False), lgb.log_evaluation(0),
                     LightGBMPruningCallback(trial, "multi_logloss", report_interval=5)]
        result = lgb.cv(params, lgb.Dataset(X, y, params={"feature_pre_filter": False}), num_boost_round=30,
                        folds=folds, callbacks=callbacks)
        return cv_best(result, "multi_logloss")[0]

    def open_lgb(seed, load_if_exists=False):
        return optuna.create_study(study_name="lgb", storage=storage, load_if_exists=load_if_exists,
                                   sampler=optuna.samplers.TPESampler(seed=seed),
                                   pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=5))

    study = open_lgb(0)
    study.optimize(lgb_objective, n_trials=3)
    before = snapshot(study)
    del study
    gc.collect()
    study = open_lgb(1, load_if_exists=True)
    study.optimize(lgb_objective, n_trials=3)
    after = snapshot(study)
    assert sorted(after) == list(range(6))
    assert all(after[n] == before[n] for n in before)
    assert all(after[n][3] for n in after), "every trial's reported learning curve is stored"
    complete = [r for r in after.values() if r[0] == optuna.trial.TrialState.COMPLETE]
    assert complete and all(np.isfinite(r[2]) and r[2] < np.log(10) for r in complete), "better than chance"
