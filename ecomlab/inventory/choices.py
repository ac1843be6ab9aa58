"""The inventory topic's named choices, importable without numpy or pandas (for the CLI)."""

from __future__ import annotations

__all__ = ["BACKENDS", "EVENTUAL", "NATURAL_BACKEND", "STRATEGIES", "STRONG"]

STRONG: tuple[str, ...] = ("row-lock", "conditional-update", "optimistic")
EVENTUAL: tuple[str, ...] = ("cache-check", "atomic-reserve")
STRATEGIES: tuple[str, ...] = STRONG + EVENTUAL
BACKENDS: tuple[str, ...] = ("duckdb", "sqlite", "postgres", "redis")
#: the store each strategy runs on when no backend is named: an OLTP engine for the strong ones
#: (PostgreSQL: real by ECOMLAB_PG_URL, else embedded), Redis (or fakeredis) for the eventual ones
NATURAL_BACKEND: dict[str, str] = {
    "row-lock": "postgres",
    "conditional-update": "postgres",
    "optimistic": "postgres",
    "cache-check": "redis",
    "atomic-reserve": "redis",
}
