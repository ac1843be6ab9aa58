"""``run_architecture``: one measured run of either style under load and faults; the tables.

Every figure is ``measured`` (real apps, real SQLite files, wall clock), over real processes
(``transport="process"``, the default) or in this process through ``httpx.ASGITransport``
(``transport="asgi"``: the same apps without sockets, for many seeded trials). The closed forms
beside them (availability of serial dependencies, team communication paths) are labelled
``model``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import numpy as np
import pandas as pd
import psutil

from ecomlab.architecture.apps import CONSISTENCY
from ecomlab.architecture.choices import STYLES, TRANSPORTS
from ecomlab.architecture.deploy import (
    INCONSISTENCIES,
    Deployment,
    OutboxRelay,
    count_inconsistent,
)
from ecomlab.architecture.faults import CRASH_STEPS, FaultSpec, parse_faults
from ecomlab.architecture.load import LoadOutcome, RawClient, generate
from ecomlab.architecture.resilience import RESILIENCE, Policy
from ecomlab.errors import InvalidInput
from ecomlab.measure import _VERSIONED, LatencySummary, Result, package_versions
from ecomlab.validate import choice, integer, number

__all__ = ["STYLES", "TRANSPORTS", "availability_table", "cascade_table", "compare_styles",
           "consistency_table",
           "consistency_trials", "expected_availability", "load_curve", "run_architecture",
           "scaling_curve", "team_paths", "usl_fit"]

#: the services an order's success depends on, per style (serial dependencies)
T = TypeVar("T")
ORDER_PATH = {"microservices": ("order", "product", "inventory", "payment"),
              "monolith": ("order", "product", "inventory", "payment", "notification")}


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end, also from inside a running event loop (a notebook kernel).

    There it runs on a fresh loop in a helper thread; a ``KeyboardInterrupt`` (a cell
    interrupt) cancels the coroutine and waits for its cleanup, so its processes are stopped
    before the interrupt propagates.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    loop = asyncio.new_event_loop()
    task = loop.create_task(coro)
    result: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            result["value"] = loop.run_until_complete(task)
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc
        finally:
            loop.close()
            finished.set()

    threading.Thread(target=work, name="ecomlab-architecture", daemon=True).start()
    # an Event, not Thread.join: a join interrupted by Ctrl-C may return early next time
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(task.cancel)
        while not finished.wait(0.1):
            pass
        raise
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


def _load_client(dep: Deployment) -> httpx.AsyncClient | RawClient:
    """The load generator's client: raw keep-alive HTTP over TCP, httpx for ASGI."""
    if dep.transport == "process":
        return RawClient()
    assert dep.client is not None
    return dep.client


def _cpu_ms(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return (t.user + t.system) * 1000.0


def expected_availability(style: str, faults: tuple[FaultSpec, ...], resilience: str,
                          policy: Policy | None = None) -> dict[str, float]:
    """The closed form for serial dependencies, A = product of the parts (label: model).

    A part's availability is 1 - its flaky rate (``1 - rate**attempts`` with ``full``
    resilience's retries on a dependency), 0 if it is down, 1 - the crash rate for a crash in
    the order flow before the answer; a slow part counts as 0 when a timeout shorter than its
    delay applies, else 1. In the monolith any module down means the process is down.
    """
    pol = policy or Policy(resilience=resilience)
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


def _validate(style: str, orders: int, rate: float | None, concurrency: int | None,
              faults: object, resilience: str, consistency: str, seed: int,
              transport: str, workers: int, timeout_ms: float) -> tuple[FaultSpec, ...]:
    choice("style", style, STYLES)
    choice("resilience", resilience, RESILIENCE)
    choice("consistency", consistency, CONSISTENCY)
    choice("transport", transport, TRANSPORTS)
    integer("orders", orders, minimum=1, maximum=100_000)
    integer("seed", seed, minimum=0)
    integer("workers", workers, minimum=1, maximum=256)
    number("timeout_ms", timeout_ms, minimum=0.0, min_inclusive=False)
    if (rate is None) == (concurrency is None):
        raise InvalidInput("give either rate (open loop, orders/s) or concurrency (closed "
                           f"loop, clients), got rate={rate!r}, concurrency={concurrency!r}")
    if rate is not None:
        number("rate", rate, minimum=0.0, min_inclusive=False, maximum=100_000.0)
    if concurrency is not None:
        integer("concurrency", concurrency, minimum=1, maximum=1000)
    return parse_faults(faults)


def run_architecture(style: str = "monolith", orders: int = 200, *, rate: float | None = None,
                     concurrency: int | None = None, faults: object = None,
                     resilience: str = "none", consistency: str = "saga", seed: int = 42,
                     transport: str = "process", workers: int = 8, timeout_ms: float = 250.0,
                     client_timeout_s: float = 5.0, trace: bool = False,
                     breaker: bool = True) -> Result:
    """Deploy ``style``, send ``orders`` orders (open loop at ``rate`` or closed loop with
    ``concurrency`` clients) under ``faults``, then heal, recover, drain and check.

    Everything is validated before any process starts. Returns a ``measured`` :class:`Result`
    whose metrics hold the keys ``ecomlab run architecture --json`` prints.

    Raises:
        InvalidInput: a bad parameter or fault spec.
        ServiceDied: a service process exited on its own during the run.
    """
    if rate is None and concurrency is None:
        concurrency = 4
    specs = _validate(style, orders, rate, concurrency, faults, resilience, consistency, seed,
                      transport, workers, timeout_ms)
    policy = Policy(resilience=resilience, timeout_s=timeout_ms / 1000.0, breaker=breaker)
    params = {"style": style, "orders": orders, "rate": rate, "concurrency": concurrency,
              "faults": [f.text() for f in specs], "resilience": resilience,
              "consistency": consistency if style == "microservices" else "acid",
              "transport": transport, "workers": workers, "timeout_ms": timeout_ms,
              "breaker": breaker}
    metrics, backends = run_coroutine(_measure(style, orders, rate, concurrency, specs, policy,
                                             consistency, seed, transport, workers,
                                             client_timeout_s, trace))
    versions = package_versions((*_VERSIONED, "starlette", "uvicorn", "httpx", "stamina",
                                 "circuitbreaker", "psutil"))
    return Result("architecture", "measured", seed, params, metrics, backends, versions)


async def _measure(style: str, orders: int, rate: float | None, concurrency: int | None,
                   specs: tuple[FaultSpec, ...], policy: Policy, consistency: str, seed: int,
                   transport: str, workers: int, client_timeout_s: float, trace: bool = False
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    from ecomlab.stores import broker_store

    dep = Deployment(style, transport=transport, consistency=consistency, faults=specs,
                     policy=policy, seed=seed, workers=workers)
    relay: OutboxRelay | None = None
    relay_task: asyncio.Future[Any] | None = None
    stop_relay = asyncio.Event()
    backends: dict[str, Any] = {"sql": {"backend": "sqlite", "files": len(dep.db_paths)},
                                "transport": transport}
    try:
        started = time.perf_counter()
        dep.start()
        startup_ms = (time.perf_counter() - started) * 1000.0
        assert dep.client is not None
        if style == "microservices" and consistency == "outbox":
            crash = next((f.value for f in specs if f.kind == "crash"
                          and f.step == "after_publish"), 0.0)
            broker = broker_store()
            backends["broker"] = broker.describe()
            relay = OutboxRelay(dep, broker, crash_rate=crash, seed=seed)
            relay_task = asyncio.ensure_future(_relay_loop(relay, stop_relay))
        dep.apply_down()
        procs = dep.processes()
        me = psutil.Process()
        cpu0 = {n: _cpu_ms(p) for n, p in procs.items()}
        gen0 = _cpu_ms(me)
        gen_client = _load_client(dep)
        try:
            load = await generate(gen_client, dep.urls[dep.entry], dep.urls[dep.catalog],
                                  orders, rate=rate, concurrency=concurrency, seed=seed,
                                  run_id=f"o{uuid.uuid4().hex[:6]}",
                                  client_timeout_s=client_timeout_s, check=dep.check)
        finally:
            if isinstance(gen_client, RawClient):
                await gen_client.aclose()
        cpu1 = {n: _cpu_ms(p) for n, p in procs.items() if p.is_running()}
        gen_ms = _cpu_ms(me) - gen0
        if relay_task is not None:  # let the pass finish: a cancelled get would drop a message
            stop_relay.set()
            await relay_task
        stats = await dep.stats()
        spans = await _trace_one(dep) if trace else []
        await dep.heal()
        recovered: dict[str, Any] = {}
        if style == "microservices":
            recovered = await dep.post("order", "/admin/recover")
        if relay is not None:
            await relay.drain()
        inconsistent = count_inconsistent(dep.db_paths)
    finally:
        if relay_task is not None and not relay_task.done():
            relay_task.cancel()
        if relay is not None:
            relay.dispose()
        await dep.aclose()
    service_cpu = sum(cpu1.get(n, cpu0[n]) - cpu0[n] for n in cpu0)
    metrics = _metrics(style, orders, load, stats, specs, policy, inconsistent,
                       service_cpu if procs else gen_ms, gen_ms, bool(procs))
    metrics["recovery"] = recovered
    metrics["trace"] = spans
    metrics["startup_ms"] = startup_ms
    metrics["processes"] = len(dep.names) if transport == "process" else 0
    metrics["databases"] = len(dep.db_paths)
    metrics["cpu_ms_per_order_by_service"] = {
        n: (cpu1.get(n, cpu0[n]) - cpu0[n]) / orders for n in cpu0}
    if relay is not None:
        metrics["relay"] = relay.counters()
    return metrics, backends


async def _trace_one(dep: Deployment) -> list[dict[str, Any]]:
    """Send one order to the idle system and return its spans (ms from the first span)."""
    assert dep.client is not None
    order_id = f"trace-{uuid.uuid4().hex[:6]}"
    start = time.perf_counter()
    r = await dep.client.post(f"{dep.urls[dep.entry]}/orders",
                              json={"order_id": order_id, "sku": "MUG-BLUE", "qty": 1},
                              timeout=10.0)
    total_ms = (time.perf_counter() - start) * 1000.0
    got = await dep.client.get(f"{dep.urls[dep.entry]}/traces/{order_id}", timeout=10.0)
    if r.status_code != 201 or got.status_code != 200:
        return []
    spans = got.json()["spans"]
    t0 = min(sp["start"] for sp in spans) if spans else 0.0
    rows = [{"step": sp["step"], "start_ms": (sp["start"] - t0) * 1000.0,
             "duration_ms": (sp["end"] - sp["start"]) * 1000.0,
             "handler_ms": sp["handler_ms"]} for sp in spans]
    rows.append({"step": "client: whole order", "start_ms": None, "duration_ms": total_ms,
                 "handler_ms": None})
    return rows


async def _relay_loop(relay: OutboxRelay, stop: asyncio.Event) -> None:
    import httpx

    while not stop.is_set():
        try:
            await relay.relay_once()
            await relay.deliver_once()
        except httpx.TransportError:  # the order service is down: try again later
            pass
        await asyncio.sleep(0.02)


def _metrics(style: str, orders: int, load: LoadOutcome, stats: dict[str, dict[str, Any]],
             specs: tuple[FaultSpec, ...], policy: Policy, inconsistent: dict[str, int],
             cpu_ms: float, gen_ms: float, separate: bool) -> dict[str, Any]:
    ok_ms = [m for m, ok in zip(load.order_ms, load.order_ok, strict=True) if ok]
    lat = LatencySummary.of_ms(ok_ms)
    page = LatencySummary.of_ms(load.page_ms)
    succeeded = sum(load.order_ok)
    entry = stats.get("order" if style == "microservices" else "monolith", {})
    sick = next((f.service for f in specs if f.service != "order"), None)
    if style == "microservices":
        callers = entry.get("callers", {})
        attempts = sum(c["attempts"] for c in callers.values())
        hops = attempts / orders
        net = sum(c["hop_ms"] - c["callee_ms"] for c in callers.values())
        handler_total = float(entry.get("handler_ms_total", 0.0)) or math.nan
        network_share = max(0.0, net) / handler_total if callers else math.nan
        if sick is not None and sick in callers:
            amplification = callers[sick]["attempts"] / orders
        else:
            calls = sum(c["calls"] for c in callers.values())
            amplification = attempts / calls if calls else math.nan
    else:
        hops = 0.0
        network_share = 0.0
        calls = entry.get("module_calls", {})
        amplification = calls.get(sick or "inventory", 0) / orders if calls else math.nan
    services = {n: {k: s.get(k) for k in ("requests", "errors", "p50_ms")}
                for n, s in stats.items()}
    return {
        "style": style, "label": "measured", "orders": orders, "succeeded": succeeded,
        "latency_ms": {"p50": lat.p50, "p95": lat.p95, "p99": lat.p99, "count": lat.count},
        "product_page_ms": {"p50": page.p50, "p99": page.p99},
        "throughput_per_s": succeeded / load.elapsed_s if load.elapsed_s else math.nan,
        "elapsed_s": load.elapsed_s,
        "cpu_ms_per_order": cpu_ms / orders,
        "cpu_scope": "service processes" if separate else "this process (in-process apps, "
                                                          "load generator included)",
        "generator_cpu_ms_per_order": gen_ms / orders,
        "hops_per_order": hops,
        "network_share": network_share,
        "availability": {"orders": succeeded / orders,
                         "product_page": sum(load.page_ok) / orders},
        "expected_availability": expected_availability(style, specs, policy.resilience,
                                                       policy),
        "retry_amplification": amplification,
        "inconsistent": inconsistent,
        "inconsistent_total": sum(inconsistent.values()),
        "statuses": load.statuses,
        "generator_lag_ms_max": load.lag_ms_max,
        "services": services,
        "outcomes": entry.get("outcomes", {}),
    }


# =============================================================================== tables

def consistency_trials(trials: int = 30, *, consistency: str = "saga", orders: int = 12,
                       seed: int = 42, style: str = "microservices") -> pd.DataFrame:
    """Seeded randomized fault trials (in-process ASGI): one row per trial.

    Trial ``i`` crashes the order flow at step ``CRASH_STEPS[i % 4]`` (rate 0.5) and makes a
    randomly drawn service flaky (rate 0.2-0.5), each drawn from ``seed``; ``timeouts``
    resilience. Columns: the fault, the five inconsistency counts and their total (measured).
    """
    integer("trials", trials, minimum=1, maximum=1000)
    choice("consistency", consistency, CONSISTENCY)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(trials):
        step = CRASH_STEPS[i % len(CRASH_STEPS)]
        flaky = str(rng.choice(["inventory", "payment", "notification"]))
        p = round(float(rng.uniform(0.2, 0.5)), 2)
        faults = [f"order=crash:{step}@0.5", f"{flaky}=flaky:{p}"]
        r = run_architecture(style, orders, concurrency=2, faults=faults,
                             resilience="timeouts", consistency=consistency,
                             seed=seed + i, transport="asgi")
        rows.append({"trial": i, "consistency": r.params["consistency"], "crash_step": step,
                     "flaky": f"{flaky} {p:g}", **r.metrics["inconsistent"],
                     "total": r.metrics["inconsistent_total"],
                     "succeeded": r.metrics["succeeded"]})
    return pd.DataFrame(rows)


def consistency_table(trials: int = 30, *, orders: int = 12, seed: int = 42) -> pd.DataFrame:
    """Inconsistent end states summed over ``trials`` per variant (measured), monolith too."""
    rows = []
    for style, variant in (("monolith", "saga"), ("microservices", "seed"),
                           ("microservices", "saga"), ("microservices", "outbox")):
        df = consistency_trials(trials, consistency=variant, orders=orders, seed=seed,
                                style=style)
        label = "monolith (one ACID transaction)" if style == "monolith" else variant
        rows.append({"variant": label, "trials": trials, "orders": trials * orders,
                     **{k: int(df[k].sum()) for k in INCONSISTENCIES},
                     "total": int(df["total"].sum()),
                     "trials_with_any": int((df["total"] > 0).sum())})
    return pd.DataFrame(rows)


def availability_table(orders: int = 300, *, faults: tuple[str, ...] = (
        "payment=flaky:0.2", "inventory=flaky:0.1", "product=flaky:0.1", "inventory=down"),
        seed: int = 42, transport: str = "asgi") -> pd.DataFrame:
    """Availability of orders and product pages per style and fault, beside the closed form."""
    rows = []
    for style in STYLES:
        for fault in faults:
            r = run_architecture(style, orders, concurrency=4, faults=[fault],
                                 consistency="saga", seed=seed, transport=transport)
            m = r.metrics
            rows.append({"style": style, "fault": fault,
                         "orders_measured": m["availability"]["orders"],
                         "orders_model": m["expected_availability"]["orders"],
                         "page_measured": m["availability"]["product_page"],
                         "page_model": m["expected_availability"]["product_page"]})
    return pd.DataFrame(rows)


def cascade_table(orders: int = 60, *, slow_ms: float = 300.0, concurrency: int = 16,
                  seed: int = 42, transport: str = "asgi", workers: int = 8,
                  client_timeout_s: float = 1.0) -> pd.DataFrame:
    """A slow inventory, per style and resilience: what happens to orders and product pages.

    Columns: order availability and p50, product-page p99 and availability, and retry
    amplification (requests reaching inventory per order; measured).
    """
    rows = []
    runs = [(style, resilience, True) for style in STYLES for resilience in RESILIENCE]
    runs.append(("microservices", "full", False))
    for style, resilience, breaker in runs:
        r = run_architecture(style, orders, concurrency=concurrency,
                             faults=[f"inventory=slow:{slow_ms:g}"], resilience=resilience,
                             consistency="saga", seed=seed, transport=transport,
                             workers=workers, client_timeout_s=client_timeout_s,
                             breaker=breaker)
        m = r.metrics
        rows.append({"style": style,
                     "resilience": resilience if breaker else "full, no breaker",
                     "orders_ok": m["availability"]["orders"],
                     "order_p50_ms": m["latency_ms"]["p50"],
                     "page_ok": m["availability"]["product_page"],
                     "page_p99_ms": m["product_page_ms"]["p99"],
                     "inventory_requests_per_order": m["retry_amplification"]})
    return pd.DataFrame(rows)


def load_curve(style: str, rates: tuple[float, ...] = (25, 50, 100, 200), *,
               duration_s: float = 0.5, seed: int = 42, transport: str = "process",
               consistency: str = "saga") -> pd.DataFrame:
    """Open-loop p50/p99 (from the intended send times) and throughput vs offered rate.

    One deployment per call; each level sends ``rate * duration_s`` orders (at least 10) as
    Poisson arrivals. CPU per order is the service processes' (measured).
    """
    choice("style", style, STYLES)
    choice("transport", transport, TRANSPORTS)
    for rate in rates:
        number("rate", rate, minimum=0.0, min_inclusive=False, maximum=100_000.0)
    return run_coroutine(_curve(style, tuple(rates), duration_s, seed, transport, consistency))


async def _curve(style: str, rates: tuple[float, ...], duration_s: float, seed: int,
                 transport: str, consistency: str) -> pd.DataFrame:
    dep = Deployment(style, transport=transport, consistency=consistency, seed=seed)
    rows = []
    raw: httpx.AsyncClient | RawClient | None = None
    try:
        dep.start()
        assert dep.client is not None
        procs = dep.processes()
        me = psutil.Process()
        raw = _load_client(dep)
        # warm-up: connections, first-request imports and caches, not measured
        await generate(raw, dep.urls[dep.entry], dep.urls[dep.catalog], 10,
                       concurrency=2, seed=seed, run_id="warmup", check=dep.check)
        for k, rate in enumerate(rates):
            orders = max(10, int(rate * duration_s))
            cpu0 = sum(_cpu_ms(p) for p in procs.values())
            gen0 = _cpu_ms(me)
            load = await generate(raw, dep.urls[dep.entry], dep.urls[dep.catalog],
                                  orders, rate=rate, seed=seed + k, run_id=f"c{k}",
                                  check=dep.check)
            cpu = sum(_cpu_ms(p) for p in procs.values()) - cpu0
            gen = _cpu_ms(me) - gen0
            ok = [m for m, good in zip(load.order_ms, load.order_ok, strict=True) if good]
            lat = LatencySummary.of_ms(ok)
            rows.append({"style": style, "offered_per_s": rate, "orders": orders,
                         "throughput_per_s": len(ok) / load.elapsed_s,
                         "p50_ms": lat.p50, "p99_ms": lat.p99,
                         "cpu_ms_per_order": (cpu if procs else gen) / orders,
                         "generator_cpu_ms_per_order": gen / orders,
                         "generator_lag_ms_max": load.lag_ms_max})
    finally:
        if isinstance(raw, RawClient):
            await raw.aclose()
        await dep.aclose()
    return pd.DataFrame(rows)


def team_paths(max_teams: int = 12) -> pd.DataFrame:
    """Communication paths n(n-1)/2 between n teams (label: model, not measured)."""
    integer("max_teams", max_teams, minimum=1, maximum=200)
    n = np.arange(1, max_teams + 1)
    return pd.DataFrame({"teams": n, "paths": n * (n - 1) // 2, "label": "model"})


def compare_styles(orders: int = 40, *, concurrency: int = 4, seed: int = 42,
                   transport: str = "process") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both styles without faults: a summary row each, and one idle order's spans (measured).

    Returns ``(compare, waterfall)``; ``waterfall`` has one row per span: style, step,
    start_ms, duration_ms and, for HTTP hops, the callee's handler_ms and the rest
    (network_ms: sockets, HTTP and JSON on both sides).
    """
    rows, spans = [], []
    for style in STYLES:
        m = run_architecture(style, orders, concurrency=concurrency, seed=seed,
                             transport=transport, trace=True).metrics
        rows.append({"style": style, "p50_ms": m["latency_ms"]["p50"],
                     "p99_ms": m["latency_ms"]["p99"],
                     "throughput_per_s": m["throughput_per_s"],
                     "cpu_ms_per_order": m["cpu_ms_per_order"],
                     "generator_cpu_ms_per_order": m["generator_cpu_ms_per_order"],
                     "hops_per_order": m["hops_per_order"], "network_share": m["network_share"],
                     "processes": m["processes"], "databases": m["databases"],
                     "startup_ms": m["startup_ms"],
                     "cpu_by_service": m["cpu_ms_per_order_by_service"]})
        for sp in m["trace"]:
            net = (sp["duration_ms"] - sp["handler_ms"]) if sp["handler_ms"] is not None \
                else None
            spans.append({"style": style, **sp, "network_ms": net})
    return pd.DataFrame(rows), pd.DataFrame(spans)


def scaling_curve(style: str, concurrencies: tuple[int, ...] = (1, 2, 4, 8, 16), *,
                  orders: int = 120, seed: int = 42, transport: str = "process"
                  ) -> pd.DataFrame:
    """Closed-loop throughput vs client count, one deployment per call (measured)."""
    choice("style", style, STYLES)
    return run_coroutine(_scaling(style, tuple(concurrencies), orders, seed, transport))


async def _scaling(style: str, concurrencies: tuple[int, ...], orders: int, seed: int,
                   transport: str) -> pd.DataFrame:
    dep = Deployment(style, transport=transport, seed=seed)
    rows = []
    raw: httpx.AsyncClient | RawClient | None = None
    try:
        dep.start()
        raw = _load_client(dep)
        await generate(raw, dep.urls[dep.entry], dep.urls[dep.catalog], 10,
                       concurrency=2, seed=seed, run_id="warmup", check=dep.check)
        for k, n in enumerate(concurrencies):
            load = await generate(raw, dep.urls[dep.entry], dep.urls[dep.catalog],
                                  orders, concurrency=n, seed=seed + k, run_id=f"s{k}",
                                  check=dep.check)
            ok = [m for m, good in zip(load.order_ms, load.order_ok, strict=True) if good]
            rows.append({"style": style, "clients": n,
                         "throughput_per_s": len(ok) / load.elapsed_s,
                         "p50_ms": LatencySummary.of_ms(ok).p50})
    finally:
        if isinstance(raw, RawClient):
            await raw.aclose()
        await dep.aclose()
    return pd.DataFrame(rows)


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
