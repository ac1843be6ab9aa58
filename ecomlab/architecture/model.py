"""A queueing model of both styles, fed with measured CPU demands (label: model, not measured).

Exact mean value analysis (MVA) of a closed network: ``clients`` customers with no think time
cycle through one queueing station per service; station ``k`` has service demand ``D_k`` (ms of
CPU per order, as measured per process by :func:`~ecomlab.architecture.run_architecture`).
``r`` replicas of a service behind round robin are modelled as ``r`` stations of demand
``D_k / r`` each. The model assumes each replica has a core of its own, which two shared cores
do not give: it predicts what scaling would buy, and the measured points show where this
machine stops following it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ecomlab.errors import InvalidInput
from ecomlab.validate import integer

__all__ = ["mva_throughput", "scaling_model"]


def mva_throughput(demands_ms: Mapping[str, float], clients: int,
                   replicas: Mapping[str, int] | None = None) -> float:
    """Throughput (orders/s) of the closed network with ``clients`` customers (exact MVA)."""
    integer("clients", clients, minimum=1, maximum=10_000)
    reps = dict(replicas or {})
    stations: list[float] = []
    for name, demand in demands_ms.items():
        if demand < 0:
            raise InvalidInput(f"demand of {name!r} must be >= 0 ms, got {demand!r}")
        r = integer(f"replicas of {name!r}", reps.get(name, 1), minimum=1, maximum=1000)
        stations.extend([demand / r] * r)
    if not stations or sum(stations) <= 0:
        raise InvalidInput(f"need at least one positive demand, got {dict(demands_ms)!r}")
    queue = [0.0] * len(stations)
    x = 0.0
    for n in range(1, clients + 1):
        resid = [d * (1 + q) for d, q in zip(stations, queue, strict=True)]
        x = n / sum(resid)  # per ms
        queue = [x * r for r in resid]
    return x * 1000.0


def scaling_model(demands: Mapping[str, Mapping[str, float]], *,
                  clients: tuple[int, ...] = (1, 2, 4, 8, 16), replicas: int = 2
                  ) -> pd.DataFrame:
    """Predicted throughput vs clients: each style as measured, the monolith with ``replicas``
    copies, the microservices with ``replicas`` copies of their hottest service only.

    Args:
        demands: ``{"monolith": {"monolith": ms}, "microservices": {service: ms, ...}}``.
    """
    rows = []
    for style, d in demands.items():
        hot = max(d, key=lambda k: d[k])
        plans = [("as measured", {}), (f"{replicas} x {hot}", {hot: replicas})]
        for plan, reps in plans:
            for n in clients:
                rows.append({"style": style, "plan": plan, "clients": n,
                             "throughput_per_s": mva_throughput(d, n, reps),
                             "label": "model"})
    return pd.DataFrame(rows)
