"""Many studies at once: their running trials share one BatchedTrainer, epoch by epoch (ask-and-tell).

A sampler comparison is made of many independent studies (arms x seeds). Each study stays what it would be
alone: its own sampler, pruner and storage, and, with ``per_study=1``, strictly sequential: its next trial is
asked only after its previous one ended, so its results are distributed exactly as if it had run alone. What
changes is only how the trials are trained: the running trials of all studies sit in the slots of one
:class:`~tutorial_utils.batched.BatchedTrainer`, so an epoch of K trials costs about one epoch of tensor ops.

The loop (Optuna's ask-and-tell interface, since no single ``optimize`` call owns the training):

1. fill every free slot: ``trial = study.ask()`` for a study that may start a trial, suggest the space,
   ``trainer.set_slot(k, params, config_seed(params, seed))``; asks of different studies run in threads, so
   a slow sampler (GP, Skopt: up to about a second) does not hold the others up;
2. one ``train_epoch`` and one ``evaluate`` on the validation rows for all slots;
3. per slot: ``trial.report(accuracy, epoch)``; if ``trial.should_prune()``, ``study.tell(trial,
   state=PRUNED)``; after the last epoch, score the test rows once (for the report) and ``study.tell(trial,
   value)``; either way the slot is free again.

``per_study > 1`` runs several trials of a study at once, as parallel workers would. Then a sampler asks
while other trials of its study are still running, so it knows less than a sequential study would.

Training here is the batched trainer's: a configuration's dropout masks come from its slot's own generator,
so its scores differ from the plain trainer's (``training.fit``) for dropout > 0, though they never depend on
the other slots. Studies record ``trainer = "batched"``, and resuming one with the plain trainer is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

import optuna
from optuna.trial import TrialState

from .batched import BatchedTrainer
from .devices import synchronize
from .models import suggest_params
from .recording import n_parameters, record_ask, record_cost, record_trained, report_epoch
from .studies import (
    StudySpec,
    check_data_device,
    counted_trials,
    prepare_study,
    queue_paired_startup,
    record_study_settings,
    record_trial_phase,
)
from .training import config_seed


@dataclass
class _Running:
    study: optuna.Study
    spec: StudySpec
    trial: optuna.Trial
    params: dict
    cpu_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)


@dataclass
class _StudyState:
    spec: StudySpec
    study: optuna.Study
    running: int = 0
    wall_start: float = field(default_factory=time.perf_counter)
    cpu_s: float = 0.0


def _ask(state: _StudyState, per_study: int = 1) -> tuple[optuna.Trial, dict, float]:
    """Ask one trial of a study and suggest the whole space; record the sampler's phase and the ask time.
    Returns the trial, its params and the moment the ask began (its wall time counts from there).

    The study's next paired start-up configurations are queued first, as many as it runs trials at once.
    """
    start = time.perf_counter()
    if state.spec.paired_startup and state.spec.worker == 0:
        queue_paired_startup(state.study, state.spec, ahead=per_study)
    trial = state.study.ask()
    params = suggest_params(trial)
    seconds = time.perf_counter() - start
    record_trial_phase(trial, state.spec.sampler)
    record_ask(trial, seconds)
    return trial, params, start


def run_lockstep(
    specs: Sequence[StudySpec],
    data: Any,
    storages: Mapping[str, str | optuna.storages.BaseStorage | None],
    *,
    slots: int = 32,
    per_study: int = 1,
    device: Any = None,
    progress: bool = True,
    ask_threads: int = 4,
    overlap_asks: bool = True,
    on_epoch: Callable[[int], None] | None = None,
) -> dict[str, optuna.Study]:
    """Run (or resume) every study of ``specs`` to its budget, their trials trained together in ``slots`` slots.

    ``storages`` maps a study name to its storage (URL, storage object, or None for memory). ``on_epoch(n)``
    is called after the n-th lockstep epoch (the tests interrupt the run from it). With ``overlap_asks`` (the
    default) a slot freed at the end of an epoch starts its study's next ask at once, in a thread, and the next
    epoch trains without waiting for it; ``False`` waits for every ask before each epoch (the benchmark's
    "before"). Each study's ``lockstep`` user attr records the seconds the trainer waited on asks.
    """
    if per_study < 1:
        raise ValueError(f"per_study must be >= 1, got {per_study}")
    if not specs:
        raise ValueError("no studies to run: give at least one StudySpec")
    if len({s.name for s in specs}) != len(specs):
        raise ValueError("two specs name the same study; give each arm and seed once")
    if any(s.space != "original" for s in specs):
        raise ValueError("the batched trainer holds the original space only (widths up to 64); run other spaces "
                         "with run_study")
    check_data_device(data, device)  # the trainer runs where the data lives
    trainer = BatchedTrainer(slots, data.n_features, device=data.device, batch_size=specs[0].batch_size)
    if any(s.batch_size != trainer.batch_size or s.n_epochs != specs[0].n_epochs for s in specs):
        raise ValueError("all studies of one lockstep run share batch_size and n_epochs")
    states: list[_StudyState] = []
    for spec in (replace(s, trainer="batched") for s in specs):
        study = prepare_study(spec, data, storages.get(spec.name))
        record_study_settings(study, spec, data)
        states.append(_StudyState(spec, study))

    total = sum(s.spec.n_trials for s in states)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=sum(min(counted_trials(s.study), s.spec.n_trials) for s in states),
                   desc=f"{len(states)} studies, {slots} slots", unit="trial", dynamic_ncols=True)
    running: dict[int, _Running] = {}
    epoch_count = 0
    pool = ThreadPoolExecutor(max_workers=max(1, ask_threads))
    asker = _Asker(states, per_study, pool, overlap_asks)
    try:
        while True:
            asker.fill(trainer, running)
            if not running:
                break
            cpu0 = time.process_time()
            losses = trainer.train_epoch(data.x_train, data.y_train)
            scores = trainer.evaluate(data.x_valid, data.y_valid)
            share = (time.process_time() - cpu0) / len(running)
            finishing = [k for k, r in running.items() if trainer.slot_epochs(k) >= r.spec.n_epochs]
            tests = trainer.evaluate(data.x_test, data.y_test) if finishing else {}
            for k, r in list(running.items()):
                r.cpu_s += share
                metrics = {"loss": losses[k], **scores[k]}
                accuracy = report_epoch(r.trial, trainer.slot_epochs(k) - 1, metrics)
                if k in finishing:
                    n_params = n_parameters(r.params, data.n_features)
                    record_trained(r.trial, metrics, n_params, tests[k]["age"])  # test: report only
                    _end(trainer, states, running, k, TrialState.COMPLETE, accuracy)
                elif r.trial.should_prune():
                    _end(trainer, states, running, k, TrialState.PRUNED, None)
                else:
                    continue
                if bar is not None:
                    bar.update(1)
                    done = sum(counted_trials(s.study) >= s.spec.n_trials for s in states)
                    bar.set_postfix_str(f"running={len(running)} studies done={done}/{len(states)}")
            asker.ask_ahead(trainer, running)  # these asks run while the next epoch trains
            epoch_count += 1
            if on_epoch is not None:
                on_epoch(epoch_count)
    finally:
        asker.abandon()
        pool.shutdown(wait=True)
        for state in states:
            state.study.set_user_attr("lockstep", {"slots": slots, "per_study": per_study, "overlap_asks": overlap_asks,
                                                   "exposed_ask_s": asker.exposed_s})
            state.study.set_user_attr("wall_time_s", float(state.study.user_attrs.get("wall_time_s", 0.0))
                                      + time.perf_counter() - state.wall_start)
            state.study.set_user_attr("cpu_time_s", float(state.study.user_attrs.get("cpu_time_s", 0.0)) + state.cpu_s)
        if bar is not None:
            bar.close()
    return {s.spec.name: s.study for s in states}


def _may_start(state: _StudyState, per_study: int) -> bool:
    """Whether a study may start another trial: below its trials at once, and its budget not yet handed out."""
    if state.running >= per_study:
        return False
    return counted_trials(state.study) + state.running < state.spec.n_trials


class _Asker:
    """The asks of a lockstep run, in threads, placed in free slots as they finish.

    Round-robin over the studies that may start a trial (so the studies stay level). With ``overlap``, asks
    run while the trainer trains: a slot freed at the end of an epoch trains on without waiting, and studies
    that have no trial in a slot are asked ahead (up to one trial per slot), so a freed slot usually finds a
    trial ready. Each study stays sequential: its next trial is asked only after its previous one ended.
    ``exposed_s`` counts the seconds the trainer waited on asks: before every epoch that starts a trial when
    ``overlap`` is off, and with it on only when no slot had a trial left to train.
    """

    def __init__(self, states: list[_StudyState], per_study: int, pool: ThreadPoolExecutor, overlap: bool) -> None:
        self.states, self.per_study, self.pool, self.overlap = states, per_study, pool, overlap
        self.pending: list[tuple[_StudyState, Future]] = []
        self.exposed_s = 0.0
        self._next = 0

    def ask_ahead(self, trainer: BatchedTrainer, running: dict[int, _Running]) -> None:
        """Start asks until there is one per free slot (plus one per slot ahead, when overlapping) or no study
        may start another trial."""
        wanted = trainer.n_slots - len(running) + (trainer.n_slots if self.overlap else 0)
        idle = 0
        while len(self.pending) < wanted and idle < len(self.states):
            state = self.states[self._next % len(self.states)]
            self._next += 1
            asking = any(other is state for other, _ in self.pending)  # one ask of a study at a time: its
            if not asking and _may_start(state, self.per_study):  # start-up queue and sampler are not shared
                state.running += 1  # reserved now, so the same study is not asked twice for one trial
                self.pending.append((state, self.pool.submit(_ask, state, self.per_study)))
                idle = 0
            else:
                idle += 1

    def fill(self, trainer: BatchedTrainer, running: dict[int, _Running]) -> None:
        """Put finished asks, oldest first, in the free slots; wait for them first when nothing else would
        train (or always, without overlap)."""
        self.ask_ahead(trainer, running)
        free = [k for k in range(trainer.n_slots) if k not in running]
        if self.pending and free and (not self.overlap or not running):
            start = time.perf_counter()
            wait([future for _, future in self.pending[: len(free)]])
            self.exposed_s += time.perf_counter() - start
        for state, future in [item for item in self.pending if item[1].done()][: len(free)]:
            self.pending.remove((state, future))
            trial, params, started = future.result()
            k = free.pop(0)
            trainer.set_slot(k, params, config_seed(params, state.spec.seed))
            running[k] = _Running(state.study, state.spec, trial, params, started=started)

    def abandon(self) -> None:
        """Stop asking (an interrupted or finished run). An ask already running still creates its trial; that one
        stays RUNNING in storage, like a trial in a slot, and a resume marks both FAIL (prepare_study)."""
        for _, future in self.pending:
            future.cancel()
        self.pending.clear()


def _end(trainer: BatchedTrainer, states: list[_StudyState], running: dict[int, _Running], k: int,
         state: TrialState, value: float | None) -> None:
    r = running.pop(k)
    trainer.clear_slot(k)
    synchronize(trainer.device)
    # CPU: this trial's share of the lockstep epochs' CPU time; wall: from its ask to its end
    record_cost(r.trial, r.cpu_s, time.perf_counter() - r.started, trainer.device)
    owner = next(s for s in states if s.study is r.study)
    owner.running -= 1
    owner.cpu_s += r.cpu_s
    r.study.tell(r.trial, value if state == TrialState.COMPLETE else None, state=state)


__all__ = ["run_lockstep"]
