"""One rule for every experiment: use the caller's store as it is, or open one and close it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from ecomlab.config import Settings

__all__ = ["borrowed", "embedded_settings"]


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
