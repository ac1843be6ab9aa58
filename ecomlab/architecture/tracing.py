"""One order's spans by OpenTelemetry's SDK, carried across HTTP hops in a W3C ``traceparent``.

Only a request that arrives with a ``traceparent`` header is traced, so load runs pay nothing
for spans and neither ``ecomlab --help`` nor a service that is never traced imports the SDK:
:class:`Tracing` imports it on first use (a deployment that will be traced sets it up at
start, so the first traced order does not pay for the import).

* Every app (the monolith, each service, the client that sends the traced order) has its own
  ``TracerProvider`` (resource ``service.name``) whose ``SimpleSpanProcessor`` hands each
  finished span to an ``InMemorySpanExporter``; ``GET /traces/{trace_id}`` returns that app's
  spans of one trace (:meth:`Tracing.route`).
* A caller opens a ``CLIENT`` span per hop and injects its context with the W3C TraceContext
  propagator (``opentelemetry.propagate.inject``); the callee extracts it and opens a
  ``SERVER`` span, a child of the caller's hop, around its handler.
* :data:`ACTIVE` names the app whose traced request this task is serving, so the order
  service's callers and its local writes add their spans to the same trace.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

__all__ = ["ACTIVE", "TRACEPARENT", "Tracing"]

TRACEPARENT = "traceparent"


class Tracing:
    """One app's tracer and in-memory span store (the SDK is imported on first use)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Any = None
        self._exporter: Any = None

    def setup(self) -> Tracing:
        """Import the SDK and build the provider, exporter and tracer (idempotent)."""
        if self._tracer is None:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )

            self._exporter = InMemorySpanExporter()
            provider = TracerProvider(resource=Resource.create({"service.name": self.service}))
            provider.add_span_processor(SimpleSpanProcessor(self._exporter))
            self._tracer = provider.get_tracer("ecomlab.architecture")
        return self

    @contextlib.contextmanager
    def server_span(self, name: str, headers: Mapping[str, str]) -> Iterator[None]:
        """A ``SERVER`` span around a handler when ``headers`` carry a ``traceparent``."""
        if TRACEPARENT not in headers:
            yield
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        self.setup()
        parent = extract(dict(headers))
        with self._tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER):
            token = ACTIVE.set(self)
            try:
                yield
            finally:
                ACTIVE.reset(token)

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[Any]:
        """An ``INTERNAL`` span, child of the current one (a module call, a local write)."""
        self.setup()
        with self._tracer.start_as_current_span(name) as span:
            yield span

    @contextlib.contextmanager
    def client_span(self, name: str, headers: MutableMapping[str, str]) -> Iterator[Any]:
        """A ``CLIENT`` span for one hop; its context is injected into ``headers``."""
        from opentelemetry.propagate import inject
        from opentelemetry.trace import SpanKind

        self.setup()
        with self._tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
            inject(headers)
            yield span

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """The finished spans of ``trace_id`` (32 hex digits): names, ids, ns timestamps."""
        if self._exporter is None:
            return []
        out = []
        for sp in self._exporter.get_finished_spans():
            ctx = sp.get_span_context()
            if f"{ctx.trace_id:032x}" != trace_id:
                continue
            out.append({"name": sp.name, "service": self.service, "kind": sp.kind.name,
                        "span_id": f"{ctx.span_id:016x}",
                        "parent_id": f"{sp.parent.span_id:016x}" if sp.parent else None,
                        "start_ns": sp.start_time, "end_ns": sp.end_time,
                        "attributes": dict(sp.attributes or {})})
        return out

    def route(self) -> Any:
        """``GET /traces/{trace_id}``: this app's spans of one trace."""
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def get(request: Request) -> Response:
            return JSONResponse({"spans": self.spans(request.path_params["trace_id"])})
        return Route("/traces/{trace_id}", get)


#: the app whose traced request this task serves (None: not traced)
ACTIVE: contextvars.ContextVar[Tracing | None] = contextvars.ContextVar(
    "ecomlab_architecture_tracing", default=None)


def trace_id_of(span: Any) -> str:
    """The 32-hex-digit trace id of an SDK span."""
    return f"{span.get_span_context().trace_id:032x}"
