"""Benchmark: loading the face CSV, the original study's way against ours (cold parse and cached reload).

- naive: what the original study did: ``pandas.read_csv``, then every pixel string split in Python
  (``df.pixels.apply(lambda s: np.array(s.split(), dtype="float32"))``) and stacked.
- ours, cold: ``load_age_gender(path, use_cache=False)``: pandas reads the CSV as text (a second thread
  decompresses), NumPy parses the pixel strings 32 rows at a time (``tutorial_utils/face_csv.py``).
- before #26: the 648-line byte-level parser it replaced (three routes, a prefetch thread), loaded from git
  (commit BEFORE_26) into this process, so that the ratio ours/before is measured side by side. Skipped,
  with a note, where git or that commit is not there (e.g. an installed wheel).
- ours, cached: ``load_age_gender(path)`` when the parsed-array cache is already there.

All run side by side in one process, interleaved (naive, ..., before, cold, cached, naive, ...) so drifting
load on a shared machine hits all alike; each is summarised by its median and spread over the repeats
(5 in full mode). Wall time is the claim (both parsers use two threads); this process's CPU time and the
load average are recorded too, because on a busy machine wall time mostly measures the other jobs.

    python -m benchmarks.bench_data_load                      # real file if present, else synthetic
    python -m benchmarks.bench_data_load --quick              # 2000 synthetic rows, seconds
    python -m benchmarks.bench_data_load --path data/age_gender.csv --csv benchmarks/results/data_load.csv
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # also runnable as a plain script
    sys.path.insert(0, str(REPO))

from benchmarks.common import environment_stamp  # noqa: E402
from tutorial_utils.data import load_age_gender  # noqa: E402
from tutorial_utils.synthetic import make_synthetic_faces  # noqa: E402

REAL_DATA = REPO.parent / "shared" / "data" / "age_gender.csv.gz"
QUICK_ROWS = 2000
FULL_SYNTHETIC_ROWS = 23705  # the real file's row count
NAIVE = "naive: read_csv + per-row split"
COLD = "ours: cold (use_cache=False)"
CACHED = "ours: cached reload"
BEFORE_26 = "7d8e7ad"  # the last commit with the byte-level parser that issue #26 replaced
BEFORE = f"before #26: byte-level parser (git {BEFORE_26})"
PANDAS = "library: pandas C engine, pixels as a space-separated table"
PYARROW = "library: pyarrow CSV reader + split"
VERSIONED = ("numpy", "pandas")


def pandas_load(path: Path) -> np.ndarray:
    """The library route: pandas reads the CSV, then its C engine parses the pixel column as a table of ints."""
    import io

    frame = pd.read_csv(path, dtype={"pixels": str})
    text = "\n".join(frame["pixels"].to_list())
    table = pd.read_csv(io.StringIO(text), sep=" ", header=None, dtype=np.uint8, engine="c")
    return table.to_numpy().reshape(len(frame), 48, 48)


def pyarrow_load(path: Path) -> np.ndarray:
    """The other library route: pyarrow's multithreaded CSV reader, then split and cast in Arrow."""
    import pyarrow.compute as pc
    from pyarrow import csv

    table = csv.read_csv(path)
    values = pc.list_flatten(pc.split_pattern(table["pixels"], " "))
    return pc.cast(values, "uint8").to_numpy(zero_copy_only=False).reshape(table.num_rows, 48, 48)


def naive_load(path: Path) -> np.ndarray:
    """The original study's loading code (pixels as float32 per row, as it did), stacked to (n, 48, 48)."""
    frame = pd.read_csv(path)
    pixels = frame["pixels"].apply(lambda s: np.array(s.split(), dtype="float32"))
    return np.stack(pixels.to_numpy()).reshape(-1, 48, 48)


def parser_before_26(folder: Path):
    """``tutorial_utils/face_csv.py`` as of BEFORE_26, imported as its own module; None where git cannot give it."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{BEFORE_26}:tutorial_utils/face_csv.py"],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "face_csv_before_26.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("face_csv_before_26", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call; CPU counts every thread of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def synthetic_file(rows: int, folder: Path) -> Path:
    path = folder / f"synthetic_{rows}.csv.gz"
    make_synthetic_faces(rows, seed=0).to_csv(path, index=False)
    return path


def environment() -> dict[str, object]:
    """Machine, CPU, library versions and date: what every results row carries, to stay comparable."""
    stamp = environment_stamp("cpu")
    return {"cpu": stamp.pop("device_name"), **{k: v for k, v in stamp.items() if k not in ("device", "torch_threads")}}


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def run(quick: bool, path: str | os.PathLike | None = None, repeats: int | None = None, rows: int | None = None) -> pd.DataFrame:
    """Time naive / cold / cached loading of ``path`` side by side; one row per method.

    Without ``path``: the real file when present (unless ``quick``), else a synthetic file of ``rows`` rows
    (2000 in quick mode, 23,705 otherwise) written to a temporary folder. ``repeats``: 3 in quick mode, 5 else.
    """
    repeats = max(3, repeats or (3 if quick else 5))
    with tempfile.TemporaryDirectory(prefix="bench_data_load_") as tmp:
        tmp_dir = Path(tmp)
        if path is not None:
            source, data = Path(path), "given file"
        elif not quick and REAL_DATA.exists():
            source, data = REAL_DATA, "real CSV"
        else:
            n = rows or (QUICK_ROWS if quick else FULL_SYNTHETIC_ROWS)
            source, data = synthetic_file(n, tmp_dir), "synthetic"
        cache_dir = tmp_dir / "cache"  # never the user's cache
        reference = load_age_gender(source, cache_dir=cache_dir, verbose=False)  # also fills the cache
        n_rows = len(reference)

        def cached():
            faces = load_age_gender(source, cache_dir=cache_dir, verbose=False)
            assert faces.from_cache, "the cached run did not hit the cache"

        before = parser_before_26(tmp_dir)
        candidates = {NAIVE: lambda: naive_load(source), PANDAS: lambda: pandas_load(source)}
        if before is not None:
            candidates[BEFORE] = lambda: before.read_face_file(source)
        else:
            print(f"git show {BEFORE_26}:tutorial_utils/face_csv.py failed: the parser before #26 is not measured")
        candidates[COLD] = lambda: load_age_gender(source, use_cache=False, verbose=False)
        candidates[CACHED] = cached
        try:
            import pyarrow  # noqa: F401 - optional: measured when installed

            candidates[PYARROW] = lambda: pyarrow_load(source)
        except ImportError:
            print("pyarrow is not installed: its route is not measured (pip install pyarrow)")
        # Same numbers from every route, checked once (outside the timing).
        np.testing.assert_array_equal(naive_load(source).astype(np.uint8), reference.images)
        np.testing.assert_array_equal(pandas_load(source), reference.images)
        if before is not None:
            old = before.read_face_file(source)
            for name in ("images", "age", "ethnicity", "gender", "img_name"):
                np.testing.assert_array_equal(old[name], getattr(reference, name), err_msg=name)
        if PYARROW in candidates:
            np.testing.assert_array_equal(pyarrow_load(source), reference.images)
        times = {name: {"wall": [], "cpu": []} for name in candidates}
        load_before = load_average()
        for _ in range(repeats):
            for name, fn in candidates.items():
                wall, cpu = timed(fn)
                times[name]["wall"].append(wall)
                times[name]["cpu"].append(cpu)
        load_after = load_average()

    naive_wall = times[NAIVE]["wall"]
    before_times = times.get(BEFORE)

    def vs_before(measured: dict[str, list[float]], clock: str) -> float:
        """Median over rounds of this method's time / the parser before #26's, same round."""
        if before_times is None:
            return float("nan")
        return statistics.median(a / b for a, b in zip(measured[clock], before_times[clock], strict=True))

    stamp = environment()
    table = []
    for name, measured in times.items():
        wall, cpu = measured["wall"], measured["cpu"]
        table.append(
            {
                "method": name,
                "wall_s_median": statistics.median(wall),
                "wall_s_min": min(wall),
                "wall_s_max": max(wall),
                "cpu_s_median": statistics.median(cpu),
                "speedup_vs_naive": statistics.median(a / b for a, b in zip(naive_wall, wall, strict=True)),
                "time_vs_before_26_wall": vs_before(measured, "wall"),
                "time_vs_before_26_cpu": vs_before(measured, "cpu"),
                "repeats": repeats,
                "rows": n_rows,
                "data": data,
                "source": source.name if data != "real CSV" else str(source),
                "load_avg_1min_before": load_before,
                "load_avg_1min_after": load_after,
                **stamp,
            }
        )
    return pd.DataFrame(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None, help=f"face CSV (default: {REAL_DATA} if present)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} synthetic rows unless --path is given")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per method (default 5, quick 3)")
    parser.add_argument("--rows", type=int, default=None, help="rows of the synthetic file, when one is used")
    parser.add_argument("--csv", type=Path, default=None, help="append one row per method to this CSV")
    args = parser.parse_args(argv)
    result = run(args.quick, path=args.path, repeats=args.repeats, rows=args.rows)
    shown = result[["method", "wall_s_median", "wall_s_min", "wall_s_max", "cpu_s_median", "speedup_vs_naive",
                    "time_vs_before_26_wall", "time_vs_before_26_cpu", "repeats"]]
    first = result.iloc[0]
    print(f"{first['rows']} rows, {first['data']} ({first['source']}); {first['cpu']}, {first['cpu_cores']} cores; "
          f"load average {first['load_avg_1min_before']:.1f} -> {first['load_avg_1min_after']:.1f}")
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(shown.to_string(index=False))
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(args.csv, mode="a", header=not args.csv.exists(), index=False)
        print(f"appended {len(result)} rows to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
