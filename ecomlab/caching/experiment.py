"""The measured experiment: a Zipf workload of reads and writes against one strategy.

``run_caching`` loads N products into a fresh relational store, builds the chosen service over a
Redis-compatible cache, and replays a seeded sequence of requests from ``threads`` worker threads
at once. Each thread reads any product but writes only the products it owns (``id % threads``):
one writer per product, many readers. It reports:

* hit ratio, database reads and writes (round trips);
* read and write latency percentiles (ms, wall clock, including the modelled database latency);
* stale reads: a read that *started after* a newer version of the product had been acknowledged
  to its writer, and still returned the older one; ``max_staleness_ms`` is how long before the
  read that older value had been superseded;
* lost writes (write-behind): acknowledged versions never written to the database when the
  flusher is killed at the end of the run (``crash=True``), and the oldest one's age (ms).
"""

from __future__ import annotations

import bisect
import functools
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa

from ecomlab import budget, validate
from ecomlab.caching.repository import Product, ProductTable
from ecomlab.caching.services import (
    FIXES,
    STRATEGIES,
    CachedService,
    ProductService,
    WriteBehindService,
    make_service,
)
from ecomlab.config import settings as read_settings
from ecomlab.datagen import generate_catalog, zipf_keys
from ecomlab.errors import InvalidInput
from ecomlab.measure import LatencySummary, Result, join_or_stop
from ecomlab.stores import KvStore, SqlStore, borrowed, kv_store, sql_store

__all__ = ["WriteLedger", "cache_prefix", "default_sql_store", "delete_prefix", "load_products",
           "run_caching", "sample_products"]


@dataclass
class WriteLedger:
    """Acknowledged versions per product with their acknowledgement times (``perf_counter_ns``).

    Versions of one product must be recorded in increasing order (one writer per product).
    """

    _versions: dict[int, list[int]] = field(default_factory=dict)
    _times: dict[int, list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, product_id: int, version: int, acked_ns: int) -> None:
        """Note that ``version`` of ``product_id`` was acknowledged at ``acked_ns``."""
        with self._lock:
            self._versions.setdefault(product_id, []).append(version)
            self._times.setdefault(product_id, []).append(acked_ns)

    def staleness_ns(self, product_id: int, version: int, started_ns: int) -> int | None:
        """How long (ns) ``version`` had been superseded when a read began, or None if fresh."""
        with self._lock:
            versions = self._versions.get(product_id)
            if not versions:
                return None
            i = bisect.bisect_right(versions, version)
            if i == len(versions):
                return None
            acked = self._times[product_id][i]
        return started_ns - acked if acked < started_ns else None

    def acknowledged(self) -> dict[int, list[tuple[int, int]]]:
        """Every product's (version, acked_ns) pairs."""
        with self._lock:
            return {pid: list(zip(v, self._times[pid], strict=True))
                    for pid, v in self._versions.items()}


def sample_products(n: int, seed: int) -> list[Product]:
    """``n`` products from the seeded catalog generator, all at version 1."""
    return list(_catalog_products(n, seed))


@functools.lru_cache(maxsize=16)
def _catalog_products(n: int, seed: int) -> tuple[Product, ...]:
    df = generate_catalog(n, seed=seed).products
    return tuple(Product(int(i), str(s), str(t), float(p), 1)
                 for i, s, t, p in zip(df["id"], df["sku"], df["title"], df["base_price"],
                                       strict=True))


def load_products(store: SqlStore, products: list[Product], *,
                  db_latency_ms: float) -> ProductTable:
    """Create the products table in ``store`` and load ``products`` (not counted)."""
    table = ProductTable(store, db_latency_ms=db_latency_ms)
    table.create_all(products)
    return table


def cache_prefix(kv: KvStore | None = None) -> str:
    """A key prefix unique to one experiment (the shared Redis is never flushed).

    With ``kv``, the prefix is recorded as this run's (see :meth:`KvStore.claim_prefix`), so
    ``ecomlab clean`` can remove the keys of a run that was killed.
    """
    prefix = f"ecomlab:caching:{secrets.token_hex(4)}:"
    return kv.claim_prefix(prefix) if kv is not None else prefix


def delete_prefix(client: Any, prefix: str, kv: KvStore | None = None) -> int:
    """Delete every key under ``prefix`` (and only those); returns how many.

    With ``kv`` (the store that claimed the prefix), the claim is released afterwards.
    """
    deleted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.delete(*batch))
            batch = []
    if batch:
        deleted += int(client.delete(*batch))
    if kv is not None:
        kv.release_prefix(prefix)
    return deleted


def default_sql_store() -> SqlStore:
    """The relational store this topic uses by default: ``ECOMLAB_SQL_URL`` if set, else SQLite.

    A product service's source of truth is a transactional (OLTP) store; DuckDB, the project's
    embedded default, is a columnar engine whose point lookups cost milliseconds under
    concurrent threads, which would swamp the modelled latency. SQLite stands in for it, in WAL
    mode with ``synchronous=NORMAL``: commits stay atomic and survive a crash of the process,
    but do not wait for the disk (an fsync per commit, ~10 ms here, would swamp it too).
    """
    url = read_settings().sql
    if url is not None:
        return sql_store(url=url)
    store = sql_store("sqlite")

    @sa.event.listens_for(store.engine, "connect")
    def _no_fsync_per_commit(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return store


@contextmanager
def _stores(sql: SqlStore | None, kv: KvStore | None) -> Iterator[tuple[SqlStore, KvStore]]:
    with borrowed(sql, default_sql_store) as s, borrowed(kv, kv_store) as k:
        yield s, k


def run_caching(strategy: str = "cache-aside", *, products: int = 200, zipf: float = 1.0,
                write_ratio: float = 0.05, requests: int = 2000, seed: int = 42,
                db_latency_ms: float = 2.0, threads: int = 4, ttl_s: float = 30.0,
                warm: bool = False, fix: str = "none", double_delete_ms: float = 20.0,
                flush_interval_ms: float = 50.0, crash: bool = True,
                sql: SqlStore | None = None, kv: KvStore | None = None) -> Result:
    """Replay a Zipf workload against one caching strategy and measure it (label: measured).

    Args:
        strategy: ``none``, ``cache-aside``, ``write-through`` or ``write-behind``.
        products: number of products N.
        zipf: Zipf exponent of product popularity (>= 0; 0 is uniform).
        write_ratio: fraction of requests that change a price (0..1).
        requests: number of requests in total.
        seed: the random seed (keys, operations and prices).
        db_latency_ms: modelled database round-trip latency (ms).
        threads: worker threads, each a reader of every product and the writer of its share.
        ttl_s: cache entry time to live (s).
        warm: fill the cache with every product before the run (not counted).
        fix: cache-aside race fix: ``none``, ``versioned`` or ``double-delete``.
        double_delete_ms: delay of the second delete (ms) with ``fix="double-delete"``.
        flush_interval_ms: write-behind flush period (ms).
        crash: write-behind only: kill the flusher at the end instead of a final flush.
        sql, kv: stores to use; when omitted, :func:`default_sql_store` and ``kv_store()``.

    Raises:
        InvalidInput: a parameter is out of range or unknown.
    """
    strategy = validate.choice("strategy", strategy, STRATEGIES)
    n = validate.integer("products", products, minimum=1, maximum=1_000_000)
    zipf = validate.number("zipf", zipf, minimum=0.0, maximum=10.0)
    write_ratio = validate.probability("write_ratio", write_ratio, allow_one=True)
    requests = validate.integer("requests", requests, minimum=1, maximum=10_000_000)
    db_latency_ms = validate.number("db_latency_ms", db_latency_ms, minimum=0.0, maximum=1000.0)
    threads = validate.integer("threads", threads, minimum=1, maximum=256)
    ttl_s = validate.number("ttl_s", ttl_s, minimum=0.001, maximum=7 * 24 * 3600)
    fix = validate.choice("fix", fix, FIXES)
    double_delete_ms = validate.number("double_delete_ms", double_delete_ms, minimum=0.0,
                                       maximum=10_000.0)
    flush_interval_ms = validate.number("flush_interval_ms", flush_interval_ms, minimum=0.0,
                                        maximum=60_000.0, min_inclusive=False)
    _check_options_apply(strategy, fix, double_delete_ms, flush_interval_ms, crash)
    rng = np.random.default_rng(seed)
    keys = zipf_keys(n, zipf, requests, rng) + 1
    is_write = rng.random(requests) < write_ratio
    prices = np.round(rng.uniform(5.0, 500.0, size=requests), 2)
    catalog = sample_products(n, seed)
    params = {"strategy": strategy, "products": n, "zipf": zipf, "write_ratio": write_ratio,
              "requests": requests, "db_latency_ms": db_latency_ms, "threads": threads,
              "ttl_s": ttl_s, "warm": bool(warm), "fix": fix}
    options: dict[str, Any] = {"ttl_s": ttl_s}
    if strategy == "write-behind":
        params.update(flush_interval_ms=flush_interval_ms, crash=bool(crash))
        options["flush_interval_ms"] = flush_interval_ms
    if strategy == "cache-aside":
        options.update(fix=fix, double_delete_ms=double_delete_ms)
    if fix == "double-delete":
        params["double_delete_ms"] = double_delete_ms

    with _stores(sql, kv) as (sstore, kstore):
        prefix = cache_prefix(kstore)
        table = load_products(sstore, catalog, db_latency_ms=db_latency_ms)
        client = kstore.client if strategy != "none" else None
        service = make_service(strategy, table, client, prefix=prefix, **options)
        try:
            if warm and client is not None:
                _warm_cache(client, catalog, prefix, ttl_s)
            metrics = _replay(service, table, keys, is_write, prices, threads, crash)
        finally:
            if isinstance(service, WriteBehindService) and crash:
                service.crash()  # idempotent: the flusher is stopped, its buffer dropped
            else:
                service.close()
            if client is not None:
                delete_prefix(client, prefix, kstore)
        backends = {"sql": sstore.describe()}
        if strategy != "none":
            backends["kv"] = kstore.describe()
    return Result(experiment="caching", label="measured", seed=seed, params=params,
                  metrics=metrics, backends=backends)


def _check_options_apply(strategy: str, fix: str, double_delete_ms: float,
                         flush_interval_ms: float, crash: bool) -> None:
    """Refuse an option set away from its default where the strategy (or fix) ignores it."""
    if fix != "none" and strategy != "cache-aside":
        raise InvalidInput(f"fix {fix!r} applies to strategy 'cache-aside' only, "
                           f"not {strategy!r}")
    if double_delete_ms != 20.0 and fix != "double-delete":
        raise InvalidInput(f"double_delete_ms={double_delete_ms!r} has no effect unless fix is "
                           f"'double-delete' (fix is {fix!r})")
    if (flush_interval_ms != 50.0 or not crash) and strategy != "write-behind":
        raise InvalidInput(f"flush_interval_ms and crash apply to strategy 'write-behind' "
                           f"only, not {strategy!r}")


def _warm_cache(client: Any, catalog: list[Product], prefix: str, ttl_s: float) -> None:
    """Cache every product before the run (not counted), with the run's TTL."""
    pipe = client.pipeline(transaction=False)
    for p in catalog:
        pipe.set(f"{prefix}product:{p.id}", p.to_json(), px=int(ttl_s * 1000))
    pipe.execute()


def _plan(keys: np.ndarray, is_write: np.ndarray, threads: int) -> list[list[int]]:
    """Each worker's requests, in order: reads round-robin, each write to its product's owner."""
    owner = keys % threads
    plan: list[list[int]] = [[] for _ in range(threads)]
    reads_seen = 0
    for i in range(len(keys)):
        if is_write[i]:
            plan[int(owner[i])].append(i)
        else:
            plan[reads_seen % threads].append(i)
            reads_seen += 1
    return plan


def _lost_writes(service: ProductService, table: ProductTable, ledger: WriteLedger,
                 crash: bool) -> tuple[int, float]:
    """Write-behind: stop the flusher (killed with ``crash``) and count the acknowledged
    versions the database never got, with the oldest one's age (ms); (0, 0.0) otherwise."""
    crashed_at = time.perf_counter_ns()
    if not isinstance(service, WriteBehindService):
        return 0, 0.0
    if crash:
        service.crash()
    else:
        service.close()
    durable = table.versions()
    lost_ages = [crashed_at - t for pid, acks in ledger.acknowledged().items()
                 for v, t in acks if v > durable.get(pid, 0)]
    return len(lost_ages), max(lost_ages) / 1e6 if lost_ages else 0.0


def _products_read(worker_reads: list[list[int]]) -> dict[str, int]:
    """How many distinct products the run read, and how many of them exactly once."""
    counts = Counter(pid for r in worker_reads for pid in r)
    return {"products_read": len(counts),
            "products_read_once": sum(1 for c in counts.values() if c == 1)}


def _replay(service: ProductService, table: ProductTable, keys: np.ndarray,
            is_write: np.ndarray, prices: np.ndarray, threads: int,
            crash: bool) -> dict[str, Any]:
    ledger = WriteLedger()
    worker_reads: list[list[int]] = [[] for _ in range(threads)]
    worker_writes: list[list[int]] = [[] for _ in range(threads)]
    read_ns: list[list[int]] = [[] for _ in range(threads)]
    write_ns: list[list[int]] = [[] for _ in range(threads)]
    stale: list[list[int]] = [[] for _ in range(threads)]
    plan = _plan(keys, is_write, threads)
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    db_reads0, db_writes0 = table.reads.value, table.writes.value

    stop = threading.Event()  # set on Ctrl-C: each worker leaves after the request in hand

    def work(w: int) -> None:
        try:
            barrier.wait()
            for i in plan[w]:
                if stop.is_set():
                    return
                pid = int(keys[i])
                t0 = time.perf_counter_ns()
                if is_write[i]:
                    p = service.update_price(pid, float(prices[i]))
                    t1 = time.perf_counter_ns()
                    ledger.record(pid, p.version, t1)
                    write_ns[w].append(t1 - t0)
                    worker_writes[w].append(pid)
                else:
                    p = service.get(pid)
                    read_ns[w].append(time.perf_counter_ns() - t0)
                    worker_reads[w].append(pid)
                    age = ledger.staleness_ns(pid, p.version, t0)
                    if age is not None:
                        stale[w].append(age)
                budget.advance()  # the command line's progress and Ctrl-C report
        except BaseException as exc:  # surfaced in the caller's thread below
            errors.append(exc)
            barrier.abort()

    started = time.perf_counter_ns()
    pool = [threading.Thread(target=work, args=(w,), name=f"cache-worker-{w}", daemon=True)
            for w in range(threads)]
    for t in pool:
        t.start()
    join_or_stop(pool, stop)
    elapsed_s = (time.perf_counter_ns() - started) / 1e9
    if errors:
        if isinstance(service, WriteBehindService):
            service.crash()
        raise errors[0]
    lost_writes, loss_window_ms = _lost_writes(service, table, ledger, crash)
    reads = sum(len(r) for r in worker_reads)
    writes = sum(len(r) for r in worker_writes)
    all_stale = [a for s in stale for a in s]
    hits = service.hits.value
    lookups = hits + service.misses.value
    metrics: dict[str, Any] = {
        "hit_ratio": round(hits / lookups, 4) if lookups else 0.0,
        "reads": reads,
        "writes": writes,
        **_products_read(worker_reads),
        "db_reads": table.reads.value - db_reads0,
        "db_writes": table.writes.value - db_writes0,
        "read_ms": LatencySummary.of_ns([x for r in read_ns for x in r]).as_dict(),
        "write_ms": LatencySummary.of_ns([x for r in write_ns for x in r]).as_dict(),
        "stale_reads": len(all_stale),
        "max_staleness_ms": round(max(all_stale) / 1e6, 3) if all_stale else 0.0,
        "lost_writes": lost_writes,
        "loss_window_ms": round(loss_window_ms, 3),
        "cache_errors": service.cache_errors.value,
        "elapsed_s": round(elapsed_s, 3),
        "throughput_rps": round((reads + writes) / elapsed_s, 1) if elapsed_s > 0 else 0.0,
    }
    if isinstance(service, CachedService) and not isinstance(service, WriteBehindService):
        metrics["pending_repairs"] = service.pending_repairs
    return metrics
