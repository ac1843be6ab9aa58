"""The downstream services an order touches: payment, inventory and email, with faults.

Each service is a real in-process object that keeps its own ledger (charges, reservations,
sent emails) and answers after a real, scaled-down sleep that models its latency. Faults are
injected per service:

* ``failure_rate`` — the probability that a call fails *before* doing anything
  (:class:`ServiceError`, e.g. "card declined", "inventory service unavailable");
* a *slow* service (latency multiplied) and a client ``timeout_ms``: when the service takes
  longer than the timeout the caller gets :class:`ServiceTimeout` **but the service still does
  the work** — the classic "did my payment go through?" ambiguity.

Whether call ``attempt`` of order ``order_no`` to a service fails, and how long it takes, is
decided by ``numpy.random.default_rng([seed, service, order_no, attempt])``: the same seed
gives the same faults whatever the thread interleaving.

Payment, inventory and email accept an ``idempotency_key``: a second call with the same key
returns the first result without a second effect (as payment APIs such as Stripe's do).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ecomlab.errors import InvalidInput
from ecomlab.validate import choice, number, probability

__all__ = [
    "SEED_LATENCY_MS",
    "SERVICE_NAMES",
    "EmailService",
    "InventoryService",
    "PaymentService",
    "ServiceError",
    "ServiceFaults",
    "ServiceTimeout",
    "Services",
    "make_services",
]

#: the services an order touches, in the seed's call order
SERVICE_NAMES: tuple[str, ...] = ("payment", "inventory", "email")
#: the seed material's step latencies (ms, before time scaling)
SEED_LATENCY_MS: dict[str, float] = {"validate": 50.0, "payment": 800.0, "inventory": 300.0,
                                     "email": 400.0}
_CODES = {"payment": 1, "inventory": 2, "email": 3}
_JITTER_SIGMA = 0.25  # lognormal spread of each call's latency around its median


class ServiceError(Exception):
    """A service refused or failed the call before doing anything."""

    def __init__(self, service: str, order_id: str, reason: str) -> None:
        super().__init__(f"{service} failed for {order_id}: {reason}")
        self.service = service
        self.order_id = order_id


class ServiceTimeout(ServiceError):
    """The caller stopped waiting; the service may still have done the work."""


@dataclass(frozen=True)
class ServiceFaults:
    """Injected faults and latencies of one service.

    Attributes:
        latency_ms: median latency of a call (ms, already time-scaled).
        failure_rate: probability that a call fails before doing anything.
        slow_factor: latency multiplier (1 = normal; 20 = a struggling service).
    """

    latency_ms: float
    failure_rate: float = 0.0
    slow_factor: float = 1.0

    def __post_init__(self) -> None:
        number("latency_ms", self.latency_ms, minimum=0.0)
        probability("failure_rate", self.failure_rate)
        number("slow_factor", self.slow_factor, minimum=1.0)


class _Service:
    name = "service"

    def __init__(self, faults: ServiceFaults, seed: int) -> None:
        self.faults = faults
        self.seed = seed
        self.lock = threading.Lock()
        self.calls = 0
        self.failures = 0
        self.timeouts = 0

    def fate(self, order_no: int, attempt: int) -> tuple[bool, float]:
        """(fails?, latency in ms) of call ``attempt`` for order ``order_no``."""
        rng = np.random.default_rng([self.seed, _CODES[self.name], order_no, attempt])
        fails = bool(rng.random() < self.faults.failure_rate)
        jitter = float(rng.lognormal(0.0, _JITTER_SIGMA))
        return fails, self.faults.latency_ms * self.faults.slow_factor * jitter

    def _call(self, order_id: str, order_no: int, attempt: int,
              timeout_ms: float | None) -> bool:
        """Wait the call's latency (or the timeout); raise if it fails.

        Returns True when the caller timed out (the effect must still happen)."""
        fails, latency = self.fate(order_no, attempt)
        timed_out = timeout_ms is not None and latency > timeout_ms
        wait = timeout_ms if timed_out and timeout_ms is not None else latency
        time.sleep(wait / 1000.0)  # models the service's (scaled) latency
        with self.lock:
            self.calls += 1
            if fails:
                self.failures += 1
            elif timed_out:
                self.timeouts += 1
        if fails:
            raise ServiceError(self.name, order_id, "injected failure")
        return timed_out


class PaymentService(_Service):
    """Charges and refunds, kept in a ledger (amounts in USD)."""

    name = "payment"

    def __init__(self, faults: ServiceFaults, seed: int) -> None:
        super().__init__(faults, seed)
        self.charges: list[tuple[str, float]] = []
        self.refunds: list[tuple[str, float]] = []
        self._charge_keys: set[str] = set()
        self._refund_keys: set[str] = set()

    def charge(self, order_id: str, amount_usd: float, *, order_no: int, attempt: int = 0,
               timeout_ms: float | None = None, idempotency_key: str | None = None) -> None:
        """Charge ``amount_usd`` for ``order_id``.

        Raises:
            ServiceError: declined before charging.
            ServiceTimeout: the caller gave up, but the charge was made.
        """
        timed_out = self._call(order_id, order_no, attempt, timeout_ms)
        with self.lock:
            if idempotency_key is None or idempotency_key not in self._charge_keys:
                self.charges.append((order_id, amount_usd))
                if idempotency_key is not None:
                    self._charge_keys.add(idempotency_key)
        if timed_out:
            raise ServiceTimeout(self.name, order_id, f"no answer within {timeout_ms} ms")

    def refund(self, order_id: str, amount_usd: float, *,
               idempotency_key: str | None = None) -> bool:
        """Refund ``amount_usd`` (compensation; never fails here). Returns True if recorded."""
        with self.lock:
            if idempotency_key is not None and idempotency_key in self._refund_keys:
                return False
            self.refunds.append((order_id, amount_usd))
            if idempotency_key is not None:
                self._refund_keys.add(idempotency_key)
            return True

    def charge_counts(self) -> Counter[str]:
        """Number of charges per order id."""
        with self.lock:
            return Counter(o for o, _ in self.charges)

    def refund_counts(self) -> Counter[str]:
        """Number of refunds per order id."""
        with self.lock:
            return Counter(o for o, _ in self.refunds)


class InventoryService(_Service):
    """Stock reservations per order (units)."""

    name = "inventory"

    def __init__(self, faults: ServiceFaults, seed: int) -> None:
        super().__init__(faults, seed)
        self.reservations: list[tuple[str, int]] = []
        self.releases: list[str] = []
        self._keys: set[str] = set()

    def reserve(self, order_id: str, units: int, *, order_no: int, attempt: int = 0,
                timeout_ms: float | None = None, idempotency_key: str | None = None) -> None:
        """Reserve ``units`` for ``order_id``.

        Raises:
            ServiceError: nothing reserved.
            ServiceTimeout: the caller gave up, but the units were reserved.
        """
        timed_out = self._call(order_id, order_no, attempt, timeout_ms)
        with self.lock:
            if idempotency_key is None or idempotency_key not in self._keys:
                self.reservations.append((order_id, units))
                if idempotency_key is not None:
                    self._keys.add(idempotency_key)
        if timed_out:
            raise ServiceTimeout(self.name, order_id, f"no answer within {timeout_ms} ms")

    def release(self, order_id: str) -> None:
        """Give back the units reserved for ``order_id`` (compensation)."""
        with self.lock:
            self.releases.append(order_id)

    def reservation_counts(self) -> Counter[str]:
        """Number of reservations per order id, net of releases."""
        with self.lock:
            counts = Counter(o for o, _ in self.reservations)
            counts.subtract(Counter(self.releases))
            return counts


class EmailService(_Service):
    """Order confirmations sent."""

    name = "email"

    def __init__(self, faults: ServiceFaults, seed: int) -> None:
        super().__init__(faults, seed)
        self.sent: list[str] = []
        self._keys: set[str] = set()

    def send_confirmation(self, order_id: str, *, order_no: int, attempt: int = 0,
                          timeout_ms: float | None = None,
                          idempotency_key: str | None = None) -> None:
        """Send the confirmation email for ``order_id``."""
        timed_out = self._call(order_id, order_no, attempt, timeout_ms)
        with self.lock:
            if idempotency_key is None or idempotency_key not in self._keys:
                self.sent.append(order_id)
                if idempotency_key is not None:
                    self._keys.add(idempotency_key)
        if timed_out:
            raise ServiceTimeout(self.name, order_id, f"no answer within {timeout_ms} ms")

    def sent_counts(self) -> Counter[str]:
        """Number of emails sent per order id."""
        with self.lock:
            return Counter(self.sent)


@dataclass
class Services:
    """The three services of one run."""

    payment: PaymentService
    inventory: InventoryService
    email: EmailService
    validate_ms: float = field(default=0.0)

    def calls(self) -> dict[str, dict[str, int]]:
        """Calls, failures and timeouts per service."""
        return {s.name: {"calls": s.calls, "failures": s.failures, "timeouts": s.timeouts}
                for s in (self.payment, self.inventory, self.email)}


def make_services(*, seed: int, time_scale: float = 0.01,
                  failure_rates: dict[str, float] | None = None,
                  slow_service: str | None = None, slow_factor: float = 20.0) -> Services:
    """Build payment, inventory and email services with the seed's latencies × ``time_scale``.

    Args:
        seed: decides every fault and latency.
        time_scale: real milliseconds per seed millisecond (0.01 -> payment takes ~8 ms).
        failure_rates: per service (``payment``, ``inventory``, ``email``) in [0, 1).
        slow_service: one service whose latency is multiplied by ``slow_factor``.

    Raises:
        InvalidInput: an unknown service name or an out-of-range rate.
    """
    scale = number("time_scale", time_scale, minimum=0.0, maximum=1.0)
    rates = dict.fromkeys(SERVICE_NAMES, 0.0)
    for name, rate in (failure_rates or {}).items():
        choice("service", name, SERVICE_NAMES)
        rates[name] = probability(f"failure_rates[{name!r}]", rate)
    if slow_service is not None:
        choice("slow_service", slow_service, SERVICE_NAMES)
    factor = number("slow_factor", slow_factor, minimum=1.0)
    if not math.isfinite(factor):
        raise InvalidInput(f"slow_factor must be finite, got {slow_factor!r}")

    def faults(name: str) -> ServiceFaults:
        return ServiceFaults(SEED_LATENCY_MS[name] * scale, rates[name],
                             factor if name == slow_service else 1.0)

    return Services(PaymentService(faults("payment"), seed),
                    InventoryService(faults("inventory"), seed),
                    EmailService(faults("email"), seed),
                    validate_ms=SEED_LATENCY_MS["validate"] * scale)
