"""The order service's orchestration, in one of three consistency variants.

* ``seed`` — the seed's design: charge, then reserve, confirm only if both succeeded; no
  compensation, no recovery; the event is posted to the notification service after the commit.
* ``saga`` — the order is written ``pending`` first (the saga's log); reserve, then charge;
  a failure releases the reservation and refunds (both idempotent, both safe when nothing
  happened); a crash leaves the order ``pending`` and ``POST /admin/recover`` (run at restart)
  compensates it. The event is posted after the commit (a crash there loses it).
* ``outbox`` — the saga, and ``OrderConfirmed`` is written to the ``outbox`` table in the same
  transaction as the confirmation; a relay (:class:`ecomlab.architecture.deploy.OutboxRelay`)
  reads ``GET /outbox`` and publishes through the workbook's broker; an idempotent consumer
  delivers to the notification service.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecomlab.architecture import domain
from ecomlab.architecture.endpoints import json_response
from ecomlab.architecture.faults import Crash, Faults
from ecomlab.architecture.resilience import Caller, DependencyError

if TYPE_CHECKING:
    from ecomlab.architecture.services import Service

__all__ = ["OrderFlow", "order_routes"]


class OrderFlow:
    """The order service's orchestration (see the module docstring for the variants)."""

    def __init__(self, svc: Service, consistency: str, callers: dict[str, Caller]) -> None:
        self.svc = svc
        self.consistency = consistency
        self.callers = callers
        self.outcomes: dict[str, int] = {}

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


def order_routes(svc: Service, flow: OrderFlow) -> list[Route]:
    async def place(request: Request) -> tuple[dict[str, Any], int]:
        b = await request.json()
        return await flow.place(str(b["order_id"]), str(b["sku"]), int(b.get("qty", 1)))

    place_handler = svc.endpoint(place)

    async def place_or_crash(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await place_handler(request)
        except Crash as exc:
            flow._count("crashed")
            svc.stats.record((time.perf_counter() - started) * 1e3, False)
            return json_response({"status": "crashed", "step": str(exc)}, 500, started=started)

    async def get_order(request: Request) -> Response:
        started = time.perf_counter()
        found = domain.get_order(svc.conn, request.path_params["order_id"])
        return json_response(found or {"error": "not found"}, 200 if found else 404,
                             started=started)

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
            Route("/admin/recover", recover, methods=["POST"])]
