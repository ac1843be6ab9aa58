"""The catalog experiments: the measured run behind ``ecomlab run catalog``, the write costs,
the size sweep, the integrity probe and the claims ledger.

Everything here is label ``measured``: real code against the embedded (or configured) stores,
wall-clock times. Store choice: ``sql_backend`` (``duckdb`` default, ``sqlite``, ``postgres``;
``None`` follows ``ECOMLAB_SQL_URL``) and ``ECOMLAB_MONGO_URL`` (mongomock when unset).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ecomlab import budget, validate
from ecomlab.catalog.checks import product_filter, text_value
from ecomlab.catalog.compare import Questions, answer, compare_answers, time_questions
from ecomlab.catalog.documents import (
    COLLECTION,
    build_documents,
    doc_storage_bytes,
    load_documents,
)
from ecomlab.catalog.hierarchy import hierarchy_costs
from ecomlab.catalog.relational import (
    DUCKDB_METADATA,
    METADATA,
    TABLE_ORDER,
    load_relational,
    products,
    sql_storage_bytes,
)
from ecomlab.catalog.writes import (
    MixedReads,
    WriteCost,
    add_attribute_kind_docs,
    add_attribute_kind_sql,
    move_category_docs,
    move_category_sql,
    rename_brand_docs,
    rename_brand_sql,
    rename_with_readers,
)
from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.measure import Result, progress
from ecomlab.stores import (
    SQL_BACKENDS,
    DocumentStore,
    SqlStore,
    borrowed,
    document_store,
    sql_store,
)

__all__ = [
    "COST_PER_PRODUCT",
    "MAX_PRODUCTS",
    "hierarchy_run",
    "integrity_probe",
    "query_texts",
    "relational_ddl",
    "rename_timelines",
    "run_catalog",
    "run_table",
    "sample_document",
    "scaling_sweep",
    "schemas_side_by_side",
    "seed_like_matches",
    "seed_queries",
    "write_costs",
]

#: the largest catalog the experiments accept (the generator allows more; mongomock is slow)
MAX_PRODUCTS = 1_000_000
#: the marginal cost of one product in ``run_catalog`` (s, bytes): measured on this 2-core
#: machine between 20,000 (34 s, 0.43 GB peak) and 100,000 products (111 s, 0.99 GB peak)
#: with the default options, while other work ran; used to warn and to refuse, not reported
COST_PER_PRODUCT = (0.95e-3, 7_000.0)
DEFAULT_CATEGORY = "Electronics/Computers"


@contextlib.contextmanager
def _stores(sql_backend: str | None) -> Iterator[tuple[SqlStore, DocumentStore]]:
    if sql_backend is not None:
        validate.choice("sql_backend", sql_backend, SQL_BACKENDS)
    with borrowed(None, lambda: sql_store(sql_backend)) as sql, \
            borrowed(None, document_store) as docs:
        yield sql, docs


def _top_brand(catalog: Catalog) -> tuple[int, str]:
    counts = catalog.products["brand_id"].value_counts()
    bid = int(counts.index[0])
    name = str(catalog.brands.set_index("id").loc[bid, "name"])
    return bid, name


def _checked_size(products_n: object) -> int:
    return validate.integer("products", products_n, minimum=10, maximum=MAX_PRODUCTS)


def run_catalog(products: int = 2000, seed: int = 42, *, category: str | None = DEFAULT_CATEGORY,
                min_price: float | None = None, max_price: float | None = None,
                sql_backend: str | None = None, repeats: int = 10, readers: int = 4,
                rounds: int = 3, probe: bool = True) -> Result:
    """Load one generated catalog into both models, prove they answer alike, time the reads,
    weigh the storage and rename the busiest brand under concurrent readers.

    Args:
        products: catalog size (products, 10 .. 1,000,000).
        seed: the generator's seed.
        category: listing filter, a category path prefix (``None`` = all).
        min_price, max_price: listing price bounds (USD).
        sql_backend: ``duckdb``, ``sqlite`` or ``postgres`` (``None``: ECOMLAB_SQL_URL/DuckDB).
        repeats: timed runs per query.
        readers: reader threads during the rename.
        rounds: renames (back and forth) during the mixed-read experiment.
        probe: send one read in at each rename's hook point, so every round has a read that
            overlaps it by construction (see :func:`rename_with_readers`).

    Returns:
        a ``measured`` Result whose flat form has ``products, results_identical, matches,
        relational {...}, documents {...}``.
    """
    n = _checked_size(products)
    seed = validate.integer("seed", seed, minimum=0)
    flt = product_filter(category, min_price, max_price)
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=10_000)
    readers = validate.integer("readers", readers, minimum=1, maximum=64)
    rounds = validate.integer("rounds", rounds, minimum=1, maximum=1000)
    catalog = generate_catalog(n, seed)
    with _stores(sql_backend) as (sql, docs):
        sql_load = load_relational(sql, catalog)
        budget.advance(n)  # the command line's progress and Ctrl-C report
        doc_load = load_documents(docs, catalog)
        budget.advance(n)
        listing = answer(sql, Questions.from_filter(flt, str(catalog.products["sku"].iloc[0])))
        views = listing["listing"]
        sku = views[0].sku if views else str(catalog.products["sku"].iloc[0])
        q = Questions.from_filter(flt, sku)
        sql_answers, doc_answers = answer(sql, q), answer(docs, q)
        same = compare_answers(sql_answers, doc_answers)
        sql_ms = time_questions(sql, q, repeats=repeats)
        doc_ms = time_questions(docs, q, repeats=repeats)
        sql_bytes = sql_storage_bytes(sql)
        doc_bytes = doc_storage_bytes(docs)
        bid, bname = _top_brand(catalog)
        copies_docs = int(docs.db[COLLECTION].count_documents({"brand.name": bname}))
        with sql.engine.connect() as conn:
            copies_sql = int(conn.execute(sa.text(
                "SELECT count(*) FROM brands WHERE name = :n"), {"n": bname}).scalar_one())
        new_name = f"{bname} Group"
        sql_mix = rename_with_readers("relational", sql, bid, new_name, readers=readers,
                                      rounds=rounds, probe=probe)
        doc_mix = rename_with_readers("documents", docs, bid, new_name, readers=readers,
                                      rounds=rounds, probe=probe)
        after = compare_answers(answer(sql, q), answer(docs, q))
        integrity = integrity_probe(sql, docs)
        sql_info, doc_info = sql.describe(), docs.describe()
        doc_backend = docs.backend

    def lat(summary: Any) -> dict[str, Any]:
        return summary.as_dict()

    metrics: dict[str, Any] = {
        "products": n,
        "results_identical": all(same.values()),
        "identical_by_question": same,
        "results_identical_after_rename": all(after.values()),
        "matches": len(sql_answers["listing"]),
        "in_stock_matches": len(sql_answers["in_stock"]),
        "brand_renamed": {"id": bid, "from": bname, "to": new_name},
        "duplication_factor": round(copies_docs / max(copies_sql, 1), 2),
        "integrity": integrity,
        "relational": {
            "backend": sql_info["backend"], "load_s": round(sql_load.seconds, 4),
            "rows_loaded": sql_load.rows,
            "query_ms": lat(sql_ms["listing"]),
            "queries_ms": {k: lat(v) for k, v in sql_ms.items()},
            "rename_rows_touched": sql_mix.touched,
            "storage_bytes": sql_bytes,
            "brand_name_copies": copies_sql,
            "mixed_reads_during_rename": sql_mix.mixed_reads,
            "rename": sql_mix.as_dict(),
        },
        "documents": {
            "backend": doc_backend, "load_s": round(doc_load.seconds, 4),
            "documents_loaded": doc_load.rows[COLLECTION],
            "query_ms": lat(doc_ms["listing"]),
            "queries_ms": {k: lat(v) for k, v in doc_ms.items()},
            "rename_docs_touched": doc_mix.touched,
            "storage_bytes": doc_bytes["data_bytes"],
            "index_bytes": doc_bytes["index_bytes"],
            "brand_name_copies": copies_docs,
            "mixed_reads_during_rename": doc_mix.mixed_reads,
            "rename": doc_mix.as_dict(),
        },
    }
    params = {"seed": seed, "category": flt.category, "min_price": flt.min_price,
              "max_price": flt.max_price, "repeats": repeats, "readers": readers,
              "rounds": rounds, "probe": probe}
    return Result("catalog", "measured", seed, params, metrics,
                  backends={"sql": sql_info, "documents": doc_info})


def rename_timelines(products: int = 2000, seed: int = 42, *, sql_backend: str | None = None,
                     readers: int = 4, rounds: int = 3, probe: bool = True
                     ) -> tuple[MixedReads, MixedReads]:
    """The mixed-read experiment alone, with every read's timing kept for plotting:
    (relational, documents). With ``probe`` (the default) each round also sends one read in at
    the rename's hook point, so the documents show a mixed read in every round by construction
    and SQL shows none."""
    n = _checked_size(products)
    catalog = generate_catalog(n, validate.integer("seed", seed, minimum=0))
    bid, bname = _top_brand(catalog)
    with _stores(sql_backend) as (sql, docs):
        load_relational(sql, catalog)
        load_documents(docs, catalog)
        sql_mix = rename_with_readers("relational", sql, bid, f"{bname} Group",
                                      readers=readers, rounds=rounds, probe=probe)
        doc_mix = rename_with_readers("documents", docs, bid, f"{bname} Group",
                                      readers=readers, rounds=rounds, probe=probe)
    return sql_mix, doc_mix


def write_costs(products: int = 2000, seed: int = 42, *, sql_backend: str | None = None,
                move: tuple[str, str] = ("Electronics/Audio", "Home"),
                attribute_category: str = "Electronics") -> pd.DataFrame:
    """Rows vs documents written (and ms) for a brand rename, a category move and a new
    attribute kind, on freshly loaded stores (label ``measured``)."""
    n = _checked_size(products)
    catalog = generate_catalog(n, validate.integer("seed", seed, minimum=0))
    bid, bname = _top_brand(catalog)
    costs: list[WriteCost] = []
    with _stores(sql_backend) as (sql, docs):
        load_relational(sql, catalog)
        load_documents(docs, catalog)
        costs.append(rename_brand_sql(sql, bid, f"{bname} Group"))
        costs.append(rename_brand_docs(docs, bid, f"{bname} Group"))
        costs.append(move_category_sql(sql, *move))
        costs.append(move_category_docs(docs, *move))
        costs.extend(add_attribute_kind_sql(sql, "warranty_years", "2", attribute_category))
        costs.append(add_attribute_kind_docs(docs, "warranty_years", "2", attribute_category))
        backends = {"relational": sql.backend, "documents": docs.backend}
    df = pd.DataFrame([asdict(c) for c in costs])
    df.insert(1, "backend", df["model"].map(backends))
    df["label"] = "measured"
    df["products"] = n
    return df


def scaling_sweep(sizes: Sequence[int] = (1000, 3000, 10000), seed: int = 42, *,
                  sql_backend: str | None = None, category: str = DEFAULT_CATEGORY,
                  repeats: int = 5, show_progress: bool = True) -> pd.DataFrame:
    """Load time, storage and per-question latency (p50/p99 ms) at each catalog size."""
    sizes = [_checked_size(s) for s in sizes]
    if not sizes:
        raise InvalidInput("sizes must name at least one catalog size")
    flt = product_filter(category)
    rows: list[dict[str, Any]] = []
    for n in progress(sizes, total=len(sizes), desc="catalog sizes",
                      disable=not show_progress):
        catalog = generate_catalog(n, seed)
        with _stores(sql_backend) as (sql, docs):
            loads = {"relational": load_relational(sql, catalog),
                     "documents": load_documents(docs, catalog)}
            sizes_b = {"relational": sql_storage_bytes(sql),
                       "documents": doc_storage_bytes(docs)["data_bytes"]}
            q = Questions.from_filter(flt, str(catalog.products["sku"].iloc[n // 2]))
            for model, store in (("relational", sql), ("documents", docs)):
                for question, lat in time_questions(store, q, repeats=repeats).items():
                    rows.append({"products": n, "model": model, "backend": store.backend,
                                 "question": question, "p50_ms": lat.p50, "p99_ms": lat.p99,
                                 "samples": lat.count, "load_s": loads[model].seconds,
                                 "storage_bytes": sizes_b[model], "label": "measured"})
    return pd.DataFrame(rows)


def integrity_probe(sql: SqlStore, docs: DocumentStore) -> dict[str, Any]:
    """Try to store a product whose brand does not exist, in both models.

    The relational store must refuse (foreign key) and roll back; the document store has no
    references to check and accepts it (the probe document is removed again afterwards).
    """
    probe = {"id": 999_999_901, "uuid": "00000000-0000-4000-8000-00000000abcd",
             "sku": "PROBE-NO-BRAND", "title": "Probe", "description": "integrity probe",
             "brand_id": 999_999, "category_id": 1, "base_price": 1.0,
             "created_at": pd.Timestamp("2024-01-01").to_pydatetime()}
    sql_refused = False
    reason = ""
    try:
        with sql.engine.begin() as conn:
            conn.execute(sa.insert(products), [probe])
    except sa.exc.DBAPIError as exc:
        sql_refused = True
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    else:
        with sql.engine.begin() as conn:
            conn.execute(sa.delete(products).where(products.c.id == probe["id"]))
    coll = docs.db[COLLECTION]
    doc = {"_id": probe["id"], "sku": probe["sku"],
           "brand": {"id": 999_999, "name": "Ghost brand", "logo_url": ""}}
    try:
        coll.insert_one(doc)
        docs_accepted = coll.count_documents({"_id": probe["id"]}) == 1
    finally:
        coll.delete_one({"_id": probe["id"]})
    return {"relational_refused": sql_refused, "relational_reason": reason,
            "documents_accepted": docs_accepted}


def relational_ddl(backend: str = "duckdb") -> str:
    """The CREATE TABLE statements of the relational model, as ``backend`` receives them."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    validate.choice("backend", backend, SQL_BACKENDS)
    if backend == "duckdb":
        import duckdb_engine

        dialect: Any = duckdb_engine.Dialect()
        meta = DUCKDB_METADATA
    else:
        dialect = postgresql.dialect() if backend == "postgres" else sqlite.dialect()
        meta = METADATA
    parts = []
    for name in TABLE_ORDER:
        table = meta.tables[name]
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        parts.extend(str(CreateIndex(ix).compile(dialect=dialect)).strip() + ";"
                     for ix in sorted(table.indexes, key=lambda i: str(i.name)))
    return "\n\n".join(parts)


def sample_document(catalog: Catalog, sku: str | None = None) -> str:
    """One product document as JSON (the first product, or the one with ``sku``)."""
    docs = build_documents(catalog)
    if sku is not None:
        sku = text_value("sku", sku)
        found = [d for d in docs if d["sku"] == sku]
        if not found:
            raise InvalidInput(f"no product with sku {sku!r}")
        docs = found
    return json.dumps(docs[0], indent=2, default=str)


def query_texts(category: str = DEFAULT_CATEGORY, min_price: float | None = None,
                max_price: float | None = None, backend: str = "duckdb") -> dict[str, str]:
    """The listing as each model receives it: SQL for ``backend`` (parameters shown as
    placeholders, values listed apart) and the MongoDB filter document."""
    from ecomlab.catalog.documents import _price_query, prefix_query
    from ecomlab.catalog.relational import (
        _price_clauses,
        _view_select,
        categories,
        category_prefix_clause,
    )

    flt = product_filter(category, min_price, max_price)
    backend = validate.choice("backend", backend, SQL_BACKENDS)
    stmt = _view_select(backend).where(*_price_clauses(flt.min_price, flt.max_price))
    if flt.category is not None:
        stmt = stmt.where(category_prefix_clause(categories.c.path, flt.category))
    if backend == "duckdb":
        import duckdb_engine

        dialect: Any = duckdb_engine.Dialect()
    else:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql.dialect() if backend == "postgres" else sqlite.dialect()
    compiled = stmt.compile(dialect=dialect)
    mongo: dict[str, Any] = prefix_query(flt.category) if flt.category else {}
    mongo.update(_price_query(flt.min_price, flt.max_price))
    return {"sql": str(compiled), "sql_parameters": json.dumps(list(compiled.params.values())),
            "mongo_filter": json.dumps(mongo),
            "mongo_sort": json.dumps([["pricing.base_price", 1], ["_id", 1]])}


def seed_queries(catalog: Catalog, category: str = DEFAULT_CATEGORY,
                 min_price: float | None = None, max_price: float | None = None, *,
                 sql_backend: str | None = None, head: int = 5
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ask both models the four questions on ``catalog``: a per-question table (answers'
    sizes, identical or not) and the first ``head`` listing rows of each model side by side."""
    flt = product_filter(category, min_price, max_price)
    head = validate.integer("head", head, minimum=1, maximum=1000)
    with _stores(sql_backend) as (sql, docs):
        load_relational(sql, catalog)
        load_documents(docs, catalog)
        first = sql_answers_sku = str(catalog.products["sku"].iloc[0])
        q = Questions.from_filter(flt, first)
        a, b = answer(sql, q), answer(docs, q)
        sql_answers_sku = a["listing"][0].sku if a["listing"] else first
        q = Questions.from_filter(flt, sql_answers_sku)
        a, b = answer(sql, q), answer(docs, q)
        names = {"relational": sql.backend, "documents": docs.backend}
    same = compare_answers(a, b)

    def size(x: Any) -> int:
        return len(x) if isinstance(x, list | dict) else int(x is not None)

    table = pd.DataFrame([{"question": k, f"relational ({names['relational']})": size(a[k]),
                           f"documents ({names['documents']})": size(b[k]),
                           "identical": same[k]} for k in a])
    rows = []
    for model, views in (("relational", a["listing"]), ("documents", b["listing"])):
        for v in views[:head]:
            rows.append({"model": model, "sku": v.sku, "brand": v.brand, "path": v.path,
                         "price": v.price, "attributes": len(v.attributes)})
    return table, pd.DataFrame(rows)


def seed_like_matches(catalog: Catalog, texts: Sequence[str], *,
                      sql_backend: str | None = None) -> pd.DataFrame:
    """Where the seed's prefix filter goes wrong: ``path LIKE :prefix || '%'`` (bound, so no
    injection, but ``%`` and ``_`` still act as wildcards and ``Electronics/Comp`` matches
    ``Electronics/Computers``) against the literal, segment-wise prefix used here.

    Returns one row per text: products the seed's LIKE matches, products the literal prefix
    matches (relational), and the same on the documents.
    """
    from ecomlab.catalog.documents import doc_listing
    from ecomlab.catalog.relational import categories, sql_listing

    checked = [text_value("text", t) for t in texts]
    rows = []
    with _stores(sql_backend) as (sql, docs):
        load_relational(sql, catalog)
        load_documents(docs, catalog)
        for text in checked:
            seed = (sa.select(sa.func.count()).select_from(products)
                    .join(categories, products.c.category_id == categories.c.id)
                    .where(categories.c.path.like(sa.bindparam(None, text, type_=sa.String)
                                                  + "%")))
            with sql.engine.connect() as conn:
                like_n = int(conn.execute(seed).scalar_one())
            flt = product_filter(text)
            rows.append({"filter text": text, "seed LIKE prefix": like_n,
                         "literal prefix (SQL)": len(sql_listing(sql, flt)),
                         "literal prefix (documents)": len(doc_listing(docs, flt))})
    return pd.DataFrame(rows)


def hierarchy_run(products: int = 2000, seed: int = 42, *, category: str = "Electronics",
                  sql_backend: str | None = None, repeats: int = 20) -> pd.DataFrame:
    """Materialized path vs recursive CTE on a fresh relational store (measured); one row per
    method, plus the rows a subtree move rewrites with each."""
    n = _checked_size(products)
    catalog = generate_catalog(n, validate.integer("seed", seed, minimum=0))
    store = sql_store(validate.choice("sql_backend", sql_backend, SQL_BACKENDS)
                      if sql_backend is not None else None)
    try:
        load_relational(store, catalog)
        costs = hierarchy_costs(store, category, repeats=repeats)
        subtree = int(catalog.categories["path"].map(
            lambda p: p == category or p.startswith(category + "/")).sum())
        backend = store.backend
    finally:
        store.dispose()
    moves = {"materialized path": subtree, "recursive CTE": 1}
    return pd.DataFrame([{"method": c.method, "backend": backend, "products": c.products,
                          "statements": c.statements, "p50_ms": c.latency.p50,
                          "p99_ms": c.latency.p99, "samples": c.latency.count,
                          "rows_a_move_rewrites": moves[c.method],
                          "label": "measured"} for c in costs])


def run_table(run: Result) -> pd.DataFrame:
    """The measured run as one row per model (times in ms or s, sizes in bytes)."""
    m = run.metrics
    rows = []
    for model, touched in (("relational", "rename_rows_touched"),
                           ("documents", "rename_docs_touched")):
        side = m[model]
        rows.append({
            "model": model, "backend": side["backend"], "load_s": side["load_s"],
            "listing_p50_ms": side["queries_ms"]["listing"]["p50"],
            "listing_p99_ms": side["queries_ms"]["listing"]["p99"],
            "in_stock_p50_ms": side["queries_ms"]["in_stock"]["p50"],
            "page_p50_ms": side["queries_ms"]["product_page"]["p50"],
            "facets_p50_ms": side["queries_ms"]["brand_facets"]["p50"],
            "storage_bytes": side["storage_bytes"],
            "brand_name_copies": side["brand_name_copies"],
            "rename_touched": side[touched],
            "rename_ms": side["rename"]["rename_ms"],
            "mixed_reads_during_rename": side["rename"]["mixed_reads"],
            "reads_during_rename": side["rename"]["reads_during_rename"],
            "probe_mixed": side["rename"].get("probe_mixed", 0),
            "probe_reads": side["rename"].get("probe_reads", 0),
        })
    return pd.DataFrame(rows).set_index("model")


def schemas_side_by_side(catalog: Catalog, backend: str = "duckdb") -> str:
    """HTML: the relational DDL (left) next to one product document (right)."""
    import html

    left = html.escape(relational_ddl(backend))
    right = html.escape(sample_document(catalog))
    cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
            '<pre style="font-size:11px">{}</pre></td>')
    return ("<table><tr>" + cell.format(f"relational ({html.escape(backend)})", left)
            + cell.format("document (one product)", right) + "</tr></table>")


# ------------------------------------------------------------------------------ the ledger
