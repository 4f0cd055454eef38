"""Benchmark 2: one training epoch, the original study's pipeline against ours, and both against the FLOP limit.

- classic: what the original did (without torchvision, which the course does not need): a ``Dataset`` whose
  ``__getitem__`` takes one row of the pixel matrix, makes a float CHW tensor /255 (ToTensor), resizes it
  to 24x24 with antialiasing (Resize) and scales it to [-1, 1] (Normalize); a ``DataLoader(batch_size=128,
  shuffle=True, num_workers=0)`` collates the samples, and the loop sums a ``loss.item()`` per batch.
  The main baseline is a generous one: it indexes a NumPy matrix, not a DataFrame row as the original did.
  Full mode adds two variants: DataFrame rows (``frame.iloc[i]``, closer to the original) and a PIL resize.
- ours: ``tutorial_utils.training.train_epoch`` over the tensors ``prepare_faces`` made once.
- limit: the multiply-adds of forward + backward over the training set, divided by the matmul throughput
  this machine reaches, once at the network's own shapes (batch 128 x widths ~60) and once at a large
  square shape (the machine's peak). It says how much of an epoch is arithmetic and how much is overhead.

Same samples, same network (the original's best), same optimizer, interleaved repeats.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset

from tutorial_utils.models import MultiHeadFCNet
from tutorial_utils.prepare import DEFAULT_SPLIT_SEED, DEFAULT_VALID_SIZE, bin_ages, prepare_faces
from tutorial_utils.training import make_optimizer, multi_head_loss, train_epoch

from .common import (
    BATCH_SIZE,
    BEST_PARAMS,
    IMAGE_SIDE,
    data_label,
    interleaved,
    load_faces,
    paired_ratios,
    summary,
    timed,
    timed_both,
)

try:  # Pillow comes with matplotlib; the PIL variant of the classic pipeline needs it.
    from PIL import Image
except ImportError:  # pragma: no cover - matplotlib always brings it
    Image = None


class ClassicFaceDataset(Dataset):
    """The original per-sample pipeline: every item is converted, resized and normalised on every epoch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, side: int = IMAGE_SIDE, resize_with: str = "torch"):
        self.images, self.labels, self.side, self.resize_with = images, labels, side, resize_with

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        pixels = self.images[i]
        if self.resize_with == "pil":  # ToPILImage -> Resize -> ToTensor, as torchvision does on a PIL image
            small = np.asarray(Image.fromarray(pixels).resize((self.side, self.side), Image.BILINEAR))
            x = torch.from_numpy(small.copy()).float().div(255)[None]
        else:  # ToTensor -> Resize (antialiased, on the tensor) as the original's transform list read
            x = torch.from_numpy(pixels).float().div(255)[None]
            x = F.interpolate(x[None], size=(self.side, self.side), mode="bilinear", antialias=True)[0]
        x = (x - 0.5) / 0.5  # Normalize(mean=0.5, std=0.5)
        age, ethnicity, gender = self.labels[i]
        return x, int(age), int(ethnicity), int(gender)


class ClassicFrameDataset(ClassicFaceDataset):
    """Closer to the original: each item is a DataFrame row (``frame.iloc[i]``) whose ``pixels`` cell holds the
    float32 array that ``pixels.apply(split)`` made, as the original kept its data; then the same transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, side: int = IMAGE_SIDE):
        super().__init__(images, labels, side, "torch")
        self.frame = pd.DataFrame(
            {
                "pixels": list(images.reshape(len(images), -1).astype(np.float32)),
                "age_bin": labels[:, 0],
                "ethnicity": labels[:, 1],
                "gender": labels[:, 2],
            }
        )

    def __getitem__(self, i: int):
        row = self.frame.iloc[i]
        x = torch.from_numpy(row["pixels"].reshape(self.side * 2, self.side * 2)).div(255)[None]
        x = F.interpolate(x[None], size=(self.side, self.side), mode="bilinear", antialias=True)[0]
        x = (x - 0.5) / 0.5
        return x, int(row["age_bin"]), int(row["ethnicity"]), int(row["gender"])


def classic_epoch(model, optimizer, loader: DataLoader, device: torch.device) -> float:
    """The original's loop: batches from the DataLoader, moved to the device, a ``loss.item()`` per batch."""
    model.train()
    running, seen = 0.0, 0
    for x, age, ethnicity, gender in loader:
        x = x.to(device).view(len(x), -1)
        targets = torch.stack([age, ethnicity, gender], dim=1).to(device)
        optimizer.zero_grad()
        loss = multi_head_loss(model(x), targets)
        loss.backward()
        optimizer.step()
        running += loss.item() * len(x)
        seen += len(x)
    return running / seen


def train_split(faces, seed: int = DEFAULT_SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The same fit rows ``prepare_faces`` trains on (same calls, same seed): uint8 images and (age bin, eth, gender)."""
    age_bin = bin_ages(faces.age)
    idx_train, _ = train_test_split(np.arange(len(faces)), test_size=0.2, random_state=seed, stratify=age_bin)
    idx_fit, _ = train_test_split(
        idx_train, test_size=DEFAULT_VALID_SIZE, random_state=seed, stratify=age_bin[idx_train]
    )
    labels = np.stack([age_bin, faces.ethnicity, faces.gender], axis=1)[idx_fit]
    return np.ascontiguousarray(faces.images[idx_fit]), labels


# ------------------------------------------------------------------------------------------ FLOP limit


def layer_widths(params: dict, n_features: int) -> list[int]:
    n = int(params["num_fc_layers"])
    return [n_features, *[int(params[f"fc_output_feat_{i}"]) for i in range(n)], int(params["last_fc"]), 12]


def train_flops_per_sample(widths: list[int]) -> int:
    """FLOPs (2 per multiply-add) of forward + backward for one sample through the Linear layers.

    Forward: in*out per layer. Backward: the weight gradient (in*out) for every layer and the input gradient
    (in*out) for every layer but the first (nothing needs the gradient of the pixels). About 3x forward.
    """
    macs = [a * b for a, b in zip(widths[:-1], widths[1:], strict=True)]
    return 2 * (3 * sum(macs) - macs[0])


def step_matmuls(widths: list[int], batch: int, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The matmul operands of one training step at the network's own shapes (forward, input grad, weight grad)."""
    ops = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        ops.append((torch.randn(batch, a, device=device), torch.randn(a, b, device=device)))  # forward
        if k > 0:
            ops.append((torch.randn(batch, b, device=device), torch.randn(b, a, device=device)))  # grad of input
        ops.append((torch.randn(b, batch, device=device), torch.randn(batch, a, device=device)))  # grad of weight
    return ops


def matmul_gflops_at_step_shapes(widths, batch, device, sync, seconds: float, clock: int) -> list[float]:
    """GFLOP/s of the step's matmuls alone, in rounds of ``seconds``: the best any pipeline could do.

    ``clock`` picks wall (0) or CPU (1) seconds from ``timed_both``.
    """
    ops = step_matmuls(widths, batch, device)
    flops = sum(2 * x.shape[0] * x.shape[1] * w.shape[1] for x, w in ops)

    def one_round() -> float:
        n, elapsed = 0, 0.0
        while elapsed < seconds:
            elapsed += timed_both(lambda: [torch.mm(x, w) for _ in range(20) for x, w in ops], sync)[clock]
            n += 20
        return n * flops / elapsed / 1e9

    one_round()  # warm-up
    return [one_round() for _ in range(5)]


def matmul_gflops_large(device, sync, side: int, clock: int, rounds: int = 5) -> list[float]:
    """GFLOP/s of a large square matmul: the machine's practical peak with the current threads."""
    a, b = torch.randn(side, side, device=device), torch.randn(side, side, device=device)
    torch.mm(a, b)
    return [2 * side**3 / timed_both(lambda: torch.mm(a, b), sync)[clock] / 1e9 for _ in range(rounds)]


# ------------------------------------------------------------------------------------------ the benchmark

CLASSIC = "classic: Dataset+DataLoader, tensor resize"
CLASSIC_PIL = "classic: Dataset+DataLoader, PIL resize"
CLASSIC_FRAME = "classic: DataFrame rows (as the original)"
OURS = "ours: device-resident train_epoch"
LIMIT_STEP = "limit: matmuls at the step's shapes"
LIMIT_PEAK = "limit: large-matmul peak"


def run(quick: bool, device: str = "cpu", repeats: int | None = None) -> pd.DataFrame:
    """Time classic vs ours side by side; return one row per pipeline plus the two FLOP-limit rows.

    The main clock is this process's CPU time when torch runs one CPU thread (steady on a shared machine,
    and equal to wall time on an idle one); otherwise wall time. Wall times are always reported too.
    """
    repeats = repeats or (2 if quick else 5)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else None
    clock_name = "cpu" if dev.type == "cpu" and torch.get_num_threads() == 1 else "wall"
    clock = 1 if clock_name == "cpu" else 0
    faces = load_faces(quick)

    prep_s = timed(lambda: prepare_faces(faces, image_side=IMAGE_SIDE, device=dev), sync)
    tensors = prepare_faces(faces, image_side=IMAGE_SIDE, device=dev)
    images, labels = train_split(faces)
    n_train = len(images)
    assert n_train == len(tensors.x_train), "classic and ours must see the same number of samples"

    def fresh_model():
        torch.manual_seed(0)
        model = MultiHeadFCNet.from_params(BEST_PARAMS, tensors.n_features).to(dev)
        return model, make_optimizer(BEST_PARAMS["optimizer"], model.parameters(), BEST_PARAMS["lr"])

    def classic_runner(resize_with: str):
        model, opt = fresh_model()
        if resize_with == "frame":
            dataset = ClassicFrameDataset(images, labels, IMAGE_SIDE)
        else:
            dataset = ClassicFaceDataset(images, labels, IMAGE_SIDE, resize_with)
        loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=0)
        return lambda: classic_epoch(model, opt, loader, dev)

    model, opt = fresh_model()
    generator = torch.Generator().manual_seed(0)
    candidates = {
        CLASSIC: classic_runner("torch"),
        OURS: lambda: train_epoch(model, opt, tensors.x_train, tensors.y_train, BATCH_SIZE, generator),
    }
    if not quick:  # two more variants of the baseline, to show the ratio does not hinge on its details
        candidates[CLASSIC_FRAME] = classic_runner("frame")
        if Image is not None:
            candidates[CLASSIC_PIL] = classic_runner("pil")
    for fn in candidates.values():  # warm-up epoch each: first-call allocations are not part of the claim
        fn()
    times = interleaved(candidates, repeats, sync)

    widths = layer_widths(BEST_PARAMS, tensors.n_features)
    epoch_flops = train_flops_per_sample(widths) * n_train
    small = matmul_gflops_at_step_shapes(widths, BATCH_SIZE, dev, sync, 0.2 if quick else 0.5, clock)
    large = matmul_gflops_large(dev, sync, 1024 if quick else 2048, clock)
    # A limit is what the machine CAN do: the best round, not the median one.
    limit_small_s = epoch_flops / (max(small) * 1e9)
    limit_large_s = epoch_flops / (max(large) * 1e9)

    common = {
        "clock": clock_name,
        "data": data_label(faces),
        "n_train": n_train,
        "batch": BATCH_SIZE,
        "input": f"{IMAGE_SIDE}x{IMAGE_SIDE}",
        "network": "-".join(map(str, widths)),
        "epoch_gflop": epoch_flops / 1e9,
        "threads": torch.get_num_threads(),
        "ours_prepare_once_s": prep_s,
    }
    rows = []
    for name, measured in times.items():
        main = summary(measured[clock_name])
        ratio = summary(paired_ratios(measured[clock_name], times[OURS][clock_name]))
        wall = summary(measured["wall"])
        rows.append(
            {
                "pipeline": name,
                "epoch_s_median": main["median"],
                "epoch_s_min": main["min"],
                "epoch_s_max": main["max"],
                "repeats": main["n"],
                "speedup_median": ratio["median"],
                "speedup_min": ratio["min"],
                "speedup_max": ratio["max"],
                "wall_s_median": wall["median"],
                "wall_speedup_median": summary(paired_ratios(measured["wall"], times[OURS]["wall"]))["median"],
                "gflops": epoch_flops / main["median"] / 1e9,
                "x_limit_step_shapes": main["median"] / limit_small_s,
                "x_limit_peak": main["median"] / limit_large_s,
                **common,
            }
        )
    for name, gflops, limit_s in ((LIMIT_STEP, small, limit_small_s), (LIMIT_PEAK, large, limit_large_s)):
        rows.append(
            {
                "pipeline": name,
                "epoch_s_median": epoch_flops / (summary(gflops)["median"] * 1e9),
                "epoch_s_min": limit_s,
                "epoch_s_max": epoch_flops / (min(gflops) * 1e9),
                "repeats": len(gflops),
                "gflops": max(gflops),
                "x_limit_step_shapes": limit_s / limit_small_s,
                "x_limit_peak": limit_s / limit_large_s,
                **common,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    from tutorial_utils.setup import configure_torch_threads

    configure_torch_threads()
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(run(args.quick, args.device, args.repeats))


if __name__ == "__main__":
    main()
