"""Age bins, the stratified split, resizing and scaling of the face tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tutorial_utils.data import load_age_gender
from tutorial_utils.models import HEADS
from tutorial_utils.prepare import (
    AGE_BIN_LABELS,
    ETHNICITY_LABELS,
    GENDER_LABELS,
    bin_ages,
    prepare_faces,
    resize_images,
)


@pytest.fixture(scope="module")
def synthetic_faces():
    return load_age_gender(synthetic_rows=1500, synthetic_seed=3, verbose=False)


def test_age_bins_edges():
    ages = np.array([1, 9, 10, 19, 20, 39, 40, 59, 60, 116])
    assert bin_ages(ages).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_the_networks_heads_have_one_output_per_label_in_the_order_of_the_label_columns(synthetic_faces):
    """models.HEADS states the class counts; prepare's labels and label columns must agree with it."""
    assert HEADS == {"age": len(AGE_BIN_LABELS), "ethnicity": len(ETHNICITY_LABELS), "gender": len(GENDER_LABELS)}
    data = prepare_faces(synthetic_faces, image_side=12)
    y = torch.cat([data.y_train, data.y_valid, data.y_test])
    assert y.shape[1] == len(HEADS)
    assert (y.min(0).values >= 0).all() and (y.max(0).values < torch.tensor(list(HEADS.values()))).all()


def test_split_is_stratified_deterministic_and_scaled(synthetic_faces):
    a = prepare_faces(synthetic_faces, image_side=24)
    b = prepare_faces(synthetic_faces, image_side=24)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert len(a.x_train) + len(a.x_valid) + len(a.x_test) == len(synthetic_faces)
    assert len(a.x_test) == pytest.approx(0.2 * len(synthetic_faces), abs=1)
    assert len(a.x_valid) == pytest.approx(0.2 * 0.8 * len(synthetic_faces), abs=1)
    assert a.x_train.shape[1] == 24 * 24 and a.x_train.dtype == torch.float32
    assert a.x_train.min() >= -1.0 and a.x_train.max() <= 1.0
    test_counts = torch.bincount(a.y_test[:, 0], minlength=5).numpy()
    np.testing.assert_allclose(100 * test_counts / test_counts.sum(), a.train_age_shares(), atol=1.0)
    other_seed = prepare_faces(synthetic_faces, seed=14)
    assert not torch.equal(other_seed.y_train, a.y_train)


def test_fit_valid_and_test_rows_are_disjoint_and_test_rows_do_not_depend_on_the_validation_carve(synthetic_faces):
    a = prepare_faces(synthetic_faces, image_side=12)
    b = prepare_faces(synthetic_faces, image_side=12, valid_size=0.3)
    # The test rows are the original 80/20 split's, whatever the validation share.
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)
    rows = [{tuple(r.tolist()) for r in x} for x in (a.x_train, a.x_valid, a.x_test)]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])
    # The validation rows are stratified on the age bin like the rest.
    shares = torch.bincount(a.y_valid[:, 0], minlength=5).numpy() / len(a.y_valid)
    np.testing.assert_allclose(100 * shares, a.train_age_shares(), atol=1.5)
    with pytest.raises(ValueError, match="valid_size"):
        prepare_faces(synthetic_faces, valid_size=0)


def test_full_size_keeps_pixels_and_maps_0_255_to_minus1_plus1(synthetic_faces):
    """Known answers: a black face (0) is all -1, a white one (255) all +1, mid-grey 51 is -0.6."""
    from dataclasses import replace

    n = len(synthetic_faces)
    images = np.zeros((n, 48, 48), dtype=np.uint8)
    images[1::3] = 255
    images[2::3] = 51
    t = prepare_faces(replace(synthetic_faces, images=images), image_side=48)
    assert t.n_features == 48 * 48
    rows = torch.cat([t.x_train, t.x_valid, t.x_test])
    values = sorted({round(v, 6) for v in rows.unique().tolist()})
    assert values == [-1.0, -0.6, 1.0]
    small = prepare_faces(replace(synthetic_faces, images=images), image_side=24)
    for x in (small.x_train, small.x_valid, small.x_test):
        assert {round(v, 5) for v in x.min(1).values.tolist()} <= {-1.0, -0.6, 1.0}
        assert torch.allclose(x.min(1).values, x.max(1).values, atol=1e-5)  # a flat face stays flat when resized


def test_resize_antialiases_rather_than_subsamples():
    # A 1-pixel checkerboard: subsampling keeps one colour, antialiasing averages to grey.
    board = (np.indices((48, 48)).sum(0) % 2 * 255).astype(np.uint8)[None]
    small = resize_images(board, 24)
    assert small.shape == (1, 24, 24)
    interior = small[:, 1:-1, 1:-1]  # the border sees the edge padding
    assert torch.allclose(interior, torch.full_like(interior, 127.5), atol=1.0)


def test_real_data_split_shares_match_the_original(real_data_path):
    faces = load_age_gender(real_data_path)
    tensors = prepare_faces(faces)
    assert tensors.sizes() == {"fit": 15171, "valid": 3793, "test": 4741}
    np.testing.assert_allclose(tensors.train_age_shares().round(2), [12.92, 6.46, 50.12, 19.17, 11.34])
