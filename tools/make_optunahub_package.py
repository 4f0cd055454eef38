"""Generate the OptunaHub package of SkoptSampler (package/samplers/skopt/) from tutorial_utils/samplers.py.

The sampler has one source, ``tutorial_utils/samplers.py``; the OptunaHub copy is generated from it so the two
can never drift: ``sampler.py`` is that file verbatim under a header, ``__init__.py`` re-exports its
``__all__``. README.md, LICENSE and requirements.txt in the package folder are written by hand.

    python tools/make_optunahub_package.py          # (re)write the generated files
    python tools/make_optunahub_package.py --check  # exit 1 if the committed files differ (run by the tests)
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "tutorial_utils" / "samplers.py"
REGISTRY_ROOT = REPO / "package"  # the layout of the optunahub-registry repository: package/<category>/<name>/
PACKAGE = "samplers/skopt"
PACKAGE_DIR = REGISTRY_ROOT / PACKAGE
HEADER = (
    "# GENERATED from tutorial_utils/samplers.py by tools/make_optunahub_package.py: do not edit here,\n"
    "# edit tutorial_utils/samplers.py and run `python tools/make_optunahub_package.py`.\n"
)


def exported_names(source_text: str) -> list[str]:
    """The module's ``__all__``, read without importing it."""
    for node in ast.parse(source_text).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [ast.literal_eval(element) for element in node.value.elts]
    raise ValueError(f"{SOURCE} has no __all__ to export")


def generated_files(source: Path = SOURCE) -> dict[str, str]:
    """File name -> content of every generated file of the package."""
    text = source.read_text()
    names = exported_names(text)
    init = (
        '"""SkoptSampler for OptunaHub: Optuna sampling with scikit-optimize (GP, ET, RF or GBRT surrogates)."""\n'
        "\n"
        + HEADER
        + "from .sampler import (\n"
        + "".join(f"    {name},\n" for name in names)
        + ")\n\n__all__ = [\n"
        + "".join(f'    "{name}",\n' for name in names)
        + "]\n"
    )
    return {"sampler.py": HEADER + text, "__init__.py": init}


def differences(package_dir: Path = PACKAGE_DIR, source: Path = SOURCE) -> list[str]:
    """Generated files that are missing or differ from what ``source`` generates."""
    problems = []
    for name, wanted in generated_files(source).items():
        path = package_dir / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text() != wanted:
            problems.append(f"{path}: differs from {source.relative_to(REPO)}")
    return problems


def write(package_dir: Path = PACKAGE_DIR, source: Path = SOURCE) -> list[Path]:
    """Write the generated files; return those that changed."""
    package_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in generated_files(source).items():
        path = package_dir / name
        if not path.is_file() or path.read_text() != content:
            path.write_text(content)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        problems = differences()
        for problem in problems:
            print(problem)
        if problems:
            print("run `python tools/make_optunahub_package.py` to regenerate")
        return 1 if problems else 0
    changed = write()
    print(f"{PACKAGE_DIR.relative_to(REPO)}: {len(changed)} file(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
