"""``ecomlab run inventory``: the inventory race, headless, with ``--json``.

Example::

    ecomlab run inventory --strategy cache-check --stock 20 --buyers 32 --orders 200 --json
"""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab import cli, validate
from ecomlab.files import write_text_atomic
from ecomlab.inventory.choices import BACKENDS, NATURAL_BACKEND, STRATEGIES

__all__ = ["register"]


def register(run: Any, simulate: Any) -> None:
    """Add ``inventory`` to ``ecomlab run`` (this topic has no simulated model)."""
    natural = ", ".join(f"{s}: {b}" for s, b in NATURAL_BACKEND.items())
    p = run.add_parser(
        "inventory", help="race concurrent buyers for the last units (measured)",
        description="Race B concurrent buyers placing M orders against S units per SKU with one "
                    "inventory strategy; a Jepsen-style checker judges the history. "
                    f"Default backends: {natural}.")
    p.add_argument("--strategy", required=True, choices=STRATEGIES,
                   help="inventory strategy")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="store for the strategy (default: the strategy's natural store)")
    p.add_argument("--stock", type=int, default=20, help="initial units per SKU (default 20)")
    p.add_argument("--buyers", type=int, default=8, help="concurrent buyer threads (default 8)")
    p.add_argument("--orders", type=int, default=100, help="orders to place (default 100)")
    p.add_argument("--skus", type=int, default=1, help="SKUs on sale (default 1: one hot SKU)")
    p.add_argument("--skew", type=float, default=1.0,
                   help="Zipf exponent of SKU popularity (default 1.0; 0 = uniform)")
    p.add_argument("--max-quantity", type=int, default=1, help="max units per line (default 1)")
    p.add_argument("--max-items", type=int, default=1, help="max SKUs per order (default 1)")
    p.add_argument("--payment-failure-rate", type=float, default=0.0,
                   help="probability a charge is declined (default 0)")
    p.add_argument("--buyer-crash-rate", type=float, default=0.0,
                   help="probability a buyer dies inside its transaction (default 0)")
    p.add_argument("--validator-delay-ms", type=float, default=0.0,
                   help="eventual strategies: validator's sleep per event, ms (default 0)")
    p.add_argument("--validator-crash-rate", type=float, default=0.0,
                   help="eventual strategies: probability per event the validator crashes")
    p.add_argument("--lock-order", choices=("sorted", "unordered"), default="sorted",
                   help="row-lock: lock rows by product id (sorted) or in line order")
    p.add_argument("--truth", choices=("duckdb", "sqlite", "postgres"), default="postgres",
                   help="eventual strategies: the source-of-truth store (default postgres)")
    p.add_argument("--history", metavar="FILE", default=None,
                   help="write the operation history and the ledger to FILE as JSON")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_cmd_run_inventory)


def _cmd_run_inventory(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.inventory.experiment import run_inventory

    history_path = None
    if args.history is not None:  # checked before the run, so a bad path costs nothing
        history_path = validate.output_file("--history", args.history)
    run = run_inventory(
        args.strategy, args.backend, stock=args.stock, buyers=args.buyers, orders=args.orders,
        skus=args.skus, seed=args.seed, skew=args.skew, max_quantity=args.max_quantity,
        max_items=args.max_items, payment_failure_rate=args.payment_failure_rate,
        buyer_crash_rate=args.buyer_crash_rate, validator_delay_ms=args.validator_delay_ms,
        validator_crash_rate=args.validator_crash_rate, lock_order=args.lock_order,
        truth_backend=args.truth)
    out = run.flat()
    if history_path is not None:
        import json

        write_text_atomic(history_path, json.dumps({"history": run.history.to_records(),
                                                    "ledger": run.ledger.to_records(),
                                                    "report": run.report.as_dict()}))
        out["history_file"] = str(history_path)
    return out
