"""Search without stores: validation, plain-text words, judged relevance, metrics, the ES body."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport._node._base import NodeApiResponse
from hypothesis import given
from hypothesis import strategies as st

from ecomlab.datagen import generate_catalog
from ecomlab.errors import BackendUnavailable, InvalidInput
from ecomlab.search.base import query_words, search_request
from ecomlab.search.database import fts5_match
from ecomlab.search.elastic import ElasticsearchEngine, request_body
from ecomlab.search.experiment import parse_engines
from ecomlab.search.products import catalog_products
from ecomlab.search.relevance import (
    CLASSES,
    JudgedQuery,
    build_queries,
    edit_distance,
    judged_metrics,
    make_typo,
)
from ecomlab.search.tantivy_engine import auto_edits

CATALOG = generate_catalog(600, seed=7)


PRODUCTS = catalog_products(CATALOG)


QUERIES = build_queries(CATALOG, seed=7, per_class=4)


def test_auto_fuzziness_allows_zero_one_or_two_edits_by_term_length() -> None:
    assert [auto_edits("ab"), auto_edits("abc"), auto_edits("abcde"), auto_edits("abcdef")] \
        == [0, 1, 1, 2]


def test_an_operator_word_is_searched_as_a_word() -> None:
    assert query_words('"NEAR(lap* OR title:x)^2~') == ["NEAR", "lap", "OR", "title", "x", "2"]
    assert fts5_match(["NEAR", "OR"]) == '"NEAR" "OR"'


@pytest.mark.parametrize("bad", [
    {"limit": -1}, {"limit": 1001}, {"limit": 2.5}, {"min_price": 10, "max_price": 5},
    {"min_price": -1}, {"max_price": math.inf}, {"brands": [""]}, {"category": ""}])
def test_bad_search_parameters_raise_invalid_input_naming_the_value(bad: dict[str, Any]
                                                                   ) -> None:
    with pytest.raises(InvalidInput):
        search_request("laptop", **bad)


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match="'tantivy'"):
        parse_engines("tantivy,solr")


# -- relevance ------------------------------------------------------------------------------
def test_every_class_has_queries_and_judgments_come_from_the_generator() -> None:
    assert {q.cls for q in QUERIES} == set(CLASSES)
    for q in QUERIES:
        if q.cls == "no_match":
            assert not q.gains
        else:
            assert q.exact >= 1 and set(q.gains.values()) <= {1, 2, 3}
    for q in (q for q in QUERIES if q.cls == "known_item"):
        exact = [pid for pid, g in q.gains.items() if g == 3]
        assert all(next(p for p in PRODUCTS if p.id == pid).title == q.text for pid in exact)


def test_typos_are_one_or_two_edits_within_the_auto_budget() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for word in ("Laptop", "Zenith", "Monitor", "Tent", "Headphones"):
        for edits in (1, 2):
            if edits > auto_edits(word.lower()):
                continue
            typo = make_typo(word, edits, rng)
            assert edit_distance(typo.lower(), word.lower()) == edits


def test_metrics_match_hand_computed_values() -> None:
    q = JudgedQuery("q1", "known_item", "x", {1: 3, 2: 2, 3: 1})
    # ranking 2 (gain 2), 9 (0), 1 (3): DCG = 2 + 0 + 3/log2(4) = 3.5;
    # ideal 3 + 2/log2(3) + 1/2 = 4.76186; nDCG = 0.73501. First exact at rank 3: RR = 1/3.
    m = judged_metrics([q], {"q1": [2, 9, 1]})["known_item"]
    assert m["ndcg@10"] == pytest.approx(3.5 / (3 + 2 / math.log2(3) + 0.5), abs=1e-4)
    assert m["mrr"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["recall@10"] == 1.0
    empty = judged_metrics([q], {"q1": []})["known_item"]
    assert empty == {"ndcg@10": 0.0, "mrr": 0.0, "recall@10": 0.0, "empty_share": 1.0}
    nothing = JudgedQuery("n", "no_match", "zz", {})
    assert judged_metrics([nothing], {"n": [5]})["no_match"]["ndcg@10"] is None


def test_a_query_missing_from_the_run_scores_zero_not_left_out() -> None:
    a = JudgedQuery("a", "typo", "x", {1: 3})
    b = JudgedQuery("b", "typo", "y", {2: 3})
    m = judged_metrics([a, b], {"a": [1], "b": []})["typo"]
    assert m["ndcg@10"] == 0.5 and m["mrr"] == 0.5


# -- Elasticsearch adapter -----------------------------------------------------------------
REQUESTS: list[tuple[str, str, Any]] = []


class _Recorder(BaseNode):
    """A transport node for the official client: records requests, answers from a script."""

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: Any = None, request_timeout: Any = None) -> Any:
        REQUESTS.append((method, target, json.loads(body) if body else None))
        ranges = (("*-50.0", 0), ("50.0-100.0", 0), ("100.0-500.0", 0), ("500.0-*", 1))
        payload = {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [
            {"_id": "7", "_score": 2.5, "_source": {"id": 7, "sku": "LAP-1", "title": "Laptop"}}]},
            "aggregations": {
                "brands": {"buckets": [{"key": "Northwind", "doc_count": 1}]},
                "categories": {"buckets": [{"key": "Laptops", "doc_count": 1}]},
                "price_ranges": {"buckets": [{"key": k, "doc_count": n} for k, n in ranges]}}}
        meta = ApiResponseMeta(200, "1.1", HttpHeaders({
            "content-type": "application/json", "x-elastic-product": "Elasticsearch"}),
            0.001, self.config)
        return NodeApiResponse(meta, json.dumps(payload).encode())


SEED_BODY = {
    "size": 10,
    "track_total_hits": True,
    "query": {"bool": {
        "must": [{"multi_match": {"query": "Northwind laptop",
                                  "fields": ["title^3", "description^2", "brand"],
                                  "type": "best_fields", "fuzziness": "AUTO"}}],
        "filter": [{"terms": {"brand.keyword": ["Northwind"]}}]}},
    "aggs": {
        "brands": {"terms": {"field": "brand.keyword", "size": 1000}},
        "categories": {"terms": {"field": "category.keyword", "size": 1000}},
        "price_ranges": {"range": {"field": "price", "ranges": [
            {"to": 50.0}, {"from": 50.0, "to": 100.0}, {"from": 100.0, "to": 500.0},
            {"from": 500.0}]}}},
}


def test_the_elasticsearch_adapter_sends_the_seeds_body_through_the_official_client() -> None:
    from elasticsearch import Elasticsearch

    REQUESTS.clear()
    client = Elasticsearch("http://127.0.0.1:9", node_class=_Recorder)
    engine = ElasticsearchEngine(client=client, index_name="products")
    resp = engine.search(search_request("Northwind laptop", brands=["Northwind"]))
    method, target, body = REQUESTS[-1]
    assert (method, target.split("?")[0]) == ("POST", "/products/_search")
    assert body == SEED_BODY
    assert request_body(search_request("Northwind laptop", brands=["Northwind"])) == SEED_BODY
    assert resp.total == 1 and resp.hits[0].id == 7
    assert resp.facets.as_dict()["price_ranges"] == {"<50": 0, "50-100": 0, "100-500": 0,
                                                     ">=500": 1}


def test_query_syntax_reaches_elasticsearch_as_plain_words() -> None:
    body = request_body(search_request('title:"lap*" AND (x^2'))
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "title lap AND x 2"


def test_the_elasticsearch_engine_refuses_without_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomlab.search.engines import make_engine

    monkeypatch.delenv("ECOMLAB_SEARCH_URL", raising=False)
    with pytest.raises(BackendUnavailable, match="ECOMLAB_SEARCH_URL"):
        make_engine("elasticsearch")



def test_the_search_kind_is_tantivy_unless_a_url_names_a_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomlab.errors import ConfigError
    from ecomlab.stores import search_backend

    monkeypatch.delenv("ECOMLAB_SEARCH_URL", raising=False)
    assert search_backend().backend == "tantivy" and search_backend().url is None
    monkeypatch.setenv("ECOMLAB_SEARCH_URL", "http://user:secret@127.0.0.1:9200")
    backend = search_backend()
    assert backend.backend == "elasticsearch"
    assert "secret" not in str(backend.describe()["url"])
    with pytest.raises(ConfigError, match="http"):
        search_backend("ftp://x")


# -- snippets ------------------------------------------------------------------------------
def _text_of(fragment: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"</?mark>", "", fragment))


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)),
                                      max_size=4))
def test_marked_ranges_keep_the_text_and_add_only_mark_tags(text: str,
                                                             ranges: list[tuple[int, int]]
                                                             ) -> None:
    import re

    from ecomlab.search.snippets import mark_ranges

    size = len(text.encode())
    # ranges on character boundaries, as tantivy's highlighter gives them
    cuts = sorted({len(text[:i].encode()) for i in range(len(text) + 1)})
    spans = [(min(cuts, key=lambda c: abs(c - a)), min(cuts, key=lambda c: abs(c - b)))
             for a, b in ranges if size]
    out = mark_ranges(text, spans)
    assert _text_of(out) == text
    assert "<" not in re.sub(r"</?mark>", "", out)


@given(st.text(max_size=80))
def test_delimited_text_is_escaped_and_its_marks_always_pair_up(text: str) -> None:
    import re

    from ecomlab.search.snippets import CLOSE, OPEN, mark_delimited

    out, _ = mark_delimited(text)
    assert "<" not in re.sub(r"</?mark>", "", out) and ">" not in re.sub(r"</?mark>", "", out)
    assert out.count("<mark>") == out.count("</mark>")
    assert _text_of(out) == text.replace(OPEN, "").replace(CLOSE, "")


def test_delimiters_become_marks_and_markup_stays_text() -> None:
    from ecomlab.search.snippets import CLOSE, OPEN, mark_delimited

    out, found = mark_delimited(f"a {OPEN}<b>laptop</b>{CLOSE} & <script>x</script>")
    assert found
    assert out == ("a <mark>&lt;b&gt;laptop&lt;/b&gt;</mark> &amp; "
                   "&lt;script&gt;x&lt;/script&gt;")
    assert mark_delimited("no match here") == ("no match here", False)


def test_fuzzy_matched_words_are_marked_within_the_auto_distance_only() -> None:
    from ecomlab.search.snippets import mark_matching, term_matcher

    def analyze(w: str) -> list[str]:
        return [w.lower()]

    matches = term_matcher(["laptpo", "ab"], analyze, edits=auto_edits)
    out, found = mark_matching("Laptop, lap & ab <x>", matches)
    assert found and out == "<mark>Laptop</mark>, lap &amp; <mark>ab</mark> &lt;x&gt;"
    exact = term_matcher(["laptpo"], analyze, edits=None)
    assert mark_matching("Laptop", exact) == ("", False)


def test_a_long_text_is_cut_to_a_fragment_around_the_first_match() -> None:
    from ecomlab.search.snippets import FRAGMENT_CHARS, mark_matching

    text = " ".join(["filler"] * 60) + " laptop " + " ".join(["tail"] * 60)
    out, found = mark_matching(text, lambda w: w == "laptop")
    assert found and "<mark>laptop</mark>" in out
    assert len(_text_of(out)) <= FRAGMENT_CHARS and _text_of(out) in text
    assert _text_of(out).split()[-1] in ("tail", "laptop")  # cut after a whole word


def test_elasticsearch_snippets_add_a_highlight_section_and_parse_escaped() -> None:
    from ecomlab.search.elastic import hit_snippet
    from ecomlab.search.snippets import CLOSE, OPEN

    plain = request_body(search_request("laptop"))
    assert "highlight" not in plain
    body = request_body(search_request("laptop", snippets=True))
    assert body["highlight"]["pre_tags"] == [OPEN] and body["highlight"]["post_tags"] == [CLOSE]
    assert set(body["highlight"]["fields"]) == {"title", "description"}
    assert {k: v for k, v in body.items() if k != "highlight"} == plain
    snip = hit_snippet({"highlight": {"title": [f"{OPEN}Laptop{CLOSE} <i>"]}})
    assert snip.title == "<mark>Laptop</mark> &lt;i&gt;" and snip.method == "engine"
    assert hit_snippet({}).method == "none"


def test_stores_lists_the_search_kind_embedded_or_by_url(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from ecomlab.config import Settings
    from ecomlab.stores import describe_stores

    monkeypatch.delenv("ECOMLAB_SEARCH_URL", raising=False)
    entry = describe_stores(Settings(), check=False)["search"]
    assert entry == {"backend": "tantivy", "embedded": True, "url": None,
                     "variable": "ECOMLAB_SEARCH_URL", "database": "sqlite-fts5"}
    monkeypatch.setenv("ECOMLAB_SEARCH_URL", "http://user:pw@127.0.0.1:9200")
    entry = describe_stores(Settings(), check=False)["search"]
    assert entry["backend"] == "elasticsearch" and entry["embedded"] is False
    assert entry["url"] == "http://user:***@127.0.0.1:9200" and "reachable" not in entry


def test_a_search_url_where_no_elasticsearch_answers_is_refused_quickly() -> None:
    from ecomlab.stores import search_client

    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1:1"):
        search_client("http://127.0.0.1:1")
