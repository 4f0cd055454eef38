"""The face loader: finds the file, parses it exactly, caches it, and names file/row/column on bad input."""

from __future__ import annotations

import csv
import gzip
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tutorial_utils import data as data_mod
from tutorial_utils import face_cache, face_csv, prepare
from tutorial_utils import synthetic as synthetic_mod
from tutorial_utils.data import (
    DataFormatError,
    FaceData,
    faces_from_frame,
    find_data_file,
    load_age_gender,
    parse_pixel_strings,
    read_face_table,
)
from tutorial_utils.synthetic import make_synthetic_faces

N_PIXELS = 48 * 48


# ----------------------------------------------------------------------------------------------- helpers


def write_faces(path: Path, n: int = 12, seed: int = 0, edit=None, **to_csv) -> pd.DataFrame:
    """A small synthetic face CSV at ``path`` (.csv or .csv.gz); ``edit(frame)`` may spoil it first."""
    frame = make_synthetic_faces(n, seed=seed)
    if edit is not None:
        edit(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, **to_csv)
    return frame


def naive_parse(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The original study's way, row by row: the reference the fast reader must match exactly."""
    images = np.stack([np.array(s.split(), dtype=np.int64) for s in frame["pixels"]])
    assert images.min() >= 0 and images.max() <= 255
    return {
        "images": images.astype(np.uint8).reshape(-1, 48, 48),
        "age": np.array([int(v) for v in frame["age"]], dtype=np.int64),
        "ethnicity": np.array([int(v) for v in frame["ethnicity"]], dtype=np.int64),
        "gender": np.array([int(v) for v in frame["gender"]], dtype=np.int64),
        "img_name": frame["img_name"].astype(str).to_numpy(),
    }


def assert_matches(faces: FaceData, expected: dict[str, np.ndarray]) -> None:
    assert faces.images.dtype == np.uint8 and faces.images.shape == expected["images"].shape
    np.testing.assert_array_equal(faces.images, expected["images"])
    for column in ("age", "ethnicity", "gender", "img_name"):
        np.testing.assert_array_equal(getattr(faces, column), expected[column], err_msg=column)


def set_pixels(frame: pd.DataFrame, row: int, transform) -> None:
    """Apply ``transform`` to the list of pixel tokens of 1-based data ``row``."""
    tokens = frame.at[row - 1, "pixels"].split(" ")
    frame.at[row - 1, "pixels"] = " ".join(transform(tokens))


def load_error(path: Path, **kwargs) -> str:
    with pytest.raises(DataFormatError) as info:
        load_age_gender(path, use_cache=False, **kwargs)
    return str(info.value)


@pytest.fixture
def small_blocks(monkeypatch):
    """Read ~2 rows per block, so multi-block bookkeeping (row numbers, offsets) is exercised."""
    monkeypatch.setattr(face_csv, "CHUNK_ROWS", 3)
    monkeypatch.setattr(face_csv, "PIXEL_ROWS", 2)


# ----------------------------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
@pytest.mark.parametrize(("n", "seed"), [(1, 0), (7, 1), (40, 2)])
def test_values_equal_a_naive_per_row_parse(tmp_path, suffix, n, seed):
    path = tmp_path / f"faces{suffix}"
    frame = write_faces(path, n=n, seed=seed)
    assert_matches(load_age_gender(path, use_cache=False), naive_parse(frame))


def test_values_equal_naive_parse_across_many_blocks(tmp_path, small_blocks):
    path = tmp_path / "faces.csv.gz"
    frame = write_faces(path, n=30, seed=3)
    assert_matches(load_age_gender(path, use_cache=False), naive_parse(frame))


def test_every_pixel_value_0_to_255_round_trips(tmp_path):
    """Values of 1, 2 and 3 digits at the start, middle and end of a row all parse exactly."""
    values = np.arange(256 * 9) % 256
    rows = np.stack([np.roll(values[:N_PIXELS], k) for k in range(9)]).astype(np.uint8)
    frame = make_synthetic_faces(9, seed=4)
    frame["pixels"] = [" ".join(map(str, r)) for r in rows]
    path = tmp_path / "all_values.csv"
    frame.to_csv(path, index=False)
    faces = load_age_gender(path, use_cache=False)
    np.testing.assert_array_equal(faces.images.reshape(9, -1), rows)


@pytest.mark.parametrize(
    "variant",
    ["crlf", "quoted", "column_order", "extra_column", "space_in_name", "leading_zeros", "no_final_newline", "zip", "bom"],
)
def test_other_valid_layouts_give_the_same_values(tmp_path, variant):
    """Valid files in other layouts load with the same numbers (leading zeros via the row-by-row parse)."""
    frame = make_synthetic_faces(6, seed=5)
    expected = naive_parse(frame)
    path = tmp_path / "faces.csv"
    if variant == "crlf":
        frame.to_csv(path, index=False, lineterminator="\r\n")
    elif variant == "quoted":
        frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    elif variant == "column_order":
        frame[["pixels", "img_name", "gender", "age", "ethnicity"]].to_csv(path, index=False)
    elif variant == "extra_column":
        frame.assign(note="x").to_csv(path, index=False)
    elif variant == "space_in_name":
        frame.loc[2, "img_name"] = expected["img_name"][2] = "2017 .jpg.chip.jpg"
        frame.to_csv(path, index=False)
    elif variant == "leading_zeros":
        set_pixels(frame, 2, lambda t: ["000" + v for v in t])
        frame["age"] = frame["age"].astype(object)
        frame.loc[3, "age"] = "0042"
        expected["age"] = naive_parse(frame)["age"]
        frame.to_csv(path, index=False)
    elif variant == "no_final_newline":
        frame.to_csv(path, index=False)
        path.write_bytes(path.read_bytes().rstrip(b"\n"))
    elif variant == "bom":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif variant == "zip":
        frame.to_csv(tmp_path / "age_gender.csv", index=False)
        path = tmp_path / "archive.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(tmp_path / "age_gender.csv", "age_gender.csv")
    assert_matches(load_age_gender(path, use_cache=False), expected)


def test_parse_pixel_strings_matches_naive_parse():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(300, N_PIXELS), dtype=np.uint8)
    pixels[0, :3] = (0, 255, 100)
    texts = [" ".join(map(str, row)) for row in pixels]
    np.testing.assert_array_equal(parse_pixel_strings(pd.Series(texts)), pixels)
    np.testing.assert_array_equal(parse_pixel_strings(texts), pixels)


def test_faces_from_frame_matches_the_file_reader(tmp_path):
    path = tmp_path / "faces.csv"
    frame = write_faces(path, n=10, seed=6)
    from_frame = faces_from_frame(frame, source="frame")
    from_file = load_age_gender(path, use_cache=False)
    assert_matches(from_file, naive_parse(frame))
    assert_matches(from_frame, naive_parse(frame))


# ----------------------------------------------------------------------------------------------- bad input


def test_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "no_gender.csv"
    write_faces(path, edit=lambda f: f.pop("gender"))
    message = load_error(path)
    assert "no_gender.csv" in message and "'gender'" in message and "line 1 (header)" in message
    assert "age,ethnicity,gender,img_name,pixels" in message  # says what the file must have


@pytest.mark.parametrize("count", [N_PIXELS - 1, N_PIXELS + 1])
def test_pixel_row_with_wrong_count(tmp_path, count):
    path = tmp_path / "short.csv.gz"
    write_faces(path, edit=lambda f: set_pixels(f, 5, lambda t: (t + t)[:count]))
    message = load_error(path)
    assert "short.csv.gz" in message and "row 5 (line 6)" in message and "column 'pixels'" in message
    assert f"{count} values, expected 2304" in message
    assert "fix or delete" in message.lower()


def test_non_numeric_pixel(tmp_path):
    path = tmp_path / "letters.csv"
    write_faces(path, edit=lambda f: set_pixels(f, 3, lambda t: t[:99] + ["12a"] + t[100:]))
    message = load_error(path)
    assert "letters.csv: row 3 (line 4), column 'pixels'" in message
    assert "value 100 '12a' is not a whole number" in message


@pytest.mark.parametrize(("bad", "what"), [("256", "above 255"), ("1000", "above 255"), ("-3", "negative")])
def test_pixel_out_of_range(tmp_path, bad, what):
    path = tmp_path / "range.csv"
    write_faces(path, edit=lambda f: set_pixels(f, 8, lambda t: t[:6] + [bad] + t[7:]))
    message = load_error(path)
    assert "range.csv: row 8 (line 9), column 'pixels'" in message
    assert f"value 7 is {int(bad)}" in message and what in message and "0-255" in message


@pytest.mark.parametrize(("column", "bad", "span"), [("age", 130, "0-120"), ("age", -1, "0-120"), ("ethnicity", 5, "0-4"), ("gender", 2, "0-1")])
def test_label_out_of_range(tmp_path, column, bad, span):
    path = tmp_path / "labels.csv"

    def spoil(frame):
        frame[column] = frame[column].astype(object)
        frame.at[3, column] = bad

    write_faces(path, edit=spoil)
    message = load_error(path)
    assert f"labels.csv: row 4 (line 5), column '{column}'" in message
    assert f"label {bad} is out of range {span}" in message


def test_non_numeric_label(tmp_path):
    path = tmp_path / "labels.csv"

    def spoil(frame):
        frame["ethnicity"] = frame["ethnicity"].astype(object)
        frame.at[0, "ethnicity"] = "asian"

    write_faces(path, edit=spoil)
    message = load_error(path)
    assert "labels.csv: row 1 (line 2), column 'ethnicity'" in message and "'asian' is not a whole number" in message


def test_error_row_is_right_across_blocks(tmp_path, small_blocks):
    path = tmp_path / "late.csv.gz"
    write_faces(path, n=40, seed=7, edit=lambda f: set_pixels(f, 37, lambda t: t[:-1] + ["x"]))
    message = load_error(path)
    assert "late.csv.gz: row 37 (line 38), column 'pixels'" in message and "value 2304 'x'" in message


def test_error_in_a_quoted_file_goes_through_pandas_and_is_still_precise(tmp_path):
    path = tmp_path / "quoted.csv"
    write_faces(path, edit=lambda f: set_pixels(f, 6, lambda t: t[:9] + ["300"] + t[10:]), quoting=csv.QUOTE_ALL)
    message = load_error(path)
    assert "quoted.csv: row 6 (line 7), column 'pixels'" in message and "value 10 is 300" in message


def test_blank_line_is_reported(tmp_path):
    path = tmp_path / "blank.csv"
    write_faces(path, n=5)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3] + ["\n"] + lines[3:]))
    message = load_error(path)
    assert "blank.csv: row 3 (line 4)" in message and "empty" in message


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"")
    else:
        path.write_bytes(gzip.compress(b""))
    message = load_error(path)
    assert f"empty{suffix}" in message and "empty" in message and "Download it again" in message


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("age,ethnicity,gender,img_name,pixels\n")
    message = load_error(path)
    assert "header.csv" in message and "no data rows" in message


def test_cut_short_gzip(tmp_path):
    path = tmp_path / "cut.csv.gz"
    write_faces(path, n=20)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = load_error(path)
    assert "cut.csv.gz" in message and ("cut short" in message or "damaged" in message)


def test_no_reader_thread_is_left_behind_after_an_error(tmp_path, small_blocks):
    path = tmp_path / "bad.csv.gz"
    write_faces(path, n=30, edit=lambda f: set_pixels(f, 2, lambda t: t[:-1]))
    load_error(path)
    assert not [t for t in threading.enumerate() if t.name == "face-csv-reader"]


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nowhere" / "age_gender.csv"
    with pytest.raises(FileNotFoundError, match="nowhere/age_gender.csv: no such file"):
        load_age_gender(missing)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_face_table(missing)


# ----------------------------------------------------------------------------------------------- finding


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working directory, and a checkout root without data, so only what a test puts there counts."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(data_mod, "repo_root", lambda: tmp_path / "no_checkout")
    return work


def test_discovers_gz_under_data(workdir):
    frame = write_faces(workdir / "data" / "age_gender.csv.gz", n=5, seed=8)
    assert find_data_file() == workdir / "data" / "age_gender.csv.gz"
    faces = load_age_gender()
    assert not faces.is_synthetic
    assert_matches(faces, naive_parse(frame))


def test_discovers_data_one_level_up_like_notebooks(workdir, monkeypatch):
    write_faces(workdir / "data" / "age_gender.csv", n=3)
    (workdir / "notebooks").mkdir()
    monkeypatch.chdir(workdir / "notebooks")
    assert find_data_file() == workdir / "data" / "age_gender.csv"


@pytest.mark.parametrize("zip_name", ["archive.zip", "age-gender-and-ethnicity-face-data-csv.zip", "download (3).zip"])
def test_discovers_kaggle_zip(workdir, zip_name):
    frame = write_faces(workdir / "age_gender.csv", n=4, seed=9)
    (workdir / "data").mkdir()
    with zipfile.ZipFile(workdir / "data" / zip_name, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(workdir / "age_gender.csv", "age_gender.csv")
    assert find_data_file() == workdir / "data" / zip_name
    assert_matches(load_age_gender(), naive_parse(frame))


def test_explicit_folder_is_searched_for_known_names(workdir, tmp_path):
    frame = write_faces(tmp_path / "mine" / "age_gender.csv.gz", n=3, seed=15)
    assert find_data_file(tmp_path / "mine") == tmp_path / "mine" / "age_gender.csv.gz"
    assert_matches(load_age_gender(tmp_path / "mine"), naive_parse(frame))
    with pytest.raises(FileNotFoundError, match="folder holds none of"):
        find_data_file(workdir)


def test_explicit_path_wins_over_data_folder(workdir, tmp_path):
    write_faces(workdir / "data" / "age_gender.csv.gz", n=5, seed=10)
    explicit = write_faces(tmp_path / "elsewhere.csv", n=7, seed=11)
    faces = load_age_gender(tmp_path / "elsewhere.csv")
    assert faces.source.endswith("elsewhere.csv")
    assert_matches(faces, naive_parse(explicit))


def test_synthetic_fallback_says_so_in_one_line(workdir, capsys):
    assert find_data_file() is None
    faces = load_age_gender(synthetic_rows=50, synthetic_seed=3)
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "SYNTHETIC" in printed[0] and "data/" in printed[0]
    assert faces.is_synthetic and len(faces) == 50
    assert_matches(faces, naive_parse(make_synthetic_faces(50, seed=3)))


def test_synthetic_faces_come_as_arrays_without_a_text_round_trip(monkeypatch):
    """Drawing faces must not format 2304 numbers per row as text only to parse them back."""

    def no_text(*_args, **_kwargs):
        raise AssertionError("synthetic faces went through pixel text")

    monkeypatch.setattr(synthetic_mod, "pixels_to_strings", no_text)
    monkeypatch.setattr(face_csv, "parse_pixel_block", no_text)
    faces = data_mod.synthetic_faces(40, seed=6, use_cache=False)
    assert faces.is_synthetic and faces.source == "synthetic(n=40, seed=6)"
    assert faces.images.shape == (40, 48, 48) and faces.images.dtype == np.uint8
    monkeypatch.undo()
    assert_matches(faces, naive_parse(make_synthetic_faces(40, seed=6)))  # the CSV text holds the same faces
    tensors = prepare.load_study_data("synthetic", image_side=12, synthetic_rows=40, verbose=False)
    assert tensors.is_synthetic


def test_synthetic_faces_are_cached_and_redrawn_when_the_generator_changes(workdir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUTORIAL_UTILS_CACHE", str(tmp_path / "cache"))
    generator = tmp_path / "synthetic_copy.py"  # stands in for tutorial_utils/synthetic.py
    generator.write_text("# generator v1\n")
    monkeypatch.setattr(data_mod, "synthetic_generator_file", lambda: generator)
    first = load_age_gender(synthetic_rows=30, synthetic_seed=1)
    second = load_age_gender(synthetic_rows=30, synthetic_seed=1)
    other_seed = load_age_gender(synthetic_rows=30, synthetic_seed=2)
    assert not first.from_cache and second.from_cache and not other_seed.from_cache
    assert second.is_synthetic and second.source == "synthetic(n=30, seed=1)"
    assert_matches(second, naive_parse(make_synthetic_faces(30, seed=1)))
    assert len(capsys.readouterr().out.strip().splitlines()) == 3  # the notice is printed on every load
    generator.write_text("# generator v2, a different drawing\n")
    assert not load_age_gender(synthetic_rows=30, synthetic_seed=1).from_cache


# ----------------------------------------------------------------------------------------------- cache


@pytest.fixture
def cached_source(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_UTILS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "faces.csv.gz"
    frame = write_faces(path, n=9, seed=12)
    return path, frame


def test_second_load_comes_from_the_cache(cached_source, tmp_path):
    path, frame = cached_source
    first = load_age_gender(path)
    second = load_age_gender(path)
    assert not first.from_cache and second.from_cache
    cache_file = face_cache.cache_path(path)
    assert cache_file.parent == tmp_path / "cache"
    assert cache_file.exists() and face_cache.images_path(cache_file).exists()
    assert_matches(second, naive_parse(frame))


def test_use_cache_false_neither_reads_nor_writes(cached_source):
    path, _ = cached_source
    assert not load_age_gender(path, use_cache=False).from_cache
    assert not face_cache.cache_path(path).exists()


def test_cache_is_rebuilt_when_the_source_changes(cached_source):
    path, _ = cached_source
    load_age_gender(path)
    changed = write_faces(path, n=11, seed=13)  # new content, same path
    faces = load_age_gender(path)
    assert not faces.from_cache
    assert_matches(faces, naive_parse(changed))
    assert load_age_gender(path).from_cache


def test_cache_is_rebuilt_when_the_source_is_touched(cached_source):
    path, frame = cached_source
    load_age_gender(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    faces = load_age_gender(path)
    assert not faces.from_cache
    assert_matches(faces, naive_parse(frame))


@pytest.mark.parametrize("which", ["metadata", "images"])
@pytest.mark.parametrize("damage", ["truncate", "flip_bytes", "garbage"])
def test_cache_is_rebuilt_when_corrupt(cached_source, which, damage):
    path, frame = cached_source
    load_age_gender(path)
    cache_file = face_cache.cache_path(path)
    damaged = cache_file if which == "metadata" else face_cache.images_path(cache_file)
    raw = bytearray(damaged.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip_bytes":
        middle = len(raw) - 200 if which == "images" else len(raw) // 2  # pixels / somewhere in the zip
        raw[middle : middle + 16] = bytes(255 - b for b in raw[middle : middle + 16])
    else:
        raw = bytearray(b"not a cache at all")
    damaged.write_bytes(bytes(raw))
    faces = load_age_gender(path)
    assert not faces.from_cache
    assert_matches(faces, naive_parse(frame))
    assert load_age_gender(path).from_cache  # and the rebuilt cache is good again


def test_cache_is_rebuilt_when_a_file_is_missing(cached_source):
    path, frame = cached_source
    load_age_gender(path)
    face_cache.images_path(face_cache.cache_path(path)).unlink()
    faces = load_age_gender(path)
    assert not faces.from_cache
    assert_matches(faces, naive_parse(frame))


def test_cache_checksum_catches_changed_arrays(cached_source):
    """Even a well-formed cache whose arrays were altered is rejected by its CRC."""
    path, _ = cached_source
    faces = load_age_gender(path)
    cache_file = face_cache.cache_path(path)
    images = np.load(face_cache.images_path(cache_file))
    images[0, 0, 0] ^= 1
    np.save(face_cache.images_path(cache_file), images)  # a valid .npy, but not what was cached
    assert face_cache.read_cache(cache_file, path) is None
    assert not load_age_gender(path).from_cache
    assert faces.images[0, 0, 0] == load_age_gender(path).images[0, 0, 0]


# ----------------------------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_real_file_rows_and_label_counts(real_data_path):
    faces = load_age_gender(real_data_path)
    assert len(faces) == 23705 and faces.images.shape == (23705, 48, 48) and faces.images.dtype == np.uint8
    assert np.bincount(faces.ethnicity).tolist() == [10078, 4526, 3434, 3975, 1692]
    assert np.bincount(faces.gender).tolist() == [12391, 11314]
    age_bins = np.histogram(faces.age, bins=[0, 10, 20, 40, 60, 1000])[0]
    assert age_bins.tolist() == [3062, 1531, 11880, 4544, 2688]
    assert faces.age.min() >= 1 and faces.age.max() <= 116
    assert not faces.is_synthetic and faces.images.std() > 20  # real faces, not a constant image


@pytest.mark.slow
def test_real_file_sample_rows_equal_a_naive_parse(real_data_path):
    """Spot-check rows (first, last, the one whose file name has a space) against a plain-Python parse."""
    with gzip.open(real_data_path, "rt") as f:
        lines = f.read().splitlines()[1:]
    faces = load_age_gender(real_data_path)
    for i in (0, 1, 6288, 11852, len(lines) - 1):
        age, ethnicity, gender, name, pixels = lines[i].split(",")
        assert (int(age), int(ethnicity), int(gender), name) == (
            faces.age[i],
            faces.ethnicity[i],
            faces.gender[i],
            faces.img_name[i],
        )
        np.testing.assert_array_equal(faces.images[i].ravel(), np.array(pixels.split(), dtype=np.uint8))


@pytest.mark.parametrize("variant", ["plain", "crlf", "space_in_name", "quoted", "column_order", "extra_column"])
def test_usual_layouts_take_the_vectorised_path(tmp_path, monkeypatch, small_blocks, variant):
    """The real file's layout and pandas' usual re-exports must not fall back to the slow row-by-row parse."""

    def no_row_check(*_args, **_kwargs):
        raise AssertionError("a valid file in a usual layout fell back to the row-by-row parse")

    monkeypatch.setattr(face_csv, "row_problem", no_row_check)
    frame = make_synthetic_faces(8, seed=14)
    expected = naive_parse(frame)
    if variant == "space_in_name":
        frame.loc[5, "img_name"] = expected["img_name"][5] = "20170116220224657 .jpg.chip.jpg"
    elif variant == "column_order":
        frame = frame[["pixels", "img_name", "gender", "age", "ethnicity"]]
    elif variant == "extra_column":
        frame = frame.assign(note="x")
    path = tmp_path / "faces.csv.gz"
    frame.to_csv(
        path,
        index=False,
        lineterminator="\r\n" if variant == "crlf" else "\n",
        quoting=csv.QUOTE_ALL if variant == "quoted" else csv.QUOTE_MINIMAL,
    )
    assert_matches(load_age_gender(path, use_cache=False), expected)


def test_pixel_block_known_answers():
    """The vectorised parse on hand-made rows: exact values, and None for everything outside its simple form."""
    row = np.arange(N_PIXELS) % 256
    text = " ".join(map(str, row))
    out = face_csv.parse_pixel_block([text, " ".join(map(str, row[::-1]))])
    assert out.dtype == np.uint8 and out.shape == (2, N_PIXELS)
    assert out[0, :12].tolist() == list(range(12)) and out[0, 255] == 255 and out[0, 256] == 0
    np.testing.assert_array_equal(out[1], row[::-1])
    assert face_csv.parse_pixel_block([]) is not None and face_csv.parse_pixel_block([]).shape == (0, N_PIXELS)
    tokens = text.split(" ")
    assert face_csv.parse_pixel_block([" ".join(["007", "09", *tokens[2:]])])[0, :3].tolist() == [7, 9, 2]
    not_simple = {
        "leading zeros, four digits": ["0007", *tokens[1:]],
        "four digits": ["1000", *tokens[1:]],
        "256": ["256", *tokens[1:]],
        "negative": ["-1", *tokens[1:]],
        "tab": ["\t".join(tokens[:2]), *tokens[2:]],
        "double space": [tokens[0] + " ", *tokens[1:]],
        "one short": tokens[:-1],
        "one extra": [*tokens, "1"],
        "letter": ["1a", *tokens[1:]],
    }
    for what, values in not_simple.items():
        assert face_csv.parse_pixel_block([text, " ".join(values)]) is None, what
    # A row one value short next to a row one value long: the total is right, the row ends are not.
    assert face_csv.parse_pixel_block([" ".join(tokens[:-1]), " ".join([*tokens, "9"])]) is None


def test_pixel_strings_outside_the_simple_form_are_still_exact():
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 256, size=(3, N_PIXELS))
    texts = ["\t".join(map(str, rows[0])), " ".join(f"{v:03d}" for v in rows[1]), "  " + "   ".join(map(str, rows[2]))]
    np.testing.assert_array_equal(parse_pixel_strings(texts), rows)
    with pytest.raises(DataFormatError, match=r"<pixels>: row 2 \(line 3\), column 'pixels': value 5 is 300"):
        parse_pixel_strings([texts[0], " ".join(["1"] * 4 + ["300"] + ["1"] * 2299)])


def test_read_face_table_gives_the_text_of_the_file(tmp_path):
    path = tmp_path / "faces.csv.gz"
    frame = write_faces(path, n=5, seed=16)
    table = read_face_table(path)
    assert list(table.columns) == list(frame.columns) and len(table) == 5
    assert table["age"].tolist() == [str(v) for v in frame["age"]] and table["pixels"].tolist() == frame["pixels"].tolist()


@pytest.mark.parametrize("row", [1, 4])
def test_stray_comma_names_the_row(tmp_path, row):
    path = tmp_path / "comma.csv"
    write_faces(path, n=6)
    lines = path.read_text().splitlines(keepends=True)
    age, ethnicity, gender, name, pixels = lines[row].split(",")
    lines[row] = ",".join([age, ethnicity, gender, "2017,0.jpg", pixels])
    path.write_text("".join(lines))
    message = load_error(path)
    assert f"comma.csv: row {row} (line {row + 1}), column '(whole row)'" in message and "stray comma" in message
    if row > 1:
        assert "the line has 6 comma-separated fields, expected 5" in message


@pytest.mark.parametrize(("keep", "column", "count"), [(4, "pixels", 4), (3, "img_name", 3)])
def test_short_line_says_how_many_fields_it_has(tmp_path, keep, column, count):
    path = tmp_path / "short_line.csv.gz"
    write_faces(path, n=6)
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines(keepends=True)
    lines[3] = ",".join(lines[3].split(",")[:keep]) + "\n"
    with gzip.open(path, "wt") as f:
        f.write("".join(lines))
    message = load_error(path)
    assert f"short_line.csv.gz: row 3 (line 4), column '{column}'" in message
    assert f"the line has only {count} of the 5 comma-separated fields" in message and "cut short" in message


def test_damaged_gzip_is_reported_as_damaged(tmp_path):
    path = tmp_path / "damaged.csv.gz"
    write_faces(path, n=30)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(raw))
    message = load_error(path)
    assert "damaged.csv.gz" in message and "damaged" in message and "Download it again" in message
    assert not [t for t in threading.enumerate() if t.name == "face-csv-reader"]


def test_unclosed_quote_is_not_a_valid_csv(tmp_path):
    path = tmp_path / "quote.csv"
    write_faces(path, n=3)
    path.write_text(path.read_text() + '30,0,1,"unclosed.jpg,1 2 3\n')
    message = load_error(path)
    assert "quote.csv: not a valid CSV" in message


def test_zip_without_the_face_csv_lists_what_it_holds(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x\n1\n")
        archive.writestr("b.csv", "y\n2\n")
    message = load_error(path)
    assert "other.zip: the zip should hold age_gender.csv; its .csv files: a.csv, b.csv" in message


@pytest.mark.parametrize(
    "join, eol",
    [("  ", "\n"), ("\t", "\n"), (" \t ", "\r\n")],
    ids=["double_spaces", "tabs", "mixed_crlf"],
)
@pytest.mark.parametrize("edges", ["", " ", "\t "], ids=["no_edges", "space_edges", "tab_edges"])
def test_any_whitespace_between_pixels_reads_the_same_pixels(tmp_path, join, eol, edges):
    """An edited or re-exported file may separate pixels by runs of spaces or tabs (as str.split() does)."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(4, 2304))
    path = tmp_path / "faces.csv"
    with open(path, "w", newline="") as f:
        f.write("age,ethnicity,gender,img_name,pixels" + eol)
        for i, row in enumerate(pixels):
            f.write(f"{20 + i},{i % 5},{i % 2},x{i}.jpg,{edges}{join.join(map(str, row))}{edges}{eol}")
    faces = load_age_gender(path, verbose=False)
    np.testing.assert_array_equal(faces.images.reshape(4, -1), pixels)
    assert faces.age.tolist() == [20, 21, 22, 23]


def test_a_bad_pixel_among_tabs_still_names_the_row_and_column(tmp_path):
    path = tmp_path / "faces.csv"
    good = "\t".join(["7"] * 2304)
    bad = "\t".join(["7"] * 100 + ["x9"] + ["7"] * 2203)
    path.write_text(f"age,ethnicity,gender,img_name,pixels\n30,0,1,a.jpg,{good}\n31,0,1,b.jpg,{bad}\n")
    with pytest.raises(DataFormatError, match=r"faces.csv: row 2 \(line 3\), column 'pixels': value 101 'x9' is not a whole number"):
        load_age_gender(path, verbose=False)
