"""The normalized (relational) catalog: schema, loader, the seed's queries per dialect, size.

Schema (SQLAlchemy Core, the same on DuckDB, SQLite and PostgreSQL)::

    categories(id, name, parent_id -> categories, level, path UNIQUE)   materialized path
    brands(id, name, slug UNIQUE, logo_url)
    products(id, uuid UNIQUE, sku UNIQUE, title, description, brand_id -> brands,
             category_id -> categories, base_price NUMERIC(12,2) >= 0, created_at)
    inventory(product_id -> products, total, available)
    product_attributes(product_id -> products, name, value)  PRIMARY KEY (product_id, name)

A brand's name is stored once; a listing joins it back in. Attributes are aggregated per product
with each dialect's own function: ``list`` on DuckDB, ``jsonb_object_agg`` on PostgreSQL,
``json_group_object`` on SQLite. Every filter value is a bound parameter; the category prefix is
compared with ``substr`` (no ``LIKE``, so ``%`` and ``_`` are just characters).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ecomlab.catalog.checks import ProductFilter, text_value, validate_catalog
from ecomlab.catalog.views import ProductPage, ProductView, attributes_of, cents, iso_seconds
from ecomlab.datagen import Catalog
from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.measure import timed
from ecomlab.stores import SqlStore

__all__ = [
    "DUCKDB_METADATA",
    "METADATA",
    "LoadReport",
    "create_schema",
    "load_relational",
    "sql_brand_facets",
    "sql_in_stock",
    "sql_listing",
    "sql_product_page",
    "sql_row_counts",
    "sql_storage_bytes",
]

def _define(metadata: sa.MetaData, *, category_keys: bool) -> sa.MetaData:
    """Declare the five tables on ``metadata``.

    ``category_keys=False`` leaves out the ``categories.parent_id`` foreign key and the unique
    index on ``categories.path``: DuckDB rewrites a row whose indexed column changes as a
    delete plus an insert and then refuses because products still reference the category, so a
    category move would be impossible there. The loader's checks guard those two rules instead.
    """
    parent: list[Any] = [sa.ForeignKey("categories.id")] if category_keys else []
    sa.Table(
        "categories", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_id", sa.Integer, *parent, nullable=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("path", sa.String(400), nullable=False, unique=category_keys),
    )
    sa.Table(
        "brands", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("logo_url", sa.String(300), nullable=False),
    )
    p = sa.Table(
        "products", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("sku", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("brand_id", sa.Integer, sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id"), nullable=False),
        sa.Column("base_price", sa.Numeric(12, 2, asdecimal=False), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("base_price >= 0", name="ck_products_price"),
    )
    sa.Table(
        "inventory", metadata,
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("available", sa.Integer, nullable=False),
    )
    sa.Table(
        "product_attributes", metadata,
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    sa.Index("ix_products_category_price", p.c.category_id, p.c.base_price)
    sa.Index("ix_products_brand", p.c.brand_id)
    return metadata


#: the schema (PostgreSQL, SQLite and every query)
METADATA = _define(sa.MetaData(), category_keys=True)
#: the DuckDB variant (see :func:`_define`)
DUCKDB_METADATA = _define(sa.MetaData(), category_keys=False)
categories = METADATA.tables["categories"]
brands = METADATA.tables["brands"]
products = METADATA.tables["products"]
inventory = METADATA.tables["inventory"]
product_attributes = METADATA.tables["product_attributes"]

TABLE_ORDER = ("categories", "brands", "products", "inventory", "product_attributes")


@dataclass(frozen=True)
class LoadReport:
    """What a load wrote and how long it took.

    Attributes:
        rows: rows (or documents) written per table (collection).
        seconds: wall-clock load time (s), indexes included.
    """

    rows: dict[str, int]
    seconds: float


def create_schema(store: SqlStore) -> None:
    """Create the five tables and their indexes (idempotent)."""
    (DUCKDB_METADATA if store.backend == "duckdb" else METADATA).create_all(store.engine)


def _frames(catalog: Catalog) -> dict[str, pd.DataFrame]:
    p = catalog.products
    cats = catalog.categories[["id", "name", "parent_id", "level", "path"]].copy()
    return {
        "categories": cats,
        "brands": catalog.brands[["id", "name", "slug", "logo_url"]],
        "products": p[["id", "uuid", "sku", "title", "description", "brand_id", "category_id",
                       "base_price", "created_at"]],
        "inventory": pd.DataFrame({"product_id": p["id"], "total": p["inventory_total"],
                                   "available": p["inventory_available"]}),
        "product_attributes": pd.DataFrame({
            "product_id": catalog.attributes["product_id"].astype("int64"),
            "name": catalog.attributes["name"].astype(str),
            "value": catalog.attributes["value"].astype(str)}),
    }


def load_relational(store: SqlStore, catalog: Catalog, *, check: bool = True) -> LoadReport:
    """Create the schema and load ``catalog`` in ONE transaction (all rows or none).

    Records are checked first (:func:`~ecomlab.catalog.checks.validate_catalog`); a record that
    conflicts with rows already stored (say a duplicate sku) makes the database refuse, the
    transaction rolls back and :class:`InvalidInput` says why.

    Raises:
        InvalidInput: a malformed record or a conflict with stored rows; nothing is written.
    """
    if check:
        validate_catalog(catalog)
    create_schema(store)
    frames = _frames(catalog)
    with timed() as sw:
        try:
            with store.engine.begin() as conn:
                for name in TABLE_ORDER:
                    _insert_frame(conn, store.backend, name, frames[name])
        except sa.exc.IntegrityError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise InvalidInput(f"the database refused the catalog ({reason}); "
                               "the load was rolled back, nothing was written") from None
    return LoadReport({k: len(v) for k, v in frames.items()}, sw.elapsed_s)


def _insert_frame(conn: Connection, backend: str, name: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    table = METADATA.tables[name]
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    if backend == "duckdb":
        # DuckDB checks a self-referencing key before the statement's own rows exist, so the
        # category tree goes in one level at a time
        parts = ([frame[frame["level"] == lv] for lv in sorted(frame["level"].unique())]
                 if name == "categories" else [frame])
        for part in parts:
            _duckdb_insert(conn, name, cols, part)
        return
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in rec.items()}
        for rec in frame.astype(object).where(frame.notna(), None).to_dict("records")]
    for rec in records:
        for key, value in rec.items():
            if isinstance(value, pd.Timestamp):
                rec[key] = value.to_pydatetime()
            elif hasattr(value, "item"):
                rec[key] = value.item()
    conn.execute(table.insert(), records)


def _duckdb_insert(conn: Connection, name: str, cols: str, frame: pd.DataFrame) -> None:
    """Insert a DataFrame through DuckDB's zero-copy scan (fast bulk ingest)."""
    import duckdb

    raw: Any = conn.connection.dbapi_connection
    view = f"ecomlab_load_{name}"
    raw.register(view, frame)
    try:
        conn.exec_driver_sql(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM {view}')
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, duckdb.ConstraintException):
            raise sa.exc.IntegrityError(exc.statement, exc.params, exc.orig) from None
        raise
    finally:
        # when the transaction already failed, the view dies with the rollback
        with contextlib.suppress(duckdb.TransactionException):
            raw.unregister(view)


# ---------------------------------------------------------------------------------- queries

def _attribute_aggregate(backend: str) -> sa.ColumnElement[Any]:
    a = product_attributes
    if backend == "postgres":
        return sa.func.jsonb_object_agg(a.c.name, a.c.value).filter(a.c.name.is_not(None))
    if backend == "sqlite":
        return sa.func.json_group_object(a.c.name, a.c.value).filter(a.c.name.is_not(None))
    if backend == "duckdb":
        return sa.func.list(sa.func.list_value(a.c.name, a.c.value)).filter(
            a.c.name.is_not(None))
    raise UnsupportedOperation(f"no attribute aggregation written for backend {backend!r}; "
                               "use 'duckdb', 'sqlite' or 'postgres'")


def category_prefix_clause(path: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """``path`` equals ``prefix`` or lies under it, compared literally (bound parameters)."""
    under = prefix + "/"
    return sa.or_(path == sa.bindparam(None, prefix, type_=sa.String),
                  sa.func.substr(path, 1, len(under)) == sa.bindparam(None, under,
                                                                       type_=sa.String))


def _view_select(backend: str) -> sa.Select[Any]:
    p, c, b, inv, a = products, categories, brands, inventory, product_attributes
    agg = _attribute_aggregate(backend).label("attrs")
    return (sa.select(p.c.sku, p.c.title, b.c.name.label("brand"), c.c.name.label("category"),
                      c.c.path, p.c.base_price, inv.c.available, agg)
            .select_from(p)
            .join(c, p.c.category_id == c.c.id)
            .join(b, p.c.brand_id == b.c.id)
            .join(inv, inv.c.product_id == p.c.id)
            .outerjoin(a, a.c.product_id == p.c.id)
            .group_by(p.c.id, p.c.sku, p.c.title, b.c.name, c.c.name, c.c.path, p.c.base_price,
                      inv.c.available)
            .order_by(p.c.base_price, p.c.id))


def _views(conn: Connection, stmt: sa.Select[Any]) -> list[ProductView]:
    return [ProductView(sku=r.sku, title=r.title, brand=r.brand, category=r.category,
                        path=r.path, price=cents(r.base_price), available=int(r.available),
                        attributes=attributes_of(r.attrs))
            for r in conn.execute(stmt)]


def _price_clauses(lo: float | None, hi: float | None) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if lo is not None:
        out.append(products.c.base_price >= sa.bindparam(None, lo, type_=sa.Float))
    if hi is not None:
        out.append(products.c.base_price <= sa.bindparam(None, hi, type_=sa.Float))
    return out


def sql_listing(store: SqlStore, flt: ProductFilter) -> list[ProductView]:
    """The seed's relational read: products under a category path prefix, with category and
    brand names joined in and attributes aggregated per product, sorted by price (USD)."""
    stmt = _view_select(store.backend)
    if flt.category is not None:
        stmt = stmt.where(category_prefix_clause(categories.c.path, flt.category))
    stmt = stmt.where(*_price_clauses(flt.min_price, flt.max_price))
    with store.engine.connect() as conn:
        return _views(conn, stmt)


def sql_in_stock(store: SqlStore, category_name: str, min_price: float | None = None,
                 max_price: float | None = None) -> list[ProductView]:
    """The seed's document query asked of the relational model: products whose category path
    contains a category named ``category_name``, price within bounds (USD), available > 0,
    sorted by price. The path test is a join to an ancestor category (no string search)."""
    name = text_value("category_name", category_name)
    anc = categories.alias("anc")
    contains = sa.exists().where(
        anc.c.name == sa.bindparam(None, name, type_=sa.String),
        sa.or_(categories.c.path == anc.c.path,
               sa.func.substr(categories.c.path, 1, sa.func.length(anc.c.path) + 1)
               == anc.c.path + "/"))
    stmt = (_view_select(store.backend)
            .where(contains, inventory.c.available > 0,
                   *_price_clauses(min_price, max_price)))
    with store.engine.connect() as conn:
        return _views(conn, stmt)


def sql_product_page(store: SqlStore, sku: str) -> ProductPage | None:
    """A product page by sku (``None`` when no product has it)."""
    sku = text_value("sku", sku)
    p = products
    stmt = (_view_select(store.backend)
            .add_columns(p.c.uuid, p.c.description, brands.c.logo_url, inventory.c.total,
                         p.c.created_at)
            .group_by(p.c.uuid, p.c.description, brands.c.logo_url, inventory.c.total,
                      p.c.created_at)
            .where(p.c.sku == sa.bindparam(None, sku, type_=sa.String)))
    with store.engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    view = ProductView(sku=row.sku, title=row.title, brand=row.brand, category=row.category,
                       path=row.path, price=cents(row.base_price), available=int(row.available),
                       attributes=attributes_of(row.attrs))
    return ProductPage(view=view, uuid=str(row.uuid), description=row.description,
                       brand_logo_url=row.logo_url, inventory_total=int(row.total),
                       created_at=iso_seconds(row.created_at))


def sql_brand_facets(store: SqlStore, category: str | None = None) -> dict[str, int]:
    """Products per brand name (units: products) under a category prefix (all when None)."""
    p, c, b = products, categories, brands
    stmt = (sa.select(b.c.name, sa.func.count().label("n"))
            .select_from(p).join(c, p.c.category_id == c.c.id).join(b, p.c.brand_id == b.c.id)
            .group_by(b.c.name))
    if category is not None:
        stmt = stmt.where(category_prefix_clause(c.c.path, text_value("category", category)))
    with store.engine.connect() as conn:
        return {str(name): int(n) for name, n in conn.execute(stmt)}


def sql_row_counts(store: SqlStore) -> dict[str, int]:
    """Rows per catalog table (0 for a table that does not exist yet)."""
    insp = sa.inspect(store.engine)
    out: dict[str, int] = {}
    with store.engine.connect() as conn:
        for name in TABLE_ORDER:
            if not insp.has_table(name):
                out[name] = 0
                continue
            out[name] = int(conn.execute(
                sa.select(sa.func.count()).select_from(METADATA.tables[name])).scalar_one())
    return out


def sql_storage_bytes(store: SqlStore) -> int:
    """Bytes the catalog occupies (measured), tables and indexes included.

    DuckDB: used blocks x block size after a checkpoint; SQLite: page_count x page_size;
    PostgreSQL: the sum of ``pg_total_relation_size`` over the five tables.
    """
    with store.engine.begin() as conn:
        if store.backend == "duckdb":
            conn.exec_driver_sql("CHECKPOINT")
            row = conn.exec_driver_sql("PRAGMA database_size").mappings().first()
            assert row is not None
            return int(row["used_blocks"]) * int(row["block_size"])
        if store.backend == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages) * int(size)
        if store.backend == "postgres":
            total = 0
            for name in TABLE_ORDER:
                size = sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))")
                total += int(conn.execute(size, {"t": name}).scalar_one())
            return total
    raise UnsupportedOperation(f"no storage measurement for backend {store.backend!r}")
