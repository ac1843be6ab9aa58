"""Search on a real Elasticsearch / OpenSearch (ECOMLAB_SEARCH_URL); skipped without one."""

from __future__ import annotations

import pytest

from ecomlab.datagen import generate_catalog
from ecomlab.search.base import search_request
from ecomlab.search.experiment import measure_freshness
from ecomlab.search.products import catalog_products
from tests.conftest import real_url


@pytest.fixture(scope="module")
def es():  # type: ignore[no-untyped-def]
    from ecomlab.search.engines import make_engine

    engine = make_engine("elasticsearch", search_url=real_url("ECOMLAB_SEARCH_URL"))
    engine.index(catalog_products(generate_catalog(300, seed=4)))
    yield engine
    engine.close()


def test_elasticsearch_finds_a_typo_with_the_seeds_body(es) -> None:  # type: ignore[no-untyped-def]
    resp = es.search(search_request("Laptpo", limit=5))
    assert resp.total > 0 and all("Laptop" in h.title for h in resp.hits)
    assert sum(resp.facets.price_ranges.values()) == resp.total


def test_elasticsearch_query_syntax_is_plain_text(es) -> None:  # type: ignore[no-untyped-def]
    for text in ('title:"lap*', "a AND (b", "\x00", "NOT", "~^-"):
        assert es.search(search_request(text)).total >= 0


def test_an_elasticsearch_write_is_visible_after_its_refresh(es) -> None:  # type: ignore[no-untyped-def]
    assert measure_freshness(es, 50_000)["polls"] >= 1
