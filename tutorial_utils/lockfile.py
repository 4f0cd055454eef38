"""The course's lock of tested versions (``requirements-lock.txt``), read: the one source of exact versions.

``make lock`` writes the lock with uv's resolver (``tools/lock.py``); ``make setup`` installs with it as a pip
constraint; the Colab pins, the README's "tested with" line and the checks in tests/ read it through here. A
line is ``name==version`` with an optional environment marker (``; python_full_version >= '3.12'``) where the
resolver chose different versions for different Pythons or platforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

LOCK_NAME = "requirements-lock.txt"
LOCK = Path(__file__).resolve().parent.parent / LOCK_NAME  # in a checkout; a wheel has no lock


class LockError(ValueError):
    """A lock line that is not ``name==version [; marker]``: names the file and line, and what to do."""


@dataclass(frozen=True)
class Pin:
    """One line of the lock."""

    name: str  # canonical (PEP 503): "scikit-learn", "optuna-integration"
    version: str
    marker: Marker | None
    line: str  # the line as written, for pip (marker included)

    def applies(self, environment: dict[str, str] | None = None) -> bool:
        """Whether this pin is for ``environment`` (default: the running interpreter)."""
        return self.marker is None or self.marker.evaluate(environment)


def read_lock(path: Path = LOCK) -> list[Pin]:
    """Every pin of the lock, in file order; comments and uv's ``# via`` annotations skipped."""
    if not path.is_file():
        raise LockError(f"{path}: no lock found. In a checkout of the course, run `make lock` to write it.")
    pins = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise LockError(f"{path}, line {number}: {raw!r} is not a requirement ({error}); "
                            "regenerate the lock with `make lock` rather than editing it") from None
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise LockError(f"{path}, line {number}: {raw!r} is not an exact pin (name==version); "
                            "regenerate the lock with `make lock`")
        pins.append(Pin(canonicalize_name(requirement.name), specs[0].version, requirement.marker, text))
    if not pins:
        raise LockError(f"{path}: holds no pins; regenerate it with `make lock`")
    return pins


def locked_versions(environment: dict[str, str] | None = None, path: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` that the lock gives ``environment`` (default: the running interpreter).

    Raises when two pins of one package both apply: the lock would then not say which version is tested.
    """
    versions: dict[str, str] = {}
    for pin in read_lock(path):
        if not pin.applies(environment):
            continue
        if versions.get(pin.name, pin.version) != pin.version:
            raise LockError(f"{path}: {pin.name} is pinned to both {versions[pin.name]} and {pin.version} "
                            "for one environment; regenerate the lock with `make lock`")
        versions[pin.name] = pin.version
    return versions


def pins_for(names: tuple[str, ...] | list[str], path: Path = LOCK) -> list[str]:
    """The lock's lines for ``names`` (markers kept, so pip picks the right one on any Python), in ``names``' order.

    Raises naming every package the lock lacks.
    """
    pins = read_lock(path)
    missing = [n for n in names if canonicalize_name(n) not in {p.name for p in pins}]
    if missing:
        raise LockError(f"{path}: no pin for {', '.join(missing)}; add it to pyproject.toml and run `make lock`")
    return [p.line for n in names for p in pins if p.name == canonicalize_name(n)]
