"""The messaging topic's named choices, importable without the experiment (for the CLI)."""

from __future__ import annotations

__all__ = ["LEDGERS", "MODES"]

MODES: tuple[str, ...] = ("queue", "direct")
LEDGERS: tuple[str, ...] = ("memory", "kv")
