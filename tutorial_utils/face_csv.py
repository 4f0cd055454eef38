"""Read the face CSV (Kaggle's age_gender.csv) into validated arrays, or say exactly what is wrong and where.

One route, a chunk of rows at a time: (1) pandas reads the CSV, every column as text (it copes with quotes,
CRLF, a BOM, other column orders, extra columns; plain, gzip or Kaggle's zip, decompressed by a second
thread meanwhile); (2) NumPy parses the pixel strings of 32 rows at once (``parse_pixel_block``) and casts
each label column; (3) a chunk that (2) does not take is read again row by row in Python, slow but exact:
it raises a DataFormatError that names the file, row and column of the first bad row and says what to do,
or, for a chunk valid in an unusual way (leading zeros, tabs, runs of spaces), parses the text.

Why not ``split()`` each pixel string, as the original study did? On the real file (23,705 rows of 2,304
numbers) that takes about 12 s, this route about 2 s; ``face_cache`` then reloads the arrays in ~0.03 s.
"""

import contextlib
import gzip
import os
import re
import shutil
import threading
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

IMAGE_SIDE = 48
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
COLUMNS = ("age", "ethnicity", "gender", "img_name", "pixels")
REQUIRED_COLUMNS = ("age", "ethnicity", "gender", "pixels")
LABEL_RANGES = {"age": (0, 120), "ethnicity": (0, 4), "gender": (0, 1)}
LABEL_MEANING = {"age": "years", "ethnicity": "0 White, 1 Black, 2 Asian, 3 Indian, 4 Others",
                 "gender": "0 male, 1 female"}
GET_DATA_HINT = ("Get the real data from Kaggle ('AGE, GENDER AND ETHNICITY (FACE DATA) CSV', file age_gender.csv) "
                 "and put it in data/, or see data/README.md (kagglehub works in Colab).")
FIX_ROW = "Fix or delete that row."
CHUNK_ROWS = 1024  # rows pandas hands over at a time (256-2048 measured alike, 32 ~30 % slower)
PIXEL_ROWS = 32  # rows NumPy parses at once: its work arrays stay in the CPU cache (128 rows: up to 3x slower)
_DAMAGED = (EOFError, OSError, zlib.error, zipfile.BadZipFile)  # what a cut-short or corrupt gzip/zip raises
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


class DataFormatError(ValueError):
    """The face file is unusable; the message names the file, row and column and says what to do."""


def where(source: str, row: int, column: str) -> str:
    """``row`` counts data rows from 1; the file line is one more because of the header."""
    return f"{source}: row {row} (line {row + 1}), column '{column}'"


def label_problem(column: str, text: str) -> str | None:
    """What is wrong with one label (None when it is fine): a whole number, as ``int()`` reads it, in range."""
    lo, hi = LABEL_RANGES[column]
    if text.strip() == "":
        return f"the {column} label is empty. Fill it in ({lo}-{hi}, {LABEL_MEANING[column]}) or delete the row."
    try:
        number = int(text)
    except ValueError:
        return f"{text!r} is not a whole number. Labels must be integers {lo}-{hi}. {FIX_ROW}"
    if not lo <= number <= hi:
        return f"label {number} is out of range {lo}-{hi} ({LABEL_MEANING[column]}). {FIX_ROW}"
    return None


def pixel_problem(text: str) -> str | None:
    """What is wrong with one pixel field (None when it is fine): 2304 integers 0-255 separated by any
    whitespace, as ``str.split()`` reads it (an edited or re-exported file may use tabs or runs of spaces)."""
    rule = f"Pixels must be {N_PIXELS} integers 0-255 separated by spaces. {FIX_ROW}"
    if text.strip() == "":
        return f"the pixel field is empty. {rule}"
    tokens = text.split()
    for index, token in enumerate(tokens, start=1):
        if not (token.isascii() and _INTEGER.fullmatch(token)):
            shown = token if len(token) <= 20 else token[:20] + "..."
            return f"value {index} {shown!r} is not a whole number. {rule}"
        number = int(token)
        if not 0 <= number <= 255:
            side = "negative" if number < 0 else "above 255"
            return f"value {index} is {number}: {side}, out of range 0-255. {rule}"
    if len(tokens) != N_PIXELS:
        return f"{len(tokens)} values, expected {N_PIXELS} (48x48). The row is cut short or has extra values: fix or delete it."
    return None


def row_problem(fields: dict[str, str]) -> tuple[str, str] | None:
    """``(column, what is wrong)`` for one row (its fields as text, in file order), None when it is fine."""
    columns, texts = list(fields), [text.strip() for text in fields.values()]
    if not any(texts):
        return "(whole row)", "the line is empty. Delete the blank line."
    if not any(texts[columns.index("pixels") :]):  # pandas fills the missing fields of a short line with ""
        count = max(i for i, text in enumerate(texts) if text) + 1
        return columns[count], (
            f"the line has only {count} of the {len(columns)} comma-separated fields ({','.join(columns)}): "
            f"it is cut short or a value is missing. {FIX_ROW}"
        )
    for column, text in fields.items():
        if column == "pixels" and (problem := pixel_problem(text)):
            return column, problem
        if column in LABEL_RANGES and (problem := label_problem(column, text)):
            return column, problem
    return None


def parse_pixel_block(texts: Sequence[str]) -> np.ndarray | None:
    """(n, 2304) uint8 from n strings of 1-3 digit values separated by single spaces; None for anything else.

    The strings are joined by newlines into one byte array. Every byte that is not a digit ends a value, and
    the bytes before it are its ones, tens (if a digit) and hundreds (if a digit too). None says "not in this
    simple form" (a bad value, but also leading zeros or tabs): the row check takes over.
    """
    n = len(texts)
    try:  # three leading spaces: every value has three bytes before its end; every row ends with a newline
        data = ("   " + "\n".join([*texts, ""])).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    digit = buf - np.uint8(48)  # '0'-'9' become 0-9, every other byte 10 or more (uint8 wraps around)
    ends = np.flatnonzero(digit >= 10)[3:]  # where each value ends: the space after it, or its row's newline
    if len(ends) != n * N_PIXELS:
        return None
    separators = buf[ends].reshape(n, N_PIXELS)
    if not ((separators[:, :-1] == ord(" ")).all() and (separators[:, -1] == ord("\n")).all()):
        return None  # a tab, a sign, a letter, or a row with too few or too many values
    ones, tens, hundreds = digit[ends - 1], digit[ends - 2], digit[ends - 3]
    has_tens = tens < 10
    has_hundreds = has_tens & (hundreds < 10)
    counted = n * N_PIXELS + np.count_nonzero(has_tens) + np.count_nonzero(has_hundreds)
    if (ones >= 10).any() or counted != len(buf) - 3 - len(ends):  # every digit is one of some value's last 3
        return None  # an empty value (two spaces in a row), or one of four digits or more
    values = ones + np.uint16(10) * tens * has_tens + np.uint16(100) * hundreds * has_hundreds
    return values.astype(np.uint8).reshape(n, N_PIXELS) if (values <= 255).all() else None


def parse_block(frame: pd.DataFrame, first_row: int, source: str) -> dict[str, np.ndarray]:
    """The arrays of a chunk of rows (every field text); ``first_row``, its first data row, is for messages."""
    texts = frame["pixels"].tolist()
    parts = [parse_pixel_block(texts[lo : lo + PIXEL_ROWS]) for lo in range(0, max(len(texts), 1), PIXEL_ROWS)]
    labels = {column: _labels(frame[column], column) for column in LABEL_RANGES}
    if any(part is None for part in [*parts, *labels.values()]):  # the slow, exact way
        for i, row in enumerate(frame.itertuples(index=False, name=None)):
            if problem := row_problem(dict(zip(frame.columns, row, strict=True))):
                raise DataFormatError(f"{where(source, first_row + i, problem[0])}: {problem[1]}")
        parts = [np.array([[int(value) for value in text.split()] for text in texts], dtype=np.uint8)]
        labels = {column: frame[column].map(int).to_numpy(dtype=np.int64) for column in LABEL_RANGES}
    index = np.arange(first_row - 1, first_row - 1 + len(frame)).astype(str)  # names for a table without them
    names = frame["img_name"].to_numpy(dtype=str) if "img_name" in frame.columns else index
    return {"images": np.concatenate(parts).reshape(-1, IMAGE_SIDE, IMAGE_SIDE), **labels, "img_name": names}


def _labels(texts: pd.Series, column: str) -> np.ndarray | None:
    """The labels as int64 when every one is a whole number in range (``int()`` on each), else None."""
    try:
        values = texts.to_numpy(dtype=object).astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        return None
    lo, hi = LABEL_RANGES[column]
    return values if ((values >= lo) & (values <= hi)).all() else None


def open_text_bytes(path: Path) -> BinaryIO:
    """A binary file object with the CSV text, decompressing gzip or zip (known by the first bytes)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic != b"PK\x03\x04":
        return open(path, "rb")
    archive = zipfile.ZipFile(path)  # Kaggle's zip: age_gender.csv in it, else its only .csv
    members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv") and not m.is_dir()]
    exact = [m for m in members if Path(m.filename).name == "age_gender.csv"]
    if exact or len(members) == 1:
        return archive.open((exact or members)[0])
    names = ", ".join(m.filename for m in members) or "none"
    raise DataFormatError(f"{path}: the zip should hold age_gender.csv; its .csv files: {names}. {GET_DATA_HINT}")


@contextlib.contextmanager
def decompressing(path: Path) -> Iterator[tuple[BinaryIO, list[BaseException]]]:
    """The CSV text through a pipe that a second thread fills: decompressing overlaps with parsing (zlib and
    pipes release the GIL). An error goes in the list before the pipe closes: a reader sees it by the end."""
    source = open_text_bytes(path)  # here, so that a bad zip raises in the caller's thread
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def pump() -> None:  # a BrokenPipeError: the reader stopped early (at a bad row) and closed its end
        with contextlib.suppress(BrokenPipeError), source, open(write_end, "wb") as pipe:
            try:
                shutil.copyfileobj(source, pipe, 1 << 20)
            except _DAMAGED as exc:
                failure.append(exc)

    thread = threading.Thread(target=pump, name="face-csv-reader", daemon=True)
    thread.start()
    try:
        with open(read_end, "rb") as text:
            yield text, failure
    finally:
        thread.join()


def read_blocks(path: str | Path, source: str | None = None) -> Iterator[pd.DataFrame]:
    """The CSV as DataFrames of up to CHUNK_ROWS rows, every field as text, the header checked first.
    Raises DataFormatError for an empty, damaged or malformed file (e.g. a value with a stray comma)."""
    path, source = Path(path), source or str(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file. {GET_DATA_HINT}")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{source}: the file is empty (0 bytes). Download it again. {GET_DATA_HINT}")
    rows = 0
    with decompressing(path) as (text, failure):
        try:
            options = {"dtype": str, "keep_default_na": False, "skip_blank_lines": False, "index_col": False}
            reader = pd.read_csv(text, chunksize=CHUNK_ROWS, **options)
            while True:
                with warnings.catch_warnings():  # an extra field in row 1: pandas would only warn and drop it
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    frame = next(reader, None)
                if failure:
                    raise failure[0]
                if frame is None:
                    break
                frame.columns = [str(column).strip() for column in frame.columns]
                if rows == 0:
                    check_header(list(frame.columns), source)
                rows += len(frame)
                if len(frame):
                    yield frame
        except (pd.errors.EmptyDataError, pd.errors.ParserError, pd.errors.ParserWarning, *_DAMAGED) as exc:
            raise _read_error(failure[0] if failure else exc, source) from exc
    if rows == 0:
        raise DataFormatError(f"{source}: the header is there but there are no data rows. {GET_DATA_HINT}")


def _read_error(exc: BaseException, source: str) -> DataFormatError:
    """What went wrong while reading, said plainly (a damaged file's error comes first: it explains the rest)."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return DataFormatError(f"{source}: the file is empty (no header, no rows). Download it again. {GET_DATA_HINT}")
    if isinstance(exc, _DAMAGED):
        return DataFormatError(f"{source}: the data is damaged or cut short ({exc}). Download it again. {GET_DATA_HINT}")
    found = _TOO_MANY_FIELDS.search(str(exc))
    if isinstance(exc, pd.errors.ParserError) and not found:
        return DataFormatError(f"{source}: not a valid CSV ({exc}). Check the file was not cut short or edited.")
    if found:
        row, count = int(found[2]) - 1, f"{found[3]} comma-separated fields, expected {found[1]}"
    else:  # pandas' warning that row 1 has more fields than the header
        row, count = 1, "more comma-separated fields than the header"
    return DataFormatError(f"{where(source, row, '(whole row)')}: the line has {count}: a value holds a stray comma. {FIX_ROW}")


def check_header(columns: list[str], source: str) -> None:
    if missing := [c for c in REQUIRED_COLUMNS if c not in columns]:
        raise DataFormatError(
            f"{source}: line 1 (header), column(s) {', '.join(repr(c) for c in missing)} missing; found "
            f"{columns}. The file must have the columns {','.join(COLUMNS)} (Kaggle's age_gender.csv)."
        )


def read_face_file(path: str | Path, source: str | None = None) -> dict[str, np.ndarray]:
    """Validated arrays (images uint8 (n, 48, 48), age, ethnicity, gender, img_name) from a face CSV file;
    ``source`` names the file in messages (default: the path)."""
    with contextlib.closing(read_blocks(path, source)) as frames:  # on an error too: stops the reading thread
        return _arrays(frames, source or str(path))


def read_face_table(path: str | Path) -> pd.DataFrame:
    """The whole CSV as one DataFrame, every column as text, header checked (for looking at the raw file)."""
    return pd.concat(read_blocks(path), ignore_index=True)


def arrays_from_table(frame: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    """The same arrays as ``read_face_file``, from a table in the CSV's schema (labels validated)."""
    check_header([str(c) for c in frame.columns], source)
    frame = frame.astype({column: str for column in REQUIRED_COLUMNS}).reset_index(drop=True)
    return _arrays((frame.iloc[lo : lo + CHUNK_ROWS] for lo in range(0, max(len(frame), 1), CHUNK_ROWS)), source)


def _arrays(frames: Iterable[pd.DataFrame], source: str) -> dict[str, np.ndarray]:
    blocks, first_row = [], 1
    for frame in frames:
        blocks.append(parse_block(frame, first_row, source))
        first_row += len(frame)
    return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}


def parse_pixel_strings(pixels: pd.Series | Sequence[str], source: str = "<pixels>") -> np.ndarray:
    """n strings of 2304 whitespace-separated 0-255 ints as an (n, 2304) uint8 array; a bad one is reported
    with its row (1-based), the column and the value."""
    texts = [str(text) for text in pixels]
    blocks = [parse_pixel_block(texts[lo : lo + PIXEL_ROWS]) for lo in range(0, len(texts), PIXEL_ROWS)]
    if all(block is not None for block in blocks):
        return np.concatenate(blocks) if blocks else np.empty((0, N_PIXELS), dtype=np.uint8)
    for row, text in enumerate(texts, start=1):  # the slow, exact way
        if problem := pixel_problem(text):
            raise DataFormatError(f"{where(source, row, 'pixels')}: {problem}")
    return np.array([[int(value) for value in text.split()] for text in texts], dtype=np.uint8)
