"""The two deployments of one domain, over real processes or in-process ASGI, and the checker.

* :class:`Deployment` — ``style`` (``monolith`` / ``microservices``) and ``transport``
  (``process``: one uvicorn process per service on 127.0.0.1 and an OS-assigned port;
  ``asgi``: the same apps in this process through ``httpx.ASGITransport``, no sockets — used
  for the many seeded fault trials). Each service has its own SQLite file; the monolith one.
  ``replicas`` runs more than one instance of a service (``{"inventory": 2}``; the monolith
  too): the instances share the service's database file, the order service's callers balance
  over them round robin, and the load generator does the same for the entry and catalog.
* :class:`OutboxRelay` — reads the order service's outbox over HTTP, publishes each event
  through the workbook's broker (:func:`ecomlab.stores.broker_store`: in-process, or RabbitMQ
  when ``ECOMLAB_AMQP_URL`` is set) and marks it published; a consumer delivers the events to
  the notification service and acknowledges them. A crash at ``after_publish`` leaves the row
  unmarked, so the next pass publishes it again (at-least-once).
* :func:`count_inconsistent` — reads the databases and counts the inconsistent end states.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil

from ecomlab import runs
from ecomlab.architecture import domain
from ecomlab.architecture.apps import monolith_app, service_app
from ecomlab.architecture.endpoints import merge_stats
from ecomlab.architecture.faults import FaultSpec
from ecomlab.architecture.processes import ProcessManager
from ecomlab.architecture.resilience import Policy

__all__ = ["INCONSISTENCIES", "MICROSERVICES", "Deployment", "OutboxRelay",
           "count_inconsistent"]

MICROSERVICES: tuple[str, ...] = ("product", "inventory", "payment", "notification", "order")
INCONSISTENCIES: tuple[str, ...] = ("charged_without_order", "reserved_without_order",
                                    "confirmed_without_payment", "events_lost",
                                    "events_duplicated")


class _Router(httpx.AsyncBaseTransport):
    """Routes ``http://<service>.local`` to that service's ASGI app; a ``down`` service
    refuses. Each request runs as its own task, so a caller that gives up (timeout) does not
    cancel the callee's work, as over a real network."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.in_flight: set[asyncio.Future[httpx.Response]] = set()

    def add(self, name: str, app: Any) -> None:  # name: one instance
        self.apps[f"{name}.local"] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"connection refused by {host}", request=request)
        await request.aread()
        task = asyncio.ensure_future(self.apps[host].handle_async_request(request))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        response = await asyncio.shield(task)
        await response.aread()
        return response


class Deployment:
    """One deployment: start it, reach its services, fault it, read its databases, stop it."""

    def __init__(self, style: str, *, transport: str = "process", consistency: str = "saga",
                 faults: tuple[FaultSpec, ...] = (), policy: Policy | None = None,
                 seed: int = 0, workers: int = 8, db_dir: str | Path | None = None,
                 replicas: Mapping[str, int] | None = None, tracing: bool = False) -> None:
        self.style = style
        self.tracing = tracing
        self.transport = transport
        self.consistency = consistency
        self.faults = faults
        self.policy = policy or Policy()
        self.seed = seed
        self.workers = workers
        # a folder of our own is in the run's manifest, for `ecomlab clean` after a kill
        self._tmp = runs.TempDir("ecomlab-arch-") if db_dir is None else None
        self.db_dir = Path(db_dir) if db_dir is not None else self._tmp.path  # type: ignore[union-attr]
        self.urls: dict[str, str] = {}
        self.manager: ProcessManager | None = None
        self.router: _Router | None = None
        self.client: httpx.AsyncClient | None = None
        names = ("monolith",) if style == "monolith" else MICROSERVICES
        self.names = names
        self.db_paths = {n: self.db_dir / f"{n}.sqlite" for n in names}
        reps = dict(replicas or {})
        #: service -> its instances' names ("inventory", "inventory-2", ...)
        self.instances = {n: [n, *(f"{n}-{k}" for k in range(2, int(reps.get(n, 1)) + 1))]
                          for n in names}
        self.replica_urls: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ lifecycle

    def _config(self, name: str, k: int = 0) -> dict[str, Any]:
        """The config of replica ``k`` of service ``name`` (its own fault seed)."""
        cfg: dict[str, Any] = {"service": name, "db": str(self.db_paths[name]),
                               "faults": [f.text() for f in self.faults if f.kind != "down"],
                               "seed": self.seed + 101 * self.names.index(name) + 7919 * k,
                               "policy": self.policy.as_dict(), "workers": self.workers,
                               "consistency": self.consistency, "tracing": self.tracing}
        if name == "order":
            cfg["deps"] = {d: self.replica_urls[d] for d in MICROSERVICES if d != "order"}
        return cfg

    def _asgi_app(self, name: str, k: int) -> Any:
        cfg = self._config(name, k)
        if name == "monolith":
            return monolith_app(cfg["db"], faults=cfg["faults"], seed=cfg["seed"],
                                workers=self.workers, policy=self.policy)
        return service_app(name, cfg["db"], faults=cfg["faults"], seed=cfg["seed"],
                           consistency=self.consistency, deps=cfg.get("deps"),
                           policy=self.policy, transport=self.router)

    def _start_asgi(self, limits: httpx.Limits) -> None:
        self.router = _Router()
        for name in self.names:
            self.replica_urls[name] = [f"http://{i}.local" for i in self.instances[name]]
            self.urls[name] = self.replica_urls[name][0]
            for k, instance in enumerate(self.instances[name]):
                self.router.add(instance, self._asgi_app(name, k))
        self.client = httpx.AsyncClient(transport=self.router, timeout=None, limits=limits)

    async def add_replica(self, name: str) -> str:
        """Start one more instance of ``name`` in the running deployment (sharing its database
        file); the order service's callers are told the new list (``POST /admin/deps``)."""
        assert self.client is not None
        k = len(self.instances[name])
        instance = f"{name}-{k + 1}"
        if self.manager is not None:
            url = self.manager.spawn(instance, self._config(name, k)).url
            self.instances[name].append(instance)
            self.manager.wait_ready(instance)
        else:
            assert self.router is not None
            self.router.add(instance, self._asgi_app(name, k))
            url = f"http://{instance}.local"
            self.instances[name].append(instance)
        self.replica_urls[name].append(url)
        if self.style == "microservices" and name != "order":
            for order_url in self.replica_urls["order"]:
                r = await self.client.post(f"{order_url}/admin/deps", timeout=10.0,
                                           json={"deps": {name: self.replica_urls[name]}})
                r.raise_for_status()
        return instance

    async def reset_stats(self) -> None:
        """Zero every instance's request counts and handler times."""
        assert self.client is not None
        for name in self.names:
            for url in self.replica_urls[name]:
                await self.client.post(f"{url}/admin/reset-stats", timeout=10.0)

    def _start_processes(self, limits: httpx.Limits) -> None:
        manager = self.manager = ProcessManager()
        try:
            for name in self.names:  # ports are known at spawn: start side by side
                first, *more = self.instances[name]
                self.replica_urls[name] = [manager.spawn(first, self._config(name)).url]
                if more:  # the first replica creates the shared database file alone
                    manager.wait_ready(first)
                for k, instance in enumerate(more, start=1):
                    self.replica_urls[name].append(
                        manager.spawn(instance, self._config(name, k)).url)
                self.urls[name] = self.replica_urls[name][0]
            for instance in self.all_instances():
                manager.wait_ready(instance)
        except BaseException:
            manager.stop_all()
            raise
        self.client = httpx.AsyncClient(timeout=None, limits=limits)

    def start(self) -> Deployment:
        """Start every service (dependencies first) and open the client."""
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
        if self.transport == "asgi":
            self._start_asgi(limits)
        else:
            self._start_processes(limits)
        return self

    def all_instances(self) -> list[str]:
        """Every instance of every service, in start order."""
        return [i for n in self.names for i in self.instances[n]]

    def service_of(self, instance: str) -> str:
        return next(n for n, insts in self.instances.items() if instance in insts)

    def apply_down(self) -> None:
        """Take down the services the faults name ``down`` (the monolith: the whole shop)."""
        for f in self.faults:
            if f.kind != "down":
                continue
            target = "monolith" if self.style == "monolith" else f.service
            for instance in self.instances[target]:
                if self.manager is not None:
                    self.manager.kill(instance)
                elif self.router is not None:
                    self.router.down.add(f"{instance}.local")

    async def heal(self) -> None:
        """Lift every fault and bring killed services back (a restart, same database)."""
        for instance in self.all_instances():
            if self.manager is not None and self.manager.services[instance].killed:
                self.manager.restart(instance)
            if self.router is not None:
                self.router.down.discard(f"{instance}.local")
        for name in self.names:
            for url in self.replica_urls[name]:
                assert self.client is not None
                await self.client.post(f"{url}/admin/faults", json={"faults": []},
                                       timeout=10.0)

    async def aclose(self) -> None:
        if self.router is not None and self.router.in_flight:
            # callee work whose callers gave up (timeouts): let it finish, as a server would
            pending = list(self.router.in_flight)
            _, late = await asyncio.wait(pending, timeout=30.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.stop()

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop_all()

    def check(self) -> None:
        """Raise :class:`~ecomlab.architecture.processes.ServiceDied` if a process died."""
        if self.manager is not None:
            self.manager.check()

    # ------------------------------------------------------------------ access

    @property
    def entry(self) -> str:
        """The service customers talk to for orders."""
        return "monolith" if self.style == "monolith" else "order"

    @property
    def catalog(self) -> str:
        """The service that serves ``GET /products/{sku}``."""
        return "monolith" if self.style == "monolith" else "product"

    async def get(self, name: str, path: str) -> dict[str, Any]:
        assert self.client is not None
        r = await self.client.get(f"{self.urls[name]}{path}", timeout=10.0)
        data: dict[str, Any] = r.json()
        return data

    async def post(self, name: str, path: str, body: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        assert self.client is not None
        r = await self.client.post(f"{self.urls[name]}{path}", json=body or {}, timeout=10.0)
        data: dict[str, Any] = r.json()
        return data

    async def post_status(self, name: str, path: str, body: dict[str, Any]) -> int:
        assert self.client is not None
        r = await self.client.post(f"{self.urls[name]}{path}", json=body, timeout=10.0)
        return r.status_code

    @property
    def entry_urls(self) -> list[str]:
        """The entry service's replicas (the load generator balances over them)."""
        return self.replica_urls[self.entry]

    @property
    def catalog_urls(self) -> list[str]:
        return self.replica_urls[self.catalog]

    async def stats(self) -> dict[str, dict[str, Any]]:
        """``GET /stats`` per service, its replicas merged (counts summed, histograms
        merged); ``replicas`` holds each instance's requests, errors and p50."""
        assert self.client is not None
        out = {}
        for name in self.names:
            parts: dict[str, dict[str, Any]] = {}
            for instance, url in zip(self.instances[name], self.replica_urls[name],
                                     strict=True):
                with contextlib.suppress(httpx.TransportError):
                    parts[instance] = (await self.client.get(f"{url}/stats",
                                                             timeout=10.0)).json()
            if parts:
                out[name] = merge_stats(parts)
        return out

    def processes(self) -> dict[str, psutil.Process]:
        """The live service processes by instance name (empty for the ASGI transport)."""
        if self.manager is None:
            return {}
        out = {}
        for name, pid in self.manager.pids().items():
            with contextlib.suppress(psutil.Error):
                out[name] = psutil.Process(pid)
        return out

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class OutboxRelay:
    """Publishes the order service's outbox through a broker; delivers to notification."""

    def __init__(self, dep: Deployment, broker: Any, *, crash_rate: float = 0.0,
                 seed: int = 0) -> None:
        self.dep = dep
        self.broker = broker
        self.queue = f"architecture.events.{uuid.uuid4().hex[:8]}"
        broker.declare_queue(self.queue, max_retries=100, retry_delay_ms=5)
        self.crash_rate = crash_rate
        self.rng = random.Random(seed)
        self.crashed: set[str] = set()
        self.published = self.crashes = self.delivered = self.retried = 0

    async def relay_once(self) -> int:
        """One pass: publish pending events; a crash stops the pass before marking."""
        events = (await self.dep.get("order", "/outbox"))["events"]
        done: list[str] = []
        for event in events:
            eid = str(event["event_id"])
            await asyncio.to_thread(self.broker.publish, self.queue,
                                    {"event_id": eid, "order_id": event["order_id"]},
                                    message_id=eid)
            self.published += 1
            if eid not in self.crashed and self.crash_rate and self.rng.random() < \
                    self.crash_rate:
                self.crashed.add(eid)  # the relay dies after publishing, before marking
                self.crashes += 1
                break
            done.append(eid)
        if done:
            await self.dep.post("order", "/outbox/published", {"event_ids": done})
        return len(events)

    async def deliver_once(self) -> int:
        """Deliver what the broker holds to the notification service (ack after success)."""
        n = 0
        consumer = self.broker.consumer(self.queue)
        try:
            while True:
                delivery = await asyncio.to_thread(consumer.get, 0.01)
                if delivery is None:
                    return n
                try:
                    status = await self.dep.post_status("notification", "/events",
                                                        delivery.message.body)
                except httpx.TransportError:
                    status = 0
                if status != 200:
                    delivery.retry(f"notification answered {status or 'nothing'}")
                    self.retried += 1
                    continue
                delivery.ack()
                n += 1
                self.delivered += 1
        finally:
            consumer.close()

    async def drain(self, passes: int = 50) -> None:
        for _ in range(passes):
            pending = await self.relay_once()
            delivered = await self.deliver_once()
            queued = self.broker.stats(self.queue)
            if not pending and not delivered and not (queued.ready or queued.retrying):
                return

    def counters(self) -> dict[str, int]:
        return {"published": self.published, "relay_crashes": self.crashes,
                "delivered": self.delivered, "redelivery_retries": self.retried}

    def dispose(self) -> None:
        self.broker.dispose()


def _rows(path: Path, sql: str) -> list[sqlite3.Row]:
    conn = domain.connect(path)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def count_inconsistent(db_paths: dict[str, Path]) -> dict[str, int]:
    """Count the inconsistent end states by reading every service's database.

    ``charged_without_order``: payments still charged whose order is not confirmed;
    ``reserved_without_order``: stock still reserved without a confirmed order;
    ``confirmed_without_payment``: confirmed orders with no charge; ``events_lost``: confirmed
    orders whose customer was never notified; ``events_duplicated``: orders notified more
    than once.
    """
    def path(module: str) -> Path:
        return db_paths.get(module) or db_paths["monolith"]

    confirmed = {r["order_id"] for r in _rows(path("order"),
                                              "SELECT order_id FROM orders "
                                              "WHERE status = 'confirmed'")}
    charged = {r["order_id"] for r in _rows(path("payment"),
                                            "SELECT order_id FROM payments "
                                            "WHERE status = 'charged'")}
    reserved = {r["order_id"] for r in _rows(path("inventory"),
                                             "SELECT order_id FROM reservations "
                                             "WHERE status = 'reserved'")}
    sent = Counter(r["order_id"] for r in _rows(path("notification"),
                                                "SELECT order_id FROM notifications"))
    return {
        "charged_without_order": len(charged - confirmed),
        "reserved_without_order": len(reserved - confirmed),
        "confirmed_without_payment": len(confirmed - charged),
        "events_lost": sum(1 for o in confirmed if sent[o] == 0),
        "events_duplicated": sum(1 for n in sent.values() if n > 1),
    }
