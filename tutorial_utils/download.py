"""The optional, explicit download of the real face data with kagglehub (the only network use at run time)."""

from __future__ import annotations

import shutil
from pathlib import Path

KAGGLE_DATASET = "nipunarora8/age-gender-and-ethnicity-face-data-csv"
FILE_NAME = "age_gender.csv"


def download_face_data(dest: str | Path = "../data") -> Path:
    """Download ``age_gender.csv`` with kagglehub into ``dest`` (default: the course's data/ folder).

    Needs a Kaggle account: in Colab, kagglehub asks for your credentials (or set KAGGLE_USERNAME/KAGGLE_KEY).
    """
    try:
        import kagglehub
    except ImportError as exc:
        raise ImportError("kagglehub is not installed: `pip install kagglehub`, or download the CSV by hand (data/README.md).") from exc
    folder = Path(kagglehub.dataset_download(KAGGLE_DATASET))
    found = next(iter(sorted(folder.rglob(FILE_NAME))), None)
    if found is None:
        raise FileNotFoundError(f"{folder}: the Kaggle download has no {FILE_NAME}; see data/README.md for the manual route.")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / FILE_NAME
    shutil.copyfile(found, target)
    return target
