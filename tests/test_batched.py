"""The batched trainer: K configurations trained as one set of tensor ops, each as if it ran alone.

What a plain run with the same seed gives is the reference: ``torch.manual_seed(seed)`` before
``MultiHeadFCNet.from_params`` (initial weights), ``make_optimizer`` (the optimizer), and
``train_epoch(..., generator=torch.Generator().manual_seed(seed))`` epoch after epoch (the batch order).
With dropout 0 a slot must follow that run to float rounding. Small synthetic tensors, CPU, one thread.
"""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.batched import BatchedTrainer, check_space
from tutorial_utils.models import OPTIMIZERS, MultiHeadFCNet
from tutorial_utils.training import evaluate, make_optimizer, train_epoch

N_FEATURES = 144
ROWS = 500  # 3 full batches of 128 and a last one of 116
EPOCHS = 4


def config(widths, last_fc=32, optimizer="Adam", lr=3e-3, dropout=0.0) -> dict:
    params = {"num_fc_layers": len(widths), "last_fc": last_fc, "optimizer": optimizer, "lr": lr}
    for i, w in enumerate(widths):
        params[f"fc_output_feat_{i}"] = w
        params[f"fc_dropout_{i}"] = dropout if isinstance(dropout, float) else dropout[i]
    return params


# One architecture per optimizer, so depths 4..8 and the width / last_fc bounds are all exercised. The lrs keep
# the runs out of the chaotic regime where a rounding-level difference flips a ReLU and the trajectories part
# (e.g. Adam at 3e-3 through 8 layers on random labels): the comparison is of the arithmetic, not of chaos.
CASES = {
    "Adam": config([64, 8, 33, 64, 17, 40, 64, 9], last_fc=64, optimizer="Adam", lr=1e-3),
    "Adadelta": config([8, 8, 8, 8], last_fc=8, optimizer="Adadelta", lr=1e-2),
    "RMSprop": config([50, 31, 64, 12, 20, 44], last_fc=23, optimizer="RMSprop", lr=1e-3),
    "SGD": config([40, 64, 10, 25, 64], last_fc=48, optimizer="SGD", lr=1e-2),
    "MADGRAD": config([12, 64, 30, 64, 8, 50, 37], last_fc=15, optimizer="MADGRAD", lr=2e-3),
}
NEIGHBOURS = [  # other slots, with dropout, so they differ in every way from the slot under test
    config([30, 20, 10, 60, 50], last_fc=40, optimizer="RMSprop", lr=5e-3, dropout=0.3),
    config([64] * 8, last_fc=64, optimizer="MADGRAD", lr=1e-2, dropout=0.5),
    config([9, 9, 9, 9], last_fc=9, optimizer="SGD", lr=1e-4, dropout=0.1),
]


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(ROWS, N_FEATURES, generator=g)
    y = torch.stack([torch.randint(0, n, (ROWS,), generator=g) for n in (5, 5, 2)], 1)
    return x, y


def plain_run(params: dict, seed: int, x, y, epochs: int) -> tuple[list[float], MultiHeadFCNet]:
    """The reference: the plain trainer with the batched trainer's seed semantics."""
    torch.manual_seed(seed)
    model = MultiHeadFCNet.from_params(params, N_FEATURES)
    optimizer = make_optimizer(params["optimizer"], model.parameters(), params["lr"])
    generator = torch.Generator().manual_seed(seed)
    return [train_epoch(model, optimizer, x, y, 128, generator) for _ in range(epochs)], model


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_slot_follows_the_plain_trainer(data, name):
    x, y = data
    params, seed = CASES[name], 7
    expected_losses, plain = plain_run(params, seed, x, y, EPOCHS)
    trainer = BatchedTrainer(4, N_FEATURES)
    for k, other in enumerate(NEIGHBOURS):
        trainer.set_slot(k if k < 2 else 3, other, seed=100 + k)
    trainer.set_slot(2, params, seed)
    losses = [trainer.train_epoch(x, y)[2] for _ in range(EPOCHS)]
    assert losses == pytest.approx(expected_losses, rel=1e-5)
    batched = trainer.to_model(2).state_dict()
    for key, value in plain.state_dict().items():
        # RMSprop's first steps divide by sqrt(0.01 g^2): near-zero gradients amplify rounding to ~lr/100.
        torch.testing.assert_close(batched[key], value, rtol=1e-4, atol=1e-4, msg=f"{name}: {key}")
    accuracy = trainer.evaluate(x, y)[2]
    assert accuracy == pytest.approx(evaluate(plain, x, y), abs=2 / ROWS)


def test_initial_weights_are_the_plain_models_and_the_callers_rng_is_untouched():
    params = CASES["RMSprop"]
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    trainer = BatchedTrainer(2, N_FEATURES)
    trainer.set_slot(1, params, seed=5)
    assert torch.equal(torch.rand(3), before)
    torch.manual_seed(5)
    reference = MultiHeadFCNet.from_params(params, N_FEATURES).state_dict()
    for key, value in trainer.to_model(1).state_dict().items():
        assert torch.equal(value, reference[key]), key


def test_set_slot_and_to_model_leave_the_callers_cpu_rng_as_it_was():
    torch.manual_seed(321)
    torch.rand(5)  # a state no seed gives directly
    before = torch.get_rng_state()
    trainer = BatchedTrainer(3, N_FEATURES)
    trainer.set_slot(2, CASES["MADGRAD"], seed=6)
    assert torch.equal(torch.get_rng_state(), before), "set_slot moved the caller's CPU generator"
    trainer.to_model(2)
    assert torch.equal(torch.get_rng_state(), before), "to_model moved the caller's CPU generator"


def test_set_slot_and_to_model_leave_every_accelerator_generator_as_it_was(monkeypatch):
    """``torch.manual_seed`` also reseeds every CUDA (MPS, XPU) generator, lazily when CUDA is not started yet,
    and ``fork_rng(devices=[])`` restores only the CPU's. Simulated on any machine: fake accelerator generators
    behind torch's seeding and state functions must hold the caller's state afterwards."""
    trainer = BatchedTrainer(2, N_FEATURES)
    state = {"cuda": "caller", "mps": "caller", "xpu": "caller"}

    def setter(device_type):
        return lambda value, *args, **kwargs: state.__setitem__(device_type, value)

    for device_type in ("cuda", "xpu"):
        module = getattr(torch, device_type)
        monkeypatch.setattr(module, "manual_seed_all", setter(device_type))
        monkeypatch.setattr(module, "manual_seed", setter(device_type))
    monkeypatch.setattr(torch.mps, "manual_seed", setter("mps"))
    # Were CUDA generators forked (fork_rng over the CUDA devices), they would be read and restored here.
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda *args, **kwargs: state["cuda"])
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda value, *args, **kwargs: state.__setitem__("cuda", value))
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [state["cuda"]])
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda values: state.__setitem__("cuda", values[0]))
    trainer.set_slot(1, CASES["SGD"], seed=4)
    trainer.to_model(1)
    assert state == {"cuda": "caller", "mps": "caller", "xpu": "caller"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_callers_cuda_generators_are_untouched_on_cuda(data):
    x, y = (t.cuda() for t in data)
    torch.cuda.init()
    torch.manual_seed(99)
    torch.rand(3, device="cuda")
    cpu_before, cuda_before = torch.get_rng_state(), torch.cuda.get_rng_state_all()
    trainer = BatchedTrainer(2, N_FEATURES, device="cuda")
    trainer.set_slot(0, config([16, 16, 16, 16], dropout=0.2), seed=3)
    trainer.set_slot(1, CASES["Adam"], seed=4)
    trainer.train_epoch(x, y)
    trainer.to_model(0)
    assert torch.equal(torch.get_rng_state(), cpu_before)
    cuda_after = torch.cuda.get_rng_state_all()
    assert len(cuda_after) == len(cuda_before)
    for device, (after, before) in enumerate(zip(cuda_after, cuda_before, strict=True)):
        assert torch.equal(after, before), f"cuda:{device}'s generator moved"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_padding_stays_exactly_zero_under_every_optimizer(data, name):
    x, y = data
    trainer = BatchedTrainer(3, N_FEATURES)
    narrow = {**CASES[name], "optimizer": name, "lr": 1e-2}
    trainer.set_slot(0, narrow, seed=1)
    trainer.set_slot(1, config([8, 8, 8, 8], last_fc=8, optimizer=name, lr=1e-2, dropout=0.4), seed=2)
    trainer.set_slot(2, config([64] * 8, last_fc=64, optimizer="Adam", dropout=0.2), seed=3)  # the widest
    for _ in range(3):
        trainer.train_epoch(x, y)
    for k in (0, 1):
        rows = trainer.slot_buffers(k)
        pad = ~rows["real"]
        names = ["param", "grad", "state1", "state2"] + (["state3"] if name != "Adadelta" else [])  # Adadelta: scratch
        for buffer in names:
            values = rows[buffer][pad]
            assert torch.count_nonzero(values) == 0, f"{name} slot {k}: padded {buffer} moved"
        # The real entries did learn, and got gradients.
        assert torch.count_nonzero(rows["grad"][rows["real"]]) > 0.5 * int(rows["real"].sum())


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_a_slot_does_not_depend_on_the_other_slots(data, dropout):
    """Bit for bit: alone, or beside other configurations that are emptied, replaced and refilled."""
    x, y = data
    params = {**CASES["MADGRAD"], **{f"fc_dropout_{i}": dropout for i in range(7)}}
    alone = BatchedTrainer(1, N_FEATURES)
    alone.set_slot(0, params, seed=3)
    expected = [alone.train_epoch(x, y)[0] for _ in range(EPOCHS)]

    crowd = BatchedTrainer(5, N_FEATURES)
    for k, other in zip((0, 1, 4), NEIGHBOURS, strict=True):
        crowd.set_slot(k, other, seed=20 + k)
    crowd.set_slot(3, params, seed=3)
    losses = []
    for epoch in range(EPOCHS):
        losses.append(crowd.train_epoch(x, y)[3])
        crowd.clear_slot(0)
        crowd.set_slot(1, NEIGHBOURS[epoch % 3], seed=40 + epoch)  # replaced
        if epoch == 1:
            crowd.set_slot(0, CASES["Adam"], seed=9)  # refilled
            crowd.set_slot(2, CASES["SGD"], seed=8)  # a slot that was empty
    assert losses == expected
    crowd_weights = crowd.to_model(3).state_dict()
    for key, value in alone.to_model(0).state_dict().items():
        assert torch.equal(crowd_weights[key], value), key


def test_slots_report_what_they_hold(data):
    x, y = data
    trainer = BatchedTrainer(3, N_FEATURES)
    assert trainer.active_slots == [] and trainer.train_epoch(x, y) == {} and trainer.evaluate(x, y) == {}
    trainer.set_slot(2, CASES["SGD"], seed=0)
    trainer.set_slot(0, CASES["Adam"], seed=1)
    losses = trainer.train_epoch(x, y)
    assert list(losses) == [0, 2] and trainer.active_slots == [0, 2]
    assert trainer.slot_params(2) == check_space(CASES["SGD"]) and trainer.slot_params(1) is None
    assert trainer.slot_epochs(0) == 1 and trainer.slot_epochs(1) == 0
    accuracy = trainer.evaluate(x, y)
    assert set(accuracy) == {0, 2} and set(accuracy[0]) == {"age", "ethnicity", "gender", "all"}
    trainer.clear_slot(0)
    assert list(trainer.train_epoch(x, y)) == [2] and trainer.slot_epochs(2) == 2
    assert trainer.memory_bytes() > 0


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"num_fc_layers": 9}, ValueError, ["num_fc_layers", "4..8"]),
        ({"num_fc_layers": 3}, ValueError, ["num_fc_layers", "4..8"]),
        ({"last_fc": 65}, ValueError, ["last_fc", "8..64"]),
        ({"fc_output_feat_2": 7}, ValueError, ["fc_output_feat_2", "8..64"]),
        ({"fc_output_feat_1": 20.5}, ValueError, ["fc_output_feat_1", "integer"]),
        ({"fc_dropout_3": 0.6}, ValueError, ["fc_dropout_3", "0.0..0.5"]),
        ({"optimizer": "Adagrad"}, ValueError, ["optimizer", "MADGRAD"]),
        ({"lr": 0.1}, ValueError, ["lr", "0.0001..0.01"]),
        ({"lr": "fast"}, ValueError, ["lr", "not a number"]),
        ({"fc_dropout_0": None}, ValueError, ["fc_dropout_0"]),
    ],
)
def test_a_configuration_outside_the_space_is_refused_by_name(change, error, words):
    trainer = BatchedTrainer(1, N_FEATURES)
    with pytest.raises(error) as caught:
        trainer.set_slot(0, {**CASES["SGD"], **change}, seed=0)
    for word in words:
        assert word in str(caught.value)
    assert trainer.active_slots == []


def test_bad_arguments_are_refused(data):
    x, y = data
    params = dict(CASES["Adadelta"])
    del params["fc_output_feat_3"]
    with pytest.raises(KeyError, match="fc_output_feat_3"):
        BatchedTrainer(1, N_FEATURES).set_slot(0, params, seed=0)
    for k in (0, -1, 2.0):
        with pytest.raises(ValueError, match="n_slots"):
            BatchedTrainer(k, N_FEATURES)
    with pytest.raises(ValueError, match="not a device name"):
        BatchedTrainer(1, N_FEATURES, device="tpu")
    with pytest.raises(ValueError, match="not supported"):
        BatchedTrainer(1, N_FEATURES, device="meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            BatchedTrainer(1, N_FEATURES, device="cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="not available"):
            BatchedTrainer(1, N_FEATURES, device="mps")
    trainer = BatchedTrainer(2, N_FEATURES)
    with pytest.raises(IndexError, match="0..1"):
        trainer.set_slot(2, CASES["SGD"], seed=0)
    with pytest.raises(ValueError, match="empty"):
        trainer.to_model(1)
    trainer.set_slot(0, CASES["SGD"], seed=0)
    with pytest.raises(ValueError, match=f"\\(n, {N_FEATURES}\\)"):
        trainer.train_epoch(x[:, :10], y)
    with pytest.raises(ValueError, match="int64"):
        trainer.train_epoch(x, y[:, :2])
    with pytest.raises(ValueError, match="float32"):
        trainer.evaluate(x.double(), y)


def test_drawing_dropout_bits_for_several_steps_at_once_changes_nothing_on_a_cpu(data):
    """The accelerator path (bits for 16 steps per call, chunks from each epoch's start), checked here: on a
    CPU the generator's stream does not depend on how the draws are split, so the result must be identical."""
    x, y = data
    params = config([40, 30, 20, 10, 50], dropout=[0.5, 0.1, 0.0, 0.3, 0.2])
    losses, weights = [], []
    for chunk in (1, 3):
        trainer = BatchedTrainer(2, N_FEATURES, dropout_chunk=chunk)
        trainer.set_slot(1, params, seed=4)
        losses.append([trainer.train_epoch(x, y)[1] for _ in range(3)])
        weights.append(trainer.to_model(1).state_dict())
    assert losses[0] == losses[1]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["Adam", "MADGRAD"])
def test_a_slot_follows_the_plain_trainer_on_cuda(data, name):
    x, y = (t.cuda() for t in data)
    params, seed = CASES[name], 7
    torch.manual_seed(seed)
    plain = MultiHeadFCNet.from_params(params, N_FEATURES).cuda()
    optimizer = make_optimizer(params["optimizer"], plain.parameters(), params["lr"])
    generator = torch.Generator().manual_seed(seed)
    expected = [train_epoch(plain, optimizer, x, y, 128, generator) for _ in range(EPOCHS)]
    trainer = BatchedTrainer(3, N_FEATURES, device="cuda")
    trainer.set_slot(0, NEIGHBOURS[1], seed=1)
    trainer.set_slot(1, params, seed)
    assert [trainer.train_epoch(x, y)[1] for _ in range(EPOCHS)] == pytest.approx(expected, rel=1e-4)
    batched = trainer.to_model(1).state_dict()
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(batched[key], value, rtol=1e-3, atol=1e-3, msg=f"{name}: {key}")
