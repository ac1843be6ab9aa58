"""The messaging experiment: place N orders by direct calls or through a queue, with faults.

:func:`run_messaging` is a live run (label ``measured``): real threads, real broker (in-process
or RabbitMQ), service latencies modelled by real sleeps scaled by ``time_scale`` (0.01: the
seed's 800 ms payment takes ~8 ms). Orders arrive open-loop at ``arrival_rate`` per second
(seeded exponential gaps) and are served by ``web_workers`` request threads.

Per run it reports, from the services' own ledgers and the broker's dead-letter queue:
``orders``, ``succeeded``, ``failed`` (the customer saw an error), ``dead_lettered``, ``lost``
(accepted but neither done nor dead-lettered when the run drained), ``duplicate_charges``
(extra charges beyond one per order), ``orphan_charges`` (money kept for an order that did not
succeed), ``compensations``, ``refunds``, ``duplicate_emails``, ``reordered`` (share of orders
completed after a later order), ``response_ms`` (what the customer waits for) and
``completion_ms`` (until the order is really done).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.measure import LatencySummary, Result, progress, worker_pool
from ecomlab.messaging.choices import LEDGERS, MODES
from ecomlab.messaging.flows import (
    DirectOutcome,
    KvLedger,
    Ledger,
    OrderConsumer,
    OrderRequest,
    place_order_directly,
)
from ecomlab.messaging.services import SEED_LATENCY_MS, SERVICE_NAMES, Services, make_services
from ecomlab.stores.broker import Broker, InProcessBroker, WorkerPool, broker_store
from ecomlab.stores.kv import KvStore, kv_store
from ecomlab.stores.lifecycle import borrowed
from ecomlab.validate import choice, integer, number, probability

__all__ = [
    "LEDGERS",
    "MODES",
    "MessagingParams",
    "cascade_table",
    "expected_success_share",
    "outcome_frame",
    "reordered_share",
    "reordering_table",
    "run_messaging",
    "sweep_failure_rates",
]

SEED_RETRY_DELAY_MS = 1000.0  # the seed's retry delay before time scaling (ms)


@dataclass(frozen=True)
class MessagingParams:
    """The validated parameters of one run (times in real ms unless stated)."""

    mode: str = "queue"
    orders: int = 200
    failure_rate: float = 0.1
    seed: int = 42
    payment_failure_rate: float | None = None
    inventory_failure_rate: float | None = None
    email_failure_rate: float | None = None
    slow_service: str | None = None
    slow_factor: float = 20.0
    timeout_ms: float | None = None
    duplicate_rate: float = 0.0
    crash_rate: float = 0.0
    broker_restart: bool = False
    idempotent: bool = True
    workers: int = 4
    web_workers: int = 8
    arrival_rate: float = 200.0
    max_retries: int = 3
    retry_delay_ms: float | None = None
    time_scale: float = 0.01
    ledger: str = "memory"

    def __post_init__(self) -> None:
        choice("mode", self.mode, MODES)
        choice("ledger", self.ledger, LEDGERS)
        integer("orders", self.orders, minimum=1, maximum=100_000)
        probability("failure_rate", self.failure_rate)
        integer("seed", self.seed, minimum=0)
        for name in SERVICE_NAMES:
            rate = getattr(self, f"{name}_failure_rate")
            if rate is not None:
                probability(f"{name}_failure_rate", rate)
        if self.slow_service is not None:
            choice("slow_service", self.slow_service, SERVICE_NAMES)
        number("slow_factor", self.slow_factor, minimum=1.0, maximum=1000.0)
        if self.timeout_ms is not None:
            number("timeout_ms", self.timeout_ms, minimum=0.0, min_inclusive=False)
        probability("duplicate_rate", self.duplicate_rate)
        probability("crash_rate", self.crash_rate)
        integer("workers", self.workers, minimum=1, maximum=64)
        integer("web_workers", self.web_workers, minimum=1, maximum=256)
        number("arrival_rate", self.arrival_rate, minimum=0.0, min_inclusive=False,
               maximum=100_000.0)
        integer("max_retries", self.max_retries, minimum=0, maximum=20)
        if self.retry_delay_ms is not None:
            number("retry_delay_ms", self.retry_delay_ms, minimum=0.0)
        number("time_scale", self.time_scale, minimum=0.0, maximum=1.0)
        for flag in ("broker_restart", "idempotent"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidInput(f"{flag} must be True or False, got {getattr(self, flag)!r}")

    def rates(self) -> dict[str, float]:
        """Failure rate per service (the per-service value, else ``failure_rate``)."""
        out = {}
        for name in SERVICE_NAMES:
            rate = getattr(self, f"{name}_failure_rate")
            out[name] = self.failure_rate if rate is None else rate
        return out

    @property
    def retry_delay(self) -> float:
        """Real retry delay (ms)."""
        if self.retry_delay_ms is not None:
            return self.retry_delay_ms
        return SEED_RETRY_DELAY_MS * self.time_scale


def expected_success_share(mode: str, failure_rate: float, max_retries: int = 3,
                           steps: int = 3) -> float:
    """Closed form: the share of orders that succeed when each call fails with
    ``failure_rate`` independently.

    Direct calls need ``steps`` successes in a row: ``(1-f)^steps``. The queue consumer
    resumes at the failed step (the ledger skips finished steps) and has ``max_retries + 1``
    attempts, so an order succeeds when at most ``max_retries`` failures come before the
    ``steps``-th success (negative binomial):
    ``sum_{k=0..r} C(k+steps-1, steps-1) (1-f)^steps f^k``.
    """
    from math import comb

    choice("mode", mode, MODES)
    f = probability("failure_rate", failure_rate)
    r = integer("max_retries", max_retries, minimum=0)
    n = integer("steps", steps, minimum=1)
    if mode == "direct":
        return (1 - f) ** n
    return sum(comb(k + n - 1, n - 1) * (1 - f) ** n * f ** k for k in range(r + 1))


def _orders(p: MessagingParams) -> tuple[list[OrderRequest], np.ndarray]:
    rng = np.random.default_rng([p.seed, 7])
    amounts = np.round(rng.lognormal(np.log(60.0), 0.6, p.orders), 2)
    units = rng.integers(1, 4, p.orders)
    gaps = rng.exponential(1.0 / p.arrival_rate, p.orders)
    arrivals = np.cumsum(gaps) - gaps[0]
    orders = [OrderRequest(i, f"ord-{p.seed}-{i:06d}", float(amounts[i]), int(units[i]))
              for i in range(p.orders)]
    return orders, arrivals


def _arrive(orders: Sequence[OrderRequest], arrivals: np.ndarray,
            submit: Callable[[OrderRequest, float], None],
            midway: Callable[[], None] | None = None, show_progress: bool = False) -> None:
    """Submit each order at its arrival time (open loop), calling ``midway`` at half time."""
    start = time.perf_counter()
    half = len(orders) // 2
    items = progress(range(len(orders)), total=len(orders), desc="orders",
                     disable=not show_progress)
    for i in items:
        delay = start + float(arrivals[i]) - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # the arrival process (scaled real time)
        if midway is not None and i == half:
            midway()
        submit(orders[i], time.perf_counter())


def reordered_share(completion_seq: Sequence[int]) -> float:
    """Share of completions that came after a later-arriving order had completed."""
    if not completion_seq:
        return 0.0
    seen_max = -1
    late = 0
    for n in completion_seq:
        if n < seen_max:
            late += 1
        seen_max = max(seen_max, n)
    return late / len(completion_seq)


def _ledger_metrics(services: Services, orders: Sequence[OrderRequest],
                    succeeded: set[str]) -> dict[str, int]:
    charges = services.payment.charge_counts()
    refunds = services.payment.refund_counts()
    emails = services.email.sent_counts()
    reserved = services.inventory.reservation_counts()
    ids = [o.order_id for o in orders]
    return {
        "duplicate_charges": sum(max(0, charges[i] - 1) for i in ids),
        "orphan_charges": sum(1 for i in ids if i not in succeeded
                              and charges[i] - refunds[i] > 0),
        "refunds": sum(refunds.values()),
        "duplicate_emails": sum(max(0, emails[i] - 1) for i in ids),
        "duplicate_reservations": sum(max(0, reserved[i] - 1) for i in ids),
        "unbalanced_orders": sum(1 for i in ids if (charges[i] - refunds[i]) != (
            1 if reserved[i] > 0 else 0)),
    }


def _latency(samples: Sequence[float] | np.ndarray) -> dict[str, float | int]:
    d = LatencySummary.of_ms(samples).as_dict()
    return {k: d[k] for k in ("count", "mean", "p50", "p95", "p99", "max")}


def _run_direct(p: MessagingParams, services: Services, orders: list[OrderRequest],
                arrivals: np.ndarray, show_progress: bool) -> dict[str, Any]:
    outcomes: dict[str, DirectOutcome] = {}
    response: dict[str, float] = {}
    done_seq: list[int] = []
    lock = threading.Lock()

    def serve(order: OrderRequest, arrived: float) -> None:
        outcome = place_order_directly(order, services, timeout_ms=p.timeout_ms)
        finished = time.perf_counter()
        with lock:
            outcomes[order.order_id] = outcome
            response[order.order_id] = (finished - arrived) * 1000.0
            if outcome.ok:
                done_seq.append(order.order_no)

    with worker_pool(p.web_workers, "ecomlab-web") as web:
        futures = []

        def submit(order: OrderRequest, arrived: float) -> None:
            futures.append(web.submit(serve, order, arrived))

        _arrive(orders, arrivals, submit, show_progress=show_progress)
        for f in futures:
            f.result()
    ok = {o for o, out in outcomes.items() if out.ok}
    failed_steps = Counter(out.failed_step for out in outcomes.values() if not out.ok)
    return {
        "accepted": len(orders),
        "succeeded": len(ok),
        "failed": len(orders) - len(ok),
        "dead_lettered": 0,
        "lost": len(orders) - len(outcomes),
        "compensations": sum(1 for out in outcomes.values() if out.compensated),
        "timeouts": sum(1 for out in outcomes.values() if out.timed_out),
        "failed_by_step": {k: failed_steps.get(k, 0) for k in SERVICE_NAMES},
        "response_ms": _latency(list(response.values())),
        "completion_ms": _latency([response[o] for o in ok]),
        "reordered": round(reordered_share(done_seq), 4),
        "redeliveries": 0,
        "retries": 0,
        "consumer_crashes": 0,
        "skipped_duplicates": 0,
        "dead_letter_messages": 0,
        "dlq": [],
        "_succeeded_ids": ok,
    }


def _run_queue(p: MessagingParams, services: Services, orders: list[OrderRequest],
               arrivals: np.ndarray, broker: Broker,
               restart_broker: Callable[[], None] | None, drain_timeout_s: float,
               show_progress: bool, ledger: Ledger | None) -> dict[str, Any]:
    queue = broker.declare_queue(f"ecomlab-orders-{uuid.uuid4().hex[:10]}",
                                 max_retries=p.max_retries, retry_delay_ms=p.retry_delay).name
    accepted_at: dict[str, float] = {}
    response: dict[str, float] = {}
    refused: list[str] = []
    lock = threading.Lock()
    consumer = OrderConsumer(services, idempotent=p.idempotent, timeout_ms=p.timeout_ms,
                             crash_rate=p.crash_rate, seed=p.seed, accepted_at=accepted_at,
                             ledger=ledger)

    def duplicated(order_no: int) -> bool:
        if p.duplicate_rate <= 0:
            return False
        return bool(np.random.default_rng([p.seed, 77, order_no]).random() < p.duplicate_rate)

    def accept(order: OrderRequest, arrived: float) -> None:
        from ecomlab.errors import BackendUnavailable

        time.sleep(services.validate_ms / 1000.0)  # models request validation (scaled)
        with lock:
            accepted_at[order.order_id] = arrived
        try:
            broker.publish(queue, order.as_message(), message_id=order.order_id)
            if duplicated(order.order_no):  # e.g. a publisher retry after a lost confirm
                broker.publish(queue, order.as_message(), message_id=order.order_id)
        except BackendUnavailable:
            with lock:
                refused.append(order.order_id)
                accepted_at.pop(order.order_id, None)
        finished = time.perf_counter()
        with lock:
            response[order.order_id] = (finished - arrived) * 1000.0

    def restart() -> None:
        if isinstance(broker, InProcessBroker):
            broker.restart()
        elif restart_broker is not None:
            restart_broker()

    pool = WorkerPool(broker, queue, consumer, workers=p.workers, poll_s=0.02)
    dead_ids: set[str] = set()
    dlq: list[dict[str, Any]] = []
    try:
        pool.start()
        with worker_pool(p.web_workers, "ecomlab-web") as web:
            futures = []

            def submit(order: OrderRequest, arrived: float) -> None:
                futures.append(web.submit(accept, order, arrived))

            _arrive(orders, arrivals, submit, restart if p.broker_restart else None,
                    show_progress=show_progress)
            for f in futures:
                f.result()
        wanted = set(accepted_at)
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

        pool.wait_until(drained, timeout_s=drain_timeout_s, poll_s=0.01)
    finally:
        pool.stop()
    for m in broker.dead_letters(queue):
        dlq.append({"order_id": m.message_id, "reason": m.death_reason, "retries": m.retries,
                    "amount_usd": m.body.get("amount_usd")})
    dead_ids = {d["order_id"] for d in dlq}
    broker.delete(queue)
    done = consumer.ledger.orders_done()
    st = consumer.stats
    succeeded_ids = done & set(accepted_at)
    return {
        "accepted": len(accepted_at),
        "succeeded": len(succeeded_ids),
        "failed": len(refused),
        "dead_lettered": len((dead_ids - done) & set(accepted_at)),
        "lost": len(set(accepted_at) - done - dead_ids),
        "compensations": st.compensations,
        "timeouts": sum(s["timeouts"] for s in services.calls().values()),
        "failed_by_step": {},
        "response_ms": _latency(list(response.values())),
        "completion_ms": _latency(list(st.completion_ms.values())),
        "reordered": round(reordered_share(st.completion_seq), 4),
        "redeliveries": st.redeliveries,
        "retries": st.retries,
        "consumer_crashes": st.crashes,
        "skipped_duplicates": st.skipped_duplicates,
        "dead_letter_messages": len(dlq),
        "dlq": dlq,
        "_succeeded_ids": succeeded_ids,
    }


def _drop_ledger(ledger: KvLedger, kv: KvStore) -> None:
    """Delete a run's processed-message ledger and its claim on the key prefix."""
    ledger.clear()
    kv.release_prefix(ledger.prefix)


def run_messaging(mode: str = "queue", orders: int = 200, failure_rate: float = 0.1,
                  seed: int = 42, *, broker: Broker | None = None, kv: KvStore | None = None,
                  restart_broker: Callable[[], None] | None = None,
                  drain_timeout_s: float = 60.0, show_progress: bool = False,
                  **options: Any) -> Result:
    """Place ``orders`` orders by ``mode`` (``queue`` or ``direct``) with injected faults.

    Args:
        mode: ``direct`` (calls in sequence while the customer waits) or ``queue`` (accept,
            publish, and let ``workers`` consumers do the work).
        orders: how many orders (units).
        failure_rate: probability that any one service call fails (payment, inventory,
            email), unless a per-service rate is given.
        seed: decides amounts, arrivals, and every injected fault.
        broker: the broker for queue mode; default :func:`broker_store` (ECOMLAB_AMQP_URL or
            in-process), disposed at the end if created here.
        kv: the key-value store for ``ledger="kv"``; default :func:`kv_store`
            (ECOMLAB_REDIS_URL or fakeredis).
        restart_broker: how to restart a real broker for ``broker_restart=True`` (the
            in-process broker restarts itself).
        drain_timeout_s: how long to wait for the queue to drain before counting the
            unfinished orders as lost (s).
        **options: the other fields of :class:`MessagingParams` (``slow_service``,
            ``slow_factor``, ``timeout_ms``, ``duplicate_rate``, ``crash_rate``,
            ``broker_restart``, ``idempotent``, ``workers``, ``web_workers``,
            ``arrival_rate`` (orders/s), ``max_retries``, ``retry_delay_ms``, ``time_scale``,
            ``ledger`` — ``memory`` or ``kv``: the processed-message ledger in Redis).

    Returns:
        A ``measured`` :class:`~ecomlab.measure.Result` (see the module docstring for metrics).

    Raises:
        InvalidInput: a parameter out of range or unknown.
        UnsupportedOperation: ``broker_restart`` on a real broker without ``restart_broker``.
    """
    known = set(MessagingParams.__dataclass_fields__) - {"mode", "orders", "failure_rate",
                                                         "seed"}
    unknown = set(options) - known
    if unknown:
        from ecomlab.errors import choices_text

        raise InvalidInput(f"unknown option(s) {sorted(unknown)!r}; choose "
                           f"{choices_text(sorted(known))}")
    p = MessagingParams(mode, orders, failure_rate, seed, **options)
    number("drain_timeout_s", drain_timeout_s, minimum=0.0, min_inclusive=False)
    services = make_services(seed=p.seed, time_scale=p.time_scale, failure_rates=p.rates(),
                             slow_service=p.slow_service, slow_factor=p.slow_factor)
    orders_list, arrivals = _orders(p)
    backends: dict[str, Any] = {"services": {"backend": "in-process", "embedded": True}}
    started = time.perf_counter()
    if p.mode == "direct":
        raw = _run_direct(p, services, orders_list, arrivals, show_progress)
    else:
        with contextlib.ExitStack() as stack:
            broker = stack.enter_context(borrowed(broker, broker_store))
            ledger: KvLedger | None = None
            if p.ledger == "kv":
                kv = stack.enter_context(borrowed(kv, kv_store))
                ledger = KvLedger(kv.client,
                                  kv.claim_prefix(f"ecomlab:messaging:{uuid.uuid4().hex[:12]}"))
                stack.callback(_drop_ledger, ledger, kv)
                backends["kv"] = kv.describe()
            if p.broker_restart and not isinstance(broker, InProcessBroker) \
                    and restart_broker is None:
                raise UnsupportedOperation(
                    f"broker_restart on {broker.backend!r} needs a restart_broker callable; "
                    "ecomlab restarts only its in-process broker by itself")
            backends["broker"] = broker.describe()
            raw = _run_queue(p, services, orders_list, arrivals, broker, restart_broker,
                             drain_timeout_s, show_progress, ledger)
    elapsed = time.perf_counter() - started
    succeeded_ids: set[str] = raw.pop("_succeeded_ids")
    metrics: dict[str, Any] = {"orders": p.orders, **raw,
                               **_ledger_metrics(services, orders_list, succeeded_ids),
                               "service_calls": services.calls(),
                               "elapsed_s": round(elapsed, 3)}
    params = asdict(p)
    params.pop("seed")
    params["retry_delay_ms"] = p.retry_delay
    params["seed_latency_ms"] = dict(SEED_LATENCY_MS)
    return Result("messaging", "measured", p.seed, params, metrics, backends)


_TABLE_COLUMNS = ("mode", "idempotent", "failure_rate", "orders", "succeeded", "failed",
                  "dead_lettered", "lost", "duplicate_charges", "orphan_charges",
                  "unbalanced_orders",
                  "compensations", "refunds", "duplicate_emails", "redeliveries",
                  "reordered", "response_p50_ms", "response_p99_ms", "completion_p99_ms")


def outcome_frame(results: Sequence[Result]) -> pd.DataFrame:
    """One row per run: the outcome counts and latencies (the notebook's outcome table)."""
    rows = []
    for r in results:
        m, prm = r.metrics, r.params
        rows.append({
            "mode": prm["mode"], "idempotent": prm["idempotent"],
            "failure_rate": prm["failure_rate"], "orders": m["orders"],
            "succeeded": m["succeeded"], "failed": m["failed"],
            "dead_lettered": m["dead_lettered"], "lost": m["lost"],
            "duplicate_charges": m["duplicate_charges"], "orphan_charges": m["orphan_charges"],
            "unbalanced_orders": m["unbalanced_orders"],
            "compensations": m["compensations"], "refunds": m["refunds"],
            "duplicate_emails": m["duplicate_emails"], "redeliveries": m["redeliveries"],
            "reordered": round(float(m["reordered"]), 3),
            "response_p50_ms": m["response_ms"]["p50"],
            "response_p99_ms": m["response_ms"]["p99"],
            "completion_p99_ms": m["completion_ms"]["p99"],
        })
    return pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))


def sweep_failure_rates(failure_rates: Sequence[float] = (0.0, 0.1, 0.3, 0.5), *,
                        modes: Sequence[str] = MODES, orders: int = 100, seed: int = 42,
                        **options: Any) -> list[Result]:
    """Run each mode at each failure rate (same seed); returns the results in order."""
    results = []
    for rate in failure_rates:
        for mode in modes:
            results.append(run_messaging(mode, orders, rate, seed, **options))
    return results


def reordering_table(*, orders: int = 120, seed: int = 42, workers: Sequence[int] = (1, 4),
                     failure_rates: Sequence[float] = (0.0, 0.3), **options: Any
                     ) -> pd.DataFrame:
    """Share of orders completed after a later order, by consumer count and failure rate
    (queue mode; ``measured``). One request thread publishes, so the queue holds the orders in
    arrival order and any reordering comes from the consumers and the retries."""
    rows = []
    for w in workers:
        for rate in failure_rates:
            opts = {"web_workers": 1, **options}  # publish in arrival order
            r = run_messaging("queue", orders, rate, seed, workers=w, **opts)
            rows.append({"workers": w, "failure_rate": rate,
                         "reordered": round(float(r.metrics["reordered"]), 3),
                         "retries": r.metrics["retries"],
                         "succeeded": r.metrics["succeeded"],
                         "dead_lettered": r.metrics["dead_lettered"]})
    return pd.DataFrame(rows)


def cascade_table(*, orders: int = 100, seed: int = 42, slow_service: str = "inventory",
                  slow_factor: float = 20.0, timeout_ms: float | None = 20.0,
                  **options: Any) -> tuple[pd.DataFrame, list[Result]]:
    """A slow service under direct calls and under a queue, without and with a client
    timeout (``timeout_ms``, real ms). Returns the table and the runs (``measured``)."""
    results = []
    for mode in MODES[::-1]:
        for t in (None, timeout_ms):
            results.append(run_messaging(mode, orders, 0.0, seed, slow_service=slow_service,
                                         slow_factor=slow_factor, timeout_ms=t, **options))
    frame = outcome_frame(results)
    frame.insert(1, "timeout_ms", [r.params["timeout_ms"] for r in results])
    return frame, results
