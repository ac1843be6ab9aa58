"""Document stores: mongomock (embedded) or a real MongoDB by URL (pymongo).

mongomock implements most of the pymongo API in memory. Its gaps are stated here so that
experiments can refuse or label instead of pretending: no ``$text`` search, no multi-document
transactions, and ``bulk_write`` with ``UpdateOne`` breaks with pymongo >= 4.11 (use
``update_many`` / ``update_one`` loops instead).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from ecomlab import runs
from ecomlab.config import Settings, check_url, redact
from ecomlab.config import settings as read_settings
from ecomlab.errors import BackendUnavailable, ConfigError
from ecomlab.stores.lifecycle import StoreBase

__all__ = ["DocumentStore", "document_store"]

CONNECT_TIMEOUT_MS = 3000
_mock_lock = threading.Lock()
_mock_client: Any = None


@dataclass
class DocumentStore(StoreBase):
    """A database handle (pymongo ``Database`` interface) with facts about where it points.

    Attributes:
        db: the database; collections are ``db["products"]``.
        backend: ``mongomock`` or ``mongodb``.
        embedded: True for mongomock.
        url: the server URL with any password hidden.
    """

    db: Any
    backend: str
    embedded: bool
    url: str
    _client: Any = None

    @property
    def supports_transactions(self) -> bool:
        """Multi-document transactions (MongoDB replica sets only; never mongomock)."""
        return not self.embedded

    @property
    def supports_text_search(self) -> bool:
        """``$text`` queries (MongoDB with a text index; never mongomock)."""
        return not self.embedded


    def dispose(self) -> None:
        """Drop this store's database and close the client."""
        client = self._client
        if client is not None:
            try:
                client.drop_database(self.db.name)
                if not self.embedded:
                    runs.release("mongo-db", self.url, self.db.name)
            finally:
                if not self.embedded:
                    client.close()



def document_store(url: str | None = None, *, settings: Settings | None = None,
                   database: str | None = None) -> DocumentStore:
    """Return a fresh database: on the server in ``url`` / ``ECOMLAB_MONGO_URL``, else mongomock.

    Args:
        url: a ``mongodb://`` URL; overrides the environment.
        database: the database name; a fresh random one by default (dropped on dispose).

    Raises:
        ConfigError: malformed URL or unknown scheme.
        BackendUnavailable: the server was not selected within 3 s.
    """
    cfg = settings if settings is not None else read_settings()
    url = check_url("documents", url) if url is not None else cfg.documents
    name = database or "ecomlab_" + secrets.token_hex(4)
    if url is None:
        import mongomock

        global _mock_client
        with _mock_lock:
            if _mock_client is None:
                _mock_client = mongomock.MongoClient()
        return DocumentStore(db=_mock_client[name], backend="mongomock", embedded=True,
                             url="mongomock://", _client=_mock_client)
    import pymongo
    import pymongo.errors

    try:
        client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
                                          connectTimeoutMS=CONNECT_TIMEOUT_MS)
    except (pymongo.errors.ConfigurationError, ValueError) as exc:
        raise ConfigError(f"cannot use MongoDB URL {redact(url)!r}: {exc}") from None
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        client.close()
        raise BackendUnavailable(
            f"cannot reach MongoDB at {redact(url)!r}: {str(exc).splitlines()[0]}") from None
    runs.register("mongo-db", redact(url), name)
    return DocumentStore(db=client[name], backend="mongodb", embedded=False, url=redact(url),
                         _client=client)
