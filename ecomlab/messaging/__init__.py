"""Topic 04 — message queue vs direct calls: what is lost or duplicated when services fail.

* :mod:`~ecomlab.messaging.services` — payment, inventory and email with injected faults.
* :mod:`~ecomlab.messaging.flows` — the seed's direct-call orchestration (with compensation)
  and the idempotent queue consumer (a processed-message ledger).
* :mod:`~ecomlab.messaging.experiment` — :func:`run_messaging` and the tables built on it.
* :mod:`~ecomlab.messaging.plots`, :mod:`~ecomlab.messaging.claims`,
  :mod:`~ecomlab.messaging.widget` — what notebook 04 shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.messaging.claims import messaging_claims, messaging_ledger
    from ecomlab.messaging.experiment import (
        MODES,
        MessagingParams,
        cascade_table,
        expected_success_share,
        outcome_frame,
        reordered_share,
        reordering_table,
        run_messaging,
        sweep_failure_rates,
    )
    from ecomlab.messaging.flows import (
        KvLedger,
        OrderConsumer,
        ProcessedLedger,
        place_order_directly,
    )
    from ecomlab.messaging.plots import outcome_figure, response_figure
    from ecomlab.messaging.services import make_services
    from ecomlab.messaging.widget import failure_outcomes, messaging_explorer

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "cascade_table": "ecomlab.messaging.experiment",
    "expected_success_share": "ecomlab.messaging.experiment",
    "failure_outcomes": "ecomlab.messaging.widget",
    "KvLedger": "ecomlab.messaging.flows",
    "make_services": "ecomlab.messaging.services",
    "messaging_claims": "ecomlab.messaging.claims",
    "messaging_explorer": "ecomlab.messaging.widget",
    "messaging_ledger": "ecomlab.messaging.claims",
    "MessagingParams": "ecomlab.messaging.experiment",
    "MODES": "ecomlab.messaging.experiment",
    "OrderConsumer": "ecomlab.messaging.flows",
    "outcome_figure": "ecomlab.messaging.plots",
    "outcome_frame": "ecomlab.messaging.experiment",
    "place_order_directly": "ecomlab.messaging.flows",
    "ProcessedLedger": "ecomlab.messaging.flows",
    "reordered_share": "ecomlab.messaging.experiment",
    "reordering_table": "ecomlab.messaging.experiment",
    "response_figure": "ecomlab.messaging.plots",
    "run_messaging": "ecomlab.messaging.experiment",
    "sweep_failure_rates": "ecomlab.messaging.experiment",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "MODES",
    "KvLedger",
    "MessagingParams",
    "OrderConsumer",
    "ProcessedLedger",
    "cascade_table",
    "expected_success_share",
    "failure_outcomes",
    "make_services",
    "messaging_claims",
    "messaging_explorer",
    "messaging_ledger",
    "outcome_figure",
    "outcome_frame",
    "place_order_directly",
    "reordered_share",
    "reordering_table",
    "response_figure",
    "run_messaging",
    "sweep_failure_rates",
]
