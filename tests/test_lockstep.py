"""Many studies in lockstep: each one exactly as if it ran alone, resumable, and refusing bad input."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from tutorial_utils import prepare
from tutorial_utils.lockstep import run_lockstep
from tutorial_utils.studies import StudyConfigError, StudySpec, run_study

TINY = {"n_epochs": 3, "batch_size": 64, "n_trials": 13}


@pytest.fixture(scope="module")
def tiny_faces():
    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=500, verbose=False)


def _trace(study: optuna.Study) -> list[tuple]:
    return [(t.number, t.state, t.params, t.value, dict(t.intermediate_values))
            for t in sorted(study.trials, key=lambda t: t.number)]


@pytest.mark.parametrize("sampler", ["random", "skopt"])
def test_lockstep_studies_equal_the_same_studies_run_one_by_one(tiny_faces, sampler):
    specs = [StudySpec(sampler=sampler, seed=seed, **TINY) for seed in (0, 1, 2)]
    together = run_lockstep(specs, tiny_faces, {}, slots=4, progress=False)
    for spec in specs:
        alone = run_lockstep([spec], tiny_faces, {}, slots=1, progress=False)[spec.name]
        assert _trace(together[spec.name]) == _trace(alone), spec.name
    states = {t.state for s in together.values() for t in s.trials}
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states  # the pruner really acted


def test_a_study_is_sequential_unless_asked_otherwise(tiny_faces):
    spec = StudySpec(sampler="random", seed=4, **{**TINY, "n_trials": 6})
    one = run_lockstep([spec], tiny_faces, {}, slots=4, progress=False)[spec.name]
    trials = sorted(one.trials, key=lambda t: t.number)
    assert all(a.datetime_complete <= b.datetime_start for a, b in zip(trials, trials[1:], strict=False))
    two = run_lockstep([StudySpec(sampler="random", seed=4, name_prefix="w2", **{**TINY, "n_trials": 6})],
                       tiny_faces, {}, slots=4, per_study=2, progress=False)
    trials = sorted(next(iter(two.values())).trials, key=lambda t: t.number)
    assert trials[1].datetime_start < trials[0].datetime_complete  # two trials of one study ran at once


def test_completed_trials_carry_phase_test_score_and_cpu_share(tiny_faces):
    spec = StudySpec(sampler="tpe", seed=0, **TINY)
    study = run_lockstep([spec], tiny_faces, {}, slots=2, progress=False)[spec.name]
    for t in study.trials:
        assert t.user_attrs["sampler_phase"] in ("paired start-up", "random start-up", "model")
        assert t.user_attrs["cpu_time_s"] > 0 and t.user_attrs["ask_seconds"] >= 0
        assert ("test_age_accuracy" in t.user_attrs) == (t.state == TrialState.COMPLETE)
    assert study.user_attrs["trainer"] == "batched" and study.user_attrs["cpu_time_s"] > 0


def test_an_interrupted_lockstep_run_resumes_every_study_losing_and_repeating_nothing(tiny_faces, tmp_path):
    specs = [StudySpec(sampler=s, seed=0, **TINY) for s in ("random", "skopt")]
    storages = {s.name: f"sqlite:///{tmp_path / s.name}.db" for s in specs}

    def interrupt(epoch: int) -> None:
        if epoch == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_lockstep(specs, tiny_faces, storages, slots=2, progress=False, on_epoch=interrupt)
    left = {s.name: optuna.load_study(study_name=s.name, storage=storages[s.name]) for s in specs}
    running = {n: [t.number for t in st.trials if t.state == TrialState.RUNNING] for n, st in left.items()}
    assert all(len(r) == 1 for r in running.values()), running  # one trial of each was cut off

    done = run_lockstep(specs, tiny_faces, storages, slots=2, progress=False)
    for spec in specs:
        trials = sorted(done[spec.name].trials, key=lambda t: t.number)
        assert [t.number for t in trials] == list(range(len(trials)))
        counted = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        assert len(counted) == spec.n_trials
        assert [t.number for t in trials if t.state == TrialState.FAIL] == running[spec.name]
        startup = sorted(t.user_attrs["paired_startup"] for t in counted if "paired_startup" in t.user_attrs)
        assert startup == list(range(10))  # every shared start-up configuration exactly once


def test_bad_input_is_a_clear_error(tiny_faces):
    spec = StudySpec(sampler="random", seed=0, **TINY)
    with pytest.raises(ValueError, match="n_slots must be an integer >= 1"):
        run_lockstep([spec], tiny_faces, {}, slots=0, progress=False)
    with pytest.raises(ValueError, match="per_study must be >= 1"):
        run_lockstep([spec], tiny_faces, {}, per_study=0, progress=False)
    with pytest.raises(ValueError, match="same study"):
        run_lockstep([spec, spec], tiny_faces, {}, progress=False)
    with pytest.raises((ValueError, RuntimeError), match="cuda"):
        run_lockstep([spec], tiny_faces, {}, device="cuda:7", progress=False)


def test_a_lockstep_study_is_not_resumed_by_the_plain_trainer(tiny_faces, tmp_path):
    spec = StudySpec(sampler="random", seed=0, **{**TINY, "n_trials": 2})
    url = f"sqlite:///{tmp_path}/s.db"
    run_lockstep([spec], tiny_faces, {spec.name: url}, slots=1, progress=False)
    with pytest.raises(StudyConfigError, match="trainer: stored 'batched', now 'plain'"):
        run_study(StudySpec(sampler="random", seed=0, **{**TINY, "n_trials": 3}), tiny_faces, url, progress=False)


def test_asks_overlap_training_without_changing_any_study(tiny_faces, monkeypatch):
    """Asks run while the other slots train: the studies are the same trial for trial, and the trainer waits
    less on slow samplers. Here each ask takes 0.2 s more and each epoch 0.1 s more, as on the real faces a GP
    or Skopt ask takes about a second and a 16-slot epoch about two."""
    import time

    from tutorial_utils import lockstep

    real_ask, real_epoch = lockstep._ask, lockstep.BatchedTrainer.train_epoch

    def slow_ask(*args, **kwargs):
        time.sleep(0.2)
        return real_ask(*args, **kwargs)

    def slow_epoch(self, *args, **kwargs):
        time.sleep(0.1)
        return real_epoch(self, *args, **kwargs)

    monkeypatch.setattr(lockstep, "_ask", slow_ask)
    monkeypatch.setattr(lockstep.BatchedTrainer, "train_epoch", slow_epoch)
    specs = [StudySpec(sampler="random", seed=seed, **{**TINY, "n_trials": 4}) for seed in range(6)]
    runs = {overlap: run_lockstep(specs, tiny_faces, {}, slots=2, overlap_asks=overlap, progress=False)
            for overlap in (False, True)}
    for spec in specs:
        assert _trace(runs[True][spec.name]) == _trace(runs[False][spec.name]), spec.name
    exposed = {overlap: runs[overlap][specs[0].name].user_attrs["lockstep"]["exposed_ask_s"] for overlap in runs}
    # Waiting for every ask: at least one 0.2 s round per two trials started (two slots, asks in threads).
    assert exposed[False] >= 0.2 * 24 / 2
    assert exposed[True] < exposed[False] / 2


def test_two_trials_at_once_still_queue_each_start_up_configuration_once(tiny_faces):
    """With per_study=2 a study's asks never run at once: two would both queue the same paired start-up
    configurations, leaving duplicates and extra waiting trials (a bug the GPU check's dry run caught)."""
    spec = StudySpec(sampler="skopt", seed=0, name_prefix="two", **{**TINY, "n_trials": 4, "n_epochs": 2})
    study = run_lockstep([spec], tiny_faces, {}, slots=2, per_study=2, progress=False)[spec.name]
    assert len(study.trials) == 4 and all(t.state.is_finished() for t in study.trials)
    paired = sorted(t.user_attrs["paired_startup"] for t in study.trials if "paired_startup" in t.user_attrs)
    assert paired == [0, 1, 2, 3]
