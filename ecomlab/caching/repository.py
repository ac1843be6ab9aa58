"""The source of truth: a products table in the relational store, with a modelled latency.

Every database round trip (one read, one write transaction) sleeps ``db_latency_ms`` in all:
half before the statement (the request travelling) and half after it (the answer travelling).
It is a scaled-down real sleep that models a remote database, so that the savings of a cache are
visible on an embedded store too, and so that a reader holds what it read for a while before it
can act on it, as it would over a network. The sleep is part of every measured
latency and is stated in each result's parameters.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from ecomlab import validate
from ecomlab.errors import InvalidInput
from ecomlab.stores import SqlStore

__all__ = ["Counter", "Product", "ProductTable"]


@dataclass(frozen=True)
class Product:
    """One product as the services return it (``price`` in USD, ``version`` counts writes)."""

    id: int
    sku: str
    title: str
    price: float
    version: int

    def to_json(self) -> str:
        """The cache representation (a JSON object)."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Product:
        """Parse the cache representation written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(id=int(data["id"]), sku=str(data["sku"]), title=str(data["title"]),
                   price=float(data["price"]), version=int(data["version"]))


class Counter:
    """A thread-safe counter (database reads, writes, cache hits...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


class ProductTable:
    """A products table: create, read and update products, counting round trips.

    Args:
        store: the relational store (source of truth).
        db_latency_ms: modelled latency added to every round trip (ms, >= 0).
        name: table name; a fresh ``cache_products_<hex>`` by default, so several experiments
            can share one store.
    """

    def __init__(self, store: SqlStore, *, db_latency_ms: float = 2.0,
                 name: str | None = None) -> None:
        self.store = store
        self.db_latency_ms = validate.number("db_latency_ms", db_latency_ms, minimum=0.0,
                                             maximum=1000.0)
        self.reads = Counter()
        self.writes = Counter()
        meta = sa.MetaData()
        self.table = sa.Table(
            name or f"cache_products_{secrets.token_hex(4)}", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("sku", sa.String(64), nullable=False),
            sa.Column("title", sa.String(300), nullable=False),
            sa.Column("price", sa.Float, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        self._meta = meta

    def _wait(self) -> None:
        """Half of the modelled round trip (called before and after each statement)."""
        if self.db_latency_ms > 0:
            time.sleep(self.db_latency_ms / 2000.0)

    def create_all(self, products: Iterable[Product]) -> int:
        """Create the table and insert ``products`` in one transaction (not counted, no delay)."""
        rows = [asdict(p) for p in products]
        self._meta.create_all(self.store.engine)
        if rows:
            with self.store.engine.begin() as conn:
                conn.execute(self.table.insert(), rows)
        return len(rows)

    def insert(self, product: Product) -> Product:
        """Insert one product (one counted write round trip)."""
        self._wait()
        with self.store.engine.begin() as conn:
            conn.execute(self.table.insert(), [asdict(product)])
        self._wait()
        self.writes.add()
        return product

    def read(self, product_id: int) -> Product:
        """Read one product (one counted read round trip).

        Raises:
            InvalidInput: no product has this id.
        """
        self._wait()
        t = self.table
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.id, t.c.sku, t.c.title, t.c.price, t.c.version)
                               .where(t.c.id == product_id)).first()
        self._wait()
        self.reads.add()
        if row is None:
            raise InvalidInput(f"no product with id {product_id!r}")
        return Product(int(row[0]), str(row[1]), str(row[2]), float(row[3]), int(row[4]))

    def update_price(self, product_id: int, price: float) -> Product:
        """Set a product's price (USD) and bump its version, in one transaction.

        Returns the product as committed. Raises InvalidInput if the id is unknown (nothing
        changes: the transaction rolls back).
        """
        self._wait()
        t = self.table
        with self.store.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == product_id)
                         .values(price=price, version=t.c.version + 1))
            row = conn.execute(sa.select(t.c.id, t.c.sku, t.c.title, t.c.price, t.c.version)
                               .where(t.c.id == product_id)).first()
            if row is None:
                raise InvalidInput(f"no product with id {product_id!r}")
        self._wait()
        self.writes.add()
        return Product(int(row[0]), str(row[1]), str(row[2]), float(row[3]), int(row[4]))

    def write_versions(self, products: Iterable[Product]) -> int:
        """Write products carrying their own versions (write-behind flush), one transaction.

        A row is only overwritten by a newer version, so a late flush never goes backwards.
        Counts one write round trip per call; returns the number of rows sent.
        """
        batch = list(products)
        if not batch:
            return 0
        self._wait()
        t = self.table
        with self.store.engine.begin() as conn:
            for p in batch:
                conn.execute(t.update().where(t.c.id == p.id, t.c.version < p.version)
                             .values(price=p.price, version=p.version))
        self._wait()
        self.writes.add()
        return len(batch)

    def versions(self) -> dict[int, int]:
        """Every product's committed version (not counted, no delay: for accounting)."""
        t = self.table
        with self.store.engine.connect() as conn:
            return {int(i): int(v) for i, v in conn.execute(sa.select(t.c.id, t.c.version))}
