"""False-prune audit: train pruned configurations of the showdown's studies to the full budget, on the real faces.

A pruner's mistakes are the trials it stopped that would have beaten the trial the study finally selected.
This trains a sample of each study's pruned configurations for all 50 epochs with the plain trainer and the
configuration's own seed (``config_seed``), exactly as the study would have, and records their final validation
and test accuracy. Each row also checks that the retrained curve starts with the values the study recorded
before it pruned the trial (``prefix_matches``): the replay is the study's own training, not a new draw.
Rows are appended as they finish, so an interrupted run resumes.

    python experiments/run_audit.py --studies random-seed0 skopt-seed0 --per-study 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FIELDS = ("study", "number", "pruned_at_epoch", "final_valid", "final_test", "selected_valid", "beats_selected",
          "prefix_matches", "cpu_time_s", "params", "machine")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "age_gender.csv.gz"))
    parser.add_argument("--records", default=str(REPO / "results" / "showdown"))
    parser.add_argument("--studies", nargs="+", default=["random-seed0", "skopt-seed0"])
    parser.add_argument("--per-study", type=int, default=20, help="pruned trials sampled per study (all if fewer)")
    parser.add_argument("--out", default=str(REPO / "results" / "audit" / "false_prunes.csv"))
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    from tutorial_utils.machine import machine_info, machine_label
    from tutorial_utils.prepare import load_study_data
    from tutorial_utils.records import curve, read_records, select_trial
    from tutorial_utils.training import config_seed, evaluate, fit

    torch.set_num_threads(1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set(map(tuple, pd.read_csv(out)[["study", "number"]].to_numpy())) if out.exists() else set()
    data = None
    label = machine_label(machine_info("cpu"))
    for name in args.studies:
        trials = read_records(Path(args.records) / f"{name}.csv")
        selected = select_trial(trials)
        pruned = trials[trials["state"] == "PRUNED"].sort_values("number")
        rng = np.random.default_rng(0)
        picked = pruned.iloc[np.sort(rng.choice(len(pruned), size=min(args.per_study, len(pruned)), replace=False))]
        for _, row in picked.iterrows():
            if (name, int(row["number"])) in done:
                continue
            if data is None:
                data = load_study_data(args.data)
            params = json.loads(row["params"])
            seed = int(row["seed"])
            n_epochs = int(row["n_epochs"])
            cpu = time.process_time()
            model, history = fit(params, data, n_epochs, batch_size=int(row["batch_size"]), seed=config_seed(params, seed))
            recorded = curve(row)
            replayed = np.array([100 * h["age"] for h in history[: len(recorded)]])
            final_valid = 100 * history[-1]["age"]
            result = {
                "study": name, "number": int(row["number"]), "pruned_at_epoch": len(recorded) - 1,
                "final_valid": final_valid, "final_test": 100 * evaluate(model, data.x_test, data.y_test)["age"],
                "selected_valid": float(selected["value"]), "beats_selected": final_valid > float(selected["value"]),
                "prefix_matches": bool(np.allclose(replayed, recorded, atol=2e-3)),
                "cpu_time_s": time.process_time() - cpu, "params": row["params"], "machine": label,
            }
            pd.DataFrame([result], columns=list(FIELDS)).to_csv(out, mode="a", header=not out.exists(), index=False)
            print(f"{name} #{result['number']}: pruned at epoch {result['pruned_at_epoch']}, full budget "
                  f"{final_valid:.2f} % (selected {result['selected_valid']:.2f} %), prefix matches: "
                  f"{result['prefix_matches']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
