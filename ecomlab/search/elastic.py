"""Elasticsearch / OpenSearch by URL (``ECOMLAB_SEARCH_URL``), sending the seed's exact body.

:func:`request_body` builds the body the seed sends: ``multi_match`` over ``title^3``,
``description^2``, ``brand`` (``best_fields``, ``fuzziness: AUTO``) inside a ``bool`` whose
``filter`` holds the brand ``terms`` (and the category / price filters this workbook adds), and
the ``brands`` / ``categories`` terms and ``price_ranges`` range aggregations. Three additions,
so that its figures can be compared with the other engines': ``size`` (the limit),
``track_total_hits: true`` (an exact total beyond 10,000) and ``size: 1000`` on the terms
aggregations (every bucket, not the default top 10). A request that asks for snippets adds a
``highlight`` section (title whole, one description fragment, delimiters HTML-escaped around
by :func:`~ecomlab.search.snippets.mark_delimited`). A unit test pins the body as the official
client sends it.

Freshness: a document written to Elasticsearch becomes searchable at the next refresh
(``index.refresh_interval``, 1 s by default); :meth:`ElasticsearchEngine.add` asks for
``refresh=wait_for`` so it returns when the write is visible, and the lag it measures includes
that wait.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from ecomlab.errors import BackendUnavailable
from ecomlab.search.base import (
    PRICE_RANGES,
    Facets,
    Hit,
    SearchProduct,
    SearchRequest,
    SearchResponse,
    Snippet,
    price_range_buckets,
)
from ecomlab.search.snippets import CLOSE, FRAGMENT_CHARS, OPEN, mark_delimited, stored_text

__all__ = ["MAPPINGS", "ElasticsearchEngine", "hit_snippet", "request_body"]

#: the index mapping: analysed text, ``.keyword`` sub-fields for filters and aggregations
MAPPINGS: dict[str, Any] = {
    "properties": {
        "id": {"type": "long"},
        "sku": {"type": "keyword"},
        "title": {"type": "text", "analyzer": "english"},
        "description": {"type": "text", "analyzer": "english"},
        "brand": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "category": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "price": {"type": "double"},
    }
}


def request_body(request: SearchRequest) -> dict[str, Any]:
    """The seed's search body for ``request`` (its query text reduced to words)."""
    filters: list[dict[str, Any]] = []
    if request.brands:
        filters.append({"terms": {"brand.keyword": list(request.brands)}})
    if request.category is not None:
        filters.append({"term": {"category.keyword": request.category}})
    if request.min_price is not None or request.max_price is not None:
        bounds: dict[str, float] = {}
        if request.min_price is not None:
            bounds["gte"] = request.min_price
        if request.max_price is not None:
            bounds["lte"] = request.max_price
        filters.append({"range": {"price": bounds}})
    ranges = price_range_buckets()
    body: dict[str, Any] = {
        "size": request.limit,
        "track_total_hits": True,
        "query": {
            "bool": {
                "must": [{
                    "multi_match": {
                        "query": " ".join(request.words),
                        "fields": ["title^3", "description^2", "brand"],
                        "type": "best_fields",
                        "fuzziness": "AUTO",
                    }
                }],
                "filter": filters,
            }
        },
        "aggs": {
            "brands": {"terms": {"field": "brand.keyword", "size": 1000}},
            "categories": {"terms": {"field": "category.keyword", "size": 1000}},
            "price_ranges": {"range": {"field": "price", "ranges": ranges}},
        },
    }
    if request.snippets:
        body["highlight"] = {"pre_tags": [OPEN], "post_tags": [CLOSE], "fields": {
            "title": {"number_of_fragments": 0},
            "description": {"fragment_size": FRAGMENT_CHARS, "number_of_fragments": 1}}}
    return body


def hit_snippet(hit: dict[str, Any]) -> Snippet:
    """The :class:`Snippet` of one Elasticsearch hit from its ``highlight`` section."""
    found = hit.get("highlight") or {}
    title, t_found = mark_delimited(" ".join(found.get("title", [])))
    desc, d_found = mark_delimited(" ".join(found.get("description", [])))
    return Snippet(title, desc, "engine" if t_found or d_found else "none")


class ElasticsearchEngine:
    """An Elasticsearch (or OpenSearch) index of its own, removed by :meth:`close`.

    Args:
        url: the server (``ECOMLAB_SEARCH_URL``); ignored when ``client`` is given.
        client: an ``elasticsearch.Elasticsearch`` client (tests pass one with a recording
            transport).
        index_name: the index; a unique ``ecomlab-products-<hex>`` by default.
    """

    name = "elasticsearch"

    def __init__(self, url: str | None = None, *, client: Any = None,
                 index_name: str | None = None) -> None:
        if client is None:
            if not url:
                raise BackendUnavailable(
                    "no Elasticsearch URL: set ECOMLAB_SEARCH_URL (http://host:9200)")
            from elasticsearch import Elasticsearch

            client = Elasticsearch(url, request_timeout=10)
        self.client = client
        self.url = url or ""
        self.index_name = index_name or f"ecomlab-products-{secrets.token_hex(4)}"
        self._created = False

    @staticmethod
    def _source(p: SearchProduct) -> dict[str, Any]:
        return {"id": p.id, "sku": p.sku, "title": stored_text(p.title),
                "description": stored_text(p.description),
                "brand": p.brand, "category": p.category, "price": p.price}

    def index(self, products: Sequence[SearchProduct]) -> None:
        """Create the index, bulk-load ``products`` and refresh."""
        from elasticsearch import helpers

        self.client.indices.create(index=self.index_name, mappings=MAPPINGS)
        self._created = True
        helpers.bulk(self.client, ({"_index": self.index_name, "_id": p.id,
                                    "_source": self._source(p)} for p in products))
        self.client.indices.refresh(index=self.index_name)

    def add(self, product: SearchProduct) -> None:
        """Index one product; returns once a refresh has made it searchable."""
        self.client.index(index=self.index_name, id=product.id, document=self._source(product),
                          refresh="wait_for")

    def search(self, request: SearchRequest) -> SearchResponse:
        """One request: hits, total and aggregations."""
        t0 = time.perf_counter()
        if not request.words:
            return SearchResponse([], 0, Facets(), (time.perf_counter() - t0) * 1e3, 0)
        resp = self.client.search(index=self.index_name, body=request_body(request))
        body: dict[str, Any] = dict(resp.body if hasattr(resp, "body") else resp)
        hits = []
        for h in body["hits"]["hits"]:
            src = h.get("_source", {})
            hits.append(Hit(int(src.get("id", h["_id"])), str(src.get("sku", "")),
                            str(src.get("title", "")), float(h.get("_score") or 0.0),
                            hit_snippet(h) if request.snippets else None))
        total = int(body["hits"]["total"]["value"])
        aggs = body.get("aggregations", {})
        facets = Facets()
        if aggs:
            def buckets(name: str) -> dict[str, int]:
                return {str(b["key"]): int(b["doc_count"]) for b in aggs[name]["buckets"]
                        if b["key"] and int(b["doc_count"]) > 0}
            ranges = {name: int(b["doc_count"]) for (name, _, _), b in
                      zip(PRICE_RANGES, aggs["price_ranges"]["buckets"], strict=True)}
            facets = Facets(buckets("brands"), buckets("categories"), ranges)
        return SearchResponse(hits, total, facets, (time.perf_counter() - t0) * 1e3, 1)

    def index_bytes(self) -> int:
        """The index's store size as the server reports it (bytes)."""
        stats = self.client.indices.stats(index=self.index_name, metric="store")
        return int(stats["indices"][self.index_name]["total"]["store"]["size_in_bytes"])

    def describe(self) -> dict[str, object]:
        """Backend facts."""
        from ecomlab.config import redact

        return {"backend": "elasticsearch", "embedded": False,
                "url": redact(self.url) if self.url else "", "index": self.index_name}

    def close(self) -> None:
        """Delete the index (if this engine created it)."""
        if self._created:
            self.client.indices.delete(index=self.index_name, ignore_unavailable=True)
            self._created = False
