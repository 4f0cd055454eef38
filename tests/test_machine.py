"""The one machine description that studies, records and benchmarks carry."""

from __future__ import annotations

from tutorial_utils.machine import machine_info, machine_label


def test_labels_from_known_descriptions():
    assert machine_label({"device": "cpu", "cpu_count": 2, "torch_threads": 1}) == "cpu x2 (1 torch thread)"
    assert machine_label({"device": "cpu", "cpu_count": 16, "torch_threads": 4}) == "cpu x16 (4 torch threads)"
    assert machine_label({"device": "cuda", "gpu": "NVIDIA H100 80GB HBM3"}) == "cuda (NVIDIA H100 80GB HBM3)"
    assert machine_label({}) == "unknown machine"  # not "cpu xNone (None torch threads)"


def test_description_of_this_machine_has_what_a_results_row_needs():
    info = machine_info("cpu", packages=("optuna", "not-a-package-xyz"))
    assert info["device"] == "cpu" and info["cpu_count"] >= 1 and info["torch_threads"] >= 1 and info["cpu"]
    assert info["optuna"].startswith("5.") and info["not-a-package-xyz"] == "absent"
    assert "gpu" not in info
