"""The GPU check (benchmarks/gpu_check.sh) keeps working where there is no GPU: its dry mode runs every step
on the CPU at tiny sizes and writes the same CSVs, each row naming the device ('cpu' here).

The GPU run itself (an H200, under 8 minutes) cannot happen in the test suite; see benchmarks/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO
from tutorial_utils.lockfile import locked_versions

sys.path.insert(0, str(REPO))  # benchmarks/ is a folder of the checkout, not part of the installed package
from benchmarks import gpu_check  # noqa: E402

STEPS = ["preflight", "cuda_tests", "repro", "epoch", "batched", "study_plain", "study_lockstep", "notebook"]
COLUMNS = {
    "steps.csv": ["step", "status", "seconds", "limit_s", "note", "device_name", "torch"],
    "cuda_tests.csv": ["test", "outcome", "seconds", "device_name"],
    "repro.csv": ["run", "losses_equal", "weights_equal", "max_abs_weight_diff", "other_process_equal", "weights_sha256",
                  "device_name"],
    "epoch.csv": ["pipeline", "epoch_s_median", "speedup_median", "x_limit_peak", "device_name", "torch"],
    "batched.csv": ["k", "plain_trial_epoch_s", "batched_trial_epoch_s", "speedup", "peak_memory_mb", "device_name"],
    "study.csv": ["mode", "n_trials", "trials", "complete", "pruned", "epochs_trained", "study_wall_s", "best_value",
                  "device_name"],
    "notebook.csv": ["notebook", "status", "seconds", "cells_run", "code_cells", "kernel_device", "device_name"],
}  # fmt: skip


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out, work = tmp_path_factory.mktemp("gpu_check_out"), tmp_path_factory.mktemp("gpu_check_work")
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_WORK": str(work)}
    env.pop("OUT", None)
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--dry", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)  # fmt: skip
    return done, out


@pytest.mark.slow
def test_the_dry_run_passes_and_writes_every_csv(dry_run):
    done, out = dry_run
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert (out / "gpu_check.log").is_file()
    for name, columns in COLUMNS.items():
        frame = pd.read_csv(out / name)
        assert len(frame) > 0, name
        assert set(columns) <= set(frame.columns), f"{name}: missing {set(columns) - set(frame.columns)}"
        assert (frame["device_name"] == "cpu").all(), f"{name}: every row names the device"
    steps = pd.read_csv(out / "steps.csv")
    assert steps["step"].tolist() == STEPS
    assert steps["status"].isin(["ok", "skipped"]).all(), steps[["step", "status", "note"]].to_string()
    assert (steps["seconds"] > 0).all() and (steps["seconds"] <= steps["limit_s"]).all()


@pytest.mark.slow
def test_the_dry_run_rows(dry_run):
    _, out = dry_run
    dry = gpu_check.SIZES["dry"]
    batched = pd.read_csv(out / "batched.csv")
    assert batched["k"].tolist() == list(dry["batched_ks"]), "one row per K"
    assert (batched[["plain_trial_epoch_s", "batched_trial_epoch_s"]] > 0).all().all()
    assert batched["peak_memory_mb"].isna().all(), "no GPU memory to report on a CPU"
    tests = pd.read_csv(out / "cuda_tests.csv")
    assert tests["test"].str.contains("cuda").all() and (tests["outcome"] == "skipped").all(), "CUDA-only: skip here"
    study = pd.read_csv(out / "study.csv")
    assert study["mode"].tolist() == ["plain", "lockstep"]
    assert (study["trials"] == dry["study_trials"]).all() and (study["epochs_trained"] > 0).all()
    repro = pd.read_csv(out / "repro.csv")
    assert repro["run"].tolist() == ["plain Adam", "plain MADGRAD", "batched mixed"]
    # On a CPU the same configuration trains bit for bit the same, in this process and in another.
    assert repro[["losses_equal", "weights_equal", "other_process_equal"]].all().all()
    assert (repro["max_abs_weight_diff"] == 0).all()
    notebook = pd.read_csv(out / "notebook.csv")
    assert notebook["status"].tolist() == ["ok"] and notebook["cells_run"].iloc[0] == notebook["code_cells"].iloc[0]
    epoch = pd.read_csv(out / "epoch.csv")
    assert epoch["pipeline"].str.startswith("ours").any() and (epoch["epoch_s_median"] > 0).all()


def test_the_wheels_are_what_the_gpu_machine_lacks_at_the_locked_versions():
    locked = locked_versions(gpu_check.GPU_PYTHON)
    pins = dict(p.split("==") for p in gpu_check.wheel_pins())
    for name in ("optuna", "optuna-integration", "scikit-optimize", "lightgbm", "madgrad", "cmaes", "sqlalchemy",
                 "plotly", "nbclient", "ipykernel", "pyzmq"):  # fmt: skip
        assert name in pins, name
    for name in ("torch", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib", "pytest", "nvidia-cublas"):
        assert name not in pins, f"{name} is on the GPU machine already"
    assert all(pins[name] == locked[name] for name in pins if name in locked)
    bare = dict(p.split("==") for p in gpu_check.wheel_pins(bare=True))
    assert {"matplotlib", "pytest", "pillow"} <= set(bare) and set(pins) <= set(bare)
    assert not {"torch", "numpy", "scipy", "scikit-learn", "pandas"} & set(bare)


def test_the_cuda_tests_are_found():
    assert "tests/test_batched.py" in gpu_check.cuda_test_files()
