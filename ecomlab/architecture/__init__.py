"""Topic 05 — monolith vs microservices, measured with real processes over HTTP.

* :mod:`~ecomlab.architecture.domain` — product, inventory, payment, order, notification.
* :mod:`~ecomlab.architecture.apps` — the monolith's app and one app per microservice.
* :mod:`~ecomlab.architecture.processes` — service processes: readiness, cleanup.
* :mod:`~ecomlab.architecture.deploy` — the two deployments, the outbox relay, the checker.
* :mod:`~ecomlab.architecture.experiment` — :func:`run_architecture` and the tables.
* :mod:`~ecomlab.architecture.model` — a queueing model on the measured demands (model).
* :mod:`~ecomlab.architecture.claims`, :mod:`~ecomlab.architecture.plots`,
  :mod:`~ecomlab.architecture.report`, :mod:`~ecomlab.architecture.widget` — notebook 05.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["architecture_claims", "architecture_explorer", "architecture_ledger",
           "availability_table", "cascade_table", "compare_styles", "consistency_table",
           "consistency_trials", "count_inconsistent", "expected_availability", "load_curve",
           "mva_throughput", "parse_fault", "run_architecture", "scaling_curve",
           "scaling_model", "team_paths", "usl_fit"]

_WHERE = {
    "architecture_claims": "claims", "architecture_ledger": "claims",
    "architecture_explorer": "widget", "count_inconsistent": "deploy",
    "parse_fault": "faults", "mva_throughput": "model", "scaling_model": "model",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'ecomlab.architecture' has no attribute {name!r}")
    module = importlib.import_module(f"ecomlab.architecture.{_WHERE.get(name, 'experiment')}")
    return getattr(module, name)
