"""Throughput against load, clients and replicas (measured), and the USL fitted to it.

* :func:`load_curve` — open loop: p50/p99 (from the intended send times) and throughput vs the
  offered rate.
* :func:`scaling_curve` — closed loop: throughput vs the number of clients.
* :func:`replica_scaling` — closed loop on one replica of the hot service and on ``replicas``
  of it (the monolith: copies of the whole process), with each process's CPU per order, the
  requests each replica served, and the load generator's own CPU.
* :func:`usl_fit` — the Universal Scalability Law X(N) = lN / (1 + s(N-1) + kN(N-1)) fitted
  with ``scipy.optimize.curve_fit``; :func:`usl_table` per style.

One deployment per curve, warmed up with 10 unmeasured orders; :func:`replica_scaling` adds
the replicas to the running deployment (no second start) and warms them up the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil

from ecomlab.architecture.choices import STYLES, TRANSPORTS
from ecomlab.architecture.deploy import Deployment
from ecomlab.architecture.experiment import cpu_ms, load_client, run_coroutine
from ecomlab.architecture.load import LoadOutcome, RawClient, generate
from ecomlab.errors import InvalidInput
from ecomlab.validate import choice, integer, number

__all__ = ["USL_MIN_POINTS", "USL_MIN_R2", "load_curve", "replica_scaling", "scaling_curve",
           "usl_fit", "usl_table"]

#: below this r2 the USL is not read as describing a curve (its sigma and kappa are not
#: interpreted): on a flat curve, the points' spread is noise the fit cannot explain
USL_MIN_R2 = 0.8
#: the fewest points whose fit is judged: with three parameters, four points leave one
#: degree of freedom, and the USL then fits pure noise with r2 near 1 as often as not
USL_MIN_POINTS = 5


class _Levels:
    """One warmed-up deployment that runs load levels and meters CPU per process."""

    def __init__(self, dep: Deployment, seed: int) -> None:
        self.dep = dep
        self.seed = seed
        self.raw: httpx.AsyncClient | RawClient | None = None
        self.procs: dict[str, psutil.Process] = {}
        self.me = psutil.Process()

    async def __aenter__(self) -> _Levels:
        self.dep.start()
        try:
            self.procs = self.dep.processes()
            self.raw = load_client(self.dep)
            await self.run(10, "warmup", concurrency=2)  # connections, first-request caches
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if isinstance(self.raw, RawClient):
            await self.raw.aclose()
        await self.dep.aclose()

    async def run(self, orders: int, run_id: str, *, rate: float | None = None,
                  concurrency: int | None = None, seed: int | None = None
                  ) -> tuple[LoadOutcome, dict[str, float], float]:
        """One level: the outcome, CPU ms per order by service, and the generator's."""
        assert self.raw is not None
        cpu0 = {n: cpu_ms(p) for n, p in self.procs.items()}
        gen0 = cpu_ms(self.me)
        load = await generate(self.raw, self.dep.entry_urls, self.dep.catalog_urls, orders,
                              rate=rate, concurrency=concurrency,
                              seed=self.seed if seed is None else seed, run_id=run_id,
                              check=self.dep.check)
        by_service: dict[str, float] = {}
        for n, p in self.procs.items():
            service = self.dep.service_of(n)
            used = (cpu_ms(p) - cpu0[n]) / orders if p.is_running() else 0.0
            by_service[service] = by_service.get(service, 0.0) + used
        return load, by_service, (cpu_ms(self.me) - gen0) / orders


def load_curve(style: str, rates: tuple[float, ...] = (25, 50, 100, 200), *,
               duration_s: float = 0.5, seed: int = 42, transport: str = "process",
               consistency: str = "saga") -> pd.DataFrame:
    """Open-loop p50/p99 (from the intended send times) and throughput vs offered rate.

    Each level sends ``rate * duration_s`` orders (at least 10) as Poisson arrivals. CPU per
    order is the service processes' (measured).
    """
    choice("style", style, STYLES)
    choice("transport", transport, TRANSPORTS)
    for rate in rates:
        number("rate", rate, minimum=0.0, min_inclusive=False, maximum=100_000.0)
    return run_coroutine(_curve(style, tuple(rates), duration_s, seed, transport, consistency))


async def _curve(style: str, rates: tuple[float, ...], duration_s: float, seed: int,
                 transport: str, consistency: str) -> pd.DataFrame:
    rows = []
    dep = Deployment(style, transport=transport, consistency=consistency, seed=seed)
    async with _Levels(dep, seed) as levels:
        for k, rate in enumerate(rates):
            orders = max(10, int(rate * duration_s))
            load, cpu, gen = await levels.run(orders, f"c{k}", rate=rate, seed=seed + k)
            lat = load.order_latency()
            rows.append({"style": style, "offered_per_s": rate, "orders": orders,
                         "throughput_per_s": load.orders_ok / load.elapsed_s,
                         "p50_ms": lat.p50, "p99_ms": lat.p99,
                         "cpu_ms_per_order": sum(cpu.values()) if cpu else gen,
                         "generator_cpu_ms_per_order": gen,
                         "generator_lag_ms_max": load.lag_ms_max})
    return pd.DataFrame(rows)


def scaling_curve(style: str, concurrencies: tuple[int, ...] = (1, 2, 4, 8, 16), *,
                  orders: int = 120, seed: int = 42, transport: str = "process",
                  replicas: dict[str, int] | None = None) -> pd.DataFrame:
    """Closed-loop throughput vs client count, one deployment per call (measured).

    Columns: style, replicas (of the replicated service, 1 if none), clients,
    throughput_per_s, p50_ms and p99_ms (from the send), p99_corrected_ms (HdrHistogram's
    coordinated-omission correction), cpu_ms_per_order, generator_cpu_ms_per_order and
    ``demands`` (CPU ms per order by service).
    """
    choice("style", style, STYLES)
    choice("transport", transport, TRANSPORTS)
    integer("orders", orders, minimum=1, maximum=100_000)
    for n in concurrencies:
        integer("clients", n, minimum=1, maximum=1000)
    return run_coroutine(_scaling(style, tuple(concurrencies), orders, seed, transport,
                                  dict(replicas or {})))


async def _scaling(style: str, concurrencies: tuple[int, ...], orders: int, seed: int,
                   transport: str, replicas: dict[str, int]) -> pd.DataFrame:
    dep = Deployment(style, transport=transport, seed=seed, replicas=replicas)
    async with _Levels(dep, seed) as levels:
        rows = await _level_rows(levels, style, concurrencies, orders, seed,
                                 max(replicas.values(), default=1))
        await _served(dep, rows)
    return pd.DataFrame(rows)


async def _level_rows(levels: _Levels, style: str, concurrencies: tuple[int, ...],
                      orders: int, seed: int, replicas: int) -> list[dict[str, Any]]:
    rows = []
    for k, n in enumerate(concurrencies):
        load, cpu, gen = await levels.run(orders, f"r{replicas}s{k}", concurrency=n,
                                          seed=seed + k)
        lat, fixed = load.order_latency(), load.order_latency_corrected()
        rows.append({"style": style, "replicas": replicas,
                     "clients": n, "throughput_per_s": load.orders_ok / load.elapsed_s,
                     "p50_ms": lat.p50, "p99_ms": lat.p99,
                     "p99_corrected_ms": fixed.p99,
                     "cpu_ms_per_order": sum(cpu.values()) if cpu else gen,
                     "generator_cpu_ms_per_order": gen, "demands": cpu})
    return rows


async def _served(dep: Deployment, rows: list[dict[str, Any]]) -> None:
    """Each replica's requests since the stats were last reset, into ``rows``."""
    stats = await dep.stats()
    served = {name: [r["requests"] for r in s.get("replicas", {}).values()]
              for name, s in stats.items()}
    for row in rows:
        row["served_by_replica"] = served


async def _replicas(style: str, service: str | None, replicas: int, clients: tuple[int, ...],
                    scaled: tuple[int, ...], orders: int, seed: int, transport: str
                    ) -> pd.DataFrame:
    """One deployment: the one-replica levels, then replicas of the hot service added to
    the running deployment (their callers told), warmed up, and the scaled levels."""
    dep = Deployment(style, transport=transport, seed=seed)
    async with _Levels(dep, seed) as levels:
        one = await _level_rows(levels, style, clients, orders, seed, 1)
        await _served(dep, one)
        if service is None:
            demands: dict[str, float] = one[-1]["demands"] or {}
            service = max(demands, key=lambda k: demands[k]) if demands else dep.entry
        choice("service", service, dep.names)
        for _ in range(replicas - 1):
            await dep.add_replica(service)
        levels.procs = dep.processes()
        await dep.reset_stats()
        await levels.run(10, f"warmup{replicas}", concurrency=2)
        many = await _level_rows(levels, style, scaled, orders, seed, replicas)
        await _served(dep, many)
    return pd.DataFrame([*one, *many]).assign(service=service)


def replica_scaling(style: str, *, service: str | None = None, replicas: int = 2,
                    clients: Sequence[int] = (1, 2, 4, 8), orders: int = 60, seed: int = 42,
                    transport: str = "process", scaled_clients: Sequence[int] | None = None
                    ) -> pd.DataFrame:
    """Closed-loop throughput with one instance of the hot service, then with ``replicas``.

    ``service`` defaults to the service with the highest CPU per order measured in the
    one-replica run at the most clients (the monolith: the monolith). ``scaled_clients``
    (default: ``clients``) are the levels run with ``replicas``: the model check
    (:func:`~ecomlab.architecture.replica_check`) reads only the most clients, so
    ``(max(clients),)`` spares the other levels. Returns the rows of :func:`scaling_curve`
    for both deployments, with a ``service`` column (measured).
    """
    choice("style", style, STYLES)
    integer("replicas", replicas, minimum=2, maximum=8)
    scaled = tuple(clients if scaled_clients is None else scaled_clients)
    if max(scaled, default=0) != max(clients, default=0):
        raise InvalidInput(f"scaled_clients {scaled!r} must include the most clients of "
                           f"{tuple(clients)!r}: the replica check compares them")
    integer("orders", orders, minimum=1, maximum=100_000)
    for n in (*clients, *scaled):
        integer("clients", n, minimum=1, maximum=1000)
    if service is not None:
        names = ("monolith",) if style == "monolith" else ("product", "inventory", "payment",
                                                           "notification", "order")
        choice("service", service, names)
    return run_coroutine(_replicas(style, service, replicas, tuple(clients), scaled, orders,
                                   seed, transport))


def usl_fit(clients: Any, throughput: Any) -> dict[str, float]:
    """Fit the Universal Scalability Law X(N) = lN / (1 + s(N-1) + kN(N-1)) with scipy.

    Returns ``lambda`` (orders/s of one client), ``sigma`` (contention) and ``kappa``
    (coherence), all >= 0, and the fit's ``r2``.
    """
    from scipy.optimize import curve_fit

    n = np.asarray(clients, dtype=float)
    x = np.asarray(throughput, dtype=float)
    if n.size < 3 or n.size != x.size:
        raise InvalidInput(f"the USL fit needs at least 3 (clients, throughput) points, "
                           f"got {n.size} and {x.size}")

    def usl(n_: Any, lam: float, sigma: float, kappa: float) -> Any:
        return lam * n_ / (1 + sigma * (n_ - 1) + kappa * n_ * (n_ - 1))

    guess = (float(x[0] / n[0]), 0.1, 0.001)
    params, _ = curve_fit(usl, n, x, p0=guess, bounds=([0, 0, 0], [np.inf, 10, 10]),
                          maxfev=20_000)
    fitted = usl(n, *params)
    ss_res = float(((x - fitted) ** 2).sum())
    ss_tot = float(((x - x.mean()) ** 2).sum()) or 1.0
    return {"lambda": float(params[0]), "sigma": float(params[1]), "kappa": float(params[2]),
            "r2": 1.0 - ss_res / ss_tot}


def usl_table(curves: pd.DataFrame) -> pd.DataFrame:
    """:func:`usl_fit` per style on the one-replica rows of :func:`scaling_curve` tables:
    lambda (orders/s), sigma, kappa, r2, and N* = sqrt((1 - sigma) / kappa), the client count
    where the fitted curve peaks (inf when kappa is 0).

    Beside the fit, what the points themselves say: ``gain`` (throughput at the most clients
    over throughput at the fewest), ``spread`` (max - min over the mean) and ``fits``
    (r2 >= :data:`USL_MIN_R2` over at least :data:`USL_MIN_POINTS` points)."""
    rows = []
    one = curves[curves["replicas"] == 1] if "replicas" in curves else curves
    for style, part in one.groupby("style", sort=False):
        fit = usl_fit(part["clients"], part["throughput_per_s"])
        peak = float(np.sqrt((1 - fit["sigma"]) / fit["kappa"])) \
            if fit["kappa"] > 0 and fit["sigma"] < 1 else float("inf")
        ordered = part.sort_values("clients")["throughput_per_s"].to_numpy(dtype=float)
        mean = float(ordered.mean())
        rows.append({"style": style, "points": len(part), **fit, "peak_clients": peak,
                     "gain": float(ordered[-1] / ordered[0]) if ordered[0] else float("nan"),
                     "spread": float((ordered.max() - ordered.min()) / mean) if mean else
                     float("nan"),
                     "fits": bool(fit["r2"] >= USL_MIN_R2 and len(part) >= USL_MIN_POINTS),
                     "label": "measured (fit)"})
    return pd.DataFrame(rows)
