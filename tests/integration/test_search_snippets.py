"""Snippets on every embedded engine: matched words in <mark>, everything else escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import tantivy

from ecomlab.search.base import SearchProduct, search_request
from ecomlab.search.engines import make_engine
from ecomlab.search.widget import hits_html

PRODUCTS = [
    SearchProduct(1, "LAP-1", "Kestrel Orbit 75 Laptop <script>alert(1)</script>",
                  "A light laptop with 16GB memory & a <b>bold</b> claim \ufdd0 odd \ufdd1",
                  "Kestrel", "Laptops", 900.0),
    SearchProduct(2, "CASE-2", "Lumina Phone Case", "Fits phones & tablets; not laptops",
                  "Lumina", "Cases", 9.0),
    SearchProduct(3, "MUG-3", "Quanta Coffee Mug", "Holds 350 ml of coffee", "Quanta",
                  "Kitchen", 12.0),
]
ENGINES = ("tantivy", "sqlite", "sqlite-trigram", "postgres", "postgres-tuned")
_TAG = re.compile(r"</?mark>")


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Any]]:
    built = {name: make_engine(name) for name in ENGINES}
    for e in built.values():
        e.index(PRODUCTS)
    yield built
    for e in built.values():
        e.close()


def _only_marks_are_markup(fragment: str) -> bool:
    return "<" not in _TAG.sub("", fragment) and ">" not in _TAG.sub("", fragment)


@pytest.mark.parametrize("name", ENGINES)
def test_an_exact_word_is_marked_by_the_engines_own_highlighter(engines: dict[str, Any],
                                                                name: str) -> None:
    hits = engines[name].search(search_request("laptop", snippets=True)).hits
    top = next(h for h in hits if h.id == 1)
    assert top.snippet is not None and top.snippet.method == "engine"
    assert "<mark>Laptop</mark>" in top.snippet.title
    assert "<mark>laptop</mark>" in top.snippet.description


@pytest.mark.parametrize("name", ENGINES)
def test_markup_in_a_product_or_a_query_is_escaped_and_only_marks_are_tags(
        engines: dict[str, Any], name: str) -> None:
    for text in ("laptop", "<mark>laptop</mark> <script>", "script alert bold"):
        resp = engines[name].search(search_request(text, snippets=True))
        for hit in resp.hits:
            assert hit.snippet is not None
            for fragment in (hit.snippet.title, hit.snippet.description):
                assert _only_marks_are_markup(fragment), (name, text, fragment)
                if name != "tantivy":  # the databases' delimiters never reach the page
                    assert "\ufdd0" not in fragment and "\ufdd1" not in fragment
        page = hits_html({name: resp})
        assert "<script" not in page and "<b>bold" not in page


@pytest.mark.parametrize("name", ENGINES)
def test_a_delimiter_character_in_the_text_never_becomes_a_highlight(
        engines: dict[str, Any], name: str) -> None:
    hit = next(h for h in engines[name].search(search_request("laptop", snippets=True)).hits
               if h.id == 1)
    assert hit.snippet is not None and "<mark> odd" not in hit.snippet.description


def test_tantivy_returns_no_snippet_for_a_fuzzy_hit_so_the_matched_terms_are_marked(
        engines: dict[str, Any]) -> None:
    engine = engines["tantivy"]
    request = search_request("Laptpo", snippets=True)
    q = engine.text_query(request.words, fuzzy=False)  # what the highlighter is given
    generator = tantivy.SnippetGenerator.create(engine._searcher, q, engine.schema, "title")
    doc = tantivy.Document()
    doc.add_text("title", PRODUCTS[0].title)
    assert list(generator.snippet_from_doc(doc).highlighted()) == []  # the exact term: none
    hits = engine.search(request).hits
    assert [h.id for h in hits][:1] == [1]
    snip = hits[0].snippet
    assert snip is not None and snip.method == "matched terms"
    assert "<mark>Laptop</mark>" in snip.title and "<mark>laptop</mark>" in snip.description
    assert "&lt;script&gt;" in snip.title


def test_a_hit_with_no_matched_title_or_description_word_says_no_snippet(
        engines: dict[str, Any]) -> None:
    """A query matched through the brand field only: the hit has a snippet of method none."""
    for name in ("tantivy",):
        product = SearchProduct(9, "X-9", "Plain Widget", "nothing else", "Zyxel", "Misc", 1.0)
        engine = make_engine(name)
        try:
            engine.index([product])
            hit = engine.search(search_request("zyxel", snippets=True)).hits[0]
            assert hit.snippet is not None and hit.snippet.method == "none"
            assert hit.snippet.title == hit.snippet.description == ""
            assert "no snippet" in hits_html({name: engine.search(
                search_request("zyxel", snippets=True))})
        finally:
            engine.close()


@pytest.mark.parametrize("name", ENGINES)
def test_a_search_without_snippets_returns_none_and_the_same_hits(engines: dict[str, Any],
                                                                   name: str) -> None:
    plain = engines[name].search(search_request("laptop"))
    marked = engines[name].search(search_request("laptop", snippets=True))
    assert all(h.snippet is None for h in plain.hits)
    assert [h.id for h in plain.hits] == [h.id for h in marked.hits]
