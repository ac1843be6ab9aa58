"""Key-value stores: fakeredis (embedded) or a real Redis server by URL.

Embedded clients share one ``fakeredis.FakeServer`` per process, so two clients see the same
keys, just as two connections to one Redis would; Lua scripting works (``fakeredis[lua]``).
Patterns receive the client and never know which one it is.

Every key a run writes in the ``ecomlab:`` namespace expires: the clients made here give each
such key a TTL of :data:`KEY_TTL_S` (24 h, as RabbitMQ's ``x-expires`` on the runs' queues) in
the same round trip, inside ``MULTI``/``EXEC``, as the command that created it or cleared its
TTL (``SET`` without ``EX``/``PX``, ``MSET``). ``EXPIRE ... NX`` never shortens or lengthens a
TTL a pattern set itself (a cache entry's ``PX``), and a key already given its TTL by this client
costs nothing more, so measured operations on existing keys send exactly what they did before.
24 h is far longer than any run the input bounds allow (minutes), so no run needs to refresh it,
and short enough that a run killed with SIGKILL leaves nothing after a day even if nobody runs
``ecomlab clean``. Lua scripts are assumed to keep their keys' TTLs (``DECRBY``, ``SET ... PX``;
a plain ``SET`` in a script would need ``KEEPTTL``); :data:`WRITE_HOOKS` lets a test check the
rule after every write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from ecomlab import runs
from ecomlab.config import Settings, check_url, redact
from ecomlab.config import settings as read_settings
from ecomlab.errors import BackendUnavailable, ConfigError, InvalidInput
from ecomlab.stores.lifecycle import StoreBase

__all__ = ["KEY_TTL_S", "KvStore", "kv_store"]

CONNECT_TIMEOUT_S = 3
#: the TTL (s) of every key a run writes under ``ecomlab:`` (see the module docstring)
KEY_TTL_S = 24 * 3600
NAMESPACE = "ecomlab:"
#: called with the command's arguments after every write through a client made here (tests)
WRITE_HOOKS: list[Callable[[tuple[Any, ...]], None]] = []
_fake_lock = threading.Lock()
_fake_server: Any = None

#: commands that overwrite a key and drop its TTL
_RESETS = frozenset({"SET", "GETSET", "SETNX", "MSET", "MSETNX"})
#: commands that give a key a TTL of their own, or remove the key
_OWN_TTL = frozenset({"SETEX", "PSETEX", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT",
                      "PERSIST", "DEL", "UNLINK", "GETDEL"})
#: commands that create a missing key (an existing key keeps its TTL)
_CREATES = frozenset({"INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY", "APPEND", "SETRANGE",
                      "SETBIT", "HSET", "HSETNX", "HMSET", "HINCRBY", "HINCRBYFLOAT", "SADD",
                      "LPUSH", "RPUSH", "LINSERT", "ZADD", "ZINCRBY", "XADD", "PFADD", "GEOADD",
                      "EVAL", "EVALSHA"})
_TTL_WORDS = frozenset({"EX", "PX", "EXAT", "PXAT"})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _keys(name: str, args: Sequence[Any]) -> list[str]:
    if name in ("MSET", "MSETNX"):
        return [_text(k) for k in args[1::2]]
    if name in ("DEL", "UNLINK"):
        return [_text(k) for k in args[1:]]
    if name in ("EVAL", "EVALSHA"):
        return [_text(k) for k in args[3:3 + int(args[2])]]
    return [_text(args[1])] if len(args) > 1 else []


class _KeyTtl:
    """The keys under ``ecomlab:`` this client has given their TTL (shared by its pipelines)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.known: set[str] = set()

    def plan(self, args: Sequence[Any]) -> tuple[list[str], list[str]]:
        """``(keys to expire, keys to forget)`` for one command."""
        name = _text(args[0]).upper() if args else ""
        if name not in _RESETS and name not in _OWN_TTL and name not in _CREATES:
            return [], []
        keys = [k for k in _keys(name, args) if k.startswith(NAMESPACE)]
        if not keys:
            return [], []
        if name in _OWN_TTL or (name == "SET" and any(
                _text(a).upper() in _TTL_WORDS for a in args[3:])):
            return [], keys
        if name in _RESETS:
            return keys, []
        with self.lock:
            return [k for k in keys if k not in self.known], []

    def settle(self, expired: list[str], forgotten: list[str]) -> None:
        with self.lock:
            self.known.update(expired)
            self.known.difference_update(forgotten)


def _hooks(args: tuple[Any, ...]) -> None:
    for hook in list(WRITE_HOOKS):
        hook(args)


class _TtlPipeline(redis.client.Pipeline):
    """A pipeline that adds ``EXPIRE key TTL NX`` after each command creating an ``ecomlab:``
    key, runs as a transaction when it did, and returns only the caller's results."""

    def __init__(self, ttl: _KeyTtl, *args: Any) -> None:
        self._key_ttl = ttl
        self._mine: list[int] = []
        self._settle: tuple[list[str], list[str]] = ([], [])
        super().__init__(*args)

    def pipeline_execute_command(self, *args: Any, **options: Any) -> Any:
        expire, forget = self._key_ttl.plan(args)
        super().pipeline_execute_command(*args, **options)
        self._mine.append(len(self.command_stack) - 1)
        for key in expire:
            super().pipeline_execute_command("EXPIRE", key, KEY_TTL_S, "NX")
        self._settle[0].extend(expire)
        self._settle[1].extend(forget)
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        mine, (expired, forgotten) = self._mine, self._settle
        added = len(self.command_stack) > len(mine)
        was = self.transaction
        if added:  # the keys and their TTLs appear together, or not at all
            self.transaction = True  # type: ignore[method-assign,assignment]
        try:
            results = super().execute(raise_on_error)
        finally:
            self.transaction = was  # type: ignore[method-assign]
            self._mine, self._settle = [], ([], [])
        self._key_ttl.settle(expired, forgotten)
        if WRITE_HOOKS:
            _hooks(("PIPELINE",))
        return [results[i] for i in mine] if added else results

    def reset(self) -> None:  # type: ignore[override]
        super().reset()
        self._mine, self._settle = [], ([], [])


class _TtlMixin:
    """A client whose commands give new ``ecomlab:`` keys their TTL in the same round trip."""

    _ttl: _KeyTtl

    def execute_command(self, *args: Any, **options: Any) -> Any:
        expire, forget = self._ttl.plan(args)
        if not expire:
            result = super().execute_command(*args, **options)  # type: ignore[misc]
        else:
            pipe = redis.client.Pipeline(self.connection_pool,  # type: ignore[attr-defined]
                                         self.response_callbacks,  # type: ignore[attr-defined]
                                         True, None)
            pipe.execute_command(*args, **options)
            for key in expire:
                pipe.execute_command("EXPIRE", key, KEY_TTL_S, "NX")
            result = pipe.execute()[0]
        self._ttl.settle(expire, forget)
        if WRITE_HOOKS:
            _hooks(tuple(args))
        return result

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> _TtlPipeline:
        return _TtlPipeline(self._ttl, self.connection_pool,  # type: ignore[attr-defined]
                            self.response_callbacks,  # type: ignore[attr-defined]
                            transaction, shard_hint)


class _Redis(_TtlMixin, redis.Redis):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ttl = _KeyTtl()


_fake_class: Any = None


def _fake_client(server: Any, decode_responses: bool) -> Any:
    """A fakeredis client on ``server`` with the same key TTLs as a real one."""
    global _fake_class
    if _fake_class is None:
        import fakeredis

        class _FakeRedis(_TtlMixin, fakeredis.FakeRedis):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._ttl = _KeyTtl()

        _fake_class = _FakeRedis
    return _fake_class(server=server, decode_responses=decode_responses)


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
        fake = _fake_client(server, decode_responses)
        return KvStore(client=fake, backend="fakeredis", embedded=True, url="fakeredis://")
    try:
        client = _Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
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
