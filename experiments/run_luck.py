"""Luck calibration for the showdown: ONE configuration trained under many seeds, on the real faces.

Every run is the same configuration, so the spread of their validation accuracies is pure training noise,
and the best of k of them shows how far a best-so-far curve climbs from selection alone. Notebook 08 draws
that beside the studies' curves. One row per training seed goes to results/luck/<name>.csv as soon as it is
done, so an interrupted run resumes where it stopped.

    python experiments/run_luck.py --seeds 40
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import BEST_PARAMS  # noqa: E402  (the original study's best configuration, as the speed benchmarks train it)

FIELDS = ("seed", "valid_age", "test_age", "epochs", "cpu_time_s", "wall_time_s", "valid_curve", "params", "machine")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "age_gender.csv.gz"))
    parser.add_argument("--seeds", type=int, default=40, help="train seeds 0..N-1 (those already done are skipped)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", default=str(REPO / "results" / "luck" / "original_best.csv"))
    args = parser.parse_args(argv)

    import json

    import pandas as pd
    import torch

    from tutorial_utils.machine import machine_info, machine_label
    from tutorial_utils.prepare import load_study_data
    from tutorial_utils.training import evaluate, fit

    torch.set_num_threads(1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set(pd.read_csv(out)["seed"]) if out.exists() else set()
    todo = [s for s in range(args.seeds) if s not in done]
    if not todo:
        print(f"all {args.seeds} seeds are in {out}")
        return 0
    data = load_study_data(args.data)
    label = machine_label(machine_info("cpu"))
    for seed in todo:
        cpu, wall = time.process_time(), time.perf_counter()
        model, history = fit(BEST_PARAMS, data, args.epochs, seed=seed)
        row = {
            "seed": seed,
            "valid_age": 100 * history[-1]["age"],
            "test_age": 100 * evaluate(model, data.x_test, data.y_test)["age"],
            "epochs": args.epochs,
            "cpu_time_s": time.process_time() - cpu,
            "wall_time_s": time.perf_counter() - wall,
            "valid_curve": " ".join(f"{100 * h['age']:.3f}" for h in history),
            "params": json.dumps(BEST_PARAMS, sort_keys=True),
            "machine": label,
        }
        pd.DataFrame([row], columns=list(FIELDS)).to_csv(out, mode="a", header=not out.exists(), index=False)
        print(f"seed {seed}: valid {row['valid_age']:.2f} %, test {row['test_age']:.2f} % ({row['cpu_time_s']:.0f} s CPU)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
