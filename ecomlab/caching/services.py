"""Four product services over one products table and one Redis-compatible cache.

=================  =========================================  ====================================
strategy           read                                       write
=================  =========================================  ====================================
``none``           database                                   database
``cache-aside``    cache; on a miss database, then fill       database, then delete the key
``write-through``  cache; on a miss database, then fill (NX)  database, then set the key
``write-behind``   cache; on a miss database, then fill (NX)  cache now, database later (flusher)
=================  =========================================  ====================================

Cache-aside can be given a fix for its known race (``fix``):

* ``versioned`` — a write leaves a *tombstone* carrying the new version instead of deleting the
  key, and every fill is a Lua script that refuses to replace a newer version: an old value read
  before the write can no longer be put back.
* ``double-delete`` — delete the key, then delete it again ``double_delete_ms`` later: a stale
  fill that lands inside that delay is removed; a slower one survives.

``repair=True`` remembers the keys whose invalidation or update failed while the cache was
unreachable and deletes them before the cache is used again (in memory: a crash of this process
between the failure and the recovery loses that list; a durable outbox would not).

A service never asks whether its client is fakeredis or a real Redis; any ``redis.RedisError``
from the cache counts as a cache failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis

from ecomlab import validate
from ecomlab.caching.choices import FIXES, STRATEGIES
from ecomlab.caching.delayed import DelayedCalls
from ecomlab.caching.repository import Counter, Product, ProductTable
from ecomlab.errors import InvalidInput

__all__ = [
    "FIXES",
    "STRATEGIES",
    "CacheAsideService",
    "CachedService",
    "Hook",
    "NoCacheService",
    "ProductService",
    "WriteBehindService",
    "WriteThroughService",
    "make_service",
]


#: ``hook(point, product_id)`` is called at named points (``after_db_read`` on a read miss before
#: the fill, ``after_db_write`` after a committed write before the cache is touched); tests and
#: the race reproduction use it to force an interleaving.
Hook = Callable[[str, int], None]
#: ``schedule(delay_s, fn)`` runs ``fn`` later (default: daemon timers that the service's
#: ``close()`` brings forward).
Schedule = Callable[[float, Callable[[], None]], None]

# Set the value unless the cache already holds a newer version (tombstones carry versions too).
_SET_IF_NOT_OLDER = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '"version":(%d+)'))
  if v and v > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def _noop_hook(point: str, product_id: int) -> None:
    return None


class ProductService:
    """What every strategy offers: read a product, change its price, create one."""

    strategy = "none"

    def __init__(self, table: ProductTable) -> None:
        self.table = table
        self.hits = Counter()
        self.misses = Counter()
        self.cache_errors = Counter()

    def get(self, product_id: int) -> Product:
        """The product as this service serves it."""
        raise NotImplementedError

    def update_price(self, product_id: int, price: float) -> Product:
        """Change the price (USD); returns the product as acknowledged to the caller."""
        raise NotImplementedError

    def create(self, product: Product) -> Product:
        """Add a product."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop background work (write-behind's flusher); nothing to do for the others."""


class NoCacheService(ProductService):
    """The baseline: every read and write goes to the database."""

    strategy = "none"

    def get(self, product_id: int) -> Product:
        self.misses.add()
        return self.table.read(product_id)

    def update_price(self, product_id: int, price: float) -> Product:
        return self.table.update_price(product_id, price)

    def create(self, product: Product) -> Product:
        return self.table.insert(product)


class CachedService(ProductService):
    """Shared work of the cached strategies: keys, TTL, fills, failure accounting, repair.

    Args:
        table: the products table (source of truth).
        client: a Redis-compatible client (``decode_responses=True``).
        ttl_s: time to live of every cache entry (s).
        prefix: key prefix, unique per experiment (the shared Redis is never flushed).
        repair: remember failed invalidations and replay them once the cache answers again.
        hook: see :data:`Hook`.
    """

    fill_only_if_absent = False

    def __init__(self, table: ProductTable, client: Any, *, ttl_s: float = 30.0,
                 prefix: str = "ecomlab:cache:", repair: bool = False,
                 hook: Hook | None = None) -> None:
        super().__init__(table)
        self.client = client
        self.ttl_ms = int(1000 * validate.number("ttl_s", ttl_s, minimum=0.001,
                                                 maximum=7 * 24 * 3600))
        self.prefix = prefix
        self.repair = repair
        self.hook: Hook = hook or _noop_hook
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self.repaired = Counter()

    def key(self, product_id: int) -> str:
        """The cache key of a product."""
        return f"{self.prefix}product:{product_id}"

    @property
    def pending_repairs(self) -> int:
        """Keys whose cache update failed and that are not repaired yet."""
        with self._pending_lock:
            return len(self._pending)

    def _replay_pending(self) -> None:
        if not self.repair:
            return
        with self._pending_lock:
            if not self._pending:
                return
            keys = [self.key(pid) for pid in sorted(self._pending)]
            try:
                self.client.delete(*keys)
            except redis.RedisError:
                self.cache_errors.add()
                return
            self.repaired.add(len(self._pending))
            self._pending.clear()

    def _remember(self, product_id: int) -> None:
        self.cache_errors.add()
        if self.repair:
            with self._pending_lock:
                self._pending.add(product_id)

    def _cached(self, product_id: int) -> Product | None:
        """The cached product, or None on a miss, a tombstone or a cache failure."""
        self._replay_pending()
        try:
            text = self.client.get(self.key(product_id))
        except redis.RedisError:
            self.cache_errors.add()
            return None
        if text is None or '"tombstone"' in text:
            return None
        return Product.from_json(text)

    def _fill(self, product: Product) -> None:
        try:
            self.client.set(self.key(product.id), product.to_json(), px=self.ttl_ms,
                            nx=self.fill_only_if_absent)
        except redis.RedisError:
            self.cache_errors.add()

    def get(self, product_id: int) -> Product:
        cached = self._cached(product_id)
        if cached is not None:
            self.hits.add()
            return cached
        self.misses.add()
        product = self.table.read(product_id)
        self.hook("after_db_read", product_id)
        self._fill(product)
        return product


class CacheAsideService(CachedService):
    """Cache-aside (lazy loading): fill on a read miss, delete the key after a write.

    Args:
        fix: ``none`` (the seed's), ``versioned`` or ``double-delete`` (see the module doc).
        double_delete_ms: delay before the second delete (ms).
        schedule: how the second delete is run later (see :data:`Schedule`).
    """

    strategy = "cache-aside"

    def __init__(self, table: ProductTable, client: Any, *, fix: str = "none",
                 double_delete_ms: float = 20.0, schedule: Schedule | None = None,
                 **kwargs: Any) -> None:
        super().__init__(table, client, **kwargs)
        self.fix = validate.choice("fix", fix, FIXES)
        self.double_delete_ms = validate.number("double_delete_ms", double_delete_ms,
                                                minimum=0.0, maximum=60_000.0)
        self._later = DelayedCalls()
        self.schedule: Schedule = schedule or self._later
        self._script = client.register_script(_SET_IF_NOT_OLDER) if fix == "versioned" else None

    def _fill(self, product: Product) -> None:
        if self._script is None:
            super()._fill(product)
            return
        try:
            self._script(keys=[self.key(product.id)],
                         args=[product.to_json(), product.version, self.ttl_ms])
        except redis.RedisError:
            self.cache_errors.add()

    def _invalidate(self, product: Product) -> None:
        key = self.key(product.id)
        try:
            if self._script is not None:
                tomb = f'{{"tombstone":1,"version":{product.version}}}'
                self._script(keys=[key], args=[tomb, product.version, self.ttl_ms])
            else:
                self.client.delete(key)
        except redis.RedisError:
            self._remember(product.id)
            return
        if self.fix == "double-delete":
            self.schedule(self.double_delete_ms / 1000.0, lambda: self._delete_quietly(key))

    def _delete_quietly(self, key: str) -> None:
        try:
            self.client.delete(key)
        except redis.RedisError:
            self.cache_errors.add()

    def close(self) -> None:
        """Run every second delete still waiting for its delay (the cache stays correct)."""
        self._later.close()

    def update_price(self, product_id: int, price: float) -> Product:
        self._replay_pending()
        product = self.table.update_price(product_id, price)
        self.hook("after_db_write", product_id)
        self._invalidate(product)
        return product

    def create(self, product: Product) -> Product:
        return self.table.insert(product)


class WriteThroughService(CachedService):
    """Write-through: every write updates the database, then the cache; creates cache at once.

    Read misses (after a TTL expiry or an eviction) fill with ``SET NX``: a fill never replaces
    the value a writer has just set, so a single writer per key never has an older value served
    after its write was acknowledged.
    """

    strategy = "write-through"
    fill_only_if_absent = True

    def _set(self, product: Product) -> None:
        try:
            self.client.set(self.key(product.id), product.to_json(), px=self.ttl_ms)
        except redis.RedisError:
            self._remember(product.id)

    def update_price(self, product_id: int, price: float) -> Product:
        self._replay_pending()
        product = self.table.update_price(product_id, price)
        self.hook("after_db_write", product_id)
        self._set(product)
        return product

    def create(self, product: Product) -> Product:
        self._replay_pending()
        self.table.insert(product)
        self._set(product)
        return product


class WriteBehindService(CachedService):
    """Write-behind (write-back): a write goes to the cache and is acknowledged; a flusher
    thread writes the accumulated changes to the database every ``flush_interval_ms``.

    Until a change is flushed it lives only in the cache and in this process's buffer:
    :meth:`crash` stops the flusher without flushing and returns what was lost.
    If the cache is down a write goes straight to the database (counted as a cache error, and
    remembered for repair with ``repair=True``: the cache still holds the old value).
    """

    strategy = "write-behind"
    fill_only_if_absent = True

    def __init__(self, table: ProductTable, client: Any, *, flush_interval_ms: float = 50.0,
                 **kwargs: Any) -> None:
        super().__init__(table, client, **kwargs)
        self.flush_interval_ms = validate.number("flush_interval_ms", flush_interval_ms,
                                                 minimum=0.1, maximum=60_000.0)
        self._dirty: dict[int, Product] = {}
        self._inflight: dict[int, Product] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flushes = Counter()

    def start(self) -> WriteBehindService:
        """Start the flusher thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._flush_loop, name="write-behind",
                                            daemon=True)
            self._thread.start()
        return self

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_ms / 1000.0):
            self.flush()

    def flush(self) -> int:
        """Write every buffered change to the database now; returns the rows sent."""
        with self._lock:
            batch, self._dirty = self._dirty, {}
            self._inflight = dict(batch)
        try:
            sent = self.table.write_versions(batch.values())
        except Exception:
            with self._lock:  # put the batch back (newer buffered versions win)
                for pid, p in batch.items():
                    self._dirty.setdefault(pid, p)
            raise
        finally:
            with self._lock:
                self._inflight = {}
        if sent:
            self.flushes.add()
        return sent

    def _current(self, product_id: int) -> Product:
        with self._lock:
            buffered = self._dirty.get(product_id) or self._inflight.get(product_id)
        if buffered is not None:
            return buffered
        cached = self._cached(product_id)
        return cached if cached is not None else self.table.read(product_id)

    def update_price(self, product_id: int, price: float) -> Product:
        current = self._current(product_id)
        product = replace(current, price=float(price), version=current.version + 1)
        try:
            self.client.set(self.key(product_id), product.to_json(), px=self.ttl_ms)
        except redis.RedisError:
            self._remember(product_id)
            self.table.write_versions([product])
            return product
        with self._lock:
            self._dirty[product_id] = product
        return product

    def create(self, product: Product) -> Product:
        self.table.insert(product)
        self._fill(product)
        return product

    @property
    def buffered(self) -> int:
        """Changes acknowledged but not yet written to the database."""
        with self._lock:
            return len(self._dirty) + len(self._inflight)

    def crash(self) -> dict[int, Product]:
        """Kill the flusher without a final flush; returns the buffered changes now lost."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            lost, self._dirty = self._dirty, {}
        return lost

    def close(self) -> None:
        """Stop the flusher and flush what is buffered (a clean shutdown loses nothing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()


def make_service(strategy: str, table: ProductTable, client: Any = None,
                 **options: Any) -> ProductService:
    """Build the service for ``strategy`` (one of :data:`STRATEGIES`).

    Raises:
        InvalidInput: unknown strategy, or a cached strategy without a client.
    """
    strategy = validate.choice("strategy", strategy, STRATEGIES)
    if strategy == "none":
        return NoCacheService(table)
    if client is None:
        raise InvalidInput(f"strategy {strategy!r} needs a cache client")
    if strategy == "cache-aside":
        return CacheAsideService(table, client, **options)
    options.pop("fix", None)
    options.pop("double_delete_ms", None)
    if strategy == "write-through":
        options.pop("flush_interval_ms", None)
        return WriteThroughService(table, client, **options)
    service = WriteBehindService(table, client, **options)
    return service.start()
