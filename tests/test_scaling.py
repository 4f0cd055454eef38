"""Notebook 11's helpers, the workers benchmark's launcher on a journal file, and bad storage URLs.

The PostgreSQL half of these checks is in test_postgres.py. Every subprocess here has a timeout, so a
worker that hangs fails the test instead of stalling the suite.
"""

from __future__ import annotations

import math
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from conftest import ENTRY_POINTS, REPO, assert_readable_failure, run_cli
from tutorial_utils.scaling import throughput_while_all_ran, wait_for_running_trial
from tutorial_utils.storage import StorageError, make_storage, masked

sys.path.insert(0, str(REPO))  # benchmarks/ is a folder of the checkout, not part of the installed package
from benchmarks.bench_workers import measure_throughput, run_workers, worker_command  # noqa: E402

WORKER_TIMEOUT_S = 60  # generous for a 2-core machine shared with other jobs; the runs take ~2 s

# ------------------------------------------------------------------------------ throughput_while_all_ran

T0 = datetime(2026, 1, 1, 12, 0, 0)


def _trial(number: int, worker: str | None, start_s: float, end_s: float, state=TrialState.COMPLETE) -> FrozenTrial:
    return FrozenTrial(
        number=number,
        state=state,
        value=0.0 if state == TrialState.COMPLETE else None,
        values=None,
        datetime_start=T0 + timedelta(seconds=start_s),
        datetime_complete=T0 + timedelta(seconds=end_s),
        params={},
        distributions={},
        user_attrs={} if worker is None else {"worker": worker},
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )


def test_throughput_counts_only_while_every_worker_ran():
    # Worker a starts at 0 s and runs 1-s trials until 10 s; b starts late (a slow start-up) at 4 s, ends at 9 s.
    trials = [_trial(i, "a", i, i + 1) for i in range(10)] + [_trial(10 + i, "b", 4 + i, 5 + i) for i in range(5)]
    trials.append(_trial(15, "b", 9, 9.5, state=TrialState.FAIL))  # failed trials don't count
    result = throughput_while_all_ran(trials)
    # The window is 4 s .. 9 s: a's completed trials ending at 5..9 s (5), b at 5..9 s (5): 10 trials in 5 s.
    assert result == {"workers": 2, "trials": 15, "window_s": 5.0, "in_window": 10, "trials_per_min": 120.0}


def test_throughput_of_one_worker_is_its_trials_over_its_span():
    result = throughput_while_all_ran([_trial(i, "solo", 2 * i, 2 * i + 2) for i in range(6)])
    assert (result["window_s"], result["trials_per_min"]) == (12.0, 30.0)


def test_throughput_of_workers_that_never_overlapped_is_unknown_and_bad_input_is_refused():
    apart = [_trial(0, "a", 0, 1), _trial(1, "b", 5, 6)]
    assert math.isnan(throughput_while_all_ran(apart)["trials_per_min"])
    with pytest.raises(ValueError, match=r"trials \[1\] do not name their worker"):
        throughput_while_all_ran([_trial(0, "a", 0, 1), _trial(1, None, 1, 2)])
    with pytest.raises(ValueError, match="no complete trial"):
        throughput_while_all_ran([_trial(0, "a", 0, 1, state=TrialState.FAIL)])


# ------------------------------------------------------------------------------ wait_for_running_trial


@pytest.mark.timeout(120)
def test_wait_for_running_trial_returns_a_trial_with_parameters(tmp_path):
    url = f"journal:{tmp_path / 'study.log'}"  # the study does not exist yet: the victim creates it
    victim = subprocess.Popen(worker_command(url, "victim", 1, "sleep", seconds=120, seed=0), cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        number = wait_for_running_trial(url, "victim", victim, timeout=WORKER_TIMEOUT_S, settle_s=0)
        trial = optuna.load_study(study_name="victim", storage=make_storage(url)).trials[number]
        assert trial.state == TrialState.RUNNING and set(trial.params) == {"x", "y"}
    finally:
        victim.kill()
        victim.communicate(timeout=10)


def test_wait_for_running_trial_stops_when_the_worker_exits_or_time_is_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    optuna.create_study(study_name="s", storage=make_storage(url))
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait(timeout=30)
    with pytest.raises(RuntimeError, match="exited"):
        wait_for_running_trial(url, "s", exited, timeout=10)
    with pytest.raises(TimeoutError):
        wait_for_running_trial(url, "s", timeout=0.3)


# ------------------------------------------------------------------------------ the benchmark's workers


def assert_shared_study_is_whole(storage, study_name: str, reports, n_workers: int, n_trials: int) -> None:
    """N workers x M trials: exactly N*M completed trials, numbers 0..N*M-1 once each, none lost."""
    trials = optuna.load_study(study_name=study_name, storage=storage).get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(n_workers * n_trials)), f"duplicate or missing trial numbers: {numbers}"
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({r.pid for r in reports}) == n_workers, "each worker must be its own process"
    assert all(len(r.trial_numbers) == n_trials for r in reports)
    reported = sorted(n for r in reports for n in r.trial_numbers)
    assert reported == numbers, "every stored trial was run by exactly one worker"


@pytest.mark.timeout(120)
def test_journal_file_workers_share_one_study(tmp_path):
    n_workers, n_trials = 3, 4
    url = f"journal:{tmp_path / 'study.log'}"
    commands = [
        worker_command(url, "journal-demo", n_trials, "sleep", seconds=0.02, seed=seed)
        for seed in range(n_workers)
    ]
    reports = run_workers(commands, timeout=WORKER_TIMEOUT_S)
    assert_shared_study_is_whole(make_storage(url), "journal-demo", reports, n_workers, n_trials)


@pytest.mark.timeout(60)
def test_journal_study_resumes_after_all_workers_stopped(tmp_path):
    url = f"journal:{tmp_path / 'study.log'}"
    first = run_workers(
        [worker_command(url, "resume", 3, "sleep", seconds=0.01, seed=1)], timeout=WORKER_TIMEOUT_S
    )
    second = run_workers(
        [worker_command(url, "resume", 2, "sleep", seconds=0.01, seed=2)], timeout=WORKER_TIMEOUT_S
    )
    assert first[0].trial_numbers == [0, 1, 2]
    assert second[0].trial_numbers == [3, 4], "a resumed study continues numbering where it stopped"
    assert len(optuna.load_study(study_name="resume", storage=make_storage(url)).trials) == 5


@pytest.mark.timeout(120)
def test_measure_throughput_on_a_journal_file(tmp_path):
    result = measure_throughput(f"journal:{tmp_path / 'bench.log'}", "sleep", 2, 6, seconds=0.05)
    assert (result["workers"], result["trials"]) == (2, 6)
    assert result["trials_per_min"] > 0 and result["wall_s"] >= result["span_s"] > 0


# ------------------------------------------------------------------------------ bad storage URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://hpo:s3cret@127.0.0.1:port/hpo", "Malformed storage URL"),
        ("not a url at all", "Malformed storage URL"),
        ("postgres://hpo:s3cret@127.0.0.1/hpo", "write 'postgresql://'"),
        ("http://hpo:s3cret@127.0.0.1/hpo", "can't store a study"),
        ("postgresql+nosuchdriver://hpo:s3cret@127.0.0.1/hpo", "no driver"),
        ("postgresql+psycopg2://hpo:s3cret@127.0.0.1", "needs a host and a database name"),
        ("journal:/no/such/folder/study.log", "does not exist"),
    ],
)
def test_malformed_storage_url_is_a_readable_error(url, expected):
    with pytest.raises(StorageError, match=expected) as info:
        make_storage(url)
    assert "s3cret" not in str(info.value), "error messages must not leak the password"


def test_journal_has_no_heartbeat_and_retry_needs_one(tmp_path):
    with pytest.raises(StorageError, match="need an RDB storage"):
        make_storage(f"journal:{tmp_path / 'x.log'}", heartbeat_interval=1)
    with pytest.raises(StorageError, match="needs a heartbeat"):
        make_storage(f"sqlite:///{tmp_path / 'x.db'}", max_retry=1)


def test_masked_hides_the_password_even_in_unparseable_urls():
    assert (
        masked("postgresql+psycopg2://hpo:s3cret@db:5432/hpo") == "postgresql+psycopg2://hpo:***@db:5432/hpo"
    )
    assert "s3cret" not in masked("postgresql://hpo:s3cret@db:port/hpo")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_malformed_url_exits_nonzero_with_readable_error(entry):
    done, elapsed = run_cli(entry, "postgresql://hpo:s3cret@127.0.0.1:port/hpo")
    assert_readable_failure(
        done, elapsed, "Malformed storage URL", "postgresql+psycopg2://USER:PASSWORD@HOST"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_unreachable_server_refused(entry):
    done, elapsed = run_cli(entry, f"postgresql+psycopg2://hpo:s3cret@127.0.0.1:{_free_port()}/hpo")
    assert_readable_failure(done, elapsed, "nothing listens on 127.0.0.1:")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_unknown_host(entry):
    done, elapsed = run_cli(entry, "postgresql+psycopg2://hpo:s3cret@no-such-host.invalid:5432/hpo")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    # Resolvers differ: most say "not found" at once; one that stalls is cut by the worker's own deadline.
    assert "not found (DNS)" in done.stderr or "did not finish within" in done.stderr, done.stderr
    assert elapsed < 30


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_silent_host_times_out_instead_of_hanging(entry):
    """A host that accepts TCP but never answers (a firewall, a stuck server): connect_timeout must fire."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        done, elapsed = run_cli(
            entry, f"postgresql+psycopg2://hpo:s3cret@127.0.0.1:{silent.getsockname()[1]}/hpo"
        )
    assert_readable_failure(done, elapsed, "no answer from 127.0.0.1:", "timeout")


@pytest.mark.timeout(60)
def test_sqlite_write_lock_gives_database_is_locked(tmp_path):
    """Why SQLite is not for parallel workers: one writer blocks all others, who give up with 'locked'."""
    path = tmp_path / "study.db"
    make_storage(f"sqlite:///{path}")  # create the tables
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another worker in the middle of a write
    try:
        done, elapsed = run_cli("worker", f"sqlite:///{path}")
    finally:
        blocker.rollback()
        blocker.close()
    assert_readable_failure(done, elapsed, "database is locked", "use PostgreSQL or a journal file")


def test_plain_postgresql_url_without_its_driver_is_a_readable_error():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("psycopg 3 is installed, so a plain postgresql:// URL has its driver")
    with pytest.raises(StorageError, match=r"driver is missing.*postgresql\+psycopg2://") as info:
        make_storage("postgresql://hpo:secret@127.0.0.1:1/hpo")
    assert "secret" not in str(info.value)
