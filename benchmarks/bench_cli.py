"""Benchmark: the ``ecomlab`` command's start-up, as whole processes (target: --help <= 0.35 s).

Each command runs 7 times in a fresh process; the median wall time is printed beside
``python -c pass`` (the interpreter's own start-up, the floor) and the ratio to the target.

    .venv/bin/python benchmarks/bench_cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _table import emit

TARGET_HELP_S = 0.35
ECOMLAB = str(Path(sys.executable).with_name("ecomlab"))


def _median_s(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    floor = _median_s([sys.executable, "-c", "pass"], args.repeat)
    rows = {
        "python -c pass": floor,
        "ecomlab --help": _median_s([ECOMLAB, "--help"], args.repeat),
        "ecomlab stores --json": _median_s([ECOMLAB, "stores", "--no-check", "--json"],
                                           args.repeat),
        "ecomlab run --help": _median_s([ECOMLAB, "run", "--help"], args.repeat),
    }
    print(f"{'command':<26}{'median s':>10}{'x python':>10}")
    for name, seconds in rows.items():
        print(f"{name:<26}{seconds:>10.3f}{seconds / floor:>10.1f}")
    help_s = rows["ecomlab --help"]
    met = "met" if help_s <= TARGET_HELP_S else "not met"
    print(f"target: ecomlab --help <= {TARGET_HELP_S} s median: {help_s:.3f} s "
          f"({help_s / TARGET_HELP_S:.2f}x of target, {met}; label: measured)")
    emit("ecomlab --help (median of a fresh process)", help_s, "s", label="measured",
         anchor="python -c pass (the interpreter's start-up)", anchor_value=floor,
         target=f"<= {TARGET_HELP_S} s", met=help_s <= TARGET_HELP_S)
    for name in ("ecomlab stores --json", "ecomlab run --help"):
        emit(f"{name} (median of a fresh process)", rows[name], "s", label="measured",
             anchor="python -c pass (the interpreter's start-up)", anchor_value=floor)


if __name__ == "__main__":
    main()
