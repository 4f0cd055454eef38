"""How good is each sampler on a 2-D test function? Mean best value (+- sd) over seeds, and time per trial.

    python -m benchmarks.sampler_quality                       # Branin, 25 trials, 4 seeds (notebook 04's setup)
    python -m benchmarks.sampler_quality --function quadratic --seeds 20 --csv out.csv

The samplers and the objectives are the ones notebook 04 compares, with the same seeds, so its closing
note and this script print the same numbers. Every sampler gets the same budget; "s/trial" is the wall
time per trial, which for these microsecond objectives is the time the sampler spends deciding.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
import pandas as pd

from tutorial_utils.samplers import SkoptSampler
from tutorial_utils.toys import BRANIN_BOUNDS, branin, quadratic

# The original study's SkoptSampler settings; "Skopt GP" swaps only the surrogate.
ORIGINAL_SKOPT = {
    "base_estimator": "ET",
    "n_random_starts": 10,
    "acq_func": "EI",
    "acq_func_kwargs": {"xi": 0.02},
}

SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "Random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "TPE": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "GP (Optuna)": lambda seed: optuna.samplers.GPSampler(seed=seed),
    "Skopt ET": lambda seed: SkoptSampler(skopt_kwargs=ORIGINAL_SKOPT, seed=seed),
    "Skopt GP": lambda seed: SkoptSampler(skopt_kwargs={**ORIGINAL_SKOPT, "base_estimator": "GP"}, seed=seed),
}


def quadratic_objective(trial: optuna.Trial) -> float:
    """The course's seed example in 2-D: (x - 2)**2 + (y - 2)**2 on [-10, 10]^2, minimum 0."""
    return float(quadratic(trial.suggest_float("x", -10, 10), trial.suggest_float("y", -10, 10)))


def branin_objective(trial: optuna.Trial) -> float:
    """Branin on its usual box: three global minima of ~0.3979 in a curved valley."""
    x1 = trial.suggest_float("x1", *BRANIN_BOUNDS["x1"])
    x2 = trial.suggest_float("x2", *BRANIN_BOUNDS["x2"])
    return float(branin(x1, x2))


OBJECTIVES = {"branin": branin_objective, "quadratic": quadratic_objective}


def run(
    objective: Callable[[optuna.Trial], float],
    samplers: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = SAMPLERS,
    n_trials: int = 25,
    seeds: range | list[int] = range(4),
) -> pd.DataFrame:
    """One row per (sampler, seed): best value, the trial values in order, and seconds per trial."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # e.g. GPSampler's one-time note about greenlet
    rows = []
    for name, make in samplers.items():
        for seed in seeds:
            study = optuna.create_study(sampler=make(seed))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.optimize(objective, n_trials=n_trials)
            seconds = time.perf_counter() - start
            values = [t.value for t in study.trials]
            rows.append(
                {
                    "sampler": name,
                    "seed": seed,
                    "best": study.best_value,
                    "s_per_trial": seconds / n_trials,
                    "values": values,
                }
            )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd of the best value per sampler (lower is better), and the mean time per trial."""
    table = runs.groupby("sampler", sort=False).agg(
        mean_best=("best", "mean"),
        sd_best=("best", "std"),
        median_best=("best", "median"),
        s_per_trial=("s_per_trial", "mean"),
        runs=("seed", "count"),
    )
    return table.reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sampler_quality", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--function", choices=sorted(OBJECTIVES), default="branin")
    parser.add_argument("--trials", type=int, default=25, help="trials per study (default 25)")
    parser.add_argument("--seeds", type=int, default=4, help="how many seeds per sampler (default 4)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run from here (default 0, as notebook 04)"
    )
    parser.add_argument(
        "--samplers", nargs="+", choices=list(SAMPLERS), default=list(SAMPLERS), metavar="NAME"
    )
    parser.add_argument("--csv", type=Path, help="also write the per-run results here")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.seeds < 1:
        parser.error("--trials and --seeds must be at least 1")

    chosen = {name: SAMPLERS[name] for name in args.samplers}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = run(OBJECTIVES[args.function], chosen, n_trials=args.trials, seeds=seeds)
    table = summarize(runs)
    print(f"{args.function}: best value after {args.trials} trials, {args.seeds} seeds (lower is better)")
    for row in table.itertuples():
        print(
            f"  {row.sampler:<12} mean {row.mean_best:9.4f} ± {row.sd_best:8.4f} (sd)   "
            f"median {row.median_best:9.4f}   {row.s_per_trial * 1000:8.1f} ms/trial"
        )
    if args.csv:
        runs.assign(values=runs["values"].map(lambda v: " ".join(f"{x:.6g}" for x in v))).to_csv(
            args.csv, index=False
        )
        print(f"per-run results written to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
