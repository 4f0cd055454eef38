"""The optional, explicit download of the real face data with kagglehub (the only network use at run time)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .data import DATA_DIR_ENV, repo_root

KAGGLE_DATASET = "nipunarora8/age-gender-and-ethnicity-face-data-csv"
FILE_NAME = "age_gender.csv"


def default_data_dir() -> Path:
    """Where ``download_face_data`` puts the file by default: where ``tutorial_utils.data`` looks for it.

    ``$HPO_COURSE_DATA`` when set (then the loader looks there alone), else the course home's ``data/``
    (``tutorial_utils.data.repo_root``: the checkout, or ``$HPO_COURSE_HOME``), whatever the working directory.
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else repo_root() / "data"


def download_face_data(dest: str | Path | None = None) -> Path:
    """Download ``age_gender.csv`` with kagglehub into ``dest`` (default: ``default_data_dir()``).

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
    dest = Path(dest) if dest is not None else default_data_dir()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / FILE_NAME
    shutil.copyfile(found, target)
    return target
