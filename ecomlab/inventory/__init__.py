"""Topic 01 — inventory: strong vs eventual consistency, measured.

When many buyers race for the last units, which inventory design oversells, by how much, how
fast is each, and what does compensation cost? Five strategies (:data:`STRATEGIES`), a load
driver with faults, a Jepsen-style history and checker, a payments ledger, plots, a widget and
the claims ledger. Entry point: :func:`run_inventory`; command line: ``ecomlab run inventory``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.inventory.claims import inventory_claims, inventory_ledger
    from ecomlab.inventory.experiment import (
        InventoryRun,
        resolve_backend,
        run_inventory,
        sweep_buyers,
    )
    from ecomlab.inventory.history import CheckReport, History, Op, check
    from ecomlab.inventory.model import BACKENDS, NATURAL_BACKEND, STRATEGIES
    from ecomlab.inventory.payments import PaymentLedger
    from ecomlab.inventory.plots import (
        consistency_table,
        invariants,
        latency_figure,
        lock_facts,
        lock_wait_figure,
        oversell_figure,
        runs_table,
        sweep_facts,
        tail_lock_share,
        throughput_latency_figure,
        time_to_consistency_figure,
    )
    from ecomlab.inventory.widget import explore_inventory, inventory_explorer

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "BACKENDS": "ecomlab.inventory.model",
    "check": "ecomlab.inventory.history",
    "CheckReport": "ecomlab.inventory.history",
    "consistency_table": "ecomlab.inventory.plots",
    "explore_inventory": "ecomlab.inventory.widget",
    "History": "ecomlab.inventory.history",
    "invariants": "ecomlab.inventory.plots",
    "inventory_claims": "ecomlab.inventory.claims",
    "inventory_explorer": "ecomlab.inventory.widget",
    "inventory_ledger": "ecomlab.inventory.claims",
    "InventoryRun": "ecomlab.inventory.experiment",
    "latency_figure": "ecomlab.inventory.plots",
    "lock_facts": "ecomlab.inventory.plots",
    "lock_wait_figure": "ecomlab.inventory.plots",
    "NATURAL_BACKEND": "ecomlab.inventory.model",
    "Op": "ecomlab.inventory.history",
    "oversell_figure": "ecomlab.inventory.plots",
    "PaymentLedger": "ecomlab.inventory.payments",
    "resolve_backend": "ecomlab.inventory.experiment",
    "run_inventory": "ecomlab.inventory.experiment",
    "runs_table": "ecomlab.inventory.plots",
    "STRATEGIES": "ecomlab.inventory.model",
    "sweep_buyers": "ecomlab.inventory.experiment",
    "sweep_facts": "ecomlab.inventory.plots",
    "tail_lock_share": "ecomlab.inventory.plots",
    "throughput_latency_figure": "ecomlab.inventory.plots",
    "time_to_consistency_figure": "ecomlab.inventory.plots",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
    "consistency_table",
    "explore_inventory",
    "invariants",
    "inventory_claims",
    "inventory_explorer",
    "inventory_ledger",
    "latency_figure",
    "lock_facts",
    "lock_wait_figure",
    "oversell_figure",
    "resolve_backend",
    "run_inventory",
    "runs_table",
    "sweep_buyers",
    "sweep_facts",
    "tail_lock_share",
    "throughput_latency_figure",
    "time_to_consistency_figure",
]
