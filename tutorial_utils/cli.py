"""``python -m tutorial_utils``: run the face-network study headless (long runs, servers, extra workers).

A thin argparse layer over :mod:`tutorial_utils.studies`, the same code path notebook 08 uses. Examples::

    python -m tutorial_utils run --sampler skopt --seed 0 --data ../shared/data/age_gender.csv.gz \\
        --storage sqlite:///runs/skopt-seed0.db
    python -m tutorial_utils summary --storage sqlite:///runs/skopt-seed0.db
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .prepare import SYNTHETIC
from .studies import PRUNERS, SAMPLERS, StorageError, StudyConfigError

EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_RUNTIME = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tutorial_utils", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="create or resume a study and run it to its trial budget")
    run.add_argument(
        "--sampler", choices=SAMPLERS, nargs="+", default=["skopt"],
        help="one or more arms; default: skopt (the original's settings)",
    )
    run.add_argument(
        "--sampler-kwargs", default="{}", metavar="JSON",
        help='settings replacing the defaults, e.g. \'{"n_startup_trials": 20}\' (skopt: skopt_kwargs)',
    )
    run.add_argument("--seed", type=int, nargs="+", default=[0], help="one study per sampler and seed")
    run.add_argument(
        "--parallel", type=_positive_int, default=None, metavar="K",
        help="train K trials at once, of all the studies (sampler x seed), in one batched trainer (lockstep); "
        "without it the studies run one after another with the plain trainer",
    )
    run.add_argument(
        "--per-study", type=_positive_int, default=1, metavar="N",
        help="with --parallel: trials of one study running at once (1: strictly sequential studies)",
    )
    run.add_argument(
        "--pruner", choices=PRUNERS, default="median",
        help="median: Optuna's MedianPruner (defaults: the original's); sh: successive halving; hyperband; "
        "patient: the median rule with patience; none",
    )
    run.add_argument(
        "--pruner-kwargs", default="{}", metavar="JSON",
        help='the pruner\'s settings, e.g. \'{"n_warmup_steps": 10}\' (median, patient), \'{"patience": 5}\', '
        '\'{"reduction_factor": 3}\' (sh, hyperband), \'{"min_resource": 2}\'',
    )
    run.add_argument("--n-trials", type=_positive_int, default=100, help="the study's total budget (resume runs the rest)")
    run.add_argument("--space", choices=("original", "designed"), default="original",
                     help="the search space: the original study's, or the designed one of notebook 09")
    run.add_argument("--epochs", type=_positive_int, default=50)
    run.add_argument("--batch-size", type=_positive_int, default=128)
    run.add_argument("--image-side", type=_positive_int, default=24, help="faces are resized to side x side")
    run.add_argument("--data", default=None, help=f"face CSV (.csv, .csv.gz, Kaggle .zip) or '{SYNTHETIC}'; default: data/")
    run.add_argument("--synthetic-rows", type=_positive_int, default=None, help="rows of synthetic faces")
    run.add_argument(
        "--storage", default=None, metavar="URL",
        help="sqlite:///file.db, postgresql+psycopg2://user:pw@host/db or journal:file.log; default: in memory (not saved)",
    )
    run.add_argument("--name-prefix", default="", help="studies are named [<prefix>-]<sampler>-seed<k>")
    run.add_argument(
        "--worker", type=int, default=None, metavar="K",
        help="this process's index when several workers share one study (0, 1, 2, ...): each gets its own sampler "
        "seed. Without it the runner is the study's only process, and on resume marks a killed run's trials FAIL",
    )
    run.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")
    run.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads (default: the course's)")
    run.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no final printout")

    summary = commands.add_parser("summary", help="one row per study of a storage: best value, counts, times")
    summary.add_argument("--storage", required=True, metavar="URL")
    summary.add_argument("--name-prefix", default="")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, parser) if args.command == "run" else _summary(args, parser)
    except KeyboardInterrupt:
        parser.exit(130, "interrupted: rerun the same command to resume the study\n")
    return 0


@contextmanager
def _one_line_errors(parser: argparse.ArgumentParser) -> Iterator[None]:
    """Turn the course's own errors (bad settings, an unusable storage, a missing or malformed data file, a
    missing optional package) into one readable line and a non-zero exit. Everything else, such as an error
    in the middle of training, keeps its traceback: that is what a bug report needs."""
    from .data import DataFormatError
    from .pruners import PrunerConfigError

    try:
        yield
    except (StudyConfigError, PrunerConfigError, json.JSONDecodeError) as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {exc}\n")
    except (StorageError, DataFormatError, FileNotFoundError, ImportError) as exc:
        parser.exit(EXIT_RUNTIME, f"{parser.prog}: error: {exc}\n")


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import optuna

    from .devices import make_reproducible
    from .prepare import load_study_data
    from .setup import configure_torch_threads
    from .studies import (
        StudySpec,
        format_best_trial,
        make_pruner,
        make_sampler,
        open_storage,
        prepare_study,
        run_study,
    )

    with _one_line_errors(parser):  # setup: every check before anything is trained
        sampler_kwargs = _json_object("--sampler-kwargs", args.sampler_kwargs)
        # Check everything cheap before the slow data load.
        for sampler in args.sampler:
            make_sampler(sampler, args.seed[0], **sampler_kwargs)
        if args.worker is not None and args.parallel:
            raise StudyConfigError("--worker and --parallel do not mix: a lockstep run is its studies' only process")
        pruner_kwargs = _json_object("--pruner-kwargs", args.pruner_kwargs)
        make_pruner(args.pruner, n_epochs=args.epochs, **pruner_kwargs)
        storage = open_storage(args.storage)
        if storage is None and not args.quiet:
            print("Note: no --storage given, the study lives in memory and is lost at exit.")

        device = _checked_device(args.device)
        make_reproducible(device)  # on CUDA, deterministic kernels: a resumed study retrains its trials alike
        configure_torch_threads(args.threads)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        data = load_study_data(
            args.data, image_side=args.image_side, device=device, synthetic_rows=args.synthetic_rows,
            verbose=not args.quiet,
        )
    specs = [
        StudySpec(
            sampler=sampler, seed=seed, n_trials=args.n_trials, n_epochs=args.epochs, batch_size=args.batch_size,
            pruner=args.pruner, pruner_kwargs=pruner_kwargs, sampler_kwargs=sampler_kwargs, name_prefix=args.name_prefix,
            worker=args.worker or 0, shared=args.worker is not None,
            trainer="batched" if args.parallel else "plain", space=args.space,
        )
        for sampler in args.sampler
        for seed in args.seed
    ]
    with _one_line_errors(parser):  # a stored study with other settings is refused before anything trains
        for spec in specs:
            prepare_study(spec, data, storage)
    if args.parallel:
        from .lockstep import run_lockstep

        done = run_lockstep(
            specs, data, {spec.name: storage for spec in specs}, slots=args.parallel, per_study=args.per_study,
            device=device, progress=not args.quiet,
        )
        if not args.quiet:
            for study in done.values():
                print(f"== {study.study_name}")
                print(format_best_trial(study))
        return 0
    for spec in specs:
        study = run_study(spec, data, storage, progress=not args.quiet, timeout=args.timeout, device=device)
        if not args.quiet:
            print(format_best_trial(study))
    return 0


def _json_object(option: str, text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudyConfigError(f"{option} is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise StudyConfigError(f"{option} must be a JSON object, got {text!r}")
    return value


def _checked_device(name: str):
    """The torch device for ``--device``, or a StudyConfigError saying what this machine has."""
    from .devices import DeviceError, resolve_device

    try:
        return resolve_device(name)
    except DeviceError as exc:
        raise StudyConfigError(f"--device {name}: {exc}") from None


def _summary(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import pandas as pd

    from .records import summarize, trial_records
    from .studies import load_studies

    with _one_line_errors(parser):
        studies = load_studies(args.storage, prefix=args.name_prefix)
    if not studies:
        print(f"no <sampler>-seed<k> studies in {args.storage}")
        return EXIT_RUNTIME
    table = summarize(pd.concat([trial_records(s) for s in studies], ignore_index=True))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
