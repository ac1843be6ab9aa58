"""Decision framework speed: ``decide`` from the bundled ledger, and the widget's callback.

Run on demand: ``.venv/bin/python benchmarks/bench_decide.py [--repeats 30]``.
Targets: ``ecomlab decide`` answers in <= 1 s from the bundled ledger (measured three ways:
the first in-process call, which reads the rules and the ledger; the median of later calls;
and the wall time of the ``ecomlab decide --profile FILE --json`` process, which includes
Python's start-up and the CLI importing every topic's command module); the widget callback
(:func:`ecomlab.decide.widget.explore_decision`: rules, tables and the plotly chart) answers in
<= 300 ms median. Every figure is ``measured`` (wall clock on this machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecomlab.decide.engine import decide
from ecomlab.decide.ledger import bundled_ledger
from ecomlab.decide.rules import load_rules
from ecomlab.decide.widget import explore_decision

DECIDE_TARGET_S = 1.0
CALLBACK_TARGET_MS = 300.0
PROFILE = {"name": "enterprise", "team": {"developers": 120},
           "domain": {"independent_scaling": True, "regulatory_isolation": True},
           "load": {"peak_orders_per_s": 400, "peak_to_mean": 20}, "compliance": ["pci"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    start = time.perf_counter()
    decide(PROFILE)
    first_s = time.perf_counter() - start
    times = []
    for i in range(args.repeats):
        start = time.perf_counter()
        decide({**PROFILE, "team": {"developers": 1 + i * 6}})
        times.append(time.perf_counter() - start)
    warm_ms = statistics.median(times) * 1000

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "shop.yaml"
        f.write_text("team: {developers: 120}\ndomain: {independent_scaling: true}\n"
                     "compliance: [pci]\n")
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ecomlab", "decide", "--profile", str(f),
                            "--json"], check=True, capture_output=True)
            walls.append(time.perf_counter() - start)

    rules, ledger = load_rules(), bundled_ledger()
    assert ledger.claims
    callbacks = []
    for i in range(args.repeats):
        profile = {**PROFILE, "team": {"developers": 1 + (i * 7) % 200},
                   "domain": {"independent_scaling": i % 2 == 0}}
        start = time.perf_counter()
        explore_decision(profile, rules=rules)
        callbacks.append((time.perf_counter() - start) * 1000)
    cb_median = statistics.median(callbacks)

    print("label: measured (wall clock)")
    print(f"decide, first call in process (reads rules + bundled ledger): {first_s:.3f} s")
    print(f"decide, median of {args.repeats} later calls: {warm_ms:.1f} ms")
    print(f"`ecomlab decide --json` process, min/median of 3: {min(walls):.2f} / "
          f"{statistics.median(walls):.2f} s (Python start-up and CLI imports included)")
    print(f"widget callback median of {args.repeats}: {cb_median:.1f} ms "
          f"(p90 {sorted(callbacks)[int(0.9 * len(callbacks))]:.1f} ms)")
    ok = first_s <= DECIDE_TARGET_S and cb_median <= CALLBACK_TARGET_MS
    print(f"targets: decide <= {DECIDE_TARGET_S:g} s in process, callback median <= "
          f"{CALLBACK_TARGET_MS:g} ms: {'met' if ok else 'NOT met'}; CLI process <= 1 s: "
          f"{'met' if min(walls) <= DECIDE_TARGET_S else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
