"""How the order service calls a dependency: ``none``, ``timeouts`` or ``full`` resilience.

* ``none`` — one attempt, no deadline: a slow dependency holds the caller as long as it takes.
* ``timeouts`` — one attempt with a deadline (``timeout_s``, enforced with ``anyio.fail_after``
  over the whole call, so it holds for the ASGI transport as for TCP).
* ``full`` — timeouts, plus
  - bounded retries with jittered exponential back-off from **stamina**
    (``stamina.retry_context``: ``attempts`` bounds the tries; tenacity's defaults would retry
    forever without waiting), on timeouts, refused connections and 5xx answers;
  - a circuit breaker per dependency from **circuitbreaker** (asyncio-aware; opens after
    ``breaker_failures`` consecutive failures, tries again after ``breaker_reset_s``); an open
    breaker fails the call at once and is not retried (``breaker=False`` leaves it out, to
    measure what the retries alone do);
  - a bulkhead: at most ``bulkhead`` calls in flight per dependency (an ``asyncio.Semaphore``);
    a call that finds it full fails at once instead of queueing.

Every call the order service makes is idempotent per order id (see
:mod:`ecomlab.architecture.domain`), which is what makes retrying it safe.

A dependency with several replicas is balanced **round robin** on the client side: each
attempt (a retry included) goes to the next base URL in turn, and :meth:`Caller.counters`
counts the attempts per replica. A traced call opens an OpenTelemetry ``CLIENT`` span and
sends its ``traceparent`` (see :mod:`ecomlab.architecture.tracing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import stamina
from circuitbreaker import CircuitBreaker, CircuitBreakerError

from ecomlab.architecture.choices import RESILIENCE
from ecomlab.architecture.tracing import ACTIVE
from ecomlab.errors import InvalidInput, choices_text

__all__ = ["RESILIENCE", "Caller", "DependencyError", "Policy"]


# stamina logs a warning per retry by default; the experiment counts retries itself
stamina.instrumentation.set_on_retry_hooks([])


class DependencyError(Exception):
    """A call to a dependency failed (timeout, refused, 5xx, open breaker, full bulkhead)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """The resilience settings (seconds, counts)."""

    resilience: str = "none"
    timeout_s: float = 0.25
    attempts: int = 3
    wait_initial_s: float = 0.005
    wait_max_s: float = 0.05
    breaker_failures: int = 5
    breaker_reset_s: float = 0.5
    bulkhead: int = 16
    breaker: bool = True

    def __post_init__(self) -> None:
        if self.resilience not in RESILIENCE:
            raise InvalidInput(f"unknown resilience {self.resilience!r}; choose "
                               f"{choices_text(RESILIENCE)}")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Caller:
    """Calls one dependency under a :class:`Policy` and counts what it did.

    Attributes (counters): ``calls`` (logical calls), ``attempts`` (requests sent),
    ``failures``, ``short_circuited`` (refused by the breaker or bulkhead), ``hop_ms`` (time
    spent in the calls, caller side), ``callee_ms`` (handler time the callee reported) and
    ``per_replica`` (attempts sent to each base URL, in ``base_urls`` order).
    """

    def __init__(self, service: str, client: httpx.AsyncClient, base_urls: str | Sequence[str],
                 policy: Policy) -> None:
        self.service = service
        self.client = client
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise InvalidInput(f"dependency {service!r} needs at least one base URL")
        self.base_urls = [u.rstrip("/") for u in urls]
        self._next = itertools.cycle(range(len(self.base_urls)))
        self.per_replica = [0] * len(self.base_urls)
        self.policy = policy
        self.breaker = CircuitBreaker(failure_threshold=policy.breaker_failures,
                                      recovery_timeout=policy.breaker_reset_s,
                                      expected_exception=DependencyError, name=service)
        self.bulkhead = asyncio.Semaphore(policy.bulkhead)
        self.calls = self.attempts = self.failures = self.short_circuited = 0
        self.hop_ms = self.callee_ms = 0.0

    def set_base_urls(self, base_urls: Sequence[str]) -> None:
        """Balance over these replicas from now on (a replica added at run time)."""
        urls = [u.rstrip("/") for u in base_urls]
        if not urls:
            raise InvalidInput(f"dependency {self.service!r} needs at least one base URL")
        self.base_urls = urls
        self._next = itertools.cycle(range(len(urls)))
        self.per_replica = [0] * len(urls)

    def counters(self) -> dict[str, Any]:
        return {"calls": self.calls, "attempts": self.attempts, "failures": self.failures,
                "short_circuited": self.short_circuited, "hop_ms": round(self.hop_ms, 3),
                "callee_ms": round(self.callee_ms, 3), "per_replica": list(self.per_replica)}

    def pick(self) -> str:
        """The next replica's base URL (round robin) and count the attempt to it."""
        i = next(self._next)
        self.per_replica[i] += 1
        return self.base_urls[i]

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        """One logical call; returns the JSON answer or raises :class:`DependencyError`."""
        self.calls += 1
        try:
            if self.policy.resilience != "full":
                return await self._once(method, path, body)
            return await self._full(method, path, body)
        except DependencyError:
            self.failures += 1
            raise

    async def _full(self, method: str, path: str, body: dict[str, Any] | None
                    ) -> dict[str, Any]:
        if self.bulkhead.locked():
            self.short_circuited += 1
            raise DependencyError(self.service, "bulkhead full")
        p = self.policy
        async with self.bulkhead:
            try:
                async for attempt in stamina.retry_context(
                        on=DependencyError, attempts=p.attempts, timeout=None,
                        wait_initial=p.wait_initial_s, wait_max=p.wait_max_s,
                        wait_jitter=p.wait_initial_s):
                    with attempt:
                        if not p.breaker:
                            return await self._once(method, path, body)
                        if self.breaker.opened:  # call_async itself does not check
                            raise CircuitBreakerError(self.breaker)
                        return await self.breaker.call_async(self._once, method, path, body)
            except CircuitBreakerError:
                self.short_circuited += 1
                raise DependencyError(self.service, "circuit open") from None
        raise DependencyError(self.service, "no attempt made")  # pragma: no cover

    async def _once(self, method: str, path: str, body: dict[str, Any] | None
                    ) -> dict[str, Any]:
        self.attempts += 1
        base = self.pick()
        tracing = ACTIVE.get()
        headers: dict[str, str] = {}
        hop = tracing.client_span(f"{self.service} {method} {path}", headers) \
            if tracing is not None else contextlib.nullcontext()
        start = time.perf_counter()
        deadline = self.policy.timeout_s if self.policy.resilience != "none" else None
        with hop as span:
            try:
                with anyio.fail_after(deadline):
                    response = await self.client.request(method, f"{base}{path}", json=body,
                                                         headers=headers, timeout=None)
            except TimeoutError:
                raise DependencyError(self.service, "timeout") from None
            except httpx.TransportError as exc:
                raise DependencyError(self.service,
                                      f"unreachable ({type(exc).__name__})") from None
            finally:
                self.hop_ms += (time.perf_counter() - start) * 1000.0
            callee = float(response.headers.get("x-handler-ms", 0.0))
            if span is not None:
                span.set_attribute("callee.handler_ms", callee)
                span.set_attribute("server.address", base)
        self.callee_ms += callee
        if response.status_code >= 500:
            raise DependencyError(self.service, f"HTTP {response.status_code}")
        data: dict[str, Any] = response.json()
        data["http_status"] = response.status_code
        return data
