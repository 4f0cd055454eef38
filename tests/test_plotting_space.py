"""Search-space plots draw what the tables say: positions in each range, the top and best trials, flags,
the bootstrap line and band, and the isolation points."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from tutorial_utils import space
from tutorial_utils.plotting.space import EDGE_COLOR, plot_bootstrap_best, plot_boundary, plot_isolation

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "x": FloatDistribution(0.0, 10.0)}
# (state, value, lr, x), maximised. lr in log space: 0.1 -> 1, 1e-2 -> 2/3, 1e-3 -> 1/3, 1e-4 -> 0.
ROWS = [
    (TrialState.COMPLETE, 0.9, 0.1, 5.0),
    (TrialState.COMPLETE, 0.8, 0.1, 0.0),
    (TrialState.COMPLETE, 0.5, 1e-3, 10.0),
    (TrialState.COMPLETE, 0.3, 1e-4, 2.5),
    (TrialState.PRUNED, None, 1e-2, 7.5),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _trials():
    trials = []
    for number, (state, value, lr, x) in enumerate(ROWS):
        t = create_trial(state=state, value=value, params={"lr": lr, "x": x}, distributions=SPACE)
        t.number = number
        trials.append(t)
    return trials


def _scatters(ax) -> dict[str, np.ndarray]:
    return {c.get_label().split(" ")[0]: np.asarray(c.get_offsets()) for c in ax.collections}


def test_plot_boundary_draws_all_top_and_best_trials_where_they_sit():
    ax = plot_boundary(_trials(), SPACE, direction="maximize", top=2)
    points = _scatters(ax)
    # lr is the top row (y = 1), x the bottom (y = 0); every trial that set a param is a dot, the pruned one too
    np.testing.assert_allclose(
        points["all"], [[1, 1], [1, 1], [1 / 3, 1], [0, 1], [2 / 3, 1], [0.5, 0], [0, 0], [1, 0], [0.25, 0], [0.75, 0]]
    )
    np.testing.assert_allclose(points["top"], [[1, 1], [1, 1], [0.5, 0], [0, 0]])
    np.testing.assert_allclose(points["best"], [[1, 1], [0.5, 0]])
    labels = {c.get_label() for c in ax.collections}
    assert {"all trials (5)", "top 2 completed", "best"} <= labels


def test_plot_boundary_labels_the_flagged_params():
    flags = space.boundary_flags(_trials(), SPACE, direction="maximize", top=2)
    assert flags["flag"].tolist() == ["high edge", ""]  # lr: both top trials at 0.1; x: best at 5
    ax = plot_boundary(_trials(), flags=flags, direction="maximize")
    texts = [(t.get_text(), t.xy) for t in ax.texts]
    assert texts == [("high edge", (1.0, 1))]
    ticks = ax.get_yticklabels()
    assert [t.get_text() for t in ticks] == ["x\n[0, 10]", "lr (log)\n[0.0001, 0.1]"]
    assert ticks[1].get_color() == EDGE_COLOR and ticks[0].get_color() != EDGE_COLOR
    assert "within 5% of an end" in ax.get_title()


def test_plot_boundary_takes_the_top_count_from_the_flags():
    flags = space.boundary_flags(_trials(), SPACE, direction="maximize", top=3)
    ax = plot_boundary(_trials(), flags=flags, direction="maximize", top=1)  # flags win: 3 per param
    assert len(_scatters(ax)["top"]) == 6


TABLE = pd.DataFrame({"n_trials": [1, 2, 4], "median": [2.0, 3.0, 3.5], "p5": [1.0, 1.5, 3.0],
                      "p95": [3.0, 3.5, 4.0]})


def test_plot_bootstrap_best_draws_the_median_and_the_band():
    ax = plot_bootstrap_best(TABLE, label="random")
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 4])
    np.testing.assert_array_equal(line.get_ydata(), [2.0, 3.0, 3.5])
    assert line.get_label() == "random"
    (band,) = ax.collections
    corners = {tuple(v) for v in band.get_paths()[0].vertices}
    assert {(1, 1.0), (2, 1.5), (4, 3.0), (1, 3.0), (2, 3.5), (4, 4.0)} <= corners
    assert band.get_label() == "5-95 % of draws"


def test_plot_bootstrap_best_of_a_computed_frame_names_its_draws():
    frame = space.bootstrap_best_so_far([1.0, 2.0, 3.0], [1, 2, 50], n_boot=500)
    ax = plot_bootstrap_best(frame, log_x=True)
    assert "500 bootstrap draws" in ax.get_title()
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="lacks column"):
        plot_bootstrap_best(TABLE.drop(columns="p95"))


def test_plot_isolation_places_names_in_table_order_with_counts():
    table = pd.DataFrame({"optimizer": ["adam", "rmsprop", "sgd"], "best_value": [0.82, 0.79, 0.75],
                          "n_trials": [3, 1, 2], "n_with_value": [2, 1, 2]})
    ax = plot_isolation(table, color="C2")
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(line.get_ydata(), [0.82, 0.79, 0.75])
    assert to_rgba(line.get_color()) == to_rgba("C2")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["adam", "rmsprop", "sgd"]
    assert [(t.get_text(), t.xy) for t in ax.texts] == [("n=3", (0, 0.82)), ("n=1", (1, 0.79)), ("n=2", (2, 0.75))]
    assert ax.get_xlabel() == "optimizer"


def test_plot_isolation_joins_numeric_values_in_their_order():
    table = pd.DataFrame({"weight_decay": [0.01, 0.0, 0.1], "best_value": [0.8, 0.7, np.nan],
                          "n_trials": [4, 5, 2], "n_with_value": [4, 5, 0]})
    ax = plot_isolation(table)
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [0.0, 0.01, 0.1])
    np.testing.assert_array_equal(line.get_ydata(), [0.7, 0.8, np.nan])
    assert [t.get_text() for t in ax.texts] == ["n=5", "n=4"]  # no label where there is no result
