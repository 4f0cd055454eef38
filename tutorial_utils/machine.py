"""What ran a study or a benchmark: one description, so results from different machines stay comparable."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

VERSIONED = ("torch", "numpy", "pandas", "optuna", "scikit-optimize", "scikit-learn")


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: Any = "cpu", packages: Iterable[str] = VERSIONED) -> dict[str, Any]:
    """The machine (host, OS, CPU model and count, torch threads, device, GPU name), the date and the versions
    of ``packages``."""
    import torch

    info: dict[str, Any] = {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(str(device)))
    for package in packages:
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = "absent"
    return info


def machine_label(info: Mapping[str, Any]) -> str:
    """A short line such as ``cpu x2 (1 torch thread)`` or ``cuda (NVIDIA H100)``; "unknown machine" when the
    description is missing."""
    if info.get("gpu"):
        return f"{info.get('device', 'cuda')} ({info['gpu']})"
    if "cpu_count" not in info or "torch_threads" not in info:
        return "unknown machine"
    threads = info["torch_threads"]
    return f"{info.get('device', 'cpu')} x{info['cpu_count']} ({threads} torch thread{'s' if threads != 1 else ''})"
