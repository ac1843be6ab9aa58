"""One factory for every engine: ``make_engine(name)``, embedded or by URL."""

from __future__ import annotations

from ecomlab.errors import InvalidInput, choices_text
from ecomlab.search.base import ALL_ENGINES, SearchEngine

__all__ = ["EMBEDDED_ENGINES", "make_engine"]

#: engines that need no server (PostgreSQL is the embedded wheel unless ECOMLAB_PG_URL is set)
EMBEDDED_ENGINES = ("tantivy", "sqlite", "postgres")


def make_engine(name: str, *, pg_url: str | None = None,
                search_url: str | None = None) -> SearchEngine:
    """A new, empty engine called ``name``.

    Args:
        name: ``tantivy``, ``sqlite``, ``postgres``, ``elasticsearch``, or a database pushed
            further: ``sqlite-trigram``, ``postgres-tuned``.
        pg_url: a PostgreSQL URL (default ``ECOMLAB_PG_URL``, else embedded PostgreSQL).
        search_url: an Elasticsearch URL (default ``ECOMLAB_SEARCH_URL``).

    Raises:
        InvalidInput: unknown engine.
        BackendUnavailable: the server did not answer, or Elasticsearch has no URL.
    """
    if name not in ALL_ENGINES:
        raise InvalidInput(f"unknown engine {name!r}; choose {choices_text(ALL_ENGINES)}")
    if name == "tantivy":
        from ecomlab.search.tantivy_engine import TantivyEngine

        return TantivyEngine()
    if name == "sqlite":
        from ecomlab.search.database import SqliteEngine

        return SqliteEngine()
    if name == "sqlite-trigram":
        from ecomlab.search.database import SqliteTrigramEngine

        return SqliteTrigramEngine()
    if name in ("postgres", "postgres-tuned"):
        from ecomlab.search.database import PostgresEngine, PostgresTunedEngine
        from ecomlab.stores import sql_store

        cls = PostgresEngine if name == "postgres" else PostgresTunedEngine
        return cls(sql_store("postgres", url=pg_url) if pg_url else None)
    from ecomlab.errors import BackendUnavailable
    from ecomlab.search.elastic import ElasticsearchEngine
    from ecomlab.stores import search_backend, search_client

    backend = search_backend(search_url)
    if backend.url is None:
        raise BackendUnavailable("the elasticsearch engine needs ECOMLAB_SEARCH_URL "
                                 "(http://host:9200); none is set")
    return ElasticsearchEngine(backend.url, client=search_client(backend.url))
