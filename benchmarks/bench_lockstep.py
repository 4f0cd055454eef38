"""Many studies one after another (plain trainer) against the same studies in lockstep (batched trainer).

The same arms x seeds, each run to the same budget both ways, side by side in one process with one torch
thread. Pruning makes the two runs train different numbers of epochs (the trainers' dropout masks differ),
so the ratio is taken per trial-epoch trained as well as per trial. Sampler time is reported too: it is paid
per ask in every run. Lockstep runs twice: waiting for every ask before each epoch (as before asks
overlapped training), and with its asks overlapping training (the default); ``exposed_ask_s`` is the time the
trainer waited on asks, ``ask_s_total`` the asks' own time.

    python -m benchmarks.bench_lockstep            # real faces when present, else synthetic of the same shape
    python -m benchmarks.bench_lockstep --quick
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from .common import RESULTS_DIR, data_label, load_faces, stamped

ARMS = ("random", "skopt", "tpe", "gp")


def _epochs(study) -> int:
    return sum(len(t.intermediate_values) for t in study.trials)


def _asks(study) -> float:
    return sum(t.user_attrs.get("ask_seconds", 0.0) for t in study.trials)


def run(quick: bool, device: str = "cpu", slots: int = 16) -> pd.DataFrame:
    import optuna
    import torch

    from tutorial_utils.lockstep import run_lockstep
    from tutorial_utils.prepare import prepare_faces
    from tutorial_utils.studies import StudySpec, run_study

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    faces = load_faces(quick)
    data = prepare_faces(faces, image_side=24, device=device)
    seeds = (0,) if quick else (0, 1)
    budget, epochs = (6, 2) if quick else (20, 10)
    specs = [StudySpec(sampler=a, seed=s, n_trials=budget, n_epochs=epochs) for a in ARMS for s in seeds]
    rows = []
    modes = {"one by one, plain trainer": None, f"lockstep, {slots} slots, asks waited for": False,
             f"lockstep, {slots} slots, asks overlap training": True}
    for mode, overlap in modes.items():
        wall, cpu = time.perf_counter(), time.process_time()
        if overlap is None:
            done = [run_study(s, data, None, progress=False, device=device) for s in specs]
        else:
            done = list(run_lockstep(specs, data, {}, slots=slots, progress=False, device=device,
                                     overlap_asks=overlap).values())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        trials = sum(len(s.trials) for s in done)
        trained = sum(_epochs(s) for s in done)
        rows.append({
            "mode": mode, "studies": len(specs), "trials": trials, "epochs_trained": trained,
            "cpu_s": cpu, "wall_s": wall, "cpu_ms_per_trial_epoch": 1000 * cpu / trained,
            "trials_per_cpu_min": 60 * trials / cpu, "ask_s_total": sum(_asks(s) for s in done),
            "exposed_ask_s": done[0].user_attrs["lockstep"]["exposed_ask_s"] if overlap is not None else None,
            "data": data_label(faces), "device": device,
        })
    table = pd.DataFrame(rows)
    base = table["cpu_ms_per_trial_epoch"].iloc[0]
    table["speedup_per_trial_epoch"] = base / table["cpu_ms_per_trial_epoch"]
    return stamped(table, device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--slots", type=int, default=16)
    args = parser.parse_args(argv)
    table = run(args.quick, args.device, args.slots)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[["mode", "studies", "trials", "epochs_trained", "cpu_s", "wall_s", "cpu_ms_per_trial_epoch",
                     "speedup_per_trial_epoch", "ask_s_total", "exposed_ask_s", "data"]].round(3).to_string(index=False))
    out = RESULTS_DIR / "lockstep.csv"
    if out.exists():  # earlier runs lack exposed_ask_s: rewrite the file with the union of the columns
        table = pd.concat([pd.read_csv(out), table], ignore_index=True)
    table.to_csv(out, index=False)
    print(f"appended to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
