"""Search plots draw the statistics they claim: centre lines, bands, traces, marginals and trial logs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from tutorial_utils import toys
from tutorial_utils.plotting import search


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _runs(seed: int, n_runs: int = 7, n_trials: int = 30):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=n_trials) for _ in range(n_runs)]


def test_summary_iqr_is_median_and_quartiles_of_the_cumulative_minima():
    runs = _runs(0)
    s = search.summarize_best_so_far(runs, direction="minimize", band="iqr")
    cummins = np.array([np.minimum.accumulate(r) for r in runs])
    np.testing.assert_array_equal(s.x, np.arange(1, 31))
    np.testing.assert_allclose(s.curves, cummins)
    np.testing.assert_allclose(s.center, np.median(cummins, axis=0))
    np.testing.assert_allclose(s.low, np.quantile(cummins, 0.25, axis=0))
    np.testing.assert_allclose(s.high, np.quantile(cummins, 0.75, axis=0))
    np.testing.assert_allclose(s.final, [r.min() for r in runs])
    assert np.all(np.diff(s.center) <= 0)


def test_summary_sd_and_minmax_for_maximisation():
    runs = _runs(1)
    cummaxes = np.array([np.maximum.accumulate(r) for r in runs])
    sd = search.summarize_best_so_far(runs, direction="maximize", band="sd")
    np.testing.assert_allclose(sd.center, cummaxes.mean(axis=0))
    np.testing.assert_allclose(sd.high - sd.center, cummaxes.std(axis=0))
    mm = search.summarize_best_so_far(runs, direction="maximize", band="minmax")
    np.testing.assert_allclose(mm.low, cummaxes.min(axis=0))
    np.testing.assert_allclose(mm.high, cummaxes.max(axis=0))
    none = search.summarize_best_so_far(runs, direction="maximize", band=None)
    assert none.low is None and none.high is None


def test_summary_shorter_runs_keep_their_final_best():
    s = search.summarize_best_so_far([[3.0, 1.0], [4.0, 2.0, 0.0]], band=None)
    np.testing.assert_array_equal(s.curves, [[3.0, 1.0, 1.0], [4.0, 2.0, 0.0]])
    np.testing.assert_array_equal(s.center, [3.5, 1.5, 0.5])


def test_summary_on_per_run_wall_times_is_a_step_function_in_completion_order():
    values = [[5.0, 1.0, 3.0], [2.0, 4.0]]
    # run 0's trials finished out of order (parallel workers): trial 1 (value 1) came last
    seconds = [[1.0, 4.0, 2.0], [1.5, 3.0]]
    s = search.summarize_best_so_far(values, x=seconds, band="minmax")
    np.testing.assert_array_equal(s.x, [1.0, 1.5, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(s.curves[0], [5.0, 5.0, 3.0, 3.0, 1.0])
    np.testing.assert_array_equal(s.curves[1], [np.nan, 2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(s.center, [5.0, 3.5, 2.5, 2.5, 1.5])  # run 1 is left out before it starts
    np.testing.assert_array_equal(s.low, [5.0, 2.0, 2.0, 2.0, 1.0])


def test_summary_rejects_mismatched_input():
    with pytest.raises(ValueError, match="one x per trial"):
        search.summarize_best_so_far([[1.0, 2.0, 3.0]], x=[0.0, 1.0])
    with pytest.raises(ValueError, match="one x per trial"):
        search.summarize_best_so_far([[1.0, 2.0], [1.0, 2.0]], x=[[0.0, 1.0], [0.0]])
    with pytest.raises(ValueError, match="band"):
        search.summarize_best_so_far([[1.0]], band="ci")
    with pytest.raises(ValueError, match="non-empty"):
        search.summarize_best_so_far([])


def test_band_plot_draws_the_median_line_and_the_quartile_band_per_method():
    curves = {"random": _runs(2), "grid": _runs(3, n_runs=4)}
    ax = search.plot_best_so_far_bands(curves, direction="minimize", band="iqr")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"random", "grid"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "grid"]
    for name, runs in curves.items():
        cummins = np.array([np.minimum.accumulate(r) for r in runs])
        # one point per trial, plus the last value held for one more step so it is visible
        np.testing.assert_allclose(lines[name].get_ydata()[:-1], np.median(cummins, axis=0))
        np.testing.assert_allclose(lines[name].get_xdata(), np.arange(1, 32))
        assert lines[name].get_ydata()[-1] == lines[name].get_ydata()[-2]
    bands = ax.collections
    assert len(bands) == 2
    for band, runs in zip(bands, curves.values(), strict=True):
        cummins = np.array([np.minimum.accumulate(r) for r in runs])
        ys = band.get_paths()[0].vertices[:, 1]
        expected = np.concatenate([np.quantile(cummins, 0.25, axis=0), np.quantile(cummins, 0.75, axis=0)])
        assert ys.min() == pytest.approx(expected.min()) and ys.max() == pytest.approx(expected.max())
        assert np.all(np.isin(np.round(ys, 12), np.round(expected, 12)))
    assert "4 runs" not in ax.get_title() and "vary" in ax.get_title()


def test_band_plot_options_show_runs_log_scale_no_band_and_wall_time_x():
    runs = [np.abs(r) + 0.1 for r in _runs(4, n_runs=3)]
    ax = search.plot_best_so_far_bands({"tpe": runs}, band=None, show_runs=True, log_y=True)
    assert len(ax.get_lines()) == 3 + 1 and len(ax.collections) == 0
    assert ax.get_yscale() == "log" and "3 runs each" in ax.get_title()
    seconds = [np.cumsum(np.full(30, 0.5 * (k + 1))) for k in range(3)]
    ax2 = search.plot_best_so_far_bands({"tpe": runs}, x={"tpe": seconds}, xlabel="wall time (s)")
    (line,) = ax2.get_lines()
    assert line.get_xdata()[-2] == pytest.approx(seconds[-1][-1]) and ax2.get_xlabel() == "wall time (s)"
    with pytest.raises(ValueError, match="empty"):
        search.plot_best_so_far_bands({})
    with pytest.raises(ValueError, match="every method"):
        search.plot_best_so_far_bands({"tpe": runs, "random": runs}, x={"tpe": seconds})


def test_search_trace_puts_each_method_points_and_a_star_on_its_best():
    grid = toys.grid_array(toys.linspace_axes(toys.BRANIN_BOUNDS, 3))
    rand = toys.uniform_points(toys.BRANIN_BOUNDS, 9, seed=0)
    ax = search.plot_search_trace(
        toys.branin, toys.BRANIN_BOUNDS, {"grid": grid, "random": rand}, resolution=50
    )
    scatters = [c for c in ax.collections if c.get_label() and not c.get_label().startswith("_")]
    by_label = {c.get_label(): c for c in scatters}
    np.testing.assert_allclose(by_label["grid (9)"].get_offsets(), grid)
    np.testing.assert_allclose(by_label["random (9)"].get_offsets(), rand)
    for name, pts in (("grid", grid), ("random", rand)):
        values = toys.branin(pts[:, 0], pts[:, 1])
        (star,) = [c for label, c in by_label.items() if label.startswith(f"best of {name}:")]
        np.testing.assert_allclose(star.get_offsets()[0], pts[np.argmin(values)])
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        search.plot_search_trace(toys.branin, toys.BRANIN_BOUNDS, np.zeros((3, 3)))


def test_marginals_mark_each_distinct_value_tried_on_each_axis():
    grid = toys.grid_array(toys.linspace_axes(toys.LOW_EFF_DIM_BOUNDS, 3))
    rand = toys.uniform_points(toys.LOW_EFF_DIM_BOUNDS, 9, seed=1)
    for pts, n_distinct in ((grid, 3), (rand, 9)):
        axes = search.plot_marginals(
            pts,
            toys.LOW_EFF_DIM_BOUNDS,
            toys.important_axis,
            toys.unimportant_axis,
            func=toys.low_effective_dim,
        )
        (curve, tried) = axes["top"].get_lines()
        assert len(tried.get_xdata()) == n_distinct
        np.testing.assert_allclose(tried.get_ydata(), toys.important_axis(tried.get_xdata()))
        (_, tried_y) = axes["right"].get_lines()
        assert len(tried_y.get_ydata()) == n_distinct
        assert axes["top"].get_title().startswith(f"{n_distinct} distinct important")
        np.testing.assert_allclose(axes["main"].collections[-1].get_offsets(), pts)


def test_trial_log_plot_shows_tries_best_so_far_and_one_panel_per_parameter():
    log = pd.DataFrame(
        {
            "learning_rate": [0.1, 0.01, 0.3, 0.05],
            "num_leaves": [31, 31, 8, 64],
            "loss": [0.2, 0.3, 0.15, 0.18],
        }
    )
    fig = search.plot_trial_log(
        log,
        score="loss",
        params=["learning_rate", "num_leaves"],
        log_params=["learning_rate"],
        ranges={"learning_rate": (1e-3, 1.0)},
    )
    score_ax, lr_ax, leaves_ax = fig.axes[:3]
    (tries, best) = score_ax.get_lines()
    np.testing.assert_array_equal(tries.get_ydata(), log["loss"])
    np.testing.assert_array_equal(best.get_ydata(), [0.2, 0.2, 0.15, 0.15])
    assert lr_ax.get_xscale() == "log" and leaves_ax.get_xscale() == "linear"
    assert lr_ax.get_xlim() == pytest.approx((1e-3, 1.0))
    np.testing.assert_allclose(leaves_ax.collections[0].get_offsets(), log[["num_leaves", "loss"]].to_numpy())
    fig_max = search.plot_trial_log(log, score="loss", direction="maximize", params=[])
    np.testing.assert_array_equal(fig_max.axes[0].get_lines()[1].get_ydata(), [0.2, 0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="no column"):
        search.plot_trial_log(log, score="accuracy")
    with pytest.raises(ValueError, match="no column"):
        search.plot_trial_log(log, score="loss", params=["max_depth"])
