"""The optional kagglehub download: where it puts the file, without any network (kagglehub is faked here)."""

from __future__ import annotations

import sys
import types

import pytest

from conftest import REPO
from tutorial_utils import data as data_mod
from tutorial_utils import download


@pytest.fixture
def fake_kagglehub(tmp_path, monkeypatch):
    """A kagglehub whose dataset_download returns a folder holding the CSV (nested, as Kaggle's cache does)."""
    cache = tmp_path / "kaggle-cache" / "versions" / "1"
    cache.mkdir(parents=True)
    (cache / "age_gender.csv").write_text("age,ethnicity,gender,img_name,pixels\n")
    calls = []

    def dataset_download(handle):
        calls.append(handle)
        return str(tmp_path / "kaggle-cache")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=dataset_download))
    return calls


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course home in tmp_path, and a working directory elsewhere (e.g. a notebook's folder)."""
    home = tmp_path / "course"
    home.mkdir()
    monkeypatch.setenv(data_mod.COURSE_HOME_ENV, str(home))
    monkeypatch.delenv(data_mod.DATA_DIR_ENV, raising=False)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    return home


def test_default_goes_to_the_course_data_folder_whatever_the_working_directory(course, fake_kagglehub):
    assert download.default_data_dir() == course / "data"
    target = download.download_face_data()
    assert target == course / "data" / "age_gender.csv" and target.read_text().startswith("age,ethnicity")
    assert fake_kagglehub == ["nipunarora8/age-gender-and-ethnicity-face-data-csv"]
    assert data_mod.find_data_file() == target  # the loader finds what the download wrote
    assert not (course.parent / "somewhere" / "data").exists()  # not ../data of the working directory


def test_data_variable_is_where_the_file_goes(course, fake_kagglehub, tmp_path, monkeypatch):
    faces = tmp_path / "faces"
    monkeypatch.setenv(data_mod.DATA_DIR_ENV, str(faces))
    assert download.default_data_dir() == faces
    assert download.download_face_data() == faces / "age_gender.csv"
    assert data_mod.find_data_file() == faces / "age_gender.csv"
    explicit = tmp_path / "mine"
    assert download.download_face_data(explicit) == explicit / "age_gender.csv"


def test_the_checkout_default_is_its_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(data_mod.COURSE_HOME_ENV, raising=False)
    monkeypatch.delenv(data_mod.DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert download.default_data_dir() == REPO / "data"


def test_without_kagglehub_or_without_the_file_the_errors_say_what_to_do(course, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # `import kagglehub` raises ImportError
    with pytest.raises(ImportError, match="pip install kagglehub"):
        download.download_face_data()
    empty = tmp_path / "empty-download"
    empty.mkdir()
    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=lambda handle: str(empty)))
    with pytest.raises(FileNotFoundError, match="has no age_gender.csv"):
        download.download_face_data()
    assert not (course / "data").exists()
