"""The inventory experiment: B concurrent buyers race for S units, and the checker judges the run.

:func:`run_inventory` builds the stores, deals a seeded workload to real buyer threads released
together by a barrier, records the history, lets the validator settle (eventual strategies), and
returns an :class:`InventoryRun`: a ``measured`` :class:`~ecomlab.measure.Result` plus the
history, the ledger and the checker's report. :func:`sweep_buyers` repeats it over buyer counts.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ecomlab import budget, validate
from ecomlab.errors import InvalidInput, UnsupportedOperation, choices_text
from ecomlab.inventory.eventual import EventBus, EventualInventory, Validator
from ecomlab.inventory.history import CheckReport, History, check
from ecomlab.inventory.model import (
    BACKENDS,
    EVENTUAL,
    LIMITS,
    NATURAL_BACKEND,
    STRATEGIES,
    STRONG,
    OrderSpec,
    Outcome,
    generate_workload,
    make_skus,
)
from ecomlab.inventory.payments import PaymentLedger
from ecomlab.inventory.relational import LOCK_ORDERS, RelationalInventory
from ecomlab.measure import LatencySummary, Result, progress
from ecomlab.stores import KvStore, SqlStore, borrowed, kv_store, sql_store

__all__ = ["InventoryRun", "resolve_backend", "run_inventory", "sweep_buyers"]

SQL_CHOICES: tuple[str, ...] = ("duckdb", "sqlite", "postgres")


@dataclass
class InventoryRun:
    """One run: the result record, the checker's report and the raw evidence.

    Attributes:
        result: the ``measured`` Result (``result.flat()`` is the CLI's JSON).
        report: the checker's verdict and evidence.
        history: every operation (invoke / ok / fail / info).
        ledger: every charge and refund.
        latencies_ms: each buyer call's latency (ms).
        lock_wait_ms: time each row-lock order spent waiting for ``FOR UPDATE`` (ms).
    """

    result: Result
    report: CheckReport
    history: History
    ledger: PaymentLedger
    latencies_ms: np.ndarray
    lock_wait_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def flat(self) -> dict[str, Any]:
        """The command line's JSON object."""
        return self.result.flat()


def resolve_backend(strategy: str, backend: str | None) -> str:
    """The backend a strategy runs on; refuses combinations that would not be honest.

    Raises:
        InvalidInput: unknown strategy or backend, or a relational strategy on ``redis`` (or an
            eventual one on a relational backend).
        UnsupportedOperation: row-lock on SQLite (drops FOR UPDATE) or DuckDB (rejects it).
    """
    strategy = validate.choice("strategy", strategy, STRATEGIES)
    if backend is None:
        return NATURAL_BACKEND[strategy]
    backend = validate.choice("backend", backend, BACKENDS)
    if strategy in EVENTUAL and backend != "redis":
        raise InvalidInput(f"strategy {strategy!r} keeps its fast path in a key-value store; "
                           f"backend must be 'redis', got {backend!r}")
    if strategy in STRONG and backend == "redis":
        raise InvalidInput(f"strategy {strategy!r} needs a relational store; choose "
                           f"{choices_text(SQL_CHOICES)}, got {backend!r}")
    if strategy == "row-lock" and backend in ("sqlite", "duckdb"):
        why = ("SQLite silently ignores FOR UPDATE, so it would run unlocked"
               if backend == "sqlite" else "DuckDB rejects SELECT ... FOR UPDATE")
        raise UnsupportedOperation(
            f"row-lock cannot run on {backend!r}: {why}; use backend 'postgres', or strategy "
            "'conditional-update' or 'optimistic'")
    return backend


def run_inventory(strategy: str, backend: str | None = None, *, stock: int = 20,
                  buyers: int = 8, orders: int = 100, skus: int = 1, seed: int = 42,
                  skew: float = 1.0, max_quantity: int = 1, max_items: int = 1,
                  payment_failure_rate: float = 0.0, buyer_crash_rate: float = 0.0,
                  validator_delay_ms: float = 0.0, validator_crash_rate: float = 0.0,
                  validator_restart_ms: float = 5.0, lock_order: str = "sorted",
                  max_retries: int = 200, idempotent_refunds: bool = True,
                  truth_backend: str = "postgres", sql: SqlStore | None = None,
                  kv: KvStore | None = None) -> InventoryRun:
    """Race ``buyers`` threads placing ``orders`` orders against ``stock`` units per SKU.

    Args:
        strategy: ``row-lock``, ``conditional-update``, ``optimistic``, ``cache-check`` or
            ``atomic-reserve``.
        backend: ``duckdb``, ``sqlite``, ``postgres`` or ``redis``; None = the natural store.
        stock: initial units per SKU (0..1,000,000).
        buyers: concurrent buyer threads (1..256).
        orders: orders in the workload (1..200,000).
        skus: SKUs on sale (1..1000); with 1 SKU every buyer hits the same hot row.
        skew: Zipf exponent of SKU popularity (0 = uniform).
        max_quantity, max_items: units per line (1..100) and SKUs per order (1..10).
        payment_failure_rate: probability a charge is declined.
        buyer_crash_rate: probability a buyer dies inside its transaction.
        validator_delay_ms, validator_crash_rate, validator_restart_ms: validator faults.
        lock_order: ``sorted`` or ``unordered`` (row-lock only: shows deadlocks).
        max_retries: retries per reservation before giving up.
        idempotent_refunds: refund with an idempotency key (eventual strategies).
        truth_backend: the source of truth of eventual strategies (``duckdb``, ``sqlite``,
            ``postgres``).
        sql, kv: stores to use instead of fresh ones (the caller disposes them).

    Raises:
        InvalidInput: any parameter out of range or unknown.
        UnsupportedOperation: row-lock on SQLite or DuckDB.
    """
    if sql is not None:
        backend = backend or ("redis" if strategy in EVENTUAL else sql.backend)
    backend = resolve_backend(strategy, backend)
    stock = validate.integer("stock", stock, minimum=0, maximum=LIMITS["stock"])
    buyers = validate.integer("buyers", buyers, minimum=1, maximum=LIMITS["buyers"])
    orders = validate.integer("orders", orders, minimum=1, maximum=LIMITS["orders"])
    seed = validate.integer("seed", seed, minimum=0)
    payment_failure_rate = validate.probability("payment_failure_rate", payment_failure_rate)
    buyer_crash_rate = validate.probability("buyer_crash_rate", buyer_crash_rate)
    lock_order = validate.choice("lock_order", lock_order, LOCK_ORDERS)
    truth_backend = validate.choice("truth_backend", truth_backend, SQL_CHOICES)
    validator_delay_ms = validate.number("validator_delay_ms", validator_delay_ms, minimum=0.0,
                                         maximum=10_000.0)
    validator_crash_rate = validate.probability("validator_crash_rate", validator_crash_rate)
    validator_restart_ms = validate.number("validator_restart_ms", validator_restart_ms,
                                           minimum=0.0, maximum=60_000.0)
    _refuse_ignored(strategy, lock_order=(lock_order, "sorted"),
                    validator_delay_ms=(validator_delay_ms, 0.0),
                    validator_crash_rate=(validator_crash_rate, 0.0),
                    validator_restart_ms=(validator_restart_ms, 5.0),
                    truth_backend=(truth_backend, "postgres"))
    if strategy in STRONG and sql is not None and sql.backend != backend:
        raise InvalidInput(f"backend {backend!r} does not match the given store "
                           f"{sql.backend!r}")
    sku_list = make_skus(skus, stock)
    workload = generate_workload(sku_list, orders, buyers, seed=seed, skew=skew,
                                 max_quantity=max_quantity, max_items=max_items)
    params: dict[str, Any] = {
        "strategy": strategy, "backend": backend, "stock": stock, "buyers": buyers,
        "orders": orders, "skus": skus, "skew": float(skew), "max_quantity": max_quantity,
        "max_items": max_items, "payment_failure_rate": payment_failure_rate,
        "buyer_crash_rate": buyer_crash_rate, "lock_order": lock_order,
    }
    ledger = PaymentLedger(payment_failure_rate, seed)
    history = History()
    with contextlib.ExitStack() as stack:
        if strategy in STRONG:
            sql = stack.enter_context(borrowed(sql, lambda: _fresh_sql(backend, buyers)))
            inv = RelationalInventory(sql, strategy, sku_list, lock_order=lock_order,
                                      max_retries=max_retries, seed=seed)
            backends = {"sql": inv.describe()}
            return _drive(inv, None, workload, buyers, ledger, history, params, backends,
                          seed, buyer_crash_rate, initial={s.sku: s.stock for s in sku_list})
        params.update(validator_delay_ms=float(validator_delay_ms),
                      validator_crash_rate=float(validator_crash_rate),
                      validator_restart_ms=float(validator_restart_ms),
                      idempotent_refunds=bool(idempotent_refunds), truth_backend=truth_backend)
        kv = stack.enter_context(borrowed(kv, kv_store))
        sql = stack.enter_context(borrowed(sql, lambda: _fresh_sql(truth_backend, buyers)))
        bus = EventBus()
        ev = EventualInventory(kv, sql, strategy, sku_list, bus)
        stack.callback(ev.close)
        validator = Validator(ev, ledger, history, delay_ms=validator_delay_ms,
                              crash_rate=validator_crash_rate, restart_ms=validator_restart_ms,
                              idempotent_refunds=idempotent_refunds, seed=seed)
        backends = {"kv": kv.describe(), "sql": sql.describe()}
        return _drive(ev, validator, workload, buyers, ledger, history, params, backends,
                      seed, buyer_crash_rate, initial={s.sku: s.stock for s in sku_list})


def _fresh_sql(backend: str, buyers: int) -> SqlStore:
    """A store whose pool keeps one connection per buyer (at most 52 on PostgreSQL, which
    shares ``max_connections`` with everyone else; more buyers then queue for a connection)."""
    if backend == "postgres":
        return sql_store("postgres", pool_size=min(buyers, 48) + 4, max_overflow=0)
    return sql_store(backend, pool_size=buyers + 4, max_overflow=120)


#: options that only some strategies use -> those strategies
_FAMILY_OPTIONS: dict[str, tuple[str, ...]] = {
    "lock_order": ("row-lock",), "validator_delay_ms": EVENTUAL,
    "validator_crash_rate": EVENTUAL, "validator_restart_ms": EVENTUAL,
    "truth_backend": EVENTUAL,
}


def _refuse_ignored(strategy: str, **options: tuple[object, object]) -> None:
    """Refuse an option set away from its default for a strategy that would ignore it."""
    for name, (value, default) in options.items():
        applies_to = _FAMILY_OPTIONS[name]
        if strategy not in applies_to and value != default:
            raise InvalidInput(f"{name}={value!r} has no effect with strategy {strategy!r}; it "
                               f"applies to {', '.join(repr(s) for s in applies_to)}")


def _drive(inv: RelationalInventory | EventualInventory, validator: Validator | None,
           workload: Sequence[OrderSpec], buyers: int, ledger: PaymentLedger,
           history: History, params: dict[str, Any], backends: dict[str, Any], seed: int,
           buyer_crash_rate: float, *, initial: dict[str, int]) -> InventoryRun:
    per_buyer: list[list[OrderSpec]] = [[] for _ in range(buyers)]
    for spec in workload:
        per_buyer[spec.buyer].append(spec)
    latencies = np.zeros(len(workload))
    lock_wait = np.zeros(len(workload))
    outcomes: list[Outcome | None] = [None] * len(workload)
    errors: list[BaseException] = []
    barrier = threading.Barrier(buyers + 1)
    stop = threading.Event()  # set on Ctrl-C: buyers finish the order in hand and leave

    store = inv.tables.store if isinstance(inv, EventualInventory) else inv.store
    pool_size = getattr(store.engine.pool, "size", None)
    # a row-lock buyer on PostgreSQL keeps its connection as its session (as a pgbench client
    # does) when the pool has one for every buyer; otherwise buyers take turns per transaction
    sessions = (isinstance(inv, RelationalInventory) and inv.holds_session
                and callable(pool_size) and buyers <= pool_size())

    def buyer(b: int) -> None:
        process = f"buyer-{b}"
        try:
            with contextlib.ExitStack() as session:
                # open this buyer's pooled connection before the race
                held: sa.Connection | None = session.enter_context(store.engine.connect())
                if not sessions:
                    session.close()
                    held = None
                buy(b, process, held, barrier)
        except Exception as exc:  # surfaced in the main thread below
            errors.append(exc)
            barrier.abort()

    def buy(b: int, process: str, held: sa.Connection | None,
            barrier: threading.Barrier) -> None:
        barrier.wait()
        for spec in per_buyer[b]:
            if stop.is_set():
                return
            crash = bool(buyer_crash_rate) and np.random.default_rng(
                [seed, spec.order_id, 3]).random() < buyer_crash_rate
            lines = [[ln.sku, ln.quantity] for ln in spec.lines]
            history.record(process, "invoke", "order", spec.order_id, lines=lines)
            t0 = time.perf_counter_ns()
            oid = spec.order_id
            accept = functools.partial(history.record, process, "ok", "order", oid)
            if held is not None and isinstance(inv, RelationalInventory):
                out = inv.place_order(spec, ledger, crash=crash, on_accept=accept,
                                      connection=held)
            else:
                out = inv.place_order(spec, ledger, crash=crash, on_accept=accept)
            latencies[oid - 1] = (time.perf_counter_ns() - t0) / 1e6
            lock_wait[oid - 1] = out.lock_wait_ns / 1e6
            outcomes[oid - 1] = out
            budget.advance()  # the command line's progress and Ctrl-C report
            if out.status == "rejected":
                history.record(process, "fail", "order", oid, reason=out.reason)
            elif out.status == "crashed":
                history.record(process, "info", "order", oid, reason=out.reason)

    # daemon threads: an interrupted run ends at once instead of finishing every buyer's list
    threads = [threading.Thread(target=buyer, args=(b,), name=f"buyer-{b}", daemon=True)
               for b in range(buyers)]
    for t in threads:
        t.start()
    if validator is not None:
        validator.start()
    try:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        t_start = time.perf_counter()
        for t in threads:
            while t.is_alive():  # a bounded join lets Ctrl-C reach this thread
                t.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        barrier.abort()
        deadline = time.monotonic() + 0.2
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.0))
        raise
    buy_s = time.perf_counter() - t_start
    settle_ms = 0.0
    if validator is not None:
        t1 = time.perf_counter()
        drained = validator.drain()
        settle_ms = (time.perf_counter() - t1) * 1000
        if not drained:
            errors.append(RuntimeError("the validator did not drain within 120 s"))
    if errors:
        raise errors[0]
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
    done = [o for o in outcomes if o is not None]
    lat = LatencySummary.of_ms(latencies)
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
        "throughput_per_s": round(len(workload) / buy_s, 1) if buy_s > 0 else None,
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
        lw = LatencySummary.of_ms(lock_wait)
        metrics["lock_wait_ms"] = {k: v for k, v in lw.as_dict().items()
                                   if k in ("p50", "p95", "p99", "max")}
    if isinstance(inv, EventualInventory) and validator is not None:
        metrics["settle_ms"] = round(settle_ms, 2)
        metrics["validator_crashes"] = validator.crashes
        metrics["redeliveries"] = inv.bus.redelivered
        metrics["cache_drift_units"] = inv.reconcile_cache()
    result = Result("inventory", "measured", seed, params, metrics, backends)
    return InventoryRun(result, report, history, ledger, latencies,
                        lock_wait if metrics.get("lock_wait_ms") else np.zeros(0))


def sweep_buyers(strategies: Sequence[str], buyers: Sequence[int], *, stock: int = 20,
                 orders: int = 100, seed: int = 42, show_progress: bool = True,
                 **kwargs: Any) -> pd.DataFrame:
    """Run each strategy (on its natural store) at each buyer count; one row per run.

    Stores are created once per backend and reused (each run gets fresh tables or keys).
    Columns: strategy, backend, buyers, throughput_per_s, p50_ms, p99_ms, oversold_units,
    uncompensated_oversold_units, orders_confirmed, orders_cancelled, retries, deadlocks,
    lock_wait_p99_ms, ttc_p50_ms, ttc_p99_ms, valid.
    """
    if not strategies or not buyers:
        raise InvalidInput("need at least one strategy and one buyer count")
    for s in strategies:
        validate.choice("strategy", s, STRATEGIES)
    rows: list[dict[str, Any]] = []
    sql_stores: dict[str, SqlStore] = {}
    kv: KvStore | None = None
    jobs = [(s, b) for s in strategies for b in buyers]
    try:
        for strategy, b in progress(jobs, total=len(jobs), desc="inventory sweep",
                                    disable=not show_progress):
            backend = NATURAL_BACKEND[strategy]
            sql_key = backend if strategy in STRONG else kwargs.get("truth_backend", "postgres")
            if sql_key not in sql_stores:
                sql_stores[sql_key] = _fresh_sql(sql_key, max(buyers))
            if strategy in EVENTUAL and kv is None:
                kv = kv_store()
            # options of one family (a validator's, a lock order) go to the strategies that
            # use them; the others would refuse them as having no effect
            options = {k: v for k, v in kwargs.items()
                       if k not in _FAMILY_OPTIONS or strategy in _FAMILY_OPTIONS[k]}
            run = run_inventory(strategy, None, stock=stock, buyers=b, orders=orders,
                                seed=seed, sql=sql_stores[sql_key],
                                kv=kv if strategy in EVENTUAL else None, **options)
            m = run.result.metrics
            rows.append({
                "strategy": strategy, "backend": backend, "buyers": b,
                "throughput_per_s": m["throughput_per_s"],
                "p50_ms": m["latency_ms"]["p50"], "p99_ms": m["latency_ms"]["p99"],
                "oversold_units": m["oversold_units"],
                "uncompensated_oversold_units": m["uncompensated_oversold_units"],
                "orders_confirmed": m["orders_confirmed"],
                "orders_cancelled": m["orders_cancelled"],
                "retries": m["retries"], "deadlocks": m["deadlocks"],
                "lock_wait_p99_ms": m.get("lock_wait_ms", {}).get("p99", np.nan),
                "ttc_p50_ms": m["time_to_consistency_ms"]["p50"],
                "ttc_p99_ms": m["time_to_consistency_ms"]["p99"],
                "valid": m["valid"],
            })
    finally:
        for store in sql_stores.values():
            store.dispose()
        if kv is not None:
            kv.dispose()
    return pd.DataFrame(rows)
