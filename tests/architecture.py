"""The import contract, checked by import-linter on a copy of the source tree.

`matakota` is assembled from top-level folders (pyproject's `[tool.setuptools.package-dir]`), so there is no
`matakota/` directory for import-linter to read: this module copies the sources into one, then runs
`lint-imports` with the contracts in pyproject's `[tool.importlinter]` (docs/architecture.md explains them).

    python -m tests.architecture        # package-level import graph + the contract report (exit 1 if broken)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOT_PACKAGE = "matakota"

GRAPH_SCRIPT = """
import grimp, sys
graph = grimp.build_graph("matakota")
packages = sorted(m for m in graph.modules if m.count(".") == 1)
for importer in packages:
    imported = [p for p in packages if p != importer
                and graph.direct_import_exists(importer=importer, imported=p, as_packages=True)]
    print(importer.removeprefix("matakota."), "->", ", ".join(p.removeprefix("matakota.") for p in imported) or "-")
"""


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Package name → source folder, as pyproject maps them."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    return {name: root / folder for name, folder in pyproject["tool"]["setuptools"]["package-dir"].items()}


def source_tree(destination: Path, root: Path = ROOT) -> Path:
    """Copy every package's .py files to `destination/matakota/…`; returns `destination` (for PYTHONPATH)."""
    package_root = destination / ROOT_PACKAGE
    package_root.mkdir(parents=True, exist_ok=True)
    (package_root / "__init__.py").touch()
    for name, folder in package_dirs(root).items():
        target = destination.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in folder.glob("*.py"):
            shutil.copy2(source, target / source.name)
        (target / "__init__.py").touch()
    return destination


def _run(tree: Path, command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tree)


def package_graph(tree: Path) -> str:
    """One line per top-level package: the packages it imports directly."""
    result = _run(tree, [sys.executable, "-c", GRAPH_SCRIPT])
    result.check_returncode()
    return result.stdout


def lint(tree: Path, config: Path = ROOT / "pyproject.toml") -> subprocess.CompletedProcess:
    """`lint-imports` with the contracts in `config`, on the copied tree."""
    return _run(tree, [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--no-logo", str(config)])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="matakota-imports-") as folder:
        tree = source_tree(Path(folder))
        print(package_graph(tree))
        result = lint(tree)
        print(result.stdout + result.stderr)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
