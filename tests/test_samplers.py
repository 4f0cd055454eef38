"""SkoptSampler: conversions, resuming, dynamic spaces, directions, pruning, errors, seeds and quality."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)
from optuna.trial import TrialState, create_trial
from skopt.learning import ExtraTreesRegressor, GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern

from tutorial_utils.samplers import (
    QuantileGBRTRegressor,
    SkoptSampler,
    from_skopt_value,
    to_skopt_dimension,
    to_skopt_value,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

# The original study's settings (face-net study, SkoptSampler with an ExtraTrees surrogate).
ORIGINAL_KWARGS = {
    "base_estimator": "ET",
    "n_random_starts": 10,
    "acq_func": "EI",
    "acq_func_kwargs": {"xi": 0.02},
}
# A small, quick surrogate for the tests that check bookkeeping rather than search quality.
QUICK = {
    "base_estimator": ExtraTreesRegressor(n_estimators=20, min_samples_leaf=3),
    "n_initial_points": 4,
    "acq_func": "EI",
    "acq_optimizer_kwargs": {"n_points": 500},
}


def quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    return (x - 2.5) ** 2 + 3 * (y + 1.5) ** 2


def branin(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 10)
    y = trial.suggest_float("y", 0, 15)
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


# ---------------------------------------------------------------------------------------------- #
# Distribution conversions
# ---------------------------------------------------------------------------------------------- #


def _odd_step() -> FloatDistribution:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna's note that it moves high onto the grid
        return FloatDistribution(0.1, 0.95, step=0.25)


DISTRIBUTIONS = {
    "float": FloatDistribution(-2.0, 3.0),
    "float_log": FloatDistribution(1e-5, 1e-1, log=True),
    "float_step": FloatDistribution(0.0, 1.0, step=0.1),
    "float_odd_step": _odd_step(),  # Optuna snaps high to 0.85
    "int": IntDistribution(4, 8),
    "int_log": IntDistribution(1, 1024, log=True),
    "int_step": IntDistribution(8, 64, step=8),
    "categorical_mixed": CategoricalDistribution(["Adam", None, 3, 2.5, True]),
    "categorical_binary": CategoricalDistribution([False, True]),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_every_skopt_point_maps_to_a_value_the_distribution_contains(name):
    dist = DISTRIBUTIONS[name]
    dim = to_skopt_dimension(dist)
    for point in dim.rvs(n_samples=300, random_state=0):
        value = from_skopt_value(dist, point)
        assert dist._contains(dist.to_internal_repr(value)), f"{name}: {point} -> {value} is outside {dist}"
        assert to_skopt_value(dist, value) == point, f"{name}: {point} -> {value} does not map back"


def optuna_random_values(dist, n=50):
    """Values Optuna's own RandomSampler draws for ``dist`` (so step values carry Optuna's float noise)."""
    study = optuna.create_study()
    frozen = study._storage.get_trial(study.ask()._trial_id)
    sampler = optuna.samplers.RandomSampler(seed=1)
    return [sampler.sample_independent(study, frozen, "p", dist) for _ in range(n)]


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_every_value_of_the_distribution_round_trips(name):
    dist = DISTRIBUTIONS[name]
    dim = to_skopt_dimension(dist)
    for value in optuna_random_values(dist):
        point = to_skopt_value(dist, value)
        assert point in dim, f"{name}: {value} maps to {point}, outside {dim}"
        back = from_skopt_value(dist, point)
        if isinstance(dist, FloatDistribution):
            assert back == pytest.approx(value, rel=1e-12, abs=1e-12)
        else:
            assert back == value and type(back) is type(value)


def test_step_grids_cover_every_value_and_only_those():
    step = FloatDistribution(0.0, 1.0, step=0.1)
    grid = sorted({from_skopt_value(step, k) for k in range(to_skopt_dimension(step).high + 1)})
    assert grid == pytest.approx([i / 10 for i in range(11)])
    int_step = IntDistribution(8, 64, step=8)
    dim = to_skopt_dimension(int_step)
    assert [from_skopt_value(int_step, k) for k in range(dim.low, dim.high + 1)] == list(range(8, 65, 8))


def test_log_scales_are_searched_on_a_log_axis():
    for dist in (DISTRIBUTIONS["float_log"], DISTRIBUTIONS["int_log"]):
        assert to_skopt_dimension(dist).prior == "log-uniform"
    # A log-uniform draw over 1e-5..1e-1 has its median near 1e-3; a uniform one near 5e-2.
    values = [
        from_skopt_value(DISTRIBUTIONS["float_log"], p)
        for p in to_skopt_dimension(DISTRIBUTIONS["float_log"]).rvs(n_samples=2000, random_state=0)
    ]
    assert 3e-4 < np.median(values) < 3e-3


def test_categorical_choices_come_back_as_the_same_objects():
    dist = DISTRIBUTIONS["categorical_mixed"]
    back = [from_skopt_value(dist, to_skopt_value(dist, c)) for c in dist.choices]
    assert back == list(dist.choices)
    assert back[1] is None and back[4] is True and type(back[2]) is int


def test_single_value_distributions_are_left_out_of_the_relative_space():
    def objective(trial):
        trial.suggest_float("fixed", 1.0, 1.0)
        trial.suggest_categorical("only", ["one"])
        return trial.suggest_float("x", 0, 1)

    sampler = SkoptSampler(skopt_kwargs=QUICK, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    space = sampler.infer_relative_search_space(study, study.trials[-1])
    assert list(space) == ["x"]
    with pytest.raises(ValueError, match="single value"):
        to_skopt_dimension(FloatDistribution(1.0, 1.0))


# ---------------------------------------------------------------------------------------------- #
# Constructor
# ---------------------------------------------------------------------------------------------- #


def test_n_random_starts_is_an_alias_of_n_initial_points():
    def run(kwargs):
        study = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=kwargs, seed=4))
        study.optimize(quadratic, n_trials=5)
        return [t.params for t in study.trials]

    alias = run({"base_estimator": "ET", "n_random_starts": 3})
    assert alias == run({"base_estimator": "ET", "n_initial_points": 3})
    later_model = run({"base_estimator": "ET", "n_initial_points": 10})
    assert alias[:3] == later_model[:3]  # the random starts come from the same per-trial seeds
    assert alias[3] != later_model[3]  # with 3 random starts the surrogate proposes trial 3
    with pytest.raises(ValueError, match="same setting"):
        SkoptSampler(skopt_kwargs={"n_random_starts": 3, "n_initial_points": 5})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"acq_func": "NOPE"}, "acq_func"),
        ({"base_estimator": "XGB"}, "unknown base_estimator"),
        ({"base_estimator": "DUMMY"}, "RandomSampler"),
        ({"dimensions": [(0, 1)]}, "dimensions"),
        ({"base_estimator": "GBRT", "acq_optimizer": "lbfgs"}, "sampling"),
    ],
)
def test_bad_settings_fail_when_the_sampler_is_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SkoptSampler(skopt_kwargs=kwargs)


def test_skopts_own_gbrt_instance_gets_an_error_naming_the_cause():
    from skopt.learning import GradientBoostingQuantileRegressor

    with pytest.raises(ValueError, match=r"scikit-learn >= 1\.6.*'GBRT'"):
        SkoptSampler(skopt_kwargs={"base_estimator": GradientBoostingQuantileRegressor()})


# ---------------------------------------------------------------------------------------------- #
# Studies
# ---------------------------------------------------------------------------------------------- #


def test_gbrt_surrogate_fits_and_drives_a_study():
    x = np.linspace(0, 1, 40)[:, None]
    model = QuantileGBRTRegressor(random_state=0).fit(x, np.sin(6 * x[:, 0]))
    mean, std = model.predict(x, return_std=True)
    assert np.abs(mean - np.sin(6 * x[:, 0])).mean() < 0.2 and std.shape == mean.shape and (std >= 0).all()
    study = optuna.create_study(
        sampler=SkoptSampler(skopt_kwargs={"base_estimator": "GBRT", "n_initial_points": 5}, seed=0)
    )
    study.optimize(quadratic, n_trials=12)
    assert len(study.trials) == 12 and study.best_value < quadratic(
        optuna.trial.FixedTrial({"x": 10.0, "y": 10.0})
    )


def test_a_study_resumed_from_sqlite_continues_exactly_like_an_uninterrupted_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    uninterrupted = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=QUICK, seed=7))
    uninterrupted.optimize(quadratic, n_trials=12)

    first = optuna.create_study(storage=url, study_name="s", sampler=SkoptSampler(skopt_kwargs=QUICK, seed=7))
    first.optimize(quadratic, n_trials=7)
    del first  # a new process: a fresh sampler that only knows what the database holds
    resumed = optuna.load_study(storage=url, study_name="s", sampler=SkoptSampler(skopt_kwargs=QUICK, seed=7))
    resumed.optimize(quadratic, n_trials=5)

    assert [t.params for t in resumed.trials] == [t.params for t in uninterrupted.trials]


def test_two_workers_on_one_study_share_its_history():
    """Samplers in two workers (same seed) alternate on one study: same trials as a single worker."""
    single = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=QUICK, seed=2))
    single.optimize(quadratic, n_trials=10)
    storage = optuna.storages.InMemoryStorage()
    study_a = optuna.create_study(
        storage=storage, study_name="w", sampler=SkoptSampler(skopt_kwargs=QUICK, seed=2)
    )
    study_b = optuna.load_study(
        storage=storage, study_name="w", sampler=SkoptSampler(skopt_kwargs=QUICK, seed=2)
    )
    for i in range(10):
        (study_a if i % 2 else study_b).optimize(quadratic, n_trials=1)
    assert [t.params for t in study_a.trials] == [t.params for t in single.trials]


def face_net_space(trial: optuna.Trial) -> float:
    """The face-net study's dynamic search space, with a cheap synthetic score in place of training."""
    n_layers = trial.suggest_int("num_fc_layers", 4, 8)
    score = 0.0
    for i in range(n_layers):
        score += abs(trial.suggest_int(f"fc_output_feat_{i}", 8, 64) - 40) / 64
        score += trial.suggest_float(f"fc_dropout_{i}", 0.0, 0.5)
    score += abs(trial.suggest_int("last_fc", 8, 64) - 16) / 64
    optimizer = trial.suggest_categorical("optimizer", ["Adam", "Adadelta", "RMSprop", "SGD", "MADGRAD"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    return score + (math.log10(lr) + 3) ** 2 + (optimizer != "Adam")


class RecordingSampler(optuna.samplers.RandomSampler):
    """A RandomSampler that records which parameters it was asked for, per trial."""

    def __init__(self):
        super().__init__(seed=0)
        self.asked: dict[int, list[str]] = {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        self.asked.setdefault(trial.number, []).append(param_name)
        return super().sample_independent(study, trial, param_name, param_distribution)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_face_net_dynamic_space_only_optional_layers_fall_back_and_warn_once():
    recorder = RecordingSampler()
    sampler = SkoptSampler(independent_sampler=recorder, skopt_kwargs=ORIGINAL_KWARGS, seed=0)
    study = optuna.create_study(sampler=sampler)
    records = _Records()  # the sampler logs through optuna.logging, as Optuna's samplers do
    logging.getLogger("optuna").addHandler(records)
    try:
        study.optimize(face_net_space, n_trials=25)
    finally:
        logging.getLogger("optuna").removeHandler(records)

    expected = {"num_fc_layers", "last_fc", "optimizer", "lr"}
    expected |= {f"fc_output_feat_{i}" for i in range(4)} | {f"fc_dropout_{i}" for i in range(4)}
    assert set(sampler.infer_relative_search_space(study, study.trials[-1])) == expected
    assert set(recorder.asked[0]) == set(study.trials[0].params)  # startup: all parameters are independent
    for number in range(12, 25):
        optional = {f"fc_{k}_{i}" for k in ("output_feat", "dropout") for i in range(4, 8)}
        assert set(recorder.asked.get(number, [])) <= optional, (
            f"trial {number}: {recorder.asked.get(number)}"
        )
    warned = [m.split("'")[1] for m in records.messages if "SkoptSampler: parameter" in m]
    assert warned and len(warned) == len(set(warned)), f"expected one warning per parameter, got {warned}"
    assert set(warned) <= {f"fc_{k}_{i}" for k in ("output_feat", "dropout") for i in range(4, 8)}
    for trial in study.trials:
        assert trial.state == TrialState.COMPLETE
        assert all(
            8 <= trial.params[f"fc_output_feat_{i}"] <= 64 for i in range(trial.params["num_fc_layers"])
        )
        assert "fc_output_feat_7" not in trial.params or trial.params["num_fc_layers"] == 8


def test_maximize_sees_the_mirror_image_of_minimize():
    def negated(trial):
        return -quadratic(trial)

    minimized = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=QUICK, seed=5))
    minimized.optimize(quadratic, n_trials=15)
    maximized = optuna.create_study(direction="maximize", sampler=SkoptSampler(skopt_kwargs=QUICK, seed=5))
    maximized.optimize(negated, n_trials=15)
    assert [t.params for t in maximized.trials] == [t.params for t in minimized.trials]
    assert maximized.best_value == -minimized.best_value


def test_pruned_trials_count_with_their_last_reported_value_only_when_asked():
    dist = {"x": FloatDistribution(-10, 10)}
    study = optuna.create_study()
    for x in np.linspace(-9, 9, 10):
        # The first report points at -5, the last (what counts) at +2.
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                params={"x": float(x)},
                distributions=dist,
                intermediate_values={0: (x + 5) ** 2, 3: (x - 2) ** 2},
            )
        )
    study.add_trial(
        create_trial(state=TrialState.PRUNED, params={"x": 0.0}, distributions=dist)
    )  # no reports
    kwargs = {"base_estimator": "GP", "acq_func": "EI", "n_initial_points": 5}

    counting = SkoptSampler(skopt_kwargs=kwargs, consider_pruned_trials=True, seed=0)
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    space = counting.infer_relative_search_space(study, frozen)
    assert space == dist
    proposal = counting.sample_relative(study, frozen, space)["x"]
    assert abs(proposal - 2) < 1.5, f"proposed {proposal}; the last reports put the minimum at 2"

    ignoring = SkoptSampler(skopt_kwargs=kwargs, seed=0)
    assert ignoring.infer_relative_search_space(study, frozen) == {}  # no complete trial yet: startup


def test_infinite_results_do_not_break_the_model():
    def sometimes_infinite(trial):
        value = quadratic(trial)
        return math.inf if value > 150 else value

    study = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=QUICK, seed=0))
    study.optimize(sometimes_infinite, n_trials=10)
    assert all(t.state == TrialState.COMPLETE for t in study.trials) and study.best_value < 150


def test_multi_objective_studies_get_a_clear_error():
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=SkoptSampler())
    with pytest.raises(ValueError, match="single objective.*NSGAIISampler"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


def test_a_fixed_seed_reproduces_a_sequential_study_and_another_seed_does_not():
    def params(seed):
        study = optuna.create_study(sampler=SkoptSampler(skopt_kwargs=ORIGINAL_KWARGS, seed=seed))
        study.optimize(face_net_space, n_trials=13)
        return [t.params for t in study.trials]

    first, again, other = params(11), params(11), params(12)
    assert first == again
    assert first != other


# ---------------------------------------------------------------------------------------------- #
# Quality: the surrogate must earn its cost.
# ---------------------------------------------------------------------------------------------- #


def _mean_best(make_sampler, objective, n_trials=30, seeds=range(5)) -> float:
    bests = []
    for seed in seeds:
        study = optuna.create_study(sampler=make_sampler(seed))
        study.optimize(objective, n_trials=n_trials)
        bests.append(study.best_value)
    return float(np.mean(bests))


# The quality test's "ET version": ExtraTrees with leaves of one sample. skopt's "ET" (leaves of >= 3
# samples, the original study's setting) averages 30 points into a few flat boxes and, on this function at
# this budget, does *not* beat random search on average (20 seeds: see notebook 04 and the lead's report).
ET_LEAF1 = {
    "base_estimator": ExtraTreesRegressor(n_estimators=50, min_samples_leaf=1),
    "n_random_starts": 10,
    "acq_func": "EI",
    "acq_func_kwargs": {"xi": 0.02},
    "acq_optimizer_kwargs": {"n_points": 2000},
}
# skopt's GP ("GP" builds the same kernel) with one kernel fit instead of three, and EI maximized by sampling.
GP_EI = {
    "base_estimator": GaussianProcessRegressor(
        kernel=ConstantKernel(1.0, (0.01, 1000.0))
        * Matern(length_scale=[1.0, 1.0], length_scale_bounds=(0.01, 100), nu=2.5),
        normalize_y=True,
        noise="gaussian",
        n_restarts_optimizer=0,
    ),
    "n_random_starts": 10,
    "acq_func": "EI",
    "acq_optimizer": "sampling",
    "acq_optimizer_kwargs": {"n_points": 2000},
}


@pytest.mark.slow
def test_gp_and_et_beat_random_search_on_a_2d_function():
    random = _mean_best(lambda s: optuna.samplers.RandomSampler(seed=s), quadratic)
    gp = _mean_best(lambda s: SkoptSampler(skopt_kwargs=GP_EI, seed=s), quadratic)
    et = _mean_best(lambda s: SkoptSampler(skopt_kwargs=ET_LEAF1, seed=s), quadratic)
    assert gp < random, f"GP mean best {gp:.3f} is not below random's {random:.3f}"
    assert et < random, f"ET mean best {et:.3f} is not below random's {random:.3f}"


# ---------------------------------------------------------------------------------------------- #
# The script behind notebook 04's closing note
# ---------------------------------------------------------------------------------------------- #


def test_sampler_quality_script_reports_each_samplers_mean_and_sd_over_seeds(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    from conftest import REPO

    csv = tmp_path / "runs.csv"
    cmd = [sys.executable, "-m", "benchmarks.sampler_quality", "--function", "quadratic", "--trials", "4"]
    cmd += ["--seeds", "3", "--first-seed", "1", "--samplers", "Random", "TPE", "--csv", str(csv)]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout

    runs = pd.read_csv(csv)
    assert sorted(runs.seed.unique()) == [1, 2, 3] and set(runs.sampler) == {"Random", "TPE"}
    for seed in (1, 2, 3):  # each row is the study that sampler and seed really produce
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(
            lambda t: (t.suggest_float("x", -10, 10) - 2) ** 2 + (t.suggest_float("y", -10, 10) - 2) ** 2,
            n_trials=4,
        )
        assert runs[(runs.sampler == "Random") & (runs.seed == seed)].best.item() == pytest.approx(
            study.best_value
        )
    random_best = runs[runs.sampler == "Random"].best
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("Random"))
    assert f"mean {random_best.mean():9.4f} ± {random_best.std():8.4f}" in line


# ---------------------------------------------------------------------------------------------- #
# Optuna's own test cases for third-party samplers, against the course's import of the sampler (the
# package's tests/ run them against optunahub's copy, in more configurations).
# ---------------------------------------------------------------------------------------------- #

@pytest.mark.slow
class TestOptunasSamplerCases(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self):
        # The showdown's settings with two start-up points, so the cases reach the surrogate.
        kwargs = {**ORIGINAL_KWARGS, "n_random_starts": 2, "acq_optimizer_kwargs": {"n_points": 300}}
        return lambda: SkoptSampler(skopt_kwargs=kwargs, seed=0)
