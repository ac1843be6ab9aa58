"""``run_search``: relevance, latency, index cost, freshness and facet agreement per engine.

Everything here is **measured**: real engines on the generated catalog, wall-clock times.

* relevance per query class (:mod:`ecomlab.search.relevance`);
* latency per class: every query of the class run ``repeats`` times, p50/p99 in ms (facets
  included: the database's extra GROUP BY queries are inside each figure);
* ``index_s`` (load and build the index) and ``index_bytes`` (on disk / on the server);
* ``freshness_ms``: one new product written (:meth:`SearchEngine.add`: tantivy's commit and
  reader reload; the database's transaction) until a search on the engine finds it;
* ``facets_agree``: for every query, the engine's aggregations equal SQL ``GROUP BY`` counts
  over exactly the products the engine matched.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ecomlab import budget, validate
from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput, choices_text
from ecomlab.measure import LatencySummary, Result
from ecomlab.search.base import (
    ALL_ENGINES,
    SearchEngine,
    SearchProduct,
    SearchResponse,
    search_request,
)
from ecomlab.search.engines import make_engine
from ecomlab.search.products import catalog_products
from ecomlab.search.relevance import CLASSES, JudgedQuery, build_queries, judged_metrics

__all__ = ["DEFAULT_ENGINES", "check_facets", "close_engines", "compare_queries",
           "engines_table", "facet_values", "index_engine", "measure_freshness", "open_engines",
           "parse_engines", "run_search", "run_search_file", "scaling_table", "search_all",
           "statements_frame"]

DEFAULT_ENGINES = ("tantivy", "sqlite", "postgres")
_PROBE_WORD = "zyqvexflorp"


def parse_engines(engines: str | Sequence[str] | None) -> tuple[str, ...]:
    """Validate an engine list (``"tantivy,sqlite"`` or a sequence); duplicates dropped."""
    if engines is None:
        return DEFAULT_ENGINES
    items = [e.strip() for e in engines.split(",")] if isinstance(engines, str) else list(engines)
    out: list[str] = []
    for e in items:
        if e not in ALL_ENGINES:
            raise InvalidInput(f"unknown engine {e!r}; choose {choices_text(ALL_ENGINES)}")
        if e not in out:
            out.append(e)
    if not out:
        raise InvalidInput(f"no engine given; choose from {choices_text(ALL_ENGINES)}")
    return tuple(out)


def index_engine(name: str, products: Sequence[SearchProduct]) -> tuple[SearchEngine, float]:
    """A new engine ``name`` holding ``products`` and the seconds the load took (measured)."""
    engine = make_engine(name)
    t0 = time.perf_counter()
    try:
        engine.index(products)
    except BaseException:
        engine.close()
        raise
    return engine, time.perf_counter() - t0


def measure_freshness(engine: SearchEngine, product_id: int, *,
                      max_polls: int = 10_000) -> dict[str, float | int]:
    """Write one new product and search until it is found: write->visible lag (ms, measured).

    Returns ``freshness_ms`` (from the write's start to the first search that returns it),
    ``write_ms`` (the write alone) and ``polls`` (searches needed; 1 = visible at once).
    """
    probe = SearchProduct(product_id, f"PRB-{product_id:07d}", f"Freshness {_PROBE_WORD} probe",
                          f"A product written to measure how fast {_PROBE_WORD} is visible.",
                          "Probe", "Probes", 1.0)
    request = search_request(_PROBE_WORD, limit=5)
    t0 = time.perf_counter()
    engine.add(probe)
    write_ms = (time.perf_counter() - t0) * 1e3
    for polls in range(1, max_polls + 1):
        if any(h.id == product_id for h in engine.search(request).hits):
            return {"freshness_ms": round((time.perf_counter() - t0) * 1e3, 3),
                    "write_ms": round(write_ms, 3), "polls": polls}
    raise RuntimeError(f"{engine.name}: product {product_id} not visible after "
                       f"{max_polls} searches")


def check_facets(engine: Any, reference: Any, queries: Sequence[JudgedQuery]
                 ) -> dict[str, Any]:
    """Engine aggregations vs SQL GROUP BY over the same matched ids, for every query.

    Args:
        engine: an engine with ``matching_ids(request)`` (tantivy).
        reference: a database engine holding the same products (``facets_for_ids``).
    """
    mismatches = []
    for q in queries:
        request = search_request(q.text, limit=10)
        mine = engine.search(request).facets.as_dict()
        sql = reference.facets_for_ids(engine.matching_ids(request)).as_dict()
        if mine != sql:
            mismatches.append(q.qid)
    return {"queries": len(queries), "mismatches": mismatches, "agree": not mismatches}


def _latency(engine: SearchEngine, queries: Sequence[JudgedQuery], repeats: int
             ) -> tuple[dict[str, list[int]], dict[str, dict[str, float]], float]:
    ranked: dict[str, list[int]] = {}
    samples: dict[str, list[float]] = {c: [] for c in CLASSES}
    statements = []
    for _ in range(repeats):
        for q in queries:
            resp = engine.search(search_request(q.text, limit=10))
            samples[q.cls].append(resp.took_ms)
            statements.append(resp.queries)
            ranked[q.qid] = [h.id for h in resp.hits]
    latency = {}
    for cls, vals in samples.items():
        if vals:
            s = LatencySummary.of_ms(vals)
            latency[cls] = {"p50": round(s.p50, 4), "p99": round(s.p99, 4), "count": s.count}
    return ranked, latency, sum(statements) / max(1, len(statements))


def run_search(products: int = 2000, seed: int = 42, engines: str | Sequence[str] | None = None,
               *, per_class: int = 8, repeats: int = 3,
               catalog: Catalog | None = None) -> Result:
    """Run every engine on the same catalog and judged queries.

    Args:
        products: catalog size (ignored when ``catalog`` is given).
        seed: the seed of the catalog and the query set.
        engines: names or a comma-separated string (default tantivy, sqlite, postgres).
        per_class: judged queries per class.
        repeats: times each query is run for the latency figures.
        catalog: a generated catalog to reuse.

    Returns:
        A measured :class:`Result`; ``metrics["engines"][name]`` holds relevance, latency_ms,
        index_s, index_bytes, freshness_ms and queries_per_search, ``metrics["facets_agree"]``
        the facet check.
    """
    names = parse_engines(engines)
    n = validate.integer("products", products, minimum=10, maximum=1_000_000)
    seed = validate.integer("seed", seed, minimum=0)
    per_class = validate.integer("per_class", per_class, minimum=1, maximum=100)
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=100)
    cat = catalog if catalog is not None else generate_catalog(n, seed)
    items = catalog_products(cat)
    queries = build_queries(cat, seed, per_class)
    metrics, backends = _evaluate(names, items, queries, repeats)
    return Result(
        experiment="search", label="measured", seed=seed,
        params={"products": len(items), "engines": list(names), "per_class": per_class,
                "repeats": repeats, "catalog": "generated"},
        metrics=metrics, backends=backends)


def run_search_file(path: str | None = None, engines: str | Sequence[str] | None = None, *,
                    repeats: int = 3) -> Result:
    """The same measurements on a DummyJSON-layout file (default: the bundled DummyJSON set),
    judged by the rules of :mod:`ecomlab.search.dummyjson`; the bundled file uses its committed
    judged set."""
    from ecomlab.search.dummyjson import BUNDLED, JUDGED, dummyjson_queries, load_judged
    from ecomlab.search.products import dummyjson_products

    names = parse_engines(engines)
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=100)
    file = BUNDLED if path is None else path
    items = dummyjson_products(file)
    bundled = Path(file).resolve() == BUNDLED.resolve()
    queries = load_judged(JUDGED) if bundled else dummyjson_queries(file)
    metrics, backends = _evaluate(names, items, queries, repeats)
    return Result(
        experiment="search", label="measured", seed=7,
        params={"products": len(items), "engines": list(names), "per_class": 6,
                "repeats": repeats, "catalog": str(file)},
        metrics=metrics, backends=backends)


def _evaluate(names: Sequence[str], items: Sequence[SearchProduct],
              queries: Sequence[JudgedQuery], repeats: int
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    out: dict[str, Any] = {}
    backends: dict[str, Any] = {}
    opened: dict[str, SearchEngine] = {}
    probe_id = max((p.id for p in items), default=0) + 1
    try:
        for name in names:
            engine, index_s = index_engine(name, items)
            opened[name] = engine
            backends[name] = engine.describe()
            ranked, latency, statements = _latency(engine, queries, repeats)
            fresh = measure_freshness(engine, probe_id)
            out[name] = {
                "relevance": judged_metrics(queries, ranked),
                "latency_ms": latency,
                "index_s": round(index_s, 4),
                "index_bytes": engine.index_bytes(),
                "freshness_ms": fresh["freshness_ms"],
                "freshness_polls": fresh["polls"],
                "queries_per_search": round(statements, 2),
            }
            budget.advance()  # the command line's progress and Ctrl-C report
        facets: dict[str, Any] = {"checked": False}
        if "tantivy" in opened:
            reference = opened.get("sqlite")
            own = reference is None
            if reference is None:
                reference, _ = index_engine("sqlite", items)
            try:
                facets = check_facets(opened["tantivy"], reference, queries)
                facets["checked"] = True
            finally:
                if own:
                    reference.close()
    finally:
        for engine in opened.values():
            engine.close()
    metrics = {"engines": out, "facets_agree": facets.get("agree"), "facets": facets,
               "queries": [{"qid": q.qid, "class": q.cls, "text": q.text, "exact": q.exact}
                           for q in queries]}
    return metrics, backends


def scaling_table(sizes: Sequence[int] = (500, 2000), seed: int = 42,
                  engines: str | Sequence[str] | None = None, *, per_class: int = 3,
                  repeats: int = 3) -> list[dict[str, Any]]:
    """Latency and index cost vs catalog size: one row per (engine, size), measured."""
    rows: list[dict[str, Any]] = []
    for size in sizes:
        n = validate.integer("size", size, minimum=10, maximum=1_000_000)
        cat = generate_catalog(n, seed)
        items = catalog_products(cat)
        queries = [q for q in build_queries(cat, seed, per_class) if q.cls != "no_match"]
        for name in parse_engines(engines):
            engine, index_s = index_engine(name, items)
            try:
                samples = []
                for _ in range(repeats):
                    for q in queries:
                        samples.append(engine.search(search_request(q.text)).took_ms)
                s = LatencySummary.of_ms(samples)
                rows.append({"engine": name, "products": n, "p50_ms": round(s.p50, 4),
                             "p99_ms": round(s.p99, 4), "index_s": round(index_s, 4),
                             "index_bytes": engine.index_bytes(),
                             "products_per_s": round(n / index_s) if index_s else None})
            finally:
                engine.close()
    return rows


def open_engines(products: int, seed: int, names: str | Sequence[str] | None = None
                 ) -> tuple[dict[str, SearchEngine], Catalog]:
    """Engines ``names`` holding the same generated catalog; close with :func:`close_engines`."""
    n = validate.integer("products", products, minimum=10, maximum=1_000_000)
    cat = generate_catalog(n, validate.integer("seed", seed, minimum=0))
    items = catalog_products(cat)
    opened: dict[str, SearchEngine] = {}
    try:
        for name in parse_engines(names):
            opened[name] = index_engine(name, items)[0]
    except BaseException:
        close_engines(opened)
        raise
    return opened, cat


def close_engines(engines: dict[str, SearchEngine]) -> None:
    """Close every engine (files, connections, private schemas)."""
    for engine in engines.values():
        engine.close()


def engines_table(engines: dict[str, SearchEngine]) -> pd.DataFrame:
    """Which backend serves each engine (backend, embedded): what a run measured."""
    return pd.DataFrame([{"engine": name, "backend": e.describe().get("backend"),
                          "embedded": e.describe().get("embedded")}
                         for name, e in engines.items()])


def search_all(engines: dict[str, SearchEngine], query: str, **filters: Any
               ) -> dict[str, SearchResponse]:
    """The same validated search on every engine."""
    request = search_request(query, **filters)
    return {name: e.search(request) for name, e in engines.items()}


def statements_frame(responses: dict[str, SearchResponse]) -> pd.DataFrame:
    """Per engine: matches, statements or requests needed, and took_ms (measured)."""
    return pd.DataFrame([{"engine": name, "matches": r.total, "statements": r.queries,
                          "took_ms": round(r.took_ms, 3)} for name, r in responses.items()])


def facet_values(catalog: Catalog) -> tuple[list[str], list[str]]:
    """The catalog's brand names and leaf category names (for the search box's filters)."""
    leaves = {p.rsplit("/", 1)[1] for p in catalog.leaf_paths()}
    return sorted(map(str, catalog.brands["name"])), sorted(leaves)


def compare_queries(engines: dict[str, SearchEngine], texts: Sequence[str]
                    ) -> pd.DataFrame:
    """For each query: each engine's match count and top title (no timings)."""
    rows: list[dict[str, object]] = []
    for text in texts:
        row: dict[str, object] = {"query": text}
        for name, engine in engines.items():
            resp = engine.search(search_request(text, limit=1))
            row[f"{name} matches"] = resp.total
            row[f"{name} top hit"] = resp.hits[0].title if resp.hits else ""
        rows.append(row)
    return pd.DataFrame(rows)
