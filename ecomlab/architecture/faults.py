"""Faults injected per service at run time, and the ``SERVICE=KIND[:VALUE]`` syntax.

Kinds:

* ``down`` — the service's process is killed (in-process: its transport refuses connections).
  In the monolith there is one process, so any module ``down`` takes the whole shop down.
* ``slow[:MS]`` — every request to the service waits ``MS`` more milliseconds (default 200),
  drawn from an exponential distribution with that mean when ``~`` precedes the number
  (``slow:~200``), else a fixed delay.
* ``flaky[:P]`` — a share ``P`` of requests fail (default 0.2). Half of the failures happen
  before the work, half after it was committed (the response is lost): the caller cannot tell
  which, which is what makes retries and compensations necessary.
* ``crash:STEP[@P]`` — the order flow dies at ``STEP`` with probability ``P`` (default 1.0):
  ``after_charge``, ``after_reserve``, ``after_commit`` (between the commit and the publish)
  or ``after_publish`` (the outbox relay published but did not mark the row). A crash stops
  the handler at that point and leaves the durable state exactly as a process death there
  would; recovery runs as at a restart (see :mod:`ecomlab.architecture.apps`).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ecomlab.errors import InvalidInput, choices_text

__all__ = ["CRASH_STEPS", "FAULT_KINDS", "SERVICES", "Crash", "FaultSpec", "Faults",
           "parse_fault", "parse_faults"]

SERVICES: tuple[str, ...] = ("product", "inventory", "payment", "order", "notification")
FAULT_KINDS: tuple[str, ...] = ("down", "slow", "flaky", "crash")
CRASH_STEPS: tuple[str, ...] = ("after_charge", "after_reserve", "after_commit", "after_publish")


class Crash(Exception):
    """The order flow died at a named step (raised by :meth:`Faults.crash_point`)."""


class InjectedError(Exception):
    """A flaky service's injected failure (before or after the work)."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault: ``service``, ``kind`` and its value (ms, rate, or step and rate)."""

    service: str
    kind: str
    value: float = 0.0
    step: str = ""
    random_delay: bool = False

    def text(self) -> str:
        if self.kind == "down":
            return f"{self.service}=down"
        if self.kind == "slow":
            return f"{self.service}=slow:{'~' if self.random_delay else ''}{self.value:g}"
        if self.kind == "flaky":
            return f"{self.service}=flaky:{self.value:g}"
        return f"{self.service}=crash:{self.step}@{self.value:g}"


def _number(spec: str, text: str, low: float, high: float | None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"fault {spec!r}: {text!r} is not a number") from None
    if not (value > low and (high is None or value <= high)):
        bound = f"in ({low:g}, {high:g}]" if high is not None else f"> {low:g}"
        raise InvalidInput(f"fault {spec!r}: value must be {bound}, got {text!r}")
    return value


def parse_fault(spec: object) -> FaultSpec:
    """Parse ``SERVICE=KIND[:VALUE]``; :class:`InvalidInput` names what is wrong."""
    if isinstance(spec, FaultSpec):
        return spec
    if not isinstance(spec, str) or "=" not in spec:
        raise InvalidInput(f"a fault is SERVICE=KIND[:VALUE] (e.g. inventory=slow:200), "
                           f"got {spec!r}")
    service, _, rest = spec.partition("=")
    service = service.strip()
    if service not in SERVICES:
        raise InvalidInput(f"fault {spec!r}: unknown service {service!r}; choose "
                           f"{choices_text(SERVICES)}")
    kind, _, value = rest.strip().partition(":")
    if kind not in FAULT_KINDS:
        raise InvalidInput(f"fault {spec!r}: unknown kind {kind!r}; choose "
                           f"{choices_text(FAULT_KINDS)}")
    if kind == "down":
        if value:
            raise InvalidInput(f"fault {spec!r}: 'down' takes no value")
        return FaultSpec(service, "down")
    if kind == "slow":
        random_delay = value.startswith("~")
        ms = _number(spec, value.lstrip("~"), 0.0, 60_000.0) if value else 200.0
        return FaultSpec(service, "slow", ms, random_delay=random_delay)
    if kind == "flaky":
        return FaultSpec(service, "flaky", _number(spec, value, 0.0, 1.0) if value else 0.2)
    step, _, rate = value.partition("@")
    if service != "order":
        raise InvalidInput(f"fault {spec!r}: crashes are injected into the order flow; use "
                           f"order=crash:STEP")
    if step not in CRASH_STEPS:
        raise InvalidInput(f"fault {spec!r}: unknown crash step {step!r}; choose "
                           f"{choices_text(CRASH_STEPS)}")
    return FaultSpec(service, "crash", _number(spec, rate, 0.0, 1.0) if rate else 1.0, step)


def parse_faults(specs: object) -> tuple[FaultSpec, ...]:
    """Parse a list of fault specs (``None`` = no faults); one fault kind per service and
    crash step."""
    if specs is None:
        return ()
    if isinstance(specs, str | FaultSpec):
        specs = [specs]
    if not isinstance(specs, list | tuple):
        raise InvalidInput(f"faults must be a list of SERVICE=KIND[:VALUE], got {specs!r}")
    out = tuple(parse_fault(s) for s in specs)
    keys = [(f.service, f.kind, f.step) for f in out]
    if len(set(keys)) != len(keys):
        raise InvalidInput(f"each fault may be given once per service, got {specs!r}")
    return out


@dataclass
class Faults:
    """The faults a running service applies to its own requests (changed at run time)."""

    slow_ms: float = 0.0
    random_delay: bool = False
    flaky: float = 0.0
    crash: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def of(cls, specs: tuple[FaultSpec, ...], service: str, seed: int) -> Faults:
        faults = cls(seed=seed, rng=random.Random(seed))
        faults.apply([s for s in specs if s.service == service])
        return faults

    def apply(self, specs: list[FaultSpec]) -> None:
        """Replace the current faults with ``specs`` (all for this service)."""
        self.slow_ms, self.random_delay, self.flaky, self.crash = 0.0, False, 0.0, {}
        for s in specs:
            if s.kind == "slow":
                self.slow_ms, self.random_delay = s.value, s.random_delay
            elif s.kind == "flaky":
                self.flaky = s.value
            elif s.kind == "crash":
                self.crash[s.step] = s.value

    def as_dict(self) -> dict[str, Any]:
        return {"slow_ms": self.slow_ms, "random_delay": self.random_delay,
                "flaky": self.flaky, "crash": dict(self.crash)}

    def delay_s(self) -> float:
        if self.slow_ms <= 0:
            return 0.0
        ms = self.rng.expovariate(1.0 / self.slow_ms) if self.random_delay else self.slow_ms
        return ms / 1000.0

    def draw_failure(self) -> str:
        """``""`` (no failure), ``"before"`` or ``"after"`` the work, per the flaky rate."""
        if self.flaky <= 0 or self.rng.random() >= self.flaky:
            return ""
        return "before" if self.rng.random() < 0.5 else "after"

    async def wait(self) -> None:
        """The slow fault, awaited (an asynchronous service does not block its loop)."""
        delay = self.delay_s()
        if delay:
            await asyncio.sleep(delay)

    def block(self) -> None:
        """The slow fault, in the calling thread (a monolith's worker is held meanwhile)."""
        delay = self.delay_s()
        if delay:
            time.sleep(delay)

    def crash_point(self, step: str) -> None:
        rate = self.crash.get(step, 0.0)
        if rate and self.rng.random() < rate:
            raise Crash(step)
