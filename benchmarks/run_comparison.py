"""The sampler showdown on the real faces: run the studies, then summarise them into benchmarks/results/.

Each study (sampler x seed; 100 trials, MedianPruner, 50 epochs, 24x24, batch 128) is one
``python -m tutorial_utils run`` process with one torch thread and its own SQLite file, at most ``--jobs``
at once. Studies resume: rerunning ``run`` after an interruption finishes what is missing.

    python benchmarks/run_comparison.py run --data ../shared/data/age_gender.csv.gz --runs /work/runs/comparison
    python benchmarks/run_comparison.py summarize --runs /work/runs/comparison
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
# The original pair first (so partial results still answer the original question), then TPE and GP.
DEFAULT_ORDER = [(s, k) for k in range(3) for s in ("skopt", "random")] + [(s, k) for k in range(3) for s in ("tpe", "gp")]


def study_command(sampler: str, seed: int, args: argparse.Namespace) -> list[str]:
    storage = f"sqlite:///{Path(args.runs).resolve() / f'{sampler}-seed{seed}.db'}"
    return [
        sys.executable, "-m", "tutorial_utils", "run", "--sampler", sampler, "--seed", str(seed),
        "--n-trials", str(args.n_trials), "--epochs", str(args.epochs), "--pruner", "median",
        "--data", args.data, "--storage", storage, "--threads", "1", "--device", "cpu",
    ]


def run_all(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    queue = [(s, k) for s, k in DEFAULT_ORDER if s in args.samplers and k in args.seeds]
    running: list[tuple[str, subprocess.Popen]] = []
    env = {**os.environ, "TUTORIAL_UTILS_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while queue or running:
        while queue and len(running) < args.jobs:
            sampler, seed = queue.pop(0)
            name = f"{sampler}-seed{seed}"
            log = open(runs / f"{name}.log", "a")  # noqa: SIM115 - closed with the process below
            print(f"{time.strftime('%H:%M:%S')} start {name}", flush=True)
            running.append((name, subprocess.Popen(study_command(sampler, seed, args), cwd=REPO, env=env, stdout=log, stderr=log)))
        time.sleep(5)
        for name, proc in list(running):
            if proc.poll() is not None:
                print(f"{time.strftime('%H:%M:%S')} done {name} (exit {proc.returncode})", flush=True)
                running.remove((name, proc))


ORIGINAL = (
    "| sampler | best age accuracy | trials completed / pruned | wall time |\n|---|---|---|---|\n"
    "| Skopt (ET, EI, xi 0.02, 10 random starts) | 69.56 % | 27 / 73 | about 24 min on a GPU |\n"
    "| Random | 67.60 % | 13 / 87 | about 14 min |\n"
)
REGENERATE = "python benchmarks/run_comparison.py summarize --runs /work/runs/comparison"


def summarize(args: argparse.Namespace) -> None:
    """Write comparison_studies.csv (one row per study) and comparison_summary.md from the study storages."""
    import pandas as pd

    from tutorial_utils.studies import compare_two_samplers, load_studies, sampler_table, study_summary

    studies = load_studies(args.runs)
    if not studies:
        raise SystemExit(f"no <sampler>-seed<k> studies under {args.runs}")
    rows = pd.DataFrame([study_summary(s) for s in studies])
    rows["budget"] = [s.user_attrs.get("n_trials_budget") for s in studies]
    rows["status"] = ["done" if n >= b else "partial" for n, b in zip(rows["n_trials"], rows["budget"], strict=True)]
    rows["order"] = rows["sampler"].map({s: i for i, s in enumerate(("skopt", "random", "tpe", "gp"))})
    rows = rows.sort_values(["order", "seed"]).drop(columns="order")
    columns = [
        "study", "sampler", "seed", "status", "n_trials", "budget", "best_age_accuracy", "best_trial", "completed",
        "pruned", "failed", "wall_time_s", "cpu_time_s", "median_trial_s", "n_epochs", "data", "machine",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows[columns].to_csv(RESULTS / "comparison_studies.csv", index=False, float_format="%.4f")

    done = rows[rows.status == "done"]
    lines = [
        "# Sampler showdown on the real faces (notebook 07)",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{REGENERATE}`",
        "from studies run by `python benchmarks/run_comparison.py run` (each: `python -m tutorial_utils run --sampler S "
        "--seed K --n-trials 100 --epochs 50 --pruner median --data ../shared/data/age_gender.csv.gz --threads 1`;",
        "24x24 inputs, batch 128, objective = test age accuracy of the last epoch, MedianPruner defaults).",
        "",
        "## Studies",
        "",
        _markdown(rows[["study", "status", "n_trials", "best_age_accuracy", "completed", "pruned", "wall_time_s",
                        "cpu_time_s", "machine"]]),
        "",
        "`status` partial = the study has not reached its 100-trial budget yet; partial studies are left out below.",
        f"`wall_time_s` is elapsed time on a 2-core machine shared with other jobs ({_load_text(args.runs)}), so it",
        "overstates the cost; `cpu_time_s` is the study process's CPU time with one torch thread, about what the",
        "study takes on an idle core.",
        "",
        "## Per sampler (finished studies only)",
        "",
    ]
    if len(done):
        lines += [_markdown(sampler_table(done).reset_index()), ""]
        if {"skopt", "random"} <= set(done.sampler):
            t = compare_two_samplers(done, "skopt", "random")
            lines += [
                "## Does Skopt beat Random at 100 trials?",
                "",
                f"Paired by seed (seeds {t['seeds']}): Skopt - Random = {100 * t['mean_diff']:+.2f} points on average; "
                f"Skopt better on {t['a_wins']} of {t['n_pairs']} seeds.",
                f"Exact sign-flip permutation test p = {t['permutation_p']:.3f} (smallest possible with "
                f"{t['n_pairs']} pairs: {t['permutation_p_floor']:.3f}); Wilcoxon signed-rank p = {t['wilcoxon_p']:.3f}.",
                f"Mann-Whitney U (unpaired ranks) p = {t['mannwhitney_p']:.3f} (smallest possible: "
                f"{t['mannwhitney_p_floor']:.3f}).",
                "",
                "With this few seeds no test can reach p < 0.05: the result says whether the data CONTRADICT the "
                "original single-run gap, not that a gap is proven or absent.",
                "",
                _verdict(done),
                "",
            ]
    else:
        lines += ["No study has finished yet.", ""]
    if len(done):
        cpu_min, wall_min = done["cpu_time_s"] / 60, done["wall_time_s"] / 60
        lines += [
            "## Speed (target: one 100-trial study in under 15 minutes on this 2-core CPU)",
            "",
            f"CPU time per finished study (one torch thread, so about its wall time on an idle core): "
            f"{cpu_min.min():.1f}-{cpu_min.max():.1f} min (mean {cpu_min.mean():.1f}); under 15 min: "
            f"{int((cpu_min < 15).sum())} of {len(done)} studies.",
            f"Measured wall time on the shared machine: {wall_min.min():.1f}-{wall_min.max():.1f} min. "
            "The original took about 24 min (Skopt) and 14 min (Random) on a GPU.",
            "",
        ]
    lines += ["## The original claim (single run each, one seed)", "", ORIGINAL]
    (RESULTS / "comparison_summary.md").write_text("\n".join(lines))
    print((RESULTS / "comparison_summary.md").read_text())


def _verdict(done) -> str:
    """One sentence: is the mean Skopt-Random gap larger than the seed-to-seed spread (the larger sd)?"""
    stats = done.groupby("sampler")["best_age_accuracy"].agg(["mean", "std"])
    gap = 100 * (stats.loc["skopt", "mean"] - stats.loc["random", "mean"])
    spread = 100 * stats.loc[["skopt", "random"], "std"].max()
    if spread != spread:  # NaN: one seed per sampler, like the original
        return f"**Verdict:** one seed each (gap {gap:+.2f} points): no spread to judge the gap against yet."
    where = "within" if abs(gap) < spread else "beyond"
    return (
        f"**Verdict:** mean gap Skopt - Random = {gap:+.2f} points, {where} the seed-to-seed spread (largest sd "
        f"{spread:.2f} points). The original single runs showed +1.96 points (69.56 % vs 67.60 %); "
        + ("at this budget these runs do not show that Skopt beats Random." if gap < spread else
           "these runs agree with the direction of the original claim.")
    )


def _load_text(runs: str) -> str:
    """The machine's load average while the studies ran, from the 1-minute samples in <runs>/load.txt."""
    path = Path(runs) / "load.txt"
    if not path.exists():
        return "load not recorded"
    loads = [float(line.split()[1]) for line in path.read_text().splitlines() if len(line.split()) > 1]
    if not loads:
        return "load not recorded"
    loads.sort()
    return f"1-minute load average median {loads[len(loads) // 2]:.1f}, range {loads[0]:.1f}-{loads[-1]:.1f}, over {len(loads)} samples"


def _markdown(frame) -> str:
    """A pipe table without the optional tabulate dependency."""
    def fmt(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) every study, --jobs at a time")
    run.add_argument("--data", default="../shared/data/age_gender.csv.gz")
    run.add_argument("--runs", default="/work/runs/comparison", help="folder for one SQLite file + log per study")
    run.add_argument("--samplers", nargs="+", default=["skopt", "random", "tpe", "gp"])
    run.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    run.add_argument("--n-trials", type=int, default=100)
    run.add_argument("--epochs", type=int, default=50)
    run.add_argument("--jobs", type=int, default=2)
    summary = commands.add_parser("summarize", help="write benchmarks/results/comparison_{studies.csv,summary.md}")
    summary.add_argument("--runs", default="/work/runs/comparison", help="folder of the studies' SQLite files")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_all(args)
    else:
        sys.path.insert(0, str(REPO))
        summarize(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
