"""The queued run: request threads validate and publish each order, ``workers`` consumers do
the work through the broker (retries, a dead-letter queue, an optional processed-message
ledger), and the run drains before it counts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ecomlab.errors import BackendUnavailable
from ecomlab.measure import worker_pool
from ecomlab.messaging.arrivals import arrive, latency, reordered_share
from ecomlab.messaging.flows import Ledger, OrderConsumer, OrderRequest
from ecomlab.messaging.params import MessagingParams
from ecomlab.messaging.services import Services
from ecomlab.stores.broker import Broker, InProcessBroker, WorkerPool

__all__ = ["run_queue"]


class _Publisher:
    """The request side: validate (a scaled sleep), publish, and time what the customer waits."""

    def __init__(self, p: MessagingParams, services: Services, broker: Broker,
                 queue: str) -> None:
        self.p, self.services, self.broker, self.queue = p, services, broker, queue
        self.accepted_at: dict[str, float] = {}
        self.response: dict[str, float] = {}
        self.refused: list[str] = []
        self.lock = threading.Lock()

    def duplicated(self, order_no: int) -> bool:
        if self.p.duplicate_rate <= 0:
            return False
        return bool(np.random.default_rng([self.p.seed, 77, order_no]).random()
                    < self.p.duplicate_rate)

    def accept(self, order: OrderRequest, arrived: float) -> None:
        time.sleep(self.services.validate_ms / 1000.0)  # models request validation (scaled)
        with self.lock:
            self.accepted_at[order.order_id] = arrived
        try:
            self.broker.publish(self.queue, order.as_message(), message_id=order.order_id)
            if self.duplicated(order.order_no):  # e.g. a publisher retry after a lost confirm
                self.broker.publish(self.queue, order.as_message(), message_id=order.order_id)
        except BackendUnavailable:
            with self.lock:
                self.refused.append(order.order_id)
                self.accepted_at.pop(order.order_id, None)
        finished = time.perf_counter()
        with self.lock:
            self.response[order.order_id] = (finished - arrived) * 1000.0


def _publish_all(p: MessagingParams, publisher: _Publisher, orders: list[OrderRequest],
                 arrivals: np.ndarray, restart: Callable[[], None] | None,
                 show_progress: bool) -> None:
    with worker_pool(p.web_workers, "ecomlab-web") as web:
        futures = []

        def submit(order: OrderRequest, arrived: float) -> None:
            futures.append(web.submit(publisher.accept, order, arrived))

        arrive(orders, arrivals, submit, restart, show_progress=show_progress)
        for f in futures:
            f.result()


def _drained(consumer: OrderConsumer, broker: Broker, queue: str,
             wanted: set[str]) -> Callable[[], bool]:
    next_check = 0.0

    def drained() -> bool:
        # cheap first: every accepted order done or dead-lettered by our consumer; then ask
        # the broker (at most every 50 ms) that nothing is left to deliver or retry
        nonlocal next_check
        with consumer.lock:
            dead = set(consumer.stats.dead_lettered)
        if not wanted <= (consumer.ledger.orders_done() | dead):
            return False
        now = time.monotonic()
        if now < next_check:
            return False
        next_check = now + 0.05
        stats = broker.stats(queue)
        return stats.ready == 0 and stats.retrying == 0

    return drained


def run_queue(p: MessagingParams, services: Services, orders: list[OrderRequest],
              arrivals: np.ndarray, broker: Broker,
              restart_broker: Callable[[], None] | None, drain_timeout_s: float,
              show_progress: bool, ledger: Ledger | None) -> dict[str, Any]:
    """Publish every order on schedule, let the consumers work, drain, then count."""
    queue = broker.declare_queue(f"ecomlab-orders-{uuid.uuid4().hex[:10]}",
                                 max_retries=p.max_retries, retry_delay_ms=p.retry_delay).name
    publisher = _Publisher(p, services, broker, queue)
    consumer = OrderConsumer(services, idempotent=p.idempotent, timeout_ms=p.timeout_ms,
                             crash_rate=p.crash_rate, seed=p.seed,
                             accepted_at=publisher.accepted_at, ledger=ledger)

    def restart() -> None:
        if isinstance(broker, InProcessBroker):
            broker.restart()
        elif restart_broker is not None:
            restart_broker()

    pool = WorkerPool(broker, queue, consumer, workers=p.workers, poll_s=0.02)
    try:
        pool.start()
        _publish_all(p, publisher, orders, arrivals, restart if p.broker_restart else None,
                     show_progress)
        pool.wait_until(_drained(consumer, broker, queue, set(publisher.accepted_at)),
                        timeout_s=drain_timeout_s, poll_s=0.01)
    finally:
        pool.stop()
    dlq = [{"order_id": m.message_id, "reason": m.death_reason, "retries": m.retries,
            "amount_usd": m.body.get("amount_usd")} for m in broker.dead_letters(queue)]
    broker.delete(queue)
    return _queue_metrics(publisher, consumer, services, dlq)


def _queue_metrics(publisher: _Publisher, consumer: OrderConsumer, services: Services,
                   dlq: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = set(publisher.accepted_at)
    dead_ids = {d["order_id"] for d in dlq}
    done = consumer.ledger.orders_done()
    st = consumer.stats
    succeeded_ids = done & accepted
    return {
        "accepted": len(accepted),
        "succeeded": len(succeeded_ids),
        "failed": len(publisher.refused),
        "dead_lettered": len((dead_ids - done) & accepted),
        "lost": len(accepted - done - dead_ids),
        "compensations": st.compensations,
        "timeouts": sum(s["timeouts"] for s in services.calls().values()),
        "failed_by_step": {},
        "response_ms": latency(list(publisher.response.values())),
        "completion_ms": latency(list(st.completion_ms.values())),
        "reordered": round(reordered_share(st.completion_seq), 4),
        "redeliveries": st.redeliveries,
        "retries": st.retries,
        "consumer_crashes": st.crashes,
        "skipped_duplicates": st.skipped_duplicates,
        "dead_letter_messages": len(dlq),
        "dlq": dlq,
        "_succeeded_ids": succeeded_ids,
    }
