"""The runner's pruners by name: settings that take effect, clear errors before any storage, and budgets."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from conftest import REPO
from tutorial_utils import prepare
from tutorial_utils.pruners import PrunerConfigError, make_pruner
from tutorial_utils.studies import StudySpec, run_study


def _study_with_completed(curves: list[list[float]], pruner) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for curve in curves:
        study.add_trial(create_trial(value=curve[-1], intermediate_values=dict(enumerate(curve)),
                                     params={}, distributions={}))
    return study


def _pruned_at(study: optuna.Study, curve: list[float]) -> int | None:
    """Report ``curve`` step by step in a new trial; the step at which the pruner stops it, or None."""
    trial = study.ask()
    for step, value in enumerate(curve):
        trial.report(value, step)
        if trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
            return step
    study.tell(trial, curve[-1])
    return None


GOOD = [[50.0, 60.0, 65.0, 68.0, 69.0, 70.0]] * 5
BAD = [45.0, 44.0, 43.0, 42.0, 41.0, 40.0]  # below every completed trial, and getting worse


@pytest.mark.parametrize(
    "name, settings, expected",
    [
        ("median", {}, 0),  # the original's MedianPruner(): from the first step
        ("median", {"n_warmup_steps": 3}, 3),  # a warm-up: never before step 3
        ("median", {"interval_steps": 2}, 0),
        ("patient", {"patience": 2}, 3),  # below the median AND no better than its best of 3 steps before
        ("none", {}, None),
    ],
)
def test_a_clearly_worse_trial_is_stopped_where_the_settings_say(name, settings, expected):
    study = _study_with_completed(GOOD, make_pruner(name, n_epochs=6, **settings))
    assert _pruned_at(study, BAD) == expected


def test_median_counts_only_completed_trials():
    # Five pruned trials far below do not lower the bar: only the completed ones make the median.
    study = _study_with_completed(GOOD, make_pruner("median"))
    for _ in range(5):
        study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 10.0}, params={},
                                     distributions={}))
    assert _pruned_at(study, [45.0] * 6) == 0


def _pruned_steps(pruner, curves: list[list[float]]) -> list[int | None]:
    """Run ``curves`` one after the other as trials of one maximising study; where each was pruned (or None)."""
    study = optuna.create_study(direction="maximize", pruner=pruner, study_name="pruner-known-answers")
    return [_pruned_at(study, curve) for curve in curves]


LEADER, WORSE = [10.0] * 10, [5.0] * 10  # a constant curve is at the same value at every rung


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({}, 1),  # Optuna's defaults: min_resource 1, so the first rung is step 1
        ({"min_resource": 2, "reduction_factor": 3}, 2),  # first rung at step min_resource
        ({"min_resource": 3}, 3),
        ({"min_early_stopping_rate": 1}, 4),  # first rung at min_resource * reduction_factor ** 1 = 1 * 4
        ({"min_resource": 2, "min_early_stopping_rate": 1, "reduction_factor": 2}, 4),  # 2 * 2 ** 1
    ],
)
def test_successive_halving_first_rung_is_where_the_settings_put_it(settings, expected):
    # The first trial is promoted at every rung (nothing to compete with); the worse one stops at the first rung.
    assert _pruned_steps(make_pruner("sh", **settings), [LEADER, WORSE]) == [None, expected]


def test_successive_halving_reduction_factor_sets_the_share_promoted():
    # At the first rung (step 1) five trials compete: 10, 4, 3, 2 and then 9. With reduction_factor 2 the top
    # 5 // 2 = 2 go on, so 9 (second best) is promoted and stops at the next rung (step 2: 9 < 10, the only
    # other trial there). With 4 (the runner's default) only the top 5 // 4 = 1 goes on: 9 stops at step 1.
    curves = [[10.0] * 4, [4.0] * 4, [3.0] * 4, [2.0] * 4, [9.0] * 4]
    assert _pruned_steps(make_pruner("sh", reduction_factor=2), curves) == [None, 1, 1, 1, 2]
    assert _pruned_steps(make_pruner("sh"), curves) == [None, 1, 1, 1, 1]


def _worse_after_a_running_leader(pruner) -> int | None:
    """A leader reports 10 at steps 0 and 1 and is still running; where a trial at 5 is stopped (or None)."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    leader = study.ask()
    for step in (0, 1):
        leader.report(10.0, step)
        assert not leader.should_prune()
    return _pruned_at(study, [5.0, 5.0])


def test_hyperband_takes_its_last_step_from_the_study_epochs():
    # n_epochs=2 with reduction factor 3 makes one bracket (floor(log3(2 / 1)) + 1 = 1), a successive-halving
    # pruner whose first rung is step 1: the worse trial stops there, before any trial has completed.
    assert _worse_after_a_running_leader(make_pruner("hyperband", n_epochs=2)) == 1
    # Without n_epochs Optuna's "auto" waits for a completed trial to learn the last step: no pruning yet.
    assert _worse_after_a_running_leader(make_pruner("hyperband")) is None
    # min_resource moves the first rung: n_epochs=4, min_resource=2 is one bracket again, first rung at step 2.
    assert _pruned_steps(make_pruner("hyperband", n_epochs=4, min_resource=2), [LEADER[:4], WORSE[:4]]) == [None, 2]


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("asha", {}, "unknown pruner 'asha'; choose one of median, sh, hyperband, patient, none"),
        ("median", {"patience": 3}, "pruner 'median' takes no setting patience; it takes n_startup_trials"),
        ("none", {"n_warmup_steps": 1}, "takes no setting n_warmup_steps; it takes no settings"),
        ("sh", {"reduction_factor": 1}, "pruner 'sh' rejects the settings"),
        ("median", {"n_warmup_steps": -1}, "pruner 'median' rejects the settings"),
    ],
)
def test_bad_names_and_settings_are_clear_errors(name, settings, message):
    with pytest.raises(PrunerConfigError, match=message):
        make_pruner(name, **settings)


def test_cli_refuses_a_bad_pruner_setting_before_touching_the_storage(tmp_path):
    db = tmp_path / "never.db"
    done = subprocess.run(
        [sys.executable, "-m", "tutorial_utils", "run", "--pruner", "sh", "--pruner-kwargs", '{"reduction_factor": 1}',
         "--data", "synthetic", "--storage", f"sqlite:///{db}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "pruner 'sh' rejects the settings" in done.stderr
    assert "Traceback" not in done.stderr and not db.exists()


def test_hyperband_trains_fewer_epochs_than_no_pruning_on_the_same_budget():
    data = prepare.load_study_data("synthetic", image_side=12, synthetic_rows=400, verbose=False)
    spent = {}
    for pruner in ("none", "hyperband"):
        spec = StudySpec(sampler="random", seed=0, n_trials=16, n_epochs=6, batch_size=64, pruner=pruner)
        study = run_study(spec, data, None, progress=False)
        assert len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == 16
        spent[pruner] = sum(len(t.intermediate_values) for t in study.trials)
    assert spent["none"] == 16 * 6
    assert spent["hyperband"] < spent["none"]
