"""The study factories and run_study: names, samplers, pruners, storages, budget-based resume, summaries."""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

from tutorial_utils import prepare, recording, storage, studies
from tutorial_utils.studies import (
    StorageError,
    StudyConfigError,
    StudySpec,
    format_best_trial,
    load_studies,
    make_pruner,
    make_sampler,
    open_storage,
    run_study,
    study_name,
)

TINY = {"n_epochs": 2, "batch_size": 64}


@pytest.fixture(scope="module")
def tiny_faces():
    """A few hundred synthetic faces at 12x12: a trial takes well under a second."""
    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=300, verbose=False)


def test_study_names_are_predictable():
    assert study_name("skopt", 0) == "skopt-seed0"
    assert study_name("TPE", 2, prefix="run7") == "run7-tpe-seed2"
    assert StudySpec(sampler="gp", seed=1).name == "gp-seed1"


@pytest.mark.parametrize(
    ("name", "cls"),
    [("random", optuna.samplers.RandomSampler), ("tpe", optuna.samplers.TPESampler), ("gp", optuna.samplers.GPSampler)],
)
def test_optuna_samplers_by_name_are_seeded(name, cls):
    def first_point(sampler):
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=3)
        return [t.params["x"] for t in study.trials]

    assert isinstance(make_sampler(name, seed=3).template, cls) and isinstance(make_sampler(name, seed=None), cls)
    assert first_point(make_sampler(name, seed=3)) == first_point(make_sampler(name, seed=3))
    assert first_point(make_sampler(name, seed=3)) != first_point(make_sampler(name, seed=4))


def test_skopt_sampler_gets_the_original_settings():
    samplers = pytest.importorskip("tutorial_utils.samplers")
    sampler = make_sampler("skopt", seed=0)
    assert isinstance(sampler, samplers.SkoptSampler)
    kwargs = sampler._skopt_kwargs
    assert kwargs["base_estimator"] == "ET" and kwargs["acq_func"] == "EI"
    assert kwargs["acq_func_kwargs"] == {"xi": 0.02} and kwargs["n_initial_points"] == 10
    assert make_sampler("skopt", seed=0, acq_func="PI")._skopt_kwargs["acq_func"] == "PI"


def test_unknown_sampler_or_settings_are_readable_errors():
    with pytest.raises(StudyConfigError, match="unknown sampler 'cmaes'.*random, skopt, skopt-pruned, tpe, gp"):
        make_sampler("cmaes")
    with pytest.raises(StudyConfigError, match="'tpe' rejects the settings.*n_startup"):
        make_sampler("tpe", seed=0, n_startup=3)


def test_pruners_by_name():
    median = make_pruner("median")
    assert isinstance(median, optuna.pruners.MedianPruner)
    assert (median._n_startup_trials, median._n_warmup_steps) == (5, 0)  # Optuna's defaults, as the original
    assert isinstance(make_pruner("none"), optuna.pruners.NopPruner)
    with pytest.raises(ValueError, match="unknown pruner 'asha'"):
        make_pruner("asha")


def test_open_storage_rejects_bad_urls_readably(tmp_path):
    assert open_storage(None) is None
    with pytest.raises(StorageError, match="Malformed storage URL"):
        open_storage("my_study.db")
    with pytest.raises(StorageError, match="does not exist"):
        open_storage(f"sqlite:///{tmp_path}/missing/x.db")
    with pytest.raises(StorageError, match="does not exist"):
        open_storage(f"journal:{tmp_path}/missing/x.log")


def test_unreachable_server_fails_fast_and_hides_the_password():
    pytest.importorskip("psycopg2")
    start = time.perf_counter()
    with pytest.raises(StorageError) as info:
        open_storage("postgresql+psycopg2://alice:s3cret@127.0.0.1:9/optuna")  # port 9 (discard): refused at once
    assert time.perf_counter() - start < storage.CONNECT_TIMEOUT_S + 5
    assert "s3cret" not in str(info.value) and "alice:***@127.0.0.1" in str(info.value)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_run_study_records_settings_and_resumes_to_its_budget(tiny_faces, tmp_path, kind):
    url = f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else f"journal:{tmp_path}/s.log"
    spec = StudySpec(sampler="random", seed=1, n_trials=3, pruner="none", **TINY)
    first = run_study(spec, tiny_faces, url, progress=False)
    numbers = [t.number for t in first.trials]
    assert numbers == [0, 1, 2]
    attrs = first.user_attrs
    assert (attrs["sampler"], attrs["seed"], attrs["n_epochs"], attrs["pruner"]) == ("random", 1, 2, "none")
    assert attrs["machine"]["torch_threads"] >= 1 and attrs["wall_time_s"] > 0

    # Same command, bigger budget: the SAME study grows to 5 trials; same budget again: nothing runs.
    resumed = run_study(StudySpec(**{**spec.__dict__, "n_trials": 5}), tiny_faces, url, progress=False)
    assert resumed.study_name == "random-seed1"
    assert [t.number for t in resumed.trials] == [0, 1, 2, 3, 4]
    assert resumed.user_attrs["wall_time_s"] > attrs["wall_time_s"]
    again = run_study(StudySpec(**{**spec.__dict__, "n_trials": 5}), tiny_faces, url, progress=False)
    assert len(again.trials) == 5
    assert len(optuna.get_all_study_names(open_storage(url))) == 1


def test_the_runner_writes_the_same_setup_record_as_a_notebook(tiny_faces, tmp_path):
    """One writer: a runner study's setup reads back through results like one a notebook recorded itself."""
    from tutorial_utils import results

    spec = StudySpec(sampler="tpe", seed=4, n_trials=1, pruner="median", pruner_kwargs={"n_warmup_steps": 1}, **TINY)
    study = run_study(spec, tiny_faces, f"sqlite:///{tmp_path}/s.db", progress=False)
    same = {"sampler": "tpe", "seed": 4, "pruner": "median", "pruner_settings": {"n_warmup_steps": 1}}
    assert recording.record_setup(study, **same)["pruner_kwargs"] == '{"n_warmup_steps": 1}'  # a resumed study
    with pytest.raises(ValueError, match="seed: recorded 4, now 5"):
        recording.record_setup(study, **{**same, "seed": 5})
    row = results.compare_studies([study]).iloc[0]
    assert (row["sampler"], row["seed"], row["pruner"]) == ("tpe", 4, "median")


def test_resuming_with_other_settings_is_refused(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    run_study(StudySpec(sampler="random", seed=0, n_trials=1, pruner="none", **TINY), tiny_faces, url, progress=False)
    with pytest.raises(StudyConfigError, match="n_epochs: stored 2, now 3"):
        run_study(StudySpec(sampler="random", seed=0, n_trials=2, pruner="none", n_epochs=3), tiny_faces, url, progress=False)


def test_median_pruner_prunes_and_summary_counts_states(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    spec = StudySpec(sampler="random", seed=0, n_trials=14, pruner="median", n_epochs=3, batch_size=64)
    study = run_study(spec, tiny_faces, url, progress=False)
    from tutorial_utils.records import summarize, trial_records

    row = summarize(trial_records(study)).iloc[0]
    states = [t.state for t in study.trials]
    assert row["completed"] == states.count(TrialState.COMPLETE)
    assert row["pruned"] == states.count(TrialState.PRUNED) > 0  # 9 trials past the 5 startup ones, some below median
    assert row["completed"] + row["pruned"] == row["n_trials"] == 14
    assert row["best_valid"] == pytest.approx(study.best_value)
    assert row["sampler"] == "random" and row["seed"] == 0 and row["cpu_time_s"] > 0
    assert row["machine"].startswith("cpu x")

    text = format_best_trial(study)
    assert "Number of pruned trials:  " + str(row["pruned"]) in text
    assert f"  Value:  {study.best_value}" in text
    assert f"    lr: {study.best_params['lr']}" in text


def test_load_studies_finds_only_runner_named_studies(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    for sampler, seed in (("random", 0), ("tpe", 1)):
        run_study(StudySpec(sampler=sampler, seed=seed, n_trials=1, pruner="none", **TINY), tiny_faces, url, progress=False)
    optuna.create_study(study_name="someone-elses-study", storage=url)
    assert [s.study_name for s in load_studies(url)] == ["random-seed0", "tpe-seed1"]


def test_storage_for_maps_a_folder_to_one_sqlite_file_per_study(tmp_path):
    assert studies.storage_for("skopt-seed0", None) is None
    assert studies.storage_for("skopt-seed0", "postgresql+psycopg2://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert studies.storage_for("gp-seed2", tmp_path) == f"sqlite:///{tmp_path.resolve()}/gp-seed2.db"


def test_a_finished_study_is_loaded_not_rerun_and_folders_are_read(tiny_faces, tmp_path, capsys):
    spec = StudySpec(sampler="random", seed=0, n_trials=2, pruner="none", **TINY)
    url = studies.storage_for(spec.name, tmp_path)
    run_study(spec, tiny_faces, url, progress=False)
    machine_before = optuna.load_study(study_name=spec.name, storage=url).user_attrs["machine"]
    again = run_study(spec, tiny_faces, url, progress=True)
    assert "random-seed0: LOADED from storage, 2 counted trials (budget 2)" in capsys.readouterr().out
    assert len(again.trials) == 2 and again.user_attrs["machine"] == machine_before
    assert [s.study_name for s in load_studies(tmp_path)] == ["random-seed0"]


def test_workers_sharing_a_study_get_their_own_sampler_seeds(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    spec = StudySpec(sampler="random", seed=3, n_trials=2, pruner="none", **TINY)
    run_study(spec, tiny_faces, url, progress=False)
    # A second worker on the same study, as `python -m tutorial_utils run --worker 1` would run it.
    second = run_study(StudySpec(**{**spec.__dict__, "n_trials": 4, "worker": 1}), tiny_faces, url, progress=False)
    params = [tuple(sorted(t.params.items())) for t in second.trials]
    assert len(second.trials) == 4 and len(set(params)) == 4, "worker 1 repeated worker 0's proposals"
    assert second.user_attrs["seed"] == 3, "the worker index is not part of the study's identity"
    assert StudySpec(seed=3).sampler_seed == 3
    assert StudySpec(seed=3, worker=1).sampler_seed == StudySpec(seed=3, worker=1).sampler_seed != 3
    assert StudySpec(seed=3, worker=1).sampler_seed != StudySpec(seed=3, worker=2).sampler_seed
