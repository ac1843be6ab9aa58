"""What each strategy does while the cache is unreachable, and after it comes back.

:class:`CacheSwitch` wraps a real client (fakeredis or Redis) and, while ``down``, makes every
call raise ``redis.ConnectionError`` before it reaches the server — a network partition: the
server keeps its (now outdated) entries. :func:`run_outage` then runs three phases:

1. healthy — every product is read once (the cache fills);
2. outage — reads and price changes go on; reads must fall back to the database;
3. recovery — the cache answers again; every product is read once and compared with the
   database: a cached version older than the committed one is a stale read, and such keys are
   the silent disagreement a strategy must not leave behind.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import redis

from ecomlab import validate
from ecomlab.caching.experiment import (
    _stores,
    cache_prefix,
    delete_prefix,
    load_products,
    sample_products,
)
from ecomlab.caching.services import CachedService, make_service
from ecomlab.datagen import zipf_keys
from ecomlab.measure import LatencySummary, Result
from ecomlab.stores import KvStore, SqlStore

__all__ = ["OUTAGE_STRATEGIES", "CacheSwitch", "dead_cache_call_table", "outage_table",
           "run_outage"]

OUTAGE_STRATEGIES: tuple[str, ...] = ("cache-aside", "write-through", "write-behind")


class CacheSwitch:
    """A client proxy that fails every call with ``redis.ConnectionError`` while ``down``."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise redis.ConnectionError("cache unreachable (partition switched on)")

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return target(*args, **kwargs)

        return call

    def register_script(self, script: str) -> Any:
        """A Lua script whose calls fail like every other call while ``down``."""
        inner = self._client.register_script(script)

        def run(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return inner(*args, **kwargs)

        return run


def run_outage(strategy: str = "cache-aside", *, repair: bool = False, products: int = 50,
               requests: int = 200, write_ratio: float = 0.2, zipf: float = 0.8,
               db_latency_ms: float = 1.0, seed: int = 42, sql: SqlStore | None = None,
               kv: KvStore | None = None) -> Result:
    """Partition the cache for ``requests`` requests and check what the strategy leaves behind.

    Args:
        strategy: ``cache-aside``, ``write-through`` or ``write-behind``.
        repair: remember failed cache updates and replay them on recovery (the fix).
        products, requests, write_ratio, zipf: the outage-phase workload (one thread).
        db_latency_ms: modelled database latency (ms).

    Returns a ``measured`` Result; counts are deterministic for a seed, latencies are not.
    """
    strategy = validate.choice("strategy", strategy, OUTAGE_STRATEGIES)
    n = validate.integer("products", products, minimum=1, maximum=100_000)
    requests = validate.integer("requests", requests, minimum=1, maximum=1_000_000)
    write_ratio = validate.probability("write_ratio", write_ratio, allow_one=True)
    zipf = validate.number("zipf", zipf, minimum=0.0, maximum=10.0)
    rng = np.random.default_rng(seed)
    keys = zipf_keys(n, zipf, requests, rng) + 1
    writes = rng.random(requests) < write_ratio
    prices = np.round(rng.uniform(5.0, 500.0, size=requests), 2)
    with _stores(sql, kv) as (sstore, kstore):
        prefix = cache_prefix(kstore)
        table = load_products(sstore, sample_products(n, seed), db_latency_ms=db_latency_ms)
        switch = CacheSwitch(kstore.client)
        service = make_service(strategy, table, switch, prefix=prefix, ttl_s=300.0,
                               repair=repair)
        assert isinstance(service, CachedService)
        try:
            for pid in range(1, n + 1):  # 1. healthy: warm every key
                service.get(pid)
            switch.down = True  # 2. outage
            read_ns: list[int] = []
            read_failures = write_failures = acked = 0
            for pid, is_write, price in zip(keys.tolist(), writes.tolist(), prices.tolist(),
                                            strict=True):
                t0 = time.perf_counter_ns()
                try:
                    if is_write:
                        service.update_price(pid, price)
                        acked += 1
                    else:
                        service.get(pid)
                        read_ns.append(time.perf_counter_ns() - t0)
                except redis.RedisError:
                    if is_write:
                        write_failures += 1
                    else:
                        read_failures += 1
            switch.down = False  # 3. recovery
            committed = table.versions()
            served = {pid: service.get(pid).version for pid in range(1, n + 1)}
            stale = sorted(pid for pid, v in served.items() if v < committed[pid])
            errors = service.cache_errors.value
            repaired = service.repaired.value
        finally:
            service.close()
            delete_prefix(kstore.client, prefix, kstore)
        backends = {"sql": sstore.describe(), "kv": kstore.describe()}
    reads = int((~writes).sum())
    metrics = {
        "outage_reads": reads,
        "outage_reads_served": reads - read_failures,
        "outage_read_failures": read_failures,
        "outage_read_ms": LatencySummary.of_ns(read_ns).as_dict(),
        "outage_writes": int(writes.sum()),
        "outage_writes_acknowledged": acked,
        "outage_write_failures": write_failures,
        "cache_errors": errors,
        "stale_after_recovery": len(stale),
        "stale_products": stale[:20],
        "repaired_keys": repaired,
    }
    params = {"strategy": strategy, "repair": repair, "products": n, "requests": requests,
              "write_ratio": write_ratio, "zipf": zipf, "db_latency_ms": db_latency_ms}
    return Result(experiment="caching-outage", label="measured", seed=seed, params=params,
                  metrics=metrics, backends=backends)


def outage_table(*, seed: int = 42, sql: SqlStore | None = None,
                 kv: KvStore | None = None, **kwargs: Any) -> pd.DataFrame:
    """Every strategy (with and without repair) through the same partition (counts only)."""
    rows = []
    for strategy in OUTAGE_STRATEGIES:
        for repair in (False, True):
            m = run_outage(strategy, repair=repair, seed=seed, sql=sql, kv=kv,
                           **kwargs).metrics
            rows.append({"strategy": strategy, "repair": repair,
                         "reads served": f"{m['outage_reads_served']}/{m['outage_reads']}",
                         "writes acknowledged":
                             f"{m['outage_writes_acknowledged']}/{m['outage_writes']}",
                         "cache errors": m["cache_errors"],
                         "stale after recovery": m["stale_after_recovery"],
                         "repaired keys": m["repaired_keys"]})
    return pd.DataFrame(rows)


def dead_cache_call_table() -> pd.DataFrame:
    """How long one GET takes when the Redis server is gone (ms, measured), with redis-py's
    default retry policy and with a client that fails fast.

    The "server" is a Unix socket path in an empty temporary folder: connecting fails at once,
    so the time measured is the client's own retrying and backing off.
    """
    import tempfile
    from pathlib import Path

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    rows = []
    with tempfile.TemporaryDirectory(prefix="ecomlab-deadcache-") as folder:
        sock = str(Path(folder) / "gone.sock")
        for name, kwargs in (("redis-py default retry", {}),
                             ("fail fast (no retry)", {"retry": Retry(NoBackoff(), 0)})):
            client = redis.Redis(unix_socket_path=sock, **kwargs)  # type: ignore[arg-type]
            t0 = time.perf_counter_ns()
            try:
                client.get("product:1")
                outcome = "answered"
            except redis.ConnectionError:
                outcome = "ConnectionError"
            elapsed_ms = (time.perf_counter_ns() - t0) / 1e6
            client.close()
            rows.append({"client": name, "outcome": outcome,
                         "one_cache_call_ms": round(elapsed_ms, 1), "label": "measured"})
    return pd.DataFrame(rows)
