"""The showdown's design: paired start-up, the sampler's phase per trial, test scores kept out of selection,
resume after a killed run, and the per-trial records the notebook reads."""

from __future__ import annotations

import re
import subprocess
import sys

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from conftest import REPO
from tutorial_utils import prepare, records, studies
from tutorial_utils.studies import StudySpec, run_study, sampler_phase

TINY = {"n_epochs": 2, "batch_size": 64}


@pytest.fixture(scope="module")
def tiny_faces():
    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=400, verbose=False)


def _history(n_complete: int, n_pruned: int, n_failed: int = 0) -> list:
    dist = {"x": FloatDistribution(0, 1)}
    made = [create_trial(params={"x": 0.5}, distributions=dist, value=1.0) for _ in range(n_complete)]
    made += [
        create_trial(params={"x": 0.5}, distributions=dist, state=TrialState.PRUNED, intermediate_values={0: 0.3})
        for _ in range(n_pruned)
    ]
    made += [create_trial(params={"x": 0.5}, distributions=dist, state=TrialState.FAIL) for _ in range(n_failed)]
    return made


@pytest.mark.parametrize(
    "sampler, expected",
    [
        ("random", ("random", 0)),
        ("skopt", ("random start-up", 8)),  # learns from COMPLETE only: 8 < 10
        ("gp", ("random start-up", 8)),  # Optuna 5's GPSampler counts COMPLETE trials
        ("skopt-pruned", ("model", 13)),  # COMPLETE and PRUNED
        ("tpe", ("model", 13)),  # TPE counts COMPLETE and PRUNED
    ],
)
def test_sampler_phase_counts_what_each_sampler_learns_from(sampler, expected):
    assert sampler_phase(sampler, _history(8, 5, n_failed=3)) == expected


def test_sampler_phase_is_model_from_the_tenth_usable_trial():
    assert sampler_phase("skopt", _history(9, 0))[0] == "random start-up"
    assert sampler_phase("skopt", _history(10, 0)) == ("model", 10)


def test_skopt_pruned_arm_really_learns_from_pruned_trials():
    from tutorial_utils.samplers import SkoptSampler

    assert studies.make_sampler("skopt-pruned", seed=0)._consider_pruned_trials is True
    assert studies.make_sampler("skopt", seed=0)._consider_pruned_trials is False
    assert isinstance(studies.make_sampler("skopt-pruned", seed=0), SkoptSampler)


def test_arms_of_one_seed_start_from_the_same_configurations_with_the_same_scores(tiny_faces):
    runs = {
        arm: run_study(StudySpec(sampler=arm, seed=2, n_trials=11, pruner="median", **TINY), tiny_faces, None,
                       progress=False)
        for arm in ("random", "skopt", "tpe")
    }
    first = {arm: sorted(s.trials, key=lambda t: t.number)[:10] for arm, s in runs.items()}
    for arm in ("skopt", "tpe"):
        assert [t.params for t in first[arm]] == [t.params for t in first["random"]]
        assert [t.state for t in first[arm]] == [t.state for t in first["random"]]
        assert [t.intermediate_values for t in first[arm]] == [t.intermediate_values for t in first["random"]]
    assert all(t.user_attrs["sampler_phase"] == "paired start-up" for t in first["skopt"])
    # Another seed starts elsewhere.
    other = run_study(StudySpec(sampler="random", seed=3, n_trials=1, **TINY), tiny_faces, None, progress=False)
    assert other.trials[0].params != first["random"][0].params


def test_test_accuracy_is_recorded_for_completed_trials_only(tiny_faces):
    study = run_study(StudySpec(sampler="random", seed=5, n_trials=12, **TINY), tiny_faces, None, progress=False)
    for t in study.trials:
        if t.state == TrialState.COMPLETE:
            assert 0 <= t.user_attrs["test_age_accuracy"] <= 100
        else:
            assert "test_age_accuracy" not in t.user_attrs


def test_a_killed_run_is_resumed_its_unfinished_trial_failed_and_its_configuration_rerun(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    spec = StudySpec(sampler="skopt", seed=1, n_trials=2, pruner="none", **TINY)
    run_study(spec, tiny_faces, url, progress=False)
    study = optuna.load_study(study_name=spec.name, storage=url)
    bigger = StudySpec(**{**spec.__dict__, "n_trials": 4})
    studies.queue_paired_startup(study, bigger)  # what a run with budget 4 queues first
    orphan = study.ask()  # what a killed process leaves behind: paired start-up trial 2, RUNNING forever
    assert orphan.user_attrs["paired_startup"] == 2
    resumed = run_study(bigger, tiny_faces, url, progress=False)
    trials = sorted(resumed.trials, key=lambda t: t.number)
    assert trials[orphan.number].state == TrialState.FAIL
    counted = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(counted) == 4
    assert sorted(t.user_attrs["paired_startup"] for t in counted) == [0, 1, 2, 3]  # none lost, none twice
    rerun = next(t for t in counted if t.user_attrs["paired_startup"] == 2)
    assert rerun.params == studies.startup_configs(1, 4)[2]


def test_records_round_trip_and_summary_selects_on_validation(tiny_faces, tmp_path):
    study = run_study(StudySpec(sampler="tpe", seed=0, n_trials=12, **TINY), tiny_faces, None, progress=False)
    path = records.write_records(study, tmp_path)
    table = records.read_records(path)
    assert len(table) == 12 and set(table["state"]) <= {"COMPLETE", "PRUNED"}
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: (t.value, -t.number))
    row = records.summarize(table).iloc[0]
    assert row["selected_trial"] == best.number and row["best_valid"] == pytest.approx(best.value)
    assert row["selected_test"] == pytest.approx(best.user_attrs["test_age_accuracy"])
    assert row["best_test_if_selected_on_test"] == pytest.approx(max(t.user_attrs["test_age_accuracy"] for t in complete))
    assert row["completed"] + row["pruned"] == 12 and row["reached_budget"]
    one = table[table["number"] == best.number].iloc[0]
    assert list(records.curve(one)) == pytest.approx([best.intermediate_values[e] for e in (0, 1)], abs=1e-3)
    assert records.best_so_far(table)[-1] == pytest.approx(best.value)


def test_best_so_far_counts_pruned_trials_as_spent_and_keeps_the_previous_best():
    table = pd.DataFrame({
        "number": [0, 1, 2, 3, 4],
        "state": ["PRUNED", "COMPLETE", "PRUNED", "COMPLETE", "FAIL"],
        "value": [None, 50.0, None, 48.0, None],
    })
    out = records.best_so_far(table)
    assert out[0] != out[0]  # NaN before any completed trial
    assert list(out[1:]) == [50.0, 50.0, 50.0]  # the FAIL trial is not a trial paid for


def test_bad_records_name_the_file_row_and_column(tmp_path, tiny_faces):
    study = run_study(StudySpec(sampler="random", seed=0, n_trials=3, **TINY), tiny_faces, None, progress=False)
    path = records.write_records(study, tmp_path)
    frame = pd.read_csv(path)
    frame.loc[1, "state"] = "DONE"
    frame.to_csv(path, index=False)
    with pytest.raises(records.ResultsFormatError, match=r"random-seed0.csv, row 3, column 'state': 'DONE'"):
        records.read_records(path)
    frame = pd.read_csv(path).drop(columns=["valid_curve"])
    frame.to_csv(path, index=False)
    with pytest.raises(records.ResultsFormatError, match=r"missing column\(s\) \['valid_curve'\]"):
        records.read_records(path)
    with pytest.raises(FileNotFoundError, match="no records"):
        records.load_records(tmp_path / "empty")


@pytest.mark.parametrize("script", ["run_showdown", "run_luck", "run_audit", "run_pruning"])
def test_the_experiments_start_from_the_repository_root(script):
    """experiments/ holds scripts, not a package: each finds the course (run_luck also benchmarks.common) itself."""
    done = subprocess.run([sys.executable, f"experiments/{script}.py", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"python experiments/{script}.py" in (REPO / "experiments" / f"{script}.py").read_text()


def test_the_results_summaries_name_the_script_that_regenerates_them():
    summaries = sorted((REPO / "results").glob("*_summary.md"))
    assert summaries
    for path in summaries:
        (script,) = re.findall(r"^Generated by `python (\S+) summarize`", path.read_text(), flags=re.MULTILINE)
        assert (REPO / script).is_file(), f"{path.name} names {script}, which does not exist"
