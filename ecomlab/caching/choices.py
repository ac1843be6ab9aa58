"""The caching topic's named choices, importable without the services (for the CLI)."""

from __future__ import annotations

__all__ = ["FIXES", "POLICIES", "STRATEGIES"]

POLICIES: tuple[str, ...] = ("lru", "ttl")
STRATEGIES: tuple[str, ...] = ("none", "cache-aside", "write-through", "write-behind")
FIXES: tuple[str, ...] = ("none", "versioned", "double-delete")
