"""One order's spans: a span per module call (monolith) or per HTTP hop (order service)."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["CURRENT_TRACE", "Trace"]


class Trace:
    """Spans of one order: ``(step, start, end, handler_ms)``, times from ``perf_counter``
    in seconds (a span per module call in the monolith, per HTTP hop in the order service)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def span(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.spans.append({"step": step, "start": start, "end": time.perf_counter(),
                               "handler_ms": None})


#: the order being traced in this task (the order service's callers add their hops to it)
CURRENT_TRACE: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "ecomlab_architecture_trace", default=None)
