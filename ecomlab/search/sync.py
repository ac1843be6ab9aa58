"""Keeping the index in step with the database: dual write vs an outbox relayed through a broker.

The database (SQLite) is the source of truth; a tantivy index holds a copy. Every write is an
insert of a new product or a price and title change of an existing one (:func:`write_plan`).

* **dual write** (the seed's natural first design): commit the database transaction, then write
  the index. A crash kills the writer between the two: the database has the change, the index
  never hears of it.
* **outbox**: the database transaction also inserts an outbox row. A relay publishes pending
  rows, in order, to a queue on the workbook's broker (:func:`~ecomlab.stores.broker_store`:
  in-process by default, RabbitMQ by ``ECOMLAB_AMQP_URL``) and marks each row published; an
  indexer consumes the queue, upserts each product (delete by id, add) and acknowledges. A crash
  kills the relay after a publish and before its mark (the row is published again on the next
  pass) or the indexer after its upsert and before the ack (the broker redelivers the message).
  Either way a message arrives twice; the upsert is idempotent and carries the outbox sequence
  number as a version, so a late or repeated message never overwrites a newer one. After the run
  the relay and indexer drain what is left (what restarted processes do).

Crashes are a :class:`FaultPlan` — the writes at which the process dies — drawn from a seeded
generator by :func:`fault_plan` (the same plan for both strategies) or given by the caller as a
hook, so a run is reproducible and a test can force a crash where it wants one.
:func:`index_drift` compares the two stores product by product: ``missing`` (in the database,
not the index), ``stale`` (different title or price) and ``extra`` (in the index, not the
database). Label: ``measured``.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
import tantivy

from ecomlab import validate
from ecomlab.datagen import generate_catalog
from ecomlab.errors import BackendUnavailable
from ecomlab.measure import Result
from ecomlab.search.products import catalog_products
from ecomlab.stores import Broker, borrowed, broker_store, sql_store

__all__ = ["SYNC_STRATEGIES", "FaultPlan", "OutboxRelay", "ProductIndex", "Write", "fault_plan",
           "index_drift", "run_sync", "sync_table", "write_plan"]

SYNC_STRATEGIES = ("dual-write", "outbox")
#: how long the indexer waits for a message it knows was published before calling it lost (s)
DELIVERY_TIMEOUT_S = 10.0


class ProductIndex:
    """A small in-memory tantivy index holding id, title, price and version for drift checks."""

    def __init__(self) -> None:
        sb = tantivy.SchemaBuilder()
        sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
        sb.add_text_field("title", stored=True)
        sb.add_float_field("price", stored=True)
        sb.add_unsigned_field("version", stored=True)
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema)  # in memory: the drift, not fsync, is measured
        self.writer = self.index.writer(50_000_000, 1)
        self.writes = 0

    def _document(self, pid: int, title: str, price: float, version: int) -> Any:
        doc = tantivy.Document()
        doc.add_unsigned("id", int(pid))
        doc.add_text("title", title)
        doc.add_float("price", float(price))
        doc.add_unsigned("version", int(version))
        return doc

    def version(self, pid: int) -> int | None:
        """The version of product ``pid`` in the index, or ``None`` if it is not there."""
        searcher: Any = self.index.searcher()
        found = searcher.search(tantivy.Query.term_query(self.schema, "id", int(pid)), 1)
        if not found.hits:
            return None
        return int(searcher.doc(found.hits[0][1])["version"][0])

    def upsert(self, pid: int, title: str, price: float, version: int | None = None) -> bool:
        """Replace product ``pid`` (delete by id, add), committed and visible on return.

        With a ``version``, a product the index holds at that version or newer is left alone
        (returns False): a repeated or late message never overwrites a newer one.
        """
        if version is not None:
            held = self.version(pid)
            if held is not None and held >= version:
                return False
        # delete_documents_by_term("id", pid) does not match an unsigned field from a Python
        # int (nothing is deleted); a term query does
        self.writer.delete_documents_by_query(
            tantivy.Query.term_query(self.schema, "id", int(pid)))
        self.writer.add_document(self._document(pid, title, price, version or 0))
        self.writer.commit()
        self.index.reload()
        self.writes += 1
        return True

    def load(self, rows: list[tuple[int, str, float]]) -> None:
        """Initial bulk load (version 0), one commit."""
        for pid, title, price in rows:
            self.writer.add_document(self._document(pid, title, price, 0))
        self.writer.commit()
        self.index.reload()

    def contents(self) -> dict[int, tuple[str, float]]:
        """Every indexed product: id -> (title, price)."""
        searcher: Any = self.index.searcher()
        n = int(searcher.num_docs)
        if n == 0:
            return {}
        found = searcher.search(tantivy.Query.all_query(), n, count=False)
        out: dict[int, tuple[str, float]] = {}
        for _, addr in found.hits:
            d = searcher.doc(addr)
            out[int(d["id"][0])] = (str(d["title"][0]), float(d["price"][0]))
        return out

    def close(self) -> None:
        """Drop the in-memory index."""
        self.writer.rollback()


def index_drift(conn: sa.Connection, index: ProductIndex) -> dict[str, int]:
    """Products ``missing``, ``stale`` or ``extra`` in the index compared with the database."""
    db = {int(r[0]): (str(r[1]), float(r[2])) for r in conn.execute(
        sa.text("SELECT id, title, price FROM products"))}
    ix = index.contents()
    missing = sum(1 for k in db if k not in ix)
    extra = sum(1 for k in ix if k not in db)
    stale = sum(1 for k, v in db.items() if k in ix and ix[k] != v)
    return {"missing": missing, "stale": stale, "extra": extra, "products": len(db)}


@dataclass(frozen=True)
class Write:
    """One database write: a new product (``insert``) or a new title and price (USD)."""

    pid: int
    title: str
    price: float
    insert: bool


@dataclass(frozen=True)
class FaultPlan:
    """Where the process dies: ``crashes`` holds the 0-based indices of the writes after which
    it crashes. Dual write: the writer, between its commit and the index write. Outbox: the
    indexer (after its upsert, before the ack) at the writes in ``indexer``, else the relay
    (after a publish, before the mark)."""

    crashes: frozenset[int] = frozenset()
    indexer: frozenset[int] = frozenset()


def _rngs(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]


def write_plan(writes: int, products: int, seed: int) -> list[Write]:
    """``writes`` seeded writes over a catalog of ``products`` (30 % inserts)."""
    items = catalog_products(generate_catalog(products, seed))
    rng = _rngs(seed)[0]
    out: list[Write] = []
    next_id = len(items) + 1
    for _ in range(writes):
        price = float(round(rng.uniform(5, 900), 2))
        if rng.random() < 0.3:
            out.append(Write(next_id, f"New Product {next_id}", price, True))
            next_id += 1
        else:
            pid = int(rng.integers(1, next_id))
            title = f"{items[(pid - 1) % len(items)].title} v{int(rng.integers(2, 99))}"
            out.append(Write(pid, title, price, False))
    return out


def fault_plan(writes: int, fault_rate: float, seed: int) -> FaultPlan:
    """Crashes at each write with probability ``fault_rate``, half of the outbox's in the
    indexer (seeded, independent of the writes' own draws)."""
    rng = _rngs(seed)[1]
    crash = rng.random(writes) < fault_rate
    where = rng.random(writes) < 0.5
    return FaultPlan(frozenset(int(i) for i in np.flatnonzero(crash)),
                     frozenset(int(i) for i in np.flatnonzero(crash & where)))


class OutboxRelay:
    """Outbox rows -> a broker queue -> the index, with crash points for faults.

    Args:
        conn: the database connection holding ``outbox``.
        broker: the broker carrying the messages (its queue is declared here).
        index: the index the messages are applied to.
    """

    def __init__(self, conn: sa.Connection, broker: Broker, index: ProductIndex) -> None:
        self.conn, self.broker, self.index = conn, broker, index
        self.queue = f"ecomlab.search-sync.{secrets.token_hex(4)}"
        broker.declare_queue(self.queue, max_retries=0, retry_delay_ms=0.0)
        self._inbox: Any = broker.consumer(self.queue)
        self.published = self.acked = self.deliveries = self.redelivered = 0

    def publish_pending(self, *, crash: bool = False) -> int:
        """Publish unpublished outbox rows in order, marking each; with ``crash`` the relay
        dies after its first publish, before the mark. Returns rows published."""
        with self.conn.begin():
            rows = list(self.conn.execute(sa.text(
                "SELECT seq, product_id, title, price FROM outbox WHERE published = 0 "
                "ORDER BY seq")))
        for n, (seq, pid, title, price) in enumerate(rows, 1):
            self.broker.publish(self.queue, {"seq": int(seq), "product_id": int(pid),
                                             "title": str(title), "price": float(price)},
                                message_id=f"outbox-{int(seq)}")
            self.published += 1
            if crash:
                return n  # dies before the mark: the row is published again next pass
            with self.conn.begin():
                self.conn.execute(sa.text("UPDATE outbox SET published = 1 WHERE seq = :s"),
                                  {"s": int(seq)})
        return len(rows)

    def index_published(self, *, crash: bool = False) -> None:
        """Apply every published message to the index and ack it; with ``crash`` the indexer
        dies after its first upsert, before the ack (the broker redelivers the message).

        Raises:
            BackendUnavailable: a published message did not arrive within 10 s.
        """
        while self.acked < self.published:
            delivery = self._inbox.get(timeout_s=DELIVERY_TIMEOUT_S)
            if delivery is None:
                raise BackendUnavailable(
                    f"queue {self.queue!r}: {self.published - self.acked} published messages "
                    f"did not arrive within {DELIVERY_TIMEOUT_S:g} s")
            body = delivery.message.body
            self.deliveries += 1
            self.redelivered += int(delivery.message.redelivered)
            self.index.upsert(body["product_id"], body["title"], body["price"], body["seq"])
            if crash:
                crash = False
                self._inbox.close()  # dies unacknowledged: the message goes back to the queue
                self._inbox = self.broker.consumer(self.queue)
                continue
            delivery.ack()
            self.acked += 1

    def close(self) -> None:
        """Close the indexer's consumer and delete the queue."""
        self._inbox.close()
        self.broker.delete(self.queue)


_TABLES = ("CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
           "price REAL NOT NULL)",
           "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, "
           "title TEXT NOT NULL, price REAL NOT NULL, published INTEGER NOT NULL DEFAULT 0)")


@contextlib.contextmanager
def _stores(products: int, seed: int, broker: Broker | None, outbox: bool
            ) -> Iterator[tuple[sa.Connection, ProductIndex, Broker | None]]:
    """The database with its catalog, the index loaded from it, and the broker (outbox only)."""
    items = catalog_products(generate_catalog(products, seed))
    store = sql_store("sqlite")
    index = ProductIndex()
    try:
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(store.engine.connect())
            with conn.begin():
                for ddl in _TABLES:
                    conn.exec_driver_sql(ddl)
                conn.execute(sa.text("INSERT INTO products VALUES (:id, :title, :price)"),
                             [{"id": p.id, "title": p.title, "price": p.price} for p in items])
            index.load([(p.id, p.title, p.price) for p in items])
            used = stack.enter_context(borrowed(broker, broker_store)) if outbox else None
            yield conn, index, used
    finally:
        index.close()
        store.dispose()


def _commit(conn: sa.Connection, w: Write, outbox: bool) -> None:
    """The write in one transaction, with its outbox row when ``outbox``."""
    sql = ("INSERT INTO products VALUES (:id, :title, :price)" if w.insert else
           "UPDATE products SET title = :title, price = :price WHERE id = :id")
    row = {"id": w.pid, "title": w.title, "price": w.price}
    with conn.begin():
        conn.execute(sa.text(sql), row)
        if outbox:
            conn.execute(sa.text("INSERT INTO outbox (product_id, title, price) "
                                 "VALUES (:id, :title, :price)"), row)


def run_sync(strategy: str = "outbox", writes: int = 200, fault_rate: float = 0.1,
             seed: int = 42, *, products: int = 200, faults: FaultPlan | None = None,
             broker: Broker | None = None) -> Result:
    """Apply ``writes`` seeded writes under ``strategy`` with crashes; count the index drift.

    Args:
        faults: where the process crashes (default :func:`fault_plan` from ``fault_rate`` and
            ``seed``); a hook for tests that force a crash at a given write.
        broker: the outbox's broker (default :func:`~ecomlab.stores.broker_store`, disposed
            after); unused by dual write.

    Returns a measured :class:`Result` whose metrics hold ``drift_during`` (right after the
    last write, before any recovery), ``drift_after`` (after the relay and indexer drained; the
    same as during for dual write, which has nothing to replay), ``faults``, ``index_writes``,
    ``redeliveries`` (messages applied more than once), ``broker_redelivered`` and
    ``elapsed_s``.
    """
    strategy = validate.choice("strategy", strategy, SYNC_STRATEGIES)
    writes = validate.integer("writes", writes, minimum=1, maximum=100_000)
    fault_rate = validate.probability("fault_rate", fault_rate)
    seed = validate.integer("seed", seed, minimum=0)
    products = validate.integer("products", products, minimum=1, maximum=100_000)
    plan = faults if faults is not None else fault_plan(writes, fault_rate, seed)
    outbox = strategy == "outbox"
    t0 = time.perf_counter()
    backends: dict[str, Any] = {"sql": {"backend": "sqlite", "embedded": True},
                                "index": {"backend": "tantivy", "embedded": True}}
    with _stores(products, seed, broker, outbox) as (conn, index, used):
        relay = OutboxRelay(conn, used, index) if used is not None else None
        try:
            for i, w in enumerate(write_plan(writes, products, seed)):
                _commit(conn, w, outbox)
                crash = i in plan.crashes
                if relay is None:
                    if not crash:  # the writer dies after the commit, before the index
                        index.upsert(w.pid, w.title, w.price)
                    continue
                relay.publish_pending(crash=crash and i not in plan.indexer)
                relay.index_published(crash=crash and i in plan.indexer)
            with conn.begin():
                during = index_drift(conn, index)
            if relay is not None:  # the restarted relay and indexer drain what is left
                relay.publish_pending()
                relay.index_published()
            with conn.begin():
                after = index_drift(conn, index)
        finally:
            if relay is not None:
                relay.close()
        if used is not None:
            backends["broker"] = used.describe()
    metrics = {"drift_during": during, "drift_after": after,
               "faults": sum(1 for i in plan.crashes if i < writes),
               "index_writes": index.writes,
               # every write is one outbox row: deliveries beyond one per row came twice
               "redeliveries": relay.deliveries - writes if relay is not None else 0,
               "broker_redelivered": relay.redelivered if relay is not None else 0,
               "elapsed_s": round(time.perf_counter() - t0, 3)}
    return Result(
        experiment="search-sync", label="measured", seed=seed,
        params={"strategy": strategy, "writes": writes, "fault_rate": fault_rate,
                "products": products}, metrics=metrics, backends=backends)


def sync_table(writes: int = 200, fault_rate: float = 0.1, seed: int = 42, *,
               broker: Broker | None = None) -> pd.DataFrame:
    """Both strategies under the same crashes: drift during and after, one row each.

    ``attrs["broker"]`` names the broker that carried the outbox's messages.
    """
    rows = []
    carried = ""
    for strategy in SYNC_STRATEGIES:
        result = run_sync(strategy, writes, fault_rate, seed, broker=broker)
        m = result.metrics
        carried = str(result.backends.get("broker", {}).get("backend", carried))
        rows.append({"strategy": strategy, "faults": m["faults"],
                     **{f"{k} during": v for k, v in m["drift_during"].items()
                        if k != "products"},
                     **{f"{k} after": v for k, v in m["drift_after"].items()
                        if k != "products"},
                     "redeliveries": m["redeliveries"]})
    frame = pd.DataFrame(rows)
    frame.attrs["broker"] = carried
    return frame
