"""The search kind: which engine serves search, from ``ECOMLAB_SEARCH_URL``.

Without the variable the engine is embedded (tantivy, with SQLite FTS5 as the database side);
with it, an Elasticsearch or OpenSearch server at that URL, reached through the official
``elasticsearch`` client. Nothing connects at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ecomlab.config import redact
from ecomlab.errors import BackendUnavailable, ConfigError

__all__ = ["SEARCH_URL_VARIABLE", "SearchBackend", "search_backend", "search_client"]

SEARCH_URL_VARIABLE = "ECOMLAB_SEARCH_URL"
CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True)
class SearchBackend:
    """Which engine serves search: ``tantivy`` (embedded) or ``elasticsearch`` at ``url``."""

    backend: str
    url: str | None

    def describe(self) -> dict[str, object]:
        """Backend facts, the URL's password hidden."""
        return {"backend": self.backend, "embedded": self.url is None,
                "url": redact(self.url) if self.url else None, "variable": SEARCH_URL_VARIABLE}


def search_backend(url: str | None = None) -> SearchBackend:
    """The search backend for ``url`` (default: ``ECOMLAB_SEARCH_URL``, else tantivy).

    Raises:
        ConfigError: the URL is not ``http(s)://host[:port]``.
    """
    url = (url if url is not None else os.environ.get(SEARCH_URL_VARIABLE, "")).strip()
    if not url:
        return SearchBackend("tantivy", None)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{SEARCH_URL_VARIABLE} must be http(s)://host[:port], "
                          f"got {redact(url)!r}")
    return SearchBackend("elasticsearch", url)


def search_client(url: str) -> Any:
    """An ``elasticsearch.Elasticsearch`` client for ``url``, checked by asking the server who
    it is (3 s): a ``HEAD /`` ping is answered by any HTTP server, ``GET /`` only by
    Elasticsearch (the client checks its product header).

    Raises:
        BackendUnavailable: no Elasticsearch answered.
    """
    from elasticsearch import Elasticsearch
    from elasticsearch.exceptions import ApiError, TransportError, UnsupportedProductError

    client = Elasticsearch(url, request_timeout=CONNECT_TIMEOUT_S)
    try:
        client.info()
    except (ApiError, TransportError, UnsupportedProductError) as exc:
        client.close()
        raise BackendUnavailable(f"cannot reach Elasticsearch at {redact(url)!r}: "
                                 f"{type(exc).__name__}") from None
    return client.options(request_timeout=30)
