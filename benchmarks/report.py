"""Render the recorded results (benchmarks/results/*.csv) as the markdown tables of benchmarks/README.md.

``python -m benchmarks.report`` rewrites the part of the README between the two ``results`` markers, so the
tables there are always the CSVs' numbers, never hand-copied. ``--print`` shows them without writing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .common import RESULTS_DIR

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _num(value: float, digits: int = 3) -> str:
    if pd.isna(value):
        return ""
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _spread(row: pd.Series, stem: str, digits: int = 3) -> str:
    """'median (min-max)' from the columns <stem>_median, <stem>_min, <stem>_max."""
    med, lo, hi = (row.get(f"{stem}_{k}") for k in ("median", "min", "max"))
    if pd.isna(med):
        return ""
    return f"{_num(med, digits)} ({_num(lo, digits)}–{_num(hi, digits)})"


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """The last recorded run only: some benchmarks append a run's rows to their CSV instead of replacing them."""
    if "date_utc" not in frame.columns or frame["date_utc"].nunique() <= 1:
        return frame
    return frame[frame["date_utc"] == frame["date_utc"].iloc[-1]].reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    return latest(pd.read_csv(path))


def _markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _stamp(frame: pd.DataFrame) -> str:
    first = frame.iloc[0]
    cpu = first.get("device_name", first.get("cpu", ""))
    parts = [
        f"{first.get('date_utc', '?')} UTC",
        f"{cpu}, {first.get('cpu_cores', '?')} cores",
        f"torch {first.get('torch', '?')}" if "torch" in frame.columns else None,
        f"optuna {first.get('optuna', '?')}" if "optuna" in frame.columns else None,
        f"load average {first['load_avg_1min']:.1f} at start" if "load_avg_1min" in frame.columns else None,
        f"{first['bench_seconds']:.0f} s" if "bench_seconds" in frame.columns else None,
    ]
    return "_" + "; ".join(p for p in parts if p) + "._"


def data_load_table(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "method": frame["method"],
            "wall s, median (min–max)": [_spread(r, "wall_s") for _, r in frame.iterrows()],
            "CPU s": frame["cpu_s_median"].map(_num),
            "speedup vs naive (wall)": frame["speedup_vs_naive"].map(lambda v: f"{v:.1f}x"),
            "time / parser before #26 (wall, CPU)": [f"{r['time_vs_before_26_wall']:.2f}, {r['time_vs_before_26_cpu']:.2f}" if pd.notna(r.get("time_vs_before_26_wall")) else "" for _, r in frame.iterrows()],
            "repeats": frame["repeats"],
        }
    )
    return f"{_markdown(shown)}\n\n{frame['rows'].iloc[0]} rows, {frame['data'].iloc[0]}. {_stamp(frame)}"


def epoch_table(frame: pd.DataFrame) -> str:
    clock = frame["clock"].iloc[0]
    measured = ~frame["pipeline"].str.startswith("limit")
    shown = pd.DataFrame(
        {
            "pipeline": frame["pipeline"],
            f"epoch s ({clock}), median (min–max)": [_spread(r, "epoch_s") for _, r in frame.iterrows()],
            "ours is faster by, median (min–max)": [
                f"{_spread(r, 'speedup')}x" if m else "" for (_, r), m in zip(frame.iterrows(), measured, strict=True)
            ],
            "wall s": frame["wall_s_median"].map(_num),
            "GFLOP/s": frame["gflops"].map(_num),
            "x the step-shape limit": frame["x_limit_step_shapes"].map(lambda v: f"{v:.1f}x"),
            "x the peak limit": frame["x_limit_peak"].map(lambda v: f"{v:.1f}x"),
        }
    )
    first = frame.iloc[0]
    note = (
        f"{first['n_train']} training rows of {first['data']}, batch {first['batch']}, {first['input']} inputs, "
        f"network {first['network']} ({first['epoch_gflop']:.2f} GFLOP per epoch forward+backward), "
        f"{first['threads']} torch thread(s), {first['repeats']} interleaved repeats; ours also pays "
        f"{first['ours_prepare_once_s']:.2f} s once to prepare its tensors."
    )
    return f"{_markdown(shown)}\n\n{note} {_stamp(frame)}"


def threads_table(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "setting": frame["setting"],
            "threads": frame["threads"],
            "epoch wall s, median (min–max)": [_spread(r, "epoch_wall_s") for _, r in frame.iterrows()],
            "CPU s per epoch": frame["epoch_cpu_s_median"].map(_num),
            "speedup vs 1 thread, median (min–max)": [
                f"{_spread(r, 'speedup_vs_1_thread', 2)}x" for _, r in frame.iterrows()
            ],
            "processes x epochs": [f"{p} x {e // p}" for p, e in zip(frame["processes"], frame["epochs_timed"], strict=True)],
        }
    )
    return f"{_markdown(shown)}\n\n{frame['n_train'].iloc[0]} training rows of {frame['data'].iloc[0]}. {_stamp(frame)}"


def sampler_table(frame: pd.DataFrame) -> str:
    cells = frame.assign(
        cell=[
            f"{_num(r['choose_cpu_s_median'], 2)} s ({r['share_of_trial_pct']:.2g} %)" for _, r in frame.iterrows()
        ]
    )
    pivot = cells.pivot(index="sampler", columns="finished_trials", values="cell")
    pivot = pivot.reindex([s for s in dict.fromkeys(frame["sampler"])])
    pivot.columns = [f"after {n} trials" for n in pivot.columns]
    shown = pivot.reset_index()
    first = frame.iloc[0]
    note = (
        f"CPU seconds to choose one trial (median of {first['repeats']}), and in brackets its share of a typical "
        f"trial: {first['typical_epochs']} epochs x {first['epoch_cpu_s']:.3f} s (our epoch, {first['data']}) = "
        f"{first['typical_trial_cpu_s']:.1f} s."
    )
    return f"{_markdown(shown)}\n\n{note} {_stamp(frame)}"


def study_table(frame: pd.DataFrame) -> str:
    columns = (
        "study", "status", "seed", "n_trials", "completed", "pruned",
        "best_valid", "best_value", "wall_time_s", "cpu_time_s", "median_trial_s", "source",
    )
    shown = frame[[c for c in columns if c in frame.columns]].astype(object)
    for col in shown.columns:
        if col in ("seed", "n_trials", "completed", "pruned"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
        elif col not in ("study", "status", "source"):
            shown[col] = shown[col].map(lambda v: _num(v, 4))
    return f"{_markdown(shown.fillna(''))}\n\n{_stamp(frame)}"


def targets_table(results_dir: Path) -> str:
    """The issue's targets against the recorded numbers (each verdict computed here, not typed in)."""
    rows = []

    def add(target: str, measured: str, met: bool | None) -> None:
        rows.append({"target": target, "measured": measured, "met": {True: "yes", False: "**no**", None: "n/a"}[met]})

    data = results_dir / "data_load.csv"
    if data.exists():
        frame = _read(data).set_index("method")
        cold = frame[frame.index.str.contains("cold")].iloc[0]
        cached = frame[frame.index.str.contains("cached")].iloc[0]
        add("data: cold parse >= 5x faster than per-row split", f"{cold['speedup_vs_naive']:.1f}x (wall, median)", cold["speedup_vs_naive"] >= 5)
        add("data: cached reload <= 0.5 s", f"{cached['wall_s_median']:.3f} s (wall, median)", cached["wall_s_median"] <= 0.5)
    epoch = results_dir / "epoch.csv"
    if epoch.exists():
        frame = _read(epoch)
        for _, row in frame[frame["pipeline"].str.startswith("classic")].iterrows():
            add(
                f"epoch: ours >= 5x faster than '{row['pipeline']}'",
                f"{row['speedup_median']:.1f}x ({row['clock']} time; {row['speedup_min']:.1f}–{row['speedup_max']:.1f}x)",
                row["speedup_median"] >= 5,
            )
    return _markdown(pd.DataFrame(rows)) if rows else "_Nothing recorded yet._"


def workers_table(frame: pd.DataFrame) -> str:
    wide = frame.pivot_table(index=["storage", "objective"], columns="workers", values="trials_per_min")
    wide.columns = [f"{n} worker(s)" for n in wide.columns]
    shown = wide.map(lambda v: f"{v:.0f}").reset_index()
    note = f"Trials per minute, median of {frame['repeats'].iloc[0]} ({frame['trials'].iloc[0]} trials each); see bench_workers.py."
    return f"{_markdown(shown)}\n\n{note} {_stamp(frame)}"


def batched_table(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame({
        "K (slots)": frame["k"],
        "plain s / trial-epoch": frame["plain_trial_epoch_s"].map(_num),
        "batched s / trial-epoch": frame["batched_trial_epoch_s"].map(_num),
        "speedup (min-max)": [f"{m:.2f} ({lo:.2f}-{hi:.2f})" for m, lo, hi in
                              zip(frame["speedup_median"], frame["speedup_min"], frame["speedup_max"], strict=True)],
        "batched tensors MB": frame["batched_tensors_mb"].map(lambda v: f"{v:.0f}"),
        "peak memory MB": frame["peak_memory_mb"].map(lambda v: f"{v:.0f}"),
    })
    note = (f"K configurations of the original space trained together (`BatchedTrainer`) against the plain trainer, "
            f"side by side in one process; {frame['rows'].iloc[0]} rows x {frame['features'].iloc[0]} features, "
            f"batch {frame['batch'].iloc[0]}, clock: {frame['clock'].iloc[0]} time.")
    return f"{_markdown(shown)}\n\n{note} {_stamp(frame)}"


def lockstep_table(frame: pd.DataFrame) -> str:
    columns = ["mode", "studies", "trials", "epochs_trained", "cpu_s", "wall_s", "cpu_ms_per_trial_epoch",
               "speedup_per_trial_epoch", "ask_s_total", "exposed_ask_s"]
    shown = frame.reindex(columns=columns).dropna(axis=1, how="all").copy()  # runs before 2026-12 lack exposed_ask_s
    for column in ("cpu_s", "wall_s", "cpu_ms_per_trial_epoch", "speedup_per_trial_epoch", "ask_s_total", "exposed_ask_s"):
        if column in shown:
            shown[column] = shown[column].map(_num)
    note = (f"The same studies (4 arms x seeds, MedianPruner) one by one with the plain trainer, then in lockstep "
            f"with the batched trainer, waiting for every ask before each epoch and with asks overlapping training; "
            f"`exposed_ask_s`: seconds the trainer waited on asks; {frame['data'].iloc[0]}.")
    return f"{_markdown(shown)}\n\n{note} {_stamp(frame)}"


SECTIONS = {
    "data_load": ("1. Loading the face CSV", data_load_table),
    "epoch": ("2. One training epoch", epoch_table),
    "threads": ("3. Torch threads", threads_table),
    "sampler_overhead": ("4. Sampler overhead", sampler_table),
    "study": ("5. A whole study", study_table),
    "workers": ("Worker processes (notebook 11)", workers_table),
    "batched": ("6. Many trials at once: the batched trainer", batched_table),
    "lockstep": ("7. Many studies at once: lockstep against one by one", lockstep_table),
}


def render(results_dir: Path = RESULTS_DIR) -> str:
    parts = [f"### Targets\n\n{targets_table(results_dir)}"]
    for name, (title, table) in SECTIONS.items():
        path = results_dir / f"{name}.csv"
        body = table(_read(path)) if path.exists() else "_Not recorded yet._"
        parts.append(f"### {title} (`{path.name}`)\n\n{body}")
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the tables instead of writing the README")
    args = parser.parse_args()
    tables = render()
    if args.print:
        print(tables)
        return
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{README} lacks the markers {START} ... {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{tables}\n{END}{tail}")
    print(f"updated {README}")


if __name__ == "__main__":
    main()
