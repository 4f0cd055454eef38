"""tutorial_utils.lgbm: the declared search space drives sampling, the table and the checks; folds and scoring."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from sklearn.metrics import log_loss

from tutorial_utils.lgbm import (
    ParamSpec,
    baseline_trial_params,
    by_name,
    check_study_matches_space,
    cv_best,
    cv_folds,
    paired_bootstrap,
    per_sample_log_loss,
    space_table,
    suggest,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = [
    ParamSpec("learning_rate", "step size", "float", 0.03, 0.3, log=True, default=0.1),
    ParamSpec("num_leaves", "tree size", "int", 4, 128, log=True, default=31),
    ParamSpec("feature_fraction", "column share", "float", 0.4, 1.0, default=1.0),
    ParamSpec("use_bagging", "switch", "categorical", choices=(False, True), default=False),
    ParamSpec("bagging_fraction", "row share", "float", 0.4, 1.0, default=1.0, only_if=("use_bagging", True)),
    ParamSpec("lambda_l1", "L1", "float", 1e-8, 10.0, log=True, default=0.0),
]
INDEX = by_name(SPACE)


def sample_all(trial):
    """Samples SPACE the way the notebook's objective does: conditional child only when the switch is on."""
    params = {name: suggest(trial, INDEX[name]) for name in ("learning_rate", "num_leaves", "feature_fraction",
                                                              "lambda_l1")}
    if suggest(trial, INDEX["use_bagging"]):
        params["bagging_fraction"] = suggest(trial, INDEX["bagging_fraction"])
    return params


def random_study(objective, n_trials=40, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return study


# --------------------------------------------------------------------------------------------- ParamSpec


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "floaty", "low": 0, "high": 1}, "kind must be one of"),
        ({"kind": "float", "low": 1, "high": 1}, "needs low < high"),
        ({"kind": "float", "low": None, "high": 1}, "needs low < high"),
        ({"kind": "float", "low": 0.0, "high": 1, "log": True}, "must start above 0"),
        ({"kind": "int", "low": 1.5, "high": 4}, "integer bounds"),
        ({"kind": "categorical", "choices": (True,)}, "at least two choices"),
        ({"kind": "categorical", "choices": (1, 2), "low": 0}, "not low/high/log"),
        ({"kind": "categorical", "choices": (1, 2), "default": 3}, "is not one of the choices"),
        ({"kind": "float", "low": 0, "high": 1, "only_if": ("a",)}, "only_if must be"),
    ],
)
def test_bad_specs_are_refused_with_the_parameter_named(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        ParamSpec("my_param", "what it does", **kwargs)
    assert "my_param" in str(info.value)


def test_duplicate_names_and_unknown_parents_are_refused():
    with pytest.raises(ValueError, match="declares 'a' twice"):
        by_name([ParamSpec("a", "", "float", 0, 1), ParamSpec("a", "", "float", 0, 2)])
    with pytest.raises(ValueError, match="conditional on 'swich'"):
        by_name([ParamSpec("child", "", "float", 0, 1, only_if=("swich", True))])


def test_distribution_matches_kind_range_and_scale():
    lr = INDEX["learning_rate"].distribution()
    assert isinstance(lr, optuna.distributions.FloatDistribution)
    assert (lr.low, lr.high, lr.log) == (0.03, 0.3, True)
    leaves = INDEX["num_leaves"].distribution()
    assert isinstance(leaves, optuna.distributions.IntDistribution)
    assert (leaves.low, leaves.high, leaves.log) == (4, 128, True)
    assert INDEX["use_bagging"].distribution().choices == (False, True)


# ----------------------------------------------------------------------------------------- sampling


def test_suggest_stays_in_range_and_respects_the_log_scale():
    study = random_study(lambda t: sum(float(v) for v in sample_all(t).values()), n_trials=300)
    lrs = np.array([t.params["learning_rate"] for t in study.trials])
    assert lrs.min() >= 0.03 and lrs.max() <= 0.3
    # On a log scale half the draws fall below the geometric midpoint (~0.095); linear would put ~24 % there.
    below = np.mean(lrs < math.sqrt(0.03 * 0.3))
    assert 0.4 < below < 0.6
    leaves = [t.params["num_leaves"] for t in study.trials]
    assert all(isinstance(v, int) and 4 <= v <= 128 for v in leaves)


def test_conditional_child_appears_exactly_when_the_switch_is_on():
    study = random_study(lambda t: len(sample_all(t)), n_trials=60)
    on = [t for t in study.trials if t.params["use_bagging"]]
    off = [t for t in study.trials if not t.params["use_bagging"]]
    assert on and off, "60 random draws should hit both branches"
    assert all("bagging_fraction" in t.params for t in on)
    assert all("bagging_fraction" not in t.params for t in off)
    check_study_matches_space(study, SPACE)  # passes on a study sampled from the space


def test_check_detects_a_range_that_drifted_from_the_table():
    # The objective's range for learning_rate (0.001) is not the table's (0.03).
    study = random_study(lambda t: t.suggest_float("learning_rate", 0.001, 0.3, log=True), n_trials=2)
    with pytest.raises(AssertionError, match="learning_rate.*table declares"):
        check_study_matches_space(study, SPACE)


def test_check_detects_a_linear_scale_where_the_table_says_log():
    study = random_study(lambda t: t.suggest_float("lambda_l1", 1e-8, 10.0), n_trials=2)
    with pytest.raises(AssertionError, match="lambda_l1"):
        check_study_matches_space(study, SPACE)


def test_check_detects_parameters_missing_from_the_table():
    study = random_study(lambda t: t.suggest_int("max_depth", 2, 8), n_trials=2)
    with pytest.raises(AssertionError, match="'max_depth', which the search space lacks"):
        check_study_matches_space(study, SPACE)


def test_check_detects_a_child_sampled_although_its_switch_is_off():
    def leaky(trial):
        params = {name: suggest(trial, INDEX[name]) for name in ("learning_rate", "use_bagging")}
        suggest(trial, INDEX["bagging_fraction"])  # forgot the `if`
        return float(params["learning_rate"])

    study = random_study(leaky, n_trials=30)
    with pytest.raises(AssertionError, match="'bagging_fraction' is present although use_bagging = False"):
        check_study_matches_space(study, SPACE)


# ------------------------------------------------------------------------------------ table & baseline


def test_table_shows_each_spec_with_its_range_scale_default_and_condition():
    table = space_table(SPACE)
    assert list(table.index) == [s.name for s in SPACE]
    assert table.loc["learning_rate", "range searched"] == "0.03 – 0.3"
    assert table.loc["learning_rate", "log scale"] == "yes"
    assert table.loc["feature_fraction", "log scale"] == "no"
    assert table.loc["use_bagging", "range searched"] == "False / True"
    assert table.loc["bagging_fraction", "searched when"] == "use_bagging = True"
    assert table.loc["num_leaves", "searched when"] == "always"
    assert table.loc["num_leaves", "LightGBM default"] == "31"


def test_baseline_trial_uses_defaults_clipped_into_range_and_skips_switched_off_children():
    params = baseline_trial_params(SPACE)
    assert params == {
        "learning_rate": 0.1,
        "num_leaves": 31,
        "feature_fraction": 1.0,
        "use_bagging": False,
        "lambda_l1": 1e-8,  # LightGBM's 0 is outside the log range: moved to its lower end
    }
    assert isinstance(params["num_leaves"], int)
    # Enqueued as trial 0, it runs through the same objective and passes the consistency check.
    study = optuna.create_study()
    study.enqueue_trial(params)
    study.optimize(lambda t: len(sample_all(t)), n_trials=1)
    assert study.trials[0].params == params
    check_study_matches_space(study, SPACE)


def test_baseline_needs_every_default():
    with pytest.raises(ValueError, match="'x' has no default"):
        baseline_trial_params([ParamSpec("x", "", "float", 0, 1)])


# ------------------------------------------------------------------------------------------ folds


def test_cv_folds_are_stratified_disjoint_complete_and_reproducible():
    rng = np.random.default_rng(0)
    y = rng.choice([0, 1, 2], size=300, p=[0.6, 0.3, 0.1])
    folds = cv_folds(y, n_splits=5, seed=3)
    assert len(folds) == 5
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid) == list(range(len(y))), "every row is validated exactly once"
    for train, val in folds:
        assert not set(train) & set(val)
        assert len(train) + len(val) == len(y)
        for label in (0, 1, 2):  # each fold holds each class in (almost) the overall proportion
            assert abs(np.mean(y[val] == label) - np.mean(y == label)) < 0.02
    again = cv_folds(y, n_splits=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = cv_folds(y, n_splits=5, seed=4)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))


def test_cv_folds_refuse_too_few_members_of_a_class():
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(ValueError, match="class 1 has only 2 samples, fewer than n_splits=3"):
        cv_folds(y, n_splits=3, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        cv_folds(y, n_splits=1, seed=0)


def test_cv_folds_work_with_lightgbm_cv_and_early_stopping():
    lgb = pytest.importorskip("lightgbm")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    folds = cv_folds(y, n_splits=3, seed=0)
    params = {"objective": "multiclass", "num_class": 10, "metric": "multi_logloss", "verbosity": -1,
              "learning_rate": 0.3, "num_leaves": 8, "seed": 0, "num_threads": 1}
    result = lgb.cv(params, lgb.Dataset(X, y), num_boost_round=400, folds=folds,
                    callbacks=[lgb.early_stopping(5, verbose=False)])
    score, n_rounds = cv_best(result, "multi_logloss")
    history = result["valid multi_logloss-mean"]
    assert n_rounds < 400, "with learning_rate 0.3, early stopping should stop well before 400 rounds"
    assert score == pytest.approx(min(history)), "the last kept round is the best one"


def test_cv_best_names_the_available_keys_when_the_metric_is_missing():
    with pytest.raises(KeyError, match="valid auc-mean.*valid multi_logloss-mean"):
        cv_best({"valid multi_logloss-mean": [0.5, 0.4], "valid multi_logloss-stdv": [0.1, 0.1]}, "auc")
    assert cv_best({"valid auc-mean": [0.7, 0.8, 0.9]}, "auc") == (0.9, 3)


# ------------------------------------------------------------------------------------------ scoring


def test_per_sample_log_loss_averages_to_sklearn_log_loss():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, size=50)
    losses = per_sample_log_loss(y, proba)
    assert losses.shape == (50,)
    assert losses.mean() == pytest.approx(log_loss(y, proba, labels=[0, 1, 2, 3]))
    assert per_sample_log_loss(np.array([0]), np.array([[0.0, 1.0]]))[0] == pytest.approx(-math.log(1e-15))


def test_per_sample_log_loss_rejects_mismatched_input():
    with pytest.raises(ValueError, match="n_samples=3"):
        per_sample_log_loss(np.array([0, 1, 1]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        per_sample_log_loss(np.array([0, 2]), np.full((2, 2), 0.5))


def test_paired_bootstrap_finds_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(2)
    shared = rng.exponential(1.0, size=400)  # per-row difficulty both models share
    better = paired_bootstrap(shared + 0.05, shared, seed=0)  # a is worse by exactly 0.05 everywhere
    assert better.mean == pytest.approx(0.05)
    assert better.excludes_zero() and better.low > 0
    noise = rng.normal(0, 0.3, size=400)
    null = paired_bootstrap(shared + noise - noise.mean(), shared, seed=0)  # zero mean difference
    assert null.low < 0 < null.high and not null.excludes_zero()
    assert null.low < null.mean < null.high


def test_paired_bootstrap_interval_narrows_with_more_rows_and_is_reproducible():
    rng = np.random.default_rng(3)
    diff_small = rng.normal(0.1, 1.0, size=100)
    diff_large = rng.normal(0.1, 1.0, size=10_000)
    small = paired_bootstrap(diff_small, np.zeros(100), seed=0)
    large = paired_bootstrap(diff_large, np.zeros(10_000), n_boot=500, seed=0)
    assert (large.high - large.low) < (small.high - small.low) / 5
    assert paired_bootstrap(diff_small, np.zeros(100), seed=0) == small


def test_paired_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(np.zeros(3), np.zeros(3), level=95)
