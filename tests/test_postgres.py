"""A shared study on a real PostgreSQL server: many workers, a worker killed mid-trial, resuming, bad passwords.

The server: ``TUTORIAL_UTILS_PG_URL`` if set, else a throwaway one started here with tools/pg_test_server.py
(Debian's ``postgresql`` package; .ci/run installs it). The tests skip, saying why, only when neither works,
and fail instead in CI (``CI=true``, see conftest).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from conftest import ENTRY_POINTS, REPO, assert_readable_failure, run_cli
from tutorial_utils.scaling import wait_for_running_trial
from tutorial_utils.storage import make_storage

sys.path.insert(0, str(REPO))  # benchmarks/ is a folder of the checkout, not part of the installed package
from benchmarks.bench_workers import run_workers, worker_command  # noqa: E402

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
WORKER_TIMEOUT_S = 90
HEARTBEAT_S, GRACE_S = 1, 2  # small, so a dead worker's trial goes stale within seconds


@pytest.fixture
def study_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=make_storage(url)).get_trials(deepcopy=False)


@pytest.mark.timeout(180)
def test_four_workers_share_one_postgres_study(pg_url, study_name):
    n_workers, n_trials = 4, 5
    commands = [
        worker_command(pg_url, study_name, n_trials, "sleep", seconds=0.02, seed=seed)
        for seed in range(n_workers)
    ]
    reports = run_workers(commands, timeout=WORKER_TIMEOUT_S, cwd=str(REPO))
    trials = _trials(pg_url, study_name)
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(n_workers * n_trials)), f"duplicate or missing trial numbers: {numbers}"
    assert [t.state for t in trials].count(TrialState.COMPLETE) == n_workers * n_trials
    assert len({r.pid for r in reports}) == n_workers
    assert sorted(n for r in reports for n in r.trial_numbers) == numbers, (
        "each trial run by exactly one worker"
    )
    assert len({tuple(sorted(t.params.items())) for t in trials}) == len(trials), (
        "workers must not repeat params"
    )


@pytest.mark.timeout(180)
def test_worker_killed_mid_trial_fails_by_heartbeat_and_is_retried(pg_url, study_name):
    victim = subprocess.Popen(
        worker_command(
            pg_url, study_name, 1, "sleep", seconds=120, heartbeat=HEARTBEAT_S, grace=GRACE_S, seed=0
        ),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        killed_number = wait_for_running_trial(pg_url, study_name, victim, timeout=60)
        # Kill it mid-trial, after it chose its parameters (a busy machine may not have got there yet).
        deadline = time.monotonic() + 60
        while not next(t for t in _trials(pg_url, study_name) if t.number == killed_number).params:
            assert time.monotonic() < deadline, "the worker never suggested its parameters"
            time.sleep(0.1)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
    killed = next(t for t in _trials(pg_url, study_name) if t.number == killed_number)
    assert killed.state == TrialState.RUNNING, (
        "nothing can know the worker died until the heartbeat goes stale"
    )

    time.sleep(GRACE_S + 1.5)  # the heartbeat is now older than the grace period
    rescuer = worker_command(
        pg_url, study_name, 3, "sleep", seconds=0.02, heartbeat=HEARTBEAT_S, grace=GRACE_S, retry=1, seed=1
    )
    (report,) = run_workers([rescuer], timeout=WORKER_TIMEOUT_S, cwd=str(REPO))

    trials = {t.number: t for t in _trials(pg_url, study_name)}
    assert trials[killed_number].state == TrialState.FAIL, (
        "the dead worker's trial is failed by its stale heartbeat"
    )
    retries = [
        t
        for t in trials.values()
        if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed_number
    ]
    assert len(retries) == 1, "the retry callback re-queues the killed trial exactly once"
    retry = retries[0]
    assert retry.state == TrialState.COMPLETE and retry.number in report.trial_numbers
    assert retry.params == trials[killed_number].params, "a retry re-runs the same hyperparameters"
    assert RetryHeartbeatStaleTrialCallback.retry_history(retry) == [killed_number]
    complete = [t for t in trials.values() if t.state == TrialState.COMPLETE]
    assert len(complete) == 3, "the study still reaches its planned number of completed trials"
    assert sorted(trials) == list(range(len(trials))), "no gaps or duplicates in trial numbers"


@pytest.mark.timeout(120)
def test_postgres_study_resumes_after_every_worker_stopped(pg_url, study_name):
    first = run_workers(
        [worker_command(pg_url, study_name, 3, "cpu", cpu_steps=1000, seed=s) for s in (1, 2)],
        timeout=WORKER_TIMEOUT_S,
    )
    best_before = optuna.load_study(study_name=study_name, storage=make_storage(pg_url)).best_value
    (later,) = run_workers(
        [worker_command(pg_url, study_name, 4, "cpu", cpu_steps=1000, seed=3)], timeout=WORKER_TIMEOUT_S
    )
    assert sorted(n for r in first for n in r.trial_numbers) == list(range(6))
    assert later.trial_numbers == [6, 7, 8, 9], "the resumed study continues numbering where it stopped"
    study = optuna.load_study(study_name=study_name, storage=make_storage(pg_url))
    assert len(study.trials) == 10 and study.best_value <= best_before


@pytest.mark.timeout(60)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_wrong_password_is_a_readable_error_and_nonzero_exit(pg_url, entry):
    from sqlalchemy.engine import make_url

    wrong = make_url(pg_url).set(password="s3cret").render_as_string(hide_password=False)
    done, elapsed = run_cli(entry, wrong)
    assert_readable_failure(done, elapsed, "wrong user name or password")
