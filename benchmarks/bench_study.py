"""Benchmark 5: the original study end to end (100 trials, SkoptSampler with ExtraTrees, MedianPruner, 50 epochs).

This number is shared with the sampler showdown (``experiments/run_showdown.py``), which records every study
in ``results/showdown/``: when that folder holds Skopt studies, this benchmark reads their times instead of
running the study again. Running it here takes minutes to tens of minutes,
so it happens only when asked (``python -m benchmarks --only study --run-study``), never in quick mode.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from .common import IMAGE_SIDE, RESULTS_DIR, data_label, load_faces, summary

RECORDED = RESULTS_DIR.parent.parent / "results" / "showdown"
N_TRIALS = 100
N_EPOCHS = 50
SKOPT_ORIGINAL = {"base_estimator": "ET", "n_initial_points": 10, "acq_func": "EI", "acq_func_kwargs": {"xi": 0.02}}


def recorded_skopt_studies(path: Path = RECORDED) -> pd.DataFrame | None:
    """The Skopt studies of the showdown's records folder (or of a summary CSV), or None when there are none."""
    if not path.exists():
        return None
    if path.is_dir():
        from tutorial_utils.records import load_records, summarize

        table = summarize(load_records(path))
        table = table[(table["pruner"] == "median") & (table["sampler"] == "skopt")].assign(budget=100)
    else:
        table = pd.read_csv(path)
    if "sampler" not in table.columns or "wall_time_s" not in table.columns:
        print(f"{path}: no 'sampler'/'wall_time_s' columns (found {list(table.columns)}); cannot read study times.")
        return None
    skopt = table[table["sampler"].astype(str).str.contains("skopt", case=False)]
    return skopt if len(skopt) else None


def run_study(device: str = "cpu", n_trials: int = N_TRIALS, n_epochs: int = N_EPOCHS, seed: int = 0) -> dict:
    """Run the original study once here and time it (wall seconds, the whole thing: sampling, training, pruning)."""
    import optuna

    from tutorial_utils.prepare import prepare_faces
    from tutorial_utils.samplers import SkoptSampler
    from tutorial_utils.training import make_face_objective

    faces = load_faces(quick=False)
    data = prepare_faces(faces, image_side=IMAGE_SIDE, device=device)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=SkoptSampler(skopt_kwargs=SKOPT_ORIGINAL, seed=seed, warn_independent_sampling=False),
        pruner=optuna.pruners.MedianPruner(),
    )
    start = time.perf_counter()
    study.optimize(make_face_objective(data, n_epochs=n_epochs, seed=seed), n_trials=n_trials)
    wall = time.perf_counter() - start
    states = [t.state.name for t in study.trials]
    return {
        "source": "run here",
        "sampler": "SkoptSampler(ET)",
        "seed": seed,
        "n_trials": len(study.trials),
        "completed": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "best_value": study.best_value,
        "wall_time_s": wall,
        "device": device,
        "data": data_label(faces),
    }


def run(
    quick: bool, device: str = "cpu", run_study_if_missing: bool = False, recorded_path: Path = RECORDED
) -> pd.DataFrame:
    """The recorded Skopt studies (one row each, plus their median), or one run here when asked."""
    # The recorded studies ran on the CPU: they do not answer the question for another device.
    recorded = None if quick or device != "cpu" else recorded_skopt_studies(recorded_path)
    if recorded is not None:
        budget = recorded["budget"] if "budget" in recorded.columns else N_TRIALS
        finished = recorded["n_trials"] >= budget
        keep = [
            c
            for c in (
                "study", "sampler", "seed", "status", "n_trials", "budget", "completed", "pruned", "best_valid",
                "best_value", "wall_time_s", "cpu_time_s", "median_trial_s",
            )
            if c in recorded.columns
        ]
        rows = recorded[keep].assign(source=f"recorded in {recorded_path.name}").to_dict("records")
        if finished.any():
            wall = summary(recorded.loc[finished, "wall_time_s"].dropna().tolist())
            row = {
                "study": f"median of {wall['n']} finished",
                "sampler": "skopt",
                "wall_time_s": wall["median"],
                "wall_time_s_min": wall["min"],
                "wall_time_s_max": wall["max"],
                "source": "summary",
            }
            if "cpu_time_s" in recorded.columns:  # what the study costs on an idle core
                row["cpu_time_s"] = summary(recorded.loc[finished, "cpu_time_s"].dropna().tolist())["median"]
            rows.append(row)
        else:
            rows.append({"study": "none finished", "sampler": "skopt", "wall_time_s": float("nan"),
                         "source": f"no Skopt study in {recorded_path.name} has reached its {N_TRIALS} trials yet"})
        return pd.DataFrame(rows)
    if quick or not run_study_if_missing:
        why = "quick mode never runs it" if quick else f"{recorded_path.name} holds no Skopt study on {device} yet"
        print(f"Whole-study benchmark skipped: {why}. Run it with `python -m benchmarks --only study --run-study --device {device}`.")
        return pd.DataFrame([{"study": "not run", "source": why, "wall_time_s": float("nan")}])
    return pd.DataFrame([run_study(device)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-study", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from tutorial_utils.setup import configure_torch_threads

    configure_torch_threads()
    print(run(False, args.device, args.run_study).to_string())


if __name__ == "__main__":
    main()
