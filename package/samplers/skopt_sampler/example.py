"""SkoptSampler on a 2-D function, against random search.

Run from the root of the registry (or of the course): ``python package/samplers/skopt_sampler/example.py``.
``--plot PATH`` also draws the best value so far of both studies: the README's image comes from it.
"""

from __future__ import annotations

import argparse

import optuna
import optunahub


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", -5, 5)
    return (x - 2) ** 2 + (y + 1) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--plot", help="write a best-so-far figure to this PNG file")
    args = parser.parse_args()

    module = optunahub.load_local_module(
        package="samplers/skopt_sampler",
        registry_root="./package",  # Path to the root of the optunahub-registry.
    )
    sampler = module.SkoptSampler(
        skopt_kwargs={"base_estimator": "GP", "n_initial_points": 5, "acq_func": "EI"}, seed=0
    )
    study = optuna.create_study(sampler=sampler, study_name="SkoptSampler (GP, EI)")
    study.optimize(objective, n_trials=30)
    print(f"SkoptSampler: best value {study.best_value:.4f} at {study.best_params}")

    baseline = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), study_name="RandomSampler"
    )
    baseline.optimize(objective, n_trials=30)
    print(f"RandomSampler: best value {baseline.best_value:.4f}")

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
        for s in (study, baseline):
            values = [t.value for t in s.trials if t.value is not None]
            best = [min(values[: i + 1]) for i in range(len(values))]
            ax.plot(range(1, len(best) + 1), best, marker=".", label=s.study_name)
        ax.set_yscale("log")
        ax.set_xlabel("trial")
        ax.set_ylabel("best value so far (log)")
        ax.set_title("(x - 2)² + (y + 1)², seed 0")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
