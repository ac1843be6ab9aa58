"""What writes cost in each model, and what readers see while a denormalized copy is rewritten.

* Brand rename: one row in ``brands`` vs every document that embeds the brand.
* Category move (a subtree changes parent): the materialized ``path`` of every category in the
  subtree is rewritten vs every product document under it.
* New attribute kind: an EAV insert (no DDL), or a typed column (``ALTER TABLE`` + backfill), vs
  a ``$set`` on the documents (no schema at all).

What readers see while the rename runs is measured in :mod:`ecomlab.catalog.mixed_reads`.

All timings are wall-clock (label ``measured``), in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ecomlab import validate
from ecomlab.catalog.checks import text_value
from ecomlab.catalog.documents import COLLECTION, _fetch, prefix_query
from ecomlab.catalog.relational import (
    brands,
    categories,
    category_prefix_clause,
    product_attributes,
    products,
)
from ecomlab.errors import InvalidInput
from ecomlab.measure import timed
from ecomlab.stores import DocumentStore, SqlStore

__all__ = [
    "WriteCost",
    "add_attribute_kind_docs",
    "add_attribute_kind_sql",
    "move_category_docs",
    "move_category_sql",
    "rename_brand_docs",
    "rename_brand_sql",
]


@dataclass(frozen=True)
class WriteCost:
    """One write and what it cost.

    Attributes:
        model: ``relational`` or ``documents``.
        operation: what was done (``rename brand``...).
        touched: rows or documents written (units).
        ms: wall-clock time (ms), measured.
        schema_change: True when DDL ran.
        note: how it was done.
    """

    model: str
    operation: str
    touched: int
    ms: float
    schema_change: bool = False
    note: str = ""


# ------------------------------------------------------------------------------ brand rename

def rename_brand_sql(store: SqlStore, brand_id: int, new_name: str, *,
                     midway: Callable[[], None] | None = None) -> WriteCost:
    """Rename a brand: one ``UPDATE brands`` in one transaction.

    ``midway``, when given, is called inside the transaction after the update and before the
    commit: the hook point where a reader can be sent in while the rename is in progress.
    """
    bid = validate.integer("brand_id", brand_id, minimum=1)
    name = text_value("new_name", new_name)
    with timed() as sw, store.engine.begin() as conn:
        res = conn.execute(sa.update(brands).where(brands.c.id == bid).values(name=name))
        touched = int(res.rowcount)  # read at once: DuckDB forgets it after the commit
        if touched == 0:
            raise InvalidInput(f"no brand with id {bid!r}; nothing was renamed")
        if midway is not None:
            midway()
    return WriteCost("relational", "rename brand", touched, sw.elapsed_ms,
                     note="UPDATE brands SET name = ... WHERE id = ... (1 transaction)")


def rename_brand_docs(store: DocumentStore, brand_id: int, new_name: str, *,
                      midway: Callable[[], None] | None = None) -> WriteCost:
    """Rename a brand in every product document that embeds it (``update_many``).

    ``update_many`` writes one document at a time with no isolation across documents.
    ``midway``, when given, is the hook point between two of those writes: the documents are
    renamed in two ``update_many`` calls (the first half of their ids, then the rest) and
    ``midway`` is called between them, so a reader can be sent in at that moment.
    """
    bid = validate.integer("brand_id", brand_id, minimum=1)
    name = text_value("new_name", new_name)
    coll = store.db[COLLECTION]
    update = {"$set": {"brand.name": name}}
    with timed() as sw:
        if midway is None:
            res = coll.update_many({"brand.id": bid}, update)
            matched, modified = int(res.matched_count), int(res.modified_count)
        else:
            ids = sorted(d["_id"] for d in _fetch(coll.find({"brand.id": bid}, {"_id": 1})))
            if not ids:
                raise InvalidInput(f"no document embeds brand id {bid!r}; nothing was renamed")
            half = max(1, len(ids) // 2)
            matched = modified = 0
            for i, part in enumerate((ids[:half], ids[half:])):
                if i == 1:
                    midway()
                if part:
                    res = coll.update_many({"_id": {"$in": part}}, update)
                    matched += int(res.matched_count)
                    modified += int(res.modified_count)
    if matched == 0:
        raise InvalidInput(f"no document embeds brand id {bid!r}; nothing was renamed")
    return WriteCost("documents", "rename brand", modified, sw.elapsed_ms,
                     note="update_many({brand.id}, $set brand.name): one write per document")


# ----------------------------------------------------------------------------- category move

def _category_row(conn: sa.Connection, path: str) -> Any:
    row = conn.execute(sa.select(categories).where(
        categories.c.path == sa.bindparam(None, path, type_=sa.String))).first()
    if row is None:
        raise InvalidInput(f"unknown category path {path!r}")
    return row


def move_category_sql(store: SqlStore, path: str, new_parent: str) -> WriteCost:
    """Move the category at ``path`` (and its subtree) under ``new_parent``, in one transaction.

    With a materialized path every category of the subtree gets a new ``path`` and ``level``;
    product rows keep their ``category_id`` and are not touched.
    """
    path = text_value("path", path)
    new_parent = text_value("new_parent", new_parent)
    if new_parent == path or new_parent.startswith(path + "/"):
        raise InvalidInput(f"cannot move {path!r} under its own subtree {new_parent!r}")
    with timed() as sw, store.engine.begin() as conn:
        cat = _category_row(conn, path)
        parent = _category_row(conn, new_parent)
        new_path = f"{parent.path}/{cat.name}"
        clash = conn.execute(sa.select(sa.func.count()).select_from(categories).where(
            categories.c.path == sa.bindparam(None, new_path, type_=sa.String))).scalar_one()
        if clash:
            raise InvalidInput(f"{new_parent!r} already has a category named {cat.name!r}")
        delta = int(parent.level) + 1 - int(cat.level)
        conn.execute(sa.update(categories).where(categories.c.id == cat.id)
                     .values(parent_id=parent.id))
        res = conn.execute(
            sa.update(categories)
            .where(category_prefix_clause(categories.c.path, path))
            .values(path=sa.bindparam("np", new_path, type_=sa.String)
                    + sa.func.substr(categories.c.path, len(path) + 1),
                    level=categories.c.level + delta))
        touched = int(res.rowcount)
    return WriteCost("relational", "move category", touched, sw.elapsed_ms,
                     note="materialized path: rewrite path and level of the subtree's categories")


def move_category_docs(store: DocumentStore, path: str, new_parent: str) -> WriteCost:
    """Move a category subtree in the documents: rewrite ``category.path`` in every product
    document under ``path`` (one ``update_many`` per leaf category)."""
    path = text_value("path", path)
    new_parent = text_value("new_parent", new_parent)
    if new_parent == path or new_parent.startswith(path + "/"):
        raise InvalidInput(f"cannot move {path!r} under its own subtree {new_parent!r}")
    coll = store.db[COLLECTION]
    old = path.split("/")
    parent = new_parent.split("/")
    if coll.find_one(prefix_query(new_parent), {"_id": 1}) is None:
        raise InvalidInput(f"unknown category path {new_parent!r} (no product under it)")
    touched = 0
    with timed() as sw:
        leaves = sorted({int(cid) for cid in coll.distinct("category.id", prefix_query(path))})
        if not leaves:
            raise InvalidInput(f"unknown category path {path!r} (no product under it)")
        for cid in leaves:
            doc = coll.find_one({"category.id": cid}, {"category.path": 1})
            assert doc is not None
            new_path = [*parent, old[-1], *list(doc["category"]["path"][len(old):])]
            res = coll.update_many({"category.id": cid}, {"$set": {
                "category.path": new_path, "category.level": len(new_path)}})
            touched += int(res.modified_count)
    return WriteCost("documents", "move category", touched, sw.elapsed_ms,
                     note="rewrite category.path and level in every product document below")


# -------------------------------------------------------------------------- new attribute kind

def add_attribute_kind_sql(store: SqlStore, name: str, value: str, category: str
                           ) -> list[WriteCost]:
    """Give every product under ``category`` a new attribute, two relational ways.

    1. EAV: insert one ``product_attributes`` row per product (no DDL; the value is untyped).
    2. Typed column: ``ALTER TABLE products ADD COLUMN`` then a backfill ``UPDATE``. If the
       engine refuses the DDL (DuckDB refuses ALTER on a table other objects depend on), the
       refusal is reported as the cost, with 0 rows.
    """
    name = text_value("name", name)
    value = text_value("value", value)
    category = text_value("category", category)
    if not name.isidentifier() or not name.islower():
        raise InvalidInput(f"attribute kind {name!r} must be a lower-case identifier "
                           "(letters, digits, _)")
    ids_under = (sa.select(products.c.id).join(categories, products.c.category_id
                                                == categories.c.id)
                 .where(category_prefix_clause(categories.c.path, category)))
    out: list[WriteCost] = []
    with timed() as sw, store.engine.begin() as conn:
        touched = int(conn.execute(sa.select(sa.func.count()).select_from(
            ids_under.subquery())).scalar_one())
        sel = ids_under.add_columns(sa.literal(name, sa.String).label("name"),
                                    sa.literal(value, sa.String).label("value"))
        conn.execute(sa.insert(product_attributes).from_select(
            ["product_id", "name", "value"], sel))
    out.append(WriteCost("relational", "add attribute kind (EAV rows)", touched, sw.elapsed_ms,
                         False, "INSERT INTO product_attributes SELECT ... (no DDL)"))
    column = f"attr_{name}"
    try:
        with timed() as sw, store.engine.begin() as conn:
            conn.execute(sa.text(f'ALTER TABLE products ADD COLUMN "{column}" VARCHAR(200)'))
            ddl_ms = sw.elapsed_ms
            widened = sa.table("products", sa.column("id"), sa.column(column))
            res = conn.execute(sa.update(widened)
                               .where(widened.c.id.in_(ids_under.scalar_subquery()))
                               .values({column: sa.bindparam(None, value, type_=sa.String)}))
            touched = int(res.rowcount)
        out.append(WriteCost("relational", "add attribute kind (typed column)", touched,
                             sw.elapsed_ms, True,
                             f"ALTER TABLE ADD COLUMN took {ddl_ms:.1f} ms, then UPDATE backfill"))
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        out.append(WriteCost("relational", "add attribute kind (typed column)", 0,
                             sw.elapsed_ms, True, f"refused by {store.backend}: {reason}"))
    return out


def add_attribute_kind_docs(store: DocumentStore, name: str, value: str, category: str
                            ) -> WriteCost:
    """Give every product document under ``category`` a new attribute (``$set``, no schema)."""
    name = text_value("name", name)
    value = text_value("value", value)
    if not name.isidentifier() or not name.islower():
        raise InvalidInput(f"attribute kind {name!r} must be a lower-case identifier "
                           "(letters, digits, _)")
    with timed() as sw:
        res = store.db[COLLECTION].update_many(prefix_query(category),
                                               {"$set": {f"attributes.{name}": value}})
    return WriteCost("documents", "add attribute kind", int(res.modified_count), sw.elapsed_ms,
                     False, "update_many($set attributes.<kind>): no schema to change")
