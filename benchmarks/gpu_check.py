"""The GPU check: every GPU measurement of the course in one prepared call of at most 8 minutes.

``benchmarks/gpu_check.sh`` is the entry point (it installs the carried wheels, then runs each step below in
a fresh process under a time limit); this module holds the steps and the two helpers of
``benchmarks/gpu_wheels.sh``. Steps, in the order the script runs them::

    preflight       imports, the device, the carried face arrays put where the course's loader finds them
    cuda_tests      pytest on the CUDA-only tests (they skip on a CPU)                -> cuda_tests.csv
    repro           one configuration trained twice (and once more in another process): bit for bit?
                                                                                      -> repro.csv
    epoch           benchmark 2 (bench_epoch): classic pipeline vs ours vs the FLOP limit -> epoch.csv
    batched         the batched trainer at K = 1, 8, 64, 256, 1024 against the plain trainer, peak memory
                                                                                      -> batched.csv
    study_plain     one 100-trial study through the runner (``python -m tutorial_utils run``)  -> study.csv
    study_lockstep  the same study in lockstep (``--parallel K --per-study K``)       -> study.csv
    notebook        notebook 06 with a short budget (nbclient, parameters injected)   -> notebook.csv

and ``finish`` writes ``steps.csv`` (one row per step: status, seconds, limit). Every row of every CSV names
the device in ``device_name``: the GPU's name (``torch.cuda.get_device_name``), or ``cpu`` in dry mode.

Dry mode (``--dry``) runs the same steps on the CPU at tiny sizes (``SIZES["dry"]``), so the test suite keeps
the script working where no GPU is (tests/test_gpu_check.py).

Helpers for ``gpu_wheels.sh`` (run here, where the network and the real data are)::

    python -m benchmarks.gpu_check pins [--bare]   # NAME==VERSION of every wheel the GPU machine lacks
    python -m benchmarks.gpu_check faces DIR       # the real faces at 24x24 as DIR/faces24.npz
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import time
import tomllib
import traceback
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "age_gender.csv.gz"
FACES_DIR = REPO / ".gpu_faces"  # git-ignored: real face data is never committed
FACES_FILE = "faces24.npz"
NOTEBOOK = REPO / "notebooks" / "06_age_gender_network.ipynb"
EXIT_SKIPPED = 3  # a step that could not run here (and says why): not a failure

# ------------------------------------------------------------------------------------------ sizes
#
# GPU sizes are budgeted for one NVIDIA H200 and the whole script inside 8 minutes (gpu_check.sh enforces
# the total; each step also has its own limit there). The estimates behind them, on a GPU where a plain
# training step of the face net is launch-bound at about 1-1.5 ms (~100 small kernels), i.e. 0.15-0.2 s
# per epoch over the 15,171 fit rows at batch 128:
#   repro      2 x 5 epochs plain + 2 x 5 batched + one more process (~8 s of imports)          ~ 20 s
#   epoch      4 pipelines x (1 warm-up + 3 repeats); the classic ones are CPU-bound per-sample Python at
#              1-2 s an epoch, ours ~0.2 s                                                        ~ 40 s
#   batched    per K: the plain trainer timed on at most 8 of the K configurations (its cost per trial-
#              epoch does not depend on K; 1024 plain trials would take minutes), 1 warm-up + 2 repeats;
#              the batched trainer on all K (K = 1024 is ~30 GFLOP a step: ~0.3 s an epoch)        ~ 50 s
#   study      100 trials, SkoptSampler (the original's), MedianPruner, 10 epochs (not the original's 50:
#              ~19 complete + ~81 pruned after ~2-3 epochs = ~400 trial-epochs, ~80 s, plus ~25 s of
#              Skopt asks); lockstep trains 10 trials of it at once                       ~ 110 s + 45 s
#   notebook   06 with real faces, 8 trials x 5 epochs for each of its 3 studies, plots        ~ 60 s
# plus ~20 s of wheel install and ~5 s of imports per step: about 6.5 minutes in all.
SIZES = {
    "gpu": {
        "synthetic_rows": 23705,  # only when no face arrays were carried (the real file's row count)
        "epoch_repeats": 3,
        "batched_ks": (1, 8, 64, 256, 1024),
        "batched_plain_max": 8,
        "batched_repeats": 2,
        "study_trials": 100,
        "study_epochs": 10,
        "study_slots": 10,
        "study_sampler": "skopt",
        "notebook_trials": 8,
        "notebook_epochs": 5,
        "notebook_cell_timeout": 240,
        "repro_epochs": 5,
        "repro_slots": 4,
    },
    # Dry mode: the same steps on a 2-core CPU in about a minute; 800 synthetic faces = 512 fit rows, 4 batches.
    # K stops at 64: on one CPU thread an epoch of K = 1024 slots takes 5 s (the GPU's K = 1024 is ~0.3 s).
    "dry": {
        "synthetic_rows": 800,
        "epoch_repeats": 1,
        "batched_ks": (1, 8, 64),
        "batched_plain_max": 2,
        "batched_repeats": 1,
        "study_trials": 4,
        "study_epochs": 2,
        "study_slots": 2,
        "study_sampler": "skopt",
        "notebook_trials": 2,
        "notebook_epochs": 1,
        "notebook_cell_timeout": 120,
        "repro_epochs": 2,
        "repro_slots": 2,
    },
}

# ------------------------------------------------------------------------------------------ wheels
#
# The GPU machine's Python 3.12 holds torch, numpy, scipy, scikit-learn and pandas; everything else the
# steps import travels as wheels (gpu_wheels.sh downloads them, gpu_check.sh installs them offline).
# What the steps need: the course's core dependencies (pyproject.toml; notebook 06's setup cell checks all
# of them), pytest for the CUDA tests, and nbclient + ipykernel to execute the notebook.
EXTRA_ROOTS = ("pytest", "nbformat", "nbclient", "ipykernel")
ALWAYS_THERE = ("torch", "numpy", "scipy", "scikit-learn", "pandas")  # with everything they need
# Packages of that closure that the GPU machine's image already holds (its package list as read there on
# 2026-11-17), so they need not travel. packaging, pyyaml and tqdm are in the image too, but travel anyway:
# they are small and notebook 06's version check needs the course's floors of them. ``pins --bare`` carries
# all of these as well, for a machine with only the five above.
GPU_IMAGE_HAS = (
    "attrs", "cloudpickle", "contourpy", "cycler", "fonttools", "iniconfig", "jinja2", "joblib", "kiwisolver",
    "markupsafe", "matplotlib", "narwhals", "pillow", "pluggy", "psutil", "pygments", "pyparsing", "pytest",
    "python-dateutil", "six", "typing-extensions", "threadpoolctl", "tzdata",
)  # fmt: skip
GPU_PYTHON = {  # the environment markers of the GPU machine's interpreter (Python 3.12 on x86-64 Linux)
    "python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
    "implementation_version": "3.12.3", "platform_python_implementation": "CPython", "os_name": "posix",
    "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "extra": "",
}  # fmt: skip


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def _needs(name: str) -> list[str]:
    """What ``name`` requires on the GPU machine's Python (markers evaluated for it, extras left out), read
    from its metadata in this environment; [] when it is not installed here."""
    from packaging.requirements import Requirement

    try:
        requires = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    out = []
    for text in requires:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(GPU_PYTHON):
            out.append(_canonical(requirement.name))
    return out


def _closure(roots, stop: set[str] = frozenset()) -> list[str]:
    seen: list[str] = []
    todo = [_canonical(r) for r in roots]
    while todo:
        name = todo.pop(0)
        if name in seen or name in stop:
            continue
        seen.append(name)
        todo += _needs(name)
    return seen


def core_dependencies() -> list[str]:
    """The names of pyproject.toml's core dependencies."""
    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(text).name for text in project["dependencies"]]


def wheel_pins(bare: bool = False) -> list[str]:
    """``NAME==VERSION`` of each package to carry, at the lock's version for the GPU machine's Python 3.12."""
    from tutorial_utils.lockfile import locked_versions

    there = set(_closure(ALWAYS_THERE))
    if not bare:
        there |= {_canonical(n) for n in GPU_IMAGE_HAS}
    locked = locked_versions(GPU_PYTHON)
    pins = []
    for name in sorted(_closure([*core_dependencies(), *EXTRA_ROOTS], stop=there)):
        version = locked.get(name)
        if version is None:  # not in the lock (a dependency only a tool brings): the version installed here
            version = importlib.metadata.version(name)
            print(f"note: {name} is not in requirements-lock.txt; pinning the installed {version}", file=sys.stderr)
        pins.append(f"{name}=={version}")
    return pins


# ------------------------------------------------------------------------------------------ faces


def faces24_arrays(faces) -> dict[str, np.ndarray]:
    """The loader's arrays with the images resized to 24x24 as ``prepare_faces`` resizes them, rounded to
    uint8 (a quarter of the 48x48 bytes; rounding moves a pixel by at most half a grey level)."""
    import torch

    from tutorial_utils.prepare import resize_images

    images = resize_images(faces.images, 24).round().clamp(0, 255).to(dtype=torch.uint8).numpy()
    return {"images": images, "age": faces.age, "ethnicity": faces.ethnicity, "gender": faces.gender,
            "img_name": faces.img_name}  # fmt: skip


def write_faces(folder: Path, source: Path = REAL_DATA) -> Path:
    """The real faces (``source``) at 24x24 into ``folder/faces24.npz``, for the GPU machine (no ../shared)."""
    from tutorial_utils.data import load_age_gender

    faces = load_age_gender(source, verbose=False)
    if faces.is_synthetic:
        raise SystemExit(f"{source}: not found; the GPU check carries the real faces only")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FACES_FILE
    label = f"{source.name} ({len(faces)} rows), 24x24 uint8"
    np.savez_compressed(path, source=np.array(label), **faces24_arrays(faces))
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB): {label}")
    return path


# ------------------------------------------------------------------------------------------ context


class Context:
    """Where a step reads and writes, and at which sizes."""

    def __init__(self, out: Path, work: Path, dry: bool, faces: Path | None = None):
        self.out, self.work, self.dry = out, work, dry
        self.faces = faces if faces is not None else FACES_DIR / FACES_FILE
        self.sizes = SIZES["dry" if dry else "gpu"]
        self.device = "cpu" if dry else "cuda"
        self.started = time.perf_counter()

    @property
    def info(self) -> dict:
        """What preflight recorded: the device, its name, the data."""
        return json.loads((self.work / "preflight.json").read_text())

    @property
    def device_name(self) -> str:
        return self.info["device_name"]

    def seconds_left(self, margin: float = 15.0) -> float:
        """What is left of this step's limit (gpu_check.sh passes it), less ``margin`` to write the CSV."""
        limit = float(os.environ.get("GPU_CHECK_STEP_LIMIT", "inf"))
        return max(5.0, limit - (time.perf_counter() - self.started) - margin)

    def note(self, step: str, text: str) -> None:
        """One line for steps.csv's ``note`` column."""
        (self.work / "notes").mkdir(parents=True, exist_ok=True)
        (self.work / "notes" / f"{step}.txt").write_text(text.strip().replace("\n", " ")[:300])

    def load_faces(self):
        """The faces every step trains on, through the course's own loader (the cache preflight filled)."""
        from tutorial_utils.data import load_age_gender

        return load_age_gender(self.info["data_path"], verbose=False)

    def tensors(self):
        from tutorial_utils.prepare import prepare_faces

        return prepare_faces(self.load_faces(), image_side=24, device=self.device)

    def write(self, name: str, rows, seconds: float | None = None, append: bool = False) -> Path:
        """rows (a DataFrame or list of dicts) as OUT/name, each row naming the device, stamped with the
        machine and library versions (``benchmarks.common.environment_stamp``, taken once by preflight)."""
        import pandas as pd

        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        frame = frame.assign(device_name=self.device_name, dry=self.dry)
        if seconds is not None:
            frame = frame.assign(step_seconds=round(seconds, 2))
        stamp = {**self.info["stamp"], "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
        for key, value in stamp.items():
            if key not in frame.columns:
                frame[key] = value
        path = self.out / name
        if append and path.exists():
            frame = pd.concat([pd.read_csv(path), frame], ignore_index=True)
        frame.to_csv(path, index=False)
        print(f"wrote {path} ({len(frame)} rows)")
        return path


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


# ------------------------------------------------------------------------------------------ steps

NEEDED = ("torch", "numpy", "pandas", "sklearn", "scipy", "optuna", "skopt", "madgrad", "sqlalchemy", "yaml",
          "tqdm", "packaging", "tutorial_utils.lockstep")  # fmt: skip
WANTED = ("lightgbm", "cmaes", "greenlet", "matplotlib", "plotly", "optuna_integration", "pytest", "nbformat",
          "nbclient", "ipykernel", "zmq")  # fmt: skip


def step_preflight(ctx: Context) -> int:
    """Imports, the device, and the faces: the carried arrays (or synthetic ones) in the course's cache."""
    import importlib.util

    missing = {}
    for module in NEEDED:  # imported: the steps cannot run without them
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - report every broken import, not only the first
            missing[module] = f"{type(exc).__name__}: {exc}"
    for module in WANTED:  # only looked for (importing them all costs seconds): the steps that use them say more
        if importlib.util.find_spec(module) is None:
            missing[module] = "not found"
    for module, why in missing.items():
        print(f"cannot import {module}: {why}")
    import torch

    if not ctx.dry and not torch.cuda.is_available():
        ctx.note("preflight", "no CUDA GPU visible to torch: nothing to check (use --dry on a CPU)")
        print("torch sees no CUDA GPU")
        info = {"device": ctx.device, "device_name": "none: torch sees no CUDA GPU", "torch": torch.__version__,
                "cuda": torch.version.cuda or "", "python": sys.version.split()[0]}  # fmt: skip
        (ctx.work / "preflight.json").write_text(json.dumps(info, indent=2))
        return 1
    device_name = torch.cuda.get_device_name(0) if not ctx.dry else "cpu"
    try:
        from tutorial_utils.setup import check_versions

        check_versions()
        versions = "version floors met"
    except RuntimeError as exc:
        versions = str(exc)
        print(versions)
    from .common import environment_stamp

    data = prepare_data(ctx)
    stamp = environment_stamp(ctx.device)
    stamp.pop("device_name")  # the GPU's name, or "cpu" in dry mode (not the CPU's model)
    info = {"device": ctx.device, "device_name": device_name, "torch": torch.__version__,
            "cuda": torch.version.cuda or "", "python": sys.version.split()[0], **data, "stamp": stamp}  # fmt: skip
    (ctx.work / "preflight.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info, indent=2))
    needed_missing = [m for m in NEEDED if m in missing]
    ctx.note("preflight", f"{device_name}; torch {info['torch']} (CUDA {info['cuda'] or '-'}); data: {data['data']}; "
             + (f"cannot import: {', '.join(missing)}; " if missing else "") + versions)  # fmt: skip
    return 1 if needed_missing else 0


def prepare_data(ctx: Context) -> dict:
    """Put the faces where ``load_age_gender(path)`` finds them: the arrays in the course's parsed-data cache
    ($TUTORIAL_UTILS_CACHE, which gpu_check.sh points into the work folder), keyed on a stand-in file.

    The runner, the notebook and the in-process steps then all read them through the course's one loader, as
    if they had parsed the real CSV (61 MB, which does not travel). The stand-in is a header-only CSV: should
    the cache ever miss, the loader fails saying the file is empty instead of training on something else.
    """
    from tutorial_utils.data import synthetic_faces
    from tutorial_utils.face_cache import cache_path, default_cache_dir, write_cache

    if ctx.faces.is_file() and not ctx.dry:
        with np.load(ctx.faces, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in ("images", "age", "ethnicity", "gender", "img_name")}
            label = f"real faces from {ctx.faces.name}: {stored['source']}"
    else:
        rows = ctx.sizes["synthetic_rows"]
        arrays = faces24_arrays(synthetic_faces(rows, seed=0, use_cache=False))
        label = f"synthetic ({rows} rows), 24x24" + ("" if ctx.dry else f"; {ctx.faces} was not carried")
    stand_in = ctx.work / "faces" / "age_gender_24x24.csv"
    stand_in.parent.mkdir(parents=True, exist_ok=True)
    stand_in.write_text("age,ethnicity,gender,img_name,pixels\n")
    write_cache(cache_path(stand_in, default_cache_dir()), stand_in, arrays)
    return {"data": label, "data_path": str(stand_in), "rows": len(arrays["age"]), "cache": str(default_cache_dir())}


def cuda_test_files() -> list[str]:
    """Test files with a CUDA-only test (one skipped unless ``torch.cuda.is_available()``)."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py")
                  if "skipif(not torch.cuda.is_available()" in p.read_text())  # fmt: skip


def step_cuda_tests(ctx: Context) -> int:
    """pytest on the CUDA-only tests (``-k cuda`` in the files that have one); one CSV row per test."""
    import pytest

    files = cuda_test_files()
    junit = ctx.work / "cuda_tests.xml"
    junit.unlink(missing_ok=True)
    args = [*files, "-k", "cuda", "-q", "-rs", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    print("$ pytest", " ".join(args), flush=True)
    start = time.perf_counter()
    os.chdir(REPO)
    code = int(pytest.main(args))  # in this step's own process: one import of torch, not two
    seconds = time.perf_counter() - start
    rows = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome, message = "passed", ""
            for kind in ("failure", "error", "skipped"):
                found = case.find(kind)
                if found is not None:
                    outcome, message = ("failed" if kind == "failure" else kind), found.get("message", "")
                    break
            rows.append({"test": f"{case.get('classname')}::{case.get('name')}", "outcome": outcome,
                         "seconds": float(case.get("time", 0)), "message": message[:200]})  # fmt: skip
    if not rows:
        rows.append({"test": " ".join(files), "outcome": "none collected", "seconds": seconds, "message": ""})
    ctx.write("cuda_tests.csv", rows, seconds)
    counts = {o: sum(r["outcome"] == o for r in rows) for o in {r["outcome"] for r in rows}}
    ctx.note("cuda_tests", ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
    return 0 if code in (0, 5) else 1  # 5: nothing collected (no CUDA-only test left)


def step_epoch(ctx: Context) -> int:
    """Benchmark 2 as ``python -m benchmarks --only epoch --device cuda`` runs it, on the carried faces.

    bench_epoch's classic pipelines resize 48x48 faces per sample, as the original did, so the 24x24 arrays
    are blown back up to 48x48 (each pixel 2x2): the same work per sample as the real file."""
    import dataclasses

    from . import bench_epoch

    faces = ctx.load_faces()
    faces48 = dataclasses.replace(faces, images=np.ascontiguousarray(faces.images.repeat(2, 1).repeat(2, 2)))
    bench_epoch.load_faces = lambda quick, verbose=False, rows=None: faces48
    from tutorial_utils.setup import configure_torch_threads

    configure_torch_threads()
    start = time.perf_counter()
    frame = bench_epoch.run(ctx.dry, device=ctx.device, repeats=ctx.sizes["epoch_repeats"])
    seconds = time.perf_counter() - start
    frame = frame.assign(data=ctx.info["data"])
    ctx.write("epoch.csv", frame, seconds)
    ours = frame.loc[frame["pipeline"] == bench_epoch.OURS, "epoch_s_median"].iloc[0]
    ctx.note("epoch", f"ours {ours:.3g} s per epoch ({frame['clock'].iloc[0]} clock)")
    return 0


def step_batched(ctx: Context) -> int:
    """K configurations as one batched trainer against the plain trainer, per trial-epoch; peak GPU memory.

    The plain side trains at most ``batched_plain_max`` of the K configurations one after another (its cost
    per trial-epoch does not depend on K, and 1024 plain trials would take minutes); the batched side all K.
    """
    import torch

    from tutorial_utils.batched import BatchedTrainer
    from tutorial_utils.models import MultiHeadFCNet
    from tutorial_utils.training import make_optimizer, train_epoch

    from .bench_batched import random_configs
    from .common import BATCH_SIZE

    s, dev = ctx.sizes, torch.device(ctx.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    cuda = dev.type == "cuda"
    clock = "wall" if cuda else "cpu"
    data = ctx.tensors()
    x, y = data.x_train, data.y_train
    rows, start_all = [], time.perf_counter()
    for k in s["batched_ks"]:
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        configs = random_configs(k, seed=k)
        n_plain = min(k, s["batched_plain_max"])
        plain = []
        for seed, params in enumerate(configs[:n_plain]):
            torch.manual_seed(seed)
            model = MultiHeadFCNet.from_params(params, x.shape[1]).to(dev)
            plain.append((model, make_optimizer(params["optimizer"], model.parameters(), params["lr"]),
                          torch.Generator().manual_seed(seed)))  # fmt: skip
        t0 = time.perf_counter()
        trainer = BatchedTrainer(k, x.shape[1], device=dev, batch_size=BATCH_SIZE)
        for seed, params in enumerate(configs):
            trainer.set_slot(seed, params, seed)
        setup_s = time.perf_counter() - t0

        def run_plain(plain=plain):
            for model, opt, gen in plain:
                train_epoch(model, opt, x, y, BATCH_SIZE, gen)

        sides = {"plain": (run_plain, n_plain), "batched": (lambda trainer=trainer: trainer.train_epoch(x, y), k)}
        times = {name: [] for name in sides}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fn, _ in sides.values():  # warm-up: first-touch allocations, kernel choice, the trainer's layout
                fn()
            for _ in range(s["batched_repeats"]):
                for name, (fn, n) in sides.items():
                    _sync(ctx.device)
                    wall, cpu = time.perf_counter(), time.process_time()
                    fn()
                    _sync(ctx.device)
                    times[name].append(((time.perf_counter() - wall) if cuda else (time.process_time() - cpu)) / n)
        plain_s, batched_s = float(np.median(times["plain"])), float(np.median(times["batched"]))
        rows.append({
            "k": k, "plain_configs_timed": n_plain, "plain_trial_epoch_s": plain_s, "batched_trial_epoch_s": batched_s,
            "speedup": plain_s / batched_s, "plain_trial_epochs_per_s": 1 / plain_s,
            "batched_trial_epochs_per_s": 1 / batched_s, "batched_epoch_s": batched_s * k,
            "batched_setup_s": setup_s, "batched_tensors_mb": trainer.memory_bytes() / 2**20,
            "peak_memory_mb": torch.cuda.max_memory_allocated(dev) / 2**20 if cuda else math.nan,
            "repeats": s["batched_repeats"], "clock": clock, "rows": len(x), "batch": BATCH_SIZE,
            "features": x.shape[1], "data": ctx.info["data"],
        })  # fmt: skip
        print(f"K={k}: plain {plain_s:.4g} s, batched {batched_s:.4g} s per trial-epoch ({plain_s / batched_s:.2f}x)",
              flush=True)
        del trainer, plain
    ctx.write("batched.csv", rows, time.perf_counter() - start_all)
    best = max(rows, key=lambda r: r["speedup"])
    ctx.note("batched", f"best {best['speedup']:.2f}x at K={best['k']}")
    return 0


def _study(ctx: Context, lockstep: bool) -> int:
    """One study through the headless runner, timed from outside; counted from its SQLite storage."""
    from tutorial_utils.studies import load_studies

    s = ctx.sizes
    mode = "lockstep" if lockstep else "plain"
    db = ctx.work / f"study-{mode}.db"
    db.unlink(missing_ok=True)  # the runner resumes a stored study: start afresh
    url = f"sqlite:///{db}"
    cmd = [sys.executable, "-m", "tutorial_utils", "run", "--sampler", s["study_sampler"], "--seed", "0",
           "--n-trials", str(s["study_trials"]), "--epochs", str(s["study_epochs"]), "--data", ctx.info["data_path"],
           "--storage", url, "--device", ctx.device, "--quiet"]  # fmt: skip
    if lockstep:
        cmd += ["--parallel", str(s["study_slots"]), "--per-study", str(s["study_slots"])]
    shown = " ".join(c if c != ctx.info["data_path"] else "FACES" for c in cmd[1:]).replace(str(ctx.work), "WORK")
    print("$ python", shown, flush=True)
    start = time.perf_counter()
    try:  # stopped before the step's limit, so that what it finished is still counted from the storage
        code = subprocess.run(cmd, cwd=REPO, timeout=ctx.seconds_left()).returncode
    except subprocess.TimeoutExpired:
        code = "timed out"
    wall = time.perf_counter() - start
    row = {"mode": mode, "sampler": s["study_sampler"], "n_trials": s["study_trials"], "n_epochs": s["study_epochs"],
           "slots": s["study_slots"] if lockstep else 1, "exit_code": code, "process_wall_s": wall,
           "command": f"python {shown}", "data": ctx.info["data"]}  # fmt: skip
    studies = load_studies(url) if db.exists() else []
    if studies:
        study = studies[0]
        states = [t.state.name for t in study.trials]
        epochs = sum(len(t.intermediate_values) for t in study.trials)
        finished = [t for t in study.trials if t.state.name == "COMPLETE"]
        # The study's own clock (the runner records it) leaves out the process start and the data load.
        own = float(study.user_attrs.get("wall_time_s", wall))
        row.update(trials=len(states), complete=states.count("COMPLETE"), pruned=states.count("PRUNED"),
                   failed=states.count("FAIL"), epochs_trained=epochs, study_wall_s=own,
                   s_per_trial_epoch=own / max(epochs, 1), trials_per_min=60 * len(states) / own,
                   best_value=study.best_value if finished else math.nan)  # fmt: skip
    ctx.write("study.csv", [row], wall, append=True)
    ctx.note(f"study_{mode}", f"{row.get('trials', 0)} trials ({row.get('pruned', 0)} pruned), "
             f"{row.get('epochs_trained', 0)} epochs in {wall:.0f} s")  # fmt: skip
    return 0 if code == 0 and row.get("trials") == s["study_trials"] else 1


def step_study_plain(ctx: Context) -> int:
    return _study(ctx, lockstep=False)


def step_study_lockstep(ctx: Context) -> int:
    return _study(ctx, lockstep=True)


def step_notebook(ctx: Context) -> int:
    """Notebook 06, short budget, executed with nbclient (papermill's parameters cell injected by hand:
    papermill and its dozen dependencies need not travel). Skips, saying why, where Jupyter is missing."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        importlib.import_module("ipykernel")
    except ImportError as exc:
        ctx.note("notebook", f"skipped: {exc} (carry nbclient and ipykernel: benchmarks/gpu_wheels.sh)")
        print(f"notebook skipped: {exc}")
        return EXIT_SKIPPED
    s = ctx.sizes
    params = {"FAST": True, "DATA_PATH": ctx.info["data_path"], "N_TRIALS": s["notebook_trials"],
              "N_EPOCHS": s["notebook_epochs"], "STORAGE": f"sqlite:///{ctx.work / 'notebook06.db'}", "SEED": 0}  # fmt: skip
    (ctx.work / "notebook06.db").unlink(missing_ok=True)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    os.environ.pop("MPLBACKEND", None)  # the kernel draws inline figures, as in JupyterLab
    client = NotebookClient(nb, timeout=int(min(s["notebook_cell_timeout"], ctx.seconds_left())), kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})  # fmt: skip
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a kernel that would not start, a timeout: report it
        error = f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - start
    nbformat.write(nb, ctx.work / NOTEBOOK.name)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    kernel_device = next((line.removeprefix("Device: ") for line in outputs.splitlines() if line.startswith("Device: ")), "")
    ran = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count"))
    row = {"notebook": NOTEBOOK.name, "status": "failed" if error else "ok", "seconds": seconds,
           "n_trials": s["notebook_trials"], "n_epochs": s["notebook_epochs"], "cells_run": ran,
           "code_cells": sum(c.cell_type == "code" for c in nb.cells), "kernel_device": kernel_device,
           "error": error, "data": ctx.info["data"]}  # fmt: skip
    ctx.write("notebook.csv", [row], seconds)
    ctx.note("notebook", error or f"ran {ran} cells in {seconds:.0f} s on {kernel_device}")
    return 1 if error else 0


# -- reproducibility

REPRO_CONFIGS = ("Adam", "MADGRAD")  # the best trial's network with either optimizer (dropout 0.2 draws masks)


def _repro_runs(ctx: Context, data) -> dict[str, dict]:
    """Each configuration trained once with the plain trainer, and a batched trainer of ``repro_slots`` slots
    once: per run its per-epoch losses and final weights (CPU tensors)."""
    from tutorial_utils.batched import BatchedTrainer
    from tutorial_utils.training import fit

    from .bench_batched import random_configs
    from .common import BATCH_SIZE, BEST_PARAMS

    epochs = ctx.sizes["repro_epochs"]
    runs = {}
    for optimizer in REPRO_CONFIGS:
        params = {**BEST_PARAMS, "optimizer": optimizer}
        model, history = fit(params, data, epochs, BATCH_SIZE, seed=7)
        runs[f"plain {optimizer}"] = {"losses": [h["loss"] for h in history], "accuracy": history[-1]["age"],
                                      "weights": {k: v.detach().cpu() for k, v in model.state_dict().items()}}  # fmt: skip
    trainer = BatchedTrainer(ctx.sizes["repro_slots"], data.n_features, device=data.device, batch_size=BATCH_SIZE)
    for slot, params in enumerate(random_configs(ctx.sizes["repro_slots"], seed=3)):
        trainer.set_slot(slot, params, seed=slot)
    losses = [list(trainer.train_epoch(data.x_train, data.y_train).values()) for _ in range(epochs)]
    weights = {f"{k}.{name}": v.detach().cpu() for k in trainer.active_slots
               for name, v in trainer.to_model(k).state_dict().items()}  # fmt: skip
    runs["batched mixed"] = {"losses": [x for epoch in losses for x in epoch],
                             "accuracy": trainer.evaluate(data.x_valid, data.y_valid)[0]["age"], "weights": weights}
    _sync(str(data.device))
    return runs


def _digest(weights: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode())
        h.update(weights[name].contiguous().numpy().tobytes())
    return h.hexdigest()


def step_repro(ctx: Context) -> int:
    """The same configurations trained twice in this process, and once in another: bit for bit the same?"""
    import torch

    if ctx.dry:
        torch.set_num_threads(1)
    data = ctx.tensors()
    start = time.perf_counter()
    first, second = _repro_runs(ctx, data), _repro_runs(ctx, data)
    other = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "repro-digest", "--out", str(ctx.out),
                            "--work", str(ctx.work), *(["--dry"] if ctx.dry else [])],
                           cwd=REPO, capture_output=True, text=True)  # fmt: skip
    digests = json.loads(other.stdout.strip().splitlines()[-1]) if other.returncode == 0 else {}
    if other.returncode != 0:
        print(other.stdout, other.stderr)
    seconds = time.perf_counter() - start
    rows = []
    for name, a in first.items():
        b = second[name]
        diffs = [float((a["weights"][k] - b["weights"][k]).abs().max()) for k in a["weights"]]
        digest = _digest(a["weights"])
        rows.append({
            "run": name, "epochs": ctx.sizes["repro_epochs"], "losses_equal": a["losses"] == b["losses"],
            "weights_equal": all(torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"]),
            "max_abs_weight_diff": max(diffs), "max_abs_loss_diff": max(abs(p - q) for p, q in zip(a["losses"], b["losses"], strict=True)),
            "other_process_equal": digests.get(name) == digest if digests else None,
            "weights_sha256": digest, "final_loss": a["losses"][-1], "valid_age_accuracy": a["accuracy"],
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": torch.backends.cudnn.deterministic, "data": ctx.info["data"],
        })  # fmt: skip
    ctx.write("repro.csv", rows, seconds)
    same = all(r["weights_equal"] and r["losses_equal"] and r["other_process_equal"] for r in rows)
    verdicts = [f"{r['run']} " + ("same" if r["weights_equal"] else f"max diff {r['max_abs_weight_diff']:.3g}") for r in rows]
    ctx.note("repro", ("bit for bit: " if same else "NOT bit for bit: ") + "; ".join(verdicts))
    return 0 if other.returncode == 0 else 1  # a difference is a finding (in the CSV), not a failure


def repro_digest(ctx: Context) -> int:
    """``_repro_runs`` once, in this fresh process: prints {run: sha256 of its weights} as JSON."""
    import torch

    if ctx.dry:
        torch.set_num_threads(1)
    runs = _repro_runs(ctx, ctx.tensors())
    print(json.dumps({name: _digest(run["weights"]) for name, run in runs.items()}))
    return 0


STEPS = {
    "preflight": step_preflight,
    "cuda_tests": step_cuda_tests,
    "repro": step_repro,
    "epoch": step_epoch,
    "batched": step_batched,
    "study_plain": step_study_plain,
    "study_lockstep": step_study_lockstep,
    "notebook": step_notebook,
}


# ------------------------------------------------------------------------------------------ finish


def finish(ctx: Context) -> int:
    """steps.csv from the script's timings (work/steps.tsv): one row per step; exit 1 if any did not pass."""
    import pandas as pd

    info = json.loads((ctx.work / "preflight.json").read_text()) if (ctx.work / "preflight.json").exists() else {}
    names = {0: "ok", EXIT_SKIPPED: "skipped", 124: "timed out", 137: "timed out", -1: "not run"}
    rows = []
    tsv = ctx.work / "steps.tsv"
    for line in tsv.read_text().splitlines() if tsv.exists() else []:
        step, code, seconds, limit = line.split("\t")
        note_file = ctx.work / "notes" / f"{step}.txt"
        rows.append({"step": step, "status": names.get(int(code), f"failed (exit {code})"), "exit_code": int(code),
                     "seconds": float(seconds), "limit_s": int(limit),
                     "note": note_file.read_text().strip() if note_file.exists() else ""})  # fmt: skip
    frame = pd.DataFrame(rows).assign(
        device=ctx.device, device_name=info.get("device_name", "unknown (preflight failed)"), dry=ctx.dry,
        torch=info.get("torch", ""), cuda=info.get("cuda", ""), python=info.get("python", ""),
        date_utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    )
    frame.to_csv(ctx.out / "steps.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(frame[["step", "status", "seconds", "limit_s", "note"]].to_string(index=False))
    bad = frame[~frame["status"].isin(["ok", "skipped"])]
    print(f"total {frame['seconds'].sum():.0f} s of steps on {frame['device_name'].iloc[0]}; "
          + ("all passed" if bad.empty else f"NOT passed: {', '.join(bad['step'])}"))
    return 0 if bad.empty else 1


# ------------------------------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pins = sub.add_parser("pins", help="NAME==VERSION of every wheel to carry (gpu_wheels.sh)")
    pins.add_argument("--bare", action="store_true", help="also what the GPU image already holds")
    faces = sub.add_parser("faces", help="write the real faces at 24x24 (gpu_wheels.sh)")
    faces.add_argument("folder", type=Path, nargs="?", default=FACES_DIR)
    faces.add_argument("--source", type=Path, default=REAL_DATA)
    for name, help_text in (("step", "run one step"), ("finish", "write steps.csv"), ("repro-digest", "internal")):
        p = sub.add_parser(name, help=help_text)
        if name == "step":
            p.add_argument("name", choices=list(STEPS))
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--work", type=Path, required=True)
        p.add_argument("--dry", action="store_true")
        p.add_argument("--faces", type=Path, default=None, help=f"the carried arrays (default {FACES_DIR / FACES_FILE})")
    args = parser.parse_args(argv)
    if args.command == "pins":
        print("\n".join(wheel_pins(args.bare)))
        return 0
    if args.command == "faces":
        write_faces(args.folder, args.source)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.out.resolve(), args.work.resolve(), args.dry, args.faces)
    if args.command == "finish":
        return finish(ctx)
    if args.command == "repro-digest":
        return repro_digest(ctx)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return STEPS[args.name](ctx)
    except Exception:
        traceback.print_exc()
        ctx.note(args.name, traceback.format_exc().strip().splitlines()[-1])
        return 1


if __name__ == "__main__":
    sys.exit(main())
