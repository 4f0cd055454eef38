"""Benchmark 4: how long each sampler takes to choose the next trial's parameters, as a study grows.

A study is filled with n finished trials of the face-net search space (``tutorial_utils.models.suggest_params``
drawn at random, scored by a smooth made-up function so a surrogate has something to fit), then the sampler
under test is timed choosing one more trial: ``study.ask()`` plus the suggest calls, which is where relative
samplers (GP, Skopt) fit their surrogate and independent ones (Random, TPE) draw each parameter.

The time is compared with a typical trial's training time (our epoch time x 50 epochs, measured here on the
same data), so the table says when a slow sampler starts to matter. CPU time is the main clock (steady on a
shared machine); wall time is reported beside it.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.trial import TrialState

from tutorial_utils.models import suggest_params

from .common import BATCH_SIZE, BEST_PARAMS, IMAGE_SIDE, data_label, load_faces, summary

TYPICAL_EPOCHS = 50  # the original study's trials ran 50 epochs (pruned ones fewer)
SKOPT_ORIGINAL = {"n_initial_points": 10, "acq_func": "EI", "acq_func_kwargs": {"xi": 0.02}}


def make_samplers(seed: int = 0) -> dict[str, object]:
    """Name -> factory of the samplers the course compares; Skopt rows are left out (with a note) if absent."""
    samplers = {
        "Random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "TPE": lambda: optuna.samplers.TPESampler(seed=seed),
        "GP": lambda: optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False),
    }
    try:
        from tutorial_utils.samplers import SkoptSampler
    except ImportError as exc:
        print(f"Skipping the Skopt rows: tutorial_utils.samplers.SkoptSampler is not importable ({exc}).")
        return samplers
    for estimator in ("ET", "GP"):
        kwargs = {**SKOPT_ORIGINAL, "base_estimator": estimator}
        samplers[f"Skopt {estimator}"] = lambda kwargs=kwargs: SkoptSampler(
            skopt_kwargs=kwargs, seed=seed, warn_independent_sampling=False
        )
    return samplers


def fake_score(params: dict) -> float:
    """A smooth made-up 'accuracy': best near lr 3e-3 with Adam and wide layers; its shape only has to be fittable."""
    lr_term = -0.04 * (math.log10(params["lr"]) + 2.5) ** 2
    widths = [params[f"fc_output_feat_{i}"] for i in range(params["num_fc_layers"])]
    width_term = 0.05 * math.tanh(np.mean(widths) / 40)
    optimizer_term = {"Adam": 0.03, "RMSprop": 0.02, "MADGRAD": 0.02, "Adadelta": -0.05, "SGD": -0.02}[params["optimizer"]]
    return 0.6 + lr_term + width_term + optimizer_term - 0.02 * params["fc_dropout_0"]


def finished_trials(n: int, seed: int = 0) -> list[optuna.trial.FrozenTrial]:
    """n COMPLETE trials of the face-net space with fake scores (the history a sampler sees at trial n)."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(lambda trial: fake_score(suggest_params(trial)), n_trials=n)
    return study.trials


def time_sampler(factory, history, repeats: int, warm_up: bool = True) -> tuple[list[float], list[float]]:
    """(CPU, wall) seconds of ``repeats`` asks on a study holding ``history``; each probe is then marked FAIL,
    which every sampler ignores, so all probes see the same n finished trials."""
    study = optuna.create_study(direction="maximize", sampler=factory())
    study.add_trials(history)
    cpu, wall = [], []
    for k in range(repeats + 1 if warm_up else repeats):
        c, w = time.process_time(), time.perf_counter()
        trial = study.ask()
        suggest_params(trial)
        c, w = time.process_time() - c, time.perf_counter() - w
        study.tell(trial, state=TrialState.FAIL)
        if k > 0 or not warm_up:  # the first ask pays one-off imports and compilation
            cpu.append(c)
            wall.append(w)
    return cpu, wall


def typical_epoch_cpu_s(quick: bool) -> tuple[float, str]:
    """Our loop's CPU seconds per epoch for the original's best network on this machine (median of 3)."""
    from tutorial_utils.models import MultiHeadFCNet
    from tutorial_utils.prepare import prepare_faces
    from tutorial_utils.training import make_optimizer, train_epoch

    faces = load_faces(quick)
    data = prepare_faces(faces, image_side=IMAGE_SIDE)
    torch.manual_seed(0)
    model = MultiHeadFCNet.from_params(BEST_PARAMS, data.n_features)
    opt = make_optimizer(BEST_PARAMS["optimizer"], model.parameters(), BEST_PARAMS["lr"])
    times = []
    for _ in range(4):
        c = time.process_time()
        train_epoch(model, opt, data.x_train, data.y_train, BATCH_SIZE)
        times.append(time.process_time() - c)
    return summary(times[1:])["median"], data_label(faces)


def run(quick: bool, sizes: tuple[int, ...] | None = None, repeats: int | None = None) -> pd.DataFrame:
    """One row per (sampler, finished trials): seconds to choose a trial and its share of a typical trial."""
    sizes = sizes or ((10, 20) if quick else (10, 50, 100, 200))
    repeats = repeats or (1 if quick else 5)
    epoch_s, data = typical_epoch_cpu_s(quick)
    trial_s = epoch_s * TYPICAL_EPOCHS
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # e.g. GPSampler's note that greenlet is missing
    histories = {n: finished_trials(n) for n in sizes}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature and independent-sampling notes
        for name, factory in make_samplers().items():
            for n in sizes:
                cpu, wall = time_sampler(factory, histories[n], repeats, warm_up=not quick)
                c, w = summary(cpu), summary(wall)
                rows.append(
                    {
                        "sampler": name,
                        "finished_trials": n,
                        "choose_cpu_s_median": c["median"],
                        "choose_cpu_s_min": c["min"],
                        "choose_cpu_s_max": c["max"],
                        "choose_wall_s_median": w["median"],
                        "repeats": c["n"],
                        "epochs_equivalent": c["median"] / epoch_s,
                        "share_of_trial_pct": 100 * c["median"] / trial_s,
                        "typical_trial_cpu_s": trial_s,
                        "epoch_cpu_s": epoch_s,
                        "typical_epochs": TYPICAL_EPOCHS,
                        "data": data,
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    from tutorial_utils.setup import configure_torch_threads

    configure_torch_threads()
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(run(args.quick, repeats=args.repeats))


if __name__ == "__main__":
    main()
