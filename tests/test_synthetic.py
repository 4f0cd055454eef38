"""The synthetic stand-in: reproducible, the real file's schema, and the real file's label balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tutorial_utils.data import faces_from_frame
from tutorial_utils.synthetic import make_synthetic_faces, sample_labels

# The real file's label shares in percent, as documented for the shared data (23,705 faces: ethnicity 10078 /
# 4526 / 3434 / 3975 / 1692, gender 12391 / 11314, ages <10, <20, <40, <60, 60+: 3062 / 1531 / 11880 / 4544 /
# 2688; the age-bin shares are the train shares the original study printed).
REAL_SHARES_PCT = {
    "ethnicity": [42.51, 19.09, 14.49, 16.77, 7.14],
    "gender": [52.27, 47.73],
    "age bins": [12.92, 6.46, 50.12, 19.17, 11.34],
}
HISTOGRAM_EDGES = [0, 10, 20, 40, 60, 1000]
N = 3000  # the frame the loader would build: shares within ~2.5 points (binomial sd <= 0.9 %)
N_LABELS = 200_000  # labels alone are cheap: shares within 0.5 points (binomial sd <= 0.11 %)


def label_shares_pct(table: pd.DataFrame) -> dict[str, np.ndarray]:
    counts = {
        "ethnicity": np.bincount(table["ethnicity"], minlength=5),
        "gender": np.bincount(table["gender"], minlength=2),
        "age bins": np.histogram(table["age"], bins=HISTOGRAM_EDGES)[0],
    }
    return {name: 100 * c / c.sum() for name, c in counts.items()}


@pytest.fixture(scope="module")
def many_labels() -> pd.DataFrame:
    return sample_labels(N_LABELS, np.random.default_rng(0))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_synthetic_faces(N, seed=0)


def test_same_seed_gives_identical_frames():
    pd.testing.assert_frame_equal(make_synthetic_faces(300, seed=7), make_synthetic_faces(300, seed=7))


def test_different_seeds_give_different_faces_and_labels():
    a, b = make_synthetic_faces(200, seed=1), make_synthetic_faces(200, seed=2)
    assert (a["pixels"] != b["pixels"]).all()
    assert (a[["age", "ethnicity", "gender"]].to_numpy() != b[["age", "ethnicity", "gender"]].to_numpy()).any()


def test_schema_and_dtypes_match_the_real_file(frame):
    assert list(frame.columns) == ["age", "ethnicity", "gender", "img_name", "pixels"]
    for column in ("age", "ethnicity", "gender"):
        assert pd.api.types.is_integer_dtype(frame[column]), column
    assert frame["img_name"].map(type).eq(str).all() and frame["pixels"].map(type).eq(str).all()
    counts = frame["pixels"].str.count(" ") + 1
    assert counts.eq(48 * 48).all()


def test_labels_and_pixels_are_in_the_real_ranges(frame):
    assert frame["age"].between(1, 116).all()
    assert set(frame["ethnicity"].unique()) == {0, 1, 2, 3, 4}
    assert set(frame["gender"].unique()) == {0, 1}
    faces = faces_from_frame(frame.head(500), source="synthetic")  # validates 0-255 integers on the way
    assert faces.images.shape == (500, 48, 48) and faces.images.dtype == np.uint8
    assert faces.images.min() < 40 and faces.images.max() > 215  # a real spread of grey levels, not a flat image
    assert len({img.tobytes() for img in faces.images}) == 500  # every face differs


def test_label_shares_are_the_real_files(frame, many_labels):
    """Class balance like the real data, so stratification and accuracies behave alike."""
    for name, shares in label_shares_pct(many_labels).items():
        np.testing.assert_allclose(shares, REAL_SHARES_PCT[name], atol=0.5, err_msg=name)
    for name, shares in label_shares_pct(frame).items():  # the faces' own labels, not only the label sampler's
        np.testing.assert_allclose(shares, REAL_SHARES_PCT[name], atol=2.5, err_msg=name)


def test_every_age_of_a_bin_occurs_and_none_outside_the_generators_range(many_labels):
    """Ages are drawn in [edge, next edge) of their bin: 1-9, 10-19, 20-39, 40-59 and 60-99, each age present."""
    ages = set(many_labels["age"].unique().tolist())
    assert ages == set(range(1, 100))
    assert many_labels["age"].between(1, 99).all()


@pytest.mark.slow
def test_label_shares_match_the_real_file_itself(real_data_path, many_labels):
    """When the real file is here: its shares are the documented ones, and the generator's are within 0.5 points."""
    real = pd.read_csv(real_data_path, usecols=["age", "ethnicity", "gender"])
    assert len(real) == 23705
    real_shares = label_shares_pct(real)
    synthetic_shares = label_shares_pct(many_labels)
    for name, shares in real_shares.items():
        np.testing.assert_allclose(shares, REAL_SHARES_PCT[name], atol=0.005, err_msg=name)
        np.testing.assert_allclose(synthetic_shares[name], shares, atol=0.5, err_msg=name)


def test_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="n must be positive"):
        make_synthetic_faces(0)
