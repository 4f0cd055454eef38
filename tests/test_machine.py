"""The one machine description that studies, records and benchmarks carry: what it reads and how it names it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import optuna
import pytest
import torch

from tutorial_utils import machine
from tutorial_utils.machine import cpu_model, machine_info, machine_label

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme de pse

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
"""


class _FakePath:
    """Stands in for machine.Path: every file reads as ``text`` (or raises OSError when text is None)."""

    text: str | None = None

    def __init__(self, *parts):
        self.parts = parts

    def read_text(self):
        if self.text is None:
            raise OSError("no /proc here")
        return self.text


def test_labels_from_known_descriptions():
    assert machine_label({"device": "cpu", "cpu_count": 2, "torch_threads": 1}) == "cpu x2 (1 torch thread)"
    assert machine_label({"device": "cpu", "cpu_count": 16, "torch_threads": 4}) == "cpu x16 (4 torch threads)"
    assert machine_label({"cpu_count": 8, "torch_threads": 8}) == "cpu x8 (8 torch threads)"  # device defaults to cpu
    assert machine_label({"device": "cuda", "gpu": "NVIDIA H100 80GB HBM3"}) == "cuda (NVIDIA H100 80GB HBM3)"
    assert machine_label({"device": "cuda:1", "gpu": "Tesla T4", "cpu_count": 2, "torch_threads": 2}) == "cuda:1 (Tesla T4)"
    assert machine_label({"gpu": "Tesla T4"}) == "cuda (Tesla T4)"
    assert machine_label({}) == "unknown machine"  # not "cpu xNone (None torch threads)"
    assert machine_label({"device": "cpu", "cpu_count": 4}) == "unknown machine"


def test_cpu_model_is_the_model_name_line_of_cpuinfo(monkeypatch):
    fake = type("CpuInfoPath", (_FakePath,), {"text": CPUINFO})
    monkeypatch.setattr(machine, "Path", fake)
    assert cpu_model() == "Intel(R) Xeon(R) Platinum 8480+"


def test_cpu_model_without_cpuinfo_falls_back_to_platform(monkeypatch):
    monkeypatch.setattr(machine, "Path", type("NoProc", (_FakePath,), {"text": None}))
    monkeypatch.setattr(machine.platform, "processor", lambda: "arm")
    assert cpu_model() == "arm"
    monkeypatch.setattr(machine.platform, "processor", lambda: "")  # e.g. Linux without a processor string
    monkeypatch.setattr(machine.platform, "machine", lambda: "aarch64")
    assert cpu_model() == "aarch64"
    # A cpuinfo without a model name line (some ARM boards) falls back the same way.
    monkeypatch.setattr(machine, "Path", type("ArmInfo", (_FakePath,), {"text": "processor\t: 0\nBogoMIPS\t: 48.00\n"}))
    assert cpu_model() == "aarch64"


@pytest.fixture
def fake_machine(monkeypatch):
    """7 cores, 3 torch threads, and a CUDA runtime that says it has a GPU: every name it is asked is recorded."""
    asked = []
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 7)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def device_name(device):
        asked.append(device)
        return {0: "NVIDIA H100 80GB HBM3", 1: "Tesla T4"}[device.index or 0]

    monkeypatch.setattr(torch.cuda, "get_device_name", device_name)
    return asked


def test_a_cpu_study_is_labelled_with_cores_and_threads_and_never_asks_the_gpu(fake_machine):
    info = machine_info("cpu", packages=())
    assert (info["device"], info["cpu_count"], info["torch_threads"]) == ("cpu", 7, 3)
    assert "gpu" not in info and fake_machine == []
    assert machine_label(info) == "cpu x7 (3 torch threads)"


def test_a_cuda_study_is_labelled_with_the_gpu_of_its_device(fake_machine):
    info = machine_info("cuda:1", packages=())
    assert info["gpu"] == "Tesla T4" and fake_machine == [torch.device("cuda:1")]
    assert machine_label(info) == "cuda:1 (Tesla T4)"
    info = machine_info(torch.device("cuda"), packages=())  # a torch.device works as well as its name
    assert info["device"] == "cuda" and machine_label(info) == "cuda (NVIDIA H100 80GB HBM3)"


def test_no_gpu_name_where_cuda_is_missing_or_the_device_is_not_cuda(fake_machine, monkeypatch):
    assert "gpu" not in machine_info("mps", packages=())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "gpu" not in machine_info("cuda", packages=())
    assert fake_machine == []


def test_versions_date_and_absent_packages():
    before = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None)
    info = machine_info("cpu", packages=("optuna", "numpy", "not-a-package-xyz"))
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert info["optuna"] == optuna.__version__ and info["numpy"] == np.__version__
    assert info["not-a-package-xyz"] == "absent"
    assert before <= dt.datetime.strptime(info["date_utc"], "%Y-%m-%d %H:%M") <= after
    assert info["cpu_count"] >= 1 and info["torch_threads"] >= 1 and info["cpu"]
