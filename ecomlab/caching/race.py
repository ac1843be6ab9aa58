"""The cache-aside race, forced step by step, and how often it happens under load.

The race (seed's cache-aside): a reader misses and reads version 1 from the database; a writer
commits version 2 and deletes the key; the reader then fills the cache with version 1, which is
served to everyone until the TTL expires.

:func:`reproduce_race` forces that interleaving with the services' hooks (no sleeps, no luck):
two real threads, events between them. ``reader="slow"`` lets the writer's delayed second delete
run *before* the stale fill, the case delayed double delete cannot catch.
:func:`race_frequency` counts stale reads in measured concurrent runs for each fix.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecomlab import validate
from ecomlab.caching.experiment import (
    cache_prefix,
    default_sql_store,
    delete_prefix,
    load_products,
    run_caching,
)
from ecomlab.caching.repository import Product
from ecomlab.caching.services import FIXES, CacheAsideService
from ecomlab.stores import KvStore, SqlStore, borrowed, kv_store

__all__ = ["READERS", "RaceOutcome", "cached_version", "race_frequency", "race_table",
           "reproduce_race"]

READERS: tuple[str, ...] = ("fast", "slow")
_WAIT_S = 10.0


@dataclass
class RaceOutcome:
    """What one forced interleaving did: its steps and what the next reader was served."""

    fix: str
    reader: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    served_version: int = 0
    committed_version: int = 0

    @property
    def stale(self) -> bool:
        """True if the read after the race returned an older version than the committed one."""
        return self.served_version < self.committed_version

    def frame(self) -> pd.DataFrame:
        """The steps as a table (step, actor, action, database, cache)."""
        return pd.DataFrame(self.steps, columns=["step", "actor", "action", "database",
                                                 "cache"])


def reproduce_race(fix: str = "none", reader: str = "fast", *, sql: SqlStore | None = None,
                   kv: KvStore | None = None) -> RaceOutcome:
    """Force the cache-aside race once and report every step (deterministic).

    Args:
        fix: ``none``, ``versioned`` or ``double-delete``.
        reader: ``fast`` (the stale fill lands before the delayed second delete) or ``slow``
            (it lands after it).
        sql, kv: stores; a fresh SQLite database and a private fakeredis when omitted.
    """
    fix = validate.choice("fix", fix, FIXES)
    reader = validate.choice("reader", reader, READERS)
    with borrowed(sql, default_sql_store) as sstore, \
            borrowed(kv, lambda: kv_store(fresh=True, settings=_embedded())) as kstore:
        prefix = cache_prefix(kstore)
        table = load_products(sstore, [Product(1, "LAP-AERO-0000001", "AeroBook 13 Laptop",
                                               999.0, 1)], db_latency_ms=0.0)
        client = kstore.client
        key = f"{prefix}product:1"
        out = RaceOutcome(fix=fix, reader=reader)
        read_db = threading.Event()
        may_fill = threading.Event()
        later: list[Callable[[], None]] = []

        def log(actor: str, action: str) -> None:
            raw = _text(client.get(key))
            if raw is None:
                cache = "(empty)"
            elif '"tombstone"' in raw:
                cache = f"tombstone v{cached_version(raw)}"
            else:
                cache = f"v{Product.from_json(raw).version}"
            out.steps.append({"step": len(out.steps) + 1, "actor": actor, "action": action,
                              "database": f"v{table.versions()[1]}", "cache": cache})

        def hook(point: str, product_id: int) -> None:
            if point == "after_db_read" and threading.current_thread().name == "reader-A":
                log("reader A", "GET misses; SELECT returns v1")
                read_db.set()
                if not may_fill.wait(_WAIT_S):
                    raise TimeoutError("the race reproduction stalled")

        service = CacheAsideService(table, client, fix=fix, prefix=prefix, ttl_s=300.0,
                                    hook=hook, schedule=lambda _d, fn: later.append(fn))
        first: list[Product] = []
        t = threading.Thread(target=lambda: first.append(service.get(1)), name="reader-A")
        t.start()
        if not read_db.wait(_WAIT_S):
            raise TimeoutError("reader A never reached the database")
        committed = service.update_price(1, 899.0)
        log("writer", "UPDATE commits v2; " + ("SET tombstone v2" if fix == "versioned"
                                               else "DEL key"))

        def second_delete() -> None:
            for fn in later:
                fn()
            log("timer", "delayed second DEL")

        if fix == "double-delete" and reader == "slow":
            second_delete()
        may_fill.set()
        t.join(_WAIT_S)
        log("reader A", "fills the cache with what it read (v1)"
            + (" — refused: older than tombstone" if fix == "versioned" else ""))
        if fix == "double-delete" and reader == "fast":
            second_delete()
        served = service.get(1)
        log("reader B", f"GET returns v{served.version}"
            + (" (stale)" if served.version < committed.version else " (fresh)"))
        out.served_version = served.version
        out.committed_version = committed.version
        delete_prefix(client, prefix, kstore)
        return out


def cached_version(raw: str) -> int:
    """The ``version`` field of a cached JSON value (product or tombstone)."""
    return int(json.loads(raw)["version"])


def race_table() -> pd.DataFrame:
    """Every fix against both reader speeds: stale or not after the forced race."""
    rows = []
    for fix in FIXES:
        for reader in READERS:
            if fix != "double-delete" and reader == "slow":
                continue
            o = reproduce_race(fix, reader)
            rows.append({"fix": fix, "reader": reader, "served": f"v{o.served_version}",
                         "committed": f"v{o.committed_version}",
                         "stale": o.stale})
    return pd.DataFrame(rows)


def race_frequency(*, products: int = 20, zipf: float = 1.0, write_ratio: float = 0.2,
                   requests: int = 1500, threads: int = 4, db_latency_ms: float = 2.0,
                   double_delete_ms: float = 5.0, seed: int = 42,
                   sql: SqlStore | None = None, kv: KvStore | None = None) -> pd.DataFrame:
    """Stale reads of cache-aside per fix on a hot, write-heavy workload (label: measured)."""
    rows = []
    for fix in FIXES:
        delay: dict[str, Any] = ({"double_delete_ms": double_delete_ms}
                                 if fix == "double-delete" else {})
        r = run_caching("cache-aside", products=products, zipf=zipf, write_ratio=write_ratio,
                        requests=requests, threads=threads, db_latency_ms=db_latency_ms,
                        fix=fix, seed=seed, sql=sql, kv=kv, **delay)
        m = r.metrics
        rows.append({"fix": fix, "reads": m["reads"], "writes": m["writes"],
                     "hit_ratio": m["hit_ratio"], "stale_reads": m["stale_reads"],
                     "max_staleness_ms": m["max_staleness_ms"], "db_reads": m["db_reads"],
                     "read_p99_ms": m["read_ms"]["p99"], "label": r.label})
    return pd.DataFrame(rows)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _embedded() -> Any:
    from ecomlab.stores import embedded_settings

    return embedded_settings()
