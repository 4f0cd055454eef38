"""What every benchmark shares: the data to train on, the network under test, fair timing and the CSV stamp.

Timings on a shared machine are noisy, so every comparison is run side by side in one process, interleaved
(A B A B ...), repeated, and summarised by its median and spread (min-max), never by one lucky run.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from tutorial_utils.machine import VERSIONED, machine_info

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "age_gender.csv.gz"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The original study's best trial: 5 FC layers 55-53-62-62-28, last_fc 55, Adam, lr 0.00268, 24x24, batch 128.
# Its dropout rates do not change the cost of an epoch; 0.2 stands in for them.
BEST_PARAMS = {
    "num_fc_layers": 5,
    **{f"fc_output_feat_{i}": w for i, w in enumerate((55, 53, 62, 62, 28))},
    **{f"fc_dropout_{i}": 0.2 for i in range(5)},
    "last_fc": 55,
    "optimizer": "Adam",
    "lr": 0.00268,
}
IMAGE_SIDE = 24
BATCH_SIZE = 128
QUICK_SYNTHETIC_ROWS = 2000
FULL_SYNTHETIC_ROWS = 23705  # the real file's row count, when the real file is absent


def load_faces(quick: bool, verbose: bool = False, rows: int | None = None):
    """Real faces in full mode when the file is there (the benchmark's claim is about real data), else synthetic.

    Quick mode always uses a small synthetic set (``rows`` of them) so the suite runs anywhere in seconds.
    """
    from tutorial_utils.data import load_age_gender

    if not quick and REAL_DATA.exists():
        return load_age_gender(REAL_DATA, verbose=verbose)
    return _synthetic_faces(rows or (QUICK_SYNTHETIC_ROWS if quick else FULL_SYNTHETIC_ROWS))


@functools.cache
def _synthetic_faces(rows: int):
    """Drawn once per process: several benchmarks of one run share the same synthetic set."""
    from tutorial_utils.data import synthetic_faces

    return synthetic_faces(rows, seed=0)


def data_label(faces) -> str:
    return f"synthetic ({len(faces)} rows)" if faces.is_synthetic else f"real CSV ({len(faces)} rows)"


def timed(fn: Callable[[], object], sync: Callable[[], None] | None = None) -> float:
    """Wall seconds of one call (``sync`` waits for a GPU, so queued kernels are counted)."""
    return timed_both(fn, sync)[0]


def timed_both(fn: Callable[[], object], sync: Callable[[], None] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one call. CPU time is this process's: on a machine shared with other jobs it
    barely moves when they steal the cores, so it is the steadier measure for single-threaded work."""
    if sync:
        sync()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if sync:
        sync()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int, sync=None
) -> dict[str, dict[str, list[float]]]:
    """Time each candidate ``repeats`` times in turn (A B A B ...), so drifting machine load hits all alike.

    Returns ``{name: {"wall": [...], "cpu": [...]}}``.
    """
    times = {name: {"wall": [], "cpu": []} for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            wall, cpu = timed_both(fn, sync)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median with the spread (min, max) and the number of repeats behind it."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def paired_ratios(slow: Sequence[float], fast: Sequence[float]) -> list[float]:
    """Ratio per repeat (each pair ran back to back), so a load spike hits both sides of one ratio."""
    return [s / f for s, f in zip(slow, fast, strict=True)]


def device_name(device: str) -> str:
    info = machine_info(device, packages=())
    return info.get("gpu", info["cpu"])


def environment_stamp(device: str = "cpu") -> dict[str, object]:
    """Machine, library versions and date: the columns every results CSV carries, so numbers stay comparable."""
    info = machine_info(device, packages=VERSIONED)
    return {
        "date_utc": info["date_utc"], "machine": info["host"], "device": device,
        "device_name": info.get("gpu", info["cpu"]), "cpu_cores": info["cpu_count"],
        "torch_threads": info["torch_threads"], "python": info["python"],
        **{package: info[package] for package in VERSIONED},
    }


def stamped(frame: pd.DataFrame, device: str = "cpu") -> pd.DataFrame:
    """``frame`` with the environment columns appended (same values on every row)."""
    out = frame.copy()
    for key, value in environment_stamp(device).items():
        if key not in out.columns:
            out[key] = value
    return out
