"""Exports of a study (best params, trials, stats) read back exactly; the face net is rebuilt from YAML alone.

The expected field and column names are written out here on purpose: renaming or dropping one in
tutorial_utils.results must fail these tests, not silently change the files learners keep.
"""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
import yaml

from tutorial_utils import recording, results
from tutorial_utils.data import synthetic_faces
from tutorial_utils.models import count_parameters
from tutorial_utils.prepare import prepare_faces
from tutorial_utils.retrain import mean_sd, rebuild_model, retrain_best
from tutorial_utils.training import config_seed, make_face_objective

optuna.logging.set_verbosity(optuna.logging.ERROR)

BEST_PARAMS_FIELDS = {
    "study_name",
    "direction",
    "best_value",
    "best_trial_number",
    "params",
    "user_attrs",
    "optuna_version",
    "exported_at",
}
STUDY_STATS_FIELDS = {
    "study_name",
    "directions",
    "n_trials",
    "state_counts",
    "best_value",
    "best_trial_number",
    "pareto_front",
    "sampler",
    "pruner",
    "seed",
    "datetime_start",
    "datetime_complete",
    "wall_time_s",
    "search_space",
    "optuna_version",
    "exported_at",
}
TRIALS_BASE_COLUMNS = [
    "number",
    "state",
    "value",
    "datetime_start",
    "datetime_complete",
    "duration_s",
    "last_step",
    "last_intermediate_value",
]
COMPARE_COLUMNS = [
    "study",
    "direction",
    "sampler",
    "pruner",
    "seed",
    "best_value",
    "best_trial",
    "n_trials",
    "completed",
    "pruned",
    "failed",
    "wall_time_s",
]


def toy_objective(trial: optuna.Trial) -> float:
    """A dynamic space like the face net's, with every trial state: pruned (#2), failed (#3), complete."""
    n_layers = trial.suggest_int("n_layers", 1, 3)
    widths = [trial.suggest_int(f"width_{i}", 4, 64, log=True) for i in range(n_layers)]
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    optimizer = trial.suggest_categorical("optimizer", ["Adam", "SGD"])
    score = 1 - abs(math.log10(lr) + 2.5) / 3 - 0.01 * abs(sum(widths) - 40) / 40 + (0.05 if optimizer == "Adam" else 0)
    for step in range(3):
        trial.report(score * (step + 1) / 3, step)
    trial.set_user_attr("metrics", {"age": score / 2, "epochs": 3})
    trial.set_user_attr("note", f"trial {trial.number}")
    if trial.number == 2:
        raise optuna.TrialPruned()
    if trial.number == 3:
        raise RuntimeError("simulated crash")
    return score


def run_toy_study(n_trials: int = 12, seed: int = 0, storage=None, name: str | None = None, record: bool = True):
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    if record:
        recording.record_setup(
            study,
            sampler="tpe",
            seed=seed,
            pruner="median",
            sampler_settings={"n_startup_trials": 5},
            pruner_settings={"n_startup_trials": 2, "n_warmup_steps": 1},
        )
    study.optimize(toy_objective, n_trials=n_trials, catch=(RuntimeError,))
    return study


@pytest.fixture(scope="module")
def toy_study():
    return run_toy_study()


# ----------------------------------------------------------------------------------------------- export


def test_export_writes_the_four_files_with_exact_best_params_fields(toy_study, tmp_path):
    paths = results.export_study(toy_study, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best_params.json",
        "best_params.yaml",
        "study_stats.json",
        "trials.csv",
    ]
    assert set(paths) == {"best_params_yaml", "best_params_json", "trials_csv", "study_stats_json"}

    from_yaml = results.load_best_params(tmp_path / "best_params.yaml")
    from_json = results.load_best_params(tmp_path / "best_params.json")
    assert set(from_yaml) == BEST_PARAMS_FIELDS
    assert from_yaml == from_json
    assert results.load_best_params(tmp_path) == from_yaml  # a folder means its best_params.yaml

    best = toy_study.best_trial
    assert from_yaml["params"] == best.params  # exact floats, ints and strings
    assert from_yaml["best_value"] == best.value
    assert from_yaml["best_trial_number"] == best.number
    assert from_yaml["direction"] == "maximize"
    assert from_yaml["study_name"] == toy_study.study_name
    assert from_yaml["user_attrs"] == best.user_attrs
    # The YAML is plain: readable with yaml.safe_load and no Python tags.
    assert "!!python" not in (tmp_path / "best_params.yaml").read_text()


def test_trials_csv_round_trips_every_trial(toy_study, tmp_path):
    results.export_study(toy_study, tmp_path)
    loaded = results.load_trials(tmp_path / "trials.csv")
    pd.testing.assert_frame_equal(loaded, results.trials_frame(toy_study))

    assert list(loaded.columns[: len(TRIALS_BASE_COLUMNS)]) == TRIALS_BASE_COLUMNS
    params = sorted({name for t in toy_study.trials for name in t.params})
    assert [c for c in loaded.columns if c.startswith("params_")] == [f"params_{p}" for p in params]
    assert [c for c in loaded.columns if c.startswith("user_attrs_")] == [
        "user_attrs_metrics.age",
        "user_attrs_metrics.epochs",
        "user_attrs_note",
    ]
    assert len(loaded) == len(toy_study.trials)
    for row, trial in zip(loaded.itertuples(index=False), toy_study.trials, strict=True):
        row = row._asdict()
        assert row["number"] == trial.number
        assert row["state"] == trial.state.name
        if trial.value is None:
            assert np.isnan(row["value"])
        else:
            assert row["value"] == trial.value
        assert row["duration_s"] == pytest.approx(trial.duration.total_seconds(), abs=1e-6)
        assert row["last_step"] == 2
        assert row["last_intermediate_value"] == trial.intermediate_values[2]
        for name in params:
            value = row[f"params_{name}"]
            if name in trial.params:
                assert value == trial.params[name]
            else:  # conditional param this trial did not have
                assert pd.isna(value)
        assert row["user_attrs_note"] == f"trial {trial.number}"
    assert loaded["params_width_2"].dtype == "Int64"  # ints with gaps stay ints
    assert set(loaded["state"]) == {"COMPLETE", "PRUNED", "FAIL"}


def test_study_stats_round_trip_with_counts_sampler_pruner_and_space(toy_study, tmp_path):
    results.export_study(toy_study, tmp_path)
    stats = results.load_study_stats(tmp_path)
    assert set(stats) == STUDY_STATS_FIELDS
    assert stats == json.loads((tmp_path / "study_stats.json").read_text())
    assert stats["n_trials"] == 12
    assert stats["state_counts"] == {"COMPLETE": 10, "PRUNED": 1, "FAIL": 1, "RUNNING": 0, "WAITING": 0}
    assert stats["best_value"] == toy_study.best_value
    assert stats["best_trial_number"] == toy_study.best_trial.number
    assert stats["pareto_front"] == [{"number": toy_study.best_trial.number, "values": [toy_study.best_value]}]
    assert stats["directions"] == ["maximize"]
    assert stats["sampler"] == {"name": "tpe", "settings": {"n_startup_trials": 5}}  # as recorded, nothing more
    assert stats["pruner"] == {"name": "median", "settings": {"n_startup_trials": 2, "n_warmup_steps": 1}}
    assert stats["seed"] == 0
    first_start = min(t.datetime_start for t in toy_study.trials)
    last_end = max(t.datetime_complete for t in toy_study.trials)
    assert stats["datetime_start"] == first_start.isoformat()
    assert stats["datetime_complete"] == last_end.isoformat()
    assert stats["wall_time_s"] == pytest.approx((last_end - first_start).total_seconds())
    space = results.search_space_from_stats(stats)
    assert space == {name: dist for t in toy_study.trials for name, dist in t.distributions.items()}


def test_export_from_storage_reads_without_running(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    run_toy_study(n_trials=8, seed=3, storage=url, name="recorded")
    run_toy_study(n_trials=6, seed=4, storage=url, name="unrecorded", record=False)

    # Export takes only the URL and a name: nothing is optimized, the storage keeps exactly its trials.
    results.export_from_storage(url, "recorded", tmp_path / "recorded")
    results.export_from_storage(url, "unrecorded", tmp_path / "unrecorded")
    assert len(optuna.load_study(study_name="recorded", storage=url).trials) == 8

    stored = optuna.load_study(study_name="recorded", storage=url)
    assert results.load_best_params(tmp_path / "recorded")["params"] == stored.best_params
    recorded = results.load_study_stats(tmp_path / "recorded")
    assert (recorded["sampler"]["name"], recorded["pruner"]["name"], recorded["seed"]) == ("tpe", "median", 3)
    assert recorded["n_trials"] == 8
    # Without record_setup, a storage cannot say which sampler ran: reported unknown, not a guessed default.
    unrecorded = results.load_study_stats(tmp_path / "unrecorded")
    assert unrecorded["sampler"] == {"name": None, "settings": {}}
    assert unrecorded["pruner"] == {"name": None, "settings": {}}
    assert unrecorded["seed"] is None
    assert len(results.load_trials(tmp_path / "unrecorded")) == 6


def test_export_from_journal_file(tmp_path):
    journal = str(tmp_path / "study.log")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    study = run_toy_study(n_trials=5, seed=1, storage=storage, name="journal")
    results.export_from_storage(f"journal:{journal}", "journal", tmp_path / "out")  # the runner's URL form
    assert results.load_best_params(tmp_path / "out")["best_value"] == study.best_value
    with pytest.raises(KeyError, match=r"no study named 'other'.*\['journal'\]"):
        results.export_from_storage(f"journal:{journal}", "other", tmp_path / "other")


def test_multi_objective_export_needs_a_chosen_trial(tmp_path):
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=10)
    with pytest.raises(ValueError, match="Pareto front"):
        results.export_study(study, tmp_path)
    chosen = max(study.best_trials, key=lambda t: t.values[0])
    results.export_study(study, tmp_path, best_trial=chosen)
    record = results.load_best_params(tmp_path)
    assert record["direction"] == ["maximize", "minimize"]
    assert record["best_value"] == chosen.values
    assert record["best_trial_number"] == chosen.number
    loaded = results.load_trials(tmp_path)
    assert {"values_0", "values_1"} <= set(loaded.columns) and "value" not in loaded.columns
    assert loaded["values_1"].tolist() == [t.values[1] for t in study.trials]
    stats = results.load_study_stats(tmp_path)
    assert stats["best_value"] is None
    assert sorted(p["number"] for p in stats["pareto_front"]) == sorted(t.number for t in study.best_trials)


# ----------------------------------------------------------------------------------------------- loaders


def test_loaders_name_the_file_and_the_missing_field(toy_study, tmp_path):
    results.export_study(toy_study, tmp_path)
    record = yaml.safe_load((tmp_path / "best_params.yaml").read_text())
    record["parameters"] = record.pop("params")  # a renamed field
    (tmp_path / "best_params.yaml").write_text(yaml.safe_dump(record))
    with pytest.raises(results.ResultsFormatError, match=r"best_params\.yaml.*params"):
        results.load_best_params(tmp_path)

    stats = json.loads((tmp_path / "study_stats.json").read_text())
    del stats["state_counts"]
    (tmp_path / "study_stats.json").write_text(json.dumps(stats))
    with pytest.raises(results.ResultsFormatError, match=r"study_stats\.json.*state_counts"):
        results.load_study_stats(tmp_path)

    frame = pd.read_csv(tmp_path / "trials.csv")
    frame.loc[4, "state"] = "DONE"
    frame.to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(results.ResultsFormatError, match=r"trials\.csv: row 5, column 'state'"):
        results.load_trials(tmp_path)
    frame.drop(columns=["last_step"]).to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(results.ResultsFormatError, match="last_step"):
        results.load_trials(tmp_path)

    with pytest.raises(FileNotFoundError, match="export_study"):
        results.load_best_params(tmp_path / "nowhere")


# ----------------------------------------------------------------------------------------------- compare


def test_compare_studies_live_and_from_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    tpe = run_toy_study(n_trials=8, seed=5, storage=url, name="tpe")
    rnd = optuna.create_study(study_name="random", storage=url, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=6))
    recording.record_setup(rnd, sampler="random", seed=6, pruner="median")
    rnd.optimize(toy_objective, n_trials=7, catch=(RuntimeError,))

    live = results.compare_studies({"TPE": tpe, "Random": rnd})
    assert list(live.columns) == COMPARE_COLUMNS
    assert live["study"].tolist() == ["TPE", "Random"]
    assert live["sampler"].tolist() == ["tpe", "random"]
    assert live["pruner"].tolist() == ["median", "median"]
    assert live["seed"].tolist() == [5, 6]
    assert live["best_value"].tolist() == [tpe.best_value, rnd.best_value]
    assert live["best_trial"].tolist() == [tpe.best_trial.number, rnd.best_trial.number]
    assert live["n_trials"].tolist() == [8, 7]
    assert live["completed"].tolist() == [6, 5]
    assert live["pruned"].tolist() == [1, 1]
    assert live["failed"].tolist() == [1, 1]
    assert (live["wall_time_s"] > 0).all()

    stored = results.compare_studies(storage=url)  # every study in the storage
    assert sorted(stored["study"]) == ["random", "tpe"]
    assert stored.columns.tolist() == COMPARE_COLUMNS
    by_name = stored.set_index("study")
    assert by_name.loc["tpe", "best_value"] == tpe.best_value
    assert by_name.loc["random", "sampler"] == "random"  # recorded, not the default a load attaches
    # A study made by the runner (tutorial_utils.studies) names its sampler, pruner and seed in flat user attrs.
    runner = optuna.create_study(study_name="skopt-seed3", storage=url, direction="maximize")
    for key, value in {"sampler": "skopt", "sampler_kwargs": '{"n_random_starts": 10}', "seed": 3, "pruner": "median"}.items():
        runner.set_user_attr(key, value)
    runner.optimize(toy_objective, n_trials=4, catch=(RuntimeError,))
    row = results.compare_studies(storage=url, study_names=["skopt-seed3"]).iloc[0]
    assert (row["sampler"], row["pruner"], row["seed"], row["n_trials"]) == ("skopt", "median", 3, 4)
    stats = results.study_stats(optuna.load_study(study_name="skopt-seed3", storage=url))
    assert stats["sampler"] == {"name": "skopt", "settings": {"n_random_starts": 10}}

    picked = results.compare_studies(storage=url, study_names=["random"])
    assert picked["study"].tolist() == ["random"]
    with pytest.raises(ValueError, match="either studies"):
        results.compare_studies()


# ----------------------------------------------------------------------------------------------- face net


@pytest.fixture(scope="module")
def tiny_faces():
    return prepare_faces(synthetic_faces(400, seed=2, use_cache=False), image_side=12)


def test_face_net_rebuilt_and_retrained_from_best_params_yaml_alone(tiny_faces, tmp_path):
    """End to end: tune, export, then reproduce the best trial's value from the YAML file and the data."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(make_face_objective(tiny_faces, n_epochs=2, batch_size=64, seed=100, prune=False), n_trials=3)
    test_set = {"test": (tiny_faces.x_test, tiny_faces.y_test)}
    results.export_study(study, tmp_path)
    yaml_path = tmp_path / "best_params.yaml"
    best = study.best_trial

    model = rebuild_model(yaml_path, tiny_faces.n_features)
    linears = [m for m in model.body if isinstance(m, torch.nn.Linear)]
    n_layers = best.params["num_fc_layers"]
    assert [m.out_features for m in linears] == [best.params[f"fc_output_feat_{i}"] for i in range(n_layers)] + [
        best.params["last_fc"]
    ]
    dropouts = [m.p for m in model.body if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [best.params[f"fc_dropout_{i}"] for i in range(n_layers)]
    assert count_parameters(model) == best.user_attrs["n_parameters"]

    # The objective trains a configuration with config_seed(params, 100): retraining with that seed
    # reproduces its value (percent) exactly, with n_epochs taken from the YAML (user_attrs.epochs_trained).
    seed = config_seed(best.params, 100)
    again = retrain_best(yaml_path, tiny_faces, seeds=[seed], batch_size=64, extra_sets=test_set)
    assert 100 * again["valid_age"].item() == best.value
    # The training loss is continuous: equal to the last bit only if the very same network was trained.
    assert again["train_loss"].item() == best.user_attrs["train_loss"]
    last = best.user_attrs["valid_accuracy"]
    assert [100 * again[f"valid_{m}"].item() for m in ("ethnicity", "gender", "all")] == [
        last["ethnicity"],
        last["gender"],
        last["all"],
    ]
    assert list(again.columns) == [
        "seed",
        "n_parameters",
        "epochs",
        "fit_s",
        "train_loss",
        "valid_age",
        "valid_ethnicity",
        "valid_gender",
        "valid_all",
        "valid_mean",
        "test_age",
        "test_ethnicity",
        "test_gender",
        "test_all",
        "test_mean",
    ]
    assert again["epochs"].item() == 2
    heads = again[["test_age", "test_ethnicity", "test_gender"]].iloc[0]
    assert again["test_mean"].item() == pytest.approx(heads.mean())

    several = retrain_best(yaml_path, tiny_faces, seeds=[0, 1, 2], batch_size=64)
    assert several["seed"].tolist() == [0, 1, 2]
    assert several["train_loss"].nunique() == 3  # each seed really trains a different network
    assert mean_sd(several, "valid_age").endswith("(n=3)")

    record = results.load_best_params(yaml_path)
    del record["user_attrs"]["epochs_trained"]
    with pytest.raises(ValueError, match="n_epochs"):
        retrain_best(record, tiny_faces, seeds=[0])


def test_live_objects_are_not_guessed_from_only_the_record_counts():
    """A live study's sampler object says nothing: without a record, sampler, pruner and seed are unknown."""
    tpe = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=7))
    tpe.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    row = results.compare_studies([tpe]).iloc[0]
    assert row["sampler"] is None and row["pruner"] is None and pd.isna(row["seed"])
    assert results.study_stats(tpe)["sampler"] == {"name": None, "settings": {}}
    written = recording.record_setup(tpe, sampler="tpe", seed=7, pruner="median")
    # The very attrs the runner (tutorial_utils.studies) writes, flat, with the settings as JSON text.
    assert written == {"sampler": "tpe", "sampler_kwargs": "{}", "seed": 7, "pruner": "median", "pruner_kwargs": "{}"}
    assert {k: tpe.user_attrs[k] for k in written} == written
    row = results.compare_studies([tpe]).iloc[0]
    assert (row["sampler"], row["pruner"], row["seed"]) == ("tpe", "median", 7)


def test_record_setup_refuses_bad_input_and_a_second_different_record():
    study = optuna.create_study()
    with pytest.raises(TypeError, match="sampler must be"):
        recording.record_setup(study, sampler="", seed=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        recording.record_setup(study, sampler="tpe", seed="0")
    with pytest.raises(TypeError, match="pruner must be"):
        recording.record_setup(study, sampler="tpe", pruner=optuna.pruners.MedianPruner())
    with pytest.raises(TypeError, match="sampler_settings must be a mapping"):
        recording.record_setup(study, sampler="tpe", sampler_settings={"gamma": lambda n: n})
    assert study.user_attrs == {}, "a refused record writes nothing"

    recording.record_setup(study, sampler="tpe", seed=0, sampler_settings={"n_startup_trials": 5})
    recording.record_setup(study, sampler="tpe", seed=0, sampler_settings={"n_startup_trials": 5})  # a resume: fine
    with pytest.raises(ValueError, match=r"already records another setup \(seed: recorded 0, now 1\)"):
        recording.record_setup(study, sampler="tpe", seed=1, sampler_settings={"n_startup_trials": 5})
    assert study.user_attrs["seed"] == 0
