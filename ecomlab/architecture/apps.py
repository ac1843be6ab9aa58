"""The monolith's ASGI app (Starlette); the microservices' apps are in
:mod:`ecomlab.architecture.services` (re-exported here).

Every app serves the endpoints of :mod:`ecomlab.architecture.endpoints` beside its own, and
``GET /traces/{trace_id}`` (:mod:`ecomlab.architecture.tracing`).

**The monolith** (:func:`monolith_app`): one process, one SQLite file, ``POST /orders`` runs
product lookup, payment, inventory, the order row and the notification in **one** transaction
(any failure rolls all of it back). Its handlers run on one shared pool of ``workers`` threads
(an ``anyio`` capacity limiter), as a thread-per-request monolith does; a slow module holds a
worker for its whole delay. (The slow delay is spent before the transaction's writes: SQLite
locks the whole file, a server database would lock only rows.) With ``full`` resilience the pool
is split into bulkheads (half for orders, half for the rest) and a full bulkhead refuses at once.
Replicas of the monolith share its database file (WAL; ``BEGIN IMMEDIATE`` serializes writers).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ecomlab.architecture import domain
from ecomlab.architecture.choices import CONSISTENCY
from ecomlab.architecture.endpoints import ServiceStats, admin_routes, json_response
from ecomlab.architecture.faults import Crash, Faults, FaultSpec, InjectedError, parse_faults
from ecomlab.architecture.resilience import DependencyError, Policy
from ecomlab.architecture.services import service_app
from ecomlab.architecture.tracing import ACTIVE, Tracing

__all__ = ["CONSISTENCY", "ServiceStats", "monolith_app", "service_app"]


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    """A span for one module call when this order is traced."""
    tracing = ACTIVE.get()
    if tracing is None:
        yield
        return
    with tracing.span(name):
        yield


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
        self.tracing = Tracing("monolith")
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
        for name in ("product", "payment", "inventory", "notification"):
            self.module(name)  # faults first: a slow module holds this worker, not the lock
        fault = self.faults["order"]
        with _step("BEGIN IMMEDIATE"):
            conn.execute("BEGIN IMMEDIATE")
        try:
            with _step("product.get_product"):
                product = domain.get_product(conn, sku)
            if product is None:
                conn.execute("ROLLBACK")
                return {"status": "failed", "reason": f"unknown sku {sku!r}"}
            amount = int(product["price_cents"]) * qty
            with _step("payment.charge"):
                domain.charge(conn, order_id, amount)
            fault.crash_point("after_charge")
            with _step("inventory.reserve"):
                reserved = domain.reserve(conn, order_id, sku, qty)
            if reserved != "reserved":
                conn.execute("ROLLBACK")
                return {"status": "failed", "reason": "insufficient stock"}
            fault.crash_point("after_reserve")
            with _step("order.create_order"):
                domain.create_order(conn, order_id, sku, qty, amount, "confirmed")
            with _step("notification.notify"):
                domain.notify(conn, f"evt-{order_id}", order_id, idempotent=True)
            with _step("COMMIT"):
                conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return {"status": "confirmed", "order_id": order_id, "amount_cents": amount}


def monolith_app(db: str | Path, *, faults: object = None, seed: int = 0, workers: int = 8,
                 policy: Policy | None = None, tracing: bool = False) -> Starlette:
    """The monolith: one app, one database file, one shared worker pool of ``workers``;
    ``tracing`` sets the tracer up at once (else on the first traced request)."""
    shop = _Monolith(Path(db), parse_faults(faults), seed, workers, policy or Policy())
    if tracing:
        shop.tracing.setup()
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
            return json_response({"error": str(exc) or "timeout"}, 503, started=started)
        stats.record((time.perf_counter() - started) * 1e3, found is not None)
        if found is None:
            return json_response({"error": "not found"}, 404, started=started)
        return json_response(found, started=started)

    async def orders(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.json()
        try:
            with shop.tracing.server_span("monolith POST /orders", request.headers):
                out = await in_pool(shop.place_order, str(body["order_id"]), str(body["sku"]),
                                    int(body.get("qty", 1)), bulkhead=shop.order_pool,
                                    fail_fast=True)
        except (InjectedError, Crash, DependencyError, TimeoutError, sqlite3.Error) as exc:
            stats.record((time.perf_counter() - started) * 1e3, False)
            return json_response({"status": "failed", "reason": str(exc) or "timeout"}, 503,
                         started=started)
        ok = out["status"] == "confirmed"
        stats.record((time.perf_counter() - started) * 1e3, ok)
        return json_response(out, 201 if ok else 409, started=started)

    def describe() -> dict[str, Any]:
        return {"module_calls": dict(shop.module_calls), "workers": workers}

    routes = [Route("/products/{sku}", product), Route("/orders", orders, methods=["POST"]),
              shop.tracing.route(), *admin_routes(stats, shop.set_faults, describe)]
    return Starlette(routes=routes)
