"""The designed search space runs through the same runner as the original's, recorded and refused alike."""

from __future__ import annotations

import optuna
import pytest

from tutorial_utils import prepare, records
from tutorial_utils.models import DESIGNED_LEARNING_RATES, MultiHeadFCNet, count_parameters, network_params
from tutorial_utils.studies import StudyConfigError, StudySpec, run_study, startup_configs


@pytest.fixture(scope="module")
def tiny_faces():
    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=500, verbose=False)


def test_the_learning_rate_has_one_name_per_optimizer_range_and_the_network_reads_it_as_lr():
    params = {"num_fc_layers": 1, "last_fc": 8, "fc_output_feat_0": 200, "fc_dropout_0": 0.1, "optimizer": "SGD",
              "lr_SGD": 0.3}
    assert network_params(params) == {"num_fc_layers": 1, "last_fc": 8, "fc_output_feat_0": 200,
                                      "fc_dropout_0": 0.1, "optimizer": "SGD", "lr": 0.3}
    original = {**params, "lr": 0.001}
    del original["lr_SGD"]
    assert network_params(original) == original
    # 144 inputs (12x12) -> 200 -> 8 -> 12 head outputs: 144*200+200 + 200*8+8 + 8*12+12
    assert count_parameters(MultiHeadFCNet.from_params(params, 144)) == 29000 + 1608 + 108


def test_designed_start_up_configurations_come_from_the_designed_space():
    configs = startup_configs(seed=0, n=40, space="designed")
    assert configs == startup_configs(seed=0, n=40, space="designed")  # reproducible
    for c in configs:
        rate = c[f"lr_{c['optimizer']}"]
        low, high = DESIGNED_LEARNING_RATES[c["optimizer"]]
        assert low <= rate <= high and "lr" not in c
        assert 1 <= c["num_fc_layers"] <= 5 and all(16 <= c[f"fc_output_feat_{i}"] <= 256 for i in range(c["num_fc_layers"]))
    assert any(c["num_fc_layers"] < 4 for c in configs)  # depths the original space never tried
    assert startup_configs(0, 5) != [network_params(c) for c in configs[:5]]


def test_a_designed_study_records_its_space_and_refuses_a_resume_in_the_original(tiny_faces, tmp_path):
    url = f"sqlite:///{tmp_path / 'designed.db'}"
    spec = StudySpec(sampler="tpe", seed=1, n_trials=4, n_epochs=2, batch_size=64, space="designed",
                     name_prefix="designed")
    study = run_study(spec, tiny_faces, url, progress=False)
    assert study.user_attrs["space"] == "designed"
    assert all(any(k.startswith("lr_") for k in t.params) for t in study.trials)
    frame = records.trial_records(study)
    assert set(frame["space"]) == {"designed"} and len(frame) == 4
    with pytest.raises(StudyConfigError, match="space: stored 'designed', now 'original'"):
        run_study(StudySpec(**{**spec.__dict__, "space": "original", "n_trials": 5}), tiny_faces, url, progress=False)
    with pytest.raises(StudyConfigError, match="unknown search space 'wide'"):
        run_study(StudySpec(**{**spec.__dict__, "space": "wide"}), tiny_faces, None, progress=False)


def test_records_written_before_the_space_column_read_as_the_original_space(tmp_path):
    study = optuna.create_study(study_name="random-seed0", direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    path = records.write_records(study, tmp_path)
    old = records.read_records(path).drop(columns="space")
    old.to_csv(path, index=False)
    assert list(records.read_records(path)["space"]) == ["original", "original"]
    assert list(records.read_records(path).columns) == list(records.COLUMNS)
