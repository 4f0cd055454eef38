"""Seeding of the showdown's studies: no stream is shared, and a resumed study draws what a straight one does.

The faults these tests guard against were found in the course's committed records: the Random arm's trials
10-19 repeated the paired start-up trials 0-9 (one seeded stream fed both), GP's random start-up repeated
them too, and a resumed study replayed earlier draws (its sampler's generator restarted with the process).
"""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from tutorial_utils import prepare, seeding
from tutorial_utils.studies import StudySpec, run_study, startup_configs

TINY = {"n_epochs": 2, "batch_size": 64}
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)


@pytest.fixture(scope="module")
def tiny_faces():
    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=300, verbose=False)


def _config(trial) -> tuple:
    return tuple(sorted(trial.params.items()))


def _counted(study: optuna.Study) -> list:
    return sorted(study.get_trials(deepcopy=False, states=COUNTED), key=lambda t: t.number)


def test_streams_of_one_seed_are_independent_and_reproducible():
    assert seeding.stream_seed(0, seeding.STARTUP_STREAM) != seeding.stream_seed(0, seeding.SAMPLER_STREAM)
    assert seeding.stream_seed(0, seeding.SAMPLER_STREAM, 5) == seeding.stream_seed(0, seeding.SAMPLER_STREAM, 5)
    assert seeding.stream_seed(0, seeding.SAMPLER_STREAM, 5) != seeding.stream_seed(0, seeding.SAMPLER_STREAM, 6)
    assert startup_configs(3, 4) == startup_configs(3, 4) != startup_configs(4, 4)


@pytest.mark.slow
@pytest.mark.parametrize(("sampler", "n_trials"), [("random", 30), ("gp", 16)])
def test_a_study_tries_as_many_distinct_configurations_as_it_has_trials(tiny_faces, sampler, n_trials):
    """The old seeding gave Random 90 distinct configurations in 100 trials and GP as few as 72."""
    spec = StudySpec(sampler=sampler, seed=0, n_trials=n_trials, pruner="median", **TINY)
    study = run_study(spec, tiny_faces, None, progress=False)
    counted = _counted(study)
    assert len(counted) == n_trials
    startup = {tuple(sorted(c.items())) for c in startup_configs(0, 10)}
    later = [_config(t) for t in counted if "paired_startup" not in t.user_attrs]
    assert len({_config(t) for t in counted}) == n_trials, "a configuration was tried twice"
    assert startup.isdisjoint(later), "the arm's sampler re-drew a paired start-up configuration"
    assert [t.user_attrs["draw_index"] for t in counted] == list(range(n_trials))


def _killed_at(spec: StudySpec, data, url: str, k: int) -> optuna.Study:
    """Run ``spec`` to ``k`` counted trials, leave trial k RUNNING as a killed process would, then resume it."""
    run_study(StudySpec(**{**spec.__dict__, "n_trials": k}), data, url, progress=False)
    study = optuna.load_study(study_name=spec.name, storage=url)
    if k < 10:  # a straight run queues start-up configuration k after trial k-1; the short budget stopped first
        from tutorial_utils.studies import queue_paired_startup

        queue_paired_startup(study, spec)
    orphan = study.ask()  # never told: RUNNING until the resume marks it FAIL
    assert orphan.number == k
    return run_study(spec, data, url, progress=False)


@pytest.fixture(scope="module")
def straight_runs(tiny_faces):
    """One uninterrupted study per sampler, shared by the kill points."""
    cache: dict[str, list] = {}

    def run(spec: StudySpec) -> list:
        if spec.sampler not in cache:
            cache[spec.sampler] = _counted(run_study(spec, tiny_faces, None, progress=False))
        return cache[spec.sampler]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["random", "tpe", "gp"])
@pytest.mark.parametrize("k", [3, 12])
def test_a_study_killed_and_resumed_equals_one_run_straight_through(tiny_faces, tmp_path, straight_runs, sampler, k):
    spec = StudySpec(sampler=sampler, seed=2, n_trials=14, pruner="median", **TINY)
    straight = straight_runs(spec)
    resumed_study = _killed_at(spec, tiny_faces, f"sqlite:///{tmp_path}/killed.db", k)
    resumed = _counted(resumed_study)
    assert [t.state for t in resumed_study.trials].count(TrialState.FAIL) == 1
    assert [_config(t) for t in resumed] == [_config(t) for t in straight]
    assert [t.state for t in resumed] == [t.state for t in straight]
    assert [t.value for t in resumed] == [t.value for t in straight]
    assert [t.user_attrs.get("paired_startup") for t in resumed] == [t.user_attrs.get("paired_startup") for t in straight]


def test_a_study_stored_with_the_old_seeding_is_not_resumed_with_the_new(tiny_faces, tmp_path):
    from tutorial_utils.studies import StudyConfigError

    url = f"sqlite:///{tmp_path}/old.db"
    spec = StudySpec(sampler="random", seed=0, n_trials=2, pruner="none", **TINY)
    study = run_study(spec, tiny_faces, url, progress=False)
    study._storage.set_study_user_attr(study._study_id, "seeding", "shared-stream")  # as the old runner left it
    with pytest.raises(StudyConfigError, match="seeding: stored 'shared-stream', now 'per-draw'"):
        run_study(StudySpec(**{**spec.__dict__, "n_trials": 3}), tiny_faces, url, progress=False)
