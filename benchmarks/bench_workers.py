"""Trials per minute with 1, 2 and 4 worker processes on one study, on PostgreSQL and on a journal file.

Why: notebook 09 claims that worker *processes* scale a CPU-bound study up to the number of cores and a
waiting one beyond it, and that the storage's cost per trial matters only for very short trials. This
measures it. Throughput is taken from the storage's own timestamps (first trial start to last trial end),
with the workers started together, so Python start-up of the workers is left out; the wall time including
start-up is reported beside it.

    python -m benchmarks.bench_workers                   # starts a throwaway durable PostgreSQL server
    python -m benchmarks.bench_workers --pg-url URL --csv benchmarks/results/workers.csv
    python -m benchmarks.bench_workers --quick           # 1 and 2 workers, few trials: a smoke run

PostgreSQL: ``--pg-url``, else ``TUTORIAL_UTILS_PG_URL``, else a server started with tools/pg_test_server.py
(fsync on: the numbers include real commits). Without any, only the journal file is measured.
``run(quick)`` is the interface of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import optuna
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # also runnable as a plain script
    sys.path.insert(0, str(REPO))

from tutorial_utils.distributed import measure_throughput  # noqa: E402

FULL = {"workers": (1, 2, 4), "trials": 48, "repeats": 3, "objectives": ("cpu", "sleep")}
QUICK = {"workers": (1, 2), "trials": 8, "repeats": 1, "objectives": ("cpu",)}
COST = {"cpu": {"cpu_steps": 300_000}, "sleep": {"seconds": 0.1}}  # ~0.1 s per trial either way, unloaded


def _server_tool():
    spec = importlib.util.spec_from_file_location("pg_test_server", REPO / "tools" / "pg_test_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_all(storages: dict[str, str], workers, trials: int, repeats: int, objectives) -> pd.DataFrame:
    """One fresh study per (repeat, objective, storage, worker count), interleaved so load drifts hit all."""
    rows = []
    for repeat in range(repeats):
        for objective in objectives:
            for storage, url in storages.items():
                for n in workers:
                    result = measure_throughput(url, objective, n, trials, **COST[objective])
                    row = {"storage": storage, "objective": objective, "repeat": repeat, **result}
                    rows.append(row)
                    print("  " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Median trials/min (and min-max) per storage, objective and worker count."""
    grouped = frame.groupby(["storage", "objective", "workers"])["trials_per_min"]
    out = grouped.agg(["median", "min", "max"]).round(0).reset_index()
    return out.rename(columns={"median": "trials_per_min", "min": "min", "max": "max"})


def run(quick: bool = False, pg_url: str | None = None) -> pd.DataFrame:
    """Measure journal file and PostgreSQL; return the per-configuration summary (median over repeats)."""
    plan = QUICK if quick else FULL
    pg_url = pg_url or os.environ.get("TUTORIAL_UTILS_PG_URL")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tool, server_root = None, None
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        storages = {"journal": f"journal:{Path(tmp) / 'bench.log'}"}
        try:
            if pg_url:
                storages["postgresql"] = pg_url
            else:
                tool = _server_tool()
                server_root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
                try:
                    storages["postgresql"] = tool.start(server_root, durable=True)
                except tool.ServerError as exc:
                    print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
            frame = measure_all(
                storages, plan["workers"], plan["trials"], plan["repeats"], plan["objectives"]
            )
        finally:
            if server_root is not None:
                tool.stop(server_root)
    table = summary(frame)
    table["trials"] = plan["trials"]
    table["repeats"] = plan["repeats"]
    table["cpu_count"] = os.cpu_count()
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL storage URL (default: start a throwaway one)"
    )
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers, 8 trials, one repeat")
    parser.add_argument("--csv", type=Path, default=None, help="write the summary here, stamped")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    table = run(args.quick, args.pg_url)
    wide = table.pivot_table(index=["storage", "objective"], columns="workers", values="trials_per_min")
    print(f"\nTrials per minute (median of {table['repeats'].iloc[0]}), {os.cpu_count()} cores, "
          f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after:")  # fmt: skip
    print(wide.to_string())
    if args.csv:
        from benchmarks.common import stamped

        args.csv.parent.mkdir(parents=True, exist_ok=True)
        stamped(table).assign(load_avg_1min=round(load_before, 2)).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
