"""``run_architecture``: one measured run of either style under load and faults.

Every figure is ``measured`` (real apps, real SQLite files, wall clock), over real processes
(``transport="process"``, the default) or in this process through ``httpx.ASGITransport``
(``transport="asgi"``: the same apps without sockets, for many seeded trials). The closed
forms beside them (availability of serial dependencies) are labelled ``model``
(:mod:`ecomlab.architecture.model`). :func:`compare_styles` runs both styles without faults
and traces one idle order through each with OpenTelemetry (the waterfall).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import httpx
import pandas as pd
import psutil

from ecomlab.architecture.choices import CONSISTENCY, STYLES, TRANSPORTS
from ecomlab.architecture.deploy import Deployment, OutboxRelay, count_inconsistent
from ecomlab.architecture.faults import SERVICES, FaultSpec, parse_faults
from ecomlab.architecture.load import LoadOutcome, RawClient, generate
from ecomlab.architecture.model import expected_availability
from ecomlab.architecture.resilience import RESILIENCE, Policy
from ecomlab.errors import InvalidInput
from ecomlab.measure import _VERSIONED, Result, package_versions
from ecomlab.validate import choice, integer, number

__all__ = ["STYLES", "TRANSPORTS", "compare_styles", "cpu_ms", "load_client",
           "parse_replicas", "run_architecture", "run_coroutine"]

T = TypeVar("T")


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


def load_client(dep: Deployment) -> httpx.AsyncClient | RawClient:
    """The load generator's client: raw keep-alive HTTP over TCP, httpx for ASGI."""
    if dep.transport == "process":
        return RawClient()
    assert dep.client is not None
    return dep.client


def cpu_ms(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return (t.user + t.system) * 1000.0


def parse_replicas(spec: object) -> dict[str, int]:
    """``{"inventory": 2}`` from a mapping or ``["inventory=2", ...]`` (``SERVICE=N``).

    Raises:
        InvalidInput: an unknown service (the monolith's is ``monolith``) or N not in 1..8.
    """
    if spec is None:
        return {}
    items = list(spec.items()) if isinstance(spec, Mapping) else []
    if not isinstance(spec, Mapping):
        for text in [spec] if isinstance(spec, str) else list(spec):  # type: ignore[call-overload]
            name, sep, n = str(text).partition("=")
            if not sep:
                raise InvalidInput(f"replicas {text!r}: expected SERVICE=N, e.g. inventory=2")
            items.append((name.strip(), n.strip()))
    out: dict[str, int] = {}
    for name, n in items:
        choice("replicated service", name, (*SERVICES, "monolith"))
        try:
            count = int(n)
        except (TypeError, ValueError):
            raise InvalidInput(f"replicas of {name!r} must be a whole number, got {n!r}") \
                from None
        out[name] = integer(f"replicas of {name!r}", count, minimum=1, maximum=8)
    return out


def _validate(style: str, orders: int, rate: float | None, concurrency: int | None,
              faults: object, resilience: str, consistency: str, seed: int,
              transport: str, workers: int, timeout_ms: float, replicas: object
              ) -> tuple[tuple[FaultSpec, ...], dict[str, int]]:
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
    reps = parse_replicas(replicas)
    styles_of = {"monolith": "monolith"}
    for name in reps:
        if styles_of.get(name, "microservices") != style:
            raise InvalidInput(f"replicas of {name!r} need style "
                               f"{styles_of.get(name, 'microservices')!r}, got {style!r}")
    return parse_faults(faults), reps


def run_architecture(style: str = "monolith", orders: int = 200, *, rate: float | None = None,
                     concurrency: int | None = None, faults: object = None,
                     resilience: str = "none", consistency: str = "saga", seed: int = 42,
                     transport: str = "process", workers: int = 8, timeout_ms: float = 250.0,
                     client_timeout_s: float = 5.0, trace: bool = False,
                     breaker: bool = True, replicas: object = None) -> Result:
    """Deploy ``style``, send ``orders`` orders (open loop at ``rate`` or closed loop with
    ``concurrency`` clients) under ``faults``, then heal, recover, drain and check.

    ``replicas`` (``{"inventory": 2}`` or ``["inventory=2"]``) runs that many instances of a
    service behind round robin. Everything is validated before any process starts. Returns a
    ``measured`` :class:`Result` whose metrics hold the keys ``ecomlab run architecture
    --json`` prints.

    Raises:
        InvalidInput: a bad parameter or fault spec.
        ServiceDied: a service process exited on its own during the run.
    """
    if rate is None and concurrency is None:
        concurrency = 4
    specs, reps = _validate(style, orders, rate, concurrency, faults, resilience, consistency,
                            seed, transport, workers, timeout_ms, replicas)
    policy = Policy(resilience=resilience, timeout_s=timeout_ms / 1000.0, breaker=breaker)
    params = {"style": style, "orders": orders, "rate": rate, "concurrency": concurrency,
              "faults": [f.text() for f in specs], "resilience": resilience,
              "consistency": consistency if style == "microservices" else "acid",
              "transport": transport, "workers": workers, "timeout_ms": timeout_ms,
              "breaker": breaker, "replicas": reps}
    dep = Deployment(style, transport=transport, consistency=consistency, faults=specs,
                     policy=policy, seed=seed, workers=workers, replicas=reps, tracing=trace)
    metrics, backends = run_coroutine(_measure(dep, orders, rate, concurrency,
                                               client_timeout_s, trace))
    versions = package_versions((*_VERSIONED, "starlette", "uvicorn", "httpx", "stamina",
                                 "circuitbreaker", "psutil", "hdrhistogram",
                                 *(("opentelemetry-sdk",) if trace else ())))
    return Result("architecture", "measured", seed, params, metrics, backends, versions)


def _start_relay(dep: Deployment, backends: dict[str, Any], stop: asyncio.Event
                 ) -> tuple[OutboxRelay | None, asyncio.Future[Any] | None]:
    if dep.style != "microservices" or dep.consistency != "outbox":
        return None, None
    from ecomlab.stores import broker_store

    crash = next((f.value for f in dep.faults if f.kind == "crash"
                  and f.step == "after_publish"), 0.0)
    broker = broker_store()
    backends["broker"] = broker.describe()
    relay = OutboxRelay(dep, broker, crash_rate=crash, seed=dep.seed)
    return relay, asyncio.ensure_future(_relay_loop(relay, stop))


async def _measure(dep: Deployment, orders: int, rate: float | None, concurrency: int | None,
                   client_timeout_s: float, trace: bool = False
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    relay: OutboxRelay | None = None
    relay_task: asyncio.Future[Any] | None = None
    stop_relay = asyncio.Event()
    backends: dict[str, Any] = {"sql": {"backend": "sqlite", "files": len(dep.db_paths)},
                                "transport": dep.transport}
    try:
        started = time.perf_counter()
        dep.start()
        startup_ms = (time.perf_counter() - started) * 1000.0
        relay, relay_task = _start_relay(dep, backends, stop_relay)
        dep.apply_down()
        procs = dep.processes()
        me = psutil.Process()
        cpu0 = {n: cpu_ms(p) for n, p in procs.items()}
        gen0 = cpu_ms(me)
        gen_client = load_client(dep)
        try:
            load = await generate(gen_client, dep.entry_urls, dep.catalog_urls,
                                  orders, rate=rate, concurrency=concurrency, seed=dep.seed,
                                  run_id=f"o{uuid.uuid4().hex[:6]}",
                                  client_timeout_s=client_timeout_s, check=dep.check)
        finally:
            if isinstance(gen_client, RawClient):
                await gen_client.aclose()
        cpu1 = {n: cpu_ms(p) for n, p in procs.items() if p.is_running()}
        gen_ms = cpu_ms(me) - gen0
        if relay_task is not None:  # let the pass finish: a cancelled get would drop a message
            stop_relay.set()
            await relay_task
        stats = await dep.stats()
        spans = await _trace_one(dep) if trace else []
        await dep.heal()
        recovered: dict[str, Any] = {}
        if dep.style == "microservices":
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
    by_service: dict[str, float] = {}
    for n in cpu0:
        used = (cpu1.get(n, cpu0[n]) - cpu0[n]) / orders
        by_service[dep.service_of(n)] = by_service.get(dep.service_of(n), 0.0) + used
    metrics = _metrics(dep, orders, load, stats, inconsistent,
                       sum(by_service.values()) * orders if procs else gen_ms, gen_ms,
                       bool(procs))
    metrics.update(recovery=recovered, trace=spans, startup_ms=startup_ms,
                   processes=len(dep.all_instances()) if dep.transport == "process" else 0,
                   databases=len(dep.db_paths), cpu_ms_per_order_by_service=by_service)
    if relay is not None:
        metrics["relay"] = relay.counters()
    return metrics, backends


async def _trace_one(dep: Deployment) -> list[dict[str, Any]]:
    """Send one traced order to the idle system; its spans from every instance, as rows.

    The client opens the root span (``client: whole order``) and sends its ``traceparent``;
    rows hold step, service, kind, start_ms (from the root's start), duration_ms and, for
    each HTTP hop, handler_ms: the duration of the callee's server span under it.
    """
    from ecomlab.architecture.tracing import Tracing, trace_id_of

    assert dep.client is not None
    client = Tracing("client").setup()
    headers: dict[str, str] = {}
    order_id = f"trace-{uuid.uuid4().hex[:6]}"
    with client.client_span("client: whole order", headers) as root:
        r = await dep.client.post(f"{dep.urls[dep.entry]}/orders", headers=headers,
                                  json={"order_id": order_id, "sku": "MUG-BLUE", "qty": 1},
                                  timeout=10.0)
    trace_id = trace_id_of(root)
    spans = client.spans(trace_id)
    for name in dep.names:
        for url in dep.replica_urls[name]:
            got = await dep.client.get(f"{url}/traces/{trace_id}", timeout=10.0)
            spans.extend(got.json()["spans"] if got.status_code == 200 else [])
    if r.status_code != 201 or not spans:
        return []
    return _span_rows(spans)


def _span_rows(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    t0 = min(sp["start_ns"] for sp in spans)
    servers = {sp["parent_id"]: sp for sp in spans if sp["kind"] == "SERVER"}
    rows = []
    for sp in sorted(spans, key=lambda s: s["start_ns"]):
        callee = servers.get(sp["span_id"]) if sp["kind"] == "CLIENT" else None
        hop = callee is not None and sp["parent_id"] is not None  # not the client's root
        step = sp["name"] if sp["kind"] != "SERVER" else "handler"
        rows.append({"step": step, "service": sp["service"], "kind": sp["kind"],
                     "start_ms": (sp["start_ns"] - t0) / 1e6,
                     "duration_ms": (sp["end_ns"] - sp["start_ns"]) / 1e6,
                     "handler_ms": (callee["end_ns"] - callee["start_ns"]) / 1e6
                     if hop and callee is not None else None})
    return rows


async def _relay_loop(relay: OutboxRelay, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await relay.relay_once()
            await relay.deliver_once()
        except httpx.TransportError:  # the order service is down: try again later
            pass
        await asyncio.sleep(0.02)


def _metrics(dep: Deployment, orders: int, load: LoadOutcome,
             stats: dict[str, dict[str, Any]], inconsistent: dict[str, int],
             service_cpu_ms: float, gen_ms: float, separate: bool) -> dict[str, Any]:
    style, specs, policy = dep.style, dep.faults, dep.policy
    lat, page, fixed = load.order_latency(), load.page_latency(), load.order_latency_corrected()
    succeeded = load.orders_ok
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
        "latency_ms_corrected": {"p50": fixed.p50, "p99": fixed.p99, "count": fixed.count},
        "product_page_ms": {"p50": page.p50, "p99": page.p99},
        "throughput_per_s": succeeded / load.elapsed_s if load.elapsed_s else math.nan,
        "elapsed_s": load.elapsed_s,
        "cpu_ms_per_order": service_cpu_ms / orders,
        "cpu_scope": "service processes" if separate else "this process (in-process apps, "
                                                          "load generator included)",
        "generator_cpu_ms_per_order": gen_ms / orders,
        "hops_per_order": hops,
        "network_share": network_share,
        "availability": {"orders": succeeded / orders, "product_page": load.pages_ok / orders},
        "expected_availability": expected_availability(style, specs, policy.resilience,
                                                       policy),
        "retry_amplification": amplification,
        "inconsistent": inconsistent,
        "inconsistent_total": sum(inconsistent.values()),
        "statuses": load.statuses,
        "generator_lag_ms_max": load.lag_ms_max,
        "services": services,
        "replicas": {n: s["replicas"] for n, s in stats.items()
                     if len(s.get("replicas", {})) > 1},
        "outcomes": entry.get("outcomes", {}),
    }


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


