"""Order processing measured live: real threads, a real database, a real broker, time scaled down.

Each step's latency (drawn from the same seed as the simulation) is a real ``time.sleep`` of
``latency * time_scale`` that stands in for the service being called; every database write the
step makes is real (orders, payments and reservations tables in the relational store). In the
asynchronous mode the payment and inventory tasks travel through the broker
(:func:`ecomlab.stores.broker.broker_store`: in-process, or RabbitMQ by ``ECOMLAB_AMQP_URL``) to
worker pools, and a join publishes the payment-completed event to the handler's queue.

Times are reported in model milliseconds (wall-clock ms divided by ``time_scale``), so they are
comparable with the simulation; everything that is not a modelled sleep (thread hand-offs,
database commits, broker round trips) is real overhead and is magnified by ``1 / time_scale``.
The raw wall-clock figures are reported too. Label: ``measured``.

The default time scale is 0.05, not 0.01: a commit of a few wall-clock ms (DuckDB under 16
threads on a busy two-core machine) becomes a few hundred model ms at 0.01 and swamps the 150 ms
the asynchronous customer waits for. Each run also reports the simulation of the same draws, so
the overhead can be read off directly.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from ecomlab import budget, validate
from ecomlab.errors import EcomlabError
from ecomlab.measure import LatencySummary, Result
from ecomlab.processing.pipeline import Draws, Pipeline, Step, draw, make_pipeline
from ecomlab.processing.simulate import run_fast, summarize_timeline

if TYPE_CHECKING:
    from ecomlab.stores import SqlStore
    from ecomlab.stores.broker import Broker, Delivery

__all__ = ["OrderTables", "run_live"]

#: the longest wall-clock limit of a live run (s): one day
MAX_TIMEOUT_S = 86_400.0
MAX_LIVE_ORDERS = 20_000


@dataclass
class OrderTables:
    """The orders table a live run writes (its name carries a per-run suffix)."""

    orders: sa.Table

    @classmethod
    def create(cls, store: SqlStore) -> OrderTables:
        """Create a fresh ``orders_*`` table (id, status)."""
        md = sa.MetaData()
        orders = sa.Table(f"orders_{secrets.token_hex(3)}", md,
                          sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                          sa.Column("status", sa.String(16), nullable=False))
        md.create_all(store.engine)
        return cls(orders)

    def statuses(self, store: SqlStore) -> dict[int, str]:
        """Each written order's status."""
        q = sa.select(self.orders.c.id, self.orders.c.status)
        with store.engine.connect() as conn:
            return {int(i): str(s) for i, s in conn.execute(q)}

    def status_counts(self, store: SqlStore) -> dict[str, int]:
        """Orders by status (units: orders)."""
        q = sa.select(self.orders.c.status, sa.func.count()).group_by(self.orders.c.status)
        with store.engine.connect() as conn:
            return {str(s): int(c) for s, c in conn.execute(q)}


class _Run:
    """The state shared by the threads of one live run."""

    def __init__(self, pipe: Pipeline, draws: Draws, store: SqlStore, tables: OrderTables,
                 scale: float) -> None:
        self.pipe = pipe
        self.draws = draws
        self.store = store
        self.tables = tables
        self.scale = scale
        n = draws.orders
        self.lat = [a.tolist() for a in draws.latency_s]
        self.failed = [a.tolist() for a in draws.failed]
        self.offset = {id(s): i for i, s in enumerate(pipe.steps)}
        self.t0 = 0.0
        self.response = [np.nan] * n
        self.completion = [np.nan] * n
        self.confirmed = [False] * n
        self.lock = threading.Lock()
        self.joins: dict[int, dict[str, bool]] = {}
        self.payments: dict[int, bool] = {}
        self.reservations: dict[int, bool] = {}
        self.finished = 0
        self.errors: list[BaseException] = []

    def now_model_s(self, i: int) -> float:
        """Model seconds since order ``i`` was due to arrive."""
        return (time.perf_counter() - self.t0) / self.scale - float(self.draws.arrivals_s[i])

    def finish(self, i: int, confirmed: bool) -> None:
        with self.lock:
            self.completion[i] = self.now_model_s(i)
            self.confirmed[i] = confirmed
            self.finished += 1
        budget.advance()  # the command line's progress and Ctrl-C report

    def perform(self, step: Step, i: int, status: str = "pending") -> bool:
        """Sleep the step's scaled latency, do its write; True if it did not fail."""
        k = self.offset[id(step)]
        time.sleep(self.lat[k][i] * self.scale)
        ok = not self.failed[k][i]
        if step.writes:
            self.write(step.writes, i, ok, status)
        return ok

    def write(self, what: str, i: int, ok: bool, status: str) -> None:
        if what in ("record_payment", "record_reservation"):
            # the payment provider's and the inventory service's own ledgers (modelled
            # services outside our database); idempotent, so a redelivery changes nothing
            ledger = self.payments if what == "record_payment" else self.reservations
            with self.lock:
                ledger.setdefault(i, ok)
            return
        if not ok:
            return  # the write itself failed: nothing reached the database
        t = self.tables
        with self.store.engine.begin() as conn:
            if what == "insert_order":
                conn.execute(t.orders.insert().values(id=i, status=status))
            elif what in ("confirm_order", "cancel_order"):
                new = "confirmed" if what == "confirm_order" else "cancelled"
                conn.execute(t.orders.update().where(t.orders.c.id == i)
                             .where(t.orders.c.status == "pending").values(status=new))

    def mark_failed(self, i: int) -> None:
        t = self.tables
        with self.store.engine.begin() as conn:
            conn.execute(t.orders.update().where(t.orders.c.id == i).values(status="failed"))


def _sync_request(run: _Run, i: int) -> None:
    ok = True
    for step in run.pipe.foreground:
        if not run.perform(step, i, status="confirmed") and step.essential:
            ok = False
            break
    run.response[i] = run.now_model_s(i)
    if not ok:
        run.mark_failed(i)  # the error path: an order written before the failure is voided
    run.finish(i, ok)


def _async_request(run: _Run, i: int, broker: Broker, queues: dict[str, str]) -> None:
    ok = True
    for step in run.pipe.foreground:
        if not run.perform(step, i) and step.essential:
            ok = False
            break
    run.response[i] = run.now_model_s(i)
    if not ok:
        run.finish(i, False)
        return
    with run.lock:
        run.joins[i] = {}
    for pool, _ in run.pipe.background:
        broker.publish(queues[pool], {"order_id": i}, message_id=f"{pool}-{i}")


def _background_handler(run: _Run, pool: str, step: Step, broker: Broker,
                        queues: dict[str, str]) -> Any:
    def handle(delivery: Delivery) -> None:
        i = int(delivery.message.body["order_id"])
        ok = run.perform(step, i)
        with run.lock:
            results = run.joins.get(i)
            if results is None or pool in results:
                return  # a duplicate delivery: already counted
            results[pool] = ok
            joined = len(results) == len(run.pipe.background)
        if joined:
            broker.publish(queues["handler"], {"order_id": i, "ok": all(results.values())},
                           message_id=f"handler-{i}")

    return handle


def _completion_handler(run: _Run) -> Any:
    def handle(delivery: Delivery) -> None:
        i = int(delivery.message.body["order_id"])
        with run.lock:
            if run.joins.pop(i, None) is None:
                return  # duplicate: this order is already final
        confirmed = bool(delivery.message.body["ok"])
        steps = run.pipe.on_success if confirmed else run.pipe.on_failure
        for step in steps:
            if not run.perform(step, i) and step.essential:
                confirmed = False
                run.mark_failed(i)  # the confirmation failed: the order is void, not pending
                break
        run.finish(i, confirmed)

    return handle


def run_live(mode: str = "async", *, orders: int = 200, arrival_rate: float = 5.0,
             seed: int = 42, time_scale: float = 0.05, distribution: str = "exponential",
             failure_probability: float = 0.0, pools: dict[str, int] | None = None,
             store: SqlStore | None = None, broker: Broker | None = None,
             timeout_s: float = 120.0) -> Result:
    """Process ``orders`` orders live with real threads, writes and (async) a broker.

    Args:
        mode: ``sync`` or ``async``.
        orders: orders to process (1 .. 20,000).
        arrival_rate: Poisson arrivals in model time (orders/s).
        seed: the seed of arrivals, latencies and failures (the simulation's draws).
        time_scale: wall seconds per model second, in (0, 1] (0.01: a 800 ms payment sleeps 8 ms).
        distribution, failure_probability, pools: as in :func:`simulate_processing`.
        store: the relational store (a fresh ``sql_store()`` when omitted, then disposed).
        broker: the broker for background tasks (``broker_store()`` when omitted, then disposed).
        timeout_s: wall-clock limit for the whole run (s).

    Returns:
        A ``measured`` Result: ``response_ms`` and ``completion_ms`` (model ms), ``success_rate``,
        database status counts, ``wall_response_ms`` and the simulation of the same draws.
    """
    n = validate.integer("orders", orders, minimum=1, maximum=MAX_LIVE_ORDERS)
    scale = validate.number("time_scale", time_scale, minimum=0.0, maximum=1.0,
                            min_inclusive=False)
    limit = validate.number("timeout_s", timeout_s, minimum=0.0, min_inclusive=False,
                            maximum=MAX_TIMEOUT_S, why="a live run longer than a day is a "
                                                       "mistake; deadlines past it overflow")
    pipe = make_pipeline(mode, distribution=distribution,
                         failure_probability=failure_probability, pools=pools)
    draws = draw(pipe, n, arrival_rate, seed)
    from ecomlab.stores import borrowed, broker_store, sql_store

    threads = sum(pipe.pools.values()) if pipe.mode == "async" else pipe.pools["web"]
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(borrowed(
            store, lambda: sql_store(pool_size=threads + 2, max_overflow=8)))
        if pipe.mode == "async":
            broker = stack.enter_context(borrowed(broker, broker_store))
        tables = OrderTables.create(store)
        _warm_pool(store, pipe.pools["web"] + (pipe.pools["handler"] if pipe.mode == "async"
                                               else 0))
        run = _Run(pipe, draws, store, tables, scale)
        wall = _drive(run, broker, limit)
        metrics = _metrics(run, wall)
        backends: dict[str, Any] = {"sql": store.describe()}
        if broker is not None:
            backends["broker"] = broker.describe()
    params = {"mode": mode, "orders": n, "arrival_rate": float(arrival_rate),
              "time_scale": scale, "distribution": distribution,
              "failure_probability": float(failure_probability), "pools": dict(pipe.pools)}
    return Result(experiment="processing", label="measured", seed=seed, params=params,
                  metrics=metrics, backends=backends)


def _warm_pool(store: SqlStore, connections: int) -> None:
    """Open the connections the threads will use before the clock starts."""
    held = []
    try:
        for _ in range(connections):
            conn = store.engine.connect()
            held.append(conn)
            conn.execute(sa.text("SELECT 1"))
            conn.rollback()
    finally:
        for conn in held:
            conn.close()


def _drive(run: _Run, broker: Broker | None, limit: float) -> float:
    """Submit orders on schedule and wait until every one is final; returns wall seconds."""
    from ecomlab.stores.broker import WorkerPool

    pipe = run.pipe
    worker_pools: list[WorkerPool] = []
    queues: dict[str, str] = {}
    tag = secrets.token_hex(4)
    if pipe.mode == "async":
        assert broker is not None
        for pool in [p for p, _ in pipe.background] + ["handler"]:
            queues[pool] = f"ecomlab.processing.{tag}.{pool}"
            broker.declare_queue(queues[pool], max_retries=3, retry_delay_ms=0.0)
        for pool, step in pipe.background:
            worker_pools.append(WorkerPool(
                broker, queues[pool], _background_handler(run, pool, step, broker, queues),
                workers=pipe.pools[pool], poll_s=0.01))
        worker_pools.append(WorkerPool(broker, queues["handler"], _completion_handler(run),
                                       workers=pipe.pools["handler"], poll_s=0.01))
    for wp in worker_pools:
        wp.start()
    web = ThreadPoolExecutor(max_workers=pipe.pools["web"], thread_name_prefix="ecomlab-web")
    futures = []
    arrivals = run.draws.arrivals_s.tolist()
    try:
        run.t0 = time.perf_counter()
        deadline = run.t0 + limit
        for i, due in enumerate(arrivals):
            delay = run.t0 + due * run.scale - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if pipe.mode == "sync":
                futures.append(web.submit(_sync_request, run, i))
            else:
                assert broker is not None
                futures.append(web.submit(_async_request, run, i, broker, queues))
        for f in futures:
            f.result(timeout=max(deadline - time.perf_counter(), 0.001))
        while run.finished < run.draws.orders and time.perf_counter() < deadline:
            for wp in worker_pools:
                if wp.errors:
                    raise wp.errors[0]
            time.sleep(0.002)
        wall = time.perf_counter() - run.t0
    finally:
        web.shutdown(wait=True, cancel_futures=True)
        for wp in worker_pools:
            wp.stop()
    if run.finished < run.draws.orders:
        raise EcomlabError(
            f"live run did not finish: {run.draws.orders - run.finished} of "
            f"{run.draws.orders} orders still open after {limit:g} s (raise timeout_s, lower "
            f"orders or arrival_rate)")
    return wall


def _metrics(run: _Run, wall_s: float) -> dict[str, Any]:
    resp = np.asarray(run.response, dtype=float)
    comp = np.asarray(run.completion, dtype=float)
    confirmed = int(np.sum(run.confirmed))
    n = run.draws.orders
    counts = run.tables.status_counts(run.store)
    statuses = run.tables.statuses(run.store)
    sim = summarize_timeline(run_fast(run.pipe, run.draws))
    return {
        "orders": n,
        "response_ms": LatencySummary.of_ms(resp * 1000.0).as_dict(),
        "completion_ms": LatencySummary.of_ms(comp * 1000.0).as_dict(),
        "success_rate": confirmed / n,
        "confirmed": confirmed,
        "db_status_counts": counts,
        "db_confirmed_matches": counts.get("confirmed", 0) == confirmed,
        "charged_not_confirmed": sum(1 for i, ok in run.payments.items()
                                     if ok and statuses.get(i) != "confirmed"),
        "wall_response_ms": LatencySummary.of_ms(resp * 1000.0 * run.scale).as_dict(),
        "wall_s": wall_s,
        "simulated_same_draws": {
            "response_ms": {k: sim["response_ms"][k] for k in ("p50", "p95", "p99")},
            "completion_ms": {k: sim["completion_ms"][k] for k in ("p50", "p99")},
            "success_rate": sim["success_rate"],
            "label": "simulated",
        },
    }
