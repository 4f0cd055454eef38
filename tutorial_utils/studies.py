"""Run (or resume) the face-network study by sampler name: the one code path of the CLI and notebook 08.

A fair sampler comparison needs studies that differ only in the sampler and its seed. So the sampler,
pruner, storage and study name all come from small factories here, every setting that shapes the study is
stored in its user attrs, and resuming a study with different settings is refused instead of silently
mixing two experiments.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from .devices import DeviceError, device_identity, resolve_device, same_device, synchronize
from .machine import machine_info, machine_label
from .pruners import PRUNERS, PrunerConfigError, make_pruner  # noqa: F401 - PRUNERS re-exported for the CLI
from .recording import record_cost, record_setup
from .seeding import SAMPLER_STREAM, SCHEME, STARTUP_STREAM, PerDrawSampler, draw_index, stream_seed
from .storage import StorageError, make_storage

# Settings a study stored before they were recorded: what it ran with then.
LEGACY_IDENTITY = {"seeding": "shared-stream", "space": "original"}

# The showdown's arms. "skopt" is the original's SkoptSampler; "skopt-pruned" the same learning from pruned
# trials too (their last reported value); tpe and gp are Optuna 5's samplers with their defaults.
SAMPLERS = ("random", "skopt", "skopt-pruned", "tpe", "gp")
# Trials every study of a seed starts with, the same configurations in every arm (see startup_configs).
PAIRED_STARTUP_TRIALS = 10
# How many trials each sampler's model needs before it stops sampling at random, and which states it learns
# from (checked against the installed sources of Optuna 5.1: GPSampler.sample_relative counts
# COMPLETE trials; TPESampler counts COMPLETE and PRUNED; our SkoptSampler tells skopt its COMPLETE trials,
# or COMPLETE and PRUNED with consider_pruned_trials=True, and skopt's n_initial_points=10 counts them).
MODEL_STARTUP = {
    "random": (None, ()),
    "skopt": (10, ("COMPLETE",)),
    "skopt-pruned": (10, ("COMPLETE", "PRUNED")),
    "tpe": (10, ("COMPLETE", "PRUNED")),
    "gp": (10, ("COMPLETE",)),
}
COUNTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
# The original study's SkoptSampler settings (ExtraTrees surrogate, EI with xi=0.02, 10 random starts).
ORIGINAL_SKOPT_KWARGS = {"base_estimator": "ET", "n_random_starts": 10, "acq_func": "EI", "acq_func_kwargs": {"xi": 0.02}}


class StudyConfigError(ValueError):
    """A setting is unusable (unknown sampler, bad kwargs, a stored study run with other settings...)."""


__all__ = [
    "StorageError", "StudyConfigError", "StudySpec", "make_pruner", "make_sampler", "open_storage", "prepare_study", "run_study",
]


# ------------------------------------------------------------------------------------------ factories


def make_sampler(name: str, seed: int | None = 0, **overrides: Any) -> BaseSampler:
    """The sampler called ``name`` with the course's settings, ``overrides`` replacing single settings.

    skopt: the original study's SkoptSampler (``overrides`` update its ``skopt_kwargs``); skopt-pruned: the
    same with ``consider_pruned_trials=True``; random, tpe, gp: Optuna's own samplers with their defaults,
    seeded per draw (:class:`~tutorial_utils.seeding.PerDrawSampler`). A seed feeds the sampler's own stream
    (``seeding.SAMPLER_STREAM``), never the one the paired start-up configurations come from.
    """
    key = name.lower()
    if key not in SAMPLERS:
        raise StudyConfigError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    try:
        if key in ("skopt", "skopt-pruned"):
            try:
                from .samplers import SkoptSampler  # lazy: the other samplers work without scikit-optimize
            except ImportError as exc:
                raise StudyConfigError(f"the skopt sampler is unavailable ({exc}); use random, tpe or gp") from exc
            # The dynamic layers are always sampled independently; the warning says so once per param.
            return SkoptSampler(
                skopt_kwargs={**ORIGINAL_SKOPT_KWARGS, **overrides},
                seed=None if seed is None else stream_seed(seed, SAMPLER_STREAM),
                warn_independent_sampling=False,
                consider_pruned_trials=key == "skopt-pruned",
            )
        if key == "gp":
            # The deeper layers exist only in some trials; GPSampler samples them at random and would warn each time.
            overrides = {"warn_independent_sampling": False, **overrides}
        cls = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler}[key]
        if seed is None:
            return cls(**overrides)
        # Seeded afresh per draw from the arm's own stream: never the start-up's, and the same after a resume.
        return PerDrawSampler(lambda draw_seed: cls(seed=draw_seed, **overrides), seed)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, StudyConfigError):
            raise
        raise StudyConfigError(f"sampler {key!r} rejects the settings {overrides}: {exc}") from exc


def study_name(sampler: str, seed: int, prefix: str = "") -> str:
    """Predictable names (``skopt-seed0``, or ``<prefix>-skopt-seed0``) so a rerun finds and resumes its study."""
    base = f"{sampler.lower()}-seed{seed}"
    return f"{prefix}-{base}" if prefix else base


def startup_configs(seed: int, n: int = PAIRED_STARTUP_TRIALS, space: str = "original") -> list[dict[str, Any]]:
    """The ``n`` random configurations that every arm of ``seed`` starts with (a RandomSampler's draws over
    ``space``, from the start-up's own stream of ``seed``: no arm's sampler draws from it). Together with
    :func:`~tutorial_utils.training.config_seed`, arms of one seed and space start from identical trials with
    identical scores, so their difference is what their samplers did next.
    """
    from .models import SPACES

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=stream_seed(seed, STARTUP_STREAM)))
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append(SPACES[space](trial))
        study.tell(trial, 0.0)
    return configs


def sampler_phase(sampler: str, trials: list[FrozenTrial]) -> tuple[str, int]:
    """``(phase, model_trials)`` of the next trial of a sequential study whose earlier trials are ``trials``.

    ``model_trials`` counts the trials the sampler's model learns from; the phase is ``model`` once
    it has enough of them (:data:`MODEL_STARTUP`), else ``random start-up``; ``random`` for RandomSampler.
    """
    need, states = MODEL_STARTUP[sampler.lower()]
    if need is None:
        return "random", 0
    usable = sum(
        t.state.name in states and (t.state == TrialState.COMPLETE or bool(t.intermediate_values)) for t in trials
    )
    return ("model" if usable >= need else "random start-up"), usable


def open_storage(url: str | None) -> optuna.storages.BaseStorage | None:
    """Open an Optuna storage from a URL (None or "" = in memory), failing fast with a readable StorageError.

    ``sqlite:///path.db``, ``postgresql+psycopg2://user:pw@host/db`` (bounded connect timeout) or
    ``journal:path.log``. The checks live in :func:`tutorial_utils.storage.make_storage`, shared with
    notebook 11's workers.
    """
    if not url:
        return None
    return make_storage(url)


def storage_for(name: str, location: str | os.PathLike | None) -> str | None:
    """The storage URL of study ``name``: ``location`` itself when it is a URL (or None: in memory), else
    ``<location>/<name>.db`` for a folder, the runner's layout of one SQLite file per study (so parallel
    studies never wait on one file's lock)."""
    if location is None or str(location) == "":
        return None
    text = str(location)
    if "://" in text or text.startswith("journal:"):
        return text
    return f"sqlite:///{Path(text).expanduser().resolve() / f'{name}.db'}"


# ------------------------------------------------------------------------------------------ running


@dataclass
class StudySpec:
    """Everything that defines one study of the comparison (not where it is stored)."""

    sampler: str = "skopt"
    seed: int = 0
    n_trials: int = 100
    n_epochs: int = 50
    batch_size: int = 128
    pruner: str = "median"
    pruner_kwargs: dict[str, Any] = field(default_factory=dict)
    sampler_kwargs: dict[str, Any] = field(default_factory=dict)
    name_prefix: str = ""
    paired_startup: int = PAIRED_STARTUP_TRIALS  # 0: no shared start-up configurations
    trainer: str = "plain"  # "batched": trained in a lockstep run (tutorial_utils.lockstep); another experiment
    space: str = "original"  # the search space (models.SPACES): "original", or notebook 09's "designed"
    shared: bool = False  # True when several workers run this study at once (then none may fail the others' trials)
    worker: int = 0  # index of this process among workers sharing the study; not part of its identity

    @property
    def name(self) -> str:
        return study_name(self.sampler, self.seed, self.name_prefix)

    @property
    def sampler_seed(self) -> int:
        """The study's seed for worker 0; a distinct, reproducible seed for every other worker, so workers that
        share one study do not all propose the same parameters."""
        if self.worker == 0:
            return self.seed
        return int(np.random.SeedSequence([self.seed, self.worker]).generate_state(1)[0])


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward the budget: completed and pruned (failed or still-running ones do not)."""
    return len(study.get_trials(deepcopy=False, states=COUNTED_STATES))


def study_identity(spec: StudySpec, data: Any) -> dict[str, Any]:
    """The settings that define a study's experiment: resuming it with any of them changed is refused."""
    return {
        "sampler": spec.sampler.lower(),
        "sampler_kwargs": json.dumps(spec.sampler_kwargs, sort_keys=True),
        "seed": spec.seed,
        "pruner": spec.pruner.lower(),
        "pruner_kwargs": json.dumps(spec.pruner_kwargs, sort_keys=True),
        "n_epochs": spec.n_epochs,
        "batch_size": spec.batch_size,
        "image_side": int(data.image_side),
        "paired_startup": spec.paired_startup,
        "trainer": spec.trainer,
        "space": spec.space,
        "seeding": SCHEME,
        "split": json.dumps(data.sizes()),
        "data_source": Path(str(data.source)).name if not data.is_synthetic else str(data.source),
        **device_identity(data.device),  # a GPU study resumed on the CPU (or another GPU) is another experiment
    }


def _pruner_for(spec: StudySpec) -> optuna.pruners.BasePruner:
    try:
        return make_pruner(spec.pruner, n_epochs=spec.n_epochs, **spec.pruner_kwargs)
    except PrunerConfigError as exc:
        raise StudyConfigError(str(exc)) from None


def prepare_study(spec: StudySpec, data: Any, storage: str | optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """Create or load ``spec.name`` in ``storage``, refusing (StudyConfigError) a stored study run with other
    settings; then mark a killed run's trials FAIL and queue the paired start-up. Trains nothing; idempotent."""
    from .models import SPACES

    if spec.space not in SPACES:
        raise StudyConfigError(f"unknown search space {spec.space!r}; choose one of {', '.join(SPACES)}")
    pruner = _pruner_for(spec)  # validate names and settings before touching the storage
    sampler = make_sampler(spec.sampler, spec.sampler_seed, **spec.sampler_kwargs)
    if isinstance(storage, str) or storage is None:
        storage = open_storage(storage)
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction="maximize",
        load_if_exists=True,
    )
    _check_same_settings(study, study_identity(spec, data))
    if not spec.shared:
        _fail_stale_trials(study)
    if spec.paired_startup and spec.worker == 0:
        queue_paired_startup(study, spec)
    return study


def run_study(
    spec: StudySpec,
    data: Any,
    storage: str | optuna.storages.BaseStorage | None = None,
    *,
    progress: bool = True,
    timeout: float | None = None,
    device: Any = None,
) -> optuna.Study:
    """Create or resume ``spec.name`` in ``storage`` and run it until it holds ``spec.n_trials`` counted trials.

    ``data`` is a :class:`~tutorial_utils.prepare.FaceTensors`; training runs where its tensors live, so a
    ``device`` other than ``data.device`` is refused (load the data with ``device=``). ``n_trials`` is the
    study's total budget, so rerunning the same command after an interruption runs only the missing trials.
    The wall and CPU time of every run are added to the study's ``wall_time_s`` and ``cpu_time_s`` user attrs.
    """
    from .training import evaluate, make_face_objective

    check_data_device(data, device)
    study = prepare_study(spec, data, storage)
    done = counted_trials(study)
    if done >= spec.n_trials:
        if progress:
            ran_on = machine_label(study.user_attrs.get("machine", {}))
            print(f"{spec.name}: LOADED from storage, {done} counted trials (budget {spec.n_trials}), run on {ran_on}.")
        return study
    record_study_settings(study, spec, data)
    remaining = spec.n_trials - done
    if progress and done:
        print(f"{spec.name}: RESUMING, {done} counted trials (completed or pruned) in storage, running {remaining} more.")

    def score_test(model: Any) -> float:
        # Outside the objective, which never reads the test rows: recorded for the report, never selected on.
        return evaluate(model, data.x_test, data.y_test)["age"]

    objective = _recorded(
        make_face_objective(
            data, n_epochs=spec.n_epochs, batch_size=spec.batch_size, seed=spec.seed, score_test=score_test,
            space=spec.space,
        ),
        spec.sampler,
        data.device,
    )
    callbacks: list[Callable] = [MaxTrialsCallback(spec.n_trials, states=COUNTED_STATES)]
    if spec.paired_startup and spec.worker == 0:
        callbacks.append(lambda study, trial: queue_paired_startup(study, spec))
    bar = _ProgressBar(spec.name, spec.n_trials, study) if progress else None
    if bar is not None:
        callbacks.append(bar)
    start, cpu_start = time.perf_counter(), time.process_time()
    previous = float(study.user_attrs.get("wall_time_s", 0.0))
    previous_cpu = float(study.user_attrs.get("cpu_time_s", 0.0))
    try:
        study.optimize(objective, n_trials=remaining, timeout=timeout, callbacks=callbacks, gc_after_trial=False)
    finally:
        study.set_user_attr("wall_time_s", previous + time.perf_counter() - start)
        study.set_user_attr("cpu_time_s", previous_cpu + time.process_time() - cpu_start)
        if bar is not None:
            bar.close()
    return study


def queue_paired_startup(study: optuna.Study, spec: StudySpec, ahead: int = 1) -> None:
    """Queue the seed's next shared start-up configuration(s) the study has not counted yet, keeping at most
    ``ahead`` of them waiting or running (at most its budget, so a tiny study holds no trials beyond it).

    One at a time (the default, for a sequential study), so a start-up trial that failed or was killed is
    retried before the next one starts: the trials keep the order, and the draws, of a run where none failed.
    """
    trials = study.get_trials(deepcopy=False)
    paired = [t for t in trials if "paired_startup" in t.user_attrs]
    pending = {t.user_attrs["paired_startup"] for t in paired if t.state in (TrialState.WAITING, TrialState.RUNNING)}
    done = {t.user_attrs["paired_startup"] for t in paired if t.state in COUNTED_STATES}
    configs = startup_configs(spec.seed, min(spec.paired_startup, spec.n_trials), spec.space)
    for j in [j for j in range(len(configs)) if j not in done | pending][: max(0, ahead - len(pending))]:
        study.enqueue_trial(configs[j], user_attrs={"paired_startup": j})


def _fail_stale_trials(study: optuna.Study) -> None:
    """A study run by one process at a time holds no RUNNING trial at its start unless a run was killed: mark
    those FAIL (they were never finished); :func:`queue_paired_startup` then queues a failed paired
    start-up configuration again, so none is lost."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)  # a paired start-up one is queued again just after


def record_trial_phase(trial: optuna.Trial, sampler: str) -> None:
    """Store, on a trial just asked, the sampler's phase when it proposed it and the trials its model knew."""
    if "paired_startup" in trial.user_attrs:
        phase, learned = "paired start-up", 0
    else:
        earlier = [t for t in trial.study.get_trials(deepcopy=False) if t.number < trial.number]
        phase, learned = sampler_phase(sampler, earlier)
    trial.set_user_attr("sampler_phase", phase)
    trial.set_user_attr("model_trials", learned)
    trial.set_user_attr("draw_index", draw_index(trial.study, trial))


def check_data_device(data: Any, device: Any) -> None:
    """Refuse (StudyConfigError) a ``device`` that is not where ``data`` lives: training runs on the data's
    device, so another name would only mislabel the study."""
    if device is None:
        return
    try:
        wanted = resolve_device(device)
    except DeviceError as exc:
        raise StudyConfigError(str(exc)) from None
    if not same_device(wanted, data.device):
        raise StudyConfigError(
            f"device {str(device)!r} was asked for, but the data lives on {data.device}: training runs where the "
            f"data is. Load it there, e.g. load_study_data(..., device={str(wanted)!r}), or leave device out."
        )


def record_study_settings(study: optuna.Study, spec: StudySpec, data: Any) -> None:
    """Write the study's one record: its identity settings, budget, data kind and the machine that runs it.

    The setup part (sampler, seed, pruner and their settings) goes through ``recording.record_setup``, the same
    writer a notebook calls after its own ``create_study``, so both kinds of study export alike. The machine
    is the one the study started on; a resume on another machine (same kind of device, or the identity
    check would have refused it) is added to ``resumed_on``, never written over it.
    """
    setup = record_setup(
        study, sampler=spec.sampler.lower(), seed=spec.seed, pruner=spec.pruner.lower(),
        sampler_settings=spec.sampler_kwargs, pruner_settings=spec.pruner_kwargs,
    )
    for key, value in study_identity(spec, data).items():
        if key not in setup:
            study.set_user_attr(key, value)
    study.set_user_attr("n_trials_budget", spec.n_trials)
    study.set_user_attr("is_synthetic", bool(data.is_synthetic))
    machine = machine_info(data.device)
    first = study.user_attrs.get("machine")
    if not first:
        study.set_user_attr("machine", machine)
    elif machine_label(first) != machine_label(machine):
        study.set_user_attr("resumed_on", [*study.user_attrs.get("resumed_on", []), machine_label(machine)])


def _recorded(objective: Callable[[optuna.Trial], float], sampler: str, device: Any) -> Callable[[optuna.Trial], float]:
    """Record, per trial, the sampler's phase when it proposed the trial, and its CPU and wall seconds: on a busy
    shared machine wall time says little, while CPU time of a one-thread run is what it takes on an idle core;
    on a GPU, CPU time counts only the host's share, and wall time (after the GPU's queue) is the cost."""

    def recorded(trial: optuna.Trial) -> float:
        record_trial_phase(trial, sampler)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            return objective(trial)
        finally:
            synchronize(device)
            record_cost(trial, time.process_time() - cpu_start, time.perf_counter() - start, device)

    return recorded


def _check_same_settings(study: optuna.Study, identity: Mapping[str, Any]) -> None:
    stored = study.user_attrs
    if not stored or not study.get_trials(deepcopy=False):
        return
    stored = {**LEGACY_IDENTITY, **stored}
    diffs = [f"{k}: stored {stored[k]!r}, now {v!r}" for k, v in identity.items() if k in stored and stored[k] != v]
    if diffs:
        raise StudyConfigError(
            f"study {study.study_name!r} already exists with other settings ({'; '.join(diffs)}). "
            "Use another --name-prefix (or storage) for a different experiment, or the same settings to resume."
        )


class _ProgressBar:
    """A tqdm bar over the budget with the best value and the pruned count (an Optuna study callback)."""

    def __init__(self, name: str, total: int, study: optuna.Study) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=counted_trials(study), desc=name, unit="trial", dynamic_ncols=True)
        self._update(study)

    def _update(self, study: optuna.Study) -> None:
        trials = study.get_trials(deepcopy=False, states=COUNTED_STATES)
        done = [t.value for t in trials if t.state == TrialState.COMPLETE]
        pruned = sum(t.state == TrialState.PRUNED for t in trials)
        best = f"{max(done):.4f}" if done else "-"
        self._bar.set_postfix_str(f"best={best} completed={len(done)} pruned={pruned}")

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._update(study)
        if trial.state in COUNTED_STATES:
            self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


# ------------------------------------------------------------------------------------------ summaries


def load_studies(location: str | os.PathLike | optuna.storages.BaseStorage, prefix: str = "") -> list[optuna.Study]:
    """Every study named like ``study_name`` (optionally with ``prefix``), sorted by name, from a storage URL
    or from a folder of the runner's per-study SQLite files."""
    if isinstance(location, (str, os.PathLike)) and Path(location).is_dir():
        found = [s for db in sorted(Path(location).glob("*.db")) for s in load_studies(f"sqlite:///{db.resolve()}", prefix)]
        return sorted(found, key=lambda s: s.study_name)
    storage = open_storage(str(location)) if isinstance(location, (str, os.PathLike)) else location
    names = sorted(optuna.get_all_study_names(storage))
    wanted = []
    for name in names:
        if prefix and not name.startswith(f"{prefix}-"):
            continue
        sampler, _, seed = name.removeprefix(f"{prefix}-" if prefix else "").partition("-seed")
        if sampler in SAMPLERS and seed.isdigit():
            wanted.append(optuna.load_study(study_name=name, storage=storage))
    return wanted


def format_best_trial(study: optuna.Study) -> str:
    """The original notebook's printout: study statistics, then the best trial's value and params."""
    trials = study.get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    lines = [
        "Study statistics: ",
        f"  Number of finished trials:  {sum(t.state.is_finished() for t in trials)}",  # Optuna's: any end state
        f"  Number of pruned trials:  {len(pruned)}",
        f"  Number of complete trials:  {len(complete)}",
    ]
    if not complete:
        return "\n".join([*lines, "No trial completed yet."])
    best = study.best_trial
    lines += ["Best trial:", f"  Value:  {best.value}", "  Params: "]
    lines += [f"    {key}: {value}" for key, value in best.params.items()]
    return "\n".join(lines)
