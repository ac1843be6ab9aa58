"""Every notebook runs from a fresh kernel under nbclient, the executor behind nbconvert,
papermill and book builders, within a bounded time and with no error output.

nbval checks outputs against the committed ones; this checks that a headless executor gets to
the end at all (a lost execute reply once stalled notebooks 03 and 04 here for minutes).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 240


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_headless_to_the_end(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=True)
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    errors = [(i, o.get("ename"), o.get("evalue")) for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == [], errors
    print(f"{path.name}: {elapsed:.1f} s headless")
