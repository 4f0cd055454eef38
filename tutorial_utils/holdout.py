"""Carve a validation split out of the training rows, so a study can select on it and the test set stays fresh.

``prepare_faces`` gives train and test only. A study that scores its trials on the test rows *selects*
on them, and the winner's score is then optimistic (it is the best of many noisy draws on the same rows).
Tuning on a validation split and scoring the chosen configuration once on the untouched test rows gives
an honest estimate, and the gap between the two numbers measures the optimism.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .prepare import FaceTensors


@dataclass
class HoldoutSplit:
    """``tuning``: fit rows as train, validation rows as its "test" (what the objective scores).
    ``x_test``/``y_test``: the original test rows, for one final score after the study."""

    tuning: FaceTensors
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def test_set(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The final test rows in the form ``retrain.retrain_best(extra_sets=...)`` takes."""
        return {"test": (self.x_test, self.y_test)}

    def sizes(self) -> dict[str, int]:
        return {"fit": len(self.tuning.x_train), "valid": len(self.tuning.x_test), "test": len(self.x_test)}


def split_for_tuning(data: FaceTensors, valid_fraction: float = 0.2, seed: int = 0) -> HoldoutSplit:
    """Split ``data``'s train rows into fit/validation (stratified on the age bin); keep its test rows aside."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be between 0 and 1 (exclusive), got {valid_fraction}")
    age_bin = data.y_train[:, 0].cpu().numpy()
    idx_fit, idx_valid = train_test_split(
        np.arange(len(age_bin)), test_size=valid_fraction, random_state=seed, stratify=age_bin
    )
    fit_rows = torch.as_tensor(np.sort(idx_fit), device=data.device)
    valid_rows = torch.as_tensor(np.sort(idx_valid), device=data.device)
    tuning = FaceTensors(
        data.x_train[fit_rows],
        data.y_train[fit_rows],
        data.x_train[valid_rows],
        data.y_train[valid_rows],
        data.image_side,
        data.source,
        data.is_synthetic,
    )
    return HoldoutSplit(tuning, data.x_test, data.y_test)
