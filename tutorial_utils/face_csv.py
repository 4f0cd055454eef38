"""Parse the face CSV straight from its bytes, fast, and say exactly where and what is wrong when it is bad.

Why this module exists: the original pipeline read the file with pandas and split 23,705 strings of 2,304
numbers in Python, which takes many seconds. Here the decompressed bytes are cut into line-aligned blocks of
a few hundred rows and each block is parsed with a handful of NumPy operations, while a second thread
reads and decompresses the next block (zlib and file reads release the GIL, so the two overlap).

The fast path only *detects* that a block is bad. A slower per-row check of that block then names the row,
the column and what is wrong. Valid files that the fast path does not expect (other column order, quoted
fields, leading zeros, tabs between pixels) go through pandas instead: slower, same result.

``read_face_file`` is the one entry point: a path in, validated arrays out (or a DataFormatError that names
the file, row and column).
"""

from __future__ import annotations

import io
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_SIDE = 48
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
COLUMNS = ("age", "ethnicity", "gender", "img_name", "pixels")
REQUIRED_COLUMNS = ("age", "ethnicity", "gender", "pixels")
LABEL_RANGES = {"age": (0, 120), "ethnicity": (0, 4), "gender": (0, 1)}
LABEL_MEANING = {
    "age": "years",
    "ethnicity": "0 White, 1 Black, 2 Asian, 3 Indian, 4 Others",
    "gender": "0 male, 1 female",
}
CANONICAL_HEADER = ",".join(COLUMNS).encode()
GET_DATA_HINT = (
    "Get the real data from Kaggle ('AGE, GENDER AND ETHNICITY (FACE DATA) CSV', file age_gender.csv) "
    "and put it in data/, or see data/README.md (kagglehub works in Colab)."
)
FIX_ROW = "Fix or delete that row."
# Compressed bytes read per step: about 3x as many CSV bytes, i.e. ~100 rows per parsed block. Small blocks
# keep the temporaries in cache and reuse the same memory (first-touch page faults are slow on some VMs).
READ_BYTES = 1 << 18
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
_INTEGER = re.compile(r"[+-]?[0-9]+")


class DataFormatError(ValueError):
    """The face file is unusable; the message names the file, row and column and says what to do."""


class NeedsGeneralReader(Exception):
    """The fast reader met a valid layout it does not handle (e.g. quotes): read the file with pandas."""


def where(source: str, row: int, column: str) -> str:
    """``row`` counts data rows from 1; the file line is one more because of the header."""
    return f"{source}: row {row} (line {row + 1}), column '{column}'"


# ------------------------------------------------------------------------------------ precise checks


def label_problem(column: str, text: str) -> str | None:
    """What is wrong with one label value (None when it is fine)."""
    lo, hi = LABEL_RANGES[column]
    value = text.strip()
    if value == "":
        return f"the {column} label is empty. Fill it in ({lo}-{hi}, {LABEL_MEANING[column]}) or delete the row."
    if not (value.isascii() and _INTEGER.fullmatch(value)):
        return f"{text!r} is not a whole number. Labels must be integers {lo}-{hi}. {FIX_ROW}"
    number = int(value)
    if not lo <= number <= hi:
        return f"label {number} is out of range {lo}-{hi} ({LABEL_MEANING[column]}). {FIX_ROW}"
    return None


def pixel_problem(text: str) -> str | None:
    """What is wrong with one pixel field (None when it is fine): 2304 integers 0-255 separated by whitespace.

    Any run of spaces or tabs between values and at the ends is fine (``str.split()``), as a learner's edited
    or re-exported file may hold; the file's own layout (single spaces) takes the fast path.
    """
    rule = f"Pixels must be {N_PIXELS} integers 0-255 separated by spaces. {FIX_ROW}"
    if text.strip() == "":
        return f"the pixel field is empty. {rule}"
    tokens = text.split()
    for index, token in enumerate(tokens, start=1):
        if not (token.isascii() and _INTEGER.fullmatch(token)):
            shown = token if len(token) <= 20 else token[:20] + "..."
            return f"value {index} {shown!r} is not a whole number. {rule}"
        number = int(token)
        if number < 0:
            return f"value {index} is {number}: negative, out of range 0-255. {rule}"
        if number > 255:
            return f"value {index} is {number}: above 255, out of range 0-255. {rule}"
    if len(tokens) != N_PIXELS:
        return (
            f"{len(tokens)} values, expected {N_PIXELS} (48x48). The row is cut short or has extra values: "
            "fix or delete it."
        )
    return None


def line_problem(line: bytes) -> tuple[str, str] | None:
    """``(column, what is wrong)`` for one raw CSV line in the standard layout, None when it is fine.

    Raises NeedsGeneralReader for quoted lines, which only a real CSV parser can judge.
    """
    line = line.rstrip(b"\r")
    if b'"' in line:
        raise NeedsGeneralReader
    text = line.decode("utf-8", errors="replace")
    if text.strip() == "":
        return "(whole row)", "the line is empty. Delete the blank line."
    fields = text.split(",")
    if len(fields) < len(COLUMNS):
        return COLUMNS[len(fields)], (
            f"the line has only {len(fields)} of the {len(COLUMNS)} comma-separated fields ({','.join(COLUMNS)}): "
            f"it is cut short or a value is missing. {FIX_ROW}"
        )
    if len(fields) > len(COLUMNS):
        return "(whole row)", (
            f"the line has {len(fields)} comma-separated fields, expected {len(COLUMNS)} ({','.join(COLUMNS)}): "
            f"a value holds a stray comma. {FIX_ROW}"
        )
    for column, value in zip(COLUMNS, fields, strict=True):
        if column in LABEL_RANGES:
            problem = label_problem(column, value)
        elif column == "pixels":
            problem = pixel_problem(value)
        else:
            problem = None
        if problem:
            return column, problem
    return None


# ------------------------------------------------------------------------------------ vectorised parsing


class Scratch:
    """Work arrays reused from block to block: fresh memory costs a page fault per 4 KiB on first touch."""

    def __init__(self) -> None:
        self.size = 0

    def get(self, values: int) -> tuple[np.ndarray, ...]:
        if values > self.size:
            self.size = int(values * 1.25)
            self.index = np.empty(self.size, dtype=np.intp)
            self.bytes = np.empty((3, self.size), dtype=np.uint8)
            self.flags = np.empty((2, self.size), dtype=bool)
            self.words = np.empty((2, self.size), dtype=np.uint16)
        return (
            self.index[:values],
            *self.bytes[:, :values],
            *self.flags[:, :values],
            *self.words[:, :values],
        )


def parse_pixel_fields(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray, scratch: Scratch | None = None
) -> bool:
    """Parse the pixel fields ``buf[starts[i]:ends[i]]`` into ``out`` (n, 2304) uint8; False if any is bad.

    Needs ``starts >= 3``. Each value ends at a space (or the field end); its value is read from the up to
    three bytes before that. A byte minus 48 (wrapping in uint8) is below 10 only for a digit, so one
    comparison tells digits from everything else. The field is valid exactly when every value's last byte
    is a digit, the digits counted back from each end add up to all non-space bytes (so no value holds a
    non-digit or more than three digits) and every value is at most 255.
    """
    n = len(starts)
    separators = N_PIXELS - 1
    spaces = np.flatnonzero(buf == 32)
    if len(spaces) != n * separators:  # spaces outside the pixel fields, e.g. in a file name: drop them
        row = np.searchsorted(starts, spaces, side="right") - 1
        spaces = spaces[(row >= 0) & (spaces < ends[np.maximum(row, 0)])]
        if len(spaces) != n * separators:
            return False
    grid = spaces.reshape(n, separators)
    # Each row's group of 2303 spaces must lie inside that row's field; since the groups are consecutive
    # and the fields disjoint, that proves every field holds exactly 2303 spaces.
    if not ((grid[:, 0] >= starts).all() and (grid[:, -1] < ends).all()):
        return False
    index, ones, tens, hundreds, has_tens, has_hundreds, value, big = (scratch or Scratch()).get(n * N_PIXELS)
    last3 = index.reshape(n, N_PIXELS)  # where each value ends, minus 3
    np.subtract(grid, 3, out=last3[:, :separators])
    np.subtract(ends, 3, out=last3[:, separators])
    buf[2:].take(index, out=ones, mode="clip")
    buf[1:].take(index, out=tens, mode="clip")
    buf.take(index, out=hundreds, mode="clip")
    ones -= 48  # digits become 0-9, every other byte 10 or more
    tens -= 48
    hundreds -= 48
    if ones.max() >= 10:
        return False
    np.less(tens, 10, out=has_tens)
    np.less(hundreds, 10, out=has_hundreds)
    has_hundreds &= has_tens
    digits = n * N_PIXELS + np.count_nonzero(has_tens) + np.count_nonzero(has_hundreds)
    if digits != int((ends - starts).sum()) - n * separators:
        return False
    tens *= 10  # at most 90 where it counts; the rest is masked out next
    tens *= has_tens
    np.add(ones, tens, out=value, dtype=np.uint16)
    np.multiply(hundreds, 100, out=big, dtype=np.uint16)
    big *= has_hundreds
    value += big
    if value.max() > 255:
        return False
    np.copyto(out, value.reshape(out.shape), casting="unsafe")
    return True


def parse_small_ints(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Parse fields of 1-3 ASCII digits (the labels) into int64; None if any field is anything else."""
    length = ends - starts
    if ((length < 1) | (length > 3)).any():
        return None
    digit = [buf.take(np.maximum(ends - k, 0)).astype(np.int64) - 48 for k in (1, 2, 3)]
    used = [np.ones(len(ends), dtype=bool), length >= 2, length >= 3]
    value = np.zeros(len(ends), dtype=np.int64)
    for place, (d, u) in enumerate(zip(digit, used, strict=True)):
        if (u & ((d < 0) | (d > 9))).any():
            return None
        value += np.where(u, d, 0) * 10**place
    return value


def _in_range(values: np.ndarray, column: str) -> bool:
    lo, hi = LABEL_RANGES[column]
    return bool(((values >= lo) & (values <= hi)).all())


class FaceTableBuilder:
    """Parses line-aligned blocks of the standard layout into growing output arrays."""

    def __init__(self, source: str, expected_rows: int = 0) -> None:
        self.source = source
        self.rows = 0
        self.images = np.empty((max(expected_rows, 64), N_PIXELS), dtype=np.uint8)
        self.labels: dict[str, list[np.ndarray]] = {c: [] for c in LABEL_RANGES}
        self.names: list[str] = []
        self.scratch = Scratch()

    def add_block(self, block: bytes) -> None:
        """Parse ``block`` (whole lines, each ending in a newline) or raise a precise DataFormatError."""
        if not self._try_fast(block):
            self._diagnose(block)

    def _try_fast(self, block: bytes) -> bool:
        if b'"' in block:
            return False
        buf = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(buf == 10)
        n = len(newlines)
        commas = np.flatnonzero(buf == 44)
        if n == 0 or len(commas) != 4 * n:
            return False
        commas = commas.reshape(n, 4)
        line_starts = np.empty(n, dtype=np.intp)
        line_starts[0] = 0
        line_starts[1:] = newlines[:-1] + 1
        # Same counting argument as for the spaces: 4 commas inside every line.
        if not ((commas[:, 0] >= line_starts).all() and (commas[:, 3] < newlines).all()):
            return False
        labels = {}
        bounds = {"age": (line_starts, commas[:, 0]), "ethnicity": (commas[:, 0] + 1, commas[:, 1])}
        bounds["gender"] = (commas[:, 1] + 1, commas[:, 2])
        for column, (lo, hi) in bounds.items():
            values = parse_small_ints(buf, lo, hi)
            if values is None or not _in_range(values, column):
                return False
            labels[column] = values
        line_ends = newlines - (buf[newlines - 1] == 13)
        self._reserve(n)
        if not parse_pixel_fields(buf, commas[:, 3] + 1, line_ends, self.images[self.rows : self.rows + n], self.scratch):
            return False
        for column, values in labels.items():
            self.labels[column].append(values)
        name_bounds = zip((commas[:, 2] + 1).tolist(), commas[:, 3].tolist(), strict=True)
        self.names.extend(block[a:b].decode("utf-8", errors="replace") for a, b in name_bounds)
        self.rows += n
        return True

    def _diagnose(self, block: bytes) -> None:
        for offset, line in enumerate(block.split(b"\n")[:-1]):
            problem = line_problem(line)
            if problem is not None:
                column, what = problem
                raise DataFormatError(f"{where(self.source, self.rows + offset + 1, column)}: {what}")
        raise NeedsGeneralReader  # valid, but not in the layout the fast path expects

    def _reserve(self, n: int) -> None:
        if self.rows + n > len(self.images):
            grown = np.empty((max(int(len(self.images) * 1.25), self.rows + n), N_PIXELS), dtype=np.uint8)
            grown[: self.rows] = self.images[: self.rows]
            self.images = grown

    def result(self) -> dict[str, np.ndarray]:
        """The parsed arrays; the image buffer is shrunk in place to the rows read."""
        images = self.images
        if len(images) != self.rows:
            try:
                images.resize((self.rows, N_PIXELS), refcheck=False)  # realloc: no copy when shrinking
            except ValueError:
                images = images[: self.rows].copy()
        out = {"images": images.reshape(self.rows, IMAGE_SIDE, IMAGE_SIDE)}
        for column, parts in self.labels.items():
            out[column] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        out["img_name"] = np.array(self.names, dtype=str)
        return out


def parse_pixel_texts(texts: Sequence[str], source: str, first_row: int = 1, block_rows: int = 256) -> np.ndarray:
    """Parse pixel strings (one per row) into (n, 2304) uint8, in blocks, with precise errors.

    ``first_row`` is the data-row number of ``texts[0]`` used in messages.
    """
    out = np.empty((len(texts), N_PIXELS), dtype=np.uint8)
    for lo in range(0, len(texts), block_rows):
        chunk = texts[lo : lo + block_rows]
        target = out[lo : lo + len(chunk)]
        if not _parse_text_chunk(chunk, target):
            for offset, text in enumerate(chunk):
                row = first_row + lo + offset
                problem = pixel_problem(text) if isinstance(text, str) else "the pixel field is missing. " + FIX_ROW
                if problem:
                    raise DataFormatError(f"{where(source, row, 'pixels')}: {problem}")
            # Valid but unusual (e.g. leading zeros): the slow exact way, for this chunk only.
            target[:] = [np.array([int(v) for v in text.split()], dtype=np.uint8) for text in chunk]
    return out


def _parse_text_chunk(chunk: Sequence[str], out: np.ndarray) -> bool:
    if not all(isinstance(text, str) for text in chunk):
        return False
    try:
        data = ("\n\n\n" + "\n".join(chunk) + "\n").encode("ascii")
    except UnicodeEncodeError:
        return False
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)[2:]
    if len(newlines) != len(chunk) + 1:  # a string holding a newline
        return False
    return parse_pixel_fields(buf, newlines[:-1] + 1, newlines[1:], out)


# ------------------------------------------------------------------------------------ reading the bytes


def container_kind(path: Path) -> str:
    """'gzip', 'zip' or 'plain', from the file's first bytes (not its name)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    if magic == _ZIP_MAGIC:
        return "zip"
    return "plain"


def zip_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    """The CSV inside Kaggle's zip: ``age_gender.csv`` when present, else the only .csv."""
    members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv") and not m.is_dir()]
    exact = [m for m in members if Path(m.filename).name == "age_gender.csv"]
    if exact:
        return exact[0]
    if len(members) == 1:
        return members[0]
    names = ", ".join(m.filename for m in members) or "none"
    raise DataFormatError(f"{path}: the zip should hold age_gender.csv; its .csv files: {names}. {GET_DATA_HINT}")


def expected_text_bytes(path: Path, kind: str) -> int | None:
    """The CSV's uncompressed size when the container records it (used to size the output once)."""
    try:
        if kind == "plain":
            return path.stat().st_size
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                return zip_member(archive, path).file_size
        with open(path, "rb") as f:  # gzip: ISIZE, the size mod 2**32, in the last 4 bytes
            f.seek(-4, 2)
            return int.from_bytes(f.read(4), "little")
    except (OSError, zipfile.BadZipFile, DataFormatError):
        return None


def open_text_bytes(path: Path) -> io.BufferedIOBase:
    """A binary file object with the CSV text (decompressing gzip or zip); for the pandas reader."""
    kind = container_kind(path)
    if kind == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if kind == "zip":
        archive = zipfile.ZipFile(path)
        return archive.open(zip_member(archive, path))
    return open(path, "rb")


def raw_pieces(path: Path, kind: str, read_bytes: int | None = None) -> Iterator[bytes]:
    """The CSV text in pieces of any size (not line-aligned), decompressed as it is read."""
    try:
        yield from _raw_pieces(path, kind, read_bytes or READ_BYTES)
    except (zlib.error, zipfile.BadZipFile, EOFError) as exc:
        raise DataFormatError(
            f"{path}: the {kind} data is damaged ({exc}). Download the file again. {GET_DATA_HINT}"
        ) from exc


def _raw_pieces(path: Path, kind: str, read_bytes: int) -> Iterator[bytes]:
    if kind == "zip":
        with zipfile.ZipFile(path) as archive, archive.open(zip_member(archive, path)) as f:
            while piece := f.read(read_bytes * 3):
                yield piece
        return
    with open(path, "rb") as f:
        if kind == "plain":
            while piece := f.read(read_bytes * 3):
                yield piece
            return
        decompressor = zlib.decompressobj(wbits=31)
        while chunk := f.read(read_bytes):
            while chunk:
                if piece := decompressor.decompress(chunk):
                    yield piece
                chunk = b""
                if decompressor.eof:  # a gzip file may hold several members back to back
                    chunk = decompressor.unused_data
                    if chunk:
                        decompressor = zlib.decompressobj(wbits=31)
        if not decompressor.eof:
            raise DataFormatError(f"{path}: the gzip data is cut short (incomplete download?). Download it again.")


def line_blocks(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Regroup pieces into blocks of whole lines, each block ending with a newline."""
    carry = b""
    for piece in pieces:
        cut = piece.rfind(b"\n")
        if cut < 0:
            carry += piece
            continue
        yield b"".join((carry, memoryview(piece)[: cut + 1]))
        carry = piece[cut + 1 :]
    if carry:
        yield carry + b"\n"


class Prefetch:
    """Runs an iterator in a background thread a few items ahead, so reading overlaps with parsing."""

    _END = object()

    def __init__(self, items: Iterator, depth: int = 8) -> None:
        self._items = items
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="face-csv-reader", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def header_columns(header: bytes) -> list[str]:
    return [c.strip().strip('"').strip() for c in header.decode("utf-8", errors="replace").split(",")]


def check_header(columns: list[str], source: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DataFormatError(
            f"{source}: line 1 (header), column(s) {', '.join(repr(c) for c in missing)} missing; found "
            f"{columns}. The file must have the columns {','.join(COLUMNS)} (Kaggle's age_gender.csv)."
        )


def read_standard_file(path: Path, source: str) -> dict[str, np.ndarray]:
    """Parse a face CSV in the standard layout fast; raises NeedsGeneralReader for other valid layouts."""
    kind = container_kind(path)
    total = expected_text_bytes(path, kind)
    with Prefetch(line_blocks(raw_pieces(path, kind))) as blocks:
        stream = iter(blocks)
        first = next(stream, None)
        if first is None or not first.strip():
            raise DataFormatError(f"{source}: the file is empty (no header, no rows). Download it again. {GET_DATA_HINT}")
        header, _, rest = first.partition(b"\n")
        header = header.removeprefix(_BOM).rstrip(b"\r")
        check_header(header_columns(header), source)
        if header != CANONICAL_HEADER:
            raise NeedsGeneralReader
        builder = None
        for block in _chain_first(rest, stream):
            if builder is None:
                builder = FaceTableBuilder(source, _estimate_rows(total, len(header) + 1, block))
            builder.add_block(block)
    if builder is None or builder.rows == 0:
        raise DataFormatError(f"{source}: the header is there but there are no data rows. {GET_DATA_HINT}")
    return builder.result()


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _estimate_rows(total: int | None, header_bytes: int, block: bytes) -> int:
    """Rows expected from the total size and the first block's bytes per row, with 12 % to spare (rows vary in length)."""
    rows_in_block = block.count(b"\n")
    if not total or rows_in_block == 0:
        return 0
    per_row = len(block) / rows_in_block
    return int((total - header_bytes) / per_row * 1.12) + 16


# ------------------------------------------------------------------------------------ the one entry point


def read_face_file(path: Path, source: str | None = None) -> dict[str, np.ndarray]:
    """Validated arrays (images uint8 (n, 48, 48), age, ethnicity, gender, img_name) from a face CSV.

    The fast byte-level reader first; pandas for valid files in another layout (other column order, quotes,
    tabs). ``source`` names the file in messages (default: the path).
    """
    source = source or str(path)
    _check_not_empty(path, source)
    try:
        return read_standard_file(path, source)
    except NeedsGeneralReader:
        return arrays_from_table(read_face_table(path), source)


def _check_not_empty(path: Path, source: str) -> None:
    """A missing or 0-byte file, said plainly, before either reader tries to parse it."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file. {GET_DATA_HINT}")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{source}: the file is empty (0 bytes). Download it again. {GET_DATA_HINT}")


# ------------------------------------------------------------------------------------ the general route


def read_face_table(path: str | Path) -> pd.DataFrame:
    """Read the CSV (plain, .gz or Kaggle's .zip) with pandas, every column as text; checks the header.

    The slower general route, for valid files the fast reader does not expect.
    """
    path = Path(path)
    _check_not_empty(path, str(path))
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


def arrays_from_table(frame: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    """Validate the labels and parse the pixel strings of a table into the same arrays as the fast reader."""
    labels = {name: _validated_label(frame, name, source) for name in LABEL_RANGES}
    pixels = parse_pixel_strings(frame["pixels"], source=source)
    names = frame["img_name"] if "img_name" in frame.columns else pd.Series(np.arange(len(frame)))
    return {
        "images": pixels.reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
        **labels,
        "img_name": names.astype(str).to_numpy().astype(str),
    }


def _validated_label(frame: pd.DataFrame, name: str, source: str) -> np.ndarray:
    column = frame[name]
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lo, hi = LABEL_RANGES[name]
    bad = np.isnan(values) | (values != np.round(values)) | (values < lo) | (values > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = str(column.iloc[i])
        problem = label_problem(name, text) or f"{text!r} is not a whole number {lo}-{hi}. {FIX_ROW}"
        raise DataFormatError(f"{where(source, i + 1, name)}: {problem}")
    return values.astype(np.int64)


def parse_pixel_strings(pixels: pd.Series | Sequence[str], source: str = "<pixels>") -> np.ndarray:
    """Parse n strings of 2304 whitespace-separated 0-255 ints into an (n, 2304) uint8 array, vectorised.

    Works in blocks of rows; a bad string is reported with its row (1-based), the column and the value.
    """
    texts = pixels.tolist() if isinstance(pixels, pd.Series) else list(pixels)
    return parse_pixel_texts(texts, source=source)
