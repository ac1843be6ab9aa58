"""The ASGI apps (Starlette): the monolith, and one app per microservice.

Every app serves ``GET /health``, ``GET /stats`` (requests, errors, p50 handler time) and
``POST /admin/faults`` (replace the service's faults at run time), and reports its handler
time in the ``x-handler-ms`` response header so that callers can split a hop into handler time
and network plus serialization time.

**The monolith** (:func:`monolith_app`): one process, one SQLite file, ``POST /orders`` runs
product lookup, payment, inventory, the order row and the notification in **one** transaction
(any failure rolls all of it back). Its handlers run on one shared pool of ``workers`` threads
(an ``anyio`` capacity limiter), as a thread-per-request monolith does; a slow module holds a
worker for its whole delay. (The slow delay is spent before the transaction's writes: SQLite
locks the whole file, a server database would lock only rows.) With ``full`` resilience the pool
is split into bulkheads (half for orders, half for the rest) and a full bulkhead refuses at once.

**The microservices** (:func:`service_app`): ``product``, ``inventory``, ``payment``,
``notification`` and ``order``, each with its own SQLite file. The order service orchestrates
over HTTP/JSON, in one of three consistency variants:

* ``seed`` — the seed's design: charge, then reserve, confirm only if both succeeded; no
  compensation, no recovery; the event is posted to the notification service after the commit.
* ``saga`` — the order is written ``pending`` first (the saga's log); reserve, then charge;
  a failure releases the reservation and refunds (both idempotent, both safe when nothing
  happened); a crash leaves the order ``pending`` and ``POST /admin/recover`` (run at restart)
  compensates it. The event is posted after the commit (a crash there loses it).
* ``outbox`` — the saga, and ``OrderConfirmed`` is written to the ``outbox`` table in the same
  transaction as the confirmation; a relay (:class:`ecomlab.architecture.events.OutboxRelay`)
  reads ``GET /outbox`` and publishes through the workbook's broker; an idempotent consumer
  delivers to the notification service.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecomlab.architecture import domain
from ecomlab.architecture.choices import CONSISTENCY
from ecomlab.architecture.faults import Crash, Faults, FaultSpec, InjectedError, parse_faults
from ecomlab.architecture.resilience import Caller, DependencyError, Policy
from ecomlab.architecture.tracing import CURRENT_TRACE, Trace

__all__ = ["CONSISTENCY", "ServiceStats", "monolith_app", "service_app"]

_LATENCY_CAP = 20_000

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class ServiceStats:
    """Requests, errors and handler times of the domain endpoints (not health/stats/admin)."""

    requests: int = 0
    errors: int = 0
    handler_ms: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, ms: float, ok: bool) -> None:
        self.requests += 1
        self.errors += 0 if ok else 1
        if len(self.handler_ms) < _LATENCY_CAP:
            self.handler_ms.append(ms)

    def as_dict(self) -> dict[str, Any]:
        ms = sorted(self.handler_ms)
        p50 = ms[len(ms) // 2] if ms else None
        return {"requests": self.requests, "errors": self.errors,
                "p50_ms": None if p50 is None else round(p50, 3),
                "handler_ms_total": round(sum(ms), 3), **self.extra}


class _Traces:
    """The last 200 orders' spans, by order id."""

    def __init__(self) -> None:
        self.by_order: dict[str, list[dict[str, Any]]] = {}

    def keep(self, order_id: str, spans: list[dict[str, Any]]) -> None:
        self.by_order[order_id] = spans
        while len(self.by_order) > 200:
            self.by_order.pop(next(iter(self.by_order)))

    def route(self) -> Route:
        async def get(request: Request) -> Response:
            spans = self.by_order.get(request.path_params["order_id"])
            if spans is None:
                return JSONResponse({"error": "no trace"}, status_code=404)
            return JSONResponse({"spans": spans})
        return Route("/traces/{order_id}", get)


def _json(data: dict[str, Any], status: int = 200, *, started: float) -> JSONResponse:
    ms = (time.perf_counter() - started) * 1000.0
    return JSONResponse(data, status_code=status, headers={"x-handler-ms": f"{ms:.4f}"})


def _admin_routes(stats: ServiceStats, set_faults: Callable[[tuple[FaultSpec, ...]], None],
                  describe: Callable[[], dict[str, Any]]) -> list[Route]:
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_stats(_: Request) -> Response:
        return JSONResponse({**stats.as_dict(), **describe()})

    async def post_faults(request: Request) -> Response:
        body = await request.json()
        set_faults(parse_faults(list(body.get("faults", []))))
        return JSONResponse({"status": "ok"})

    async def reset_stats(_: Request) -> Response:
        stats.requests = stats.errors = 0
        stats.handler_ms.clear()
        return JSONResponse({"status": "ok"})

    return [Route("/health", health), Route("/stats", get_stats),
            Route("/admin/faults", post_faults, methods=["POST"]),
            Route("/admin/reset-stats", reset_stats, methods=["POST"])]


# =============================================================================== monolith

class _Monolith:
    def __init__(self, db: Path, specs: tuple[FaultSpec, ...], seed: int, workers: int,
                 policy: Policy) -> None:
        self.db = db
        self.policy = policy
        self.seed = seed
        self.faults = {m: Faults.of(specs, m, seed + i) for i, m in enumerate(domain.MODULES)}
        self.local = threading.local()
        self.lock = threading.Lock()
        self.stats = ServiceStats()
        self.module_calls = dict.fromkeys(domain.MODULES, 0)
        self.traces = _Traces()
        self.pool = anyio.CapacityLimiter(workers)
        half = max(1, workers // 2)
        self.order_pool = anyio.CapacityLimiter(half) if policy.resilience == "full" else None
        self.page_pool = (anyio.CapacityLimiter(max(1, workers - half))
                          if policy.resilience == "full" else None)
        conn = domain.connect(db)
        domain.create_schema(conn)
        domain.seed_catalog(conn, stock=1_000_000)
        conn.close()

    def set_faults(self, specs: tuple[FaultSpec, ...]) -> None:
        for i, m in enumerate(domain.MODULES):
            self.faults[m] = Faults.of(specs, m, self.seed + 100 + i)

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = domain.connect(self.db)
            self.local.conn = conn
        return conn

    def module(self, name: str) -> None:
        """Enter a module: count the call, apply its slow and flaky faults (worker thread)."""
        with self.lock:
            self.module_calls[name] += 1
            fault = self.faults[name]
            failure = fault.draw_failure()
        fault.block()
        if failure:
            raise InjectedError(f"{name} failed ({failure} the work)")

    def product_page(self, sku: str) -> dict[str, Any] | None:
        self.module("product")
        return domain.get_product(self.conn(), sku)

    def place_order(self, order_id: str, sku: str, qty: int) -> dict[str, Any]:
        """One ACID transaction across the modules; any exception rolls all of it back."""
        conn = self.conn()
        trace = Trace()
        for name in ("product", "payment", "inventory", "notification"):
            self.module(name)  # faults first: a slow module holds this worker, not the lock
        fault = self.faults["order"]
        with trace.span("BEGIN IMMEDIATE"):
            conn.execute("BEGIN IMMEDIATE")
        try:
            with trace.span("product.get_product"):
                product = domain.get_product(conn, sku)
            if product is None:
                conn.execute("ROLLBACK")
                return {"status": "failed", "reason": f"unknown sku {sku!r}"}
            amount = int(product["price_cents"]) * qty
            with trace.span("payment.charge"):
                domain.charge(conn, order_id, amount)
            fault.crash_point("after_charge")
            with trace.span("inventory.reserve"):
                reserved = domain.reserve(conn, order_id, sku, qty)
            if reserved != "reserved":
                conn.execute("ROLLBACK")
                return {"status": "failed", "reason": "insufficient stock"}
            fault.crash_point("after_reserve")
            with trace.span("order.create_order"):
                domain.create_order(conn, order_id, sku, qty, amount, "confirmed")
            with trace.span("notification.notify"):
                domain.notify(conn, f"evt-{order_id}", order_id, idempotent=True)
            with trace.span("COMMIT"):
                conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with self.lock:
            self.traces.keep(order_id, trace.spans)
        return {"status": "confirmed", "order_id": order_id, "amount_cents": amount}


def monolith_app(db: str | Path, *, faults: object = None, seed: int = 0, workers: int = 8,
                 policy: Policy | None = None) -> Starlette:
    """The monolith: one app, one database file, one shared worker pool of ``workers``."""
    shop = _Monolith(Path(db), parse_faults(faults), seed, workers, policy or Policy())
    stats = shop.stats

    async def in_pool(func: Callable[..., Any], *args: Any, bulkhead: Any,
                      fail_fast: bool = False) -> Any:
        limiter = bulkhead if bulkhead is not None else shop.pool
        if fail_fast and bulkhead is not None and limiter.available_tokens == 0:
            raise DependencyError("monolith", "bulkhead full")
        if shop.policy.resilience == "none":
            return await anyio.to_thread.run_sync(func, *args, limiter=limiter)
        # the worker thread cannot be stopped: on timeout it runs on, holding its worker
        with anyio.fail_after(shop.policy.timeout_s):
            return await anyio.to_thread.run_sync(func, *args, limiter=limiter,
                                                  abandon_on_cancel=True)

    async def product(request: Request) -> Response:
        started = time.perf_counter()
        try:
            found = await in_pool(shop.product_page, request.path_params["sku"],
                                  bulkhead=shop.page_pool)
        except (InjectedError, DependencyError, TimeoutError) as exc:
            stats.record((time.perf_counter() - started) * 1e3, False)
            return _json({"error": str(exc) or "timeout"}, 503, started=started)
        stats.record((time.perf_counter() - started) * 1e3, found is not None)
        if found is None:
            return _json({"error": "not found"}, 404, started=started)
        return _json(found, started=started)

    async def orders(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.json()
        try:
            out = await in_pool(shop.place_order, str(body["order_id"]), str(body["sku"]),
                                int(body.get("qty", 1)), bulkhead=shop.order_pool, fail_fast=True)
        except (InjectedError, Crash, DependencyError, TimeoutError, sqlite3.Error) as exc:
            stats.record((time.perf_counter() - started) * 1e3, False)
            return _json({"status": "failed", "reason": str(exc) or "timeout"}, 503,
                         started=started)
        ok = out["status"] == "confirmed"
        stats.record((time.perf_counter() - started) * 1e3, ok)
        return _json(out, 201 if ok else 409, started=started)

    def describe() -> dict[str, Any]:
        return {"module_calls": dict(shop.module_calls), "workers": workers}

    routes = [Route("/products/{sku}", product), Route("/orders", orders, methods=["POST"]),
              shop.traces.route(), *_admin_routes(stats, shop.set_faults, describe)]
    return Starlette(routes=routes)


# =============================================================================== services

class _Service:
    def __init__(self, name: str, db: Path, specs: tuple[FaultSpec, ...], seed: int) -> None:
        self.name = name
        self.seed = seed
        self.conn = domain.connect(db)
        domain.create_schema(self.conn, (name,))
        if name == "product":
            domain.seed_catalog(self.conn, products=True)
        elif name == "inventory":
            self.conn.execute("BEGIN IMMEDIATE")
            for sku, _, _ in domain.SKUS:
                self.conn.execute("INSERT OR IGNORE INTO stock VALUES (?, ?)", (sku, 1_000_000))
            self.conn.execute("COMMIT")
        self.faults = Faults.of(specs, name, seed)
        self.stats = ServiceStats()

    def set_faults(self, specs: tuple[FaultSpec, ...]) -> None:
        self.faults = Faults.of(specs, self.name, self.seed + 1000)

    def write(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(conn, ...)`` in one committed transaction (no await inside)."""
        trace = CURRENT_TRACE.get()
        span = trace.span(f"{self.name} {func.__name__} (local)") if trace is not None \
            else contextlib.nullcontext()
        with span:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                out = func(self.conn, *args, **kwargs)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        return out

    def endpoint(self, work: Callable[[Request], Awaitable[tuple[dict[str, Any], int]]]
                 ) -> Handler:
        """Wrap a domain endpoint: slow and flaky faults, counting, the handler-time header."""
        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            await self.faults.wait()
            failure = self.faults.draw_failure()
            if failure == "before":
                self.stats.record((time.perf_counter() - started) * 1e3, False)
                return _json({"error": "injected failure before the work"}, 503,
                             started=started)
            data, status = await work(request)
            ok = status < 500 and failure != "after"
            self.stats.record((time.perf_counter() - started) * 1e3, ok)
            if failure == "after":
                return _json({"error": "injected failure after the work"}, 500,
                             started=started)
            return _json(data, status, started=started)
        return handler


def _product_routes(svc: _Service) -> list[Route]:
    async def get(request: Request) -> tuple[dict[str, Any], int]:
        found = domain.get_product(svc.conn, request.path_params["sku"])
        return (found, 200) if found is not None else ({"error": "not found"}, 404)
    return [Route("/products/{sku}", svc.endpoint(get))]


def _inventory_routes(svc: _Service) -> list[Route]:
    async def reserve(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        status = svc.write(domain.reserve, str(b["order_id"]), str(b["sku"]), int(b["qty"]))
        return {"status": status}, 200

    async def release(request: Request) -> tuple[dict[str, Any], int]:
        return {"status": svc.write(domain.release, request.path_params["order_id"])}, 200
    return [Route("/reservations", svc.endpoint(reserve), methods=["POST"]),
            Route("/reservations/{order_id}/release", svc.endpoint(release), methods=["POST"])]


def _payment_routes(svc: _Service) -> list[Route]:
    async def charge(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        return {"status": svc.write(domain.charge, str(b["order_id"]),
                                    int(b["amount_cents"]))}, 200

    async def refund(request: Request) -> tuple[dict[str, Any], int]:
        return {"status": svc.write(domain.refund, request.path_params["order_id"])}, 200
    return [Route("/charges", svc.endpoint(charge), methods=["POST"]),
            Route("/charges/{order_id}/refund", svc.endpoint(refund), methods=["POST"])]


def _notification_routes(svc: _Service, idempotent: bool) -> list[Route]:
    async def event(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        sent = svc.write(domain.notify, str(b["event_id"]), str(b["order_id"]),
                         idempotent=idempotent)
        return {"sent": sent}, 200
    return [Route("/events", svc.endpoint(event), methods=["POST"])]


class _OrderFlow:
    """The order service's orchestration (see the module docstring for the variants)."""

    def __init__(self, svc: _Service, consistency: str, callers: dict[str, Caller]) -> None:
        self.svc = svc
        self.consistency = consistency
        self.callers = callers
        self.outcomes: dict[str, int] = {}
        self.traces = _Traces()

    def _count(self, key: str) -> None:
        self.outcomes[key] = self.outcomes.get(key, 0) + 1

    async def place(self, order_id: str, sku: str, qty: int) -> tuple[dict[str, Any], int]:
        faults = self.svc.faults
        try:
            product = await self.callers["product"].call("GET", f"/products/{sku}")
        except DependencyError as exc:
            return self._failed(str(exc), 503)
        if product["http_status"] != 200:
            return self._failed(f"unknown sku {sku!r}", 409)
        amount = int(product["price_cents"]) * qty
        if self.consistency == "seed":
            return await self._seed(order_id, sku, qty, amount, faults)
        return await self._saga(order_id, sku, qty, amount, faults)

    def _failed(self, reason: str, status: int) -> tuple[dict[str, Any], int]:
        self._count("failed")
        return {"status": "failed", "reason": reason}, status

    async def _seed(self, order_id: str, sku: str, qty: int, amount: int, faults: Faults
                    ) -> tuple[dict[str, Any], int]:
        paid = reserved = False
        reason = ""
        try:
            pay = await self.callers["payment"].call(
                "POST", "/charges", {"order_id": order_id, "amount_cents": amount})
            paid = pay["status"] == "charged"
            faults.crash_point("after_charge")
            inv = await self.callers["inventory"].call(
                "POST", "/reservations", {"order_id": order_id, "sku": sku, "qty": qty})
            reserved = inv["status"] == "reserved"
            faults.crash_point("after_reserve")
        except DependencyError as exc:
            reason = str(exc)
        status = "confirmed" if paid and reserved else "failed"
        self.svc.write(domain.create_order, order_id, sku, qty, amount, status)
        if status != "confirmed":
            return self._failed(reason or "payment or stock refused", 503 if reason else 409)
        faults.crash_point("after_commit")
        await self._post_event(order_id)
        self._count("confirmed")
        return {"status": "confirmed", "order_id": order_id, "amount_cents": amount}, 201

    async def _post_event(self, order_id: str) -> None:
        try:
            await self.callers["notification"].call(
                "POST", "/events", {"event_id": f"evt-{order_id}", "order_id": order_id})
        except DependencyError:
            self._count("event_post_failed")

    async def compensate(self, order_id: str) -> bool:
        """Release and refund ``order_id`` (idempotent); True when both were done."""
        try:
            await self.callers["inventory"].call("POST", f"/reservations/{order_id}/release")
            await self.callers["payment"].call("POST", f"/charges/{order_id}/refund")
        except DependencyError:
            self.svc.write(domain.set_order_status, order_id, "compensating")
            self._count("compensation_pending")
            return False
        self.svc.write(domain.set_order_status, order_id, "failed")
        self._count("compensated")
        return True

    async def _saga(self, order_id: str, sku: str, qty: int, amount: int, faults: Faults
                    ) -> tuple[dict[str, Any], int]:
        existing = domain.get_order(self.svc.conn, order_id)
        if existing is not None and existing["status"] != "pending":
            return {"status": existing["status"], "order_id": order_id}, (
                201 if existing["status"] == "confirmed" else 409)
        self.svc.write(domain.create_order, order_id, sku, qty, amount, "pending")
        reason = ""
        try:
            inv = await self.callers["inventory"].call(
                "POST", "/reservations", {"order_id": order_id, "sku": sku, "qty": qty})
            faults.crash_point("after_reserve")
            if inv["status"] != "reserved":
                reason = f"stock {inv['status']}"
            else:
                pay = await self.callers["payment"].call(
                    "POST", "/charges", {"order_id": order_id, "amount_cents": amount})
                faults.crash_point("after_charge")
                if pay["status"] != "charged":
                    reason = f"payment {pay['status']}"
        except DependencyError as exc:
            reason = str(exc)
        if reason:
            await self.compensate(order_id)
            return self._failed(reason, 503)

        def confirm(conn: sqlite3.Connection) -> None:
            domain.set_order_status(conn, order_id, "confirmed")
            if self.consistency == "outbox":
                domain.add_outbox(conn, f"evt-{order_id}", order_id)
        self.svc.write(confirm)
        faults.crash_point("after_commit")
        if self.consistency == "saga":
            await self._post_event(order_id)
        self._count("confirmed")
        return {"status": "confirmed", "order_id": order_id, "amount_cents": amount}, 201

    async def recover(self) -> dict[str, int]:
        """At restart: compensate every order a crash left ``pending`` or ``compensating``
        (the saga variants; the seed has no recovery)."""
        if self.consistency == "seed":
            return {"recovered": 0, "pending": 0}
        stuck = domain.orders_in(self.svc.conn, "pending", "compensating")
        done = 0
        for order in stuck:
            done += await self.compensate(str(order["order_id"]))
        return {"recovered": done, "pending": len(stuck) - done}


def _order_routes(svc: _Service, flow: _OrderFlow) -> list[Route]:
    async def place(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        trace = Trace()
        token = CURRENT_TRACE.set(trace)
        try:
            return await flow.place(str(b["order_id"]), str(b["sku"]), int(b.get("qty", 1)))
        finally:
            CURRENT_TRACE.reset(token)
            flow.traces.keep(str(b["order_id"]), trace.spans)

    place_handler = svc.endpoint(place)

    async def place_or_crash(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await place_handler(request)
        except Crash as exc:
            flow._count("crashed")
            svc.stats.record((time.perf_counter() - started) * 1e3, False)
            return _json({"status": "crashed", "step": str(exc)}, 500, started=started)

    async def get_order(request: Request) -> Response:
        started = time.perf_counter()
        found = domain.get_order(svc.conn, request.path_params["order_id"])
        return _json(found or {"error": "not found"}, 200 if found else 404, started=started)

    async def outbox(_: Request) -> Response:
        return JSONResponse({"events": domain.outbox_pending(svc.conn)})

    async def published(request: Request) -> Response:
        b = await request.json()
        svc.write(domain.mark_published, [str(e) for e in b["event_ids"]])
        return JSONResponse({"status": "ok"})

    async def recover(_: Request) -> Response:
        return JSONResponse(await flow.recover())

    return [Route("/orders", place_or_crash, methods=["POST"]),
            Route("/orders/{order_id}", get_order),
            Route("/outbox", outbox), Route("/outbox/published", published, methods=["POST"]),
            Route("/admin/recover", recover, methods=["POST"]), flow.traces.route()]


def service_app(name: str, db: str | Path, *, faults: object = None, seed: int = 0,
                consistency: str = "saga", deps: dict[str, str] | None = None,
                policy: Policy | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """One microservice's app. ``deps`` maps dependency names to base URLs (order service);
    ``transport`` routes its calls in-process instead of over TCP."""
    svc = _Service(name, Path(db), parse_faults(faults), seed)
    extra: Callable[[], dict[str, Any]] = dict
    if name == "product":
        routes = _product_routes(svc)
    elif name == "inventory":
        routes = _inventory_routes(svc)
    elif name == "payment":
        routes = _payment_routes(svc)
    elif name == "notification":
        routes = _notification_routes(svc, idempotent=consistency == "outbox")
    else:
        client = httpx.AsyncClient(transport=transport, timeout=None,
                                   limits=httpx.Limits(max_connections=200,
                                                       max_keepalive_connections=50))
        pol = policy or Policy()
        callers = {d: Caller(d, client, url, pol) for d, url in (deps or {}).items()}
        flow = _OrderFlow(svc, consistency, callers)
        routes = _order_routes(svc, flow)

        def extra() -> dict[str, Any]:
            return {"callers": {d: c.counters() for d, c in callers.items()},
                    "outcomes": dict(flow.outcomes), "consistency": consistency}
    routes += _admin_routes(svc.stats, svc.set_faults, extra)
    app = Starlette(routes=routes)
    app.state.service = svc
    return app
