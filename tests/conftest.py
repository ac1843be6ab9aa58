"""Shared fixtures: every backend that is available, through one contract.

Embedded backends always run. Real servers run when their ``ECOMLAB_*_URL`` is set and are
skipped with a reason otherwise (``.ci/run`` sets PostgreSQL, Redis and RabbitMQ).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ecomlab.stores import DocumentStore, KvStore, SqlStore, document_store, kv_store, sql_store


def real_url(variable: str) -> str:
    """The URL in ``variable``, or skip the test with a reason."""
    url = os.environ.get(variable, "").strip()
    if not url:
        pytest.skip(f"{variable} is not set: no real server to test against")
    return url


#: SQL backends every contract runs on; "postgres" is the embedded wheel,
#: "postgres-real" the server in ECOMLAB_PG_URL.
SQL_BACKEND_IDS = ("duckdb", "sqlite", "postgres", "postgres-real")


def claimed_prefixes(kv: KvStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key prefixes runs claim on ``kv`` from now on, in order: a test checks its own run's
    keys by them, never the server's whole key list, which another run may share."""
    claimed: list[str] = []
    claim = kv.claim_prefix

    def spy(prefix: str) -> str:
        claimed.append(claim(prefix))
        return claimed[-1]

    monkeypatch.setattr(kv, "claim_prefix", spy)
    return claimed


def make_sql_store(backend_id: str) -> SqlStore:
    """A fresh store for one of :data:`SQL_BACKEND_IDS` (skips when unavailable)."""
    if backend_id == "postgres-real":
        return sql_store("postgres", url=real_url("ECOMLAB_PG_URL"))
    if backend_id == "postgres":
        from ecomlab.stores import embedded_postgres_url

        return sql_store("postgres", url=embedded_postgres_url())
    return sql_store(backend_id)


@pytest.fixture(params=SQL_BACKEND_IDS)
def any_sql(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """A fresh relational store on each available SQL backend."""
    store = make_sql_store(request.param)
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture(params=("fakeredis", "redis-real"))
def any_kv(request: pytest.FixtureRequest) -> Iterator[KvStore]:
    """A key-value store on fakeredis (a private server) and on real Redis when configured."""
    if request.param == "redis-real":
        store = kv_store(real_url("ECOMLAB_REDIS_URL"))
    else:
        store = kv_store(url=None, fresh=True, settings=_embedded())
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture(params=("mongomock", "mongodb-real"))
def any_documents(request: pytest.FixtureRequest) -> Iterator[DocumentStore]:
    """A fresh document database on mongomock and on real MongoDB when configured."""
    if request.param == "mongodb-real":
        store = document_store(real_url("ECOMLAB_MONGO_URL"))
    else:
        store = document_store(settings=_embedded())
    try:
        yield store
    finally:
        store.dispose()


def _embedded():  # type: ignore[no-untyped-def]
    from ecomlab.config import Settings

    return Settings()
