"""One device policy: what "auto" means, the errors for a device this machine lacks, and what a study stores."""

from __future__ import annotations

import os

import pytest
import torch

from tutorial_utils import batched, devices, setup
from tutorial_utils.devices import (
    DeviceError,
    device_identity,
    make_reproducible,
    resolve_device,
    same_device,
)

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


@NO_GPU
def test_auto_is_the_cpu_on_a_machine_without_an_accelerator():
    if torch.backends.mps.is_available():
        pytest.skip("MPS here")
    assert resolve_device("auto") == resolve_device(None) == torch.device("cpu")


@NO_GPU
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gpu0", "'gpu0' is not a device name"),
        ("cuda", "torch sees no CUDA GPU here; use auto or cpu"),
        ("cuda:1", "torch sees no CUDA GPU here"),
        ("xla", "not supported; use auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_device_this_machine_lacks_is_one_clear_error_everywhere(name, message):
    """The notebooks' setup, the CLI and the batched trainer all say the same, through one resolver."""
    for resolve in (resolve_device, setup.pick_device, batched.check_device):
        with pytest.raises(DeviceError, match=message):
            resolve(name)


def test_same_device_treats_plain_cuda_as_the_current_gpu():
    assert same_device("cpu", torch.device("cpu"))
    assert not same_device("cpu", "cuda:0")
    assert same_device("cuda", "cuda:0")  # tensors always name their GPU's index; "cuda" is the current one
    assert not same_device("cuda:1", "cuda:0")


def test_a_cpu_study_stores_the_device_type_and_no_accelerator():
    assert device_identity("cpu") == {"device_type": "cpu", "accelerator": "none"}


def test_reproducibility_settings_change_only_on_cuda(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        assert make_reproducible("cpu") is False
        assert torch.are_deterministic_algorithms_enabled() is before[0]
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        # On CUDA (setting these flags needs no GPU): deterministic kernels, warning where an op has none.
        assert make_reproducible("cuda") is True
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == devices.CUBLAS_DETERMINISTIC
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


@pytest.fixture(scope="module")
def tiny_faces():
    from tutorial_utils import prepare

    return prepare.load_study_data("synthetic", image_side=12, synthetic_rows=400, verbose=False)


def test_a_study_is_refused_on_another_kind_of_device_and_a_new_machine_is_added_not_written_over(tiny_faces, tmp_path):
    from tutorial_utils.studies import StudyConfigError, StudySpec, run_study

    url = f"sqlite:///{tmp_path / 'study.db'}"
    spec = StudySpec(sampler="random", seed=0, n_trials=2, n_epochs=1, batch_size=64)
    study = run_study(spec, tiny_faces, url, progress=False)
    assert (study.user_attrs["device_type"], study.user_attrs["accelerator"]) == ("cpu", "none")
    first = study.user_attrs["machine"]
    # The same study as a GPU run would have stored it: resuming it on the CPU mixes two experiments.
    study.set_user_attr("device_type", "cuda")
    study.set_user_attr("accelerator", "NVIDIA H100 80GB HBM3")
    with pytest.raises(StudyConfigError, match="device_type: stored 'cuda', now 'cpu'"):
        run_study(StudySpec(**{**spec.__dict__, "n_trials": 3}), tiny_faces, url, progress=False)
    # Back to a CPU record, resumed on "another" CPU machine: the first machine stays, the new one is added.
    study.set_user_attr("device_type", "cpu")
    study.set_user_attr("accelerator", "none")
    study.set_user_attr("machine", {**first, "cpu_count": 64})
    resumed = run_study(StudySpec(**{**spec.__dict__, "n_trials": 3}), tiny_faces, url, progress=False)
    assert resumed.user_attrs["machine"]["cpu_count"] == 64
    assert resumed.user_attrs["resumed_on"] == [f"cpu x{first['cpu_count']} ({first['torch_threads']} torch thread"
                                                f"{'s' if first['torch_threads'] != 1 else ''})"]
    assert [t.user_attrs["device"] for t in resumed.trials] == ["cpu"] * 3


def test_run_study_refuses_a_device_the_data_is_not_on(tiny_faces, monkeypatch):
    from tutorial_utils import studies

    spec = studies.StudySpec(sampler="random", seed=0, n_trials=1, n_epochs=1, batch_size=64)
    # As on a GPU machine asked for "cuda" while the tensors were loaded on the CPU:
    monkeypatch.setattr(studies, "resolve_device", lambda name: torch.device("cuda", 0))
    with pytest.raises(studies.StudyConfigError, match="the data lives on cpu: training runs where the data is"):
        studies.run_study(spec, tiny_faces, progress=False, device="cuda")
