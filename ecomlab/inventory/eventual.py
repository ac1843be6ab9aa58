"""Eventual consistency: a Redis fast path, OrderCreated events and an asynchronous validator.

* ``cache-check`` — the seed's approach: read the cached stock, reject if short, create the order
  (``pending``), charge, publish ``OrderCreated``, then ``DECRBY`` the cache. Read and decrement are
  two steps, so concurrent buyers all see the same last units: it oversells under contention.
* ``atomic-reserve`` — the fix: one Lua script checks every line and decrements only if all fit,
  so the fast path never promises more than the cache holds.

The relational store stays the source of truth. The :class:`Validator` is a real thread that
consumes the events (at-least-once, from an in-process :class:`EventBus`), applies each order to
the source of truth with a conditional update, and **compensates** orders that cannot be filled:
cancel the order, then refund the payment through the ledger. Faults: a slow validator (a real,
scaled-down sleep per event) and a validator that crashes at a random step and is restarted, after
which unacknowledged events are delivered again.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import sqlalchemy as sa

from ecomlab import validate
from ecomlab.inventory.history import History, StockRow
from ecomlab.inventory.model import EVENTUAL, BuyerCrash, Line, OrderSpec, Outcome, Sku, check_lines
from ecomlab.inventory.payments import PaymentDeclined, PaymentLedger
from ecomlab.inventory.tables import InventoryTables, transaction
from ecomlab.stores import KvStore, SqlStore

__all__ = ["RESERVE_LUA", "EventBus", "EventualInventory", "OrderCreated", "Validator",
           "ValidatorCrash"]

#: check every line, then decrement all of them, atomically (KEYS = stock keys, ARGV = units)
RESERVE_LUA = """
for i, key in ipairs(KEYS) do
  local have = tonumber(redis.call('GET', key) or '0')
  if have < tonumber(ARGV[i]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('DECRBY', key, ARGV[i])
end
return 1
"""


class ValidatorCrash(Exception):
    """Injected fault: the validator process dies while handling an event."""

    def __init__(self, order_id: int, step: int) -> None:
        super().__init__(f"validator crashed at step {step} of order {order_id}")
        self.order_id = order_id
        self.step = step


class _Short(Exception):
    pass


@dataclass(frozen=True)
class OrderCreated:
    """The event a buyer publishes once its order is accepted.

    ``deliveries`` counts how many times the bus has handed this event out.
    """

    order_id: int
    lines: tuple[tuple[str, int], ...]
    deliveries: int = 0


class EventBus:
    """At-least-once delivery in process: an event stays in flight until acknowledged.

    After a consumer crash, :meth:`redeliver_unacked` puts every unacknowledged event back.
    """

    def __init__(self) -> None:
        self._ready: queue.Queue[OrderCreated] = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight: dict[int, OrderCreated] = {}
        self.published = 0
        self.redelivered = 0

    def publish(self, event: OrderCreated) -> None:
        """Queue an event."""
        with self._lock:
            self.published += 1
        self._ready.put(event)

    def get(self, timeout_s: float) -> OrderCreated | None:
        """The next event (now in flight), or None after ``timeout_s`` seconds."""
        try:
            event = self._ready.get(timeout=timeout_s)
        except queue.Empty:
            return None
        event = replace(event, deliveries=event.deliveries + 1)
        with self._lock:
            self._in_flight[event.order_id] = event
        return event

    def ack(self, event: OrderCreated) -> None:
        """The event was handled; it will not be delivered again."""
        with self._lock:
            self._in_flight.pop(event.order_id, None)

    def redeliver_unacked(self) -> int:
        """Put every in-flight event back in the queue; returns how many."""
        with self._lock:
            events = list(self._in_flight.values())
            self._in_flight.clear()
            self.redelivered += len(events)
        for event in events:
            self._ready.put(event)
        return len(events)

    def pending(self) -> int:
        """Events queued or in flight."""
        with self._lock:
            return self._ready.qsize() + len(self._in_flight)


class EventualInventory:
    """The fast path (Redis) in front of the source of truth (relational), for one strategy.

    Args:
        kv: the Redis-compatible store holding the cached stock (keys get a random prefix).
        truth: the relational store (the source of truth).
        strategy: ``cache-check`` or ``atomic-reserve``.
        skus: the SKUs and their initial stock (units).
        bus: where OrderCreated events go.
    """

    def __init__(self, kv: KvStore, truth: SqlStore, strategy: str, skus: Sequence[Sku],
                 bus: EventBus) -> None:
        self.strategy = validate.choice("strategy", strategy, EVENTUAL)
        self.kv = kv
        self.tables = InventoryTables(truth, skus)
        self.skus = self.tables.skus
        self.bus = bus
        self.prefix = kv.claim_prefix(f"ecomlab:inventory:{secrets.token_hex(6)}:")
        self._script = kv.client.register_script(RESERVE_LUA)
        kv.client.mset({self.key(s.sku): s.stock for s in skus})

    def key(self, sku: str) -> str:
        """The cache key of a SKU's available units."""
        return self.prefix + sku

    def cached_stock(self) -> dict[str, int]:
        """The cached available units per SKU."""
        skus = list(self.skus)
        values = self.kv.client.mget([self.key(s) for s in skus])
        return {s: int(v) if v is not None else 0 for s, v in zip(skus, values, strict=True)}

    def reconcile_cache(self) -> int:
        """Set the cache to the source of truth's available units; returns the drift fixed."""
        truth = self.tables.stock()
        cached = self.cached_stock()
        drift = sum(abs(cached[s] - row.available) for s, row in truth.items())
        self.kv.client.mset({self.key(s): row.available for s, row in truth.items()})
        return drift

    def close(self) -> None:
        """Delete this run's cache keys (never anything else)."""
        keys = [self.key(s) for s in self.skus]
        if keys:
            self.kv.client.delete(*keys)
        self.kv.release_prefix(self.prefix)

    def place_order(self, spec: OrderSpec, ledger: PaymentLedger, *, crash: bool = False,
                    on_accept: Callable[[], object] | None = None) -> Outcome:
        """The buyer's fast path; the source of truth is updated later by the validator.

        Args:
            crash: inject a fault: the buyer dies inside the transaction that creates the order
                (with atomic-reserve, its cache reservation is then leaked until reconciled).
            on_accept: called when the buyer is told "yes" (before the event is published).

        Raises:
            InvalidInput: a bad quantity or unknown SKU (nothing is touched).
        """
        lines = check_lines(spec.lines, self.skus)
        keys = [self.key(ln.sku) for ln in lines]
        out = Outcome("accepted")
        if self.strategy == "cache-check":
            cached = self.kv.client.mget(keys)
            if any(int(v or 0) < ln.quantity for v, ln in zip(cached, lines, strict=True)):
                out.status, out.reason = "rejected", "out_of_stock"
                return out
        elif not int(self._script(keys=keys, args=[ln.quantity for ln in lines])):
            out.status, out.reason = "rejected", "out_of_stock"
            return out
        pairs = self.tables.product_pairs(lines)
        try:
            transaction(self.tables.store, lambda conn, _: self._create_pending(
                conn, spec, pairs, lines, crash), out, limit=100_000)
        except BuyerCrash:
            out.status, out.reason = "crashed", "buyer_crashed"
            return out
        try:
            ledger.charge(spec.order_id, self.tables.amount_cents(lines))
        except PaymentDeclined:
            transaction(self.tables.store, lambda conn, _: conn.execute(sa.text(
                f"UPDATE {self.tables.t_orders} SET status = 'rejected' WHERE order_id = :o"),
                {"o": spec.order_id}), out, limit=100_000)
            if self.strategy == "atomic-reserve":
                self._release(lines)
            out.status, out.reason = "rejected", "payment_declined"
            return out
        if on_accept is not None:
            on_accept()
        self.bus.publish(OrderCreated(spec.order_id,
                                      tuple((ln.sku, ln.quantity) for ln in lines)))
        if self.strategy == "cache-check":
            pipe = self.kv.client.pipeline(transaction=False)
            for key, ln in zip(keys, lines, strict=True):
                pipe.decrby(key, ln.quantity)
            pipe.execute()
        return out

    def _create_pending(self, conn: sa.Connection, spec: OrderSpec,
                        pairs: Sequence[tuple[int, int]], lines: Sequence[Line],
                        crash: bool) -> None:
        self.tables.insert_order(conn, spec, pairs, lines, "pending")
        if crash:
            raise BuyerCrash(f"buyer {spec.buyer} died before committing order {spec.order_id}")

    def _release(self, lines: Sequence[Line]) -> None:
        pipe = self.kv.client.pipeline(transaction=False)
        for ln in lines:
            pipe.incrby(self.key(ln.sku), ln.quantity)
        pipe.execute()

    def truth_stock(self) -> dict[str, StockRow]:
        """Stock rows in the source of truth (units)."""
        return self.tables.stock()


class Validator:
    """The asynchronous validator: a supervised thread that applies events to the source of truth.

    For each event: if the order is ``pending``, take its units with a conditional update
    (``available >= q``) and confirm it; if any line cannot be filled, cancel it. A cancelled
    order is refunded through the ledger (with an idempotency key unless
    ``idempotent_refunds=False``, which shows why the key matters after a crash).

    Args:
        inventory: the eventual inventory whose events to consume.
        ledger: the payment service (refunds).
        history: where ``validate`` and ``compensate`` operations are recorded.
        delay_ms: a real sleep per event modelling a slow downstream check (ms, scaled down).
        crash_rate: probability per delivery that the validator dies at a random step.
        crash_step: a hook point: the validator always dies at this step (0 before the check,
            1 after it, 2 after the refund and before the acknowledgement) of an event's first
            delivery, so a demonstration of redelivery does not wait on chance (None: off).
        restart_ms: how long the supervisor waits before restarting it (ms).
        seed: decides where crashes happen.
    """

    def __init__(self, inventory: EventualInventory, ledger: PaymentLedger, history: History, *,
                 delay_ms: float = 0.0, crash_rate: float = 0.0, restart_ms: float = 5.0,
                 crash_step: int | None = None, idempotent_refunds: bool = True,
                 seed: int = 0) -> None:
        self.inv = inventory
        self.ledger = ledger
        self.history = history
        self.delay_ms = validate.number("validator_delay_ms", delay_ms, minimum=0.0,
                                        maximum=10_000.0)
        self.crash_rate = validate.probability("validator_crash_rate", crash_rate)
        self.restart_ms = validate.number("validator_restart_ms", restart_ms, minimum=0.0,
                                          maximum=60_000.0)
        self.idempotent_refunds = idempotent_refunds
        self.crash_step = crash_step
        self.seed = seed
        self.crashes = 0
        self.handled = 0
        self.compensations = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="validator", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start consuming events."""
        self._thread.start()

    def drain(self, timeout_s: float = 120.0) -> bool:
        """Stop once every published event is handled; True if it finished within the timeout."""
        self._stop.set()
        self._thread.join(timeout_s)
        if self.error is not None:
            raise self.error
        return not self._thread.is_alive()

    def _supervise(self) -> None:
        while True:
            try:
                self._consume()
                return
            except ValidatorCrash as crash:
                self.crashes += 1
                self.history.record("validator", "info", "validate", crash.order_id,
                                    reason="validator_crashed", step=crash.step)
                time.sleep(self.restart_ms / 1000)
                self.inv.bus.redeliver_unacked()
            except Exception as exc:  # an unexpected failure must surface in the main thread
                self.error = exc
                return

    def _consume(self) -> None:
        bus = self.inv.bus
        while True:
            event = bus.get(timeout_s=0.005)
            if event is None:
                if self._stop.is_set() and bus.pending() == 0:
                    return
                continue
            self._handle(event)
            bus.ack(event)
            self.handled += 1

    def _maybe_crash(self, event: OrderCreated, step: int) -> None:
        if step == self.crash_step and event.deliveries <= 1:
            raise ValidatorCrash(event.order_id, step)
        if self.crash_rate <= 0:
            return
        draw = np.random.default_rng([self.seed, event.order_id, event.deliveries, step]).random()
        if draw < self.crash_rate / 3:
            raise ValidatorCrash(event.order_id, step)

    def _handle(self, event: OrderCreated) -> None:
        oid = event.order_id
        tables = self.inv.tables
        self.history.record("validator", "invoke", "validate", oid)
        if self.delay_ms:
            time.sleep(self.delay_ms / 1000)
        self._maybe_crash(event, 0)
        stats = Outcome("accepted")
        with tables.store.engine.connect() as conn:
            status = conn.execute(sa.text(
                f"SELECT status FROM {tables.t_orders} WHERE order_id = :o"),
                {"o": oid}).scalar_one()
            conn.rollback()
        if status == "pending":
            pairs = tables.product_pairs([Line(s, q) for s, q in event.lines])
            try:
                transaction(tables.store, lambda conn, _: self._take(conn, oid, pairs), stats,
                            limit=100_000)
                status = "confirmed"
            except _Short:
                transaction(tables.store, lambda conn, _: conn.execute(sa.text(
                    f"UPDATE {tables.t_orders} SET status = 'cancelled' "
                    "WHERE order_id = :o AND status = 'pending'"), {"o": oid}), stats,
                    limit=100_000)
                status = "cancelled"
        self.history.record("validator", "ok", "validate", oid, status=status)
        self._maybe_crash(event, 1)
        if status == "cancelled":
            key = f"refund-{oid}" if self.idempotent_refunds else None
            self.ledger.refund(oid, idempotency_key=key)
            self.compensations += 1
            self.history.record("validator", "ok", "compensate", oid, refunded=True)
        self._maybe_crash(event, 2)

    def _take(self, conn: sa.Connection, oid: int, pairs: Sequence[tuple[int, int]]) -> None:
        tables = self.inv.tables
        for pid, q in pairs:
            result = conn.execute(sa.text(
                f"UPDATE {tables.t_stock} SET available_stock = available_stock - :q, "
                "sold_stock = sold_stock + :q WHERE product_id = :p AND available_stock >= :q"),
                {"p": pid, "q": q})
            if result.rowcount != 1:
                raise _Short
        conn.execute(sa.text(f"UPDATE {tables.t_orders} SET status = 'confirmed' "
                             "WHERE order_id = :o AND status = 'pending'"), {"o": oid})
