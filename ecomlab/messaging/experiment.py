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
``completion_ms`` (until the order is really done). Direct runs also report
``thread_wait_ms`` (from arrival until a request thread picks the order up) and
``failed_response_ms`` (the response of the checkouts that failed).
"""


from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.measure import Result
from ecomlab.messaging.arrivals import reordered_share
from ecomlab.messaging.choices import LEDGERS, MODES
from ecomlab.messaging.direct import run_direct
from ecomlab.messaging.flows import KvLedger, OrderRequest
from ecomlab.messaging.params import SEED_RETRY_DELAY_MS, MessagingParams
from ecomlab.messaging.queued import run_queue
from ecomlab.messaging.services import SEED_LATENCY_MS, Services, make_services
from ecomlab.stores.broker import Broker, InProcessBroker, broker_store
from ecomlab.stores.kv import KvStore, kv_store
from ecomlab.stores.lifecycle import borrowed
from ecomlab.validate import choice, integer, number, probability

__all__ = [
    "LEDGERS",
    "MODES",
    "SEED_RETRY_DELAY_MS",
    "MessagingParams",
    "cascade_table",
    "expected_success_share",
    "outcome_frame",
    "reordered_share",
    "reordering_table",
    "run_messaging",
    "sweep_failure_rates",
]


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
    p = _params(mode, orders, failure_rate, seed, options)
    number("drain_timeout_s", drain_timeout_s, minimum=0.0, min_inclusive=False)
    services = make_services(seed=p.seed, time_scale=p.time_scale, failure_rates=p.rates(),
                             slow_service=p.slow_service, slow_factor=p.slow_factor)
    orders_list, arrivals = _orders(p)
    backends: dict[str, Any] = {"services": {"backend": "in-process", "embedded": True}}
    started = time.perf_counter()
    if p.mode == "direct":
        raw = run_direct(p, services, orders_list, arrivals, show_progress)
    else:
        raw = _queued(p, services, orders_list, arrivals, backends, broker=broker, kv=kv,
                      restart_broker=restart_broker, drain_timeout_s=drain_timeout_s,
                      show_progress=show_progress)
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


def _params(mode: str, orders: int, failure_rate: float, seed: int,
            options: dict[str, Any]) -> MessagingParams:
    known = set(MessagingParams.__dataclass_fields__) - {"mode", "orders", "failure_rate",
                                                         "seed"}
    unknown = set(options) - known
    if unknown:
        from ecomlab.errors import choices_text

        raise InvalidInput(f"unknown option(s) {sorted(unknown)!r}; choose "
                           f"{choices_text(sorted(known))}")
    return MessagingParams(mode, orders, failure_rate, seed, **options)


def _queued(p: MessagingParams, services: Services, orders: list[OrderRequest],
            arrivals: np.ndarray, backends: dict[str, Any], *, broker: Broker | None,
            kv: KvStore | None, restart_broker: Callable[[], None] | None,
            drain_timeout_s: float, show_progress: bool) -> dict[str, Any]:
    """The queue run with its broker (and, for ``ledger="kv"``, its Redis ledger)."""
    with contextlib.ExitStack() as stack:
        bstore = stack.enter_context(borrowed(broker, broker_store))
        ledger: KvLedger | None = None
        if p.ledger == "kv":
            kstore = stack.enter_context(borrowed(kv, kv_store))
            ledger = KvLedger(kstore.client,
                              kstore.claim_prefix(f"ecomlab:messaging:{uuid.uuid4().hex[:12]}"))
            stack.callback(_drop_ledger, ledger, kstore)
            backends["kv"] = kstore.describe()
        if p.broker_restart and not isinstance(bstore, InProcessBroker) \
                and restart_broker is None:
            raise UnsupportedOperation(
                f"broker_restart on {bstore.backend!r} needs a restart_broker callable; "
                "ecomlab restarts only its in-process broker by itself")
        backends["broker"] = bstore.describe()
        return run_queue(p, services, orders, arrivals, bstore, restart_broker,
                         drain_timeout_s, show_progress, ledger)


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
