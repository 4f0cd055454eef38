"""Trials per minute with 1, 2 and 4 worker processes on one study, on PostgreSQL and on a journal file.

Why: notebook 11 claims that worker *processes* scale a CPU-bound study up to the number of cores and a
waiting one beyond it, and that the storage's cost per trial matters only for very short trials. This
measures it. Throughput is taken from the storage's own timestamps (first trial start to last trial end),
with the workers started together behind a file barrier, so Python start-up of the workers is left out; the
wall time including start-up is reported beside it.

    python -m benchmarks.bench_workers                   # starts a throwaway durable PostgreSQL server
    python -m benchmarks.bench_workers --pg-url URL --csv benchmarks/results/workers.csv
    python -m benchmarks.bench_workers --quick           # 1 and 2 workers, few trials: a smoke run
    python -m benchmarks.bench_workers worker --storage URL --study NAME --n-trials 20 --objective cpu

The last line is one headless toy worker, what the benchmark starts N times (the tests start it too). The
machinery lives here, not in the course package: notebook 11 shows the few lines a worker really is
(its own ``worker.py``) and reads throughput with ``tutorial_utils.scaling.throughput_while_all_ran``.

PostgreSQL: ``--pg-url``, else ``TUTORIAL_UTILS_PG_URL``, else a server started with tools/pg_test_server.py
(fsync on: the numbers include real commits). Without any, only the journal file is measured.
``run(quick)`` is the interface of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.storages import BaseStorage

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # also runnable as a plain script
    sys.path.insert(0, str(REPO))

from tutorial_utils.storage import (  # noqa: E402
    CONNECT_TIMEOUT_S,
    URL_EXAMPLES,
    StorageError,
    explain_storage_error,
    make_storage,
    masked,
)

if TYPE_CHECKING:
    import pandas as pd

FULL = {"workers": (1, 2, 4), "trials": 48, "repeats": 3, "objectives": ("cpu", "sleep")}
QUICK = {"workers": (1, 2), "trials": 8, "repeats": 1, "objectives": ("cpu",)}
COST = {"cpu": {"cpu_steps": 300_000}, "sleep": {"seconds": 0.1}}  # ~0.1 s per trial either way, unloaded


# ---------------------------------------------------------------------------------------------------------
# Toy objectives: cheap, but each with the cost profile that decides threads vs processes.


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


def make_toy_objective(
    kind: str, *, n_steps: int = 300_000, seconds: float = 0.2
) -> Callable[[optuna.Trial], float]:
    """``"cpu"`` -> cpu_bound_objective, ``"sleep"`` -> waiting_objective, with the given cost."""
    if kind == "cpu":
        return lambda trial: cpu_bound_objective(trial, n_steps)
    if kind == "sleep":
        return lambda trial: waiting_objective(trial, seconds)
    raise ValueError(f"unknown objective {kind!r}; choose 'cpu' or 'sleep'")


# ---------------------------------------------------------------------------------------------------------
# The worker the benchmark starts N times, its launcher and the measurement.


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
        sampler=optuna.samplers.TPESampler(seed=seed),  # constant_liar=True is its default in Optuna 5
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
    cmd = [python or sys.executable, "-m", "benchmarks.bench_workers", "worker", "--storage", storage_url,
           "--study", study_name, "--n-trials", str(n_trials), "--objective", objective]  # fmt: skip
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def run_workers(
    commands: Sequence[Sequence[str]], timeout: float = 300, cwd: str | None = None, together: bool = False
) -> list[WorkerReport]:
    """Start every command at once, wait for all (at most ``timeout`` s), return their reports.

    ``together=True`` holds every worker's first trial until all are ready (see ``run_worker``). Raises
    RuntimeError naming the worker and its stderr if one fails; kills the rest on a timeout. The workers
    run in the repository root (``cwd``), where ``python -m benchmarks.bench_workers`` is found.
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
                procs.append(
                    subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, cwd=cwd or str(REPO))
                )
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


def _exit_if_stuck(seconds: float, what: str) -> threading.Timer:
    """Last-resort bound on a blocking call (a DNS lookup ignores connect_timeout): print, exit 2."""

    def give_up() -> None:
        print(f"error: {what} did not finish within {seconds:.0f} s; giving up.", file=sys.stderr, flush=True)
        os._exit(2)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer


def build_worker_parser() -> argparse.ArgumentParser:
    """The headless toy worker's command line (``python -m benchmarks.bench_workers worker ...``)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_workers worker",
        description="Run trials of a toy objective against a shared Optuna study (the workers benchmark).",
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


def worker_main(argv: Sequence[str] | None = None) -> int:
    """One worker: open the storage (failing in one readable line), run its trials, print its report as JSON."""
    args = build_worker_parser().parse_args(argv)
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
    objective = make_toy_objective(args.objective, n_steps=args.cpu_steps, seconds=args.seconds)
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


# ---------------------------------------------------------------------------------------------------------
# The benchmark: journal file and PostgreSQL, 1/2/4 workers.


def _server_tool():
    spec = importlib.util.spec_from_file_location("pg_test_server", REPO / "tools" / "pg_test_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_all(storages: dict[str, str], workers, trials: int, repeats: int, objectives) -> pd.DataFrame:
    """One fresh study per (repeat, objective, storage, worker count), interleaved so load drifts hit all."""
    import pandas as pd

    rows = []
    for repeat in range(repeats):
        for objective in objectives:
            for storage, url in storages.items():
                for n in workers:
                    result = measure_throughput(url, objective, n, trials, **COST[objective])
                    row = {"storage": storage, "objective": objective, "repeat": repeat, **result}
                    rows.append(row)
                    print("  " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Median trials/min (and min-max) per storage, objective and worker count."""
    grouped = frame.groupby(["storage", "objective", "workers"])["trials_per_min"]
    out = grouped.agg(["median", "min", "max"]).round(0).reset_index()
    return out.rename(columns={"median": "trials_per_min", "min": "min", "max": "max"})


def run(quick: bool = False, pg_url: str | None = None) -> pd.DataFrame:
    """Measure journal file and PostgreSQL; return the per-configuration summary (median over repeats)."""
    plan = QUICK if quick else FULL
    pg_url = pg_url or os.environ.get("TUTORIAL_UTILS_PG_URL")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tool, server_root = None, None
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        storages = {"journal": f"journal:{Path(tmp) / 'bench.log'}"}
        try:
            if pg_url:
                storages["postgresql"] = pg_url
            else:
                tool = _server_tool()
                server_root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
                try:
                    storages["postgresql"] = tool.start(server_root, durable=True)
                except tool.ServerError as exc:
                    print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
            frame = measure_all(
                storages, plan["workers"], plan["trials"], plan["repeats"], plan["objectives"]
            )
        finally:
            if server_root is not None:
                tool.stop(server_root)
    table = summary(frame)
    table["trials"] = plan["trials"]
    table["repeats"] = plan["repeats"]
    table["cpu_count"] = os.cpu_count()
    return table


def main(argv: list[str] | None = None) -> int:
    """The benchmark, or with a first argument ``worker`` one headless worker (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        return worker_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL storage URL (default: start a throwaway one)"
    )
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers, 8 trials, one repeat")
    parser.add_argument("--csv", type=Path, default=None, help="write the summary here, stamped")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    table = run(args.quick, args.pg_url)
    wide = table.pivot_table(index=["storage", "objective"], columns="workers", values="trials_per_min")
    print(f"\nTrials per minute (median of {table['repeats'].iloc[0]}), {os.cpu_count()} cores, "
          f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after:")  # fmt: skip
    print(wide.to_string())
    if args.csv:
        from benchmarks.common import stamped

        args.csv.parent.mkdir(parents=True, exist_ok=True)
        stamped(table).assign(load_avg_1min=round(load_before, 2)).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
