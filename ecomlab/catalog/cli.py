"""``ecomlab run catalog``: the relational vs document experiment, headless.

Example::

    ecomlab run catalog --products 2000 --seed 42 --category Electronics/Computers \\
        --min-price 100 --max-price 1500 --json
"""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab import cli

__all__ = ["register"]


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab import budget
    from ecomlab.catalog.experiment import COST_PER_PRODUCT, run_catalog

    per_s, per_bytes = COST_PER_PRODUCT
    basis = (f"about {per_s * 1e3:.2f} ms and {per_bytes / 1e3:.0f} kB per product, measured "
             f"on a 2-core machine")
    need = budget.check_memory("--products", args.products, per_bytes, basis=basis)
    budget.announce(f"a catalog run on {args.products:,} products", args.products * per_s,
                    need, basis=basis)
    result = run_catalog(args.products, args.seed, category=args.category,
                         min_price=args.min_price, max_price=args.max_price,
                         sql_backend=args.sql, repeats=args.repeats, readers=args.readers,
                         rounds=args.rounds)
    return result.flat()


def register(run: Any, simulate: Any) -> None:
    """Add ``run catalog`` (this topic has no simulated model)."""
    p = run.add_parser(
        "catalog", help="product catalog: normalized SQL vs denormalized documents (measured)",
        description="Load one generated catalog into a relational store and a document store, "
                    "check both answer the same questions identically, time the reads, weigh "
                    "the storage and rename a brand under concurrent readers.")
    p.add_argument("--products", type=cli.int_arg, default=2000,
                   help="catalog size in products (default 2000; 10 .. 1,000,000)")
    cli.add_seed_flag(p)
    p.add_argument("--category", default="Electronics/Computers",
                   help="category path prefix for the listing (default Electronics/Computers)")
    p.add_argument("--min-price", type=cli.number_arg, default=None, help="lowest price (USD)")
    p.add_argument("--max-price", type=cli.number_arg, default=None, help="highest price (USD)")
    p.add_argument("--sql", choices=("duckdb", "sqlite", "postgres"), default=None,
                   help="relational backend (default: ECOMLAB_SQL_URL, else duckdb)")
    p.add_argument("--repeats", type=cli.int_arg, default=10,
                   help="timed runs per query (default 10)")
    p.add_argument("--readers", type=cli.int_arg, default=4,
                   help="reader threads during the rename (default 4)")
    p.add_argument("--rounds", type=cli.int_arg, default=3,
                   help="brand renames during the mixed-read experiment (default 3)")
    cli.add_json_flag(p)
    p.set_defaults(func=_run)
