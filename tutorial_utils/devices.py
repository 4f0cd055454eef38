"""Which torch device the course trains on, decided in one place.

Notebooks (``setup_notebook``), the CLI (``--device``), the study runner and the batched trainer all resolve a
device here, so "auto" means the same everywhere and a device this machine lacks gets the same clear error.
A study stores :func:`device_identity`, so resuming it on another kind of device is refused instead of
silently mixing two experiments.
"""

from __future__ import annotations

import os
from typing import Any

import torch

AUTO = "auto"
# cuBLAS needs this before its first call to pick deterministic kernels (PyTorch's reproducibility notes).
CUBLAS_DETERMINISTIC = ":4096:8"


class DeviceError(ValueError):
    """A device name that is not a device, or a device this machine does not have."""


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(name: str | torch.device | None = AUTO) -> torch.device:
    """``auto`` (or None): cuda, then mps, then cpu. Any other name must exist here, else a DeviceError that
    says what this machine has."""
    if name is None or (isinstance(name, str) and name.strip().lower() == AUTO):
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"{name!r} is not a device name ({exc}); use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} is not available: torch sees no CUDA GPU here; use auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} is not available: torch sees {torch.cuda.device_count()} CUDA GPU(s), "
                f"numbered from 0"
            )
    elif device.type == "mps":
        if not _mps_available():
            raise DeviceError(f"device {name!r} is not available: torch has no usable MPS backend here; use auto or cpu")
    elif device.type != "cpu":
        raise DeviceError(f"device {name!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    return device


def same_device(a: str | torch.device, b: str | torch.device) -> bool:
    """Whether two devices are one: ``cuda`` means the current GPU, so it equals ``cuda:0`` on a one-GPU machine."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    current = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)


def accelerator_name(device: str | torch.device) -> str:
    """The GPU's name (``NVIDIA H100 80GB HBM3``), ``Apple MPS``, or ``none`` on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device) if torch.cuda.is_available() else "unknown CUDA GPU"
    return "Apple MPS" if device.type == "mps" else "none"


def device_identity(device: str | torch.device) -> dict[str, str]:
    """What a study stores of its device: the device type and the accelerator's name. A CPU study may resume on
    another CPU; a GPU study only on the same kind of GPU."""
    device = torch.device(device)
    return {"device_type": device.type, "accelerator": accelerator_name(device)}


def make_reproducible(device: str | torch.device) -> bool:
    """Ask torch for deterministic kernels where the device needs it, so a retrained trial reproduces its score.

    On the CPU the course's ops already are deterministic for a fixed thread count: nothing to do. On CUDA it
    sets ``CUBLAS_WORKSPACE_CONFIG`` (unless set) and ``torch.use_deterministic_algorithms(True,
    warn_only=True)``: an op without a deterministic kernel warns instead of failing the run. Returns whether
    it changed any setting.
    """
    if torch.device(device).type != "cuda":
        return False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    return True


def synchronize(device: Any) -> None:
    """Wait for queued GPU work, so a wall-clock reading after it includes the work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


__all__ = ["AUTO", "DeviceError", "accelerator_name", "device_identity", "make_reproducible", "resolve_device",
           "same_device", "synchronize"]
