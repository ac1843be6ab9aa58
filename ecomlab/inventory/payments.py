"""A small in-process payment service with an append-only ledger, so refunds can be audited.

Charges and refunds are records (:class:`LedgerEntry`), never counters: the checker reads the
ledger to find cancelled orders that were never refunded, and orders refunded twice. Whether a
charge is declined is drawn from ``default_rng([seed, order_id])``, so it does not depend on which
thread asks first.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ecomlab import validate

__all__ = ["LedgerEntry", "PaymentDeclined", "PaymentLedger"]


class PaymentDeclined(Exception):
    """The payment service declined a charge (an injected fault)."""


@dataclass(frozen=True)
class LedgerEntry:
    """One money movement: ``kind`` is ``charge`` or ``refund``; amounts in USD cents."""

    entry_id: int
    order_id: int
    kind: str
    amount_cents: int
    at_ns: int
    idempotency_key: str | None = None


class PaymentLedger:
    """Charges and refunds of one run, thread-safe.

    Args:
        failure_rate: probability that a charge is declined (0..1).
        seed: the seed that decides which charges are declined.
    """

    def __init__(self, failure_rate: float = 0.0, seed: int = 0) -> None:
        self.failure_rate = validate.probability("payment_failure_rate", failure_rate,
                                                 allow_one=True)
        self.seed = seed
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        self._keys: dict[str, LedgerEntry] = {}
        self.declined = 0

    def charge(self, order_id: int, amount_cents: int) -> LedgerEntry:
        """Charge an order; raises :class:`PaymentDeclined` (and records nothing) if declined."""
        # no draw when nothing can be declined: the generator costs ~0.1 ms per charge
        if self.failure_rate > 0.0 and (
                np.random.default_rng([self.seed, order_id, 7]).random() < self.failure_rate):
            with self._lock:
                self.declined += 1
            raise PaymentDeclined(f"payment for order {order_id} declined")
        return self._append(order_id, "charge", amount_cents, None)

    def refund(self, order_id: int, *, idempotency_key: str | None = None) -> LedgerEntry:
        """Refund everything charged to an order.

        With an ``idempotency_key`` seen before, the earlier refund is returned and nothing new
        is recorded (how real payment APIs make retries safe); without one, every call refunds.
        """
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._keys:
                return self._keys[idempotency_key]
            charged = sum(e.amount_cents for e in self._entries
                          if e.order_id == order_id and e.kind == "charge")
            entry = LedgerEntry(len(self._entries) + 1, order_id, "refund", charged,
                                time.perf_counter_ns(), idempotency_key)
            self._entries.append(entry)
            if idempotency_key is not None:
                self._keys[idempotency_key] = entry
            return entry

    def entries(self) -> list[LedgerEntry]:
        """A copy of the ledger, oldest first."""
        with self._lock:
            return list(self._entries)

    def to_records(self) -> list[dict[str, Any]]:
        """The ledger as plain dicts (for JSON export)."""
        return [asdict(e) for e in self.entries()]

    def _append(self, order_id: int, kind: str, amount_cents: int,
                key: str | None) -> LedgerEntry:
        with self._lock:
            entry = LedgerEntry(len(self._entries) + 1, order_id, kind, amount_cents,
                                time.perf_counter_ns(), key)
            self._entries.append(entry)
            return entry
