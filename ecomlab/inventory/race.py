"""The race itself: buyer threads released together by a barrier, each placing its share of
the workload; then the validator settles (eventual strategies) and the checker judges the run.

:func:`race` runs the threads and times them, :func:`judge` reads the stores back into the
checker's report, :func:`race_metrics` turns both into the run's figures (ms, units, orders/s).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from ecomlab import budget
from ecomlab.inventory.eventual import EventualInventory, Validator
from ecomlab.inventory.history import CheckReport, History, check
from ecomlab.inventory.model import OrderSpec, Outcome
from ecomlab.inventory.payments import PaymentLedger
from ecomlab.inventory.relational import RelationalInventory
from ecomlab.measure import LatencySummary

__all__ = ["RaceRecord", "judge", "race", "race_metrics"]

Inventory = RelationalInventory | EventualInventory


@dataclass
class RaceRecord:
    """What the buyers left behind, one slot per order (order id - 1).

    Attributes:
        latencies_ms: each buyer call's latency (ms).
        lock_wait_ms: time each order waited for its row locks (ms; 0 without row locks).
        outcomes: each order's outcome (None: never placed, the run was interrupted).
        buy_s: from the barrier's release to the last buyer's end (s).
        settle_ms: the validator's time to drain its queue after the race (ms; 0 without one).
    """

    latencies_ms: np.ndarray
    lock_wait_ms: np.ndarray
    outcomes: list[Outcome | None]
    buy_s: float = 0.0
    settle_ms: float = 0.0


class _Buyers:
    """``buyers`` threads, each placing its orders in turn once the barrier lets them go."""

    def __init__(self, inv: Inventory, workload: Sequence[OrderSpec], buyers: int,
                 ledger: PaymentLedger, history: History, seed: int,
                 buyer_crash_rate: float) -> None:
        self.inv, self.ledger, self.history = inv, ledger, history
        self.seed, self.buyer_crash_rate = seed, buyer_crash_rate
        self.per_buyer: list[list[OrderSpec]] = [[] for _ in range(buyers)]
        for spec in workload:
            self.per_buyer[spec.buyer].append(spec)
        self.record = RaceRecord(np.zeros(len(workload)), np.zeros(len(workload)),
                                 [None] * len(workload))
        self.errors: list[BaseException] = []
        self.barrier = threading.Barrier(buyers + 1)
        self.stop = threading.Event()  # set on Ctrl-C: buyers finish the order in hand, leave
        self.store = inv.tables.store if isinstance(inv, EventualInventory) else inv.store
        pool_size = getattr(self.store.engine.pool, "size", None)
        # a row-lock buyer on PostgreSQL keeps its connection as its session (as a pgbench
        # client does) when the pool has one for every buyer; otherwise buyers take turns per
        # transaction
        self.sessions = (isinstance(inv, RelationalInventory) and inv.holds_session
                         and callable(pool_size) and buyers <= pool_size())

    def buyer(self, b: int) -> None:
        """One buyer thread: take a session if buyers hold one, then buy."""
        process = f"buyer-{b}"
        try:
            with contextlib.ExitStack() as session:
                # open this buyer's pooled connection before the race
                held: sa.Connection | None = session.enter_context(self.store.engine.connect())
                if not self.sessions:
                    session.close()
                    held = None
                self.buy(b, process, held)
        except Exception as exc:  # surfaced in the main thread by race()
            self.errors.append(exc)
            self.barrier.abort()

    def buy(self, b: int, process: str, held: sa.Connection | None) -> None:
        """Wait for the start, then place buyer ``b``'s orders, recording each in the history."""
        inv, history, rec = self.inv, self.history, self.record
        self.barrier.wait()
        for spec in self.per_buyer[b]:
            if self.stop.is_set():
                return
            crash = bool(self.buyer_crash_rate) and np.random.default_rng(
                [self.seed, spec.order_id, 3]).random() < self.buyer_crash_rate
            lines = [[ln.sku, ln.quantity] for ln in spec.lines]
            history.record(process, "invoke", "order", spec.order_id, lines=lines)
            t0 = time.perf_counter_ns()
            oid = spec.order_id
            accept = functools.partial(history.record, process, "ok", "order", oid)
            if held is not None and isinstance(inv, RelationalInventory):
                out = inv.place_order(spec, self.ledger, crash=crash, on_accept=accept,
                                      connection=held)
            else:
                out = inv.place_order(spec, self.ledger, crash=crash, on_accept=accept)
            rec.latencies_ms[oid - 1] = (time.perf_counter_ns() - t0) / 1e6
            rec.lock_wait_ms[oid - 1] = out.lock_wait_ns / 1e6
            rec.outcomes[oid - 1] = out
            budget.advance()  # the command line's progress and Ctrl-C report
            if out.status == "rejected":
                history.record(process, "fail", "order", oid, reason=out.reason)
            elif out.status == "crashed":
                history.record(process, "info", "order", oid, reason=out.reason)


def race(inv: Inventory, validator: Validator | None, workload: Sequence[OrderSpec],
         buyers: int, ledger: PaymentLedger, history: History, *, seed: int,
         buyer_crash_rate: float) -> RaceRecord:
    """Release ``buyers`` threads together on ``workload``; the validator (if any) runs beside
    them and drains after. Ctrl-C stops the buyers after the order in hand and is re-raised.

    Raises:
        the first error a buyer met, or RuntimeError when the validator does not drain.
    """
    crowd = _Buyers(inv, workload, buyers, ledger, history, seed, buyer_crash_rate)
    # daemon threads: an interrupted run ends at once instead of finishing every buyer's list
    threads = [threading.Thread(target=crowd.buyer, args=(b,), name=f"buyer-{b}", daemon=True)
               for b in range(buyers)]
    for t in threads:
        t.start()
    if validator is not None:
        validator.start()
    try:
        with contextlib.suppress(threading.BrokenBarrierError):
            crowd.barrier.wait()
        t_start = time.perf_counter()
        for t in threads:
            while t.is_alive():  # a bounded join lets Ctrl-C reach this thread
                t.join(0.1)
    except KeyboardInterrupt:
        crowd.stop.set()
        crowd.barrier.abort()
        deadline = time.monotonic() + 0.2
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.0))
        raise
    crowd.record.buy_s = time.perf_counter() - t_start
    if validator is not None:
        t1 = time.perf_counter()
        drained = validator.drain()
        crowd.record.settle_ms = (time.perf_counter() - t1) * 1000
        if not drained:
            crowd.errors.append(RuntimeError("the validator did not drain within 120 s"))
    if crowd.errors:
        raise crowd.errors[0]
    return crowd.record


def judge(inv: Inventory, history: History, ledger: PaymentLedger,
          initial: dict[str, int]) -> CheckReport:
    """The checker's report on the history, the final stock, the orders and the ledger."""
    tables = inv.tables if isinstance(inv, EventualInventory) else inv
    final = tables.stock()
    report = check(history, initial=initial, final=final, orders=tables.orders(),
                   ledger=ledger.entries())
    if isinstance(inv, EventualInventory) and inv.strategy == "atomic-reserve":
        # the cache is the reservation: units it holds back beyond the truth's belong to no
        # order (the buyer crashed between reserving and creating the order)
        cached = inv.cached_stock()
        report.add_leaked_units(sum(max(0, row.available - cached.get(sku, 0))
                                    for sku, row in final.items()))
    return report


def race_metrics(inv: Inventory, validator: Validator | None, report: CheckReport,
                 record: RaceRecord) -> dict[str, Any]:
    """The run's figures: the checker's counts, speed (orders/s, ms), retries, consistency."""
    tables = inv.tables if isinstance(inv, EventualInventory) else inv
    done = [o for o in record.outcomes if o is not None]
    buy_s = record.buy_s
    lat = LatencySummary.of_ms(record.latencies_ms)
    ttc = LatencySummary.of_ms(report.time_to_consistency_ms)
    metrics: dict[str, Any] = {
        "orders_attempted": report.orders_attempted,
        "orders_confirmed": report.orders_confirmed,
        "orders_cancelled": report.orders_cancelled,
        "orders_rejected": report.orders_rejected,
        "orders_accepted": report.orders_accepted,
        "oversold_units": report.oversold_units,
        "uncompensated_oversold_units": report.uncompensated_oversold_units,
        "refunds": report.refunds,
        "double_refunds": report.double_refunds,
        "final_available": sum(r.available for r in tables.stock().values()),
        "conservation_ok": report.conservation_ok,
        "lost_update_units": report.lost_update_units,
        "negative_stock_skus": len(report.negative_stock),
        "books_balance": report.books_balance,
        "leaked_units": report.leaked_units,
        "valid": report.valid,
        "anomalies": report.anomalies,
        "throughput_per_s": (round(len(record.outcomes) / buy_s, 1) if buy_s > 0 else None),
        "duration_s": round(buy_s, 4),
        "latency_ms": {k: v for k, v in lat.as_dict().items() if k in ("p50", "p95", "p99")},
        "retries": sum(o.retries for o in done),
        "conflicts": sum(o.conflicts for o in done),
        "deadlocks": sum(o.deadlocks for o in done),
        "retries_exhausted": sum(1 for o in done if o.reason == "retries_exhausted"),
        "payment_declined": sum(1 for o in done if o.reason == "payment_declined"),
        "buyer_crashes": sum(1 for o in done if o.status == "crashed"),
        "time_to_consistency_ms": {"p50": ttc.as_dict()["p50"], "p99": ttc.as_dict()["p99"],
                                   "count": ttc.count},
    }
    if isinstance(inv, RelationalInventory) and inv.strategy == "row-lock":
        lw = LatencySummary.of_ms(record.lock_wait_ms)
        metrics["lock_wait_ms"] = {k: v for k, v in lw.as_dict().items()
                                   if k in ("p50", "p95", "p99", "max")}
    if isinstance(inv, EventualInventory) and validator is not None:
        metrics["settle_ms"] = round(record.settle_ms, 2)
        metrics["validator_crashes"] = validator.crashes
        metrics["redeliveries"] = inv.bus.redelivered
        metrics["cache_drift_units"] = inv.reconcile_cache()
    return metrics
