"""The models beside the measurements (label: model, not measured).

* :func:`mva_throughput`, :func:`scaling_model`, :func:`replica_check` — a queueing model of
  both styles fed with measured CPU demands, and its check against measured replica runs.
* :func:`expected_availability` — the closed form for serial dependencies.
* :func:`team_paths` — communication paths between teams.


Exact mean value analysis (MVA) of a closed network: ``clients`` customers with no think time
cycle through one queueing station per service; station ``k`` has service demand ``D_k`` (ms of
CPU per order, as measured per process by :func:`~ecomlab.architecture.run_architecture`).
``r`` replicas of a service behind round robin are modelled as ``r`` stations of demand
``D_k / r`` each. The model assumes each replica has a core of its own, which two shared cores
do not give: it predicts what scaling would buy, and the measured points show where this
machine stops following it. :func:`replica_check` therefore also bounds the prediction by the
machine's cores (every process, the load generator included, shares them: X <= cores / total
demand) and compares both with the measured runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomlab.errors import InvalidInput
from ecomlab.validate import integer, number

if TYPE_CHECKING:
    from ecomlab.architecture.faults import FaultSpec
    from ecomlab.architecture.resilience import Policy

__all__ = ["ORDER_PATH", "REPLICA_TOLERANCE", "expected_availability", "mva_throughput",
           "replica_check", "scaling_model", "team_paths"]

#: the services an order's success depends on, per style (serial dependencies)
ORDER_PATH = {"microservices": ("order", "product", "inventory", "payment"),
              "monolith": ("order", "product", "inventory", "payment", "notification")}

#: the stated tolerance of the model against measured replica runs (relative error)
REPLICA_TOLERANCE = 0.25


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


def replica_check(table: pd.DataFrame, *, cores: float = 2.0,
                  tolerance: float = REPLICA_TOLERANCE) -> pd.DataFrame:
    """The model against the measured points of
    :func:`~ecomlab.architecture.replica_scaling` (model beside measured).

    Per style and replica count, at the most clients: the demands (CPU ms per order by
    service) measured with **one** replica, plus the load generator's own as a station, feed
    exact MVA with ``r`` replicas of the replicated service (``model_own_cores``: a core per
    station) and the same bounded by ``cores`` shared by every process (``model_on_cores``).
    ``error`` is ``model_on_cores / measured - 1``; ``within`` says whether ``|error| <=
    tolerance``. The one-replica row checks the model on its own run's demands; the
    ``r``-replica row is a prediction from the one-replica demands.
    """
    number("cores", cores, minimum=0.0, min_inclusive=False)
    rows = []
    for style, part in table.groupby("style", sort=False):
        top = part[part["clients"] == part["clients"].max()]
        base = top[top["replicas"] == 1].iloc[0]
        service = str(base["service"])
        demands = {**dict(base["demands"]), "load generator":
                   float(base["generator_cpu_ms_per_order"])}
        for _, row in top.iterrows():
            r = int(row["replicas"])
            own = mva_throughput(demands, int(row["clients"]), {service: r})
            bound = cores * 1000.0 / sum(demands.values())
            on_cores = min(own, bound)
            measured = float(row["throughput_per_s"])
            error = on_cores / measured - 1.0 if measured > 0 else math.nan
            served = dict(row.get("served_by_replica") or {}).get(service, [])
            used = (sum(dict(row["demands"]).values()) +
                    float(row["generator_cpu_ms_per_order"])) * measured / 1000.0
            rows.append({"style": style, "service": service, "replicas": r,
                         "clients": int(row["clients"]), "measured_per_s": measured,
                         "served_by_replica": list(served),
                         "model_own_cores_per_s": own, "model_on_cores_per_s": on_cores,
                         "error": error, "tolerance": tolerance, "cores_used": used,
                         "within": bool(np.isfinite(error) and abs(error) <= tolerance),
                         "label": "model vs measured"})
    return pd.DataFrame(rows)


def expected_availability(style: str, faults: tuple[FaultSpec, ...], resilience: str,
                          policy: Policy | None = None) -> dict[str, float]:
    """The closed form for serial dependencies, A = product of the parts (label: model).

    A part's availability is 1 - its flaky rate (``1 - rate**attempts`` with ``full``
    resilience's retries on a dependency), 0 if it is down, 1 - the crash rate for a crash in
    the order flow before the answer; a slow part counts as 0 when a timeout shorter than its
    delay applies, else 1. In the monolith any module down means the process is down.
    """
    if policy is None:
        from ecomlab.architecture.resilience import Policy

        policy = Policy(resilience=resilience)
    pol = policy
    path = ORDER_PATH[style]
    parts: dict[str, float] = {}
    for f in faults:
        target = f.service
        a = 1.0
        if f.kind == "down":
            a = 0.0
            if style == "monolith":
                return {"orders": 0.0, "product_page": 0.0}
        elif f.kind == "flaky":
            retried = resilience == "full" and target != "order" and style == "microservices"
            a = 1.0 - f.value ** (pol.attempts if retried else 1)
        elif f.kind == "crash":
            a = 1.0 if f.step == "after_publish" else 1.0 - f.value
        elif f.kind == "slow" and resilience != "none" and not f.random_delay and \
                f.value / 1000.0 >= pol.timeout_s:
            a = 0.0
        parts[target] = parts.get(target, 1.0) * a
    orders = math.prod(parts.get(s, 1.0) for s in path)
    page_parts = [parts.get("product", 1.0)]
    if style == "monolith":  # one process: a slow order under a timeout is its own matter
        page_parts = [p for s, p in parts.items() if s == "product"] or [1.0]
    return {"orders": orders, "product_page": math.prod(page_parts)}


def team_paths(max_teams: int = 12) -> pd.DataFrame:
    """Communication paths n(n-1)/2 between n teams (label: model, not measured)."""
    integer("max_teams", max_teams, minimum=1, maximum=200)
    n = np.arange(1, max_teams + 1)
    return pd.DataFrame({"teams": n, "paths": n * (n - 1) // 2, "label": "model"})
