"""What every app serves beside its domain endpoints: health, stats, faults, handler time.

* ``GET /health`` (readiness), ``GET /stats`` (requests, errors, p50 handler time and the
  handler-time histogram in HdrHistogram's base64 form, so replicas can be merged),
  ``POST /admin/faults`` (replace the faults at run time), ``POST /admin/reset-stats``.
* :func:`json_response` reports the handler time in the ``x-handler-ms`` header, so that a
  caller can split a hop into the callee's handler time and network plus serialization.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecomlab.architecture import latency
from ecomlab.architecture.faults import FaultSpec, parse_faults

__all__ = ["ServiceStats", "admin_routes", "json_response", "merge_stats"]


@dataclass
class ServiceStats:
    """Requests, errors and handler times of the domain endpoints (not health/stats/admin)."""

    requests: int = 0
    errors: int = 0
    handler_ms_total: float = 0.0
    hist: Any = field(default_factory=latency.histogram)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, ms: float, ok: bool) -> None:
        self.requests += 1
        self.errors += 0 if ok else 1
        self.handler_ms_total += ms
        latency.record_ms(self.hist, ms)

    def reset(self) -> None:
        self.requests = self.errors = 0
        self.handler_ms_total = 0.0
        self.hist.reset()

    def as_dict(self) -> dict[str, Any]:
        p50 = latency.summary(self.hist).p50 if self.requests else None
        return {"requests": self.requests, "errors": self.errors,
                "p50_ms": None if p50 is None else round(p50, 3),
                "handler_ms_total": round(self.handler_ms_total, 3),
                "handler_hist": self.hist.encode().decode(), **self.extra}


def json_response(data: dict[str, Any], status: int = 200, *, started: float) -> JSONResponse:
    """A JSON answer carrying the handler time since ``started`` (``perf_counter``)."""
    ms = (time.perf_counter() - started) * 1000.0
    return JSONResponse(data, status_code=status, headers={"x-handler-ms": f"{ms:.4f}"})


def admin_routes(stats: ServiceStats, set_faults: Callable[[tuple[FaultSpec, ...]], None],
                 describe: Callable[[], dict[str, Any]]) -> list[Route]:
    """Health, stats, faults and stats reset for one app."""
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_stats(_: Request) -> Response:
        return JSONResponse({**stats.as_dict(), **describe()})

    async def post_faults(request: Request) -> Response:
        body = await request.json()
        set_faults(parse_faults(list(body.get("faults", []))))
        return JSONResponse({"status": "ok"})

    async def reset_stats(_: Request) -> Response:
        stats.reset()
        return JSONResponse({"status": "ok"})

    return [Route("/health", health), Route("/stats", get_stats),
            Route("/admin/faults", post_faults, methods=["POST"]),
            Route("/admin/reset-stats", reset_stats, methods=["POST"])]


def _add(a: Any, b: Any) -> Any:
    """Sum two replicas' counters: numbers add, dicts and lists by key and position."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
                for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [_add(x, y) for x, y in zip(a, b, strict=False)]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool):
        return a + b
    return a


def merge_stats(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Replicas' ``GET /stats`` answers (by instance) as one: counts summed, histograms
    merged for the p50; ``replicas`` keeps each instance's requests, errors and p50."""
    first, *rest = parts.values()
    merged = {k: v for k, v in first.items() if k != "handler_hist"}
    for part in rest:
        merged = _add(merged, {k: v for k, v in part.items() if k != "handler_hist"})
    hist = latency.decode(p["handler_hist"] for p in parts.values() if "handler_hist" in p)
    merged["p50_ms"] = round(latency.summary(hist).p50, 3) if merged["requests"] else None
    if "workers" in first:
        merged["workers"] = first["workers"]
    merged["replicas"] = {i: {k: p.get(k) for k in ("requests", "errors", "p50_ms")}
                          for i, p in parts.items()}
    return merged
