"""One Optuna study, many worker processes: toy objectives and a headless toy worker (notebook 09).

A shared study lives in a storage that every worker opens by URL, through :mod:`tutorial_utils.storage`.

The worker here runs the cheap toy objectives notebook 09 uses to *measure* scaling (one CPU-bound, one that
mostly waits), started exactly like a real worker would be on another machine::

    python -m tutorial_utils.distributed --storage postgresql+psycopg2://hpo:hpo@db:5432/hpo \\
        --study scaling-demo --n-trials 20 --objective cpu

Storage URLs: any SQLAlchemy URL Optuna's ``RDBStorage`` accepts (``postgresql+psycopg2://...``,
``mysql+pymysql://...``, ``sqlite:///file.db``), or ``journal:PATH`` for Optuna's journal file storage.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage

from .storage import (  # noqa: F401 - re-exported: notebook 09 and older code import them from here
    CONNECT_TIMEOUT_S,
    JOURNAL_PREFIX,
    URL_EXAMPLES,
    StorageError,
    check_url,
    explain_storage_error,
    make_storage,
    masked,
)


def burn_cpu(n_steps: int, seed: float) -> float:
    """Pure-Python arithmetic: holds the GIL the whole time, like most hand-written Python objective code."""
    acc = seed
    for i in range(n_steps):
        acc = (acc * 1.000001 + i) % 1000.0
    return acc


def cpu_bound_objective(trial: optuna.Trial, n_steps: int = 300_000) -> float:
    """A quadratic bowl, minimum 0 at (2, -1), that first burns CPU (holding the GIL) for every trial."""
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    burn_cpu(n_steps, x)
    return (x - 2) ** 2 + (y + 1) ** 2


def waiting_objective(trial: optuna.Trial, seconds: float = 0.2) -> float:
    """The same bowl, but the trial mostly waits (I/O, a remote job, a GPU): the GIL is free meanwhile."""
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    time.sleep(seconds)
    return (x - 2) ** 2 + (y + 1) ** 2


def make_objective(
    kind: str, *, n_steps: int = 300_000, seconds: float = 0.2
) -> Callable[[optuna.Trial], float]:
    """``"cpu"`` -> cpu_bound_objective, ``"sleep"`` -> waiting_objective, with the given cost."""
    if kind == "cpu":
        return lambda trial: cpu_bound_objective(trial, n_steps)
    if kind == "sleep":
        return lambda trial: waiting_objective(trial, seconds)
    raise ValueError(f"unknown objective {kind!r}; choose 'cpu' or 'sleep'")


# ---------------------------------------------------------------------------------------------------------
# The worker: what every process on every machine runs.


@dataclass
class WorkerReport:
    """What one worker did, printed as one JSON line so a launcher can collect it."""

    pid: int
    study: str
    trial_numbers: list[int] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_worker(
    storage: BaseStorage,
    study_name: str,
    n_trials: int,
    objective: Callable[[optuna.Trial], float],
    *,
    seed: int | None = None,
    direction: str = "minimize",
    barrier: Path | None = None,
) -> WorkerReport:
    """Join (or create) the study by name and run ``n_trials`` trials in this process.

    Every worker calls ``create_study(..., load_if_exists=True)``, so whichever starts first creates the
    study and the others load it; no worker needs to know about the others. Give each worker its own seed
    (or none): equal seeds make the workers propose the same parameters. ``barrier`` (a folder) makes the
    worker say it is ready there and hold its first trial until the launcher says go, so a measurement's
    workers start together instead of one by one as each finishes importing.
    """
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction=direction,
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True),
    )
    report = WorkerReport(pid=os.getpid(), study=study_name)
    if barrier is not None:
        _wait_at_barrier(Path(barrier))

    def record(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        report.trial_numbers.append(trial.number)
        report.states.append(trial.state.name)

    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, callbacks=[record], catch=())
    report.seconds = round(time.perf_counter() - start, 3)
    return report


BARRIER_TIMEOUT_S = 120


def _wait_at_barrier(folder: Path) -> None:
    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT_S
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no 'go' in {folder} after {BARRIER_TIMEOUT_S} s")
        time.sleep(0.01)


def worker_command(
    storage_url: str,
    study_name: str,
    n_trials: int,
    objective: str = "cpu",
    *,
    python: str | None = None,
    **options: object,
) -> list[str]:
    """The command line that starts one worker; options become flags (``seed=3`` -> ``--seed 3``)."""
    cmd = [python or sys.executable, "-m", "tutorial_utils.distributed", "--storage", storage_url,
           "--study", study_name, "--n-trials", str(n_trials), "--objective", objective]  # fmt: skip
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def shell_line(cmd: Sequence[str]) -> str:
    """A command as you would type it (python resolved to plain ``python``), for showing in a notebook."""
    shown = ["python" if part == sys.executable else part for part in cmd]
    return shlex.join(shown)


def run_workers(
    commands: Sequence[Sequence[str]], timeout: float = 300, cwd: str | None = None, together: bool = False
) -> list[WorkerReport]:
    """Start every command at once, wait for all (at most ``timeout`` s), return their reports.

    ``together=True`` holds every worker's first trial until all are ready (see ``run_worker``). Raises
    RuntimeError naming the worker and its stderr if one fails; kills the rest on a timeout.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="hpo-workers-") as tmp:
        barrier = Path(tmp) / "barrier"
        barrier.mkdir()
        logs = [(Path(tmp) / f"{i}.out", Path(tmp) / f"{i}.err") for i in range(len(commands))]
        procs = []
        for cmd, (out, err) in zip(commands, logs, strict=True):
            cmd = [*cmd, "--barrier", str(barrier)] if together else list(cmd)
            with out.open("w") as stdout, err.open("w") as stderr:
                procs.append(subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, cwd=cwd))
        errors = []
        try:
            if together:
                while len(list(barrier.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
                    if any(p.poll() is not None for p in procs):
                        break  # one died before the start: report it below
                    time.sleep(0.02)
                (barrier / "go").touch()
            for proc in procs:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            errors.append(f"workers still running after {timeout} s; killed")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
        reports = []
        for i, (proc, (out, err)) in enumerate(zip(procs, logs, strict=True)):
            lines = out.read_text().strip().splitlines()
            if proc.returncode == 0 and lines:
                reports.append(WorkerReport(**json.loads(lines[-1])))
            elif not errors:
                errors.append(f"worker {i} exited {proc.returncode}: {err.read_text().strip()[-1500:]}")
    if errors:
        raise RuntimeError("; ".join(errors))
    return reports


def measure_throughput(url: str, objective: str, n_workers: int, n_trials: int, **cost: object) -> dict:
    """Run a fresh study with ``n_workers`` processes sharing ``n_trials``; return trials per minute.

    The clock runs from the first trial's start to the last trial's end, read from the storage itself, with
    all workers started together: Python start-up (seconds per process) is reported apart, as ``wall_s``.
    """
    name = f"throughput-{uuid.uuid4().hex[:10]}"
    storage = make_storage(url)
    optuna.create_study(study_name=name, storage=storage)  # once, before the workers: no creation race
    commands = [
        worker_command(url, name, n_trials // n_workers, objective, seed=i, **cost) for i in range(n_workers)
    ]
    start = time.perf_counter()
    run_workers(commands, timeout=600, together=True)
    wall = time.perf_counter() - start
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    span = (
        max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)
    ).total_seconds()
    return {"workers": n_workers, "trials": len(finished), "span_s": round(span, 2),
            "trials_per_min": round(60 * len(finished) / span, 1), "wall_s": round(wall, 2)}  # fmt: skip


HEARTBEAT_SQL = """
SELECT t.number FROM trials t
JOIN studies s ON s.study_id = t.study_id
JOIN trial_heartbeats h ON h.trial_id = t.trial_id
WHERE s.study_name = :study AND t.state = 'RUNNING'
ORDER BY t.number
"""


def wait_for_running_trial(
    url: str, study_name: str, worker: subprocess.Popen | None = None, timeout: float = 60
) -> int:
    """Wait until a trial of the study is RUNNING *and* has written a heartbeat; return its number.

    Why the heartbeat: a trial whose worker dies before its first heartbeat has none, and Optuna never
    fails such a trial as stale. A demo or test that kills a worker must wait for it, not guess a sleep.
    Optuna has no public reader for heartbeats, hence the SQL on its (stable since v2.x) tables. Raises
    RuntimeError if ``worker`` exits first, TimeoutError after ``timeout`` seconds.
    """
    from sqlalchemy import text

    storage = make_storage(url)
    if not isinstance(storage, RDBStorage):
        raise StorageError(f"{url!r} is not an RDB storage: only those record heartbeats")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            raise RuntimeError(f"the worker exited (code {worker.returncode}) before its trial started")
        with storage.engine.connect() as connection:
            numbers = [row[0] for row in connection.execute(text(HEARTBEAT_SQL), {"study": study_name})]
        if numbers:
            return numbers[0]
        time.sleep(0.1)
    raise TimeoutError(f"no running trial with a heartbeat in study {study_name!r} after {timeout} s")


def _exit_if_stuck(seconds: float, what: str) -> threading.Timer:
    """Last-resort bound on a blocking call (a DNS lookup ignores connect_timeout): print, exit 2."""

    def give_up() -> None:
        print(f"error: {what} did not finish within {seconds:.0f} s; giving up.", file=sys.stderr, flush=True)
        os._exit(2)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_utils.distributed",
        description="Run trials of a toy objective against a shared Optuna study (course notebook 09).",
    )
    parser.add_argument("--storage", required=True, help=f"storage URL, e.g. {URL_EXAMPLES}")
    parser.add_argument("--study", required=True, help="study name; every worker of one study uses the same")
    parser.add_argument("--n-trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--objective", choices=["cpu", "sleep"], default="cpu")
    parser.add_argument("--cpu-steps", type=int, default=300_000, help="work per trial for --objective cpu")
    parser.add_argument("--seconds", type=float, default=0.2, help="wait per trial for --objective sleep")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (give each worker its own)")
    parser.add_argument("--heartbeat", type=int, default=None, help="heartbeat interval in s (RDB storages)")
    parser.add_argument(
        "--grace", type=int, default=None, help="s without heartbeat before a trial is failed"
    )
    parser.add_argument("--retry", type=int, default=None, help="re-run a dead worker's trial up to N times")
    parser.add_argument(
        "--barrier", type=Path, default=None, help="folder to wait in until a 'go' file appears"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.n_trials < 1:
        print("error: --n-trials must be at least 1", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timer = _exit_if_stuck(4 * CONNECT_TIMEOUT_S, f"opening storage {masked(args.storage)!r}")
    try:
        storage = make_storage(
            args.storage, heartbeat_interval=args.heartbeat, grace_period=args.grace, max_retry=args.retry
        )
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        timer.cancel()
    objective = make_objective(args.objective, n_steps=args.cpu_steps, seconds=args.seconds)
    from sqlalchemy.exc import DBAPIError

    try:
        report = run_worker(
            storage, args.study, args.n_trials, objective, seed=args.seed, barrier=args.barrier
        )
    except (DBAPIError, optuna.exceptions.StorageInternalError) as exc:
        cause = exc if isinstance(exc, DBAPIError) else (exc.__cause__ or exc)
        print(f"error: {explain_storage_error(args.storage, cause, doing='write to')}", file=sys.stderr)
        return 3
    print(json.dumps(asdict(report)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
