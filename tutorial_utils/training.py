"""Training and evaluation over device-resident tensors, and the Optuna objective for the face network.

An epoch shuffles by a permutation of row indices and slices the big tensors: no Dataset, no DataLoader, no
per-sample Python. That is what makes a 50-epoch trial take seconds instead of the original's ~45 s.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import optuna
import torch
import torch.nn.functional as F
from torch import nn

from .models import SPACES, MultiHeadFCNet, count_parameters, network_params
from .prepare import FaceTensors
from .recording import record_ask, record_trained, report_epoch

EVAL_BATCH = 8192


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, Adadelta, RMSprop, SGD or MADGRAD by name (the original study's choices).

    Uses the fused (Adam, SGD) or multi-tensor (RMSprop, Adadelta) update where torch has one: for nets this
    small the per-parameter Python loop of the default update is a sixth of the epoch (benchmarks/).
    """
    params = list(params)
    if name == "MADGRAD":
        from madgrad import MADGRAD

        return MADGRAD(params, lr=lr)
    choices = {"Adam": torch.optim.Adam, "Adadelta": torch.optim.Adadelta, "RMSprop": torch.optim.RMSprop, "SGD": torch.optim.SGD}
    if name not in choices:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted([*choices, 'MADGRAD'])}")
    device = params[0].device.type if params else "cpu"
    if name in ("Adam", "SGD") and device in ("cpu", "cuda"):
        speed = {"fused": True}
    else:
        speed = {"foreach": True}
    return choices[name](params, lr=lr, **speed)


def multi_head_loss(logits: tuple[torch.Tensor, ...], targets: torch.Tensor) -> torch.Tensor:
    """Sum of the three cross-entropies (age, ethnicity, gender), as in the original study."""
    return sum(F.cross_entropy(head, targets[:, k]) for k, head in enumerate(logits))


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 128,
    generator: torch.Generator | None = None,
) -> float:
    """One pass over (x, y) in shuffled mini-batches; returns the mean loss per sample."""
    model.train()
    n = len(x)
    order = torch.randperm(n, generator=generator, device="cpu").to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        loss = multi_head_loss(model(x.index_select(0, idx)), y.index_select(0, idx))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    return float(total) / n


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Accuracy of each head, and of all three right at once ("all")."""
    model.eval()
    correct = torch.zeros(4, device=x.device)
    for start in range(0, len(x), EVAL_BATCH):
        logits = model(x[start : start + EVAL_BATCH])
        hits = torch.stack([head.argmax(1) == y[start : start + EVAL_BATCH, k] for k, head in enumerate(logits)])
        correct += torch.cat([hits.sum(1), hits.all(0).sum()[None]])
    acc = (correct / len(x)).tolist()
    return {"age": acc[0], "ethnicity": acc[1], "gender": acc[2], "all": acc[3]}


def config_seed(params: Mapping, seed: int = 0) -> int:
    """The training seed of a configuration: a function of its params and the study seed only.

    So the same configuration trains the same way (same initial weights, batch order and dropout masks) in
    every study of a seed, whichever sampler proposed it and at whichever trial number: paired studies then
    differ only by what their samplers chose, not by training luck.
    """
    text = json.dumps({k: _canonical(params[k]) for k in sorted(params)}, sort_keys=True)
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(text.encode())]).generate_state(1)[0])


def _canonical(value: object) -> object:
    """Plain int/float/str, so a value from numpy, a sampler or a YAML file gives the same seed text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def fit(
    params: Mapping,
    data: FaceTensors,
    n_epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[MultiHeadFCNet, list[dict[str, float]]]:
    """Build the network and optimizer from ``params``, train on the fit rows; returns the model and per-epoch
    metrics: the mean train ``loss`` and the VALIDATION accuracies (``age``, ``ethnicity``, ``gender``, ``all``,
    fractions). The test rows are never read here.

    ``on_epoch(epoch, metrics)`` is called after each epoch (the objective uses it to report and prune).
    """
    torch.manual_seed(seed)
    params = network_params(params)
    model = MultiHeadFCNet.from_params(params, data.n_features).to(data.device)
    optimizer = make_optimizer(params["optimizer"], model.parameters(), float(params["lr"]))
    generator = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(n_epochs):
        loss = train_epoch(model, optimizer, data.x_train, data.y_train, batch_size, generator)
        metrics = {"epoch": epoch, "loss": loss, **evaluate(model, data.x_valid, data.y_valid)}
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    return model, history


def make_face_objective(
    data: FaceTensors,
    n_epochs: int = 50,
    batch_size: int = 128,
    seed: int = 0,
    prune: bool = True,
    score_test: Callable[[nn.Module], float] | None = None,
    space: str = "original",
) -> Callable[[optuna.Trial], float]:
    """The study's objective: suggest the whole space, train on the fit rows, report VALIDATION age accuracy in
    percent after every epoch (the pruner decides on it) and return the last epoch's.

    Percent, as the original's objective returned (its printout: ``accuracy: 69.457...``): the original's
    ``acq_func_kwargs={"xi": 0.02}`` is in the objective's units, so a fraction would make EI explore 100
    times more. Training is seeded by :func:`config_seed`. ``score_test(model)`` (the runner's) scores a trial
    trained to the end on the test rows, for the report only: the objective itself never reads them. Every
    attr goes through :mod:`tutorial_utils.recording`, the lockstep runner's writer too. ``space`` names the
    search space (:data:`~tutorial_utils.models.SPACES`): the original's, or the designed one of notebook 09.
    """
    suggest = SPACES[space]

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial)
        record_ask(trial)

        def report(epoch: int, metrics: dict[str, float]) -> None:
            accuracy = report_epoch(trial, epoch, metrics)
            if prune and trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch} with validation age accuracy {accuracy:.2f} %")

        model, history = fit(params, data, n_epochs, batch_size, seed=config_seed(params, seed), on_epoch=report)
        test_age = score_test(model) if score_test is not None else None
        record_trained(trial, history[-1], count_parameters(model), test_age)
        return 100 * history[-1]["age"]

    return objective
