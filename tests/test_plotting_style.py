"""Optuna's matplotlib plots switch the global style to ggplot; optuna_style_kept() confines that to its block."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import optuna
import pytest

from tutorial_utils.plotting import optuna_style_kept

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

WATCHED = ("axes.facecolor", "axes.grid", "axes.prop_cycle", "grid.color", "font.size")


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=5)
    return study


@pytest.fixture(autouse=True)
def _restore_rcparams():
    """Whatever a test does to the global style, the next test starts from matplotlib's defaults."""
    defaults = {key: value for key, value in matplotlib.rcParamsDefault.items() if key != "backend"}
    with matplotlib.rc_context(defaults):
        yield
    plt.close("all")


def _snapshot() -> dict:
    return {key: matplotlib.rcParams[key] for key in WATCHED}


def test_optuna_plots_change_the_global_style_without_the_helper(study):
    """The reason the helper exists: if Optuna stops calling plt.style.use, this test says so."""
    before = _snapshot()
    optuna.visualization.matplotlib.plot_optimization_history(study)
    after = _snapshot()
    assert after["axes.facecolor"] != before["axes.facecolor"]
    assert after["axes.facecolor"] == plt.style.library["ggplot"]["axes.facecolor"]


@pytest.mark.parametrize(
    "plot",
    [
        optuna.visualization.matplotlib.plot_optimization_history,
        optuna.visualization.matplotlib.plot_slice,
        optuna.visualization.matplotlib.plot_param_importances,
    ],
    ids=lambda f: f.__name__,
)
def test_the_helper_keeps_the_style_of_later_figures(study, plot):
    before = _snapshot()
    with optuna_style_kept():
        ax = plot(study)
        inside = _snapshot()
    assert inside["axes.facecolor"] != before["axes.facecolor"], "inside the block Optuna's style applies"
    assert _snapshot() == before, "after the block every watched rcParam is back"
    assert matplotlib.colors.same_color(ax.get_facecolor(), inside["axes.facecolor"]), "Optuna's figure is ggplot"
    fig, later = plt.subplots()
    assert matplotlib.colors.same_color(later.get_facecolor(), before["axes.facecolor"]), "the next one is not"
    plt.close(fig)


def test_the_helper_restores_the_style_even_when_the_plot_fails():
    before = _snapshot()
    with pytest.raises(ZeroDivisionError), optuna_style_kept():
        plt.style.use("ggplot")
        raise ZeroDivisionError
    assert _snapshot() == before
