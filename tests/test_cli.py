"""``python -m tutorial_utils``: argument errors exit non-zero with one readable line; a tiny study runs end to
end on synthetic faces and resumes into the same study."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
import torch

from conftest import REPO
from tutorial_utils.cli import EXIT_RUNTIME, EXIT_USAGE, main

TINY = ["--data", "synthetic", "--synthetic-rows", "300", "--image-side", "12", "--epochs", "2", "--quiet"]


def _fails(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["run", "--sampler", "cmaes"], EXIT_USAGE, "invalid choice: 'cmaes'"),
        (["run", "--pruner", "asha"], EXIT_USAGE, "invalid choice: 'asha'"),
        (["run", "--n-trials", "0"], EXIT_USAGE, "--n-trials: must be at least 1, got 0"),
        (["run", "--epochs", "ten"], EXIT_USAGE, "--epochs: 'ten' is not a whole number"),
        (["run", "--sampler-kwargs", "{n_startup_trials: 3}"], EXIT_USAGE, "--sampler-kwargs is not valid JSON"),
        (["run", "--sampler", "tpe", "--sampler-kwargs", '{"n_startup": 3}'], EXIT_USAGE, "'tpe' rejects the settings"),
        ([], EXIT_USAGE, "required: command"),
        (["run", "--device", "gpu0"], EXIT_USAGE, "--device gpu0: 'gpu0' is not a device name"),
    ],
)
def test_bad_arguments_exit_with_a_readable_message(argv, code, message, capsys):
    exit_code, err = _fails(argv, capsys)
    assert exit_code == code
    assert message in err
    assert "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_a_readable_error(capsys):
    code, err = _fails(["run", "--device", "cuda", *TINY], capsys)
    assert code == EXIT_USAGE and "torch sees no CUDA GPU here; use auto or cpu" in err


def test_storage_problems_exit_before_any_training(tmp_path, capsys):
    code, err = _fails(["run", "--storage", f"sqlite:///{tmp_path}/no/such/folder.db", *TINY], capsys)
    assert code == EXIT_RUNTIME and "does not exist" in err
    code, err = _fails(["run", "--storage", "mongodb://localhost/x", *TINY], capsys)
    assert code == EXIT_RUNTIME and "mongodb" in err


def test_missing_data_file_is_named(tmp_path, capsys):
    missing = tmp_path / "age_gender.csv"
    code, err = _fails(["run", "--data", str(missing), "--storage", f"sqlite:///{tmp_path}/s.db"], capsys)
    assert code == EXIT_RUNTIME
    assert str(missing) in err and "no such file" in err


def test_tiny_study_end_to_end_then_resume_and_summary(tmp_path):
    """The real entry point in a subprocess: run 2 trials, resume to 3 in the SAME study, then summarise."""
    url = f"sqlite:///{tmp_path}/runs.db"
    run = [sys.executable, "-m", "tutorial_utils", "run", "--sampler", "random", "--seed", "4", "--storage", url, *TINY]
    first = subprocess.run([*run, "--n-trials", "2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    study = optuna.load_study(study_name="random-seed4", storage=url)
    assert len(study.trials) == 2 and study.user_attrs["is_synthetic"] is True

    resumed = subprocess.run([*run, "--n-trials", "3"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert optuna.get_all_study_names(url) == ["random-seed4"]
    study = optuna.load_study(study_name="random-seed4", storage=url)
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert study.user_attrs["cpu_time_s"] > 0

    summary = subprocess.run(
        [sys.executable, "-m", "tutorial_utils", "summary", "--storage", url], cwd=REPO, capture_output=True, text=True
    )
    assert summary.returncode == 0, summary.stderr
    assert "random-seed4" in summary.stdout and f"{study.best_value:.6f}"[:6] in summary.stdout


def test_progress_bar_shows_count_best_and_pruned(tmp_path, capsys):
    assert main(["run", "--sampler", "random", "--n-trials", "2", *TINY[:-1]]) == 0
    out = capsys.readouterr()
    assert "random-seed0" in out.err and "2/2" in out.err and "best=" in out.err and "pruned=0" in out.err
    assert "Number of finished trials:  2" in out.out and "no --storage given" in out.out


def test_an_error_during_training_keeps_its_traceback(monkeypatch, tmp_path):
    """Only the course's own setup errors become one line; a crash mid-training must reach the user whole."""
    from tutorial_utils import cli, training

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "train_epoch", out_of_memory)
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        cli.main(["run", "--sampler", "random", "--n-trials", "1", "--epochs", "1", "--data", "synthetic",
                  "--synthetic-rows", "200", "--quiet", "--storage", f"sqlite:///{tmp_path}/s.db"])


def test_a_setup_error_is_one_line_and_exit_1(capsys, tmp_path):
    from tutorial_utils import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--data", str(tmp_path / "missing.csv"), "--quiet"])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.csv: no such file" in err and "Traceback" not in err


def test_parallel_runs_every_sampler_and_seed_in_lockstep_and_resumes(tmp_path):
    url = f"sqlite:///{tmp_path}/lock.db"
    run = [sys.executable, "-m", "tutorial_utils", "run", "--sampler", "random", "tpe", "--seed", "0", "1",
           "--parallel", "4", "--n-trials", "3", "--epochs", "2", "--data", "synthetic", "--synthetic-rows", "300",
           "--image-side", "12", "--quiet", "--storage", url]
    first = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    names = sorted(optuna.get_all_study_names(url))
    assert names == ["random-seed0", "random-seed1", "tpe-seed0", "tpe-seed1"]
    for name in names:
        study = optuna.load_study(study_name=name, storage=url)
        assert len(study.trials) == 3 and study.user_attrs["trainer"] == "batched"
    bigger = subprocess.run([*run[:-2], "--storage", url, "--n-trials", "4"], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert bigger.returncode == 0, bigger.stderr
    assert all(len(optuna.load_study(study_name=n, storage=url).trials) == 4 for n in names)
    plain = subprocess.run([*run[:run.index("--parallel")], *run[run.index("--parallel") + 2:]], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 2 and "trainer: stored 'batched', now 'plain'" in plain.stderr
