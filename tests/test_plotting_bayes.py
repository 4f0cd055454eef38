"""The look-inside-BO helpers: EI's formula, GP steps, TPE's densities, and that the plots draw those numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tutorial_utils.plotting.bayes import (
    expected_improvement,
    gp_steps,
    plot_gp_steps,
    plot_tpe_densities,
    tpe_densities,
)


def wiggly(x):
    x = np.asarray(x, dtype=float)
    return 0.05 * (x - 2) ** 2 + np.sin(1.5 * x)


def test_expected_improvement_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    for mean, std, best, xi in [(0.0, 1.0, 0.0, 0.0), (1.0, 0.5, 0.2, 0.1), (-2.0, 3.0, 0.5, 0.0)]:
        draws = rng.normal(mean, std, 400_000)
        monte_carlo = np.maximum(best - xi - draws, 0).mean()
        assert expected_improvement(mean, std, best, xi) == pytest.approx(monte_carlo, rel=0.02, abs=1e-3)


def test_expected_improvement_rewards_low_means_and_high_uncertainty():
    ei = expected_improvement(mean=[0.0, -1.0, 0.0], std=[1.0, 1.0, 2.0], best=0.0)
    assert ei[1] > ei[0] and ei[2] > ei[0]
    # A certain GP: EI is the sure improvement, or nothing.
    assert expected_improvement([-0.5, 0.5], [0.0, 0.0], best=0.0).tolist() == [0.5, 0.0]


def test_gp_steps_interpolate_what_they_saw_and_each_step_adds_the_chosen_point():
    steps = gp_steps(wiggly, (-10, 10), n_steps=4, n_initial=3, seed=0, resolution=201)
    assert [len(s.x_obs) for s in steps] == [3, 4, 5, 6]
    for before, after in zip(steps, steps[1:], strict=False):
        assert after.x_obs[-1] == before.x_next and after.y_obs[-1] == pytest.approx(wiggly(before.x_next))
    last = steps[-1]
    at_obs = np.interp(last.x_obs, last.grid, last.mean)
    spread = np.ptp(last.y_obs)
    assert np.abs(at_obs - last.y_obs).max() < 0.1 * spread  # the mean passes (nearly) through the data
    assert np.interp(last.x_obs, last.grid, last.std).max() < 0.1 * last.std.max()  # and is sure there
    assert all(s.x_next == s.grid[np.argmax(s.ei)] for s in steps)


def test_plot_gp_steps_draws_the_computed_mean_and_marks_the_next_point():
    steps = gp_steps(wiggly, (-10, 10), n_steps=2, n_initial=3, seed=1, resolution=101)
    axes = plot_gp_steps(steps, wiggly)
    assert axes.shape == (2, 2)
    for i, step in enumerate(steps):
        mean_line = next(ln for ln in axes[0, i].lines if ln.get_label() == "GP mean")
        np.testing.assert_allclose(mean_line.get_ydata(), step.mean)
        marker_x = [ln.get_xdata()[0] for ln in axes[1, i].lines if ln.get_linestyle() == "--"]
        assert step.x_next in marker_x
    plt.close("all")


def test_tpe_splits_off_the_best_trials_and_its_densities_integrate_to_one():
    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 10, 40)
    y = wiggly(x)
    d = tpe_densities(x, y, (-10, 10), resolution=2001)
    assert d.x_good.size == 4  # Optuna's default: 10 % of 40
    assert set(d.x_good) == set(x[np.argsort(y)[:4]])
    assert np.trapezoid(d.l, d.grid) == pytest.approx(1.0, abs=0.01)
    assert np.trapezoid(d.g, d.grid) == pytest.approx(1.0, abs=0.01)
    # The proposal lands among the good trials, where l is high and g is low.
    assert d.x_good.min() - 1.0 <= d.x_next <= d.x_good.max() + 1.0
    assert d.ratio.max() > 1.0 > d.ratio.min()


def test_tpe_rejects_a_split_that_leaves_nothing_for_g():
    with pytest.raises(ValueError, match="good group"):
        tpe_densities([0.0, 1.0], [1.0, 2.0], (0, 1), gamma=1.0)
    with pytest.raises(ValueError, match="low < high"):
        tpe_densities([0.0, 1.0], [1.0, 2.0], (1, 0))


def test_plot_tpe_densities_draws_l_g_and_their_ratio():
    rng = np.random.default_rng(2)
    x = rng.uniform(-10, 10, 30)
    d = tpe_densities(x, wiggly(x), (-10, 10))
    top, bottom, ratio_ax = plot_tpe_densities(d, wiggly)
    drawn = {ln.get_label(): ln.get_ydata() for ln in bottom.lines + ratio_ax.lines}
    np.testing.assert_allclose(drawn["l(x): good trials"], d.l)
    np.testing.assert_allclose(drawn["l(x) / g(x)"], d.ratio)
    plt.close("all")
