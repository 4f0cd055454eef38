"""Benchmark 3: epoch time of our loop with 1 and 2 torch threads, torch's own default and the course's default.

Each setting runs in a fresh subprocess: ``torch.set_num_threads`` cannot always be undone inside one process
(the thread pool is created once), so in-process comparisons would measure the first setting's pool.
Settings are interleaved (1, 2, torch, course, 1, 2, ...) so a load change on a shared machine hits all.
Wall time is the clock here: extra threads only pay off if they shorten wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import pandas as pd

from .common import BATCH_SIZE, BEST_PARAMS, IMAGE_SIDE, REPO, data_label, load_faces, paired_ratios, summary

SETTINGS = ("1", "2", "torch default", "course default")
QUICK_ROWS = 400  # 320 train rows, 3 batches: enough to exercise each setting, short enough for the smoke run


def apply_setting(setting: str) -> int:
    """Set torch's threads as ``setting`` says and return the number in force."""
    import torch

    if setting == "course default":
        from tutorial_utils.setup import configure_torch_threads

        return configure_torch_threads()
    if setting != "torch default":
        torch.set_num_threads(int(setting))
    return torch.get_num_threads()


def worker(setting: str, quick: bool, epochs: int) -> dict:
    """Inside the subprocess: apply the setting, then time ``epochs`` epochs after one warm-up epoch."""
    threads = apply_setting(setting)
    import torch

    from tutorial_utils.models import MultiHeadFCNet
    from tutorial_utils.prepare import prepare_faces
    from tutorial_utils.training import make_optimizer, train_epoch

    faces = load_faces(quick, rows=QUICK_ROWS if quick else None)
    data = prepare_faces(faces, image_side=IMAGE_SIDE)
    x, y = data.x_train, data.y_train
    torch.manual_seed(0)
    model = MultiHeadFCNet.from_params(BEST_PARAMS, data.n_features)
    opt = make_optimizer(BEST_PARAMS["optimizer"], model.parameters(), BEST_PARAMS["lr"])
    generator = torch.Generator().manual_seed(0)
    train_epoch(model, opt, x, y, BATCH_SIZE, generator)
    wall, cpu = [], []
    for _ in range(epochs):
        w, c = time.perf_counter(), time.process_time()
        train_epoch(model, opt, x, y, BATCH_SIZE, generator)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"setting": setting, "threads": threads, "wall": wall, "cpu": cpu, "data": data_label(faces), "n_train": len(x)}


def _spawn(setting: str, quick: bool, epochs: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_threads", "--worker", setting, "--epochs", str(epochs)]
    if quick:
        cmd.append("--quick")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"thread worker {setting!r} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool, repeats: int | None = None, epochs: int | None = None) -> pd.DataFrame:
    """One row per setting: median epoch wall time over all repeats, spread, and the speedup over 1 thread."""
    repeats = repeats or (1 if quick else 4)
    epochs = epochs or (1 if quick else 3)
    if not quick:
        load_faces(quick)  # parse and cache the real file once here, not in the first worker's timing
    runs: dict[str, list[dict]] = {s: [] for s in SETTINGS}
    for _ in range(repeats):
        for setting in SETTINGS:
            runs[setting].append(_spawn(setting, quick, epochs))
    # One number per subprocess (its median epoch), so ratios pair runs made back to back.
    per_run = {s: [summary(r["wall"])["median"] for r in rs] for s, rs in runs.items()}
    rows = []
    for setting, results in runs.items():
        wall = summary([t for r in results for t in r["wall"]])
        cpu = summary([t for r in results for t in r["cpu"]])
        ratio = summary(paired_ratios(per_run["1"], per_run[setting]))
        rows.append(
            {
                "setting": setting,
                "threads": results[0]["threads"],
                "epoch_wall_s_median": wall["median"],
                "epoch_wall_s_min": wall["min"],
                "epoch_wall_s_max": wall["max"],
                "epoch_cpu_s_median": cpu["median"],
                "speedup_vs_1_thread_median": ratio["median"],
                "speedup_vs_1_thread_min": ratio["min"],
                "speedup_vs_1_thread_max": ratio["max"],
                "epochs_timed": wall["n"],
                "processes": len(results),
                "cpu_cores": os.cpu_count(),
                "data": results[0]["data"],
                "n_train": results[0]["n_train"],
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=SETTINGS, help="internal: time one setting and print JSON")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick, args.epochs or 2)))
        return
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(run(args.quick, args.repeats, args.epochs))


if __name__ == "__main__":
    main()
