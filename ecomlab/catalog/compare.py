"""The same four questions asked of both models, answered in one normalized shape.

1. ``listing`` — the relational seed query: products under a category prefix (price bounds).
2. ``in_stock`` — the document seed query: category path contains a name, price between A and
   B, available > 0, sorted by price.
3. ``product_page`` — one product by sku.
4. ``brand_facets`` — products per brand under the category prefix.

:func:`compare_answers` says, per question, whether two sets of answers are identical;
:func:`both_stores` opens a fresh store of each model for one experiment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ecomlab import validate
from ecomlab.catalog.checks import ProductFilter
from ecomlab.catalog.documents import doc_brand_facets, doc_in_stock, doc_listing, doc_product_page
from ecomlab.catalog.relational import (
    sql_brand_facets,
    sql_in_stock,
    sql_listing,
    sql_product_page,
)
from ecomlab.measure import LatencySummary, Stopwatch
from ecomlab.stores import (
    SQL_BACKENDS,
    DocumentStore,
    SqlStore,
    borrowed,
    document_store,
    sql_store,
)

__all__ = ["DEFAULT_CATEGORY", "QUESTIONS", "Questions", "answer", "both_stores",
           "compare_answers", "time_questions"]

QUESTIONS = ("listing", "in_stock", "product_page", "brand_facets")
#: the listing's category prefix when none is given
DEFAULT_CATEGORY = "Electronics/Computers"


@contextlib.contextmanager
def both_stores(sql_backend: str | None) -> Iterator[tuple[SqlStore, DocumentStore]]:
    """A fresh relational store (``sql_backend``, or ``ECOMLAB_SQL_URL``/DuckDB when ``None``)
    and a fresh document store, both disposed on exit."""
    if sql_backend is not None:
        validate.choice("sql_backend", sql_backend, SQL_BACKENDS)
    with borrowed(None, lambda: sql_store(sql_backend)) as sql, \
            borrowed(None, document_store) as docs:
        yield sql, docs


@dataclass(frozen=True)
class Questions:
    """The parameters of the four questions.

    Attributes:
        flt: the listing filter (category prefix, price bounds in USD).
        category_name: the name the in-stock query looks for in the category path.
        sku: the product page's sku.
    """

    flt: ProductFilter
    category_name: str
    sku: str

    @classmethod
    def from_filter(cls, flt: ProductFilter, sku: str) -> Questions:
        """Questions for ``flt``: the in-stock query uses the prefix's last segment."""
        if flt.category is None:
            return cls(flt, "Electronics", sku)
        # the last segment; a prefix ending in "/" is kept whole (it names no category)
        return cls(flt, flt.category.split("/")[-1] or flt.category, sku)


def _calls(store: SqlStore | DocumentStore, q: Questions) -> dict[str, Callable[[], Any]]:
    f = q.flt
    if isinstance(store, SqlStore):
        s = store
        return {"listing": lambda: sql_listing(s, f),
                "in_stock": lambda: sql_in_stock(s, q.category_name, f.min_price, f.max_price),
                "product_page": lambda: sql_product_page(s, q.sku),
                "brand_facets": lambda: sql_brand_facets(s, f.category)}
    d = store
    return {"listing": lambda: doc_listing(d, f),
            "in_stock": lambda: doc_in_stock(d, q.category_name, f.min_price, f.max_price),
            "product_page": lambda: doc_product_page(d, q.sku),
            "brand_facets": lambda: doc_brand_facets(d, f.category)}


def answer(store: SqlStore | DocumentStore, q: Questions) -> dict[str, Any]:
    """The four answers from one store (a relational or a document store)."""
    return {name: call() for name, call in _calls(store, q).items()}


def compare_answers(a: dict[str, Any], b: dict[str, Any]) -> dict[str, bool]:
    """Per question: are the two normalized answers identical?"""
    return {name: a.get(name) == b.get(name) for name in QUESTIONS}


def time_questions(store: SqlStore | DocumentStore, q: Questions, *, repeats: int = 10
                   ) -> dict[str, LatencySummary]:
    """Latency (ms) of each question over ``repeats`` runs (after one warm-up run)."""
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=100_000)
    out: dict[str, LatencySummary] = {}
    for name, call in _calls(store, q).items():
        call()
        samples = []
        for _ in range(repeats):
            sw = Stopwatch()
            call()
            samples.append(sw.stop())
        out[name] = LatencySummary.of_ms(samples)
    return out
