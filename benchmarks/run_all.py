"""Every ``benchmarks/bench_*.py``, then one table: build/bench/table.md and table.json.

Each benchmark's human output is passed through; its machine-readable figures are the lines it
prints with ``benchmarks._table.PREFIX`` (see ``_table.emit``). Beside them this runner measures
in the same run: ``ecomlab --help`` (wall clock, best of 3) and ``redis-benchmark -c 1`` (the
anchor of the inventory Redis figures) when the tool and a server are there. A benchmark that
prints no figure line still gets a row with its wall time and exit status.

    .venv/bin/python benchmarks/run_all.py                 # every benchmark
    .venv/bin/python benchmarks/run_all.py --only sim,caching
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _table import PREFIX  # benchmarks/ is on sys.path: this file runs as a script

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "build" / "bench"
# Extra runs of a benchmark for targets stated at another size (the restated inventory target at
# one client compares against redis-benchmark -c 1).
EXTRA_RUNS = {"bench_inventory": [["--clients", "1", "--part", "redis"]]}


def _row(figure: str, value: float | None, unit: str, label: str, *, anchor: str = "",
         anchor_value: float | None = None, target: str = "", met: bool | None = None,
         source: str = "") -> dict[str, Any]:
    ratio = value / anchor_value if value is not None and anchor_value else None
    return {"figure": figure, "value": value, "unit": unit, "label": label, "anchor": anchor,
            "anchor_value": anchor_value, "ratio": ratio, "target": target, "met": met,
            "source": source}


def redis_anchor() -> dict[str, Any] | None:
    """``redis-benchmark -c 1`` requests/s for INCR (one client), or None without Redis."""
    tool = shutil.which("redis-benchmark")
    url = os.environ.get("ECOMLAB_REDIS_URL", "redis://127.0.0.1:6379/0")
    m = re.match(r"redis://(?:[^@]*@)?([^:/]+)(?::(\d+))?", url)
    if tool is None or m is None:
        return None
    host, port = m.group(1), m.group(2) or "6379"
    run = subprocess.run([tool, "-h", host, "-p", port, "-c", "1", "-n", "20000", "-t", "incr",
                          "--csv"], capture_output=True, text=True, timeout=120)
    rates = re.findall(r'"INCR","([\d.]+)"', run.stdout)
    if run.returncode != 0 or not rates:
        return None
    return _row("redis-benchmark -c 1 INCR (anchor)", float(rates[0]), "requests/s", "measured",
                source="redis-benchmark")


def run_benchmark(path: Path, timeout: float, extra: list[str]) -> list[dict[str, Any]]:
    name = " ".join([path.name, *extra])
    print(f"== {name}", flush=True)
    t = time.perf_counter()
    rows: list[dict[str, Any]] = []
    proc = subprocess.Popen([sys.executable, str(path), *extra], stdout=subprocess.PIPE,
                            text=True, cwd=HERE.parent)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith(PREFIX):
                fig = json.loads(line[len(PREFIX):])
                rows.append({**fig, "source": name})
            else:
                print(line, end="", flush=True)
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -1
    wall = time.perf_counter() - t
    rows.append(_row(f"{name} wall time", wall, "s", "measured",
                     target="exits 0", met=code == 0, source=name))
    return rows


def notebook_timings() -> list[dict[str, Any]]:
    """Run-all and explorer Run times from the last ``make browser`` (JupyterLab, Chromium)."""
    path = OUT / "notebooks.json"
    if not path.is_file():
        print(f"(no {path}: run 'make browser' for notebook run-all and widget times)")
        return []
    rows = []
    for stem, t in sorted(json.loads(path.read_text(encoding="utf-8")).items()):
        src = f"make browser, {t.get('when', '')}"
        rows.append(_row(f"{stem} restart and run all (JupyterLab)", t["run_all_s"], "s",
                         "measured", source=src))
        for i, lat in enumerate(t.get("explorer_run_s", [])):
            rows.append(_row(f"{stem} explorer {i} Run (click to idle)", lat, "s", "measured",
                             source=src))
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "met" if v else "NOT met"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = ["figure", "value", "unit", "anchor", "anchor_value", "ratio", "target", "met",
            "label", "source"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (sim,...)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    args = parser.parse_args(argv)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    benches = [p for p in sorted(HERE.glob("bench_*.py"))
               if not wanted or p.stem.removeprefix("bench_") in wanted]
    unknown = wanted - {p.stem.removeprefix("bench_") for p in benches}
    if unknown:
        valid = ", ".join(p.stem.removeprefix("bench_") for p in sorted(HERE.glob("bench_*.py")))
        print(f"error: unknown benchmark(s) {sorted(unknown)}; choose from {valid}",
              file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    anchor = redis_anchor()
    if anchor:
        rows.append(anchor)
    for path in benches:
        for extra in [[], *EXTRA_RUNS.get(path.stem, [])]:
            rows.extend(run_benchmark(path, args.timeout, extra))
    rows.extend(notebook_timings())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "table.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    table = markdown(rows)
    (OUT / "table.md").write_text(table, encoding="utf-8")
    print(f"\n== benchmark table ({OUT / 'table.md'}, {OUT / 'table.json'})\n{table}")
    return 0 if all(r["met"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
