"""Find, validate, parse and cache the face CSV (real or synthetic): one loader serves both.

The real file is Kaggle's ``age_gender.csv``: ``age,ethnicity,gender,img_name,pixels`` where ``pixels`` is
2304 space-separated integers (a 48x48 grayscale face). Splitting those strings row by row in Python was the
slow part of the original pipeline; here the file's bytes are parsed in blocks with NumPy (see
``face_csv``) and the parsed arrays are cached (see ``face_cache``).
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
    NeedsGeneralReader,
    check_header,
    label_problem,
    open_text_bytes,
    parse_pixel_texts,
    read_standard_file,
    where,
)
from .synthetic import make_synthetic_faces

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
    def from_arrays(cls, arrays: dict[str, np.ndarray], source: str, from_cache: bool = False) -> FaceData:
        return cls(
            images=arrays["images"],
            age=arrays["age"],
            ethnicity=arrays["ethnicity"],
            gender=arrays["gender"],
            img_name=arrays["img_name"],
            source=source,
            from_cache=from_cache,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "images": self.images,
            "age": self.age,
            "ethnicity": self.ethnicity,
            "gender": self.gender,
            "img_name": np.asarray(self.img_name).astype(str),
        }


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
    cache is parsed again. The synthetic faces are cached too (drawing them takes seconds), keyed on the
    generator module's file, so a changed generator draws them again.
    """
    source = find_data_file(path)
    if source is None:
        if verbose:
            print(
                f"No real face data found (looked in {searched_places()}): using {synthetic_rows} SYNTHETIC faces (seed {synthetic_seed}); "
                f"numbers from them are not real results. {GET_DATA_HINT}"
            )
        return _synthetic_faces(synthetic_rows, synthetic_seed, use_cache, cache_dir)

    cache_file = cache_path(source, cache_dir) if use_cache else None
    if cache_file is not None:
        cached = read_cache(cache_file, source)
        if cached is not None:
            return FaceData.from_arrays(cached, source=str(source), from_cache=True)
    faces = _parse_file(source)
    if cache_file is not None:
        write_cache(cache_file, source, faces.arrays())
    return faces


def synthetic_generator_file() -> Path:
    """The module that draws the synthetic faces: its size and mtime key their cache."""
    return Path(synthetic.__file__)


def _synthetic_faces(rows: int, seed: int, use_cache: bool, cache_dir: str | os.PathLike | None) -> FaceData:
    label = f"synthetic(n={rows}, seed={seed})"
    generator = synthetic_generator_file()
    cache_file = cache_path(generator, cache_dir, tag=f"synthetic-{rows}-{seed}") if use_cache else None
    cached = read_cache(cache_file, generator) if cache_file is not None else None
    if cached is not None:
        faces = FaceData.from_arrays(cached, source=label, from_cache=True)
    else:
        faces = faces_from_frame(make_synthetic_faces(rows, seed=seed), source=label)
        if cache_file is not None:
            write_cache(cache_file, generator, faces.arrays())
    faces.is_synthetic = True
    return faces


def _parse_file(source: Path) -> FaceData:
    """The fast byte-level reader; pandas for valid files in another layout (other column order, quotes)."""
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such file. {GET_DATA_HINT}")
    if source.stat().st_size == 0:
        raise DataFormatError(f"{source}: the file is empty (0 bytes). Download it again. {GET_DATA_HINT}")
    try:
        return FaceData.from_arrays(read_standard_file(source, str(source)), source=str(source))
    except NeedsGeneralReader:
        return faces_from_frame(read_face_table(source), source=str(source))


def read_face_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read the CSV (plain, .gz or Kaggle's .zip) with pandas, every column as text; checks the header.

    The slower general route, for valid files the fast reader does not expect.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file. {GET_DATA_HINT}")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty (0 bytes). Download it again. {GET_DATA_HINT}")
    try:
        with open_text_bytes(path) as f:
            frame = pd.read_csv(f, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(f"{path}: the file is empty (no header, no rows). Download it again. {GET_DATA_HINT}") from exc
    except pd.errors.ParserError as exc:
        raise DataFormatError(f"{path}: not a valid CSV ({exc}). Check the file was not cut short or edited.") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc}). Download it again. {GET_DATA_HINT}") from exc
    check_header([str(c) for c in frame.columns], str(path))
    if len(frame) == 0:
        raise DataFormatError(f"{path}: the header is there but there are no data rows. {GET_DATA_HINT}")
    return frame


def faces_from_frame(frame: pd.DataFrame, source: str) -> FaceData:
    """Validate the labels and parse the pixel strings of a table (file or synthetic) into FaceData."""
    labels = {name: _validated_label(frame, name, source) for name in LABEL_RANGES}
    pixels = parse_pixel_strings(frame["pixels"], source=source)
    names = frame["img_name"].astype(str).to_numpy() if "img_name" in frame.columns else np.arange(len(frame)).astype(str)
    return FaceData(
        images=pixels.reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
        age=labels["age"],
        ethnicity=labels["ethnicity"],
        gender=labels["gender"],
        img_name=np.asarray(names).astype(str),
        source=source,
    )


def _validated_label(frame: pd.DataFrame, name: str, source: str) -> np.ndarray:
    column = frame[name]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lo, hi = LABEL_RANGES[name]
    bad = np.isnan(values) | (values != np.round(values)) | (values < lo) | (values > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = str(column.iloc[i])
        problem = label_problem(name, text) or f"{text!r} is not a whole number {lo}-{hi}. Fix or delete that row."
        raise DataFormatError(f"{where(source, i + 1, name)}: {problem}")
    return values.astype(np.int64)


def parse_pixel_strings(pixels: pd.Series | list[str], source: str = "<pixels>") -> np.ndarray:
    """Parse n strings of 2304 space-separated 0-255 ints into an (n, 2304) uint8 array, vectorised.

    Works in blocks of rows; a bad string is reported with its row (1-based), the column and the value.
    """
    texts = pixels.tolist() if isinstance(pixels, pd.Series) else list(pixels)
    return parse_pixel_texts(texts, source=source)
