"""The catalog experiments: the measured run behind ``ecomlab run catalog``, the write costs,
the mixed reads during a rename, the size sweep, the integrity probe and the hierarchy lookup.

Everything here is label ``measured``: real code against the embedded (or configured) stores,
wall-clock times. Store choice: ``sql_backend`` (``duckdb`` default, ``sqlite``, ``postgres``;
``None`` follows ``ECOMLAB_SQL_URL``) and ``ECOMLAB_MONGO_URL`` (mongomock when unset). The two
schemas and the seed's queries, shown side by side, are in :mod:`ecomlab.catalog.schemas`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ecomlab import budget, validate
from ecomlab.catalog.checks import product_filter
from ecomlab.catalog.compare import (
    DEFAULT_CATEGORY,
    Questions,
    answer,
    both_stores,
    compare_answers,
    time_questions,
)
from ecomlab.catalog.documents import COLLECTION, doc_storage_bytes, load_documents
from ecomlab.catalog.hierarchy import hierarchy_costs
from ecomlab.catalog.mixed_reads import MixedReads, rename_with_readers
from ecomlab.catalog.relational import load_relational, products, sql_storage_bytes
from ecomlab.catalog.writes import (
    WriteCost,
    add_attribute_kind_docs,
    add_attribute_kind_sql,
    move_category_docs,
    move_category_sql,
    rename_brand_docs,
    rename_brand_sql,
)
from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.measure import LatencySummary, Result, progress
from ecomlab.stores import SQL_BACKENDS, DocumentStore, SqlStore, sql_store

__all__ = [
    "COST_PER_PRODUCT",
    "DEFAULT_CATEGORY",
    "MAX_PRODUCTS",
    "hierarchy_run",
    "integrity_probe",
    "rename_timelines",
    "run_catalog",
    "run_table",
    "scaling_sweep",
    "write_costs",
]

#: the largest catalog the experiments accept (the generator allows more; mongomock is slow)
MAX_PRODUCTS = 1_000_000
#: the marginal cost of one product in ``run_catalog`` (s, bytes): measured on this 2-core
#: machine between 20,000 (34 s, 0.43 GB peak) and 100,000 products (111 s, 0.99 GB peak)
#: with the default options, while other work ran; used to warn and to refuse, not reported
COST_PER_PRODUCT = (0.95e-3, 7_000.0)


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
    with both_stores(sql_backend) as (sql, docs):
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
        copies_sql, copies_docs = _brand_name_copies(sql, docs, bname)
        new_name = f"{bname} Group"
        sql_mix = rename_with_readers("relational", sql, bid, new_name, readers=readers,
                                      rounds=rounds, probe=probe)
        doc_mix = rename_with_readers("documents", docs, bid, new_name, readers=readers,
                                      rounds=rounds, probe=probe)
        after = compare_answers(answer(sql, q), answer(docs, q))
        integrity = integrity_probe(sql, docs)
        sql_info, doc_info = sql.describe(), docs.describe()
        doc_backend = docs.backend
    metrics: dict[str, Any] = {
        "products": n, **_answer_figures(same, after, sql_answers),
        "brand_renamed": {"id": bid, "from": bname, "to": new_name},
        "duplication_factor": round(copies_docs / max(copies_sql, 1), 2),
        "integrity": integrity,
        "relational": {
            "backend": sql_info["backend"], "load_s": round(sql_load.seconds, 4),
            "rows_loaded": sql_load.rows, **_read_figures(sql_ms),
            "rename_rows_touched": sql_mix.touched, "storage_bytes": sql_bytes,
            **_rename_figures(copies_sql, sql_mix),
        },
        "documents": {
            "backend": doc_backend, "load_s": round(doc_load.seconds, 4),
            "documents_loaded": doc_load.rows[COLLECTION], **_read_figures(doc_ms),
            "rename_docs_touched": doc_mix.touched,
            "storage_bytes": doc_bytes["data_bytes"], "index_bytes": doc_bytes["index_bytes"],
            **_rename_figures(copies_docs, doc_mix),
        },
    }
    params = {"seed": seed, "category": flt.category, "min_price": flt.min_price,
              "max_price": flt.max_price, "repeats": repeats, "readers": readers,
              "rounds": rounds, "probe": probe}
    return Result("catalog", "measured", seed, params, metrics,
                  backends={"sql": sql_info, "documents": doc_info})


def _answer_figures(same: dict[str, bool], after: dict[str, bool], answers: dict[str, Any]
                    ) -> dict[str, Any]:
    """Did both models answer alike (before and after the rename), and how many matched."""
    return {"results_identical": all(same.values()), "identical_by_question": same,
            "results_identical_after_rename": all(after.values()),
            "matches": len(answers["listing"]), "in_stock_matches": len(answers["in_stock"])}


def _brand_name_copies(sql: SqlStore, docs: DocumentStore, name: str) -> tuple[int, int]:
    """How many times each model stores the brand name ``name``: (relational, documents)."""
    copies_docs = int(docs.db[COLLECTION].count_documents({"brand.name": name}))
    with sql.engine.connect() as conn:
        copies_sql = int(conn.execute(sa.text(
            "SELECT count(*) FROM brands WHERE name = :n"), {"n": name}).scalar_one())
    return copies_sql, copies_docs


def _read_figures(ms: dict[str, LatencySummary]) -> dict[str, Any]:
    """One model's read latencies: the listing's and every question's (ms)."""
    return {"query_ms": ms["listing"].as_dict(),
            "queries_ms": {k: v.as_dict() for k, v in ms.items()}}


def _rename_figures(copies: int, mix: MixedReads) -> dict[str, Any]:
    """One model's brand-name copies and what readers saw during the rename."""
    return {"brand_name_copies": copies, "mixed_reads_during_rename": mix.mixed_reads,
            "rename": mix.as_dict()}


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
    with both_stores(sql_backend) as (sql, docs):
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
    with both_stores(sql_backend) as (sql, docs):
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
        with both_stores(sql_backend) as (sql, docs):
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


# ------------------------------------------------------------------------------ the ledger
