"""Database full-text search: SQLite FTS5 (embedded) and PostgreSQL with the seed's SQL.

* **PostgreSQL** runs the seed's SQL as written: a GIN index on
  ``to_tsvector('english', title || ' ' || description)``, matched with
  ``plainto_tsquery('english', :q)`` and ordered by ``ts_rank``. The store comes from
  :func:`ecomlab.stores.sql_store` (``ECOMLAB_PG_URL``, else embedded PostgreSQL) and lives in
  the store's private schema, dropped on :meth:`close`.
* **SQLite FTS5**: an external-content FTS5 table over title, description and brand (porter
  stemmer), matched with every word as a quoted FTS5 string (``plainto_tsquery``'s AND of the
  words) and ranked by ``bm25(products_fts, 3.0, 2.0, 1.0)`` (the seed's field weights).

Facets are three ``GROUP BY`` queries (brand, category, price range) over the same match and the
total one ``count(*)``: a search is 5 statements, every one inside ``took_ms``.

The query text never becomes query syntax: it is reduced to words
(:func:`~ecomlab.search.base.query_words`) and bound as a parameter; in FTS5 each word is a quoted
string (a double quote inside is doubled).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ecomlab.search.base import (
    PRICE_RANGES,
    Facets,
    Hit,
    SearchProduct,
    SearchRequest,
    SearchResponse,
    facets_from_rows,
)
from ecomlab.stores import SqlStore, sql_store

__all__ = ["DatabaseEngine", "PostgresEngine", "SqliteEngine", "fts5_match", "price_case",
           "seed_sql"]

_PRODUCTS_DDL = ("CREATE TABLE products (id BIGINT PRIMARY KEY, sku TEXT NOT NULL, "
                 "title TEXT NOT NULL, description TEXT NOT NULL, brand TEXT NOT NULL, "
                 "category TEXT NOT NULL, price DOUBLE PRECISION NOT NULL)")
_INSERT = sa.text("INSERT INTO products (id, sku, title, description, brand, category, price) "
                  "VALUES (:id, :sku, :title, :description, :brand, :category, :price)")


def fts5_match(words: Sequence[str]) -> str:
    """An FTS5 MATCH string in which every word is a quoted string (never an operator)."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def price_case(column: str = "p.price") -> str:
    """The seed's price ranges as a SQL ``CASE`` (from inclusive, to exclusive)."""
    arms = []
    for name, lo, hi in PRICE_RANGES:
        cond = [f"{column} >= {lo!r}" if lo is not None else "",
                f"{column} < {hi!r}" if hi is not None else ""]
        arms.append(f"WHEN {' AND '.join(c for c in cond if c)} THEN '{name}'")
    return "CASE " + " ".join(arms) + " END"


class DatabaseEngine:
    """Shared work of the two databases: the table, filters, facets by GROUP BY."""

    name = "database"
    #: FROM clause joining the full-text match to ``products p``
    _from = ""
    _match = ""
    _rank = ""
    _order = ""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._conn = store.engine.connect()
        self.queries = 0

    # -- writes -------------------------------------------------------------------------
    def _rows(self, products: Sequence[SearchProduct]) -> list[dict[str, Any]]:
        return [{"id": int(p.id), "sku": p.sku, "title": p.title,
                 "description": p.description, "brand": p.brand, "category": p.category,
                 "price": float(p.price)} for p in products]

    def _create(self, conn: sa.Connection) -> None:
        raise NotImplementedError

    def _after_load(self, conn: sa.Connection) -> None:
        raise NotImplementedError

    def _add_text(self, conn: sa.Connection, row: dict[str, Any]) -> None:
        """Keep the full-text index in step with one inserted row (same transaction)."""

    def index(self, products: Sequence[SearchProduct]) -> None:
        """Create the table, load ``products`` and build the full-text index (one transaction)."""
        with self._conn.begin():
            self._create(self._conn)
            rows = self._rows(products)
            for start in range(0, len(rows), 5000):
                self._conn.execute(_INSERT, rows[start:start + 5000])
            self._after_load(self._conn)

    def add(self, product: SearchProduct) -> None:
        """Insert one product and its index entry in one transaction (visible at commit)."""
        row = self._rows([product])[0]
        with self._conn.begin():
            self._conn.execute(_INSERT, row)
            self._add_text(self._conn, row)

    # -- reads --------------------------------------------------------------------------
    def _where(self, request: SearchRequest) -> tuple[str, dict[str, Any], list[Any]]:
        parts = [self._match]
        params: dict[str, Any] = {"q": self._query_param(request.words)}
        binds: list[Any] = []
        if request.brands:
            parts.append("p.brand IN :brands")
            params["brands"] = list(request.brands)
            binds.append(sa.bindparam("brands", expanding=True))
        if request.category is not None:
            parts.append("p.category = :category")
            params["category"] = request.category
        if request.min_price is not None:
            parts.append("p.price >= :min_price")
            params["min_price"] = request.min_price
        if request.max_price is not None:
            parts.append("p.price <= :max_price")
            params["max_price"] = request.max_price
        return " AND ".join(parts), params, binds

    def _query_param(self, words: Sequence[str]) -> str:
        return " ".join(words)

    def _run(self, sql: str, params: dict[str, Any], binds: list[Any]) -> list[Any]:
        stmt = sa.text(sql)
        if binds:
            stmt = stmt.bindparams(*binds)
        self.queries += 1
        return list(self._conn.execute(stmt, params))

    def search(self, request: SearchRequest) -> SearchResponse:
        """Top hits, the total and three GROUP BY facet queries (5 statements, all timed)."""
        t0 = time.perf_counter()
        if not request.words:
            return SearchResponse([], 0, Facets(), (time.perf_counter() - t0) * 1e3, 0)
        where, params, binds = self._where(request)
        n = 0
        hits: list[Hit] = []
        with self._conn.begin():
            if request.limit > 0:
                rows = self._run(
                    f"SELECT p.id, p.sku, p.title, {self._rank} AS score FROM {self._from} "
                    f"WHERE {where} ORDER BY score {self._order}, p.id LIMIT :limit",
                    {**params, "limit": request.limit}, binds)
                n += 1
                hits = [Hit(int(r[0]), str(r[1]), str(r[2]), self._score(float(r[3])))
                        for r in rows]
            total = int(self._run(f"SELECT count(*) FROM {self._from} WHERE {where}",
                                  params, binds)[0][0])
            n += 1
            facets = Facets()
            if total:
                facets = self._facets(where, params, binds)
                n += 3
        return SearchResponse(hits, total, facets, (time.perf_counter() - t0) * 1e3, n)

    def _score(self, raw: float) -> float:
        return round(raw, 6)

    def _facets(self, where: str, params: dict[str, Any], binds: list[Any]) -> Facets:
        def group(expr: str) -> list[Any]:
            return self._run(f"SELECT {expr} AS k, count(*) FROM {self._from} WHERE {where} "
                             f"GROUP BY k", params, binds)
        return facets_from_rows(group("p.brand"), group("p.category"), group(price_case()))

    def facets_for_ids(self, ids: Sequence[int]) -> Facets:
        """GROUP BY facets over exactly these product ids (to check an engine's counts)."""
        if not ids:
            return Facets()
        stmt_bind: list[Any] = [sa.bindparam("ids", expanding=True)]
        params = {"ids": [int(i) for i in ids]}

        def group(expr: str) -> list[Any]:
            return self._run(f"SELECT {expr} AS k, count(*) FROM products p "
                             f"WHERE p.id IN :ids GROUP BY k", params, stmt_bind)
        with self._conn.begin():
            return facets_from_rows(group("p.brand"), group("p.category"),
                                    group(price_case()))

    def describe(self) -> dict[str, object]:
        """Backend facts of the store."""
        return self.store.describe()

    def index_bytes(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection and dispose of the store (its schema or file)."""
        self._conn.close()
        self.store.dispose()

    def __enter__(self) -> DatabaseEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqliteEngine(DatabaseEngine):
    """SQLite FTS5 with ``bm25()`` column weights 3 / 2 / 1 (title, description, brand)."""

    name = "sqlite"
    _from = "products_fts JOIN products p ON p.id = products_fts.rowid"
    _match = "products_fts MATCH :q"
    _rank = "bm25(products_fts, 3.0, 2.0, 1.0)"
    _order = "ASC"  # bm25() is lower-is-better

    def __init__(self, store: SqlStore | None = None) -> None:
        super().__init__(store if store is not None else sql_store("sqlite"))

    def _create(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(_PRODUCTS_DDL.replace("DOUBLE PRECISION", "REAL"))
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE products_fts USING fts5(title, description, brand, "
            "content='products', content_rowid='id', tokenize='porter unicode61')")

    def _after_load(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql("INSERT INTO products_fts(products_fts) VALUES('rebuild')")

    def _add_text(self, conn: sa.Connection, row: dict[str, Any]) -> None:
        conn.execute(sa.text("INSERT INTO products_fts(rowid, title, description, brand) "
                             "VALUES (:id, :title, :description, :brand)"), row)

    def _query_param(self, words: Sequence[str]) -> str:
        return fts5_match(words)

    def _score(self, raw: float) -> float:
        return round(-raw, 6)  # higher is better, like every other engine

    def index_bytes(self) -> int:
        """Bytes of the database file (products table and FTS5 index)."""
        with self._conn.begin():
            pages = self._conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = self._conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        return int(pages) * int(size)


class PostgresEngine(DatabaseEngine):
    """PostgreSQL with the seed's SQL: GIN on ``to_tsvector``, ``plainto_tsquery``, ``ts_rank``."""

    name = "postgres"
    _vector = "to_tsvector('english', p.title || ' ' || p.description)"
    _from = "products p"
    _match = f"{_vector} @@ plainto_tsquery('english', :q)"
    _rank = f"ts_rank({_vector}, plainto_tsquery('english', :q))"
    _order = "DESC"

    def __init__(self, store: SqlStore | None = None) -> None:
        super().__init__(store if store is not None else sql_store("postgres"))

    def _create(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(_PRODUCTS_DDL)

    def _after_load(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(
            "CREATE INDEX products_search_idx ON products USING GIN "
            "(to_tsvector('english', title || ' ' || description))")
        conn.exec_driver_sql("ANALYZE products")

    def index_bytes(self) -> int:
        """Bytes of the products table with its indexes (``pg_total_relation_size``)."""
        with self._conn.begin():
            return int(self._conn.exec_driver_sql(
                "SELECT pg_total_relation_size('products')").scalar_one())


def seed_sql() -> str:
    """The seed's PostgreSQL search, as this module runs it (filters left out)."""
    v = "to_tsvector('english', title || ' ' || description)"
    return (f"CREATE INDEX ON products USING GIN ({v});\n"
            f"SELECT id, sku, title, ts_rank({v}, plainto_tsquery('english', :q)) AS score\n"
            f"  FROM products WHERE {v} @@ plainto_tsquery('english', :q)\n"
            f"  ORDER BY score DESC, id LIMIT :limit;")
