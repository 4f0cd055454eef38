"""The multi-head fully connected network of the original study, and its search space, exactly as the original.

The original (the blog post the course reproduces) suggested, in this order: ``num_fc_layers`` int 4..8,
``last_fc`` int 8..64, then per layer ``fc_output_feat_{i}`` int 8..64 and ``fc_dropout_{i}`` float 0..0.5,
then ``optimizer`` and ``lr`` float 1e-4..1e-2 (log). Its body is Linear-ReLU-Dropout blocks and a plain
``Linear(width, last_fc)`` with no activation, followed directly by the three heads. The order matters: a
sampler draws its random numbers in suggestion order, so another order is another study.

The same network is built from an Optuna trial (suggesting every choice) or from a plain params dict such
as ``study.best_trial.params``, so the best trial can be rebuilt exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import optuna
import torch
from torch import nn

# The three outputs and their class counts: 5 age bins, 5 ethnicities, 2 genders. Their labels live with the
# data they name (tutorial_utils.prepare: AGE_BIN_LABELS, ETHNICITY_LABELS, GENDER_LABELS; a test checks the
# counts agree), so the network does not depend on how the faces are prepared.
HEADS = {"age": 5, "ethnicity": 5, "gender": 2}

NUM_FC_LAYERS = (4, 8)
FC_OUTPUT_FEATURES = (8, 64)
FC_DROPOUT = (0.0, 0.5)
LAST_FC = (8, 64)
OPTIMIZERS = ("Adam", "Adadelta", "RMSprop", "SGD", "MADGRAD")
LEARNING_RATE = (1e-4, 1e-2)


def suggest_params(trial: optuna.Trial) -> dict:
    """Suggest the original study's whole search space on ``trial`` and return the params it chose.

    The space is dynamic: ``fc_output_feat_{i}`` / ``fc_dropout_{i}`` exist only for i < num_fc_layers.
    """
    n_layers = trial.suggest_int("num_fc_layers", *NUM_FC_LAYERS)
    trial.suggest_int("last_fc", *LAST_FC)
    for i in range(n_layers):
        trial.suggest_int(f"fc_output_feat_{i}", *FC_OUTPUT_FEATURES)
        trial.suggest_float(f"fc_dropout_{i}", *FC_DROPOUT)
    trial.suggest_categorical("optimizer", list(OPTIMIZERS))
    trial.suggest_float("lr", *LEARNING_RATE, log=True)
    return dict(trial.params)


# The designed space (notebook 09), built from what the original space's trials showed in the showdown's
# records: every top trial had 4 layers, the range's lower end, so depth spans 1..5; the top trials' widths sat
# near the upper end 64, so widths span 16..256 on a log scale; dropout above 0.3 was rare among them; and a
# single learning-rate range 1e-4..1e-2 left SGD and Adadelta unable to learn (their customary rates are about
# 0.1 and 1.0), so each optimizer gets a range around its own scale, suggested under its own name.
DESIGNED_NUM_FC_LAYERS = (1, 5)
DESIGNED_WIDTH = (16, 256)
DESIGNED_DROPOUT = (0.0, 0.3)
DESIGNED_LAST_FC = (8, 128)
DESIGNED_LEARNING_RATES = {
    "Adam": (1e-4, 1e-2), "Adadelta": (1e-1, 10.0), "RMSprop": (1e-4, 1e-2), "SGD": (1e-2, 1.0), "MADGRAD": (1e-4, 1e-2),
}


def suggest_designed_params(trial: optuna.Trial) -> dict:
    """Suggest the designed space on ``trial`` and return the trial's params (the learning rate under
    ``lr_<optimizer>``: one name per range, as Optuna needs; :func:`network_params` turns it into ``lr``)."""
    n_layers = trial.suggest_int("num_fc_layers", *DESIGNED_NUM_FC_LAYERS)
    trial.suggest_int("last_fc", *DESIGNED_LAST_FC, log=True)
    for i in range(n_layers):
        trial.suggest_int(f"fc_output_feat_{i}", *DESIGNED_WIDTH, log=True)
        trial.suggest_float(f"fc_dropout_{i}", *DESIGNED_DROPOUT)
    optimizer = trial.suggest_categorical("optimizer", list(OPTIMIZERS))
    trial.suggest_float(f"lr_{optimizer}", *DESIGNED_LEARNING_RATES[optimizer], log=True)
    return dict(trial.params)


# Search spaces by name: what a study suggests. Each returns the trial's params.
SPACES = {"original": suggest_params, "designed": suggest_designed_params}


def network_params(params: Mapping) -> dict:
    """A trial's params as the network and optimizer read them: ``lr_<optimizer>`` (the designed space) becomes
    ``lr``; the original space's params come back unchanged."""
    clean = {k: v for k, v in params.items() if not k.startswith("lr_")}
    if "lr" not in clean and f"lr_{params.get('optimizer')}" in params:
        clean["lr"] = params[f"lr_{params['optimizer']}"]
    return clean


def check_params(params: Mapping) -> None:
    """Raise a readable error when a params dict cannot describe a network (e.g. a hand-edited YAML)."""
    missing = [k for k in ("num_fc_layers", "last_fc") if k not in params]
    if missing:
        raise KeyError(f"params lack {missing}; expected keys like those of study.best_trial.params")
    n = int(params["num_fc_layers"])
    for i in range(n):
        for key in (f"fc_output_feat_{i}", f"fc_dropout_{i}"):
            if key not in params:
                raise KeyError(f"params say num_fc_layers={n} but lack {key!r}")


class MultiHeadFCNet(nn.Module):
    """Linear-ReLU-Dropout blocks, a ``Linear`` to ``last_fc`` (no activation, as the original), then three
    heads: age (5), ethnicity (5), gender (2).

    The three heads are stored as one fused ``Linear(last_fc, 12)`` (one matmul instead of three, the same
    parameters); ``forward`` returns the three logits tensors separately.
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int],
        dropouts: Sequence[float],
        last_fc: int,
        heads: Mapping[str, int] = HEADS,
    ) -> None:
        super().__init__()
        if len(hidden) != len(dropouts):
            raise ValueError(f"{len(hidden)} hidden sizes but {len(dropouts)} dropouts")
        layers: list[nn.Module] = []
        width = n_features
        for out_features, p in zip(hidden, dropouts, strict=True):
            layers += [nn.Linear(width, int(out_features)), nn.ReLU(), nn.Dropout(float(p))]
            width = int(out_features)
        layers.append(nn.Linear(width, int(last_fc)))
        self.body = nn.Sequential(*layers)
        self.head_sizes = dict(heads)
        self.heads = nn.Linear(int(last_fc), sum(self.head_sizes.values()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.heads(self.body(x)).split(list(self.head_sizes.values()), dim=1))

    @classmethod
    def from_params(cls, params: Mapping, n_features: int) -> MultiHeadFCNet:
        """Rebuild the network from a params dict (e.g. ``study.best_trial.params`` or a loaded YAML)."""
        check_params(params)
        params = network_params(params)
        n = int(params["num_fc_layers"])
        return cls(
            n_features,
            hidden=[int(params[f"fc_output_feat_{i}"]) for i in range(n)],
            dropouts=[float(params[f"fc_dropout_{i}"]) for i in range(n)],
            last_fc=int(params["last_fc"]),
        )

    @classmethod
    def from_trial(cls, trial: optuna.Trial, n_features: int) -> MultiHeadFCNet:
        """Suggest the architecture on ``trial`` and build it."""
        return cls.from_params(suggest_params(trial), n_features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
