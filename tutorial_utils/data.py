"""The face data, in one forward path: find the file, read it (from the cache or by parsing), validate, hand on.

The real file is Kaggle's ``age_gender.csv``: ``age,ethnicity,gender,img_name,pixels`` where ``pixels`` is
2304 space-separated integers (a 48x48 grayscale face). ``find_data_file`` finds it; ``face_cache`` returns
the arrays of an unchanged file; otherwise ``face_csv.read_face_file`` parses and validates it (naming the
file, row and column of anything wrong). Without a real file the synthetic stand-in is drawn as arrays
(``synthetic.synthetic_arrays``), with no text on the way. ``prepare.prepare_faces`` takes it from there.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import synthetic
from .face_cache import cache_path, default_cache_dir, read_cache, write_cache
from .face_csv import (
    GET_DATA_HINT,
    IMAGE_SIDE,
    LABEL_RANGES,
    N_PIXELS,
    REQUIRED_COLUMNS,
    DataFormatError,
    arrays_from_table,
    parse_pixel_strings,
    read_face_file,
    read_face_table,
)

__all__ = [
    "CANDIDATE_NAMES",
    "DEFAULT_SYNTHETIC_ROWS",
    "DEFAULT_SYNTHETIC_SEED",
    "GET_DATA_HINT",
    "IMAGE_SIDE",
    "LABEL_RANGES",
    "N_PIXELS",
    "REQUIRED_COLUMNS",
    "DataFormatError",
    "FaceData",
    "default_cache_dir",
    "faces_from_frame",
    "find_data_file",
    "load_age_gender",
    "parse_pixel_strings",
    "read_face_table",
    "repo_root",
    "searched_places",
    "synthetic_faces",
]

CANDIDATE_NAMES = ("age_gender.csv", "age_gender.csv.gz", "age-gender-and-ethnicity-face-data-csv.zip", "archive.zip")
DEFAULT_SYNTHETIC_ROWS = 6000
DEFAULT_SYNTHETIC_SEED = 0


@dataclass
class FaceData:
    """Parsed faces: ``images`` is uint8 (n, 48, 48); labels are int arrays aligned with it."""

    images: np.ndarray
    age: np.ndarray
    ethnicity: np.ndarray
    gender: np.ndarray
    img_name: np.ndarray
    source: str
    is_synthetic: bool = False
    from_cache: bool = field(default=False, compare=False)

    def __len__(self) -> int:
        return len(self.age)

    @property
    def labels(self) -> pd.DataFrame:
        """The label columns as a DataFrame (no pixels), handy for counts and plots."""
        return pd.DataFrame(
            {"age": self.age, "ethnicity": self.ethnicity, "gender": self.gender, "img_name": self.img_name}
        )

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], source: str, *, is_synthetic: bool = False, from_cache: bool = False
    ) -> FaceData:
        return cls(
            images=arrays["images"],
            age=arrays["age"],
            ethnicity=arrays["ethnicity"],
            gender=arrays["gender"],
            img_name=arrays["img_name"],
            source=source,
            is_synthetic=is_synthetic,
            from_cache=from_cache,
        )


# ----------------------------------------------------------------------------------------------- finding


COURSE_HOME_ENV = "HPO_COURSE_HOME"
DATA_DIR_ENV = "HPO_COURSE_DATA"


def _is_checkout(folder: Path) -> bool:
    """A clone of the course: the package sits next to pyproject.toml and notebooks/."""
    return (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir()


def repo_root() -> Path:
    """The course's home, where ``data/`` and ``imgs/`` live, so they resolve however the course is installed.

    ``$HPO_COURSE_HOME`` when set; else the checkout holding this package (``make setup``, Colab); else, for a
    wheel install, the working directory, or its parent when that one holds ``notebooks/`` or ``data/`` (a
    notebook runs in ``notebooks/``).
    """
    env = os.environ.get(COURSE_HOME_ENV)
    if env:
        return Path(env).expanduser().absolute()
    package_parent = Path(__file__).resolve().parent.parent
    if _is_checkout(package_parent):
        return package_parent
    cwd = Path.cwd()
    for folder in (cwd, cwd.parent):
        if (folder / "notebooks").is_dir() or (folder / "data").is_dir():
            return folder
    return cwd


def data_dirs() -> list[Path]:
    """Where to look for the real file, in order: ``$HPO_COURSE_DATA`` alone when set; else ``./data``,
    ``../data`` (notebooks run in ``notebooks/``) and the course home's ``data/`` (see ``repo_root``)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return [Path(env).expanduser()]
    cwd = Path.cwd()
    dirs: list[Path] = []
    for folder in (cwd / "data", cwd.parent / "data", repo_root() / "data"):
        if folder not in dirs:
            dirs.append(folder)
    return dirs


def searched_places() -> str:
    """The folders ``find_data_file`` looks in, for messages that say where no data was found."""
    return ", ".join(str(folder) for folder in data_dirs())


def _check_env_folders() -> None:
    """An environment variable naming a folder that is not there is a typo: say so instead of going synthetic."""
    for name in (DATA_DIR_ENV, COURSE_HOME_ENV):
        value = os.environ.get(name)
        if value and not Path(value).expanduser().is_dir():
            raise FileNotFoundError(f"{name}={value}: no such folder. Fix or unset {name}. {GET_DATA_HINT}")


def find_data_file(path: str | os.PathLike | None = None) -> Path | None:
    """Return the face file to use: ``path`` when given, else the first known name under a ``data/`` folder.

    Known names: age_gender.csv, age_gender.csv.gz, and Kaggle's zip (any .zip holding age_gender.csv).
    Returns None when there is no real file; raises when an explicit ``path``, or a folder named by
    ``$HPO_COURSE_DATA`` or ``$HPO_COURSE_HOME``, does not exist or (``$HPO_COURSE_DATA``) holds no such file.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file. Check the path, or pass path=None to use data/. {GET_DATA_HINT}")
        if p.is_dir():
            found = _first_candidate(p)
            if found is None:
                raise FileNotFoundError(f"{p}: folder holds none of {', '.join(CANDIDATE_NAMES)}. {GET_DATA_HINT}")
            return found
        return p
    _check_env_folders()
    for folder in data_dirs():
        found = _first_candidate(folder)
        if found is not None:
            return found
    if os.environ.get(DATA_DIR_ENV):
        raise FileNotFoundError(
            f"{DATA_DIR_ENV}={os.environ[DATA_DIR_ENV]}: folder holds none of {', '.join(CANDIDATE_NAMES)}. {GET_DATA_HINT}"
        )
    return None


def _first_candidate(folder: Path) -> Path | None:
    for name in CANDIDATE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    if folder.is_dir():  # a Kaggle zip saved under another name
        for candidate in sorted(folder.glob("*.zip")):
            if _zip_holds_faces(candidate):
                return candidate
    return None


def _zip_holds_faces(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(Path(name).name == "age_gender.csv" for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


# ----------------------------------------------------------------------------------------------- loading


def load_age_gender(
    path: str | os.PathLike | None = None,
    *,
    use_cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    synthetic_rows: int = DEFAULT_SYNTHETIC_ROWS,
    synthetic_seed: int = DEFAULT_SYNTHETIC_SEED,
    verbose: bool = True,
) -> FaceData:
    """Load the face data: the real file when one is found, else the synthetic stand-in (and say so).

    The parsed arrays are cached keyed on the source's path, size and mtime; a changed source or a corrupt
    cache is parsed again.
    """
    source = find_data_file(path)
    if source is None:
        if verbose:
            print(
                f"No real face data found (looked in {searched_places()}): using {synthetic_rows} SYNTHETIC faces (seed {synthetic_seed}); "
                f"numbers from them are not real results. {GET_DATA_HINT}"
            )
        return synthetic_faces(synthetic_rows, synthetic_seed, use_cache=use_cache, cache_dir=cache_dir)
    cache_file = cache_path(source, cache_dir) if use_cache else None
    cached = read_cache(cache_file, source) if cache_file is not None else None
    if cached is not None:
        return FaceData.from_arrays(cached, source=str(source), from_cache=True)
    arrays = read_face_file(source)
    if cache_file is not None:
        write_cache(cache_file, source, arrays)
    return FaceData.from_arrays(arrays, source=str(source))


def synthetic_generator_file() -> Path:
    """The module that draws the synthetic faces: its size and mtime key their cache."""
    return Path(synthetic.__file__)


def synthetic_faces(
    rows: int = DEFAULT_SYNTHETIC_ROWS,
    seed: int = DEFAULT_SYNTHETIC_SEED,
    *,
    use_cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> FaceData:
    """The synthetic stand-in, drawn as arrays; cached (drawing 6000 faces takes about 2 s), keyed on the
    generator module's file, so a changed generator draws them again."""
    label = f"synthetic(n={rows}, seed={seed})"
    generator = synthetic_generator_file()
    cache_file = cache_path(generator, cache_dir, tag=f"synthetic-{rows}-{seed}") if use_cache else None
    cached = read_cache(cache_file, generator) if cache_file is not None else None
    if cached is not None:
        return FaceData.from_arrays(cached, source=label, is_synthetic=True, from_cache=True)
    arrays = synthetic.synthetic_arrays(rows, seed)
    if cache_file is not None:
        write_cache(cache_file, generator, arrays)
    return FaceData.from_arrays(arrays, source=label, is_synthetic=True)


def faces_from_frame(frame: pd.DataFrame, source: str) -> FaceData:
    """FaceData from a table in the CSV's schema (labels validated, pixel strings parsed)."""
    return FaceData.from_arrays(arrays_from_table(frame, source), source=source)
