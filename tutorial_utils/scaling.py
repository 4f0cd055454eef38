"""The two helpers notebook 11 (scaling out) needs beside its own worker script: a fair clock and a safe kill.

The worker itself is no helper: the notebook writes it out as ``worker.py`` (``create_study(...,
load_if_exists=True)`` plus ``study.optimize``) and starts copies of it with ``subprocess.Popen``. What is
left here is what the lesson is not about:

- ``throughput_while_all_ran``: trials per minute of several worker processes, counted only while all of them
  were running trials, from the storage's own timestamps. Workers started together still begin their first
  trial at different moments (Python start-up, opening the storage), so a clock from the first start to the
  last end would measure start-up as much as the workers.
- ``wait_for_running_trial``: wait until a worker is in the middle of a trial that Optuna can fail by its
  heartbeat, before the fault-tolerance demo kills it.

Both read the study through Optuna's public API only. The throughput benchmark with its start barrier and the
headless toy worker live in ``benchmarks/bench_workers.py``.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Sequence
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState

from .storage import make_storage

WORKER_ATTR = "worker"  # the trial user attr in which notebook 11's worker.py writes "host:pid"


def throughput_while_all_ran(trials: Sequence[FrozenTrial], key: str = WORKER_ATTR) -> dict[str, float]:
    """Trials per minute while every worker of a study was running trials, and the window that was.

    Each completed trial must name its worker in the user attr ``key``. The window runs from the moment the
    last worker started its first trial to the moment the first worker completed its last one; the rate counts
    the trials completed inside it. With one worker that is simply its trials over its span. Returns
    ``workers``, ``trials`` (complete ones), ``window_s``, ``in_window`` and ``trials_per_min`` (NaN when the
    workers never all ran at once: give them more trials each).
    """
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    unnamed = [t.number for t in completed if key not in t.user_attrs]
    if unnamed:
        raise ValueError(f"trials {unnamed} do not name their worker in the user attr {key!r}")
    if not completed:
        raise ValueError("no complete trial: nothing to measure")
    spans: dict[str, list[datetime]] = {}
    for t in completed:
        first, last = spans.setdefault(t.user_attrs[key], [t.datetime_start, t.datetime_complete])
        spans[t.user_attrs[key]] = [min(first, t.datetime_start), max(last, t.datetime_complete)]
    start = max(first for first, _ in spans.values())
    end = min(last for _, last in spans.values())
    window = (end - start).total_seconds()
    inside = sum(start < t.datetime_complete <= end for t in completed)
    rate = 60 * inside / window if window > 0 and inside else math.nan
    return {"workers": len(spans), "trials": len(completed), "window_s": round(window, 3), "in_window": inside,
            "trials_per_min": rate}  # fmt: skip


def wait_for_running_trial(
    url: str,
    study_name: str,
    worker: subprocess.Popen | None = None,
    timeout: float = 60,
    settle_s: float = 2.0,
) -> int:
    """Wait until a trial of the study is RUNNING with its parameters, then ``settle_s`` more; return its number.

    Why: Optuna fails a dead worker's trial only once its heartbeat is stale, and a trial whose worker died
    before writing its first heartbeat has none, so it would stay RUNNING forever. Optuna 5 has no public
    reader for heartbeats, so this waits by its public API instead: a worker starts the trial's heartbeat
    thread before it runs the objective (optuna/study/_optimize.py), and that thread writes its first
    heartbeat at once and then one every interval (optuna/storages/_heartbeat.py). Once the trial has
    parameters the objective runs; ``settle_s`` (give two heartbeat intervals) leaves time for the write.
    The study may not exist yet (the worker may be the one that creates it). Raises RuntimeError if
    ``worker`` exits first, TimeoutError after ``timeout`` seconds.
    """
    storage = make_storage(url)
    study = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            raise RuntimeError(f"the worker exited (code {worker.returncode}) before its trial started")
        if study is None and study_name in optuna.get_all_study_names(storage):
            study = optuna.load_study(study_name=study_name, storage=storage)
        running = [] if study is None else study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        running = [t for t in running if t.params]
        if running:
            time.sleep(settle_s)
            return running[0].number
        time.sleep(0.1)
    raise TimeoutError(f"no running trial with parameters in study {study_name!r} after {timeout} s")
