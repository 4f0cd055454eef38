"""Search-space diagnostics give known answers on hand-built trials: boundary flags, widened ranges, coverage,
the bootstrap "have we sampled enough?" and the isolation table."""

from __future__ import annotations

import json
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from scipy.stats import qmc

from tutorial_utils import space

optuna.logging.set_verbosity(optuna.logging.WARNING)

LR = FloatDistribution(1e-4, 1e-1, log=True)  # three decades: within 5 % of the high end is lr >= 10**-1.15 = 0.0708
X = FloatDistribution(0.0, 10.0)  # within 5 % of an end: x <= 0.5 or x >= 9.5
BATCH = IntDistribution(16, 256, log=True)  # log2 from 4 to 8: within 5 % of the low end is batch <= 2**4.2 = 18.4
Y = FloatDistribution(0.0, 1.0)
OPT = CategoricalDistribution(["adam", "sgd", "rmsprop"])
SPACE = {"lr": LR, "x": X, "batch": BATCH, "y": Y, "opt": OPT}

# (value, lr, x, batch, y, opt), maximised; the top 4 are the first four rows.
ROWS = [
    (0.95, 0.1, 5.0, 16, 0.0, "adam"),  # best: lr at the high end (position 1), x inside, batch at the low end, y at 0
    (0.90, 0.08, 4.0, 16, 0.5, "adam"),  # lr: log10 0.08 = -1.097, position 0.968: near the high end
    (0.85, 0.075, 9.8, 128, 0.5, "sgd"),  # lr position 0.958: near; x 9.8 near the high end
    (0.80, 0.01, 6.0, 17, 0.5, "adam"),  # lr position 2/3; batch 17: log2 = 4.09, position 0.022: near the low end
    (0.70, 0.001, 0.2, 64, 0.0, "sgd"),
    (0.60, 1e-4, 0.1, 256, 0.0, "sgd"),
    (0.50, 0.1, 9.9, 32, 1.0, "adam"),
    (0.40, 3e-4, 3.0, 100, 1.0, "sgd"),
]


def _trials(sign: float = 1.0) -> list[optuna.trial.FrozenTrial]:
    """The rows as completed trials (values times ``sign``), plus a pruned and a failed trial at lr's high end."""
    trials = []
    for number, (value, lr, x, batch, y, opt) in enumerate(ROWS):
        t = create_trial(value=sign * value, params={"lr": lr, "x": x, "batch": batch, "y": y, "opt": opt},
                         distributions=SPACE)
        t.number = number
        trials.append(t)
    for number, state in ((8, TrialState.PRUNED), (9, TrialState.FAIL)):
        t = create_trial(state=state, params={"lr": 0.1, "x": 0.0, "batch": 256, "y": 0.0, "opt": "rmsprop"},
                         distributions=SPACE)
        t.number = number
        trials.append(t)
    return trials


def _row(frame: pd.DataFrame, param: str) -> pd.Series:
    return frame.set_index("param").loc[param]


# ------------------------------------------------------------------------------------------- boundaries


def test_boundary_flags_lr_at_the_high_end_x_inside():
    flags = space.boundary_flags(_trials(), SPACE, direction="maximize", top=4)
    assert list(flags["param"]) == ["lr", "x", "batch", "y"]  # the categorical opt is skipped
    lr = _row(flags, "lr")
    assert lr["flag"] == "high edge"
    assert (lr["low"], lr["high"], lr["log"], lr["best_value"]) == (1e-4, 0.1, True, 0.1)
    assert lr["best_position"] == pytest.approx(1.0)
    assert lr["n_top"] == 4
    assert (lr["share_near_low"], lr["share_near_high"]) == (0.0, 0.75)  # 0.1, 0.08, 0.075 of the top 4
    x = _row(flags, "x")
    assert x["flag"] == ""
    assert (x["best_value"], x["best_position"]) == (5.0, 0.5)
    assert (x["share_near_low"], x["share_near_high"]) == (0.0, 0.25)  # only 9.8 of 5, 4, 9.8, 6
    batch = _row(flags, "batch")  # an int log range: 16, 16 and 17 of the top 4 sit within 5 % of the low end
    assert (batch["flag"], batch["share_near_low"], batch["share_near_high"]) == ("low edge", 0.75, 0.0)
    y = _row(flags, "y")  # the best sits at 0 but alone: one lucky trial is no flag
    assert (y["flag"], y["best_position"], y["share_near_low"]) == ("", 0.0, 0.25)


def test_a_crowd_at_an_end_without_the_best_is_no_flag_and_crowd_sets_the_share():
    # y: top 8 are 0, .5, .5, .5, 0, 0, 1, 1 -> 3/8 near low; with crowd 3/8 the best at 0 is flagged
    flags = space.boundary_flags(_trials(), SPACE, direction="maximize", top=8)
    assert _row(flags, "y")["share_near_low"] == 3 / 8
    assert _row(flags, "y")["flag"] == ""
    assert _row(space.boundary_flags(_trials(), SPACE, "maximize", top=8, crowd=3 / 8), "y")["flag"] == "low edge"
    # x over all 8: near low 0.2, 0.1; near high 9.8, 9.9 -> 2/8 each; the best (5) inside
    x = _row(flags, "x")
    assert (x["share_near_low"], x["share_near_high"], x["flag"]) == (0.25, 0.25, "")
    # top 1 of lr: the best alone is all the top trials -> share 1, flagged
    assert _row(space.boundary_flags(_trials(), SPACE, "maximize", top=1), "lr")["share_near_high"] == 1.0


def test_minimize_mirrors_maximize_and_a_study_brings_its_direction():
    expected = space.boundary_flags(_trials(), SPACE, direction="maximize", top=4)
    mirrored = space.boundary_flags(_trials(sign=-1.0), SPACE, direction="minimize", top=4)
    pd.testing.assert_frame_equal(mirrored, expected)
    study = optuna.create_study(direction="minimize")
    study.add_trials(_trials(sign=-1.0))
    pd.testing.assert_frame_equal(space.boundary_flags(study, top=4), expected)  # distributions: the trials'
    with pytest.raises(ValueError, match="is to minimize"):
        space.boundary_flags(study, direction="maximize")


def test_top_as_a_share_rounds_up():
    flags = space.boundary_flags(_trials(), SPACE, direction="maximize", top=0.3)  # ceil(0.3 * 8) = 3
    assert _row(flags, "lr")["n_top"] == 3
    assert _row(flags, "lr")["share_near_high"] == 1.0


def test_boundary_flags_errors_name_the_problem():
    pruned = [t for t in _trials() if t.state != TrialState.COMPLETE]
    with pytest.raises(ValueError, match="none of the 2 trials completed"):
        space.boundary_flags(pruned, SPACE, direction="maximize")
    with pytest.raises(ValueError, match="give direction"):
        space.boundary_flags(_trials(), SPACE)
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        space.boundary_flags(_trials(), SPACE, direction="max")
    with pytest.raises(ValueError, match=r"no completed trial sets 'wd'"):
        space.boundary_flags(_trials(), {**SPACE, "wd": FloatDistribution(0, 1)}, direction="maximize")
    with pytest.raises(ValueError, match=r"lr=0.1 is outside its range \[0.0001, 0.01\]"):
        space.boundary_flags(_trials(), {"lr": FloatDistribution(1e-4, 1e-2, log=True)}, direction="maximize")
    with pytest.raises(ValueError, match="edge must be in"):
        space.boundary_flags(_trials(), SPACE, direction="maximize", edge=0.5)
    with pytest.raises(ValueError, match="top must be"):
        space.boundary_flags(_trials(), SPACE, direction="maximize", top=0)


def test_choice_shares_of_the_top_trials():
    shares = space.choice_shares(_trials(), "opt", direction="maximize", top=4)
    assert shares["choice"].tolist() == ["adam", "sgd", "rmsprop"]  # the distribution's order
    assert shares["n_completed"].tolist() == [4, 4, 0]  # the pruned rmsprop trial has no value
    assert shares["share_top"].tolist() == [0.75, 0.25, 0.0]
    assert shares["best"].tolist() == [True, False, False]


# ----------------------------------------------------------------------------------------------- widen


def test_widen_log_moves_the_end_by_the_factor():
    assert space.widen(LR, "high", factor=10) == FloatDistribution(1e-4, 1.0, log=True)
    assert space.widen(LR, "low edge", factor=10) == FloatDistribution(1e-5, 0.1, log=True)
    assert space.widen(LR, "high edge", factor=10, limits=(None, 0.5)) == FloatDistribution(1e-4, 0.5, log=True)
    assert space.widen(BATCH, "high") == IntDistribution(16, 512, log=True)
    assert space.widen(BATCH, "low", factor=4) == IntDistribution(4, 256, log=True)
    assert space.widen(IntDistribution(3, 8, log=True), "low", factor=4) == IntDistribution(1, 8, log=True)


def test_widen_linear_extends_by_factor_minus_one_widths_within_limits():
    share = FloatDistribution(0.0, 0.5)
    assert space.widen(share, "high", factor=2) == FloatDistribution(0.0, 1.0)
    assert space.widen(share, "high", factor=3) == FloatDistribution(0.0, 1.5)
    assert space.widen(share, "high", factor=3, limits=(0.0, 1.0)) == FloatDistribution(0.0, 1.0)
    assert space.widen(FloatDistribution(0.2, 0.6), "low", factor=1.5, limits=(0.1, 1)) == FloatDistribution(0.1, 0.6)
    with pytest.warns(UserWarning, match="at its limit"):
        assert space.widen(share, "low", factor=2, limits=(0.0, 1.0)) == share


def test_widen_keeps_the_old_grid_of_a_stepped_range():
    stepped = IntDistribution(0, 10, step=2)  # +5 -> 15, rounded out to the grid: 16; -5 -> -6
    assert space.widen(stepped, "high", factor=1.5) == IntDistribution(0, 16, step=2)
    assert space.widen(stepped, "low", factor=1.5) == IntDistribution(-6, 10, step=2)
    assert space.widen(stepped, "high", factor=1.5, limits=(0, 15)) == IntDistribution(0, 14, step=2)
    quarter = FloatDistribution(0.0, 1.0, step=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna warns when high is off the grid: it must not be
        assert space.widen(quarter, "high", factor=1.6) == FloatDistribution(0.0, 1.75, step=0.25)
        assert space.widen(FloatDistribution(0.1, 0.4, step=0.1), "high") == FloatDistribution(0.1, 0.7, step=0.1)


def test_widen_rejects_what_cannot_widen():
    with pytest.raises(ValueError, match="side must be"):
        space.widen(X, "up")
    with pytest.raises(ValueError, match="factor must be above 1"):
        space.widen(X, "high", factor=1.0)
    with pytest.raises(ValueError, match="only float and int"):
        space.widen(OPT, "high")


# -------------------------------------------------------------------------------------------- coverage


def test_unit_cube_places_trials_in_their_own_scale():
    a = create_trial(value=1.0, params={"lr": 1e-3, "x": 2.5, "opt": "adam"},
                     distributions={"lr": LR, "x": X, "opt": OPT})
    b = create_trial(state=TrialState.PRUNED, params={"lr": 1e-2, "x": 10.0}, distributions={"lr": LR, "x": X})
    c = create_trial(value=0.0, params={"lr": 1e-2}, distributions={"lr": LR})  # lacks x: left out
    for number, t in enumerate((a, b, c)):
        t.number = number
    cube = space.unit_cube([c, b, a], {"lr": LR, "x": X, "opt": OPT})
    np.testing.assert_allclose(cube, [[1 / 3, 0.25], [2 / 3, 1.0]])  # trial order; the pruned one counts
    np.testing.assert_allclose(space.unit_cube([a, b, c], {"x": X}), [[0.25], [1.0]])


def test_a_regular_grid_covers_better_than_a_clump():
    centres = (np.arange(8) + 0.5) / 8
    grid = np.array([(u, v) for u in centres for v in centres])
    clump = grid * 0.1  # the same 64 points squeezed into the corner [0, 0.1]^2
    random = np.random.default_rng(0).random((64, 2))
    assert space.coverage(grid) < space.coverage(random) < space.coverage(clump)


def test_sobol_covers_better_than_random_at_64_points():
    wins = sum(
        space.coverage(qmc.Sobol(2, scramble=True, seed=s).random(64))
        < space.coverage(np.random.default_rng(s).random((64, 2)))
        for s in range(10)
    )
    assert wins >= 10  # observed: 10 of 10 seeds (also in 3 and 5 dimensions)


def test_coverage_rejects_a_flat_array():
    with pytest.raises(ValueError, match=r"\(n, d\) array"):
        space.coverage(np.array([0.1, 0.2]))


# ---------------------------------------------------------------------------------- sampled enough?


def test_bootstrap_best_of_one_two_three():
    # n = 1: the best is one uniform draw from {1, 2, 3}: P(<= 1) = 1/3, P(<= 2) = 2/3 -> p5 1, median 2, p95 3.
    # n = 2: P(best = 1) = 1/9, P(best = 3) = 5/9 -> p5 1, median 3. n = 50: P(best < 3) = (2/3)**50 ~ 2e-9.
    frame = space.bootstrap_best_so_far([1.0, 2.0, 3.0], [1, 2, 50], n_boot=4000, seed=1)
    assert frame["n_trials"].tolist() == [1, 2, 50]
    assert frame["median"].tolist() == [2.0, 3.0, 3.0]
    assert frame["p5"].tolist() == [1.0, 1.0, 3.0]
    assert frame["p95"].tolist() == [3.0, 3.0, 3.0]
    assert frame["share_no_value"].tolist() == [0.0, 0.0, 0.0]
    assert frame.attrs == {"n_boot": 4000, "direction": "maximize", "n_values": 3}


def test_bootstrap_quantiles_are_bests_some_draw_reached():
    # two draws of one trial from {0, 10}: an interpolating quantile would report 5 when they differ
    for seed in range(5):
        frame = space.bootstrap_best_so_far([0.0, 10.0], [1], n_boot=2, seed=seed)
        assert set(frame.iloc[0][["median", "p5", "p95"]]) <= {0.0, 10.0}


def test_bootstrap_minimize_mirrors():
    frame = space.bootstrap_best_so_far([1.0, 2.0, 3.0], [1, 2, 50], n_boot=4000, seed=1, direction="minimize")
    assert frame["median"].tolist() == [2.0, 1.0, 1.0]
    assert frame["p5"].tolist() == [1.0, 1.0, 1.0]
    assert frame["p95"].tolist() == [3.0, 3.0, 1.0]  # n = 2: P(best = 3) = 1/9 > 5 %


def test_bootstrap_nans_are_spent_never_best():
    values = [1.0, np.nan, np.nan, np.nan]  # three pruned trials for each completed one
    # n = 1: 3/4 of the draws have no value and rank worst: the median and the worse percentile fall among them
    # (NaN), the better percentile is the one value (p95 when maximising, p5 when minimising).
    for direction, worse, better in (("maximize", "p5", "p95"), ("minimize", "p95", "p5")):
        frame = space.bootstrap_best_so_far(values, [1, 50], n_boot=4000, seed=2, direction=direction)
        assert frame["share_no_value"].iloc[0] == pytest.approx(0.75, abs=0.03)
        assert np.isnan(frame["median"].iloc[0]) and np.isnan(frame[worse].iloc[0])
        assert frame[better].iloc[0] == 1.0
        # n = 50: P(no value) = 0.75**50 ~ 6e-7: the one value is always the best, never NaN
        assert frame.iloc[1][["median", "p5", "p95", "share_no_value"]].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_bootstrap_errors():
    with pytest.raises(ValueError, match="all NaN"):
        space.bootstrap_best_so_far([np.nan, np.nan], [1])
    with pytest.raises(ValueError, match="at least 1 trial"):
        space.bootstrap_best_so_far([1.0], [0, 1])
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        space.bootstrap_best_so_far([1.0], [1], direction="up")


# ------------------------------------------------------------------------------------------- isolation

FRAME = pd.DataFrame({
    "number": range(7),
    "state": ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"],
    "value": [0.70, 0.82, np.nan, 0.75, 0.60, 0.79, np.nan],
    "params_optimizer": ["adam", "adam", "adam", "sgd", "sgd", "rmsprop", "lamb"],
})


def test_isolation_best_per_optimizer_with_counts():
    table = space.isolation(FRAME, "optimizer")
    assert table["optimizer"].tolist() == ["adam", "rmsprop", "sgd", "lamb"]
    assert table["best_value"].tolist()[:3] == [0.82, 0.79, 0.75]
    assert np.isnan(table["best_value"].iloc[3])  # only a pruned trial: no result, last
    assert table["n_trials"].tolist() == [3, 1, 2, 1]
    assert table["n_with_value"].tolist() == [2, 1, 2, 0]


def test_isolation_minimize_and_records_params_json():
    records = FRAME.drop(columns="params_optimizer").assign(
        params=[json.dumps({"optimizer": o, "lr": 0.1}) for o in FRAME["params_optimizer"]]
    )
    table = space.isolation(records, "optimizer", direction="minimize")
    assert table["optimizer"].tolist() == ["sgd", "adam", "rmsprop", "lamb"]
    assert table["best_value"].tolist()[:3] == [0.60, 0.70, 0.79]
    with pytest.raises(ValueError, match="no column 'momentum'"):
        space.isolation(FRAME, "momentum")
