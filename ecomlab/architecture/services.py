"""The microservices' ASGI apps (Starlette): ``product``, ``inventory``, ``payment``,
``notification`` and ``order``, each with its own SQLite file.

Every domain endpoint applies the service's slow and flaky faults, counts its requests and, when
the request carries a W3C ``traceparent``, runs inside an OpenTelemetry ``SERVER`` span (see
:mod:`ecomlab.architecture.tracing`). The order service orchestrates over HTTP/JSON
(:mod:`ecomlab.architecture.orderflow`); each dependency may have several replicas, which its
:class:`~ecomlab.architecture.resilience.Caller` balances round robin. Replicas of one service
share its database file (WAL; ``BEGIN IMMEDIATE`` serializes their writers).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecomlab.architecture import domain
from ecomlab.architecture.endpoints import ServiceStats, admin_routes, json_response
from ecomlab.architecture.faults import Faults, FaultSpec, parse_faults
from ecomlab.architecture.orderflow import OrderFlow, order_routes
from ecomlab.architecture.resilience import Caller, Policy
from ecomlab.architecture.tracing import ACTIVE, Tracing

__all__ = ["Service", "service_app"]

Handler = Callable[[Request], Awaitable[Response]]


class Service:
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
        self.tracing = Tracing(name)

    def set_faults(self, specs: tuple[FaultSpec, ...]) -> None:
        self.faults = Faults.of(specs, self.name, self.seed + 1000)

    def write(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(conn, ...)`` in one committed transaction (no await inside)."""
        tracing = ACTIVE.get()
        span = tracing.span(f"{self.name} {func.__name__} (local)") if tracing is not None \
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
            with self.tracing.server_span(f"{self.name} {request.method} {request.url.path}",
                                          request.headers):
                return await traced(request)

        async def traced(request: Request) -> Response:
            started = time.perf_counter()
            await self.faults.wait()
            failure = self.faults.draw_failure()
            if failure == "before":
                self.stats.record((time.perf_counter() - started) * 1e3, False)
                return json_response({"error": "injected failure before the work"}, 503,
                             started=started)
            data, status = await work(request)
            ok = status < 500 and failure != "after"
            self.stats.record((time.perf_counter() - started) * 1e3, ok)
            if failure == "after":
                return json_response({"error": "injected failure after the work"}, 500,
                             started=started)
            return json_response(data, status, started=started)
        return handler


def _product_routes(svc: Service) -> list[Route]:
    async def get(request: Request) -> tuple[dict[str, Any], int]:
        found = domain.get_product(svc.conn, request.path_params["sku"])
        return (found, 200) if found is not None else ({"error": "not found"}, 404)
    return [Route("/products/{sku}", svc.endpoint(get))]


def _inventory_routes(svc: Service) -> list[Route]:
    async def reserve(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        status = svc.write(domain.reserve, str(b["order_id"]), str(b["sku"]), int(b["qty"]))
        return {"status": status}, 200

    async def release(request: Request) -> tuple[dict[str, Any], int]:
        return {"status": svc.write(domain.release, request.path_params["order_id"])}, 200
    return [Route("/reservations", svc.endpoint(reserve), methods=["POST"]),
            Route("/reservations/{order_id}/release", svc.endpoint(release), methods=["POST"])]


def _payment_routes(svc: Service) -> list[Route]:
    async def charge(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        return {"status": svc.write(domain.charge, str(b["order_id"]),
                                    int(b["amount_cents"]))}, 200

    async def refund(request: Request) -> tuple[dict[str, Any], int]:
        return {"status": svc.write(domain.refund, request.path_params["order_id"])}, 200
    return [Route("/charges", svc.endpoint(charge), methods=["POST"]),
            Route("/charges/{order_id}/refund", svc.endpoint(refund), methods=["POST"])]


def _notification_routes(svc: Service, idempotent: bool) -> list[Route]:
    async def event(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        sent = svc.write(domain.notify, str(b["event_id"]), str(b["order_id"]),
                         idempotent=idempotent)
        return {"sent": sent}, 200
    return [Route("/events", svc.endpoint(event), methods=["POST"])]


def service_app(name: str, db: str | Path, *, faults: object = None, seed: int = 0,
                consistency: str = "saga", deps: dict[str, Any] | None = None,
                policy: Policy | None = None,
                transport: httpx.AsyncBaseTransport | None = None,
                tracing: bool = False) -> Starlette:
    """One microservice's app. ``deps`` maps dependency names to a base URL or a list of
    replicas' base URLs (order service); ``transport`` routes its calls in-process instead of
    over TCP; ``tracing`` sets the tracer up at once (else on the first traced request)."""
    svc = Service(name, Path(db), parse_faults(faults), seed)
    if tracing:
        svc.tracing.setup()
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
        callers = {d: Caller(d, client, urls, pol) for d, urls in (deps or {}).items()}
        flow = OrderFlow(svc, consistency, callers)
        routes = order_routes(svc, flow)

        def extra() -> dict[str, Any]:
            return {"callers": {d: c.counters() for d, c in callers.items()},
                    "outcomes": dict(flow.outcomes), "consistency": consistency}

        async def post_deps(request: Request) -> Response:
            """Replace dependencies' replica lists: ``{"deps": {"inventory": [url, ...]}}``."""
            deps_now = dict((await request.json()).get("deps", {}))
            unknown = sorted(set(deps_now) - set(callers))
            if unknown:
                return JSONResponse({"error": f"unknown dependencies {unknown!r}, choose "
                                              f"from {sorted(callers)!r}"}, status_code=400)
            for dep_name, urls in deps_now.items():
                callers[dep_name].set_base_urls(list(urls))
            return JSONResponse({"status": "ok"})
        routes.append(Route("/admin/deps", post_deps, methods=["POST"]))
    routes += [svc.tracing.route(), *admin_routes(svc.stats, svc.set_faults, extra)]
    app = Starlette(routes=routes)
    app.state.service = svc
    return app
