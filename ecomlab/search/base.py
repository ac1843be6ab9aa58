"""The search interface every engine implements: products in, hits, totals and facets out.

* :class:`SearchProduct` — the indexed fields of one product (id, sku, title, description,
  brand, category leaf, price in USD).
* :class:`SearchRequest` — a validated query: plain text, brand filters, category, price range,
  limit. Query text is **always plain text**: :func:`query_words` reduces it to words before any
  engine sees it, so FTS5, tsquery, tantivy or Lucene syntax is never syntax and never an error.
* :class:`SearchResponse` — hits ``{id, sku, title, score, snippet}``, total, facets ``{brands,
  categories, price_ranges}`` and ``took_ms`` (wall clock, measured, every query included).
* :class:`SearchEngine` — the protocol: ``index(products)``, ``search(request)``,
  ``add(product)`` (one write, visible when it returns), ``index_bytes()``, ``close()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ecomlab.errors import InvalidInput

__all__ = [
    "ALL_ENGINES",
    "ENGINES",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "PRICE_RANGES",
    "VARIANTS",
    "Facets",
    "Hit",
    "SearchEngine",
    "SearchProduct",
    "SearchRequest",
    "SearchResponse",
    "Snippet",
    "facets_from_rows",
    "price_bucket",
    "price_range_buckets",
    "query_words",
    "search_request",
]

#: the engines, in the order tables and plots show them
ENGINES = ("tantivy", "sqlite", "postgres", "elasticsearch")
#: the databases pushed further (trigram substrings; weights, OR, pg_trgm typos, prefixes)
VARIANTS = ("sqlite-trigram", "postgres-tuned")
ALL_ENGINES = ENGINES + VARIANTS
#: the seed's price ranges (USD): ``from`` inclusive, ``to`` exclusive, as in Elasticsearch
PRICE_RANGES: tuple[tuple[str, float | None, float | None], ...] = (
    ("<50", None, 50.0), ("50-100", 50.0, 100.0), ("100-500", 100.0, 500.0),
    (">=500", 500.0, None))


def price_range_buckets() -> list[dict[str, float]]:
    """:data:`PRICE_RANGES` as Elasticsearch ``range`` aggregation buckets (``from``/``to``)."""
    buckets: list[dict[str, float]] = []
    for _, lo, hi in PRICE_RANGES:
        bucket: dict[str, float] = {}
        if lo is not None:
            bucket["from"] = lo
        if hi is not None:
            bucket["to"] = hi
        buckets.append(bucket)
    return buckets


MAX_LIMIT = 1000
#: a search box's limit: text beyond it is ignored (characters), as most shops cap the box
MAX_QUERY_CHARS = 200
#: words kept from one query (engines expand each word into fuzzy terms)
MAX_QUERY_WORDS = 16

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class SearchProduct:
    """The fields a search index holds for one product (price in USD)."""

    id: int
    sku: str
    title: str
    description: str
    brand: str
    category: str
    price: float


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: plain-text ``query`` and filters (prices in USD)."""

    query: str
    brands: tuple[str, ...] = ()
    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    limit: int = 10
    #: also return highlighted title / description fragments for each hit
    snippets: bool = False

    @property
    def words(self) -> list[str]:
        """The query's words (see :func:`query_words`)."""
        return query_words(self.query)


@dataclass(frozen=True)
class Snippet:
    """Highlighted fragments of one hit: HTML in which only ``<mark>`` tags are markup.

    Attributes:
        title: the title, matched words in ``<mark>``; every other character HTML-escaped.
        description: a fragment of the description (up to about 150 characters), the same way.
        method: who found the words: ``engine`` (tantivy's SnippetGenerator, FTS5
            ``highlight()`` / ``snippet()``, PostgreSQL ``ts_headline``, Elasticsearch
            highlighting), ``matched terms`` (fuzzy hits, for which tantivy returns no
            snippet: the document's words within the query words' AUTO edit distance),
            ``engine + matched terms`` (both, one per field), or ``none`` (no word of the
            title or description matched, e.g. a brand-only match; both fields empty).
    """

    title: str
    description: str
    method: str


@dataclass(frozen=True)
class Hit:
    """One result: product id, SKU, title and the engine's score (higher is better);
    ``snippet`` only when the request asked for snippets."""

    id: int
    sku: str
    title: str
    score: float
    snippet: Snippet | None = None


@dataclass
class Facets:
    """Facet counts over every matching product: brand, category and price range."""

    brands: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    price_ranges: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Plain dicts, keys sorted (brands and categories), ranges in the seed's order."""
        return {"brands": dict(sorted(self.brands.items())),
                "categories": dict(sorted(self.categories.items())),
                "price_ranges": {name: self.price_ranges.get(name, 0)
                                 for name, _, _ in PRICE_RANGES}}


@dataclass
class SearchResponse:
    """What a search returns.

    Attributes:
        hits: the top ``limit`` products, best first.
        total: how many products match (filters applied).
        facets: counts over all matching products.
        took_ms: wall-clock time of the whole search, facets included (ms, measured).
        queries: how many requests or SQL statements the search needed.
    """

    hits: list[Hit]
    total: int
    facets: Facets
    took_ms: float
    queries: int = 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: hits, total, facets, took_ms, queries."""
        return {"hits": [asdict(h) for h in self.hits], "total": self.total,
                "facets": self.facets.as_dict(), "took_ms": round(self.took_ms, 3),
                "queries": self.queries}


class SearchEngine(Protocol):
    """What every engine offers; the experiment never asks which one it holds."""

    name: str

    def index(self, products: Sequence[SearchProduct]) -> None:
        """Index ``products`` (replacing nothing: call once on an empty engine)."""
        ...

    def add(self, product: SearchProduct) -> None:
        """Write one product; it is visible to :meth:`search` when this returns."""
        ...

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run one validated search."""
        ...

    def index_bytes(self) -> int:
        """Size of the index and the tables it needs, in bytes (measured on disk or server)."""
        ...

    def describe(self) -> dict[str, object]:
        """Backend facts for :class:`~ecomlab.measure.Result`."""
        ...

    def close(self) -> None:
        """Release files, connections and private schemas."""
        ...


def query_words(text: str) -> list[str]:
    """The words of a query: letters and digits only, at most 16 words of the first 200 chars.

    Everything else (quotes, ``AND``-style operators stay words, ``*``, ``:``, ``^``, ``~``,
    ``-``, parentheses, NUL) separates words, so no engine ever sees query syntax.
    """
    return _WORD.findall(text[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]


def search_request(query: str, *, brands: Iterable[str] = (), category: str | None = None,
                   min_price: float | None = None, max_price: float | None = None,
                   limit: int = 10, snippets: bool = False) -> SearchRequest:
    """Validate a search; :class:`InvalidInput` names the bad value.

    ``snippets`` asks every hit for highlighted fragments (:class:`Snippet`).

    Raises:
        InvalidInput: ``query`` not text, a negative or too large ``limit``, a negative or
            non-finite price, ``min_price`` above ``max_price``.
    """
    if not isinstance(query, str):
        raise InvalidInput(f"query must be text, got {query!r}")
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput(f"limit must be a whole number, got {limit!r}")
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 0 and {MAX_LIMIT}, got {limit!r}")
    prices = []
    for name, value in (("min_price", min_price), ("max_price", max_price)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InvalidInput(f"{name} must be a finite number >= 0, got {value!r}")
            value = float(value)
        prices.append(value)
    lo, hi = prices
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput(f"min_price {lo!r} is above max_price {hi!r}")
    brand_list = tuple(brands)
    for b in brand_list:
        if not isinstance(b, str) or not b:
            raise InvalidInput(f"a brand filter must be a non-empty name, got {b!r}")
    if category is not None and (not isinstance(category, str) or not category):
        raise InvalidInput(f"category must be a non-empty name, got {category!r}")
    return SearchRequest(query=query, brands=brand_list, category=category, min_price=lo,
                         max_price=hi, limit=limit, snippets=bool(snippets))


def price_bucket(price: float) -> str:
    """The seed's price range a price (USD) falls in."""
    for name, lo, hi in PRICE_RANGES:
        if (lo is None or price >= lo) and (hi is None or price < hi):
            return name
    raise InvalidInput(f"price {price!r} fits no range")  # unreachable for finite prices


def facets_from_rows(brand_rows: Iterable[tuple[Any, Any]],
                     category_rows: Iterable[tuple[Any, Any]],
                     range_rows: Iterable[tuple[Any, Any]]) -> Facets:
    """Facets from three ``(key, count)`` GROUP BY results (empty keys left out)."""
    # an empty brand or category (DummyJSON's groceries) is no facet value, as in the engine
    return Facets(brands={str(k): int(n) for k, n in brand_rows if k},
                  categories={str(k): int(n) for k, n in category_rows if k},
                  price_ranges={str(k): int(n) for k, n in range_rows})
