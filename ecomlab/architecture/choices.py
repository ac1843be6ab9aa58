"""The architecture topic's named choices, importable without Starlette or httpx (for the CLI)."""

from __future__ import annotations

__all__ = ["CONSISTENCY", "RESILIENCE", "STYLES", "TRANSPORTS"]

STYLES: tuple[str, ...] = ("monolith", "microservices")
TRANSPORTS: tuple[str, ...] = ("process", "asgi")
CONSISTENCY: tuple[str, ...] = ("seed", "saga", "outbox")
RESILIENCE: tuple[str, ...] = ("none", "timeouts", "full")
