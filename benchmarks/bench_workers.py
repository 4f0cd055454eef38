"""Trials per minute with 1, 2 and 4 worker processes on one study, on PostgreSQL and on a journal file.

Why: notebook 09 claims that worker *processes* scale a CPU-bound study up to the number of cores and a
waiting one well beyond it, and that the storage is not the bottleneck for trials that take ~0.1 s. This
measures it. Throughput is taken from the storage's own timestamps (first trial start to last trial end), so
Python start-up of the workers is left out (they start their first trials together); the wall time
including start-up is reported beside it.

    python benchmarks/bench_workers.py                    # starts a throwaway durable PostgreSQL server
    python benchmarks/bench_workers.py --pg-url URL --csv benchmarks/results/workers.csv

PostgreSQL: ``--pg-url``, else ``TUTORIAL_UTILS_PG_URL``, else a server started with tools/pg_test_server.py
(fsync on: the numbers include real commits). Without any, only the journal file is measured.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tutorial_utils.distributed import measure_throughput  # noqa: E402

COLUMNS = ["storage", "objective", "workers", "trials", "span_s", "trials_per_min", "wall_s", "repeat"]


def _server_tool():
    spec = importlib.util.spec_from_file_location("pg_test_server", REPO / "tools" / "pg_test_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("TUTORIAL_UTILS_PG_URL"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=48, help="trials per study, split over the workers")
    parser.add_argument("--objective", nargs="+", choices=["cpu", "sleep"], default=["cpu", "sleep"])
    parser.add_argument("--cpu-steps", type=int, default=300_000, help="~0.1 s of pure Python per trial")
    parser.add_argument("--seconds", type=float, default=0.1, help="wait per trial for the sleep objective")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    server_root = None
    storages = {}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        storages["journal"] = f"journal:{Path(tmp) / 'bench.log'}"
        if args.pg_url:
            storages["postgresql"] = args.pg_url
        else:
            tool = _server_tool()
            server_root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
            try:
                storages["postgresql"] = tool.start(server_root, durable=True)
            except tool.ServerError as exc:
                print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
        rows = []
        try:
            for repeat in range(args.repeats):
                for objective in args.objective:
                    cost = {"cpu_steps": args.cpu_steps} if objective == "cpu" else {"seconds": args.seconds}
                    for storage, url in storages.items():
                        for n in args.workers:
                            row = {"storage": storage, "objective": objective, "workers": n, "repeat": repeat}
                            row.update(measure_throughput(url, objective, n, args.trials, **cost))
                            rows.append(row)
                            print(" ".join(f"{k}={row[k]}" for k in COLUMNS), flush=True)
        finally:
            if server_root is not None:
                tool.stop(server_root)

    print(f"\n{platform.node()}: {os.cpu_count()} CPUs, optuna {optuna.__version__}, {args.trials} trials per study,"
          f" median of {args.repeats} repeats (trials/min from the storage's timestamps)")  # fmt: skip
    print(f"{'storage':<11} {'objective':<9} " + " ".join(f"{n:>2} worker(s)" for n in args.workers))
    for storage in storages:
        for objective in args.objective:
            cells = []
            for n in args.workers:
                rates = [r["trials_per_min"] for r in rows if (r["storage"], r["objective"], r["workers"]) == (storage, objective, n)]  # fmt: skip
                cells.append(f"{statistics.median(rates):>12.0f}")
            print(f"{storage:<11} {objective:<9} " + " ".join(cells))
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
