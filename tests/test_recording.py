"""One trial recorder: a plain study and a lockstep study store the same attrs, and export the same columns."""

from __future__ import annotations

import pytest
import torch
from optuna.trial import TrialState

from tutorial_utils import prepare, results
from tutorial_utils.lockstep import run_lockstep
from tutorial_utils.recording import TRIAL_ATTRS, n_parameters
from tutorial_utils.studies import StudySpec, run_study

TINY = {"sampler": "random", "seed": 3, "n_epochs": 3, "batch_size": 64, "n_trials": 8}


@pytest.fixture(scope="module")
def two_studies():
    data = prepare.load_study_data("synthetic", image_side=12, synthetic_rows=500, verbose=False)
    plain = run_study(StudySpec(**TINY), data, progress=False)
    lockstep = run_lockstep([StudySpec(**TINY, name_prefix="lockstep")], data, {}, slots=2, progress=False)
    return plain, next(iter(lockstep.values()))


def _attr_columns(study, state: TrialState) -> set[str]:
    frame = results.trials_frame(study)
    frame = frame[frame["state"] == state.name].dropna(axis=1, how="all")
    return {c for c in frame.columns if c.startswith("user_attrs_")}


@pytest.mark.parametrize("state", [TrialState.COMPLETE, TrialState.PRUNED])
def test_plain_and_lockstep_trials_export_the_same_columns(two_studies, state):
    plain, lockstep = two_studies
    assert _attr_columns(plain, state) == _attr_columns(lockstep, state)
    assert _attr_columns(plain, state)  # both studies hold trials of this state (the pruner acted)


def test_every_completed_trial_carries_the_whole_record(two_studies):
    for study in two_studies:
        for t in study.get_trials(states=(TrialState.COMPLETE,)):
            assert set(TRIAL_ATTRS) <= set(t.user_attrs), study.study_name
            assert t.user_attrs["epochs_trained"] == 3 and t.user_attrs["device"] == "cpu"
            assert t.user_attrs["valid_accuracy"]["age"] == pytest.approx(t.value)  # percent, like the value
            assert 0 <= t.user_attrs["test_age_accuracy"] <= 100 and t.user_attrs["train_loss"] > 0
            assert t.user_attrs["wall_time_s"] >= t.user_attrs["ask_seconds"] >= 0


def test_the_parameter_count_is_the_networks_and_draws_no_random_numbers():
    params = {"num_fc_layers": 4, "last_fc": 10, **{f"fc_output_feat_{i}": 8 for i in range(4)},
              **{f"fc_dropout_{i}": 0.1 for i in range(4)}}
    torch.manual_seed(0)
    state = torch.get_rng_state()
    # 576*8+8 (first layer) + 3*(8*8+8) (three more) + 8*10+10 (last_fc) + 10*12+12 (the three heads, fused)
    assert n_parameters(params, 576) == 4616 + 216 + 90 + 132 == 5054
    assert torch.equal(torch.get_rng_state(), state)
