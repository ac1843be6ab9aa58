"""The processing topic's named choices, importable without numpy or SimPy (for the CLI)."""

from __future__ import annotations

__all__ = ["DISTRIBUTIONS", "ENGINES", "MODES"]

MODES: tuple[str, ...] = ("sync", "async")
DISTRIBUTIONS: tuple[str, ...] = ("constant", "exponential", "lognormal")
ENGINES: tuple[str, ...] = ("auto", "simpy", "fast")
