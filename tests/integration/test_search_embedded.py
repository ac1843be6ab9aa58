"""Search on the embedded engines (tantivy, SQLite FTS5): one interface, plain text, facets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.datagen import generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.search.base import SearchProduct, search_request
from ecomlab.search.database import SqliteEngine
from ecomlab.search.experiment import check_facets, measure_freshness
from ecomlab.search.products import catalog_products, dummyjson_products
from ecomlab.search.relevance import (
    build_queries,
    make_typo,
)
from ecomlab.search.tantivy_engine import MAX_EXPANSIONS, TantivyEngine, auto_edits, expansions

CATALOG = generate_catalog(600, seed=7)


PRODUCTS = catalog_products(CATALOG)


QUERIES = build_queries(CATALOG, seed=7, per_class=4)


SYNTAX = ['"unbalanced', 'a AND b', "OR", "NOT laptop", "NEAR(laptop charger)", "lap*",
          "title:laptop", "laptop^10", "laptp~2", "-laptop", "(laptop", "laptop)", "\x00",
          "a" * 5000, '"" \'\' ``', "*", ":", "^", "~", "-", "()", "AND OR NOT", "{}[]",
          "\\", "'; DROP TABLE products; --", "日本語 ноутбук", "laptop\x00charger"]


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Any]]:
    built = {"tantivy": TantivyEngine(), "sqlite": SqliteEngine()}
    for e in built.values():
        e.index(PRODUCTS)
    yield built
    for e in built.values():
        e.close()


def _by_title(title: str) -> SearchProduct:
    return next(p for p in PRODUCTS if p.title == title)


def test_tantivy_finds_a_product_with_a_one_edit_typo_and_the_databases_do_not(
        engines: dict[str, Any]) -> None:
    target = next(p for p in PRODUCTS if p.category == "Laptops")
    typo = search_request("Laptpo", limit=5)  # a swap: one edit under AUTO for 6 letters
    hits = engines["tantivy"].search(typo)
    assert hits.total > 0 and all("Laptop" in h.title for h in hits.hits)
    assert engines["sqlite"].search(typo).total == 0
    assert target.category == "Laptops"


def test_exact_matches_rank_above_fuzzy_matches_on_tantivy(engines: dict[str, Any]) -> None:
    p = PRODUCTS[0]
    resp = engines["tantivy"].search(search_request(p.title, limit=3))
    assert resp.hits[0].title == p.title
    assert resp.hits[0].score > 1.0  # BM25 of the exact words, not a typo clause's share


def test_brand_category_and_price_filters_restrict_every_engine(engines: dict[str, Any]) -> None:
    laptop = next(p for p in PRODUCTS if p.category == "Laptops")
    req = search_request("laptop", brands=[laptop.brand], category="Laptops",
                         min_price=500, max_price=2000, limit=50)
    for e in engines.values():
        resp = e.search(req)
        assert resp.total > 0
        by_id = {p.id: p for p in PRODUCTS}
        for h in resp.hits:
            p = by_id[h.id]
            assert p.brand == laptop.brand and p.category == "Laptops"
            assert 500 <= p.price <= 2000
        assert set(resp.facets.brands) == {laptop.brand}
        assert sum(resp.facets.price_ranges.values()) == resp.total


def test_the_engine_total_counts_every_match(engines: dict[str, Any]) -> None:
    for q in QUERIES:
        request = search_request(q.text, limit=10)
        resp = engines["tantivy"].search(request)
        assert resp.total == len(engines["tantivy"].matching_ids(request))
        assert resp.total == engines["tantivy"].top(request, count=True)[2]


def test_limit_zero_returns_counts_and_facets_without_hits(engines: dict[str, Any]) -> None:
    for e in engines.values():
        resp = e.search(search_request("laptop", limit=0))
        assert resp.hits == [] and resp.total > 0 and resp.facets.categories


def test_database_search_is_five_statements_and_the_engine_two(engines: dict[str, Any]) -> None:
    assert engines["sqlite"].search(search_request("laptop")).queries == 5
    assert engines["tantivy"].search(search_request("laptop")).queries == 2


@pytest.mark.parametrize("text", SYNTAX)
def test_query_syntax_is_plain_text_on_every_embedded_engine(
        engines: dict[str, Any], text: str) -> None:
    for e in engines.values():
        resp = e.search(search_request(text, limit=5))
        assert resp.total >= 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_arbitrary_text_is_never_an_error_on_tantivy_or_sqlite(
        engines: dict[str, Any], text: str) -> None:
    for e in engines.values():
        resp = e.search(search_request(text, limit=3))
        assert resp.total >= 0 and len(resp.hits) <= 3


def test_engine_facets_equal_sql_group_by_counts_for_every_query(
        engines: dict[str, Any]) -> None:
    check = check_facets(engines["tantivy"], engines["sqlite"], QUERIES)
    assert check["agree"], check["mismatches"]
    assert check["queries"] == len(QUERIES)


def test_a_written_product_is_visible_to_the_next_search() -> None:
    for engine in (TantivyEngine(), SqliteEngine()):
        with engine:
            engine.index(PRODUCTS[:50])
            fresh = measure_freshness(engine, 10_000)
            assert fresh["polls"] == 1 and fresh["freshness_ms"] > 0


def test_dummyjson_catalog_loads_and_bad_files_are_refused(tmp_path: Any) -> None:
    from ecomlab.datagen import DATA_DIR

    items = dummyjson_products(DATA_DIR / "dummyjson" / "products.json")
    assert len(items) > 100 and items[0].title
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": 1, "title": "x"}]))
    with pytest.raises(InvalidInput, match="item 0"):
        dummyjson_products(bad)
    with pytest.raises(InvalidInput, match="does not exist"):
        dummyjson_products(tmp_path / "missing.json")



def test_the_committed_dummyjson_judgments_are_what_the_rules_build() -> None:
    from ecomlab.search.dummyjson import JUDGED, dummyjson_queries, load_judged

    assert load_judged(JUDGED) == dummyjson_queries()


def test_on_dummyjson_the_engine_facets_equal_sql_and_typos_separate_the_engines() -> None:
    from ecomlab.search.experiment import run_search_file

    result = run_search_file(engines="tantivy,sqlite", repeats=1)
    assert result.metrics["facets_agree"] is True
    rel = {k: v["relevance"] for k, v in result.metrics["engines"].items()}
    assert rel["tantivy"]["typo"]["ndcg@10"] > rel["sqlite"]["typo"]["ndcg@10"]
    assert result.params["catalog"].endswith("products.json")


def _fuzzy_docs(e: TantivyEngine, field: str, term: str) -> set[int]:
    """Documents tantivy's own Levenshtein automaton (transpositions one edit) matches."""
    q = tantivy.Query.fuzzy_term_query(e.schema, field, term, distance=auto_edits(term),
                                       transposition_cost_one=True)
    return set(e.matching_ids_of(q))


def _term_docs(e: TantivyEngine, field: str, terms: list[str]) -> set[int]:
    if not terms:
        return set()
    q = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(
        e.schema, field, t)) for t in terms])
    return set(e.matching_ids_of(q))


def test_typo_expansions_match_the_same_products_as_tantivys_fuzzy_automaton() -> None:
    """The exact term plus its expansions reach exactly the products tantivy's FuzzyTermQuery
    reaches, in every field, for the judged queries' words (typos included) and mutations."""
    rng = np.random.default_rng(3)
    words = {t for q in QUERIES for t in q.text.lower().split()}
    words |= {make_typo(w, 2 if len(w) > 5 else 1, rng) for w in sorted(words) if len(w) > 3}
    with TantivyEngine() as e:
        e.index(PRODUCTS)
        checked = 0
        for word in sorted(words):
            for term in e.terms(word):
                for field in ("title", "description", "brand"):
                    near = [t for t, _ in e.expansions(field, term)]
                    assert term not in near and len(near) <= MAX_EXPANSIONS
                    if len(near) < 50:
                        assert _term_docs(e, field, [term, *near]) == \
                            _fuzzy_docs(e, field, term), (field, term, near)
                        checked += 1
        assert checked > 100


def test_expansions_keep_the_closest_terms_up_to_max_expansions() -> None:
    vocab = [f"lapt{a}{b}" for a in "abcdefghij" for b in "abcdefghij"] + ["laptop", "lapto"]
    near = expansions("laptop", vocab)
    assert len(near) == MAX_EXPANSIONS and near[0] == "lapto"  # one edit before two
    assert near[1:] == sorted(near[1:])
    assert expansions("ab", vocab) == []  # two characters: no edits under AUTO
    assert expansions("lapt", ["lapto", "lap", "lapx", "lamp"]) == ["lap", "lapto", "lapx"]


def test_a_word_added_later_is_reached_by_typos() -> None:
    """The remembered expansions are dropped at each commit."""
    with TantivyEngine() as e:
        e.index(PRODUCTS[:50])
        assert e.search(search_request("Zefyrine")).total == 0  # its expansion remembered
        e.add(SearchProduct(10_000, "SKU-Z", "Zephyrine Kettle", "a kettle", "Acme",
                            "Kettles", 20.0))
        found = e.search(search_request("Zefyrine"))  # one substitution
        assert [h.id for h in found.hits] == [10_000]


def test_a_typo_reaching_a_rare_word_scores_with_the_blended_document_frequency() -> None:
    """Each expansion's boost scales its idf to the group's most common term's idf."""
    with TantivyEngine() as e:
        e.index(PRODUCTS)
        n = e._searcher.num_docs
        for q in QUERIES:
            for term in e.terms(q.text):
                for field in ("title", "description", "brand"):
                    near = e.expansions(field, term)
                    if not near:
                        continue
                    dfs = {t: e._searcher.doc_freq(field, t) for t, _ in near}
                    top = max([e._searcher.doc_freq(field, term), *dfs.values()])
                    for t, boost in near:
                        assert boost <= e.fuzzy_boost + 1e-12
                        assert (boost == pytest.approx(e.fuzzy_boost)) == (dfs[t] == top)
                        assert n > dfs[t] > 0
