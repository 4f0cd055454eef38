"""Run the speed benchmarks: ``python -m benchmarks [--quick] [--only NAME ...] [--csv-dir DIR]`` (``make bench``).

Each benchmark prints its table and, in full mode, adds its rows to ``benchmarks/results/<name>.csv`` stamped
with the machine, library versions and date (a file with other columns is replaced). Quick mode (synthetic data, a few repeats, under 2 minutes) writes
CSVs only when ``--csv-dir`` is given, so a smoke run never overwrites the recorded results.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

from .common import RESULTS_DIR, stamped

# name -> (module, what it measures). Each module has run(quick, ...) -> DataFrame.
BENCHMARKS = {
    "data_load": ("benchmarks.bench_data_load", "1. parse the face CSV: per-row split vs vectorised vs cached"),
    "epoch": ("benchmarks.bench_epoch", "2. one epoch: classic Dataset+DataLoader vs ours vs the FLOP limit"),
    "threads": ("benchmarks.bench_threads", "3. epoch time with 1, 2, torch's and the course's default threads"),
    "sampler_overhead": ("benchmarks.bench_sampler_overhead", "4. time to choose a trial, per sampler and history"),
    "study": ("benchmarks.bench_study", "5. the 100-trial Skopt study with pruning, end to end"),
    "workers": ("benchmarks.bench_workers", "trials per minute with 1/2/4 worker processes (journal, PostgreSQL)"),
    "batched": ("benchmarks.bench_batched", "trials per second: K trials as one batched set of ops vs one by one"),
    "lockstep": ("benchmarks.bench_lockstep", "the same studies one by one (plain) vs in lockstep (batched)"),
}


def call_benchmark(name: str, module, args: argparse.Namespace) -> pd.DataFrame:
    """Pass each benchmark only the options it takes."""
    if name == "epoch":
        return module.run(args.quick, device=args.device)
    if name == "lockstep":
        return module.run(args.quick, device=args.device)
    if name == "study":
        return module.run(args.quick, device=args.device, run_study_if_missing=args.run_study)
    return module.run(args.quick)


def show(frame: pd.DataFrame) -> str:
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4g}".format):
        return frame.to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="synthetic data, few repeats: a smoke run under 2 minutes")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--csv-dir", type=Path, help="write <name>.csv here (default: benchmarks/results/ in full mode)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: where the epoch and study benchmarks train")
    parser.add_argument("--run-study", action="store_true", help="run the 100-trial study if no recorded one exists")
    args = parser.parse_args(argv)
    csv_dir = args.csv_dir or (None if args.quick else RESULTS_DIR)

    from tutorial_utils.setup import configure_torch_threads

    threads = configure_torch_threads()  # what a learner's notebook gets
    mode = "quick" if args.quick else "full"
    print(f"Benchmarks ({mode} mode, {threads} torch thread(s), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}).")
    failed = []
    for name in args.only or BENCHMARKS:
        module_name, what = BENCHMARKS[name]
        print(f"\n== {name}: {what}", flush=True)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            print(f"skipped: {module_name} does not exist yet")
            continue
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        try:
            frame = call_benchmark(name, module, args)
        except Exception:  # noqa: BLE001 - report it and go on with the other benchmarks
            traceback.print_exc()
            failed.append(name)
            continue
        seconds = time.perf_counter() - start
        print(show(frame))
        print(f"({name} took {seconds:.1f} s; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
        if csv_dir is not None:
            csv_dir.mkdir(parents=True, exist_ok=True)
            out = stamped(frame, args.device).assign(mode=mode, load_avg_1min=round(load_before, 2), bench_seconds=round(seconds, 1))
            path = csv_dir / f"{name}.csv"
            if path.exists() and list(pd.read_csv(path, nrows=0).columns) == list(out.columns):
                out.to_csv(path, mode="a", header=False, index=False)  # keep the history; the report shows the latest
                print(f"appended to {path}")
            elif path.exists():  # the columns changed: keep the history under the union of both sets of columns
                pd.concat([pd.read_csv(path), out], ignore_index=True).to_csv(path, index=False)
                print(f"appended to {path} (columns merged)")
            else:
                out.to_csv(path, index=False)
                print(f"wrote {path}")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
