"""The inventory tables (stock rows, orders, order lines) and the transaction that runs on them.

:class:`InventoryTables` creates the tables under a fresh prefix and reads them back;
:func:`transaction` runs one unit of work in a transaction, rolls it back on a conflict, a busy
database or a deadlock, and retries with jittered exponential backoff. Both the strong
strategies (:mod:`ecomlab.inventory.relational`) and the eventual ones
(:mod:`ecomlab.inventory.eventual`) write through them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa

from ecomlab.errors import EnvironmentFailure, InvalidInput
from ecomlab.inventory.history import OrderRecord, StockRow
from ecomlab.inventory.model import Line, OrderSpec, Outcome, Sku
from ecomlab.stores import SqlStore

__all__ = ["InventoryTables", "RetriesExhausted", "RetryTransaction", "classify_db_error",
           "transaction"]

T = TypeVar("T")


class RetriesExhausted(EnvironmentFailure):
    """A transaction kept conflicting after the allowed number of attempts.

    An :class:`~ecomlab.errors.EnvironmentFailure`, so if it ever reaches the command
    line it is one line and exit status 1, not a traceback.
    """


class RetryTransaction(Exception):
    """Raised inside a transaction to roll it back and try again (a version conflict)."""


def classify_db_error(exc: BaseException) -> str | None:
    """``deadlock``, ``conflict`` or ``busy`` for errors worth retrying; None otherwise."""
    orig = getattr(exc, "orig", exc)
    name = type(orig).__name__
    text = str(orig).lower()
    if name == "DeadlockDetected" or "deadlock detected" in text:
        return "deadlock"
    if name == "SerializationFailure" or "could not serialize" in text or "conflict" in text:
        return "conflict"
    if "database is locked" in text or "database is busy" in text:
        return "busy"
    return None


class InventoryTables:
    """Inventory rows (available, reserved, sold units), orders and order lines in one store.

    The tables get a fresh random prefix, so one store can hold several runs.
    """

    def __init__(self, store: SqlStore, skus: Sequence[Sku]) -> None:
        self.store = store
        self.skus = {s.sku: s for s in skus}
        if len(self.skus) != len(skus):
            raise InvalidInput("SKU codes must be unique")
        tag = secrets.token_hex(4)
        self.t_stock = f"inv_{tag}_stock"
        self.t_orders = f"inv_{tag}_orders"
        self.t_lines = f"inv_{tag}_lines"
        self._create_tables()

    def _create_tables(self) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(sa.text(
                f"CREATE TABLE {self.t_stock} (product_id INTEGER PRIMARY KEY, "
                "sku VARCHAR(64) NOT NULL, price_cents BIGINT NOT NULL, "
                "available_stock INTEGER NOT NULL, reserved_stock INTEGER NOT NULL, "
                "sold_stock INTEGER NOT NULL, version INTEGER NOT NULL)"))
            conn.execute(sa.text(
                f"CREATE TABLE {self.t_orders} (order_id INTEGER PRIMARY KEY, "
                "buyer INTEGER NOT NULL, status VARCHAR(16) NOT NULL, "
                "amount_cents BIGINT NOT NULL)"))
            conn.execute(sa.text(
                f"CREATE TABLE {self.t_lines} (order_id INTEGER NOT NULL, "
                "product_id INTEGER NOT NULL, quantity INTEGER NOT NULL, "
                "PRIMARY KEY (order_id, product_id))"))
            conn.execute(
                sa.text(f"INSERT INTO {self.t_stock} VALUES (:p, :s, :c, :a, 0, 0, 0)"),
                [{"p": s.product_id, "s": s.sku, "c": round(s.price_usd * 100), "a": s.stock}
                 for s in self.skus.values()])

    def product_pairs(self, lines: Sequence[Line]) -> list[tuple[int, int]]:
        """(product id, quantity) per line, sorted by product id (the deadlock-free order)."""
        return sorted((self.skus[ln.sku].product_id, ln.quantity) for ln in lines)

    def insert_order(self, conn: sa.Connection, spec: OrderSpec,
                     pairs: Sequence[tuple[int, int]], lines: Sequence[Line],
                     status: str) -> None:
        """Insert the order row and its lines inside the caller's transaction."""
        conn.execute(sa.text(f"INSERT INTO {self.t_orders} VALUES (:o, :b, :s, :a)"),
                     {"o": spec.order_id, "b": spec.buyer, "s": status,
                      "a": self.amount_cents(lines)})
        conn.execute(sa.text(f"INSERT INTO {self.t_lines} VALUES (:o, :p, :q)"),
                     [{"o": spec.order_id, "p": p, "q": q} for p, q in pairs])

    def stock(self) -> dict[str, StockRow]:
        """The current stock rows, by SKU (units)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.text(
                f"SELECT sku, available_stock, reserved_stock, sold_stock FROM {self.t_stock}"
            )).all()
        return {str(r[0]): StockRow(int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def orders(self) -> dict[int, OrderRecord]:
        """Every order row with its lines (order id -> record)."""
        with self.store.engine.connect() as conn:
            heads = conn.execute(sa.text(
                f"SELECT order_id, status, amount_cents FROM {self.t_orders}")).all()
            lines = conn.execute(sa.text(
                f"SELECT l.order_id, s.sku, l.quantity FROM {self.t_lines} l "
                f"JOIN {self.t_stock} s ON s.product_id = l.product_id")).all()
        by_order: dict[int, list[tuple[str, int]]] = {}
        for oid, sku, q in lines:
            by_order.setdefault(int(oid), []).append((str(sku), int(q)))
        return {int(oid): OrderRecord(str(st), tuple(sorted(by_order.get(int(oid), []))),
                                      int(amount))
                for oid, st, amount in heads}

    def amount_cents(self, lines: Sequence[Line]) -> int:
        """The order total in USD cents."""
        return sum(round(self.skus[ln.sku].price_usd * 100) * ln.quantity for ln in lines)


def transaction(store: SqlStore, body: Callable[[sa.Connection, Any], T], out: Outcome, *,
                prepare: Callable[[], Any] | None = None, limit: int = 200, seed: int = 0,
                connection: sa.Connection | None = None) -> T:
    """Run ``body(conn, prepare())`` in one transaction; retry conflicts, busy errors, deadlocks.

    Every failed attempt rolls back completely. Retries back off with jitter (at most 20 ms);
    ``out`` counts retries, conflicts and deadlocks. With ``connection`` (one the caller
    holds, outside any transaction) the transactions run on it instead of a fresh checkout.

    Raises:
        RetriesExhausted: still failing after ``limit`` retries.
    """
    attempt = 0
    while True:
        state = prepare() if prepare is not None else None
        try:
            if connection is not None:
                with connection.begin():
                    return body(connection, state)
            with store.engine.begin() as conn:
                return body(conn, state)
        except RetryTransaction:
            out.conflicts += 1
        except sa.exc.DBAPIError as exc:
            kind = classify_db_error(exc)
            if kind is None:
                raise
            if kind == "deadlock":
                out.deadlocks += 1
            elif kind == "conflict":
                out.conflicts += 1
        if attempt >= limit:
            raise RetriesExhausted(f"gave up after {attempt + 1} attempts")
        attempt += 1
        out.retries += 1
        jitter = np.random.default_rng([seed, id(out) % 100_003, attempt]).random()
        time.sleep(jitter * min(0.02, 0.0002 * 2 ** min(attempt, 10)))
