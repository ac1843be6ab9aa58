"""Caching on real Redis servers: a private ``redis-server`` that really dies mid-run, and
``maxmemory`` + ``allkeys-lru`` against an exact LRU. The shared server is never reconfigured:
each test starts its own server on a Unix socket and stops it."""

from __future__ import annotations

import shutil

import pytest
import redis

from ecomlab.caching import CacheAsideService, WriteThroughService, redis_lru_drift
from ecomlab.caching.experiment import (
    cache_prefix,
    default_sql_store,
    load_products,
    sample_products,
)
from ecomlab.caching.redis_lru import private_redis

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(shutil.which("redis-server") is None,
                       reason="redis-server is not installed: no private Redis to start"),
]


def test_cache_aside_falls_back_to_the_database_when_redis_really_dies() -> None:
    store = default_sql_store()
    try:
        table = load_products(store, sample_products(20, 1), db_latency_ms=0.0)
        with private_redis() as client:
            service = CacheAsideService(table, client, prefix=cache_prefix())
            for pid in range(1, 21):
                service.get(pid)
            assert service.misses.value == 20
            client.shutdown(nosave=True)  # the server process exits: a real outage
            with pytest.raises(redis.ConnectionError):
                client.ping()
            served = [service.get(pid) for pid in range(1, 21)]
            changed = service.update_price(3, 12.5)
        assert [p.id for p in served] == list(range(1, 21))
        assert changed.version == 2 and table.versions()[3] == 2
        assert service.cache_errors.value >= 21
        assert table.reads.value == 40
    finally:
        store.dispose()


def test_write_through_commits_to_the_database_and_records_the_failed_cache_update() -> None:
    store = default_sql_store()
    try:
        table = load_products(store, sample_products(5, 2), db_latency_ms=0.0)
        with private_redis() as client:
            service = WriteThroughService(table, client, prefix=cache_prefix(), repair=True)
            service.get(1)
            client.shutdown(nosave=True)
            product = service.update_price(1, 42.0)
        assert product.version == 2
        assert table.versions()[1] == 2
        assert service.pending_repairs == 1  # not silent: the disagreement is on record
    finally:
        store.dispose()


def test_redis_allkeys_lru_stays_between_random_eviction_and_exact_lru() -> None:
    r = redis_lru_drift(objects=3000, zipf=0.9, requests=20_000, value_bytes=400,
                        cache_mb=0.5, samples=5, seed=4)
    m = r.metrics
    assert r.label == "measured"
    assert m["evicted_keys"] > 0
    assert 50 < m["keys_held"] < 3000
    # approximate LRU: no better than exact LRU, not far below random replacement
    assert m["hit_ratio"] <= m["exact_lru_hit_ratio"] + 0.01
    assert m["hit_ratio"] >= m["random_hit_ratio"] - 0.05
    assert abs(m["drift_from_lru"]) < 0.1
