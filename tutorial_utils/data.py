"""Find, validate, parse and cache the face CSV (real or synthetic) and turn it into training tensors.

The real file is Kaggle's ``age_gender.csv``: ``age,ethnicity,gender,img_name,pixels`` where ``pixels`` is
2304 space-separated integers (a 48x48 grayscale face). Parsing those strings row by row in Python is the
slow part of the original pipeline, so the pixels of all rows are parsed at once with NumPy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .synthetic import make_synthetic_faces

IMAGE_SIDE = 48
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
REQUIRED_COLUMNS = ("age", "ethnicity", "gender", "pixels")
LABEL_RANGES = {"age": (0, 120), "ethnicity": (0, 4), "gender": (0, 1)}
CANDIDATE_NAMES = ("age_gender.csv", "age_gender.csv.gz", "age-gender-and-ethnicity-face-data-csv.zip", "archive.zip")
GET_DATA_HINT = (
    "Get the real data from Kaggle ('AGE, GENDER AND ETHNICITY (FACE DATA) CSV', file age_gender.csv) "
    "and put it in data/, or see data/README.md (kagglehub works in Colab)."
)
CACHE_VERSION = 1
DEFAULT_SYNTHETIC_ROWS = 6000
DEFAULT_SYNTHETIC_SEED = 0


class DataFormatError(ValueError):
    """The face file is unusable; the message names the file, row and column and says what to do."""


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


# ----------------------------------------------------------------------------------------------- finding


def repo_root() -> Path:
    """The course checkout (the folder holding ``tutorial_utils``), so ``data/`` resolves from anywhere."""
    return Path(__file__).resolve().parent.parent


def find_data_file(path: str | os.PathLike | None = None) -> Path | None:
    """Return the face file to use: ``path`` when given, else the first known name under a ``data/`` folder.

    Looks in ``./data``, ``../data`` (notebooks run from ``notebooks/``) and the checkout's ``data/``.
    Returns None when there is no real file; raises when an explicit ``path`` does not exist.
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
    for folder in (Path.cwd() / "data", Path.cwd().parent / "data", repo_root() / "data"):
        found = _first_candidate(folder)
        if found is not None:
            return found
    return None


def _first_candidate(folder: Path) -> Path | None:
    for name in CANDIDATE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


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

    The parsed arrays are cached (``.npz``) keyed on the source's path, size and mtime; a changed source or
    a corrupt cache is re-parsed.
    """
    source = find_data_file(path)
    if source is None:
        if verbose:
            print(
                f"No real face data found under data/: using {synthetic_rows} SYNTHETIC faces (seed {synthetic_seed}). "
                f"Numbers from them are not real results. {GET_DATA_HINT}"
            )
        frame = make_synthetic_faces(synthetic_rows, seed=synthetic_seed)
        faces = faces_from_frame(frame, source=f"synthetic(n={synthetic_rows}, seed={synthetic_seed})")
        faces.is_synthetic = True
        return faces

    cache_file = _cache_path(source, cache_dir) if use_cache else None
    if cache_file is not None:
        cached = _read_cache(cache_file, source)
        if cached is not None:
            return cached
    faces = faces_from_frame(read_face_table(source), source=str(source))
    if cache_file is not None:
        _write_cache(cache_file, source, faces)
    return faces


def read_face_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read the CSV (plain, .gz or Kaggle's .zip) with ``pixels`` kept as text; checks the header."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file. {GET_DATA_HINT}")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty (0 bytes). Download it again. {GET_DATA_HINT}")
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.endswith(".csv")]
                if not members:
                    raise DataFormatError(f"{path}: the zip holds no .csv file. {GET_DATA_HINT}")
                frame = pd.read_csv(io.BytesIO(archive.read(members[0])), dtype={"pixels": str, "img_name": str})
        else:
            frame = pd.read_csv(path, dtype={"pixels": str, "img_name": str})
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(f"{path}: the file has no header and no rows. Download it again. {GET_DATA_HINT}") from exc
    except pd.errors.ParserError as exc:
        raise DataFormatError(f"{path}: not a valid CSV ({exc}). Check the file was not cut short or edited.") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFormatError(
            f"{path}: row 0 (header), column(s) {', '.join(repr(c) for c in missing)} missing; found "
            f"{list(frame.columns)}. The file must have the columns age,ethnicity,gender,img_name,pixels."
        )
    if len(frame) == 0:
        raise DataFormatError(f"{path}: the header is there but there are no data rows. {GET_DATA_HINT}")
    return frame


def faces_from_frame(frame: pd.DataFrame, source: str) -> FaceData:
    """Validate the labels and parse all pixel strings at once into a (n, 48, 48) uint8 array."""
    labels = {name: _validated_label(frame, name, source) for name in LABEL_RANGES}
    pixels = parse_pixel_strings(frame["pixels"], source=source)
    names = frame["img_name"].astype(str).to_numpy() if "img_name" in frame.columns else np.arange(len(frame)).astype(str)
    return FaceData(
        images=pixels.reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
        age=labels["age"],
        ethnicity=labels["ethnicity"],
        gender=labels["gender"],
        img_name=names,
        source=source,
    )


def _where(source: str, row_index: int, column: str) -> str:
    """Data rows count from 1; line = row + 1 because of the header."""
    return f"{source}: row {row_index + 1} (line {row_index + 2}), column '{column}'"


def _validated_label(frame: pd.DataFrame, name: str, source: str) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(
            f"{_where(source, i, name)}: {frame[name].iloc[i]!r} is not a whole number. Fix or delete that row."
        )
    lo, hi = LABEL_RANGES[name]
    values = values.to_numpy().astype(np.int64)
    out = (values < lo) | (values > hi)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise DataFormatError(
            f"{_where(source, i, name)}: label {values[i]} is out of range {lo}-{hi}. Fix or delete that row."
        )
    return values


def parse_pixel_strings(pixels: pd.Series, source: str = "<pixels>") -> np.ndarray:
    """Parse n strings of 2304 space-separated 0-255 ints into an (n, 2304) uint8 array, vectorised.

    All strings are joined into one byte buffer; token starts/ends come from a digit mask, values from
    up to three digit gathers. Any problem is reported with its row, column and position.
    """
    if pixels.isna().any():
        i = int(np.flatnonzero(pixels.isna().to_numpy())[0])
        raise DataFormatError(f"{_where(source, i, 'pixels')}: empty pixel string. Fix or delete that row.")
    text = "\n".join(pixels.tolist()) + "\n"
    buf = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
    line_ends = np.flatnonzero(buf == 10)
    line_starts = np.concatenate(([0], line_ends[:-1] + 1))

    is_digit = (buf >= 48) & (buf <= 57)
    allowed = is_digit | (buf == 32) | (buf == 10) | (buf == 13) | (buf == 9)
    if not allowed.all():
        pos = int(np.flatnonzero(~allowed)[0])
        row = int(np.searchsorted(line_ends, pos))
        token = _token_at(text, pos)
        index = _token_index(buf, line_starts[row], pos)
        what = "is negative, out of range 0-255" if _looks_negative(token) else "is not a number"
        raise DataFormatError(
            f"{_where(source, row, 'pixels')}: value {index + 1} {token!r} {what}. "
            "Pixels must be integers 0-255 separated by spaces."
        )

    edge = np.diff(is_digit.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edge == 1)
    ends = np.flatnonzero(edge == -1)
    tokens_before_line = np.searchsorted(starts, line_starts)
    counts = np.diff(np.append(tokens_before_line, len(starts)))
    wrong = np.flatnonzero(counts != N_PIXELS)
    if len(wrong):
        row = int(wrong[0])
        raise DataFormatError(
            f"{_where(source, row, 'pixels')}: {counts[row]} values, expected {N_PIXELS} (48x48). "
            "The row is cut short or has extra values: fix or delete it."
        )

    length = ends - starts
    digits = buf.astype(np.int16) - 48
    value = digits[starts]
    for k in (1, 2):
        more = length > k
        value = np.where(more, value * 10 + digits[np.minimum(starts + k, len(buf) - 1)], value)
    too_big = (length > 3) | (value > 255)
    if too_big.any():
        t = int(np.flatnonzero(too_big)[0])
        row, index = divmod(t, N_PIXELS)
        raise DataFormatError(
            f"{_where(source, row, 'pixels')}: value {index + 1} is {text[starts[t]:ends[t]]}, out of range 0-255. "
            "Pixels must be integers 0-255."
        )
    return value.astype(np.uint8).reshape(-1, N_PIXELS)


def _token_at(text: str, pos: int) -> str:
    lo = max(text.rfind(" ", 0, pos), text.rfind("\n", 0, pos)) + 1
    hi_candidates = [i for i in (text.find(" ", pos), text.find("\n", pos)) if i != -1]
    return text[lo : min(hi_candidates) if hi_candidates else len(text)]


def _token_index(buf: np.ndarray, line_start: int, pos: int) -> int:
    segment = buf[line_start:pos]
    return int(np.count_nonzero((segment[1:] == 32) & (segment[:-1] != 32))) if len(segment) > 1 else 0


def _looks_negative(token: str) -> bool:
    return token.startswith("-") and token[1:].isdigit()


# ----------------------------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """``$TUTORIAL_UTILS_CACHE``, else ``~/.cache/tutorial_utils`` (the data folder may be read-only)."""
    env = os.environ.get("TUTORIAL_UTILS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tutorial_utils"


def _fingerprint(source: Path) -> dict:
    stat = source.stat()
    return {"path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "version": CACHE_VERSION}


def _cache_path(source: Path, cache_dir: str | os.PathLike | None) -> Path:
    key = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    return Path(cache_dir or default_cache_dir()) / f"faces-{source.name}-{key}.npz"


def _checksum(images: np.ndarray, *labels: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in (images, *labels):
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _read_cache(cache_file: Path, source: Path) -> FaceData | None:
    """Return the cached arrays, or None when missing, stale or corrupt (the caller then re-parses)."""
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta["fingerprint"] != _fingerprint(source):
                return None
            images, age, eth, gen, names = (z[k] for k in ("images", "age", "ethnicity", "gender", "img_name"))
        if _checksum(images, age, eth, gen) != meta["checksum"]:
            return None
    except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        return None
    return FaceData(images, age, eth, gen, names, source=str(source), from_cache=True)


def _write_cache(cache_file: Path, source: Path, faces: FaceData) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "fingerprint": _fingerprint(source),
            "checksum": _checksum(faces.images, faces.age, faces.ethnicity, faces.gender),
        }
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            images=faces.images,
            age=faces.age,
            ethnicity=faces.ethnicity,
            gender=faces.gender,
            img_name=faces.img_name.astype(str),
            meta=np.array(json.dumps(meta)),
        )
        os.replace(tmp, cache_file)
    except OSError as exc:  # a read-only home should not stop the course
        print(f"Note: could not write the data cache {cache_file} ({exc}); the next load parses again.")
