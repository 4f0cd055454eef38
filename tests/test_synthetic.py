"""The synthetic stand-in: reproducible, the real file's schema, and the real file's label balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tutorial_utils.data import faces_from_frame
from tutorial_utils.synthetic import make_synthetic_faces

# The real file's label counts (data/README.md of the shared data; also checked against the file itself in
# test_data.py::test_real_file_rows_and_label_counts).
REAL_ETHNICITY = np.array([10078, 4526, 3434, 3975, 1692])
REAL_GENDER = np.array([12391, 11314])
REAL_AGE_BINS = np.array([3062, 1531, 11880, 4544, 2688])
HISTOGRAM_EDGES = [0, 10, 20, 40, 60, 1000]
N = 3000  # enough for shares within ~1 point (binomial sd <= 0.9 %)


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


def test_label_shares_are_close_to_the_real_files(frame):
    """Class balance like the real data, so stratification and accuracies behave alike (within 2.5 points)."""
    shares = {
        "ethnicity": (np.bincount(frame["ethnicity"], minlength=5), REAL_ETHNICITY),
        "gender": (np.bincount(frame["gender"], minlength=2), REAL_GENDER),
        "age bins": (np.histogram(frame["age"], bins=HISTOGRAM_EDGES)[0], REAL_AGE_BINS),
    }
    for name, (synthetic, real) in shares.items():
        np.testing.assert_allclose(synthetic / synthetic.sum(), real / real.sum(), atol=0.025, err_msg=name)


def test_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="n must be positive"):
        make_synthetic_faces(0)
