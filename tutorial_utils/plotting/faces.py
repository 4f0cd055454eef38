"""Pictures of the face data: a grid of faces per age bin and bar charts of the labels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data import FaceData
from ..prepare import AGE_BIN_LABELS, ETHNICITY_LABELS, GENDER_LABELS, bin_ages


def pick_faces_per_age_bin(faces: FaceData, per_bin: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """Row indices of up to ``per_bin`` random faces for each age bin (label -> indices)."""
    rng = np.random.default_rng(seed)
    bins = bin_ages(faces.age)
    picked = {}
    for k, label in enumerate(AGE_BIN_LABELS):
        rows = np.flatnonzero(bins == k)
        picked[label] = rng.choice(rows, size=min(per_bin, len(rows)), replace=False) if len(rows) else rows
    return picked


def plot_face_grid(faces: FaceData, per_bin: int = 6, seed: int = 0):
    """One row of faces per age bin, each titled with its age, ethnicity and gender."""
    picked = pick_faces_per_age_bin(faces, per_bin, seed)
    fig, axes = plt.subplots(len(picked), per_bin, figsize=(1.5 * per_bin, 1.7 * len(picked)), squeeze=False)
    for r, (label, rows) in enumerate(picked.items()):
        for c in range(per_bin):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(rows):
                i = rows[c]
                ax.imshow(faces.images[i], cmap="gray", vmin=0, vmax=255)
                ax.set_title(f"{faces.age[i]}y {ETHNICITY_LABELS[faces.ethnicity[i]][:5]} {GENDER_LABELS[faces.gender[i]][0]}", fontsize=8)
        axes[r, 0].text(-0.15, 0.5, f"age {label}", transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=10)
    kind = "SYNTHETIC faces" if faces.is_synthetic else "faces"
    fig.suptitle(f"{kind} by age bin ({len(faces):,} rows)", fontsize=11)
    fig.tight_layout()
    return fig


def label_counts(faces: FaceData) -> dict[str, np.ndarray]:
    """Counts per class for the three targets (age as the 5 bins)."""
    return {
        "age bin": np.bincount(bin_ages(faces.age), minlength=len(AGE_BIN_LABELS)),
        "ethnicity": np.bincount(faces.ethnicity, minlength=len(ETHNICITY_LABELS)),
        "gender": np.bincount(faces.gender, minlength=len(GENDER_LABELS)),
    }


def plot_label_bars(faces: FaceData):
    """Three bar charts of the label counts, with the share on each bar."""
    names = {"age bin": AGE_BIN_LABELS, "ethnicity": ETHNICITY_LABELS, "gender": GENDER_LABELS}
    counts = label_counts(faces)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, (target, values) in zip(axes, counts.items(), strict=True):
        bars = ax.bar(names[target], values, color="tab:blue")
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(f"{100 * v / values.sum():.1f}%", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
        ax.set_title(target)
        ax.set_ylabel("faces")
    fig.tight_layout()
    return fig
