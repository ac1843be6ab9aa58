"""The two models as the seed wrote them, side by side: the relational DDL, one product
document, the listing as each model receives it, and the seed's queries asked of both.

What notebook 02 shows before it measures anything; the timed experiments are in
:mod:`ecomlab.catalog.experiment`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ecomlab import validate
from ecomlab.catalog.checks import product_filter, text_value
from ecomlab.catalog.compare import (
    DEFAULT_CATEGORY,
    Questions,
    answer,
    both_stores,
    compare_answers,
)
from ecomlab.catalog.documents import build_documents, load_documents
from ecomlab.catalog.relational import (
    DUCKDB_METADATA,
    METADATA,
    TABLE_ORDER,
    load_relational,
    products,
)
from ecomlab.datagen import Catalog
from ecomlab.errors import InvalidInput
from ecomlab.stores import SQL_BACKENDS

__all__ = ["query_texts", "relational_ddl", "sample_document", "schemas_side_by_side",
           "seed_like_matches", "seed_queries"]


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
    with both_stores(sql_backend) as (sql, docs):
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
    with both_stores(sql_backend) as (sql, docs):
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


def schemas_side_by_side(catalog: Catalog, backend: str = "duckdb") -> str:
    """HTML: the relational DDL (left) next to one product document (right)."""
    import html

    left = html.escape(relational_ddl(backend))
    right = html.escape(sample_document(catalog))
    cell = ('<td style="vertical-align:top;text-align:left"><b>{}</b>'
            '<pre style="font-size:11px">{}</pre></td>')
    return ("<table><tr>" + cell.format(f"relational ({html.escape(backend)})", left)
            + cell.format("document (one product)", right) + "</tr></table>")
