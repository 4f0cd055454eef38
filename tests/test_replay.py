"""Finished trials back into Optuna: face records with their spaces' ranges, and small searches through a table."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from tutorial_utils import replay, space
from tutorial_utils.models import suggest_designed_params, suggest_params

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _records_row(study, number, state, value, params, space_name="original", seed=0):
    return {"study": study, "seed": seed, "number": number, "state": state, "value": value,
            "params": json.dumps(params), "space": space_name}


ORIGINAL = {"num_fc_layers": 4, "last_fc": 32, "optimizer": "Adam", "lr": 1e-3,
            **{f"fc_output_feat_{i}": 64 for i in range(4)}, **{f"fc_dropout_{i}": 0.1 for i in range(4)}}
DESIGNED = {"num_fc_layers": 1, "last_fc": 100, "fc_output_feat_0": 256, "fc_dropout_0": 0.3, "optimizer": "SGD",
            "lr_SGD": 0.5}


def test_face_trials_carry_the_ranges_their_space_declares():
    frame = pd.DataFrame([
        _records_row("tpe-seed0", 0, "COMPLETE", 68.5, ORIGINAL),
        _records_row("tpe-seed0", 1, "PRUNED", None, ORIGINAL | {"lr": 2e-3}),
        _records_row("tpe-seed0", 2, "FAIL", None, ORIGINAL),
        _records_row("designed-tpe-seed3", 7, "COMPLETE", 70.0, DESIGNED, "designed", seed=3),
    ])
    trials = replay.face_trials(frame)
    assert [t.number for t in trials] == [0, 1, 7]  # FAIL is left out by default
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.COMPLETE]
    assert trials[0].value == 68.5 and trials[1].value is None
    assert trials[0].distributions["lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert trials[0].distributions["num_fc_layers"] == IntDistribution(4, 8)
    assert trials[0].distributions["optimizer"] == CategoricalDistribution(["Adam", "Adadelta", "RMSprop", "SGD", "MADGRAD"])
    assert trials[2].distributions["lr_SGD"] == FloatDistribution(1e-2, 1.0, log=True)
    assert trials[2].distributions["fc_output_feat_0"] == IntDistribution(16, 256, log=True)
    assert trials[2].user_attrs == {"study": "designed-tpe-seed3", "seed": 3}
    # The diagnostics read them: the best completed trial's depth sits at the low end of 4..8.
    flags = space.boundary_flags(trials[:2], direction="maximize")
    assert flags.set_index("param").loc["num_fc_layers", "best_position"] == 0.0


def test_face_trials_refuse_params_their_space_cannot_hold():
    lacking = {k: v for k, v in ORIGINAL.items() if k != "fc_output_feat_3"}
    with pytest.raises(ValueError, match="tpe-seed0.*trial 4"):
        replay.face_trials(pd.DataFrame([_records_row("tpe-seed0", 4, "COMPLETE", 60.0, lacking)]))
    extra = ORIGINAL | {"momentum": 0.9}
    with pytest.raises(ValueError, match="momentum"):
        replay.face_trials(pd.DataFrame([_records_row("tpe-seed0", 5, "COMPLETE", 60.0, extra)]))
    with pytest.raises(ValueError, match="unknown space"):
        replay.face_trials(pd.DataFrame([_records_row("x", 0, "COMPLETE", 60.0, ORIGINAL, "nowhere")]))
    with pytest.raises(ValueError, match="unknown trial state"):
        replay.face_trials(pd.DataFrame([_records_row("x", 0, "COMPLETE", 60.0, ORIGINAL)]), states=("DONE",))


def test_face_trials_match_what_a_study_stores():
    """Params drawn by the real suggest functions replay to the distributions Optuna stored for them."""
    for suggest, name in ((suggest_params, "original"), (suggest_designed_params, "designed")):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        study.optimize(lambda t, s=suggest: float(len(s(t))), n_trials=5)
        frame = pd.DataFrame([_records_row("s", t.number, "COMPLETE", t.value, t.params, name) for t in study.trials])
        for replayed, stored in zip(replay.face_trials(frame), study.trials, strict=True):
            assert replayed.distributions == stored.distributions
            assert replayed.params == stored.params


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # QMCSampler
def test_searches_round_trip_through_a_csv(tmp_path):
    def objective(trial):
        x = trial.suggest_float("x", 1e-3, 1.0, log=True)
        n = trial.suggest_int("n", 1, 9)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if n == 9:
            raise optuna.TrialPruned()
        return x * n + (kind == "b")

    studies = {}
    for seed in (0, 1):
        for search, sampler in (("random", optuna.samplers.RandomSampler(seed=seed)),
                                ("qmc", optuna.samplers.QMCSampler(seed=seed, scramble=True))):
            studies[search, seed] = optuna.create_study(sampler=sampler)
            studies[search, seed].optimize(objective, n_trials=12)
    path = tmp_path / "searches.csv"
    replay.searches_frame(studies, n_estimators=100).to_csv(path, index=False)
    frame = pd.read_csv(path)
    assert set(frame["n_estimators"]) == {100}
    loaded = replay.load_searches(frame, "minimize")
    assert list(loaded) == list(studies)
    for key, study in studies.items():
        again = loaded[key]
        assert [t.params for t in again.trials] == [t.params for t in study.trials]
        assert [t.state for t in again.trials] == [t.state for t in study.trials]
        assert [t.distributions for t in again.trials] == [t.distributions for t in study.trials]
        assert [t.number for t in again.trials] == list(range(12))
        assert again.best_value == pytest.approx(study.best_value)
        assert space.coverage(space.unit_cube(again)) == pytest.approx(space.coverage(space.unit_cube(study)))
    with pytest.raises(ValueError, match="distributions"):
        replay.load_searches(frame.drop(columns="distributions"), "minimize")
