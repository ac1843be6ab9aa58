"""Search on PostgreSQL (embedded and ECOMLAB_PG_URL), the commands, and run_search end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.cli import main
from ecomlab.datagen import generate_catalog
from ecomlab.search.base import search_request
from ecomlab.search.database import (
    PostgresEngine,
    PostgresTunedEngine,
    SqliteEngine,
    SqliteTrigramEngine,
)
from ecomlab.search.experiment import check_facets, measure_freshness, run_search
from ecomlab.search.products import catalog_products
from ecomlab.search.relevance import build_queries
from ecomlab.search.tantivy_engine import TantivyEngine
from tests.conftest import make_sql_store

CATALOG = generate_catalog(400, seed=11)
PRODUCTS = catalog_products(CATALOG)
QUERIES = build_queries(CATALOG, seed=11, per_class=3)


@pytest.fixture(scope="module", params=("postgres", "postgres-real"))
def pg(request: pytest.FixtureRequest) -> Iterator[PostgresEngine]:
    engine = PostgresEngine(make_sql_store(request.param))
    engine.index(PRODUCTS)
    yield engine
    schema = engine.store.schema
    engine.close()
    assert schema is not None


def test_postgres_runs_the_seeds_sql_with_a_gin_index(pg: PostgresEngine) -> None:
    with pg.store.engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'products' "
            "AND schemaname = current_schema()").scalars().all()
    assert any("gin" in d and "to_tsvector('english'" in d for d in indexes)
    resp = pg.search(search_request("laptop", limit=5))
    assert resp.total > 0 and all("Laptop" in h.title for h in resp.hits)
    assert resp.queries == 5


def test_postgres_misses_a_typo_that_tantivy_finds(pg: PostgresEngine) -> None:
    with TantivyEngine() as t:
        t.index(PRODUCTS)
        assert t.search(search_request("Laptpo")).total > 0
    assert pg.search(search_request("Laptpo")).total == 0


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_never_an_error_on_postgres(pg: PostgresEngine, text: str) -> None:
    assert pg.search(search_request(text, limit=3)).total >= 0


def test_postgres_facets_equal_the_engine_counts_when_the_matches_are_the_same(
        pg: PostgresEngine) -> None:
    with TantivyEngine() as t:
        t.index(PRODUCTS)
        assert check_facets(t, pg, QUERIES)["agree"]


def test_a_product_written_in_a_transaction_is_visible_after_commit(pg: PostgresEngine) -> None:
    assert measure_freshness(pg, 90_000)["polls"] == 1


def test_the_private_schema_is_dropped_on_close() -> None:
    engine = PostgresEngine(make_sql_store("postgres"))
    engine.index(PRODUCTS[:10])
    schema = engine.store.schema
    url = engine.store.engine.url
    engine.close()
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM information_schema.schemata "
                                    "WHERE schema_name = :s"), {"s": schema}).scalar_one()
    eng.dispose()
    assert left == 0


def test_run_search_reports_every_class_for_every_engine() -> None:
    result = run_search(300, 5, "tantivy,sqlite", per_class=2, repeats=1)
    m = result.metrics
    assert result.label == "measured" and m["facets_agree"] is True
    for name in ("tantivy", "sqlite"):
        e = m["engines"][name]
        assert set(e["relevance"]) == {"known_item", "typo", "partial", "attribute",
                                       "brand_category", "no_match"}
        assert set(e["latency_ms"]["typo"]) >= {"p50", "p99"}
        assert e["index_bytes"] > 0 and e["freshness_ms"] > 0
    assert m["engines"]["tantivy"]["relevance"]["typo"]["ndcg@10"] > \
        m["engines"]["sqlite"]["relevance"]["typo"]["ndcg@10"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in argv else out), err


def test_search_command_prints_hits_total_facets_and_took_ms(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = _run(capsys, "search", "--engine", "sqlite", "--query", "laptop",
                         "--products", "200", "--limit", "3", "--json")
    assert code == 0
    assert set(data) >= {"hits", "total", "facets", "took_ms"}
    assert len(data["hits"]) <= 3
    assert set(data["hits"][0]) == {"id", "sku", "title", "score", "snippet"}
    assert set(data["hits"][0]["snippet"]) == {"title", "description", "method"}
    assert "<mark>" in data["hits"][0]["snippet"]["title"] + data["hits"][0]["snippet"][
        "description"]
    assert set(data["facets"]) == {"brands", "categories", "price_ranges"}


def test_search_command_reads_a_dummyjson_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    from ecomlab.datagen import DATA_DIR

    code, data, _ = _run(capsys, "search", "--query", "mascara", "--catalog",
                         str(DATA_DIR / "dummyjson" / "products.json"), "--json")
    assert code == 0 and data["total"] >= 1


@pytest.mark.parametrize("argv", [
    ("search", "--engine", "solr", "--query", "x"),
    ("search", "--query", "x", "--limit", "-1"),
    ("search", "--query", "x", "--min-price", "10", "--max-price", "5"),
    ("run", "search", "--engines", "tantivy,solr"),
])
def test_bad_search_arguments_print_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_run_search_command_prints_the_per_engine_figures(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = _run(capsys, "run", "search", "--products", "200", "--engines", "sqlite",
                         "--per-class", "1", "--repeats", "1", "--json")
    assert code == 0
    e = data["engines"]["sqlite"]
    assert set(e) >= {"relevance", "latency_ms", "index_s", "index_bytes", "freshness_ms"}
    assert set(e["relevance"]["typo"]) >= {"ndcg@10", "mrr", "recall@10"}


def test_sqlite_engine_file_is_removed_on_close() -> None:
    import os

    engine = SqliteEngine()
    engine.index(PRODUCTS[:5])
    tmp = engine.store._tmpdir
    engine.close()
    assert tmp is not None and not os.path.exists(tmp)


# -- the databases pushed further ----------------------------------------------------------
@pytest.fixture(scope="module")
def tuned() -> Iterator[PostgresTunedEngine]:
    engine = PostgresTunedEngine(make_sql_store("postgres"))
    engine.index(PRODUCTS)
    yield engine
    engine.close()


def test_tuned_postgres_corrects_a_typo_with_pg_trgm_and_counts_the_lookups(
        tuned: PostgresTunedEngine) -> None:
    resp = tuned.search(search_request("Laptpo", limit=5))
    assert resp.total > 0 and all("Laptop" in h.title for h in resp.hits)
    assert resp.queries == 7  # lexicon lookup, one similarity query, hits, count, 3 facets


def test_tuned_postgres_matches_the_last_word_as_a_prefix(tuned: PostgresTunedEngine) -> None:
    laptop = next(p for p in PRODUCTS if p.category == "Laptops")
    resp = tuned.search(search_request(f"{laptop.brand} Lapt", limit=3))
    assert resp.hits and all(laptop.brand in h.title for h in resp.hits)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_never_an_error_on_tuned_postgres(tuned: PostgresTunedEngine,
                                                            text: str) -> None:
    assert tuned.search(search_request(text, limit=3)).total >= 0


def test_a_write_reaches_the_tuned_lexicon_in_its_transaction(tuned: PostgresTunedEngine
                                                              ) -> None:
    assert measure_freshness(tuned, 91_000)["polls"] == 1
    assert tuned.search(search_request("zyqvexflorq")).total >= 1  # a typo of the new word


def test_fts5_trigram_finds_a_half_typed_word_but_not_a_typo() -> None:
    with SqliteTrigramEngine() as engine:
        engine.index(PRODUCTS)
        assert engine.search(search_request("Lapt")).total > 0
        assert engine.search(search_request("Laptpo")).total == 0
        assert engine.search(search_request("ab")).total == 0  # under 3 characters: left out
        for text in SYNTAX_SAMPLES:
            assert engine.search(search_request(text)).total >= 0


SYNTAX_SAMPLES = ['"unbalanced', "NEAR(a b)", "lap*", "title:x", "a^2~", "-(", "\x00", "x" * 3000]


def test_two_tuned_stores_share_pg_trgm_and_closing_one_keeps_the_other_working(
        tuned: PostgresTunedEngine) -> None:
    other = PostgresTunedEngine(make_sql_store("postgres"))
    other.index(PRODUCTS[:50])
    assert other.search(search_request("Laptpo")).total >= 0
    other.close()
    assert tuned.search(search_request("Laptpo")).total > 0
