"""The topic contract holds in the code: notebooks import topics through their packages, and no
module or function outgrows the house's limits (450 lines a module, 80 a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from ecomlab.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ecomlab"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80

def _topic_packages() -> set[str]:
    """The slugs whose topic is a subpackage (``ecomlab/<slug>/``)."""
    return {t.slug for t in TOPICS if (PACKAGE / t.slug / "__init__.py").exists()}


def _code(source: str) -> str:
    """A code cell as Python: IPython magics and shell escapes blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _submodule_imports(source: str, packages: set[str]) -> list[str]:
    """Every import in ``source`` that reaches into a topic's submodule, as written."""
    found = []
    for node in ast.walk(ast.parse(_code(source))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.count(".") >= 2 and a.name.split(".")[1] in packages
                      and a.name.startswith("ecomlab.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "ecomlab" or len(parts) < 2 or parts[1] not in packages:
                continue
            if len(parts) > 2:
                found.append(node.module)
                continue
            folder = PACKAGE / parts[1]
            found += [f"{node.module}.{a.name}" for a in node.names
                      if (folder / f"{a.name}.py").exists() or (folder / a.name).is_dir()]
    return found


def test_the_submodule_check_sees_every_form_of_import() -> None:
    packages = {"catalog", "processing"}
    source = ("%matplotlib inline\nimport ecomlab.catalog.plots\n"
              "from ecomlab.processing.live import run_live\n"
              "from ecomlab.catalog import experiment as cx, run_catalog\n"
              "from ecomlab.catalog import run_table\nfrom ecomlab.notebook import setup\n"
              "from ecomlab import welcome\n")
    assert _submodule_imports(source, packages) == [
        "ecomlab.catalog.plots", "ecomlab.processing.live", "ecomlab.catalog.experiment"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_import_topics_only_from_their_packages(path: Path) -> None:
    packages = _topic_packages()
    nb = nbformat.read(path, as_version=4)
    found = [name for cell in nb.cells if cell.cell_type == "code"
             for name in _submodule_imports(cell.source, packages)]
    assert found == [], f"{path.name} imports topic submodules: {found}"


def _oversized() -> dict[str, set[str]]:
    """Path under ecomlab/ -> what in it is over a limit ("module", or a function's name)."""
    over: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            over.setdefault(rel, set()).add("module")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over.setdefault(rel, set()).add(node.name)
    return over


def test_no_module_or_function_outgrows_the_limits() -> None:
    over = {rel: sorted(names) for rel, names in _oversized().items()}
    assert over == {}, (f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a "
                        f"function (split by domain noun or phase): {over}")


@pytest.mark.parametrize("slug", sorted(_topic_packages() - {"decide"}))
def test_every_topic_package_has_the_same_faces(slug: str) -> None:
    """experiment.py runs it, claims.py states it, plots.py and widget.py show it, cli.py
    registers it; the registry names those functions and nothing else."""
    folder = PACKAGE / slug
    faces = {"experiment": f"run_{slug}", "claims": f"{slug}_claims", "plots": None,
             "widget": f"{slug}_explorer", "cli": "register"}
    for module, function in faces.items():
        path = folder / f"{module}.py"
        assert path.exists(), f"ecomlab/{slug}/ has no {module}.py"
        if function is not None:
            names = {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body
                     if isinstance(n, ast.FunctionDef)}
            assert function in names, f"ecomlab/{slug}/{module}.py defines no {function}()"
    topic = next(t for t in TOPICS if t.slug == slug)
    assert (topic.cli, topic.run, topic.claims, topic.ledger) == (
        f"ecomlab.{slug}.cli", f"ecomlab.{slug}.experiment:run_{slug}",
        f"ecomlab.{slug}.claims:{slug}_claims", f"ecomlab.{slug}.claims:{slug}_ledger")
