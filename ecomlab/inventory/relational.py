"""Strong consistency: the three strategies that reserve stock inside one ACID transaction.

* ``row-lock`` — ``SELECT ... FOR UPDATE`` each item (in product-id order, or in the order's own
  order to show deadlocks), check, insert the order, move units from available to reserved.
  PostgreSQL only: SQLite silently drops ``FOR UPDATE`` and DuckDB rejects it, so both refuse.
* ``conditional-update`` — ``UPDATE ... SET available = available - q WHERE id = ? AND
  available >= q`` and check the row count; no explicit lock; every engine.
* ``optimistic`` — read ``(available, version)``, then ``UPDATE ... WHERE version = ?``; a row
  count of 0 (or DuckDB's own write-conflict error) means someone else won: retry, bounded.

A buyer's flow: reserve (transaction 1), charge the payment, then confirm (reserved -> sold) or,
if the payment is declined, release (reserved -> available). Conflicts, busy databases and
deadlocks roll the transaction back and retry with jittered exponential backoff
(:func:`ecomlab.inventory.tables.transaction`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from ecomlab import validate
from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.inventory.model import STRONG, BuyerCrash, Line, OrderSpec, Outcome, Sku, check_lines
from ecomlab.inventory.payments import PaymentDeclined, PaymentLedger
from ecomlab.inventory.tables import (
    InventoryTables,
    RetriesExhausted,
    RetryTransaction,
    transaction,
)
from ecomlab.stores import SqlStore

__all__ = ["LOCK_ORDERS", "RelationalInventory"]

LOCK_ORDERS: tuple[str, ...] = ("sorted", "unordered")
T = TypeVar("T")


class _OutOfStock(Exception):
    pass


class RelationalInventory(InventoryTables):
    """Inventory rows, orders and order lines in one relational store, for one strategy.

    Args:
        store: the relational store (its tables get a fresh random prefix).
        strategy: ``row-lock``, ``conditional-update`` or ``optimistic``.
        skus: the SKUs and their initial stock (units).
        lock_order: ``sorted`` (by product id) or ``unordered`` (the order's own line order;
            row-lock only, to show deadlocks).
        max_retries: attempts after the first before a reservation gives up.
        deadlock_timeout_ms: PostgreSQL's ``deadlock_timeout`` for row-lock transactions
            (applied when the role may set it; the server default is 1000 ms).
        seed: seeds the retry backoff jitter.

    Raises:
        InvalidInput: unknown strategy or lock order, bad retry bound.
        UnsupportedOperation: row-lock on an engine without row locks.
    """

    def __init__(self, store: SqlStore, strategy: str, skus: Sequence[Sku], *,
                 lock_order: str = "sorted", max_retries: int = 200,
                 deadlock_timeout_ms: int = 50, seed: int = 0) -> None:
        self.strategy = validate.choice("strategy", strategy, STRONG)
        self.lock_order = validate.choice("lock_order", lock_order, LOCK_ORDERS)
        self.max_retries = validate.integer("max_retries", max_retries, minimum=0,
                                            maximum=100_000)
        self.deadlock_timeout_ms = validate.integer("deadlock_timeout_ms", deadlock_timeout_ms,
                                                    minimum=1, maximum=60_000)
        if strategy == "row-lock" and not store.supports_row_locks:
            why = ("SQLite silently ignores FOR UPDATE" if store.backend == "sqlite"
                   else f"{store.backend} does not support SELECT ... FOR UPDATE")
            raise UnsupportedOperation(
                f"row-lock needs real row locks and {why}; use backend 'postgres', or "
                f"strategy 'conditional-update' or 'optimistic' on {store.backend!r}")
        if lock_order == "unordered" and strategy != "row-lock":
            raise InvalidInput(f"lock_order 'unordered' applies to 'row-lock' only, "
                               f"not {strategy!r}")
        self.seed = seed
        super().__init__(store, skus)
        self.can_set_deadlock_timeout = self._probe_deadlock_timeout()
        self._hold_connection = strategy == "row-lock" and store.backend == "postgres"
        if self._hold_connection:
            self._prepare_pg_sql()

    def _probe_deadlock_timeout(self) -> bool:
        if self.store.backend != "postgres" or self.strategy != "row-lock":
            return False
        try:
            with self.store.engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL deadlock_timeout = "
                                     f"'{self.deadlock_timeout_ms}ms'"))
        except sa.exc.DBAPIError:
            return False
        return True

    # ------------------------------------------------------------------ the buyer's flow
    def place_order(self, spec: OrderSpec, ledger: PaymentLedger, *, crash: bool = False,
                    on_accept: Callable[[], object] | None = None,
                    connection: sa.Connection | None = None) -> Outcome:
        """Reserve, charge, then confirm (or release on a declined payment).

        Args:
            spec: the order.
            ledger: the payment service.
            crash: inject a fault: the buyer dies inside its reservation transaction.
            on_accept: called when the buyer is told "yes" (after the confirmation commits).
            connection: a connection the buyer holds for its session (outside any
                transaction); the order's transactions run on it. None = check one out.

        Raises:
            InvalidInput: a bad quantity or unknown SKU (nothing is touched).
        """
        lines = check_lines(spec.lines, self.skus)
        if connection is not None or not self._hold_connection:
            return self._place_order(spec, lines, ledger, crash, on_accept, connection)
        # one pooled connection for both transactions of the order: one checkout (and its
        # liveness ping) per order instead of one per transaction
        with self.store.engine.connect() as held:
            return self._place_order(spec, lines, ledger, crash, on_accept, held)

    def _place_order(self, spec: OrderSpec, lines: Sequence[Line], ledger: PaymentLedger,
                     crash: bool, on_accept: Callable[[], object] | None,
                     held: sa.Connection | None) -> Outcome:
        out = Outcome("accepted")
        reserve = {"row-lock": self._reserve_row_lock,
                   "conditional-update": self._reserve_conditional,
                   "optimistic": self._reserve_optimistic}[self.strategy]
        prepare: Callable[[], Any] | None = None
        if self.strategy == "optimistic":
            def prepare() -> Any:
                return self._read_versions(lines)
        try:
            self._transaction(
                lambda conn, state: reserve(conn, spec, lines, state, crash, out), out,
                prepare=prepare, held=held)
        except _OutOfStock:
            out.status, out.reason = "rejected", "out_of_stock"
            return out
        except BuyerCrash:
            out.status, out.reason = "crashed", "buyer_crashed"
            return out
        except RetriesExhausted:
            out.status, out.reason = "rejected", "retries_exhausted"
            return out
        try:
            ledger.charge(spec.order_id, self.amount_cents(lines))
        except PaymentDeclined:
            self._transaction(lambda conn, _: self._settle(conn, spec, lines, "rejected"),
                              out, bound=100_000, held=held)
            out.status, out.reason = "rejected", "payment_declined"
            return out
        self._transaction(lambda conn, _: self._settle(conn, spec, lines, "confirmed"), out,
                          bound=100_000, held=held)
        if on_accept is not None:
            on_accept()
        return out

    @property
    def holds_session(self) -> bool:
        """True when a buyer should keep one connection for all its orders (row-lock on
        PostgreSQL: it saves a pool checkout and its liveness ping per transaction)."""
        return self._hold_connection

    def _ordered(self, lines: Sequence[Line]) -> list[tuple[int, int]]:
        pairs = [(self.skus[ln.sku].product_id, ln.quantity) for ln in lines]
        return pairs if self.lock_order == "unordered" else sorted(pairs)

    def _reserve_row_lock(self, conn: sa.Connection, spec: OrderSpec, lines: Sequence[Line],
                          _state: Any, crash: bool, out: Outcome) -> None:
        if self.store.backend == "postgres":
            self._reserve_row_lock_pg(conn, spec, lines, crash, out)
            return
        if self.can_set_deadlock_timeout:
            conn.execute(sa.text(f"SET LOCAL deadlock_timeout = '{self.deadlock_timeout_ms}ms'"))
        pairs = self._ordered(lines)
        for pid, q in pairs:
            t0 = time.perf_counter_ns()
            available = conn.execute(sa.text(
                f"SELECT available_stock FROM {self.t_stock} WHERE product_id = :p FOR UPDATE"),
                {"p": pid}).scalar_one()
            out.lock_wait_ns += time.perf_counter_ns() - t0
            if available < q:
                raise _OutOfStock
        for pid, q in pairs:
            conn.execute(sa.text(
                f"UPDATE {self.t_stock} SET available_stock = available_stock - :q, "
                "reserved_stock = reserved_stock + :q WHERE product_id = :p"), {"p": pid, "q": q})
        self.insert_order(conn, spec, pairs, lines, "reserved")
        if crash:
            raise BuyerCrash(f"buyer {spec.buyer} died before committing order {spec.order_id}")

    def _reserve_row_lock_pg(self, conn: sa.Connection, spec: OrderSpec,
                             lines: Sequence[Line], crash: bool, out: Outcome) -> None:
        """Row-lock on PostgreSQL through the transaction's own psycopg connection.

        The same steps as the portable path (lock each row ``FOR UPDATE`` in product-id order,
        check, reserve, order rows), with fewer client round trips: ``SET LOCAL`` travels with
        the first lock, and once the rows are locked the reserve and the order rows go in one
        statement (the rows are already locked, so its update order cannot deadlock). A hot row
        stays locked for two round trips (that statement and ``COMMIT``) instead of four, and
        the driver's per-statement cost drops.
        """
        pairs = self._ordered(lines)
        cur = self._driver_cursor(conn)
        try:
            for i, (pid, q) in enumerate(pairs):
                t0 = time.perf_counter_ns()
                if i == 0 and self.can_set_deadlock_timeout:
                    # one round trip: SET LOCAL and the first lock, as two statements
                    cur.execute(self._sql_set_and_lock.format(pid=int(pid)), prepare=False)
                    cur.nextset()
                else:
                    cur.execute(self._sql_lock, (pid,))
                row = cur.fetchone()
                out.lock_wait_ns += time.perf_counter_ns() - t0
                if row is None:
                    raise InvalidInput(f"product id {pid!r} has no stock row")
                if row[0] < q:
                    raise _OutOfStock
            cur.execute(self._sql_reserve, {
                "p": [p for p, _ in pairs], "q": [q for _, q in pairs], "o": spec.order_id,
                "b": spec.buyer, "a": self.amount_cents(lines)})
            if crash:
                raise BuyerCrash(f"buyer {spec.buyer} died before committing order "
                                 f"{spec.order_id}")
        except self._driver_error as exc:
            raise sa.exc.DBAPIError.instance(None, None, exc, self._driver_error) from exc
        finally:
            cur.close()

    def _settle_pg(self, conn: sa.Connection, spec: OrderSpec,
                   pairs: Sequence[tuple[int, int]], status: str) -> None:
        """One-line orders settle in one statement; longer ones row by row in product-id order
        (an ``UPDATE ... FROM`` over several rows would lock them in plan order)."""
        target = "sold_stock" if status == "confirmed" else "available_stock"
        cur = self._driver_cursor(conn)
        try:
            if len(pairs) == 1:
                cur.execute(self._sql_settle_one[target],
                            {"p": pairs[0][0], "q": pairs[0][1], "s": status,
                             "o": spec.order_id})
                return
            for pid, q in pairs:
                cur.execute(self._sql_move[target], {"p": pid, "q": q})
            cur.execute(self._sql_status, {"s": status, "o": spec.order_id})
        except self._driver_error as exc:
            raise sa.exc.DBAPIError.instance(None, None, exc, self._driver_error) from exc
        finally:
            cur.close()

    @staticmethod
    def _driver_cursor(conn: sa.Connection) -> Any:
        """A psycopg cursor on the connection (and inside the transaction) SQLAlchemy holds."""
        return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _prepare_pg_sql(self) -> None:
        """Statement texts of the PostgreSQL row-lock path (constant, so psycopg prepares them
        server-side after a few runs)."""
        import psycopg

        self._driver_error = psycopg.Error
        st, od, ln = self.t_stock, self.t_orders, self.t_lines
        self._sql_lock = f"SELECT available_stock FROM {st} WHERE product_id = %s FOR UPDATE"
        self._sql_set_and_lock = (
            f"SET LOCAL deadlock_timeout = '{self.deadlock_timeout_ms}ms'; SELECT available_stock "
            f"FROM {st} WHERE product_id = {{pid:d}} FOR UPDATE")
        self._sql_reserve = (
            f"WITH reserved AS (UPDATE {st} AS s SET available_stock = s.available_stock - v.q, "
            "reserved_stock = s.reserved_stock + v.q "
            "FROM unnest(%(p)s::int[], %(q)s::int[]) AS v(p, q) WHERE s.product_id = v.p), "
            f"head AS (INSERT INTO {od} VALUES (%(o)s, %(b)s, 'reserved', %(a)s)) "
            f"INSERT INTO {ln} SELECT %(o)s, v.p, v.q "
            "FROM unnest(%(p)s::int[], %(q)s::int[]) AS v(p, q)")
        self._sql_settle_one = {
            t: (f"WITH moved AS (UPDATE {st} SET reserved_stock = reserved_stock - %(q)s, "
                f"{t} = {t} + %(q)s WHERE product_id = %(p)s) "
                f"UPDATE {od} SET status = %(s)s WHERE order_id = %(o)s")
            for t in ("sold_stock", "available_stock")}
        self._sql_move = {
            t: (f"UPDATE {st} SET reserved_stock = reserved_stock - %(q)s, "
                f"{t} = {t} + %(q)s WHERE product_id = %(p)s")
            for t in ("sold_stock", "available_stock")}
        self._sql_status = f"UPDATE {od} SET status = %(s)s WHERE order_id = %(o)s"

    def _reserve_conditional(self, conn: sa.Connection, spec: OrderSpec,
                             lines: Sequence[Line], _state: Any, crash: bool,
                             out: Outcome) -> None:
        pairs = self._ordered(lines)
        for pid, q in pairs:
            result = conn.execute(sa.text(
                f"UPDATE {self.t_stock} SET available_stock = available_stock - :q, "
                "reserved_stock = reserved_stock + :q "
                "WHERE product_id = :p AND available_stock >= :q"), {"p": pid, "q": q})
            if result.rowcount != 1:  # read at once: DuckDB forgets it after the transaction
                raise _OutOfStock
        self.insert_order(conn, spec, pairs, lines, "reserved")
        if crash:
            raise BuyerCrash(f"buyer {spec.buyer} died before committing order {spec.order_id}")

    def _read_versions(self, lines: Sequence[Line]) -> dict[int, tuple[int, int]]:
        ids = [self.skus[ln.sku].product_id for ln in lines]
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.text(
                f"SELECT product_id, available_stock, version FROM {self.t_stock} "
                "WHERE product_id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": ids}).all()
            conn.rollback()
        return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def _reserve_optimistic(self, conn: sa.Connection, spec: OrderSpec, lines: Sequence[Line],
                            state: Any, crash: bool, out: Outcome) -> None:
        versions: dict[int, tuple[int, int]] = state
        pairs = self._ordered(lines)
        for pid, q in pairs:
            if versions[pid][0] < q:
                raise _OutOfStock
        for pid, q in pairs:
            result = conn.execute(sa.text(
                f"UPDATE {self.t_stock} SET available_stock = available_stock - :q, "
                "reserved_stock = reserved_stock + :q, version = version + 1 "
                "WHERE product_id = :p AND version = :v"),
                {"p": pid, "q": q, "v": versions[pid][1]})
            if result.rowcount != 1:
                raise RetryTransaction
        self.insert_order(conn, spec, pairs, lines, "reserved")
        if crash:
            raise BuyerCrash(f"buyer {spec.buyer} died before committing order {spec.order_id}")

    def _settle(self, conn: sa.Connection, spec: OrderSpec, lines: Sequence[Line],
                status: str) -> None:
        """Move reserved units to sold (``confirmed``) or back to available (``rejected``)."""
        if self.strategy == "row-lock" and self.store.backend == "postgres":
            self._settle_pg(conn, spec, self.product_pairs(lines), status)
            return
        target = "sold_stock" if status == "confirmed" else "available_stock"
        for pid, q in sorted((self.skus[ln.sku].product_id, ln.quantity) for ln in lines):
            conn.execute(sa.text(
                f"UPDATE {self.t_stock} SET reserved_stock = reserved_stock - :q, "
                f"{target} = {target} + :q WHERE product_id = :p"), {"p": pid, "q": q})
        conn.execute(sa.text(f"UPDATE {self.t_orders} SET status = :s WHERE order_id = :o"),
                     {"s": status, "o": spec.order_id})

    def _transaction(self, body: Callable[[sa.Connection, Any], T], out: Outcome, *,
                     prepare: Callable[[], Any] | None = None, bound: int | None = None,
                     held: sa.Connection | None = None) -> T:
        return transaction(self.store, body, out, prepare=prepare,
                           limit=self.max_retries if bound is None else bound, seed=self.seed,
                           connection=held)

    def describe(self) -> dict[str, object]:
        """The store's facts plus this strategy's settings."""
        info = dict(self.store.describe())
        info["strategy"] = self.strategy
        info["lock_order"] = self.lock_order
        if self.strategy == "row-lock":
            info["deadlock_timeout_ms"] = (self.deadlock_timeout_ms
                                           if self.can_set_deadlock_timeout else 1000)
        return info
