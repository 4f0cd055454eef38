"""tutorial_utils.lgbm: reusable stratified folds, lgb.cv's result read correctly, per-row log loss, paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss

from tutorial_utils.lgbm import cv_best, cv_folds
from tutorial_utils.stats import paired_bootstrap, per_sample_log_loss

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
