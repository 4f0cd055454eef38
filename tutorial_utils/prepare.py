"""Turn parsed faces into training tensors: age bins, stratified splits, optional 24x24 resize, [-1, 1] scale.

Three splits: the original's 80/20 train/test split (stratified on the age bin, seed 13, so the test rows
are the original's), and a validation split carved, stratified, out of its training rows. A study trains on
the fit rows and scores (prunes, selects) on the validation rows; the test rows stay untouched until the
selected trial is reported once. Scoring trials on test, as the original did, makes the winner's score
optimistic: it is the best of many noisy draws on the same rows.

Everything ends up as a few large tensors on the training device, so an epoch is a loop over index
slices with no per-sample Python and no DataLoader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from .data import (
    DEFAULT_SYNTHETIC_ROWS,
    DEFAULT_SYNTHETIC_SEED,
    GET_DATA_HINT,
    FaceData,
    find_data_file,
    load_age_gender,
    synthetic_faces,
)
from .models import HEADS

AGE_BIN_EDGES = (10, 20, 40, 60)  # <10, <20, <40, <60, 60+
AGE_BIN_LABELS = ("<10", "<20", "<40", "<60", "60+")
ETHNICITY_LABELS = ("White", "Black", "Asian", "Indian", "Others")
GENDER_LABELS = ("male", "female")
DEFAULT_SPLIT_SEED = 13
DEFAULT_VALID_SIZE = 0.2  # of the training rows: fit 64 %, validation 16 %, test 20 % of all faces


def bin_ages(age: np.ndarray) -> np.ndarray:
    """Map ages to the 5 classes <10, <20, <40, <60, 60+ (0..4)."""
    return np.digitize(np.asarray(age), AGE_BIN_EDGES).astype(np.int64)


@dataclass
class FaceTensors:
    """Fit/validation/test tensors on one device. ``x_*`` float32 (n, side*side) in [-1, 1]; ``y_*`` int64 (n, 3).

    ``x_train`` holds the fit rows (what the network trains on), ``x_valid`` the validation rows (what a study
    scores), ``x_test`` the untouched test rows.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_side: int
    source: str
    is_synthetic: bool

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def sizes(self) -> dict[str, int]:
        return {"fit": len(self.x_train), "valid": len(self.x_valid), "test": len(self.x_test)}

    def train_age_shares(self) -> np.ndarray:
        """Percentage of the original's training rows (fit + validation) in each age bin, as it printed."""
        labels = torch.cat([self.y_train[:, 0], self.y_valid[:, 0]])
        counts = torch.bincount(labels, minlength=HEADS["age"]).cpu().numpy()
        return 100 * counts / counts.sum()

    def subset_train(self, fraction: float, seed: int = 0) -> FaceTensors:
        """A random fraction of the fit rows, same validation and test rows (for 'does more data help?')."""
        n = max(1, int(round(fraction * len(self.x_train))))
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self.x_train), generator=g)[:n].to(self.device)
        return replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx])


def resize_images(images: np.ndarray | torch.Tensor, side: int) -> torch.Tensor:
    """Resize (n, H, W) images to side x side with antialiasing, as PIL's resize did in the original study.

    Clamped to 0-255 like PIL, since antialiased interpolation can overshoot by a hair.
    """
    x = torch.as_tensor(images, dtype=torch.float32)[:, None]
    if x.shape[-1] == side:
        return x[:, 0]
    resized = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return resized[:, 0].clamp_(0.0, 255.0)


def prepare_faces(
    faces: FaceData,
    *,
    image_side: int = 24,
    test_size: float = 0.2,
    valid_size: float = DEFAULT_VALID_SIZE,
    seed: int = DEFAULT_SPLIT_SEED,
    device: str | torch.device = "cpu",
) -> FaceTensors:
    """Bin ages; split train/test 80/20 stratified on the age bin (seed 13, the original's test rows); carve
    ``valid_size`` of the training rows, stratified, into a validation split; resize, scale, move to device."""
    if not 0 < valid_size < 1:
        raise ValueError(f"valid_size is a fraction of the training rows, between 0 and 1 (exclusive); got {valid_size}")
    age_bin = bin_ages(faces.age)
    labels = np.stack([age_bin, faces.ethnicity, faces.gender], axis=1).astype(np.int64)
    idx_train, idx_test = train_test_split(
        np.arange(len(faces)), test_size=test_size, random_state=seed, stratify=age_bin
    )
    idx_fit, idx_valid = train_test_split(idx_train, test_size=valid_size, random_state=seed, stratify=age_bin[idx_train])

    def tensors(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = resize_images(faces.images[idx], image_side).reshape(len(idx), -1)
        x = x / 127.5 - 1.0
        return x.to(device).contiguous(), torch.from_numpy(labels[idx]).to(device)

    return FaceTensors(
        *tensors(idx_fit), *tensors(idx_valid), *tensors(idx_test), image_side, faces.source, faces.is_synthetic
    )


SYNTHETIC = "synthetic"


def load_study_data(
    data: str | os.PathLike | None,
    *,
    image_side: int = 24,
    device: str | torch.device = "cpu",
    synthetic_rows: int | None = None,
    verbose: bool = True,
) -> FaceTensors:
    """FaceTensors for a study: the file at ``data``, the synthetic faces for ``"synthetic"``, and for None
    the real file under ``data/``. A long headless run never falls back to synthetic data silently: None
    without a real file is an error that says what to pass.
    """
    if str(data) == SYNTHETIC:
        rows = synthetic_rows or DEFAULT_SYNTHETIC_ROWS
        faces = synthetic_faces(rows, DEFAULT_SYNTHETIC_SEED)
        if verbose:
            print(f"Data: {rows} SYNTHETIC faces (not real results).")
    else:
        path = find_data_file(data)
        if path is None:
            raise FileNotFoundError(f"no real face data under data/: pass a file path, or 'synthetic'. {GET_DATA_HINT}")
        faces = load_age_gender(path, verbose=verbose)
        if verbose:
            print(f"Data: {len(faces)} faces from {path}")
    return prepare_faces(faces, image_side=image_side, device=device)
