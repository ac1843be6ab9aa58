"""Benchmark: generate 1,000,000 products (target: <= 15 s and <= 2 GB peak memory).

Runs the generator in a fresh child process per repetition so that peak resident memory
(``ru_maxrss``) belongs to the generation alone, and prints the figures and the ratio to target.

    .venv/bin/python benchmarks/bench_datagen.py [--products N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from ecomlab.datagen import generate_catalog
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
c = generate_catalog(int(sys.argv[1]), seed=int(sys.argv[2]))
s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": s, "peak_mb": peak / 1024, "import_mb": base / 1024,
                  "products": len(c.products), "attributes": len(c.attributes)}))
"""

TARGET_S = 15.0
TARGET_MB = 2048.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = []
    for i in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.products), str(i)],
                             capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
        r = runs[-1]
        print(f"run {i + 1}: {r['products']:,} products, {r['attributes']:,} attribute rows in "
              f"{r['seconds']:.2f} s, peak RSS {r['peak_mb']:.0f} MB (measured)")
    best = min(r["seconds"] for r in runs)
    worst_mem = max(r["peak_mb"] for r in runs)
    print(f"best time {best:.2f} s = {best / TARGET_S:.2f}x of the {TARGET_S:.0f} s target; "
          f"{args.products / best:,.0f} products/s")
    print(f"peak memory {worst_mem:.0f} MB = {worst_mem / TARGET_MB:.2f}x of the "
          f"{TARGET_MB:.0f} MB target")
    ok = best <= TARGET_S and worst_mem <= TARGET_MB
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
