"""Two ways to place an order: direct calls in sequence, or a message through a broker.

* :func:`place_order_directly` — the seed's orchestration: charge, reserve, email, one call
  after another while the customer waits; when inventory fails after payment it refunds
  (compensation) and the customer sees the error. It knows nothing about timeouts beyond
  giving up: a timed-out payment is *not* refunded because the caller cannot tell whether it
  went through.
* :class:`OrderConsumer` — the queue side: a handler for :class:`~ecomlab.stores.WorkerPool`
  that performs the same steps for a message, retries on failure (the broker's delay queue),
  compensates and dead-letters when retries run out. With ``idempotent=True`` it keeps a
  :class:`ProcessedLedger` (which steps of which order are done) and passes the order id as
  idempotency key, so a redelivered or duplicated message never charges twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecomlab.messaging.services import ServiceError, Services
from ecomlab.stores.broker import ConsumerCrash, Delivery

__all__ = [
    "STEPS",
    "DirectOutcome",
    "KvLedger",
    "Ledger",
    "OrderConsumer",
    "OrderRequest",
    "ProcessedLedger",
    "place_order_directly",
]

#: the steps of an order, in order; "order" marks the whole order as done
STEPS: tuple[str, ...] = ("payment", "inventory", "email")


@dataclass(frozen=True)
class OrderRequest:
    """One order: number (arrival order), id, total (USD) and units."""

    order_no: int
    order_id: str
    amount_usd: float
    units: int

    def as_message(self) -> dict[str, Any]:
        return {"order_no": self.order_no, "order_id": self.order_id,
                "amount_usd": self.amount_usd, "units": self.units}

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> OrderRequest:
        return cls(int(body["order_no"]), str(body["order_id"]), float(body["amount_usd"]),
                   int(body["units"]))


@dataclass(frozen=True)
class DirectOutcome:
    """What the customer saw from a direct-call checkout.

    Attributes:
        ok: the order was placed.
        failed_step: the step that raised (``payment``, ``inventory``, ``email``) or None.
        timed_out: the failure was a timeout (the service may have done the work).
        compensated: a refund was issued for a payment already taken.
    """

    ok: bool
    failed_step: str | None = None
    timed_out: bool = False
    compensated: bool = False


def place_order_directly(order: OrderRequest, services: Services, *,
                         timeout_ms: float | None = None) -> DirectOutcome:
    """Validate, charge, reserve and email in sequence (the seed's direct calls).

    On an inventory failure after a successful charge, refund the charge (compensation).
    Any failure is returned to the customer as a failed checkout.
    """
    from ecomlab.messaging.services import ServiceTimeout

    time.sleep(services.validate_ms / 1000.0)  # models request validation (scaled)
    try:
        services.payment.charge(order.order_id, order.amount_usd, order_no=order.order_no,
                                timeout_ms=timeout_ms)
    except ServiceError as exc:
        return DirectOutcome(False, "payment", isinstance(exc, ServiceTimeout))
    try:
        services.inventory.reserve(order.order_id, order.units, order_no=order.order_no,
                                   timeout_ms=timeout_ms)
    except ServiceError as exc:
        services.payment.refund(order.order_id, order.amount_usd)
        return DirectOutcome(False, "inventory", isinstance(exc, ServiceTimeout), True)
    try:
        services.email.send_confirmation(order.order_id, order_no=order.order_no,
                                         timeout_ms=timeout_ms)
    except ServiceError as exc:
        # the seed propagates it: the customer sees an error for a paid, reserved order
        return DirectOutcome(False, "email", isinstance(exc, ServiceTimeout))
    return DirectOutcome(True)


class Ledger(Protocol):
    """Which steps of which order are done (a processed-message ledger)."""

    def done(self, order_id: str, step: str) -> bool: ...

    def mark(self, order_id: str, step: str) -> bool: ...

    def orders_done(self) -> set[str]: ...


class ProcessedLedger:
    """Which steps of which order are done, so a redelivered message skips them.

    In this process's memory: right for consumers that are threads of one process. Thread-safe;
    ``mark`` returns False when the step was already recorded.
    """

    def __init__(self) -> None:
        self._done: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def done(self, order_id: str, step: str) -> bool:
        with self._lock:
            return (order_id, step) in self._done

    def mark(self, order_id: str, step: str) -> bool:
        with self._lock:
            if (order_id, step) in self._done:
                return False
            self._done.add((order_id, step))
            return True

    def orders_done(self) -> set[str]:
        """Order ids whose every step is done."""
        with self._lock:
            return {o for o, s in self._done if s == "order"}


class KvLedger:
    """The processed-message ledger in Redis (or fakeredis), shared by every consumer process.

    ``mark`` is one ``SADD``, atomic on the server: exactly one of two racing consumers gets
    True. Keys live under ``prefix``; :meth:`clear` deletes them.
    """

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.steps_key = f"{prefix}:steps"
        self.orders_key = f"{prefix}:orders"

    def done(self, order_id: str, step: str) -> bool:
        return bool(self.client.sismember(self.steps_key, f"{order_id}|{step}"))

    def mark(self, order_id: str, step: str) -> bool:
        first = int(self.client.sadd(self.steps_key, f"{order_id}|{step}")) == 1
        if first and step == "order":
            self.client.sadd(self.orders_key, order_id)
        return first

    def orders_done(self) -> set[str]:
        """Order ids whose every step is done."""
        return {str(m) for m in self.client.smembers(self.orders_key)}

    def clear(self) -> None:
        """Delete this ledger's keys."""
        self.client.delete(self.steps_key, self.orders_key)


@dataclass
class _Stats:
    deliveries: int = 0
    redeliveries: int = 0
    retries: int = 0
    skipped_duplicates: int = 0
    compensations: int = 0
    crashes: int = 0
    completion_ms: dict[str, float] = field(default_factory=dict)
    completion_seq: list[int] = field(default_factory=list)
    dead_lettered: set[str] = field(default_factory=set)


class OrderConsumer:
    """The queue-side order handler (use one per run, shared by all worker threads).

    Args:
        services: payment, inventory, email.
        idempotent: keep a processed-message ledger and send idempotency keys.
        timeout_ms: how long to wait for each service call (ms); None waits forever.
        crash_rate: probability that a worker dies after doing the work but before
            acknowledging (first delivery of a message only; decided by ``seed``).
        seed: decides the crashes.
        accepted_at: order id -> ``time.perf_counter()`` of acceptance, for completion times.
        ledger: where processed steps are recorded (default: in memory).
    """

    def __init__(self, services: Services, *, idempotent: bool = True,
                 timeout_ms: float | None = None, crash_rate: float = 0.0, seed: int = 0,
                 accepted_at: dict[str, float] | None = None,
                 ledger: Ledger | None = None) -> None:
        self.services = services
        self.idempotent = idempotent
        self.timeout_ms = timeout_ms
        self.crash_rate = crash_rate
        self.seed = seed
        self.ledger: Ledger = ledger if ledger is not None else ProcessedLedger()
        self.accepted_at = accepted_at if accepted_at is not None else {}
        self.stats = _Stats()
        self.lock = threading.Lock()

    def _crashes(self, order_no: int) -> bool:
        import numpy as np

        if self.crash_rate <= 0:
            return False
        return bool(np.random.default_rng([self.seed, 99, order_no]).random() < self.crash_rate)

    def _step(self, order_id: str, step: str) -> bool:
        """True if the step must run now."""
        return not (self.idempotent and self.ledger.done(order_id, step))

    def __call__(self, delivery: Delivery) -> None:
        msg = delivery.message
        order = OrderRequest.from_message(msg.body)
        attempt = msg.retries
        key = order.order_id if self.idempotent else None
        with self.lock:
            self.stats.deliveries += 1
            self.stats.redeliveries += int(msg.redelivered)
        if self.idempotent and self.ledger.done(order.order_id, "order"):
            with self.lock:
                self.stats.skipped_duplicates += 1
            delivery.ack()
            return
        s = self.services
        try:
            if self._step(order.order_id, "payment"):
                s.payment.charge(order.order_id, order.amount_usd, order_no=order.order_no,
                                 attempt=attempt, timeout_ms=self.timeout_ms,
                                 idempotency_key=key)
                self.ledger.mark(order.order_id, "payment")
            if self._step(order.order_id, "inventory"):
                s.inventory.reserve(order.order_id, order.units, order_no=order.order_no,
                                    attempt=attempt, timeout_ms=self.timeout_ms,
                                    idempotency_key=key)
                self.ledger.mark(order.order_id, "inventory")
            if self._step(order.order_id, "email"):
                s.email.send_confirmation(order.order_id, order_no=order.order_no,
                                          attempt=attempt, timeout_ms=self.timeout_ms,
                                          idempotency_key=key)
                self.ledger.mark(order.order_id, "email")
        except ServiceError as exc:
            if attempt >= delivery.spec.max_retries:
                self._compensate(order)
            else:
                with self.lock:
                    self.stats.retries += 1
            if not delivery.retry(str(exc)):
                with self.lock:
                    self.stats.dead_lettered.add(order.order_id)
            return
        first_time = self.ledger.mark(order.order_id, "order")
        if first_time:
            done = time.perf_counter()
            with self.lock:
                start = self.accepted_at.get(order.order_id)
                if start is not None:
                    self.stats.completion_ms[order.order_id] = (done - start) * 1000.0
                self.stats.completion_seq.append(order.order_no)
        if not msg.redelivered and attempt == 0 and self._crashes(order.order_no):
            with self.lock:
                self.stats.crashes += 1
            raise ConsumerCrash(f"worker died before acknowledging {order.order_id}")
        delivery.ack()

    def _compensate(self, order: OrderRequest) -> None:
        """Undo what was done for an order that will be dead-lettered."""
        key = f"refund-{order.order_id}" if self.idempotent else None
        charged = self.services.payment.charge_counts()[order.order_id]
        refunded = self.services.payment.refund_counts()[order.order_id]
        did = False
        for _ in range(max(charged - refunded, 0)):
            if self.services.payment.refund(order.order_id, order.amount_usd,
                                            idempotency_key=key):
                did = True
        if self.services.inventory.reservation_counts()[order.order_id] > 0:
            self.services.inventory.release(order.order_id)
            did = True
        if did:
            with self.lock:
                self.stats.compensations += 1
