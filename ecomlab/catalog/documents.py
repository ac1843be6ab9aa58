"""The denormalized (document) catalog: one self-contained document per product.

The seed's document::

    {_id, uuid, sku, title, description, created_at,
     brand: {id, name, logo_url},                       <- copied into every product
     category: {id, name, path: [...], level},          <- copied into every product
     attributes: {processor: ..., memory: ...},         <- free-form map, no schema
     pricing: {base_price, currency, discount_percentage},
     inventory: {total, available}}

Indexes a real deployment would create: ``sku`` (unique), ``(category.path, pricing.base_price)``
(multikey: serves "path contains X, price between A and B"), ``brand.id`` and ``category.id``
(the fan-out of a rename or a move).

mongomock caveat, measured: it enforces a unique index by scanning the whole collection on every
document written, so a 529-document rename in a 10k catalog takes ~27 s with the unique ``sku``
index and ~0.3 s without. On mongomock the ``sku`` index is therefore created non-unique and the
loader enforces sku uniqueness itself (it refuses duplicates before writing); on MongoDB the index
is unique. mongomock also answers every query by a Python scan (its indexes are not used), so its
latencies say nothing about MongoDB's; write amplification (documents touched) does not depend on
the engine. Filter values are put into queries as plain values only
after :mod:`ecomlab.catalog.checks` has proved them strings and numbers, so an operator object
never reaches the server.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ecomlab.catalog.checks import ProductFilter, text_value, validate_catalog
from ecomlab.catalog.relational import LoadReport
from ecomlab.catalog.views import ProductPage, ProductView, attributes_of, cents, iso_seconds
from ecomlab.datagen import Catalog
from ecomlab.errors import InvalidInput
from ecomlab.measure import timed
from ecomlab.stores import DocumentStore

__all__ = [
    "COLLECTION",
    "INDEXES",
    "build_documents",
    "doc_brand_facets",
    "doc_count",
    "doc_in_stock",
    "doc_listing",
    "doc_product_page",
    "doc_storage_bytes",
    "load_documents",
    "prefix_query",
]

COLLECTION = "products"
#: (keys, options) of each index the loader creates
INDEXES: tuple[tuple[list[tuple[str, int]], dict[str, Any]], ...] = (
    ([("sku", 1)], {"unique": True, "name": "sku_unique"}),
    ([("category.path", 1), ("pricing.base_price", 1)], {"name": "path_price"}),
    ([("brand.id", 1)], {"name": "brand_id"}),
    ([("category.id", 1)], {"name": "category_id"}),
)
_SORT = [("pricing.base_price", 1), ("_id", 1)]


def build_documents(catalog: Catalog) -> list[dict[str, Any]]:
    """One document per product, brand and category copied in (see the module docstring)."""
    p = catalog.products
    b, c = catalog.brands, catalog.categories
    brands = {int(i): {"id": int(i), "name": str(n), "logo_url": str(u)}
              for i, n, u in zip(b["id"], b["name"], b["logo_url"], strict=True)}
    cats: dict[int, dict[str, Any]] = {
        int(i): {"id": int(i), "name": str(n), "path": str(p).split("/"), "level": int(lv)}
        for i, n, p, lv in zip(c["id"], c["name"], c["path"], c["level"], strict=True)}
    attrs: dict[int, dict[str, str]] = defaultdict(dict)
    a = catalog.attributes
    for pid, name, value in zip(a["product_id"].to_numpy(), a["name"].astype(str).to_numpy(),
                                a["value"].astype(str).to_numpy(), strict=True):
        attrs[int(pid)][str(name)] = str(value)
    created = p["created_at"].astype("datetime64[ms]").dt.to_pydatetime()
    docs: list[dict[str, Any]] = []
    cols = zip(p["id"].to_numpy(), p["uuid"].to_numpy(), p["sku"].to_numpy(),
               p["title"].to_numpy(), p["description"].to_numpy(), p["brand_id"].to_numpy(),
               p["category_id"].to_numpy(), p["base_price"].to_numpy(dtype=float),
               p["inventory_total"].to_numpy(), p["inventory_available"].to_numpy(), created,
               strict=True)
    for pid, uid, sku, title, desc, bid, cid, price, total, avail, ts in cols:
        cat = cats[int(cid)]
        docs.append({
            "_id": int(pid), "uuid": str(uid), "sku": str(sku), "title": str(title),
            "description": str(desc), "created_at": ts,
            "brand": dict(brands[int(bid)]),
            "category": {**cat, "path": list(cat["path"])},
            "attributes": attrs.get(int(pid), {}),
            "pricing": {"base_price": cents(price), "currency": "USD",
                        "discount_percentage": 0.0},
            "inventory": {"total": int(total), "available": int(avail)},
        })
    return docs


def load_documents(store: DocumentStore, catalog: Catalog, *, check: bool = True
                   ) -> LoadReport:
    """Check every record first, then ``insert_many`` the documents and create the indexes.

    There is no multi-document transaction on mongomock (nor on a stand-alone MongoDB), so the
    loader refuses before writing anything: malformed records, and skus or ids already stored.

    Raises:
        InvalidInput: a malformed record or a conflict with stored documents; nothing is written.
    """
    if check:
        validate_catalog(catalog)
    docs = build_documents(catalog)
    coll = store.db[COLLECTION]
    skus = [d["sku"] for d in docs]
    ids = [d["_id"] for d in docs]
    if coll.estimated_document_count() > 0:
        stored = list(coll.find({}, {"sku": 1}))
        stored_ids = {d["_id"] for d in stored}
        stored_skus = {d.get("sku") for d in stored}
        for pid, sku in zip(ids, skus, strict=True):
            if pid in stored_ids or sku in stored_skus:
                raise InvalidInput(f"product id={pid!r} (sku {sku!r}) is already stored; "
                                   "nothing was loaded")
    with timed() as sw:
        if docs:
            coll.insert_many(docs, ordered=True)
        # indexes after the bulk insert: one build instead of a check per document (mongomock
        # checks a unique index by scanning, which makes insert-then-index O(n) not O(n^2))
        for keys, opts in INDEXES:
            if store.embedded and opts.get("unique"):
                opts = {**opts, "unique": False}  # see the module docstring
            coll.create_index(keys, **opts)
    return LoadReport({COLLECTION: len(docs)}, sw.elapsed_s)


def _fetch(cursor: Any) -> list[dict[str, Any]]:
    """Every document of a cursor.

    mongomock's cursor copies its remaining result list on every ``next()``, which makes reading
    n results O(n^2) (a 30k-document read took ~20 s); its computed list is read once instead.
    A pymongo cursor is simply iterated.
    """
    compute = getattr(cursor, "_compute_results", None)
    if compute is not None and type(cursor).__module__.startswith("mongomock"):
        return list(compute(with_limit_and_skip=True))
    return list(cursor)


def _aggregate(store: DocumentStore, match: dict[str, Any], group: dict[str, Any]
               ) -> list[dict[str, Any]]:
    """``[{$match}, {$group}]`` on the server; on mongomock the same two stages without its
    ``aggregate()``, which first copies the whole collection through the quadratic cursor."""
    coll = store.db[COLLECTION]
    if not store.embedded:
        return list(coll.aggregate([{"$match": match}, {"$group": group}]))
    from mongomock import aggregate as mock_aggregate

    docs = _fetch(coll.find(match))
    return list(mock_aggregate.process_pipeline(docs, store.db, [{"$group": group}], None))


def prefix_query(category: str) -> dict[str, Any]:
    """Match documents whose category path starts with ``category``'s segments (literally)."""
    segments = text_value("category", category).split("/")
    return {f"category.path.{i}": seg for i, seg in enumerate(segments)}


def _price_query(lo: float | None, hi: float | None) -> dict[str, Any]:
    bounds: dict[str, float] = {}
    if lo is not None:
        bounds["$gte"] = float(lo)
    if hi is not None:
        bounds["$lte"] = float(hi)
    return {"pricing.base_price": bounds} if bounds else {}


# copied per query: mongomock edits the projection it is given (unsafe across threads)
_VIEW_FIELDS = {"sku": 1, "title": 1, "brand.name": 1, "category.name": 1, "category.path": 1,
                "pricing.base_price": 1, "inventory.available": 1, "attributes": 1}


def _view(doc: dict[str, Any]) -> ProductView:
    return ProductView(sku=doc["sku"], title=doc["title"], brand=doc["brand"]["name"],
                       category=doc["category"]["name"], path="/".join(doc["category"]["path"]),
                       price=cents(doc["pricing"]["base_price"]),
                       available=int(doc["inventory"]["available"]),
                       attributes=attributes_of(doc.get("attributes") or {}))


def doc_listing(store: DocumentStore, flt: ProductFilter) -> list[ProductView]:
    """The relational seed query asked of the documents: category prefix, price bounds (USD),
    sorted by price. No join: every field is already in the document."""
    query: dict[str, Any] = {}
    if flt.category is not None:
        query.update(prefix_query(flt.category))
    query.update(_price_query(flt.min_price, flt.max_price))
    cursor = store.db[COLLECTION].find(query, dict(_VIEW_FIELDS)).sort(_SORT)
    return [_view(d) for d in _fetch(cursor)]


def doc_in_stock(store: DocumentStore, category_name: str, min_price: float | None = None,
                 max_price: float | None = None) -> list[ProductView]:
    """The seed's document query: category path contains ``category_name``, price between the
    bounds (USD), available > 0, sorted by price."""
    name = text_value("category_name", category_name)
    query: dict[str, Any] = {"category.path": name, "inventory.available": {"$gt": 0}}
    query.update(_price_query(min_price, max_price))
    cursor = store.db[COLLECTION].find(query, dict(_VIEW_FIELDS)).sort(_SORT)
    return [_view(d) for d in _fetch(cursor)]


def doc_product_page(store: DocumentStore, sku: str) -> ProductPage | None:
    """A product page by sku: one document read (``None`` when no product has it)."""
    doc = store.db[COLLECTION].find_one({"sku": text_value("sku", sku)})
    if doc is None:
        return None
    return ProductPage(view=_view(doc), uuid=doc["uuid"], description=doc["description"],
                       brand_logo_url=doc["brand"]["logo_url"],
                       inventory_total=int(doc["inventory"]["total"]),
                       created_at=iso_seconds(doc["created_at"]))


def doc_brand_facets(store: DocumentStore, category: str | None = None) -> dict[str, int]:
    """Products per brand name (units: products) under a category prefix (all when None)."""
    match = prefix_query(category) if category is not None else {}
    rows = _aggregate(store, match, {"_id": "$brand.name", "n": {"$sum": 1}})
    return {str(r["_id"]): int(r["n"]) for r in rows}


def doc_count(store: DocumentStore) -> int:
    """Documents in the products collection."""
    return int(store.db[COLLECTION].count_documents({}))


def doc_storage_bytes(store: DocumentStore) -> dict[str, int]:
    """Bytes the documents occupy (measured).

    A real MongoDB reports ``$collStats`` storage stats (``size`` = BSON data, index bytes);
    mongomock has no ``collStats``, so the data size is the sum of ``bson.encode`` lengths of the
    stored documents and index bytes are unknown (0).
    """
    import bson
    import pymongo.errors

    coll = store.db[COLLECTION]
    if not store.embedded:
        try:
            stats = next(coll.aggregate([{"$collStats": {"storageStats": {}}}]))["storageStats"]
            return {"data_bytes": int(stats["size"]),
                    "index_bytes": int(stats["totalIndexSize"])}
        except (pymongo.errors.PyMongoError, StopIteration, KeyError):
            pass  # a server without $collStats: fall back to the BSON sizes below
    sizes = np.fromiter((len(bson.encode(d)) for d in _fetch(coll.find({}))), dtype=np.int64)
    return {"data_bytes": int(sizes.sum()), "index_bytes": 0}
