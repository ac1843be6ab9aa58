"""The validated parameters of one messaging run (:class:`MessagingParams`)."""

from __future__ import annotations

from dataclasses import dataclass

from ecomlab.errors import InvalidInput
from ecomlab.messaging.choices import LEDGERS, MODES
from ecomlab.messaging.services import SERVICE_NAMES
from ecomlab.validate import choice, integer, number, probability

__all__ = ["SEED_RETRY_DELAY_MS", "MessagingParams"]

SEED_RETRY_DELAY_MS = 1000.0  # the seed's retry delay before time scaling (ms)


@dataclass(frozen=True)
class MessagingParams:
    """The validated parameters of one run (times in real ms unless stated)."""

    mode: str = "queue"
    orders: int = 200
    failure_rate: float = 0.1
    seed: int = 42
    payment_failure_rate: float | None = None
    inventory_failure_rate: float | None = None
    email_failure_rate: float | None = None
    slow_service: str | None = None
    slow_factor: float = 20.0
    timeout_ms: float | None = None
    duplicate_rate: float = 0.0
    crash_rate: float = 0.0
    broker_restart: bool = False
    idempotent: bool = True
    workers: int = 4
    web_workers: int = 8
    arrival_rate: float = 200.0
    max_retries: int = 3
    retry_delay_ms: float | None = None
    time_scale: float = 0.01
    ledger: str = "memory"

    def __post_init__(self) -> None:
        choice("mode", self.mode, MODES)
        choice("ledger", self.ledger, LEDGERS)
        integer("orders", self.orders, minimum=1, maximum=100_000)
        probability("failure_rate", self.failure_rate)
        integer("seed", self.seed, minimum=0)
        for name in SERVICE_NAMES:
            rate = getattr(self, f"{name}_failure_rate")
            if rate is not None:
                probability(f"{name}_failure_rate", rate)
        if self.slow_service is not None:
            choice("slow_service", self.slow_service, SERVICE_NAMES)
        number("slow_factor", self.slow_factor, minimum=1.0, maximum=1000.0)
        if self.timeout_ms is not None:
            number("timeout_ms", self.timeout_ms, minimum=0.0, min_inclusive=False)
        probability("duplicate_rate", self.duplicate_rate)
        probability("crash_rate", self.crash_rate)
        integer("workers", self.workers, minimum=1, maximum=64)
        integer("web_workers", self.web_workers, minimum=1, maximum=256)
        number("arrival_rate", self.arrival_rate, minimum=0.0, min_inclusive=False,
               maximum=100_000.0)
        integer("max_retries", self.max_retries, minimum=0, maximum=20)
        if self.retry_delay_ms is not None:
            number("retry_delay_ms", self.retry_delay_ms, minimum=0.0)
        number("time_scale", self.time_scale, minimum=0.0, maximum=1.0)
        for flag in ("broker_restart", "idempotent"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidInput(f"{flag} must be True or False, got {getattr(self, flag)!r}")

    def rates(self) -> dict[str, float]:
        """Failure rate per service (the per-service value, else ``failure_rate``)."""
        out = {}
        for name in SERVICE_NAMES:
            rate = getattr(self, f"{name}_failure_rate")
            out[name] = self.failure_rate if rate is None else rate
        return out

    @property
    def retry_delay(self) -> float:
        """Real retry delay (ms)."""
        if self.retry_delay_ms is not None:
            return self.retry_delay_ms
        return SEED_RETRY_DELAY_MS * self.time_scale

