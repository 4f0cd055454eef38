"""The lock of tested versions: write it, check a venv against it, and show how the newest releases differ.

    python tools/lock.py compile [--upgrade]   # `make lock` / `make lock UPGRADE=1`: resolve with uv, restamp
    python tools/lock.py verify                # `make setup` ends with this: the venv holds exactly the lock
    python tools/lock.py diff                  # `make test-latest`: newest releases installed here vs the lock

``compile`` runs uv's resolver once for every extra (core, lab, postgres, data, dev) and every Python the course
supports (``--universal``: markers where versions differ, Colab's 3.12 included). Without ``--upgrade`` uv keeps
the versions already locked and only adds or drops what pyproject.toml changed; ``--upgrade`` moves everything
to the newest releases, except what ``requirements-holds.txt`` holds back (and says why). It then restamps what
quotes the lock: the README's "tested with" line and the notebooks' Colab setup cell.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]  # the course; stamp_colab, also when loaded by path
import stamp_colab  # noqa: E402

from tutorial_utils import lockfile  # noqa: E402

HOLDS = REPO / "requirements-holds.txt"
LOCK_PYTHON = "3.11"  # the oldest Python the course supports (pyproject's requires-python); --universal covers the rest
# Where the README's "tested with" versions are read: the Python CI and the development machine run.
TESTED_ENVIRONMENT = {
    "python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux", "platform_system": "Linux",
    "platform_machine": "x86_64", "os_name": "posix", "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
# The README's names for the packages whose tested versions it states, in its order.
README_NAMES = {
    "optuna": "Optuna", "optuna-integration": "optuna-integration", "optuna-dashboard": "optuna-dashboard",
    "scikit-optimize": "scikit-optimize", "lightgbm": "LightGBM", "torch": "PyTorch", "numpy": "NumPy",
    "pandas": "pandas", "scipy": "SciPy", "scikit-learn": "scikit-learn", "matplotlib": "matplotlib",
    "plotly": "plotly", "jupyterlab": "JupyterLab",
}
README = REPO / "README.md"
_TESTED_LINE = re.compile(r"The course is written for and tested with[^\n]*(?:\n(?!\n)[^\n]*)*")
# Installed here but not the lock's to say: the installer, the course itself, and the CUDA runtime a torch build
# brings (PyPI's Linux torch pins its nvidia-* and triton exactly; a `make setup TORCH=cu126` build names others).
NOT_LOCKED = re.compile(r"^(pip|tutorial-utils|nvidia-.*|triton|pytorch-triton.*)$")


def readme_tested_line(versions: dict[str, str]) -> str:
    """The README's "tested with" sentence, from the lock's versions for the tested environment."""
    listed = ", ".join(f"{label} {versions[name]}" for name, label in README_NAMES.items() if name in versions)
    return (f"The course is written for and tested with the versions in `{lockfile.LOCK_NAME}` (Python "
            f"{TESTED_ENVIRONMENT['python_version']}, Linux): {listed}. `make lock` writes that lock and this line.")


def stamp_readme(write: bool = True) -> list[str]:
    """Bring the README's "tested with" sentence in line with the lock; return what differed."""
    text = README.read_text()
    wanted = readme_tested_line(lockfile.locked_versions(TESTED_ENVIRONMENT))
    found = _TESTED_LINE.search(text)
    if found is None:
        return [f"{README.name}: no 'The course is written for and tested with' sentence found"]
    if found.group(0) == wanted:
        return []
    if write:
        README.write_text(text[: found.start()] + wanted + text[found.end():])
    return [f"{README.name}: the tested-with line differs from {lockfile.LOCK_NAME}"]


def compile_lock(upgrade: bool) -> int:
    """Resolve the lock with uv (installed by `.[dev]`), then restamp what quotes it."""
    command = [
        sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras", "--universal",
        "--python-version", LOCK_PYTHON, "--constraint", HOLDS.name, "--output-file", lockfile.LOCK_NAME,
        "--custom-compile-command", "make lock", "--quiet",
    ]
    if upgrade:
        command.append("--upgrade")
    done = subprocess.run(command, cwd=REPO)
    if done.returncode != 0:
        print("uv could not resolve the lock (its message is above); nothing else was changed", file=sys.stderr)
        return done.returncode
    print("\n".join(stamp_readme()) or "README: the tested-with line already matches the lock")
    return stamp_colab.main(["--stamp"])  # the notebooks' Colab setup cell quotes the lock's pins


def installed_versions() -> dict[str, str]:
    """``{canonical name: version}`` of every distribution this interpreter sees."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def _same(installed: str, locked: str) -> bool:
    """2.13.0+cpu is the lock's 2.13.0: a local build label (PyTorch's index) is not another release."""
    return Version(installed).public == Version(locked).public


def verify(lock: Path = lockfile.LOCK) -> int:
    """Fail unless every package installed here is in the lock at the lock's version (`make setup`'s last step)."""
    locked = lockfile.locked_versions(path=lock)
    installed = installed_versions()
    wrong = {n: (v, locked[n]) for n, v in installed.items() if n in locked and not _same(v, locked[n])}
    unlocked = sorted(n for n in installed if n not in locked and not NOT_LOCKED.match(n))
    if wrong or unlocked:
        for name, (have, want) in sorted(wrong.items()):
            print(f"  {name} {have} installed, the lock says {want}", file=sys.stderr)
        for name in unlocked:
            print(f"  {name} {installed[name]} installed, not in the lock", file=sys.stderr)
        print(f"{sys.prefix} differs from {lock.name}: if pyproject.toml changed, run `make lock`; "
              "else delete the venv and run `make setup` again", file=sys.stderr)
        return 1
    ours = sum(1 for n in installed if n in locked)
    print(f"{sys.prefix}: {ours} packages, each at the version {lock.name} gives Python "
          f"{sys.version_info.major}.{sys.version_info.minor}")
    return 0


def diff() -> int:
    """Print how the packages installed here (the newest releases, `make test-latest`) differ from the lock."""
    locked = lockfile.locked_versions()
    installed = installed_versions()
    rows = []
    for name in sorted(set(locked) | set(installed)):
        if NOT_LOCKED.match(name):
            continue
        have, want = installed.get(name), locked.get(name)
        if have is None or want is None or not _same(have, want):
            change = ("new" if want is None else "not installed" if have is None
                      else "newer" if Version(have) > Version(want) else "older")
            rows.append((name, want or "-", have or "-", change))
    print(f"Newest releases (this venv) against {lockfile.LOCK_NAME}, Python "
          f"{sys.version_info.major}.{sys.version_info.minor}: {len(rows)} differ")
    if rows:
        width = max(len(r[0]) for r in rows)
        print(f"  {'package':<{width}}  {'lock':<12} {'newest':<12} change")
        for name, want, have, change in rows:
            print(f"  {name:<{width}}  {want:<12} {have:<12} {change}")
        print("To move the lock to them: `make lock UPGRADE=1`, then `make test`.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compile_parser = commands.add_parser("compile", help="resolve requirements-lock.txt with uv and restamp")
    compile_parser.add_argument("--upgrade", action="store_true", help="move to the newest releases")
    commands.add_parser("verify", help="fail unless this venv holds exactly the lock's versions")
    commands.add_parser("diff", help="how this venv's versions differ from the lock")
    args = parser.parse_args(argv)
    if args.command == "compile":
        return compile_lock(args.upgrade)
    if args.command == "verify":
        return verify()
    return diff()


if __name__ == "__main__":
    sys.exit(main())
