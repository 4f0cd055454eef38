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


# Three runs of four trials, minimising. Their best-so-far curves, worked out by hand:
#   [4, 2, 3, 1] -> [4, 2, 2, 1];  [3, 5, 1, 2] -> [3, 3, 1, 1];  [6, 4, 4, 0] -> [6, 4, 4, 0]
# Per trial the sorted values are [3, 4, 6], [2, 3, 4], [1, 2, 4], [0, 1, 1]: the median is the middle one, and
# the 25 % / 75 % quantiles of three sorted values a <= b <= c are (a + b) / 2 and (b + c) / 2 (linear rule).
MIN_RUNS = [[4.0, 2.0, 3.0, 1.0], [3.0, 5.0, 1.0, 2.0], [6.0, 4.0, 4.0, 0.0]]
MIN_CURVES = [[4.0, 2.0, 2.0, 1.0], [3.0, 3.0, 1.0, 1.0], [6.0, 4.0, 4.0, 0.0]]
MIN_MEDIAN = [4.0, 3.0, 2.0, 1.0]
MIN_Q25 = [3.5, 2.5, 1.5, 0.5]
MIN_Q75 = [5.0, 3.5, 3.0, 1.0]


def test_summary_iqr_is_median_and_quartiles_of_the_best_so_far_curves():
    s = search.summarize_best_so_far(MIN_RUNS, direction="minimize", band="iqr")
    np.testing.assert_array_equal(s.x, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(s.curves, MIN_CURVES)
    np.testing.assert_array_equal(s.center, MIN_MEDIAN)
    np.testing.assert_allclose(s.low, MIN_Q25)
    np.testing.assert_allclose(s.high, MIN_Q75)
    np.testing.assert_array_equal(s.final, [1.0, 1.0, 0.0])
    assert s.band == "iqr"


def test_summary_sd_and_minmax_for_maximisation():
    # [1, 3, 2] -> [1, 3, 3] and [2, 2, 5] -> [2, 2, 5]: means 1.5, 2.5, 4; with two runs the (population)
    # standard deviation is half their distance: 0.5, 0.5, 1.
    runs = [[1.0, 3.0, 2.0], [2.0, 2.0, 5.0]]
    sd = search.summarize_best_so_far(runs, direction="maximize", band="sd")
    np.testing.assert_array_equal(sd.curves, [[1.0, 3.0, 3.0], [2.0, 2.0, 5.0]])
    np.testing.assert_allclose(sd.center, [1.5, 2.5, 4.0])
    np.testing.assert_allclose(sd.low, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(sd.high, [2.0, 3.0, 5.0])
    mm = search.summarize_best_so_far(runs, direction="maximize", band="minmax")
    np.testing.assert_allclose(mm.center, [1.5, 2.5, 4.0])  # the median of two values is their mean
    np.testing.assert_array_equal(mm.low, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mm.high, [2.0, 3.0, 5.0])
    np.testing.assert_array_equal(mm.final, [3.0, 5.0])
    none = search.summarize_best_so_far(runs, direction="maximize", band=None)
    assert none.low is None and none.high is None
    np.testing.assert_allclose(none.center, [1.5, 2.5, 4.0])


def test_summary_pruned_trials_keep_the_previous_best_and_are_left_out_before_a_first_value():
    # [nan, 2, 1] -> [nan, 2, 1] and [3, nan, 4] -> [3, 3, 3]; the first column has one value only.
    s = search.summarize_best_so_far([[np.nan, 2.0, 1.0], [3.0, np.nan, 4.0]], band="minmax")
    np.testing.assert_array_equal(s.curves, [[np.nan, 2.0, 1.0], [3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(s.center, [3.0, 2.5, 2.0])
    np.testing.assert_array_equal(s.low, [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(s.high, [3.0, 3.0, 3.0])


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
    # "grid": two runs, [5, 1] -> [5, 1] and [3, 3] -> [3, 3]: median 4, 2; quartiles 3.5, 1.5 and 4.5, 2.5.
    curves = {"random": MIN_RUNS, "grid": [[5.0, 1.0], [3.0, 3.0]]}
    ax = search.plot_best_so_far_bands(curves, direction="minimize", band="iqr")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"random", "grid"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "grid"]
    # One point per trial, plus the last value held for one more trial so the last step is visible.
    np.testing.assert_array_equal(lines["random"].get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(lines["random"].get_ydata(), [4.0, 3.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(lines["grid"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["grid"].get_ydata(), [4.0, 2.0, 2.0])
    bands = ax.collections
    assert len(bands) == 2
    expected = {"random": {*MIN_Q25, *MIN_Q75}, "grid": {3.5, 1.5, 4.5, 2.5}}
    for band, name in zip(bands, curves, strict=True):
        ys = band.get_paths()[0].vertices[:, 1]
        assert set(np.round(ys, 12)) == expected[name], name
    assert "runs per method vary" in ax.get_title() and "median, 25-75 %" in ax.get_title()


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
