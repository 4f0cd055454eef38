"""Toy objectives and grid builders: the numbers notebooks 01-04 and 08 build their lessons on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tutorial_utils import toys


def test_quadratic_is_the_seed_example_and_sums_over_coordinates():
    np.testing.assert_allclose(toys.quadratic(np.array([0.0, 2.0, 4.0, 5.0])), [4.0, 0.0, 4.0, 9.0])
    assert toys.quadratic(1.0, 3.0) == pytest.approx(2.0)
    assert toys.quadratic(0.0, center=-1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one coordinate"):
        toys.quadratic()


def test_branin_has_its_known_minimum_at_the_three_minimizers_and_nowhere_lower():
    for x1, x2 in toys.BRANIN_MINIMIZERS:
        assert toys.branin(x1, x2) == pytest.approx(toys.BRANIN_MINIMUM, abs=1e-5)
    (lo1, hi1), (lo2, hi2) = toys.BRANIN_BOUNDS.values()
    g1, g2 = np.meshgrid(np.linspace(lo1, hi1, 601), np.linspace(lo2, hi2, 601))
    z = toys.branin(g1, g2)
    assert z.min() >= toys.BRANIN_MINIMUM - 1e-9
    assert z.min() == pytest.approx(toys.BRANIN_MINIMUM, abs=1e-3)
    assert toys.branin(0.0, 0.0) == pytest.approx(55.6021, abs=1e-3)  # a textbook value away from the minima


def test_low_effective_dim_depends_strongly_on_one_axis_only():
    xs = np.linspace(0, 1, 2001)
    important_range = np.ptp(toys.important_axis(xs))
    unimportant_range = np.ptp(toys.unimportant_axis(xs))
    assert important_range > 0.8 and unimportant_range <= 0.05 + 1e-12
    assert important_range > 15 * unimportant_range
    # the global minimum sits on the narrow dip of the important axis ...
    g1, g2 = np.meshgrid(xs, np.linspace(0, 1, 401))
    z = toys.low_effective_dim(g1, g2)
    i, j = np.unravel_index(np.argmin(z), z.shape)
    assert g1[i, j] == pytest.approx(toys.LOW_EFF_DIM_ARGMIN_X, abs=0.01)
    # ... between the values a 3-point grid tries, so that grid misses it by far
    grid = toys.grid_array(toys.linspace_axes(toys.LOW_EFF_DIM_BOUNDS, 3))
    assert toys.low_effective_dim(grid[:, 0], grid[:, 1]).min() > z.min() + 0.5


def test_product_grid_is_exactly_the_cartesian_product_with_the_last_axis_fastest():
    axes = {"lr": [0.01, 0.1, 1.0], "leaves": [4, 16], "booster": ["gbdt", "dart", "goss", "rf"]}
    points = toys.product_grid(axes)
    assert len(points) == 3 * 2 * 4 == toys.grid_size(axes)
    as_tuples = [(p["lr"], p["leaves"], p["booster"]) for p in points]
    assert as_tuples == list(itertools.product(*axes.values()))
    assert len(set(as_tuples)) == len(as_tuples)
    assert [p["booster"] for p in points[:4]] == axes["booster"]
    assert all(list(p) == list(axes) for p in points)


def test_grid_array_matches_product_grid_row_by_row():
    axes = {"a": [0.0, 1.0], "b": [10.0, 20.0, 30.0]}
    arr = toys.grid_array(axes)
    assert arr.shape == (6, 2)
    np.testing.assert_array_equal(arr, [[p["a"], p["b"]] for p in toys.product_grid(axes)])
    assert len(np.unique(arr[:, 0])) == 2 and len(np.unique(arr[:, 1])) == 3


@pytest.mark.parametrize("axes", [{}, {"a": [1, 2], "b": []}])
def test_grids_reject_empty_axes_with_a_clear_message(axes):
    with pytest.raises(ValueError, match="axis"):
        toys.product_grid(axes)
    with pytest.raises(ValueError, match="axis"):
        toys.grid_size(axes)


def test_linspace_axes_includes_the_ends_and_honours_per_axis_resolution():
    axes = toys.linspace_axes({"x": (0.0, 1.0), "y": (-2.0, 2.0)}, {"x": 3, "y": 5})
    np.testing.assert_allclose(axes["x"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(axes["y"], [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert toys.grid_size(toys.linspace_axes(toys.BRANIN_BOUNDS, 7)) == 49
    with pytest.raises(ValueError, match="lower bound"):
        toys.linspace_axes({"x": (1.0, 0.0)}, 3)
    with pytest.raises(ValueError, match="at least 1"):
        toys.linspace_axes({"x": (0.0, 1.0)}, 0)


def test_uniform_points_stay_in_bounds_and_are_reproducible_by_seed():
    bounds = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0), "x3": (0.1, 0.2)}
    pts = toys.uniform_points(bounds, 2000, seed=3)
    assert pts.shape == (2000, 3)
    for k, (lo, hi) in enumerate(bounds.values()):
        assert pts[:, k].min() >= lo and pts[:, k].max() <= hi
        # uniform: the mean is near the centre, and both halves get points
        assert pts[:, k].mean() == pytest.approx((lo + hi) / 2, abs=0.05 * (hi - lo))
    np.testing.assert_array_equal(pts, toys.uniform_points(bounds, 2000, seed=3))
    assert not np.array_equal(pts, toys.uniform_points(bounds, 2000, seed=4))
    assert len(np.unique(pts[:, 0])) == 2000  # every trial tries a new value of every axis
