"""One rule for every experiment: use the caller's store as it is, or open one and close it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from ecomlab.config import Settings

__all__ = ["Store", "StoreBase", "borrowed", "embedded_settings"]


class Store(Protocol):
    """What every kind of store offers (sql, kv, documents, broker)."""

    @property
    def backend(self) -> str: ...

    @property
    def embedded(self) -> bool: ...

    @property
    def url(self) -> str: ...

    def describe(self) -> dict[str, object]: ...

    def dispose(self) -> None: ...


class StoreBase:
    """The code every store class shares: its facts for results, and ``with`` support.

    Subclasses have ``backend``, ``embedded`` and ``url`` (fields or attributes) and define
    :meth:`dispose`; :meth:`describe` may be extended with kind-specific facts.
    """

    backend: str
    embedded: bool
    url: str

    def describe(self) -> dict[str, object]:
        """Backend facts for printing and for :class:`ecomlab.measure.Result`."""
        return {"backend": self.backend, "embedded": self.embedded, "url": self.url}

    def dispose(self) -> None:
        """Release what this store holds (each kind says what)."""
        raise NotImplementedError

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


T = TypeVar("T", bound=StoreBase)


class Disposable(Protocol):
    def dispose(self) -> None: ...


S = TypeVar("S", bound=Disposable)


@contextmanager
def borrowed(store: S | None, open_store: Callable[[], S]) -> Iterator[S]:
    """Yield ``store`` untouched if the caller gave one, else ``open_store()``, disposed after.

    The caller keeps what it lends (its schema, keys and connections stay); what this block
    opened is disposed on every exit path, an exception or Ctrl-C included.
    """
    if store is not None:
        yield store
        return
    fresh = open_store()
    try:
        yield fresh
    finally:
        fresh.dispose()


def embedded_settings() -> Settings:
    """Settings naming no server: every factory given these returns its embedded store."""
    return Settings()
