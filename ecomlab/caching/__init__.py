"""Topic 06 — caching: cache-aside vs write-through (and write-behind), measured.

* :mod:`~ecomlab.caching.services` — the product services over the relational store and Redis.
* :mod:`~ecomlab.caching.experiment` — :func:`run_caching`, the measured Zipf workload.
* :mod:`~ecomlab.caching.race` — the cache-aside race forced step by step, and its fixes.
* :mod:`~ecomlab.caching.outage` — behaviour while the cache is unreachable and after.
* :mod:`~ecomlab.caching.storage` — memory held for never-read entries.
* :mod:`~ecomlab.caching.simulate` — LRU / TTL caches and their closed forms.
* :mod:`~ecomlab.caching.redis_lru` — Redis ``maxmemory`` + ``allkeys-lru`` vs exact LRU.
* :mod:`~ecomlab.caching.claims`, :mod:`~ecomlab.caching.plots`, :mod:`~ecomlab.caching.widget`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.caching.claims import caching_claims, caching_ledger
    from ecomlab.caching.compare import strategies_frame, ttl_curve, warmup_frame
    from ecomlab.caching.experiment import run_caching
    from ecomlab.caching.outage import CacheSwitch, dead_cache_call_table, outage_table, run_outage
    from ecomlab.caching.plots import (
        hit_ratio_figure,
        latency_figure,
        staleness_figure,
        ttl_figure,
    )
    from ecomlab.caching.race import race_frequency, race_table, reproduce_race
    from ecomlab.caching.redis_lru import drift_table, private_redis, redis_lru_drift
    from ecomlab.caching.repository import Product, ProductTable
    from ecomlab.caching.services import (
        FIXES,
        STRATEGIES,
        CacheAsideService,
        NoCacheService,
        WriteBehindService,
        WriteThroughService,
        make_service,
    )
    from ecomlab.caching.simulate import (
        che_hit_ratio,
        hit_ratio_curve,
        simulate_cache,
        simulate_lru,
        simulate_ttl,
        ttl_hit_ratio,
    )
    from ecomlab.caching.storage import storage_overhead, storage_table
    from ecomlab.caching.widget import caching_explorer, explore_caching

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "CacheAsideService": "ecomlab.caching.services",
    "CacheSwitch": "ecomlab.caching.outage",
    "caching_claims": "ecomlab.caching.claims",
    "caching_explorer": "ecomlab.caching.widget",
    "caching_ledger": "ecomlab.caching.claims",
    "che_hit_ratio": "ecomlab.caching.simulate",
    "dead_cache_call_table": "ecomlab.caching.outage",
    "drift_table": "ecomlab.caching.redis_lru",
    "explore_caching": "ecomlab.caching.widget",
    "FIXES": "ecomlab.caching.services",
    "hit_ratio_curve": "ecomlab.caching.simulate",
    "hit_ratio_figure": "ecomlab.caching.plots",
    "latency_figure": "ecomlab.caching.plots",
    "make_service": "ecomlab.caching.services",
    "NoCacheService": "ecomlab.caching.services",
    "outage_table": "ecomlab.caching.outage",
    "private_redis": "ecomlab.caching.redis_lru",
    "Product": "ecomlab.caching.repository",
    "ProductTable": "ecomlab.caching.repository",
    "race_frequency": "ecomlab.caching.race",
    "race_table": "ecomlab.caching.race",
    "redis_lru_drift": "ecomlab.caching.redis_lru",
    "reproduce_race": "ecomlab.caching.race",
    "run_caching": "ecomlab.caching.experiment",
    "run_outage": "ecomlab.caching.outage",
    "simulate_cache": "ecomlab.caching.simulate",
    "simulate_lru": "ecomlab.caching.simulate",
    "simulate_ttl": "ecomlab.caching.simulate",
    "staleness_figure": "ecomlab.caching.plots",
    "storage_overhead": "ecomlab.caching.storage",
    "storage_table": "ecomlab.caching.storage",
    "STRATEGIES": "ecomlab.caching.services",
    "strategies_frame": "ecomlab.caching.compare",
    "ttl_curve": "ecomlab.caching.compare",
    "ttl_figure": "ecomlab.caching.plots",
    "ttl_hit_ratio": "ecomlab.caching.simulate",
    "warmup_frame": "ecomlab.caching.compare",
    "WriteBehindService": "ecomlab.caching.services",
    "WriteThroughService": "ecomlab.caching.services",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "FIXES",
    "STRATEGIES",
    "CacheAsideService",
    "CacheSwitch",
    "NoCacheService",
    "Product",
    "ProductTable",
    "WriteBehindService",
    "WriteThroughService",
    "caching_claims",
    "caching_explorer",
    "caching_ledger",
    "che_hit_ratio",
    "dead_cache_call_table",
    "drift_table",
    "explore_caching",
    "hit_ratio_curve",
    "hit_ratio_figure",
    "latency_figure",
    "make_service",
    "outage_table",
    "private_redis",
    "race_frequency",
    "race_table",
    "redis_lru_drift",
    "reproduce_race",
    "run_caching",
    "run_outage",
    "simulate_cache",
    "simulate_lru",
    "simulate_ttl",
    "staleness_figure",
    "storage_overhead",
    "storage_table",
    "strategies_frame",
    "ttl_curve",
    "ttl_figure",
    "ttl_hit_ratio",
    "warmup_frame",
]
