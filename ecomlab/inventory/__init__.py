"""Topic 01 — inventory: strong vs eventual consistency, measured.

When many buyers race for the last units, which inventory design oversells, by how much, how
fast is each, and what does compensation cost? Five strategies (:data:`STRATEGIES`), a load
driver with faults, a Jepsen-style history and checker, a payments ledger, plots, a widget and
the claims ledger. Entry point: :func:`run_inventory`; command line: ``ecomlab run inventory``.
"""

from __future__ import annotations

from ecomlab.inventory.claims import inventory_claims
from ecomlab.inventory.experiment import InventoryRun, resolve_backend, run_inventory, sweep_buyers
from ecomlab.inventory.history import CheckReport, History, Op, check
from ecomlab.inventory.model import BACKENDS, NATURAL_BACKEND, STRATEGIES
from ecomlab.inventory.payments import PaymentLedger
from ecomlab.inventory.plots import (
    invariants,
    latency_figure,
    lock_wait_figure,
    oversell_figure,
    runs_table,
    throughput_latency_figure,
    time_to_consistency_figure,
)
from ecomlab.inventory.widget import explore_inventory, inventory_explorer

__all__ = [
    "BACKENDS",
    "NATURAL_BACKEND",
    "STRATEGIES",
    "CheckReport",
    "History",
    "InventoryRun",
    "Op",
    "PaymentLedger",
    "check",
    "explore_inventory",
    "invariants",
    "inventory_claims",
    "inventory_explorer",
    "latency_figure",
    "lock_wait_figure",
    "oversell_figure",
    "resolve_backend",
    "run_inventory",
    "runs_table",
    "sweep_buyers",
    "throughput_latency_figure",
    "time_to_consistency_figure",
]
