"""The sampler showdown on the real faces: run every study, and keep its per-trial record in results/showdown/.

Each study (arm x seed: 100 trials, the original's MedianPruner, 50 epochs, 24x24, batch 128, selection on
validation) is one ``python -m tutorial_utils run`` process with one torch thread and its own SQLite file,
``--jobs`` at once. Studies resume: rerunning ``run`` after an interruption finishes what is missing, and a
killed run's unfinished trial is marked FAIL. Each finished study's record is written at once, so it can be
committed as results come in.

    python experiments/run_showdown.py run --seeds 0 1 2 3 4 5 6 7 8 9 --jobs 2
    python experiments/run_showdown.py export      # (re)write results/showdown/*.csv from the SQLite files
    python experiments/run_showdown.py summarize   # the per-arm table and the verdict, from the records alone
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARMS = ("random", "skopt", "skopt-pruned", "tpe", "gp")


def name_prefix(pruner: str, space: str = "original") -> str:
    """``<pruner>prune`` for a pruner other than the original's, ``designed`` for the designed space, joined."""
    parts = ([] if pruner == "median" else [f"{pruner}prune"]) + ([] if space == "original" else [space])
    return "-".join(parts)


def study_name(arm: str, seed: int, pruner: str, space: str = "original") -> str:
    prefix = name_prefix(pruner, space)
    return f"{prefix}-{arm}-seed{seed}" if prefix else f"{arm}-seed{seed}"


def study_command(arm: str, seed: int, pruner: str, args: argparse.Namespace) -> list[str]:
    space = getattr(args, "space", "original")
    name = study_name(arm, seed, pruner, space)
    storage = f"sqlite:///{Path(args.runs).resolve() / f'{name}.db'}"
    command = [
        sys.executable, "-m", "tutorial_utils", "run", "--sampler", arm, "--seed", str(seed),
        "--n-trials", str(args.n_trials), "--epochs", str(args.epochs), "--pruner", pruner,
        "--data", args.data, "--storage", storage, "--threads", "1", "--device", args.device,
    ]
    if name_prefix(pruner, space):
        command += ["--name-prefix", name_prefix(pruner, space)]
    if space != "original":
        command += ["--space", space]
    return command


def export(runs: Path, out: Path, names: list[str] | None = None) -> list[Path]:
    """Write the records of the studies in ``runs`` (only ``names`` if given) to ``out``."""
    sys.path.insert(0, str(REPO))
    import optuna

    from tutorial_utils.records import write_records
    from tutorial_utils.storage import make_storage

    written = []
    for db in sorted(runs.glob("*.db")):
        if names is not None and db.stem not in names:
            continue
        storage = make_storage(f"sqlite:///{db.resolve()}")
        for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            written.append(write_records(study, out))
    return written


def recorded(out: Path, name: str) -> bool:
    """Whether ``out`` already holds a finished study's record: a new session (whose SQLite files are gone)
    then skips it instead of running it again from scratch."""
    path = out / f"{name}.csv"
    if not path.exists():
        return False
    sys.path.insert(0, str(REPO))
    from tutorial_utils.records import reached_budget, read_records

    return reached_budget(read_records(path))


def run_all(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    queue = [(arm, seed, pruner) for pruner in args.pruners for seed in args.seeds for arm in args.arms]
    done = [q for q in queue if recorded(Path(args.out), study_name(*q, args.space))]
    if done:
        print(f"{len(done)} of {len(queue)} studies already recorded in {args.out}: skipped", flush=True)
    queue = [q for q in queue if q not in done]
    running: list[tuple[str, subprocess.Popen, float]] = []
    env = {**os.environ, "TUTORIAL_UTILS_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while queue or running:
        while queue and len(running) < args.jobs:
            arm, seed, pruner = queue.pop(0)
            name = study_name(arm, seed, pruner, args.space)
            log = open(runs / f"{name}.log", "a")  # noqa: SIM115 - closed with the process below
            command = ["nice", "-n", str(args.nice), *study_command(arm, seed, pruner, args)]
            print(f"{time.strftime('%H:%M:%S')} start {name}", flush=True)
            running.append((name, subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log), time.time()))
        time.sleep(5)
        for name, proc, started in list(running):
            if proc.poll() is None:
                continue
            running.remove((name, proc, started))
            took = (time.time() - started) / 60
            print(f"{time.strftime('%H:%M:%S')} done {name} (exit {proc.returncode}, {took:.1f} min)", flush=True)
            if proc.returncode == 0:
                for path in export(runs, Path(args.out), [name]):
                    print(f"  wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)


ORIGINAL_GAP = 69.56 - 67.60  # the original's single runs, Skopt vs Random (cited)


def _markdown(frame) -> str:
    """A pipe table without the optional tabulate dependency."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    return "\n".join([header, rule, *("| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False))])


def summarize(records_dir: Path, out: Path) -> str:
    """The per-arm table (finished studies only) and the paired verdicts, as markdown, from the records alone."""
    sys.path.insert(0, str(REPO))
    import numpy as np
    import pandas as pd

    from tutorial_utils import stats
    from tutorial_utils.budgets import at_reference_epochs
    from tutorial_utils.records import load_records
    from tutorial_utils.records import summarize as per_study

    records = load_records(records_dir)
    table = per_study(records)
    spent = records[records["state"].isin(["COMPLETE", "PRUNED"])]
    table["distinct"] = table["study"].map(spent.groupby("study")["params"].nunique())  # repeats are shown
    done = table[table["reached_budget"] & (table["pruner"] == "median")]
    rows = []
    for arm in [a for a in ARMS if a in set(done["sampler"])]:
        g = done[done["sampler"] == arm]

        def spread(column: str, g: pd.DataFrame = g) -> str:
            q1, q2, q3 = np.percentile(g[column], [25, 50, 75])
            sd = g[column].std() if len(g) > 1 else float("nan")
            return f"{g[column].mean():.2f} ± {sd:.2f} / {q2:.2f} [{q1:.2f}, {q3:.2f}]"

        rows.append({
            "arm": arm, "seeds": len(g), "selected trial's test acc. (mean ± sd / median [IQR])": spread("selected_test"),
            "best validation acc.": spread("best_valid"),
            "completed / pruned": f"{g.completed.mean():.1f} / {g.pruned.mean():.1f}",
            "distinct configurations": f"{g.distinct.mean():.1f} (min {g.distinct.min()})",
            "CPU min": f"{g.cpu_time_s.mean() / 60:.1f}", "wall min": f"{g.wall_time_s.mean() / 60:.1f}",
        })
    lines = [
        "# Sampler showdown: per-arm results", "",
        f"Generated by `python experiments/run_showdown.py summarize` from {len(table)} study records in "
        f"`{records_dir.relative_to(REPO) if records_dir.is_relative_to(REPO) else records_dir}` "
        f"({len(done)} finished with the MedianPruner). Accuracies in percent; machines: "
        f"{', '.join(sorted(set(table['machine'])))}.", "",
        _markdown(pd.DataFrame(rows)) if rows else "No finished study yet.", "",
    ]
    finished = records[records["study"].isin(done["study"])]
    equal = at_reference_epochs(finished)
    if len(equal):
        lines += ["At equal epochs: each study cut at the epochs its seed's Random study trained.", "", _markdown(
            pd.DataFrame([{
                "arm": arm, "seeds": len(g),
                "selected trial's test acc. (mean ± sd)": f"{g.selected_test.mean():.2f} ± {g.selected_test.std():.2f}",
                "best validation acc.": f"{g.best_valid.mean():.2f} ± {g.best_valid.std():.2f}",
                "trials within the budget": f"{g.n_trials.mean():.1f}", "epochs (budget)": f"{g.epoch_budget.mean():.0f}",
            } for arm in ARMS if len(g := equal[equal["sampler"] == arm])])), ""]
    budgets_wide = {
        "100 trials (the original's budget)": done.pivot_table(index="seed", columns="sampler", values="selected_test"),
        "equal epochs (each study cut at the epochs its seed's Random study trained)": equal.pivot_table(
            index="seed", columns="sampler", values="selected_test"),
    }
    lines += [
        "Each arm against Random, paired by seed, on the selected trial's test accuracy, at two budgets stated "
        "before any result: exact sign-flip p, Holm-adjusted over the four comparisons of each budget "
        f"(family-wise alpha {stats.ALPHA}); 95 % t-intervals.", "",
    ]
    for label, wide in budgets_wide.items():
        arms = [a for a in ARMS if a != "random" and a in wide.columns and "random" in wide.columns]
        comparisons = [stats.compare_paired(wide[a].dropna(), wide["random"][wide[a].notna()], (a, "random"))
                       for a in arms if wide[[a, "random"]].dropna().shape[0] >= 2]
        adjusted = stats.holm([c.permutation_p for c in comparisons])
        lines.append(f"At {label}:")
        for c, p_holm in zip(comparisons, adjusted, strict=True):
            lines.append("- " + stats.verdict(c, ORIGINAL_GAP if c.a == "skopt" else None, adjusted_p=p_holm))
        lines.append("")
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) every study, --jobs at a time; export each finished one")
    run.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "age_gender.csv.gz"))
    run.add_argument("--runs", default="/work/runs/showdown", help="folder for one SQLite file + log per study")
    run.add_argument("--out", default=str(REPO / "results" / "showdown"), help="folder of the per-trial records")
    run.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    run.add_argument("--pruners", nargs="+", default=["median"], choices=["median", "none"])
    run.add_argument("--space", default="original", choices=["original", "designed"],
                     help="the search space; designed studies are named designed-<arm>-seed<k> (notebook 09)")
    run.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    run.add_argument("--n-trials", type=int, default=100)
    run.add_argument("--epochs", type=int, default=50)
    run.add_argument("--jobs", type=int, default=2)
    run.add_argument("--device", default="cpu")
    run.add_argument("--nice", type=int, default=5, help="niceness of the study processes (CPU time is unaffected)")
    out = commands.add_parser("export", help="write results/showdown/*.csv from the studies' SQLite files")
    out.add_argument("--runs", default="/work/runs/showdown")
    out.add_argument("--out", default=str(REPO / "results" / "showdown"))
    summary = commands.add_parser("summarize", help="write results/showdown_summary.md from the records")
    summary.add_argument("--records", default=str(REPO / "results" / "showdown"))
    summary.add_argument("--out", default=str(REPO / "results" / "showdown_summary.md"))
    args = parser.parse_args(argv)
    if args.command == "run":
        run_all(args)
    elif args.command == "summarize":
        print(summarize(Path(args.records), Path(args.out)))
    else:
        for path in export(Path(args.runs), Path(args.out)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
