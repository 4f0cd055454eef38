"""Face grid and label bars show what they claim to show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from tutorial_utils.data import load_age_gender  # noqa: E402
from tutorial_utils.plotting.faces import (  # noqa: E402
    label_counts,
    pick_faces_per_age_bin,
    plot_face_grid,
    plot_label_bars,
)
from tutorial_utils.prepare import bin_ages  # noqa: E402


def _faces():
    return load_age_gender(synthetic_rows=600, synthetic_seed=2, verbose=False)


def test_picked_faces_belong_to_their_bin():
    faces = _faces()
    picked = pick_faces_per_age_bin(faces, per_bin=4)
    bins = bin_ages(faces.age)
    assert list(picked) == ["<10", "<20", "<40", "<60", "60+"]
    for k, rows in enumerate(picked.values()):
        assert len(rows) == 4 and len(set(rows)) == 4 and (bins[rows] == k).all()


def test_face_grid_draws_the_picked_images():
    faces = _faces()
    fig = plot_face_grid(faces, per_bin=3, seed=0)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 15
    first = pick_faces_per_age_bin(faces, 3, 0)["<10"][0]
    np.testing.assert_array_equal(shown[0], faces.images[first])
    assert "SYNTHETIC" in fig._suptitle.get_text()


def test_label_bars_heights_are_the_counts():
    faces = _faces()
    fig = plot_label_bars(faces)
    counts = label_counts(faces)
    for ax, values in zip(fig.axes, counts.values(), strict=True):
        assert [p.get_height() for p in ax.patches] == values.tolist()
    assert counts["age bin"].sum() == len(faces)
