"""Keeping the index in step with the database: dual write vs a transactional outbox, with faults.

The database (SQLite) is the source of truth; a tantivy index holds a copy. Every write is an
insert of a new product or a price and title change of an existing one.

* **dual write** (the seed's natural first design): commit the database transaction, then write
  the index. An injected fault kills the writer between the two: the database has the change,
  the index never hears of it.
* **outbox**: the database transaction also inserts an outbox row; a relay reads pending rows in
  order, upserts each into the index (delete by id, add) and marks the row done. An injected
  fault kills the relay after the index write and before the mark: the row is delivered again
  on the relay's next pass, which is harmless because the upsert is idempotent. After the run the
  relay drains the outbox (what a restarted relay does).

Faults are drawn from a seeded generator, so a run is reproducible. :func:`index_drift` compares
the two stores product by product: ``missing`` (in the database, not the index), ``stale``
(different title or price) and ``extra`` (in the index, not the database). The relay here is
in-process (no broker between the outbox and the index); the label is ``measured``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
import tantivy

from ecomlab import validate
from ecomlab.datagen import generate_catalog
from ecomlab.measure import Result
from ecomlab.search.products import catalog_products
from ecomlab.stores import sql_store

__all__ = ["SYNC_STRATEGIES", "ProductIndex", "index_drift", "run_sync", "sync_table"]

SYNC_STRATEGIES = ("dual-write", "outbox")


class ProductIndex:
    """A small in-memory tantivy index holding id, title and price (stored) for drift checks."""

    def __init__(self) -> None:
        sb = tantivy.SchemaBuilder()
        sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
        sb.add_text_field("title", stored=True)
        sb.add_float_field("price", stored=True)
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema)  # in memory: the drift, not fsync, is measured
        self.writer = self.index.writer(50_000_000, 1)
        self.writes = 0

    def upsert(self, pid: int, title: str, price: float) -> None:
        """Replace product ``pid`` (delete by id, add), committed and visible on return."""
        # delete_documents_by_term("id", pid) does not match an unsigned field from a Python
        # int (nothing is deleted); a term query does
        self.writer.delete_documents_by_query(
            tantivy.Query.term_query(self.schema, "id", int(pid)))
        doc = tantivy.Document()
        doc.add_unsigned("id", int(pid))
        doc.add_text("title", title)
        doc.add_float("price", float(price))
        self.writer.add_document(doc)
        self.writer.commit()
        self.index.reload()
        self.writes += 1

    def load(self, rows: list[tuple[int, str, float]]) -> None:
        """Initial bulk load, one commit."""
        for pid, title, price in rows:
            doc = tantivy.Document()
            doc.add_unsigned("id", int(pid))
            doc.add_text("title", title)
            doc.add_float("price", float(price))
            self.writer.add_document(doc)
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


def _relay(conn: sa.Connection, index: ProductIndex, rng: np.random.Generator,
           fault_rate: float) -> tuple[int, int]:
    """One relay pass over pending outbox rows; returns (delivered, crashes)."""
    delivered = crashes = 0
    with conn.begin():
        rows = list(conn.execute(sa.text(
            "SELECT seq, product_id, title, price FROM outbox WHERE done = 0 ORDER BY seq")))
    for seq, pid, title, price in rows:
        index.upsert(int(pid), str(title), float(price))
        delivered += 1
        if rng.random() < fault_rate:
            crashes += 1  # the relay dies before marking the row: it is delivered again
            return delivered, crashes
        with conn.begin():
            conn.execute(sa.text("UPDATE outbox SET done = 1 WHERE seq = :s"), {"s": int(seq)})
    return delivered, crashes


def run_sync(strategy: str = "outbox", writes: int = 200, fault_rate: float = 0.1,
             seed: int = 42, *, products: int = 200) -> Result:
    """Apply ``writes`` seeded writes under ``strategy`` with faults; count the index drift.

    Returns a measured :class:`Result` whose metrics hold ``drift_during`` (checked right after
    the last write, before any recovery), ``drift_after`` (after the outbox relay drains; the
    same as during for dual write, which has nothing to replay), ``faults``, ``index_writes``,
    ``redeliveries`` and ``elapsed_s``.
    """
    strategy = validate.choice("strategy", strategy, SYNC_STRATEGIES)
    writes = validate.integer("writes", writes, minimum=1, maximum=100_000)
    fault_rate = validate.probability("fault_rate", fault_rate)
    seed = validate.integer("seed", seed, minimum=0)
    products = validate.integer("products", products, minimum=1, maximum=100_000)
    rng = np.random.default_rng(seed)
    items = catalog_products(generate_catalog(products, seed))
    store = sql_store("sqlite")
    index = ProductIndex()
    faults = redeliveries = deliveries = 0
    t0 = time.perf_counter()
    try:
        with store.engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("CREATE TABLE products (id INTEGER PRIMARY KEY, "
                                     "title TEXT NOT NULL, price REAL NOT NULL)")
                conn.exec_driver_sql("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, "
                                     "product_id INTEGER NOT NULL, title TEXT NOT NULL, "
                                     "price REAL NOT NULL, done INTEGER NOT NULL DEFAULT 0)")
                conn.execute(sa.text("INSERT INTO products VALUES (:id, :title, :price)"),
                             [{"id": p.id, "title": p.title, "price": p.price} for p in items])
            index.load([(p.id, p.title, p.price) for p in items])
            next_id = len(items) + 1
            for _ in range(writes):
                if rng.random() < 0.3:
                    pid, title = next_id, f"New Product {next_id}"
                    next_id += 1
                    price = float(round(rng.uniform(5, 900), 2))
                    sql = "INSERT INTO products VALUES (:id, :title, :price)"
                else:
                    pid = int(rng.integers(1, next_id))
                    title = f"{items[(pid - 1) % len(items)].title} v{int(rng.integers(2, 99))}"
                    price = float(round(rng.uniform(5, 900), 2))
                    sql = "UPDATE products SET title = :title, price = :price WHERE id = :id"
                row = {"id": pid, "title": title, "price": price}
                with conn.begin():
                    conn.execute(sa.text(sql), row)
                    if strategy == "outbox":
                        conn.execute(sa.text("INSERT INTO outbox (product_id, title, price) "
                                             "VALUES (:id, :title, :price)"), row)
                if strategy == "dual-write":
                    if rng.random() < fault_rate:
                        faults += 1  # the writer dies after the commit, before the index write
                    else:
                        index.upsert(pid, title, price)
                else:
                    delivered, crashed = _relay(conn, index, rng, fault_rate)
                    deliveries += delivered
                    faults += crashed
            with conn.begin():
                during = index_drift(conn, index)
            if strategy == "outbox":
                while True:
                    with conn.begin():
                        pending = conn.execute(sa.text(
                            "SELECT count(*) FROM outbox WHERE done = 0")).scalar_one()
                    if not pending:
                        break
                    deliveries += _relay(conn, index, rng, 0.0)[0]  # the restarted relay
                with conn.begin():
                    rows = int(conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())
                redeliveries = deliveries - rows
            with conn.begin():
                after = index_drift(conn, index)
    finally:
        index.close()
        store.dispose()
    return Result(
        experiment="search-sync", label="measured", seed=seed,
        params={"strategy": strategy, "writes": writes, "fault_rate": fault_rate,
                "products": products},
        metrics={"drift_during": during, "drift_after": after, "faults": faults,
                 "index_writes": index.writes, "redeliveries": redeliveries,
                 "elapsed_s": round(time.perf_counter() - t0, 3)},
        backends={"sql": {"backend": "sqlite", "embedded": True},
                  "index": {"backend": "tantivy", "embedded": True}})


def sync_table(writes: int = 200, fault_rate: float = 0.1, seed: int = 42) -> pd.DataFrame:
    """Both strategies under the same faults: drift during and after, one row each."""
    rows = []
    for strategy in SYNC_STRATEGIES:
        m = run_sync(strategy, writes, fault_rate, seed).metrics
        rows.append({"strategy": strategy, "faults": m["faults"],
                     **{f"{k} during": v for k, v in m["drift_during"].items()
                        if k != "products"},
                     **{f"{k} after": v for k, v in m["drift_after"].items()
                        if k != "products"},
                     "redeliveries": m["redeliveries"]})
    return pd.DataFrame(rows)
