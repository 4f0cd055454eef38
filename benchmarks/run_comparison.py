"""The sampler showdown on the real faces: run the studies, then summarise them into benchmarks/results/.

Each study (sampler x seed; 100 trials, MedianPruner, 50 epochs, 24x24, batch 128) is one
``python -m tutorial_utils run`` process with one torch thread and its own SQLite file, at most ``--jobs``
at once. Studies resume: rerunning ``run`` after an interruption finishes what is missing.

    python benchmarks/run_comparison.py run --data ../shared/data/age_gender.csv.gz --runs /work/runs/comparison
    python benchmarks/run_comparison.py summarize --runs /work/runs/comparison
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
# The original pair first (so partial results still answer the original question), then TPE and GP.
DEFAULT_ORDER = [(s, k) for k in range(3) for s in ("skopt", "random")] + [(s, k) for k in range(3) for s in ("tpe", "gp")]


def study_command(sampler: str, seed: int, args: argparse.Namespace) -> list[str]:
    storage = f"sqlite:///{Path(args.runs).resolve() / f'{sampler}-seed{seed}.db'}"
    return [
        sys.executable, "-m", "tutorial_utils", "run", "--sampler", sampler, "--seed", str(seed),
        "--n-trials", str(args.n_trials), "--epochs", str(args.epochs), "--pruner", "median",
        "--data", args.data, "--storage", storage, "--threads", "1", "--device", "cpu",
    ]


def run_all(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    queue = [(s, k) for s, k in DEFAULT_ORDER if s in args.samplers and k in args.seeds]
    running: list[tuple[str, subprocess.Popen]] = []
    env = {**os.environ, "TUTORIAL_UTILS_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while queue or running:
        while queue and len(running) < args.jobs:
            sampler, seed = queue.pop(0)
            name = f"{sampler}-seed{seed}"
            log = open(runs / f"{name}.log", "a")  # noqa: SIM115 - closed with the process below
            print(f"{time.strftime('%H:%M:%S')} start {name}", flush=True)
            running.append((name, subprocess.Popen(study_command(sampler, seed, args), cwd=REPO, env=env, stdout=log, stderr=log)))
        time.sleep(5)
        for name, proc in list(running):
            if proc.poll() is not None:
                print(f"{time.strftime('%H:%M:%S')} done {name} (exit {proc.returncode})", flush=True)
                running.remove((name, proc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) every study, --jobs at a time")
    run.add_argument("--data", default="../shared/data/age_gender.csv.gz")
    run.add_argument("--runs", default="/work/runs/comparison", help="folder for one SQLite file + log per study")
    run.add_argument("--samplers", nargs="+", default=["skopt", "random", "tpe", "gp"])
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run.add_argument("--n-trials", type=int, default=100)
    run.add_argument("--epochs", type=int, default=50)
    run.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "run":
        run_all(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
