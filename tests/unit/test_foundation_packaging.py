"""The environment files agree, versions are pinned, and notebooks are committed executed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return {_name(r) for r in reqs}


def _environment_names() -> set[str]:
    names = set()
    in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip = True
            continue
        if in_pip and stripped.startswith("- "):
            item = stripped[2:].strip()
            if item.startswith("-"):  # -c constraints.txt, -e .
                continue
            names.add(_name(item))
    return names


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    assert _environment_names() == _pyproject_names()


def test_every_dependency_is_pinned_in_the_constraints_file() -> None:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[_name(name)] = version
    missing = sorted(n for n in _pyproject_names() if n not in pinned)
    assert not missing, f"not pinned in constraints.txt: {missing}"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_are_numbered_and_start_with_welcome() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0] == "00_welcome.ipynb"
    assert all(re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", n) for n in names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_outputs_in_execution_order(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert all(n is not None for n in counts), f"{path.name}: unexecuted cells"
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not a clean run-all"
    assert any(c.outputs for c in code), f"{path.name}: no outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_define_no_functions_or_classes(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class|async def) ", cell.source, re.M), cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_embed_no_plotly_javascript_bundle(path: Path) -> None:
    assert "plotly.min.js" not in path.read_text() and path.stat().st_size < 3_000_000
