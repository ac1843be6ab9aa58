"""Catalog: relational vs document model at 1k, 10k and 100k products (run on demand).

Prints, per catalog size: load time, storage, p50/p99 of each of the four questions in both
models, and the document/relational ratios; then the write amplification of a brand rename.
All figures are measured (wall clock) on this machine with the stores the environment selects.

    .venv/bin/python benchmarks/bench_catalog.py                      # 1k, 10k, 100k
    .venv/bin/python benchmarks/bench_catalog.py --sizes 1000,10000 --sql sqlite
    .venv/bin/python benchmarks/bench_catalog.py --sizes 1000000 --repeats 1   # 1M: slow
"""

from __future__ import annotations

import argparse

import pandas as pd

from ecomlab.catalog.experiment import scaling_sweep, write_costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated catalog sizes (products)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per query")
    parser.add_argument("--sql", default=None, choices=("duckdb", "sqlite", "postgres"),
                        help="relational backend (default: ECOMLAB_SQL_URL, else duckdb)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)

    sweep = scaling_sweep(sizes, args.seed, sql_backend=args.sql, repeats=args.repeats)
    print("== load and storage (measured)")
    loads = (sweep.drop_duplicates(["products", "model"])
             .pivot(index="products", columns="model", values=["load_s", "storage_bytes"]))
    loads[("ratio", "storage docs/sql")] = (loads[("storage_bytes", "documents")]
                                            / loads[("storage_bytes", "relational")])
    print(loads.round(3).to_string())

    print("\n== query latency p50 / p99 in ms (measured)")
    lat = sweep.pivot_table(index=["products", "question"], columns="model",
                            values=["p50_ms", "p99_ms"])
    lat[("ratio", "p50 docs/sql")] = lat[("p50_ms", "documents")] / lat[("p50_ms", "relational")]
    print(lat.round(3).to_string())
    backends = sweep.drop_duplicates("model").set_index("model")["backend"].to_dict()
    print(f"\nbackends: {backends}")

    print("\n== write amplification (measured, smallest size)")
    writes = write_costs(min(sizes), args.seed, sql_backend=args.sql)
    print(writes[["model", "backend", "operation", "touched", "ms"]].round(3).to_string())
    ren = writes[writes["operation"] == "rename brand"].set_index("model")
    print(f"rename: documents touched / rows touched = "
          f"{ren.loc['documents', 'touched'] / ren.loc['relational', 'touched']:.0f}x, "
          f"time ratio {ren.loc['documents', 'ms'] / ren.loc['relational', 'ms']:.2f}x")


if __name__ == "__main__":
    main()
