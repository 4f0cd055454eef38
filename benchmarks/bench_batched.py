"""Batched trainer: K trials as one set of tensor ops against the same K trials trained one after another.

For each K, K configurations are drawn at random from the original search space (any depth, widths, dropouts,
optimizer and lr: ``suggest_params`` under a seeded ``RandomSampler``). The plain side trains each of them for
one epoch with ``training.train_epoch`` (its own model, ``make_optimizer`` and generator); the batched side
trains all K for one epoch with ``BatchedTrainer.train_epoch``. The two alternate (plain, batched, plain, ...)
after one untimed warm-up epoch each, and the table gives seconds per trial-epoch (an epoch's time / K), their
ratio, and trial-epochs per second.

Synthetic data of the real shape: 15,000 rows of 24x24 = 576 features, batch 128 (quick mode: 1,280 rows and
K = 1, 8). On a CPU torch runs one thread and the clock is this process's CPU time (steady on a shared machine;
wall time is reported too); on a GPU the clock is wall time after a synchronize.

Memory: the batched trainer's own tensors (``BatchedTrainer.memory_bytes``) and the process's peak resident
set so far (CPU; it only grows, and K runs in increasing order) or ``torch.cuda.max_memory_allocated`` (GPU).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import optuna
import pandas as pd
import torch

from tutorial_utils.batched import BatchedTrainer, check_device
from tutorial_utils.models import MultiHeadFCNet
from tutorial_utils.studies import startup_configs
from tutorial_utils.training import make_optimizer, train_epoch

from .common import BATCH_SIZE, IMAGE_SIDE, RESULTS_DIR, paired_ratios, stamped, summary

FULL_ROWS, QUICK_ROWS = 15_000, 1_280
FULL_KS, QUICK_KS = (1, 8, 32, 128), (1, 8)
CSV_NAME = "batched.csv"


def synthetic_data(rows: int, device: torch.device, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random pixels in [-1, 1] and random labels of the real shape: timing does not depend on the values."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, IMAGE_SIDE * IMAGE_SIDE, generator=g) * 2 - 1
    y = torch.stack([torch.randint(0, n, (rows,), generator=g) for n in (5, 5, 2)], 1)
    return x.to(device), y.to(device)


def random_configs(k: int, seed: int = 0) -> list[dict]:
    """K configurations drawn at random from the original search space (as a RandomSampler study would)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return startup_configs(seed, k)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def time_k(
    k: int, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int
) -> tuple[dict[str, dict[str, list[float]]], BatchedTrainer]:
    """Per-trial-epoch seconds of plain and batched for K random configurations, interleaved."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    configs = random_configs(k, seed=k)
    plain = []
    for seed, params in enumerate(configs):
        torch.manual_seed(seed)
        model = MultiHeadFCNet.from_params(params, x.shape[1]).to(device)
        plain.append((model, make_optimizer(params["optimizer"], model.parameters(), params["lr"]), torch.Generator().manual_seed(seed)))
    trainer = BatchedTrainer(k, x.shape[1], device=device, batch_size=BATCH_SIZE)
    for seed, params in enumerate(configs):
        trainer.set_slot(seed, params, seed)

    def run_plain() -> None:
        for model, opt, gen in plain:
            train_epoch(model, opt, x, y, BATCH_SIZE, gen)

    candidates = {"plain": run_plain, "batched": lambda: trainer.train_epoch(x, y)}
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in candidates}
    for fn in candidates.values():  # warm-up: first-touch allocations, the batched trainer's layout
        fn()
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sync()
            times[name]["wall"].append((time.perf_counter() - wall) / k)
            times[name]["cpu"].append((time.process_time() - cpu) / k)
    return times, trainer


def run(
    quick: bool,
    device: str = "cpu",
    ks: Sequence[int] | None = None,
    rows: int | None = None,
    repeats: int | None = None,
) -> pd.DataFrame:
    """One row per K: seconds per trial-epoch of plain and batched, the speedup, and memory."""
    dev = check_device(device)
    ks = tuple(ks or (QUICK_KS if quick else FULL_KS))
    rows = rows or (QUICK_ROWS if quick else FULL_ROWS)
    repeats = repeats or (1 if quick else 2)
    threads_before = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    clock = "cpu" if dev.type == "cpu" else "wall"
    x, y = synthetic_data(rows, dev)
    out = []
    try:
        for k in sorted(ks):
            load = os.getloadavg()[0]
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                times, trainer = time_k(k, x, y, dev, repeats)
            plain, batched = summary(times["plain"][clock]), summary(times["batched"][clock])
            ratio = summary(paired_ratios(times["plain"][clock], times["batched"][clock]))
            out.append(
                {
                    "k": k,
                    "plain_trial_epoch_s": plain["median"],
                    "batched_trial_epoch_s": batched["median"],
                    "speedup_median": ratio["median"],
                    "speedup_min": ratio["min"],
                    "speedup_max": ratio["max"],
                    "plain_trial_epochs_per_s": 1 / plain["median"],
                    "batched_trial_epochs_per_s": 1 / batched["median"],
                    "plain_wall_trial_epoch_s": summary(times["plain"]["wall"])["median"],
                    "batched_wall_trial_epoch_s": summary(times["batched"]["wall"])["median"],
                    "batched_tensors_mb": trainer.memory_bytes() / 2**20,
                    "peak_memory_mb": _peak_memory_mb(dev),
                    "peak_memory_kind": "cuda max_memory_allocated" if dev.type == "cuda" else "process peak RSS so far",
                    "repeats": plain["n"],
                    "clock": clock,
                    "rows": rows,
                    "batch": BATCH_SIZE,
                    "features": x.shape[1],
                    "threads": torch.get_num_threads(),
                    "load_1min_at_start": round(load, 2),  # other jobs on a shared machine slow both sides
                }
            )
            del trainer
    finally:
        torch.set_num_threads(threads_before)
    return pd.DataFrame(out)


def show(frame: pd.DataFrame) -> str:
    cols = ["k", "plain_trial_epoch_s", "batched_trial_epoch_s", "speedup_median", "speedup_min", "speedup_max"]
    cols += ["plain_trial_epochs_per_s", "batched_trial_epochs_per_s", "batched_tensors_mb", "peak_memory_mb"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        return frame[cols].to_string(index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} rows, K = {QUICK_KS}, one repeat; writes no CSV")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    parser.add_argument("--ks", type=int, nargs="+", help=f"the K values (default {FULL_KS}; quick {QUICK_KS})")
    parser.add_argument("--rows", type=int, help=f"training rows (default {FULL_ROWS}; quick {QUICK_ROWS})")
    parser.add_argument("--repeats", type=int, help="timed epochs per side (default 2; quick 1)")
    parser.add_argument("--csv", type=Path, help=f"append the rows here (default in full mode: benchmarks/results/{CSV_NAME})")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    frame = run(args.quick, args.device, args.ks, args.rows, args.repeats)
    seconds = time.perf_counter() - start
    print(show(frame))
    print(f"({seconds:.1f} s)")
    path = args.csv or (None if args.quick else RESULTS_DIR / CSV_NAME)
    if path is not None:
        out = stamped(frame, args.device).assign(mode="quick" if args.quick else "full", bench_seconds=round(seconds, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and list(pd.read_csv(path, nrows=0).columns) == list(out.columns):
            out.to_csv(path, mode="a", header=False, index=False)
        else:
            out.to_csv(path, index=False)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
