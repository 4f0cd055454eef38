"""Pruners at equal compute on the real faces: the same Random studies under five pruning rules, in lockstep.

With the Random sampler every rule of a seed sees the same configurations in the same order, so the rules are
paired and differ only in which trials they stop. Each rule's studies are one lockstep run
(``tutorial_utils.lockstep``); finished studies are exported to results/pruning/ as per-trial records, which
the pruning notebook loads. Resumable: rerun the same command after an interruption.

    python experiments/run_pruning.py --seeds 0 1 2 --n-trials 40 --epochs 25
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RULES = {  # the notebook's labels -> (pruner, settings)
    "none": ("none", {}),
    "median": ("median", {}),
    "median, warm-up 5": ("median", {"n_warmup_steps": 5}),
    "successive halving": ("sh", {"min_resource": 1, "reduction_factor": 3}),
    "hyperband": ("hyperband", {"min_resource": 1, "reduction_factor": 3}),
}


def prefix(label: str) -> str:
    return label.replace(" ", "").replace(",", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "age_gender.csv.gz"))
    parser.add_argument("--runs", default="/work/runs/pruning")
    parser.add_argument("--out", default=str(REPO / "results" / "pruning"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    args = parser.parse_args(argv)

    import optuna
    import torch

    from tutorial_utils.lockstep import run_lockstep
    from tutorial_utils.prepare import load_study_data
    from tutorial_utils.records import write_records
    from tutorial_utils.studies import StudySpec

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    data = load_study_data(args.data)
    for label, (name, settings) in RULES.items():
        specs = [StudySpec(sampler="random", seed=s, n_trials=args.n_trials, n_epochs=args.epochs, pruner=name,
                           pruner_kwargs=settings, name_prefix=prefix(label)) for s in args.seeds]
        storages = {s.name: f"sqlite:///{Path(args.runs).resolve() / s.name}.db" for s in specs}
        print(f"{label}: {len(specs)} studies x {args.n_trials} trials", flush=True)
        # Minutes per rule: the lockstep runner's progress bar (trials finished of all studies) shows it moving.
        results = run_lockstep(specs, data, storages, slots=args.slots, progress=not args.no_progress)
        for study in results.values():
            print(f"{label}: wrote {write_records(study, args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
