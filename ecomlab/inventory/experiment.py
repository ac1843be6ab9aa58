"""The inventory experiment: B concurrent buyers race for S units, and the checker judges the run.

:func:`run_inventory` builds the stores, deals a seeded workload to real buyer threads released
together by a barrier, records the history, lets the validator settle (eventual strategies), and
returns an :class:`InventoryRun`: a ``measured`` :class:`~ecomlab.measure.Result` plus the
history, the ledger and the checker's report. :func:`sweep_buyers` repeats it over buyer counts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomlab import validate
from ecomlab.errors import InvalidInput, UnsupportedOperation, choices_text
from ecomlab.inventory.eventual import EventBus, EventualInventory, Validator
from ecomlab.inventory.history import CheckReport, History
from ecomlab.inventory.model import (
    BACKENDS,
    EVENTUAL,
    LIMITS,
    NATURAL_BACKEND,
    STRATEGIES,
    STRONG,
    OrderSpec,
    Sku,
    generate_workload,
    make_skus,
)
from ecomlab.inventory.payments import PaymentLedger
from ecomlab.inventory.race import judge, race, race_metrics
from ecomlab.inventory.relational import LOCK_ORDERS, RelationalInventory
from ecomlab.measure import Result, progress
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
                  validator_restart_ms: float = 5.0, validator_crash_step: int | None = None,
                  lock_order: str = "sorted", max_retries: int = 200,
                  idempotent_refunds: bool = True, truth_backend: str = "postgres",
                  sql: SqlStore | None = None, kv: KvStore | None = None) -> InventoryRun:
    """Race ``buyers`` threads placing ``orders`` orders against ``stock`` units per SKU.

    Args:
        strategy: ``row-lock``, ``conditional-update``, ``optimistic``, ``cache-check`` or
            ``atomic-reserve``.
        backend: ``duckdb``, ``sqlite``, ``postgres`` or ``redis``; None = the natural store.
        stock, buyers: initial units per SKU (0..1,000,000); buyer threads (1..256).
        orders: orders in the workload (1..200,000).
        skus: SKUs on sale (1..1000); with 1 SKU every buyer hits the same hot row.
        skew: Zipf exponent of SKU popularity (0 = uniform).
        max_quantity, max_items: units per line (1..100) and SKUs per order (1..10).
        payment_failure_rate: probability a charge is declined.
        buyer_crash_rate: probability a buyer dies inside its transaction.
        validator_delay_ms, validator_crash_rate, validator_restart_ms: validator faults;
            validator_crash_step: crash at this step (0-2) of every first delivery (forced).
        lock_order: ``sorted`` or ``unordered`` (row-lock only: shows deadlocks).
        max_retries, idempotent_refunds: retries per reservation; refund with a key.
        truth_backend: the source of truth of eventual strategies (``duckdb``, ``sqlite``,
            ``postgres``).
        sql, kv: stores to use instead of fresh ones (the caller disposes them).

    Raises:
        InvalidInput: any parameter out of range or unknown.
        UnsupportedOperation: row-lock on SQLite or DuckDB.
    """
    backend = _backend(strategy, backend, sql)
    stock = validate.integer("stock", stock, minimum=0, maximum=LIMITS["stock"])
    buyers = validate.integer("buyers", buyers, minimum=1, maximum=LIMITS["buyers"])
    orders = validate.integer("orders", orders, minimum=1, maximum=LIMITS["orders"])
    seed = validate.integer("seed", seed, minimum=0)
    payment_failure_rate = validate.probability("payment_failure_rate", payment_failure_rate)
    buyer_crash_rate = validate.probability("buyer_crash_rate", buyer_crash_rate)
    lock_order = validate.choice("lock_order", lock_order, LOCK_ORDERS)
    truth_backend = validate.choice("truth_backend", truth_backend, SQL_CHOICES)
    faults = _validator_faults(validator_delay_ms, validator_crash_rate, validator_restart_ms,
                               validator_crash_step)
    _refuse_ignored(strategy, lock_order=(lock_order, "sorted"),
                    validator_delay_ms=(faults["delay_ms"], 0.0),
                    validator_crash_rate=(faults["crash_rate"], 0.0),
                    validator_restart_ms=(faults["restart_ms"], 5.0),
                    validator_crash_step=(faults["crash_step"], None),
                    truth_backend=(truth_backend, "postgres"))
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
    initial = {s.sku: s.stock for s in sku_list}
    with contextlib.ExitStack() as stack:
        inv: RelationalInventory | EventualInventory
        if strategy in STRONG:
            sql = stack.enter_context(borrowed(sql, lambda: _fresh_sql(backend, buyers)))
            inv = RelationalInventory(sql, strategy, sku_list, lock_order=lock_order,
                                      max_retries=max_retries, seed=seed)
            validator, backends = None, {"sql": inv.describe()}
        else:
            params.update({f"validator_{k}": float(v) for k, v in faults.items() if v is not None},
                          idempotent_refunds=bool(idempotent_refunds),
                          truth_backend=truth_backend)
            inv, validator, backends = _eventual(
                stack, strategy, sku_list, ledger, history, kv=kv, sql=sql,
                open_sql=lambda: _fresh_sql(truth_backend, buyers), faults=faults,
                idempotent_refunds=idempotent_refunds, seed=seed)
        return _drive(inv, validator, workload, buyers, ledger, history, params, backends,
                      seed, buyer_crash_rate, initial=initial)


def _backend(strategy: str, backend: str | None, sql: SqlStore | None) -> str:
    """The backend to run on: ``backend``, else the given store's, else the strategy's natural
    one (see :func:`resolve_backend`); a relational strategy's given store must be on it."""
    if sql is not None:
        backend = backend or ("redis" if strategy in EVENTUAL else sql.backend)
    backend = resolve_backend(strategy, backend)
    if strategy in STRONG and sql is not None and sql.backend != backend:
        raise InvalidInput(f"backend {backend!r} does not match the given store "
                           f"{sql.backend!r}")
    return backend


def _eventual(stack: contextlib.ExitStack, strategy: str, skus: Sequence[Sku],
              ledger: PaymentLedger, history: History, *, kv: KvStore | None,
              sql: SqlStore | None, open_sql: Callable[[], SqlStore], faults: dict[str, Any],
              idempotent_refunds: bool, seed: int
              ) -> tuple[EventualInventory, Validator, dict[str, Any]]:
    """An eventual strategy's inventory (a key-value store in front of the source of truth),
    its validator and the stores' descriptions; what it opens closes with ``stack``."""
    kv_ = stack.enter_context(borrowed(kv, kv_store))
    sql_ = stack.enter_context(borrowed(sql, open_sql))
    inv = EventualInventory(kv_, sql_, strategy, skus, EventBus())
    stack.callback(inv.close)
    validator = Validator(inv, ledger, history, idempotent_refunds=idempotent_refunds,
                          seed=seed, **faults)
    return inv, validator, {"kv": kv_.describe(), "sql": sql_.describe()}


def _validator_faults(delay_ms: float, crash_rate: float, restart_ms: float,
                      crash_step: int | None = None) -> dict[str, Any]:
    """The validator's faults, checked: delay (ms), crash probability, restart time (ms), and
    the step it always crashes at on a first delivery (None: no forced crash)."""
    return {"delay_ms": validate.number("validator_delay_ms", delay_ms, minimum=0.0,
                                        maximum=10_000.0),
            "crash_rate": validate.probability("validator_crash_rate", crash_rate),
            "restart_ms": validate.number("validator_restart_ms", restart_ms, minimum=0.0,
                                          maximum=60_000.0),
            "crash_step": None if crash_step is None else validate.integer(
                "validator_crash_step", crash_step, minimum=0, maximum=2)}


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
    "validator_crash_step": EVENTUAL,
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
    """Race the buyers, judge the history, and keep the figures as a ``measured`` Result."""
    record = race(inv, validator, workload, buyers, ledger, history, seed=seed,
                  buyer_crash_rate=buyer_crash_rate)
    report = judge(inv, history, ledger, initial)
    metrics = race_metrics(inv, validator, report, record)
    result = Result("inventory", "measured", seed, params, metrics, backends)
    return InventoryRun(result, report, history, ledger, record.latencies_ms,
                        record.lock_wait_ms if metrics.get("lock_wait_ms") else np.zeros(0))


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
