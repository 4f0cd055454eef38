"""What every notebook's setup cell calls: pick the device, set sane CPU threads, check library versions."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

DISTRIBUTION = "tutorial_utils"

SHOWN_VERSIONS = ("optuna", "torch", "numpy", "pandas", "scikit-learn", "lightgbm", "scikit-optimize")


def in_colab() -> bool:
    """True inside Google Colab (its module is importable only there)."""
    if "google.colab" in sys.modules:
        return True
    # find_spec("google.colab") raises when there is no "google" package at all.
    return importlib.util.find_spec("google") is not None and importlib.util.find_spec("google.colab") is not None


def minimums_from_requirements(requirements: Iterable[str]) -> dict[str, str]:
    """``{name: floor}`` for the unconditional requirements (markers such as ``extra == "dev"`` excluded).

    The floor is the version of a ``>=``, ``==`` or ``~=`` clause; requirements without one are skipped.
    """
    minimums: dict[str, str] = {}
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if canonicalize_name(requirement.name) == canonicalize_name(DISTRIBUTION):
            continue
        floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        if floors:
            minimums[requirement.name.lower()] = str(max(floors))
    return minimums


def _checkout_pyproject() -> Path | None:
    """pyproject.toml of the checkout this package sits in (editable install or sys.path), if any."""
    candidate = Path(__file__).resolve().parent.parent / "pyproject.toml"
    return candidate if candidate.is_file() else None


def declared_minimums() -> dict[str, str]:
    """The floors of the course's core dependencies, from their one source: pyproject.toml.

    In a checkout, pyproject.toml itself is read (installed metadata can be stale until the next
    ``make setup``); a wheel install reads the same list from its metadata (``Requires-Dist``).
    """
    pyproject = _checkout_pyproject()
    if pyproject is not None:
        try:
            import tomllib
        except ImportError:  # Python 3.10: fall back to the installed metadata
            tomllib = None
        if tomllib is not None:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
            if canonicalize_name(project.get("name", "")) == canonicalize_name(DISTRIBUTION):
                return minimums_from_requirements(project.get("dependencies", []))
    try:
        return minimums_from_requirements(importlib.metadata.requires(DISTRIBUTION) or [])
    except importlib.metadata.PackageNotFoundError:
        return {}


def is_at_least(version: str, minimum: str) -> bool:
    """PEP 440 comparison: ``1.13.0rc1`` is older than ``1.13.0``, ``2.13.0+cpu`` is 2.13.0 for this check.

    A pre-release of the minimum itself does not count as the minimum (it predates the release).
    """
    return Version(version) >= Version(minimum)


# Oldest releases the course is tested against; older ones break the notebooks in confusing ways.
# Read from pyproject.toml (the one place the floors are written), see declared_minimums().
MIN_VERSIONS: dict[str, str] = declared_minimums()


def check_versions(minimums: dict[str, str] = MIN_VERSIONS) -> dict[str, str]:
    """Return installed versions; raise one readable error listing every package that is missing or too old."""
    found, problems = {}, []
    for name, minimum in minimums.items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed (need >= {minimum})")
            continue
        found[name] = version
        try:
            too_old = not is_at_least(version, minimum)
        except InvalidVersion:  # not PEP 440 (a vendor build): cannot be ranked, so do not block on it
            continue
        if too_old:
            problems.append(f"{name} {version} is too old (need >= {minimum})")
    if problems:
        raise RuntimeError(
            "The course needs newer libraries: " + "; ".join(problems) + ". Run `make setup` (or, in Colab, "
            "re-run the setup cell) to install the tested versions."
        )
    return found


def default_cpu_threads() -> int:
    """Threads for torch on CPU: the course's small nets gain nothing from many threads and lose to
    oversubscription (on 2 cores, 1 thread was as fast as 2 and left a core for the sampler and Jupyter).

    Half the cores, at most 2. Measured in benchmarks/ (threads); ``TUTORIAL_UTILS_THREADS`` overrides.
    """
    env = os.environ.get("TUTORIAL_UTILS_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, (os.cpu_count() or 1) // 2))


def configure_torch_threads(n_threads: int | None = None) -> int:
    """Apply the CPU thread default (or ``n_threads``) to torch and return it."""
    import torch

    n = n_threads or default_cpu_threads()
    torch.set_num_threads(n)
    return n


def pick_device(prefer: str | None = None):
    """cuda, then mps, then cpu; ``prefer`` (e.g. "cpu") forces one (see :func:`tutorial_utils.devices.resolve_device`)."""
    from .devices import resolve_device

    return resolve_device(prefer)


def setup_notebook(device: str | None = None, quiet: bool = False):
    """Check versions, pick and print the device, set CPU threads, and return the device."""
    from .devices import make_reproducible

    versions = check_versions()
    dev = pick_device(device)
    threads = configure_torch_threads()
    deterministic = make_reproducible(dev)  # on CUDA: deterministic kernels, so a retrained trial reproduces
    if not quiet:
        print("Versions: " + ", ".join(f"{k} {versions[k]}" for k in SHOWN_VERSIONS if k in versions))
        extra = f" ({threads} CPU threads for torch)" if dev.type == "cpu" else ""
        if dev.type == "cuda":
            import torch

            extra = f" ({torch.cuda.get_device_name(dev)})"
            if deterministic:
                extra += ", deterministic algorithms on"
        print(f"Device: {dev}{extra}")
        if dev.type == "cpu" and in_colab():
            print("No GPU: in Colab choose Runtime > Change runtime type > T4 GPU, then re-run from the top.")
        if in_colab():
            from .data import find_data_file

            if find_data_file() is None:
                print(
                    "Real face data: not found. To fetch it with kagglehub (needs a Kaggle account), run\n"
                    "  from tutorial_utils.download import download_face_data; download_face_data()\n"
                    "Without it the face notebooks use synthetic faces."
                )
    return dev
