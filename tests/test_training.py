"""Training loop, evaluation, optimizers and the pruning objective on the synthetic faces."""

from __future__ import annotations

import optuna
import pytest
import torch

from tutorial_utils.data import load_age_gender
from tutorial_utils.models import MultiHeadFCNet
from tutorial_utils.prepare import prepare_faces
from tutorial_utils.training import (
    config_seed,
    evaluate,
    fit,
    make_face_objective,
    make_optimizer,
    multi_head_loss,
    train_epoch,
)

GOOD = {
    "num_fc_layers": 4,
    **{f"fc_output_feat_{i}": 48 for i in range(4)},
    **{f"fc_dropout_{i}": 0.05 for i in range(4)},
    "last_fc": 32,
    "optimizer": "Adam",
    "lr": 3e-3,
}
BAD = {**GOOD, "optimizer": "SGD", "lr": 1e-4}


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return prepare_faces(load_age_gender(synthetic_rows=3000, synthetic_seed=1, verbose=False))


def test_one_epoch_lowers_the_loss(data):
    torch.manual_seed(0)
    model = MultiHeadFCNet.from_params(GOOD, data.n_features)
    optimizer = make_optimizer("Adam", model.parameters(), 3e-3)
    with torch.no_grad():
        before = float(multi_head_loss(model(data.x_train), data.y_train))
    train_epoch(model, optimizer, data.x_train, data.y_train, batch_size=128, generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        after = float(multi_head_loss(model(data.x_train), data.y_train))
    assert after < before - 0.2


def test_small_net_beats_majority_baseline_and_optimizer_choice_matters(data):
    majority = torch.bincount(data.y_valid[:, 0]).max().item() / len(data.y_valid)
    _, good = fit(GOOD, data, n_epochs=8, seed=0)
    _, bad = fit(BAD, data, n_epochs=8, seed=0)
    assert good[-1]["age"] > majority + 0.08, (good[-1], majority)
    assert good[-1]["age"] < 0.97, "synthetic age must not be trivial"
    assert good[-1]["age"] > bad[-1]["age"] + 0.05


def test_evaluate_counts_each_head_and_all_three():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            n = len(x)
            age = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 3])[:n], 5).float()
            eth = torch.nn.functional.one_hot(torch.zeros(n, dtype=torch.long), 5).float()
            gen = torch.nn.functional.one_hot(torch.ones(n, dtype=torch.long), 2).float()
            return age, eth, gen

    y = torch.tensor([[0, 0, 1], [1, 0, 0], [0, 1, 1], [3, 0, 1]])
    acc = evaluate(Fixed(), torch.zeros(4, 3), y)
    assert acc == {"age": 0.75, "ethnicity": 0.75, "gender": 0.75, "all": 0.5}


@pytest.mark.parametrize("name", ["Adam", "Adadelta", "RMSprop", "SGD", "MADGRAD"])
def test_make_optimizer_builds_each_with_the_lr(name):
    p = torch.nn.Parameter(torch.zeros(3))
    opt = make_optimizer(name, [p], 0.0123)
    assert type(opt).__name__ == name and opt.param_groups[0]["lr"] == 0.0123


def test_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown optimizer 'Adamw'.*MADGRAD"):
        make_optimizer("Adamw", [torch.nn.Parameter(torch.zeros(1))], 0.1)


def test_clearly_worse_trial_is_pruned_by_median_pruner(data):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    for params in (GOOD, GOOD, BAD):
        study.enqueue_trial(params)
    study.optimize(make_face_objective(data, n_epochs=3), n_trials=3)
    states = [t.state for t in study.trials]
    assert states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    assert states[2] == optuna.trial.TrialState.PRUNED
    assert study.trials[2].last_step == 0
    assert set(study.trials[0].intermediate_values) == {0, 1, 2}
    assert study.trials[0].user_attrs["n_parameters"] > 0


def test_objective_returns_validation_age_accuracy_in_percent(data):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(GOOD)
    study.optimize(make_face_objective(data, n_epochs=2, seed=5, prune=False), n_trials=1)
    trial = study.trials[0]
    _, history = fit(GOOD, data, n_epochs=2, seed=config_seed(GOOD, 5))
    # Percent of the VALIDATION rows, as the original's objective returned (e.g. 69.457...), not a fraction.
    assert trial.value == 100 * history[-1]["age"]
    assert 30 < trial.value <= 100
    assert [trial.intermediate_values[e] for e in (0, 1)] == [100 * h["age"] for h in history]
    n_valid = len(data.y_valid)
    assert round(trial.value / 100 * n_valid) == pytest.approx(trial.value / 100 * n_valid, abs=1e-3)


def test_objective_never_reads_the_test_rows(data):
    """Poison the test rows (NaN pixels, impossible labels): the study's trials must come out identical."""
    from dataclasses import replace

    poisoned = replace(data, x_test=torch.full_like(data.x_test, float("nan")), y_test=torch.full_like(data.y_test, 99))

    def run(d):
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
        study.optimize(make_face_objective(d, n_epochs=2, seed=1), n_trials=4)
        return [(t.state, t.value, dict(t.intermediate_values)) for t in study.trials]

    assert run(poisoned) == run(data)


def test_config_seed_depends_on_the_configuration_and_seed_only():
    same = {**GOOD, "num_fc_layers": np_int(4), "lr": float(GOOD["lr"])}
    assert config_seed(GOOD, 0) == config_seed(same, 0) == config_seed(dict(reversed(list(GOOD.items()))), 0)
    assert config_seed(GOOD, 0) != config_seed(GOOD, 1)
    assert config_seed(GOOD, 0) != config_seed({**GOOD, "lr": 3.0001e-3}, 0)


def np_int(value: int):
    import numpy as np

    return np.int64(value)
