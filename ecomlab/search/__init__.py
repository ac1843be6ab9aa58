"""Topic 07 — search engine vs database full-text search: relevance, typos, facets, latency.

* :mod:`~ecomlab.search.base` — the interface: :class:`SearchRequest`, :class:`SearchResponse`,
  :class:`SearchEngine`; query text is always plain text (:func:`query_words`).
* :mod:`~ecomlab.search.tantivy_engine` — the embedded engine, the seed's Elasticsearch body as
  tantivy queries (boosts, best_fields, AUTO fuzziness, aggregations).
* :mod:`~ecomlab.search.database` — SQLite FTS5 and PostgreSQL with the seed's SQL, facets by
  GROUP BY.
* :mod:`~ecomlab.search.elastic` — Elasticsearch / OpenSearch by ``ECOMLAB_SEARCH_URL``.
* :mod:`~ecomlab.search.relevance` — judgments from the generator's truth, nDCG@10, MRR,
  recall@10 per query class.
* :mod:`~ecomlab.search.experiment` — :func:`run_search`, freshness, latency vs catalog size.
* :mod:`~ecomlab.search.sync` — keeping the index in step: dual write vs outbox under faults.
* :mod:`~ecomlab.search.dummyjson` — the judged query set of the independent DummyJSON catalog.
* :mod:`~ecomlab.search.claims`, :mod:`~ecomlab.search.plots`, :mod:`~ecomlab.search.widget`.

Names load lazily, so ``ecomlab --help`` does not import tantivy or the database drivers.
"""

from __future__ import annotations

from ecomlab._lazy import lazy_exports

_MODULES = {
    "ENGINES": "base", "PRICE_RANGES": "base", "Facets": "base", "Hit": "base",
    "SearchEngine": "base", "SearchProduct": "base", "SearchRequest": "base",
    "SearchResponse": "base", "query_words": "base", "search_request": "base",
    "EMBEDDED_ENGINES": "engines", "make_engine": "engines",
    "TantivyEngine": "tantivy_engine", "auto_edits": "tantivy_engine",
    "SqliteEngine": "database", "PostgresEngine": "database",
    "ElasticsearchEngine": "elastic", "request_body": "elastic",
    "catalog_products": "products", "dummyjson_products": "products",
    "generated_products": "products",
    "CLASSES": "relevance", "JudgedQuery": "relevance", "build_queries": "relevance",
    "judged_metrics": "relevance",
    "run_search": "experiment", "run_search_file": "experiment",
    "run_sync": "sync", "sync_table": "sync",
    "dummyjson_queries": "dummyjson", "load_judged": "dummyjson",
    "scaling_table": "experiment", "measure_freshness": "experiment",
    "check_facets": "experiment", "index_engine": "experiment",
    "open_engines": "experiment", "close_engines": "experiment",
    "engines_table": "experiment", "compare_queries": "experiment",
    "ledger_frame": "claims", "note": "plots", "search_all": "experiment",
    "statements_frame": "experiment", "facet_values": "experiment", "seed_sql": "database",
    "relevance_note": "plots", "latency_note": "plots",
    "search_claims": "claims", "search_ledger": "claims",
    "relevance_figure": "plots", "relevance_frame": "plots", "latency_frame": "plots",
    "summary_frame": "plots", "facets_frame": "plots", "results_frame": "plots",
    "scaling_figure": "plots",
    "search_explorer": "widget", "explore_search": "widget", "hits_html": "widget",
    "snippets_view": "widget",
}

#: exported name -> the module that defines it (imported on first use)
_EXPORTS = {name: f"ecomlab.search.{module}" for name, module in _MODULES.items()}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
