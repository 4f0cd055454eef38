"""The multi-head network and its search space."""

from __future__ import annotations

import optuna
import pytest
import torch

from tutorial_utils.models import OPTIMIZERS, MultiHeadFCNet, count_parameters, suggest_params


def _shapes(model):
    return [tuple(p.shape) for p in model.parameters()]


@pytest.mark.parametrize("seed", range(5))
def test_net_from_trial_and_from_its_params_have_identical_shapes(seed):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    from_trial = MultiHeadFCNet.from_trial(trial, n_features=576)
    from_params = MultiHeadFCNet.from_params(trial.params, n_features=576)
    assert _shapes(from_trial) == _shapes(from_params)
    n_layers = trial.params["num_fc_layers"]
    linear = [m for m in from_params.body if isinstance(m, torch.nn.Linear)]
    assert len(linear) == n_layers + 1
    assert [m.out_features for m in linear[:-1]] == [trial.params[f"fc_output_feat_{i}"] for i in range(n_layers)]
    assert linear[-1].out_features == trial.params["last_fc"]


def test_search_space_is_the_original_one():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(60):
        trial = study.ask()
        params = suggest_params(trial)
        study.tell(trial, 0.0)
        n = params["num_fc_layers"]
        assert 4 <= n <= 8 and 8 <= params["last_fc"] <= 64
        assert 1e-4 <= params["lr"] <= 1e-2 and params["optimizer"] in OPTIMIZERS
        assert {k for k in params if k.startswith("fc_output_feat_")} == {f"fc_output_feat_{i}" for i in range(n)}
        assert all(0.0 <= params[f"fc_dropout_{i}"] <= 0.5 for i in range(n))
    assert {t.params["num_fc_layers"] for t in study.trials} == {4, 5, 6, 7, 8}


def test_every_distribution_and_the_suggestion_order_are_the_originals():
    """The original: num_fc_layers, last_fc, per layer (width, dropout), optimizer, lr 1e-4..1e-2 log."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial({"num_fc_layers": 5})
    trial = study.ask()
    suggest_params(trial)
    expected = {
        "num_fc_layers": IntDistribution(4, 8),
        "last_fc": IntDistribution(8, 64),
        **{k: v for i in range(5) for k, v in (
            (f"fc_output_feat_{i}", IntDistribution(8, 64)), (f"fc_dropout_{i}", FloatDistribution(0.0, 0.5)))},
        "optimizer": CategoricalDistribution(["Adam", "Adadelta", "RMSprop", "SGD", "MADGRAD"]),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
    }
    assert list(trial.distributions) == list(expected)  # suggestion order, not only the set
    assert trial.distributions == expected


def test_layer_stack_is_linear_relu_dropout_blocks_then_a_plain_last_fc():
    params = {"num_fc_layers": 4, "last_fc": 20, "optimizer": "Adam", "lr": 1e-3,
              **{f"fc_output_feat_{i}": 10 + i for i in range(4)}, **{f"fc_dropout_{i}": 0.1 * i for i in range(4)}}
    net = MultiHeadFCNet.from_params(params, n_features=576)
    kinds = [type(m).__name__ for m in net.body]
    assert kinds == ["Linear", "ReLU", "Dropout"] * 4 + ["Linear"]  # no activation after last_fc
    assert [m.p for m in net.body if isinstance(m, torch.nn.Dropout)] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert net.body[-1].out_features == 20 and net.heads.in_features == 20
    # With no ReLU after last_fc, the body's output can be negative (it could not behind a ReLU).
    assert (net.body(torch.randn(256, 576)) < 0).any()


def test_three_heads_with_the_right_sizes_and_batch_shape():
    net = MultiHeadFCNet(576, hidden=[55, 53, 62, 62, 28], dropouts=[0.1] * 5, last_fc=55)
    age, ethnicity, gender = net(torch.randn(7, 576))
    assert age.shape == (7, 5) and ethnicity.shape == (7, 5) and gender.shape == (7, 2)
    expected = 576 * 55 + 55 + 55 * 53 + 53 + 53 * 62 + 62 + 62 * 62 + 62 + 62 * 28 + 28 + 28 * 55 + 55 + 55 * 12 + 12
    assert count_parameters(net) == expected


def test_params_missing_a_layer_give_a_clear_error():
    params = {"num_fc_layers": 2, "fc_output_feat_0": 8, "fc_dropout_0": 0.1, "last_fc": 8}
    with pytest.raises(KeyError, match="fc_output_feat_1"):
        MultiHeadFCNet.from_params(params, 576)
