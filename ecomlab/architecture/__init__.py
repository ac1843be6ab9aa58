"""Topic 05 — monolith vs microservices, measured with real processes over HTTP.

* :mod:`~ecomlab.architecture.domain` — product, inventory, payment, order, notification.
* :mod:`~ecomlab.architecture.apps`, :mod:`~ecomlab.architecture.services`,
  :mod:`~ecomlab.architecture.orderflow`, :mod:`~ecomlab.architecture.endpoints` — the
  monolith's app, one app per microservice, the order service's orchestration, and what every
  app serves beside its domain.
* :mod:`~ecomlab.architecture.processes`, :mod:`~ecomlab.architecture.deploy` — service
  processes (readiness, cleanup), the two deployments with replicas, the outbox relay, the
  checker.
* :mod:`~ecomlab.architecture.load`, :mod:`~ecomlab.architecture.latency`,
  :mod:`~ecomlab.architecture.tracing` — the load generator, HdrHistogram recording,
  OpenTelemetry spans.
* :mod:`~ecomlab.architecture.experiment` — :func:`run_architecture`, :func:`compare_styles`;
  :mod:`~ecomlab.architecture.consistency`, :mod:`~ecomlab.architecture.isolation`,
  :mod:`~ecomlab.architecture.scaling` — the tables; :mod:`~ecomlab.architecture.model` — the
  models (label: model).
* :mod:`~ecomlab.architecture.claims`, :mod:`~ecomlab.architecture.plots`,
  :mod:`~ecomlab.architecture.report`, :mod:`~ecomlab.architecture.widget` — notebook 05.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.architecture.claims import (
        architecture_claims,
        architecture_evidence,
        architecture_ledger,
    )
    from ecomlab.architecture.consistency import consistency_table, consistency_trials
    from ecomlab.architecture.deploy import Deployment, count_inconsistent
    from ecomlab.architecture.experiment import compare_styles, parse_replicas, run_architecture
    from ecomlab.architecture.faults import parse_fault
    from ecomlab.architecture.isolation import availability_table, cascade_table
    from ecomlab.architecture.model import (
        expected_availability,
        mva_throughput,
        replica_check,
        scaling_model,
        team_paths,
    )
    from ecomlab.architecture.plots import (
        availability_figure,
        cascade_figure,
        consistency_figure,
        latency_figure,
        replica_figure,
        scaling_figure,
        team_figure,
        usl_figure,
        waterfall_figure,
    )
    from ecomlab.architecture.processes import ProcessManager
    from ecomlab.architecture.report import (
        availability_summary,
        cascade_summary,
        compare_summary,
        consistency_summary,
        curve_summary,
        replica_summary,
        scaling_summary,
        usl_summary,
    )
    from ecomlab.architecture.scaling import (
        load_curve,
        replica_scaling,
        scaling_curve,
        usl_fit,
        usl_table,
    )
    from ecomlab.architecture.widget import architecture_explorer

_P = "ecomlab.architecture."
#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("architecture_claims", "architecture_evidence", "architecture_ledger"),
                    _P + "claims"),
    **dict.fromkeys(("consistency_table", "consistency_trials"), _P + "consistency"),
    **dict.fromkeys(("Deployment", "count_inconsistent"), _P + "deploy"),
    **dict.fromkeys(("compare_styles", "parse_replicas", "run_architecture"),
                    _P + "experiment"),
    "parse_fault": _P + "faults",
    **dict.fromkeys(("availability_table", "cascade_table"), _P + "isolation"),
    **dict.fromkeys(("expected_availability", "mva_throughput", "replica_check",
                     "scaling_model", "team_paths"), _P + "model"),
    **dict.fromkeys(("availability_figure", "cascade_figure", "consistency_figure",
                     "latency_figure", "replica_figure", "scaling_figure", "team_figure",
                     "usl_figure", "waterfall_figure"), _P + "plots"),
    "ProcessManager": _P + "processes",
    **dict.fromkeys(("availability_summary", "cascade_summary", "compare_summary",
                     "consistency_summary", "curve_summary", "replica_summary",
                     "scaling_summary", "usl_summary"), _P + "report"),
    **dict.fromkeys(("load_curve", "replica_scaling", "scaling_curve", "usl_fit",
                     "usl_table"), _P + "scaling"),
    "architecture_explorer": _P + "widget",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Deployment", "ProcessManager", "architecture_claims", "architecture_evidence",
    "architecture_explorer", "architecture_ledger", "availability_figure", "availability_summary",
    "availability_table", "cascade_figure", "cascade_summary", "cascade_table", "compare_styles",
    "compare_summary", "consistency_figure", "consistency_summary", "consistency_table",
    "consistency_trials", "count_inconsistent", "curve_summary", "expected_availability",
    "latency_figure", "load_curve", "mva_throughput", "parse_fault", "parse_replicas",
    "replica_check", "replica_figure", "replica_scaling", "replica_summary", "run_architecture",
    "scaling_curve", "scaling_figure", "scaling_model", "scaling_summary", "team_figure",
    "team_paths", "usl_figure", "usl_fit", "usl_summary", "usl_table", "waterfall_figure",
]
