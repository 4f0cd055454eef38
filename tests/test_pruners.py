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


def test_sh_and_hyperband_are_built_with_their_settings():
    sh = make_pruner("sh", reduction_factor=3, min_resource=2)
    assert isinstance(sh, optuna.pruners.SuccessiveHalvingPruner)
    hb = make_pruner("hyperband", n_epochs=50)
    assert isinstance(hb, optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner("patient"), optuna.pruners.PatientPruner)


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
