"""Key-value stores: fakeredis (embedded) or a real Redis server by URL.

Embedded clients share one ``fakeredis.FakeServer`` per process, so two clients see the same
keys, just as two connections to one Redis would; Lua scripting works (``fakeredis[lua]``).
Patterns receive the client and never know which one it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import redis

from ecomlab import runs
from ecomlab.config import Settings, check_url, redact
from ecomlab.config import settings as read_settings
from ecomlab.errors import BackendUnavailable, ConfigError, InvalidInput
from ecomlab.stores.lifecycle import StoreBase

__all__ = ["KvStore", "kv_store"]

CONNECT_TIMEOUT_S = 3
_fake_lock = threading.Lock()
_fake_server: Any = None


@dataclass
class KvStore(StoreBase):
    """A Redis-compatible client with facts about where it points.

    Attributes:
        client: a ``redis.Redis`` (or ``fakeredis.FakeRedis``) client; thread-safe.
        backend: ``fakeredis`` or ``redis``.
        embedded: True for fakeredis.
        url: the server URL with any password hidden.
    """

    client: redis.Redis
    backend: str
    embedded: bool
    url: str


    def claim_prefix(self, prefix: str) -> str:
        """Record that this run owns the keys under ``prefix`` (``ecomlab:<topic>:<hex>:``).

        On a real server the prefix goes into the run's manifest, so ``ecomlab clean`` can
        delete the keys if the run is killed before it deletes them itself (fakeredis dies
        with the process). Returns ``prefix``.
        """
        if not prefix.startswith("ecomlab:"):
            raise InvalidInput(f"a run's key prefix starts with 'ecomlab:', got {prefix!r}")
        if not self.embedded:
            runs.register("redis-prefix", self.url, prefix)
        return prefix

    def release_prefix(self, prefix: str) -> None:
        """The keys under ``prefix`` were deleted by their owner."""
        if not self.embedded:
            runs.release("redis-prefix", self.url, prefix)

    def dispose(self) -> None:
        """Close the client's connections."""
        self.client.close()



def kv_store(url: str | None = None, *, settings: Settings | None = None,
             decode_responses: bool = True, fresh: bool = False) -> KvStore:
    """Return a Redis client: the server in ``url`` / ``ECOMLAB_REDIS_URL``, else fakeredis.

    Args:
        url: a ``redis://`` URL; overrides the environment.
        decode_responses: return ``str`` instead of ``bytes``.
        fresh: with fakeredis, a private server instead of the shared one (for isolation).

    Raises:
        ConfigError: malformed URL or unknown scheme.
        BackendUnavailable: the server did not answer a PING within 3 s.
    """
    cfg = settings if settings is not None else read_settings()
    url = check_url("kv", url) if url is not None else cfg.kv
    if url is None:
        import fakeredis

        global _fake_server
        with _fake_lock:
            if fresh:
                server = fakeredis.FakeServer()
            else:
                if _fake_server is None:
                    _fake_server = fakeredis.FakeServer()
                server = _fake_server
        fake = fakeredis.FakeRedis(server=server, decode_responses=decode_responses)
        return KvStore(client=fake, backend="fakeredis", embedded=True, url="fakeredis://")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                      socket_timeout=CONNECT_TIMEOUT_S,
                                      decode_responses=decode_responses)
    except ValueError as exc:
        raise ConfigError(f"cannot parse Redis URL {redact(url)!r}: {exc}") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise BackendUnavailable(f"cannot reach Redis at {redact(url)!r}: {exc}") from None
    return KvStore(client=client, backend="redis", embedded=False, url=redact(url))
