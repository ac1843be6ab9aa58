"""Cache memory held by each strategy, and how much of it is never read.

Write-through caches every product it creates; cache-aside only what someone reads. Under Zipf
traffic most of the catalogue is rarely or never read in a window, so write-through's extra
memory goes to entries nobody asks for. Memory per key is Redis's ``MEMORY USAGE`` on a real
server; fakeredis has no such command, so there it is the key and value bytes (a lower bound,
labelled ``payload bytes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import redis

from ecomlab import validate
from ecomlab.caching.experiment import _stores, cache_prefix, delete_prefix, sample_products
from ecomlab.caching.repository import ProductTable
from ecomlab.caching.services import CachedService, make_service
from ecomlab.datagen import zipf_keys
from ecomlab.measure import Result
from ecomlab.stores import KvStore, SqlStore

__all__ = ["key_bytes", "storage_overhead", "storage_table"]


def key_bytes(client: Any, keys: list[str]) -> tuple[int, str]:
    """Total memory of ``keys`` (bytes) and how it was measured."""
    if not keys:
        return 0, "none"
    try:
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.memory_usage(k)
        sizes = pipe.execute()
        return int(sum(int(s or 0) for s in sizes)), "MEMORY USAGE"
    except redis.ResponseError:
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.strlen(k)
        sizes = pipe.execute()
        return int(sum(len(k.encode()) + int(s) for k, s in zip(keys, sizes, strict=True))), \
            "payload bytes"


def storage_overhead(strategy: str = "write-through", *, products: int = 500, reads: int = 2000,
                     zipf: float = 1.0, seed: int = 42, sql: SqlStore | None = None,
                     kv: KvStore | None = None) -> Result:
    """Create ``products`` through the service, serve ``reads`` Zipf reads, then count what the
    cache holds and how much of it was never read (label: measured)."""
    strategy = validate.choice("strategy", strategy, ("cache-aside", "write-through"))
    n = validate.integer("products", products, minimum=1, maximum=1_000_000)
    reads = validate.integer("reads", reads, minimum=0, maximum=10_000_000)
    keys = zipf_keys(n, zipf, reads, np.random.default_rng(seed)) + 1
    with _stores(sql, kv) as (sstore, kstore):
        prefix = cache_prefix(kstore)
        table = ProductTable(sstore, db_latency_ms=0.0)
        table.create_all([])
        service = make_service(strategy, table, kstore.client, prefix=prefix, ttl_s=3600.0)
        assert isinstance(service, CachedService)
        try:
            for p in sample_products(n, seed):
                service.create(p)
            for pid in keys.tolist():
                service.get(pid)
            read_ids = set(keys.tolist())
            cached = sorted(kstore.client.scan_iter(match=f"{prefix}product:*", count=1000))
            never = [k for k in cached if int(k.rsplit(":", 1)[1]) not in read_ids]
            total_bytes, method = key_bytes(kstore.client, cached)
            never_bytes, _ = key_bytes(kstore.client, never)
        finally:
            delete_prefix(kstore.client, prefix, kstore)
        backends = {"sql": sstore.describe(), "kv": kstore.describe()}
    metrics = {"cached_keys": len(cached), "never_read_keys": len(never),
               "distinct_products_read": len(read_ids), "cache_bytes": total_bytes,
               "never_read_bytes": never_bytes, "bytes_measured_as": method,
               "never_read_share": round(len(never) / len(cached), 4) if cached else 0.0}
    params = {"strategy": strategy, "products": n, "reads": reads, "zipf": zipf}
    return Result(experiment="caching-storage", label="measured", seed=seed, params=params,
                  metrics=metrics, backends=backends)


def storage_table(**kwargs: Any) -> pd.DataFrame:
    """Cache-aside beside write-through: keys and bytes held, and never-read share."""
    rows = []
    for strategy in ("cache-aside", "write-through"):
        m = storage_overhead(strategy, **kwargs).metrics
        rows.append({"strategy": strategy, **{k: m[k] for k in (
            "cached_keys", "never_read_keys", "cache_bytes", "never_read_bytes",
            "bytes_measured_as")}})
    return pd.DataFrame(rows)
