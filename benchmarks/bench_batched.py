"""Batched trainer: K trials as one set of tensor ops against the same K trials trained one after another.

For each K, K configurations are drawn at random from the original search space (any depth, widths, dropouts,
optimizer and lr: ``suggest_params`` under a seeded ``RandomSampler``). The plain side trains each of them for
one epoch with ``training.train_epoch`` (its own model, ``make_optimizer`` and generator); the batched side
trains all K for one epoch with ``BatchedTrainer.train_epoch``. The two alternate (plain, batched, plain, ...)
after one untimed warm-up epoch each, and the table gives seconds per trial-epoch (an epoch's time / K), their
ratio, and trial-epochs per second.

Synthetic data of the real shape: 15,000 rows of 24x24 = 576 features, batch 128 (quick mode: 1,280 rows and
K = 1, 8). On a CPU torch runs one thread and the clock is this process's CPU time (steady on a shared machine;
wall time is reported too); on a GPU the clock is wall time after a synchronize.

Memory: the batched trainer's own tensors (``BatchedTrainer.memory_bytes``) and the process's peak resident
set so far (CPU; it only grows, and K runs in increasing order) or ``torch.cuda.max_memory_allocated`` (GPU).

``--backward`` (issue #26) measures instead the trainer's hand-written backward against two shorter versions
of the same step, one epoch of each in turn on the same K configurations: ``torch.func`` (``vmap`` over the
slots of ``grad`` of one slot's loss) and autograd over the batched forward as written (``bmm`` over
depth-sorted prefixes, ``torch.autograd.grad``). Layout, batch order, dropout bits and optimizer updates are
the trainer's own in all three, so only forward + backward differ; the first (untimed) epoch's losses are
compared to the hand-written one's. Written to ``batched_backward.csv``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import optuna
import pandas as pd
import torch
from torch.func import grad, vmap

from tutorial_utils.batched import HEAD_SLICES, WIDTH, BatchedTrainer, check_device
from tutorial_utils.models import MultiHeadFCNet
from tutorial_utils.studies import startup_configs
from tutorial_utils.training import make_optimizer, train_epoch

from .common import BATCH_SIZE, IMAGE_SIDE, RESULTS_DIR, paired_ratios, stamped, summary

FULL_ROWS, QUICK_ROWS = 15_000, 1_280
FULL_KS, QUICK_KS = (1, 8, 32, 128), (1, 8)
CSV_NAME = "batched.csv"
BACKWARD_KS, QUICK_BACKWARD_KS = (8, 16, 32), (8,)
BACKWARD_CSV = "batched_backward.csv"


def synthetic_data(rows: int, device: torch.device, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random pixels in [-1, 1] and random labels of the real shape: timing does not depend on the values."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, IMAGE_SIDE * IMAGE_SIDE, generator=g) * 2 - 1
    y = torch.stack([torch.randint(0, n, (rows,), generator=g) for n in (5, 5, 2)], 1)
    return x.to(device), y.to(device)


def random_configs(k: int, seed: int = 0) -> list[dict]:
    """K configurations drawn at random from the original search space (as a RandomSampler study would)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return startup_configs(seed, k)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def time_k(
    k: int, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int
) -> tuple[dict[str, dict[str, list[float]]], BatchedTrainer]:
    """Per-trial-epoch seconds of plain and batched for K random configurations, interleaved."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    configs = random_configs(k, seed=k)
    plain = []
    for seed, params in enumerate(configs):
        torch.manual_seed(seed)
        model = MultiHeadFCNet.from_params(params, x.shape[1]).to(device)
        plain.append((model, make_optimizer(params["optimizer"], model.parameters(), params["lr"]), torch.Generator().manual_seed(seed)))
    trainer = BatchedTrainer(k, x.shape[1], device=device, batch_size=BATCH_SIZE)
    for seed, params in enumerate(configs):
        trainer.set_slot(seed, params, seed)

    def run_plain() -> None:
        for model, opt, gen in plain:
            train_epoch(model, opt, x, y, BATCH_SIZE, gen)

    candidates = {"plain": run_plain, "batched": lambda: trainer.train_epoch(x, y)}
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in candidates}
    for fn in candidates.values():  # warm-up: first-touch allocations, the batched trainer's layout
        fn()
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sync()
            times[name]["wall"].append((time.perf_counter() - wall) / k)
            times[name]["cpu"].append((time.process_time() - cpu) / k)
    return times, trainer


# ------------------------------------------------------------------ the backward: hand-written or autograd


def _batch(trainer: BatchedTrainer, idx: torch.Tensor, x: torch.Tensor, targets: torch.Tensor, bits):
    """The step's inputs as ``BatchedTrainer._step`` makes them: (n, b, F) rows, (n, b, 12) one-hot targets and
    the (n, b, 512) dropout scales (None without dropout)."""
    n = trainer._n_active
    b = len(idx) // n
    xb, yb = x.index_select(0, idx).view(n, b, -1), targets.index_select(0, idx).view(n, b, -1)
    masks = None
    if bits is not None:
        rows = trainer._rows
        masks = (bits[:, :b].view(torch.int16) - rows["threshold"][:n]).clamp_(0, 1).mul_(rows["scale"][:n])
    return xb, yb, masks


def _update(trainer: BatchedTrainer, grads: dict[str, torch.Tensor]) -> None:
    """The trainer's own optimizer step, from gradients computed elsewhere."""
    g = trainer._views["grad"]
    torch._foreach_copy_([g[name] for name in grads], list(grads.values()))
    trainer._rows["step"][: trainer._n_active] += 1
    for name, a, c, columns in trainer._groups:
        trainer._update(name, slice(a, c), columns)


def _used_blocks(trainer: BatchedTrainer) -> list[str]:
    return [f"{w}{i}" for i in range(trainer._depth) for w in "Wb"] + ["WL", "bL", "WH", "bH"]


def _slot_loss(params, x, y, masks, has_layer, depth: int, shared: int):
    """One slot's padded network on its (b, F) batch: (mean loss, -summed loss). Layers ``shared`` and deeper
    exist in only some slots: where ``has_layer[i]`` is False the activations pass through unchanged."""
    h = x
    for i in range(depth):
        out = torch.addmm(params[f"b{i}"], h, params[f"W{i}"]).relu()
        if masks is not None:
            out = out * masks[:, i * WIDTH : (i + 1) * WIDTH]
        h = out if i < shared else torch.where(has_layer[i], out, h)
    logits = torch.addmm(params["bH"], torch.addmm(params["bL"], h, params["WL"]), params["WH"])
    log_probs = torch.cat([torch.log_softmax(logits[:, a:c], -1) for a, c in HEAD_SLICES], -1)
    neg_loss = (log_probs * y).sum()
    return -neg_loss / len(x), neg_loss


class FuncBatchedTrainer(BatchedTrainer):
    """Forward and backward by ``torch.func``: ``vmap`` over the slots of ``grad`` of one slot's loss."""

    def _step(self, idx, x, targets, bits):
        n, depth = self._n_active, self._depth
        xb, yb, masks = _batch(self, idx, x, targets, bits)
        params = {name: self._views["param"][name] for name in _used_blocks(self)}
        has_layer = torch.arange(n)[:, None] < torch.tensor(self._count[:depth])  # rows are sorted deepest first
        shared = sum(c == n for c in self._count[:depth])
        per_slot = grad(lambda p, x, y, m, a: _slot_loss(p, x, y, m, a, depth, shared), has_aux=True)
        grads, neg_loss = vmap(per_slot, in_dims=(0, 0, 0, None if masks is None else 0, 0))(params, xb, yb, masks, has_layer)
        _update(self, grads)
        return neg_loss


class AutogradBatchedTrainer(BatchedTrainer):
    """The trainer's batched forward (``baddbmm`` over depth-sorted prefixes), backward by autograd."""

    def _step(self, idx, x, targets, bits):
        n, b = self._n_active, len(idx) // self._n_active
        xb, yb, masks = _batch(self, idx, x, targets, bits)
        p = {name: self._views["param"][name].detach().requires_grad_() for name in _used_blocks(self)}
        h = xb
        for i in range(self._depth):
            c = self._count[i]  # rows 0..c-1 have layer i; rows c..n-1 pass h through
            out = torch.baddbmm(p[f"b{i}"][:c], h[:c], p[f"W{i}"][:c]).relu()
            if masks is not None:
                out = out * masks[:c, :, i * WIDTH : (i + 1) * WIDTH]
            h = out if c == n else torch.cat([out, h[c:]])
        logits = torch.baddbmm(p["bH"], torch.baddbmm(p["bL"], h, p["WL"]), p["WH"])
        log_probs = torch.cat([torch.log_softmax(logits[..., a:c], -1) for a, c in HEAD_SLICES], -1)
        neg_loss = (log_probs * yb).sum((1, 2))
        grads = torch.autograd.grad(neg_loss.sum() / -b, list(p.values()))  # slots' losses are independent
        _update(self, dict(zip(p, grads, strict=True)))
        return neg_loss.detach()


def _lines(*functions) -> int:
    """Source lines of the code a version needs for its forward + backward (docstrings and comments count)."""
    return sum(len(inspect.getsourcelines(f)[0]) for f in functions)


# name -> (trainer class, source lines of the code its forward + backward needs). Counted at import: inspect reads
# the file as it is when asked, against the line numbers of the code as it was loaded.
BACKWARDS = {
    "hand-written": (BatchedTrainer, _lines(BatchedTrainer._step, BatchedTrainer._workspace)),
    "torch.func": (FuncBatchedTrainer, _lines(FuncBatchedTrainer._step, _slot_loss, _batch, _update, _used_blocks)),
    "autograd": (AutogradBatchedTrainer, _lines(AutogradBatchedTrainer._step, _batch, _update, _used_blocks)),
}


def run_backward(quick: bool, ks: Sequence[int] | None = None, rows: int | None = None, repeats: int | None = None) -> pd.DataFrame:
    """One row per (K, version): CPU ms per epoch and per step, and the paired ratio to the hand-written one."""
    ks = tuple(ks or (QUICK_BACKWARD_KS if quick else BACKWARD_KS))
    rows = rows or (QUICK_ROWS if quick else FULL_ROWS)
    repeats = repeats or (1 if quick else 5)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    dev = torch.device("cpu")
    x, y = synthetic_data(rows, dev)
    steps = -(-rows // BATCH_SIZE)
    out = []
    try:
        for k in sorted(ks):
            load = os.getloadavg()[0]
            configs = random_configs(k, seed=k)
            trainers = {}
            for name, (cls, _) in BACKWARDS.items():
                trainers[name] = cls(k, x.shape[1], device=dev, batch_size=BATCH_SIZE)
                for seed, params in enumerate(configs):
                    trainers[name].set_slot(seed, params, seed)
            first = {name: trainer.train_epoch(x, y) for name, trainer in trainers.items()}  # untimed warm-up
            times = {name: {"wall": [], "cpu": []} for name in trainers}
            names = list(trainers)
            for r in range(repeats):
                for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate who goes first
                    wall, cpu = time.perf_counter(), time.process_time()
                    trainers[name].train_epoch(x, y)
                    times[name]["wall"].append(time.perf_counter() - wall)
                    times[name]["cpu"].append(time.process_time() - cpu)
            hand = times["hand-written"]["cpu"]
            for name, (_, lines) in BACKWARDS.items():
                cpu = summary(times[name]["cpu"])
                ratio = summary(paired_ratios(times[name]["cpu"], hand))
                diff = max(abs(first[name][s] - first["hand-written"][s]) / abs(first["hand-written"][s]) for s in first[name])
                out.append(
                    {
                        "k": k,
                        "backward": name,
                        "cpu_ms_per_epoch": 1000 * cpu["median"],
                        "cpu_ms_per_step": 1000 * cpu["median"] / steps,
                        "cpu_ms_per_trial_epoch": 1000 * cpu["median"] / k,
                        "time_vs_hand_median": ratio["median"],
                        "time_vs_hand_min": ratio["min"],
                        "time_vs_hand_max": ratio["max"],
                        "wall_ms_per_epoch": 1000 * summary(times[name]["wall"])["median"],
                        "first_epoch_loss_max_rel_diff": diff,
                        "code_lines": lines,
                        "repeats": cpu["n"],
                        "clock": "cpu",
                        "rows": rows,
                        "steps_per_epoch": steps,
                        "batch": BATCH_SIZE,
                        "features": x.shape[1],
                        "threads": torch.get_num_threads(),
                        "load_1min_at_start": round(load, 2),
                    }
                )
            del trainers
    finally:
        torch.set_num_threads(threads_before)
    return pd.DataFrame(out)


def run(
    quick: bool,
    device: str = "cpu",
    ks: Sequence[int] | None = None,
    rows: int | None = None,
    repeats: int | None = None,
) -> pd.DataFrame:
    """One row per K: seconds per trial-epoch of plain and batched, the speedup, and memory."""
    dev = check_device(device)
    ks = tuple(ks or (QUICK_KS if quick else FULL_KS))
    rows = rows or (QUICK_ROWS if quick else FULL_ROWS)
    repeats = repeats or (1 if quick else 2)
    threads_before = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    clock = "cpu" if dev.type == "cpu" else "wall"
    x, y = synthetic_data(rows, dev)
    out = []
    try:
        for k in sorted(ks):
            load = os.getloadavg()[0]
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                times, trainer = time_k(k, x, y, dev, repeats)
            plain, batched = summary(times["plain"][clock]), summary(times["batched"][clock])
            ratio = summary(paired_ratios(times["plain"][clock], times["batched"][clock]))
            out.append(
                {
                    "k": k,
                    "plain_trial_epoch_s": plain["median"],
                    "batched_trial_epoch_s": batched["median"],
                    "speedup_median": ratio["median"],
                    "speedup_min": ratio["min"],
                    "speedup_max": ratio["max"],
                    "plain_trial_epochs_per_s": 1 / plain["median"],
                    "batched_trial_epochs_per_s": 1 / batched["median"],
                    "plain_wall_trial_epoch_s": summary(times["plain"]["wall"])["median"],
                    "batched_wall_trial_epoch_s": summary(times["batched"]["wall"])["median"],
                    "batched_tensors_mb": trainer.memory_bytes() / 2**20,
                    "peak_memory_mb": _peak_memory_mb(dev),
                    "peak_memory_kind": "cuda max_memory_allocated" if dev.type == "cuda" else "process peak RSS so far",
                    "repeats": plain["n"],
                    "clock": clock,
                    "rows": rows,
                    "batch": BATCH_SIZE,
                    "features": x.shape[1],
                    "threads": torch.get_num_threads(),
                    "load_1min_at_start": round(load, 2),  # other jobs on a shared machine slow both sides
                }
            )
            del trainer
    finally:
        torch.set_num_threads(threads_before)
    return pd.DataFrame(out)


def show(frame: pd.DataFrame) -> str:
    cols = ["k", "plain_trial_epoch_s", "batched_trial_epoch_s", "speedup_median", "speedup_min", "speedup_max"]
    cols += ["plain_trial_epochs_per_s", "batched_trial_epochs_per_s", "batched_tensors_mb", "peak_memory_mb"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        return frame[cols].to_string(index=False)


def show_backward(frame: pd.DataFrame) -> str:
    cols = ["k", "backward", "cpu_ms_per_epoch", "cpu_ms_per_step", "time_vs_hand_median", "time_vs_hand_min"]
    cols += ["time_vs_hand_max", "first_epoch_loss_max_rel_diff", "code_lines", "load_1min_at_start"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        return frame[cols].to_string(index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} rows, K = {QUICK_KS}, one repeat; writes no CSV")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    parser.add_argument("--ks", type=int, nargs="+", help=f"the K values (default {FULL_KS}; quick {QUICK_KS})")
    parser.add_argument("--rows", type=int, help=f"training rows (default {FULL_ROWS}; quick {QUICK_ROWS})")
    parser.add_argument("--repeats", type=int, help="timed epochs per side (default 2; quick 1)")
    parser.add_argument("--csv", type=Path, help=f"append the rows here (default in full mode: benchmarks/results/{CSV_NAME})")
    parser.add_argument(
        "--backward",
        action="store_true",
        help=f"hand-written backward vs torch.func vs autograd, CPU (default K {BACKWARD_KS}, 5 repeats; "
        f"writes {BACKWARD_CSV})",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.backward:
        if check_device(args.device).type != "cpu":
            parser.error("--backward measures the CPU only")
        frame = run_backward(args.quick, args.ks, args.rows, args.repeats)
        text, csv_name = show_backward(frame), BACKWARD_CSV
    else:
        frame = run(args.quick, args.device, args.ks, args.rows, args.repeats)
        text, csv_name = show(frame), CSV_NAME
    seconds = time.perf_counter() - start
    print(text)
    print(f"({seconds:.1f} s)")
    path = args.csv or (None if args.quick else RESULTS_DIR / csv_name)
    if path is not None:
        out = stamped(frame, args.device).assign(mode="quick" if args.quick else "full", bench_seconds=round(seconds, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and list(pd.read_csv(path, nrows=0).columns) == list(out.columns):
            out.to_csv(path, mode="a", header=False, index=False)
        else:
            out.to_csv(path, index=False)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
