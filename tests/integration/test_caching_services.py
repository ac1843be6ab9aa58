"""Caching strategies on fakeredis and real Redis (through ``any_kv``) over SQLite, and on every
SQL backend (through ``any_sql``): freshness, the forced race, outages, write-behind loss."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.caching import (
    explore_caching,
    reproduce_race,
    run_caching,
    run_outage,
    storage_overhead,
)
from ecomlab.caching.experiment import default_sql_store
from ecomlab.caching.repository import Product, ProductTable
from ecomlab.errors import InvalidInput
from ecomlab.stores import KvStore, SqlStore
from tests.conftest import claimed_prefixes

FAST = {"db_latency_ms": 0.5, "products": 30, "requests": 400, "threads": 4}


@pytest.fixture
def sqlite_store() -> SqlStore:
    store = default_sql_store()
    yield store  # type: ignore[misc]
    store.dispose()


@pytest.mark.parametrize(("fix", "reader", "stale"), [
    ("none", "fast", True),
    ("versioned", "fast", False),
    ("versioned", "slow", False),
    ("double-delete", "fast", False),
    ("double-delete", "slow", True),
])
def test_cache_aside_race_is_reproduced_deterministically(any_kv: KvStore,
                                                          sqlite_store: SqlStore, fix: str,
                                                          reader: str, stale: bool) -> None:
    out = reproduce_race(fix, reader, sql=sqlite_store, kv=any_kv)
    assert out.committed_version == 2
    assert out.stale is stale
    assert out.served_version == (1 if stale else 2)
    actions = [s["action"] for s in out.steps]
    assert actions[0].startswith("GET misses")
    assert out.steps[-1]["actor"] == "reader B"


_workloads = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "zipf": st.floats(0.6, 1.4),
    "write_ratio": st.floats(0.05, 0.5),
    "ttl_s": st.sampled_from([0.3, 30.0]),
})


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workload=_workloads)
def test_write_through_never_serves_a_value_older_than_the_last_acknowledged_write(
        any_kv: KvStore, sqlite_store: SqlStore, workload: dict[str, float]) -> None:
    r = run_caching("write-through", sql=sqlite_store, kv=any_kv, **FAST,
                    **workload)  # type: ignore[arg-type]
    m = r.metrics
    assert m["writes"] > 0 and m["reads"] > 0
    assert m["stale_reads"] == 0, m


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), write_ratio=st.floats(0.1, 0.5))
def test_versioned_cache_aside_never_serves_a_value_older_than_the_last_acknowledged_write(
        any_kv: KvStore, sqlite_store: SqlStore, seed: int, write_ratio: float) -> None:
    r = run_caching("cache-aside", fix="versioned", sql=sqlite_store, kv=any_kv, seed=seed,
                    write_ratio=write_ratio, zipf=1.2, **FAST)  # type: ignore[arg-type]
    assert r.metrics["stale_reads"] == 0, r.metrics


def test_cache_aside_serves_every_read_from_the_database_while_the_cache_is_down(
        any_kv: KvStore, sqlite_store: SqlStore) -> None:
    m = run_outage("cache-aside", sql=sqlite_store, kv=any_kv, db_latency_ms=0.0).metrics
    assert m["outage_read_failures"] == 0
    assert m["outage_reads_served"] == m["outage_reads"] > 0
    assert m["outage_writes_acknowledged"] == m["outage_writes"] > 0
    assert m["cache_errors"] > 0


@pytest.mark.parametrize("strategy", ["cache-aside", "write-through", "write-behind"])
def test_failed_cache_updates_leave_stale_entries_unless_replayed(
        any_kv: KvStore, sqlite_store: SqlStore, strategy: str) -> None:
    seed_way = run_outage(strategy, sql=sqlite_store, kv=any_kv, db_latency_ms=0.0).metrics
    assert seed_way["stale_after_recovery"] > 0  # the silent disagreement, measured
    fixed = run_outage(strategy, repair=True, sql=sqlite_store, kv=any_kv,
                       db_latency_ms=0.0).metrics
    assert fixed["stale_after_recovery"] == 0
    assert fixed["repaired_keys"] == seed_way["stale_after_recovery"]


def test_write_behind_loses_acknowledged_writes_when_its_flusher_dies(
        any_kv: KvStore, sqlite_store: SqlStore) -> None:
    args = {"sql": sqlite_store, "kv": any_kv, "write_ratio": 0.5, "seed": 3,
            "flush_interval_ms": 10_000.0, **FAST}
    crashed = run_caching("write-behind", crash=True, **args).metrics  # type: ignore[arg-type]
    assert crashed["lost_writes"] == crashed["writes"] > 0
    assert crashed["db_writes"] == 0
    clean = run_caching("write-behind", crash=False, **args).metrics  # type: ignore[arg-type]
    assert clean["lost_writes"] == 0
    assert clean["db_writes"] >= 1


def test_write_through_caches_products_nobody_reads_and_cache_aside_does_not(
        any_kv: KvStore, sqlite_store: SqlStore) -> None:
    wt = storage_overhead("write-through", products=200, reads=300, sql=sqlite_store,
                          kv=any_kv).metrics
    ca = storage_overhead("cache-aside", products=200, reads=300, sql=sqlite_store,
                          kv=any_kv).metrics
    assert wt["cached_keys"] == 200
    assert wt["never_read_keys"] == 200 - wt["distinct_products_read"] > 0
    assert wt["never_read_bytes"] > 0
    assert ca["never_read_keys"] == 0
    assert ca["cached_keys"] == ca["distinct_products_read"]


def test_runs_leave_no_keys_behind(any_kv: KvStore, sqlite_store: SqlStore,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    claimed = claimed_prefixes(any_kv, monkeypatch)
    run_caching("cache-aside", sql=sqlite_store, kv=any_kv, **FAST)  # type: ignore[arg-type]
    assert len(claimed) == 1 and claimed[0].startswith("ecomlab:caching:")
    assert list(any_kv.client.scan_iter(match=claimed[0] + "*", count=1000)) == []


def test_every_strategy_runs_on_every_sql_backend(any_sql: SqlStore) -> None:
    from ecomlab.stores import kv_store

    kv = kv_store(fresh=True, settings=_embedded())
    try:
        for strategy in ("none", "cache-aside", "write-through", "write-behind"):
            extra = {"crash": False} if strategy == "write-behind" else {}
            m = run_caching(strategy, sql=any_sql, kv=kv, products=20, requests=120,
                            threads=2, db_latency_ms=0.0, write_ratio=0.2, seed=1,
                            **extra).metrics  # type: ignore[arg-type]
            assert m["reads"] + m["writes"] == 120
            assert m["stale_reads"] == 0 or strategy == "cache-aside"
            assert m["lost_writes"] == 0
            if strategy == "none":
                assert m["db_reads"] == m["reads"]
            else:
                assert m["db_reads"] < m["reads"]
    finally:
        kv.dispose()


def test_a_price_change_of_an_unknown_product_changes_nothing(sqlite_store: SqlStore) -> None:
    table = ProductTable(sqlite_store, db_latency_ms=0.0)
    table.create_all([Product(1, "SKU-1", "One", 10.0, 1)])
    with pytest.raises(InvalidInput, match="no product with id 99"):
        table.update_price(99, 5.0)
    assert table.versions() == {1: 1}
    assert table.writes.value == 0


def test_the_explorer_run_returns_a_note_a_measured_row_and_the_simulated_curve() -> None:
    note, table, fig = explore_caching("write-through", cache_size=15, zipf=1.1,
                                       write_ratio=0.1, ttl_s=5.0, products=60, requests=200)
    assert "Che predicts" in note
    assert table.loc[0, "label"] == "measured"
    # 200 requests over 60 products at Zipf 1.1: the first read of each product misses, the
    # rest of the reads mostly hit; a hit ratio outside this band means hits are miscounted
    assert 0.4 < table.loc[0, "hit_ratio"] < 0.95
    assert table.loc[0, "db_reads"] >= 1
    assert 15 in list(fig.data[1].x)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cache_size": 0}, "cache_size must be >= 1, got 0"),
    ({"strategy": "read-through"}, "unknown strategy 'read-through'"),
    ({"write_ratio": 2.0}, "write_ratio must be <= 1.0, got 2.0"),
])
def test_the_explorer_refuses_bad_values_with_one_message(kwargs: dict[str, object],
                                                          message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        explore_caching(**{"cache_size": 5, **kwargs}, products=20,  # type: ignore[arg-type]
                        requests=50)


def _embedded():  # type: ignore[no-untyped-def]
    from ecomlab.config import Settings

    return Settings()


def test_closing_a_double_delete_service_runs_its_waiting_second_deletes_at_once(
        any_kv: KvStore, sqlite_store: SqlStore) -> None:
    """A second delete still waiting for its delay when the run ends is run by ``close()``, not
    left to fire later on a closed connection (it did, as an exception in a timer thread), and
    the cache is as the fix intends: the stale fill planted before it is gone."""
    from ecomlab.caching.experiment import cache_prefix, delete_prefix
    from ecomlab.caching.services import CacheAsideService

    table = ProductTable(sqlite_store, db_latency_ms=0.0)
    table.create_all([Product(1, "SKU-1", "One", 10.0, 1)])
    prefix = cache_prefix(any_kv)
    service = CacheAsideService(table, any_kv.client, fix="double-delete", prefix=prefix,
                                double_delete_ms=60_000.0)  # far past the end of this test
    try:
        service.update_price(1, 9.0)               # first delete now, the second in 60 s
        any_kv.client.set(service.key(1), Product(1, "SKU-1", "One", 10.0, 1).to_json())
        service.close()                            # a stale fill landed; close runs the DEL
        assert any_kv.client.get(service.key(1)) is None
        assert service.cache_errors.value == 0
        service.schedule(60.0, lambda: any_kv.client.set(service.key(1), "after close"))
        assert any_kv.client.get(service.key(1)) == "after close"  # at once, not in 60 s
    finally:
        delete_prefix(any_kv.client, prefix, any_kv)
