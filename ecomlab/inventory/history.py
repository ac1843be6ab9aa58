"""A Jepsen-style history of every operation, and the checker that judges a run from it.

Each buyer and the validator record ``invoke`` before an operation and ``ok`` / ``fail`` / ``info``
after it (``info`` = the outcome is unknown to the caller, e.g. it crashed), with a timestamp and
the process that did it. :func:`check` reads the history together with the final stock rows, the
orders table and the payment ledger, and returns a verdict with its evidence.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ecomlab.errors import InvalidInput, choices_text
from ecomlab.inventory.payments import LedgerEntry

__all__ = [
    "OP_TYPES",
    "CheckReport",
    "History",
    "Op",
    "OrderRecord",
    "StockRow",
    "check",
    "group_by_process",
]

OP_TYPES: tuple[str, ...] = ("invoke", "ok", "fail", "info")


@dataclass(frozen=True)
class Op:
    """One history event.

    Attributes:
        index: position in the history.
        process: who did it (``buyer-3``, ``validator``).
        type: ``invoke``, ``ok``, ``fail`` or ``info``.
        f: the operation (``order``, ``validate``, ``compensate``).
        order_id: the order concerned.
        time_ns: nanoseconds since the history started.
        value: details (``lines`` as ``[[sku, quantity], ...]``, a ``reason``...).
    """

    index: int
    process: str
    type: str
    f: str
    order_id: int
    time_ns: int
    value: dict[str, Any] = field(default_factory=dict)


class History:
    """An append-only, thread-safe list of :class:`Op`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._t0 = time.perf_counter_ns()

    def record(self, process: str, type_: str, f: str, order_id: int,
               **value: Any) -> Op:
        """Append one event stamped with the current time."""
        if type_ not in OP_TYPES:
            raise InvalidInput(f"unknown op type {type_!r}; choose {choices_text(OP_TYPES)}")
        with self._lock:
            op = Op(len(self._ops), process, type_, f, order_id,
                    time.perf_counter_ns() - self._t0, dict(value))
            self._ops.append(op)
            return op

    @property
    def ops(self) -> list[Op]:
        """A copy of the events, in the order they were recorded."""
        with self._lock:
            return list(self._ops)

    def __len__(self) -> int:
        return len(self._ops)

    def to_records(self) -> list[dict[str, Any]]:
        """The history as plain dicts."""
        return [asdict(op) for op in self.ops]

    def to_json(self) -> str:
        """The history as a JSON array, one object per event."""
        return json.dumps(self.to_records())

    @classmethod
    def from_ops(cls, ops: Sequence[Op]) -> History:
        """A history holding ``ops`` (for hand-made histories in tests and exercises)."""
        h = cls()
        h._ops = list(ops)
        return h


@dataclass(frozen=True)
class StockRow:
    """One SKU's final stock in the source of truth (units)."""

    available: int
    reserved: int
    sold: int


@dataclass(frozen=True)
class OrderRecord:
    """An order as the source of truth holds it at the end of a run."""

    status: str
    lines: tuple[tuple[str, int], ...]
    amount_cents: int


@dataclass
class CheckReport:
    """The checker's verdict and its evidence (all counts in units or orders)."""

    valid: bool
    anomalies: list[str]
    orders_attempted: int
    orders_accepted: int
    orders_confirmed: int
    orders_cancelled: int
    orders_rejected: int
    unresolved_orders: int
    lost_orders: int
    oversold_units: int
    oversold_by_sku: dict[str, int]
    uncompensated_oversold_units: int
    unrefunded_cancellations: int
    negative_stock: list[str]
    lost_update_units: int
    conservation_ok: bool
    conservation: dict[str, dict[str, int]]
    refunds: int
    double_refunds: int
    books_balance: bool
    unbalanced_orders: int
    time_to_consistency_ms: list[float]
    #: units reserved in a cache that no order holds (a buyer crashed after reserving): unsold
    #: while buyers were turned away; only reservation-based strategies can leak
    leaked_units: int = 0

    def add_leaked_units(self, units: int) -> None:
        """Record leaked reservations as their own anomaly (the run is then not valid)."""
        self.leaked_units = units
        if units:
            self.anomalies.append(f"{units} units reserved that no order holds (leaked "
                                  "reservations: unsold while buyers were turned away)")
            self.valid = False

    def as_dict(self) -> dict[str, Any]:
        """The report as a plain dict."""
        return asdict(self)


def check(history: History | Sequence[Op], *, initial: Mapping[str, int],
          final: Mapping[str, StockRow], orders: Mapping[int, OrderRecord],
          ledger: Sequence[LedgerEntry]) -> CheckReport:
    """Judge a run.

    Args:
        history: the recorded operations.
        initial: initial stock per SKU (units).
        final: final stock rows per SKU in the source of truth.
        orders: the orders table at the end (order id -> record); attempted orders missing
            here were never created.
        ledger: every charge and refund.
    """
    ops = history.ops if isinstance(history, History) else list(history)
    attempted, accepted_at, compensated_at = _read_ops(ops)
    anomalies: list[str] = []
    fate = _OrderFates.of(orders, attempted, accepted_at, anomalies)

    def units(order_ids: set[int] | dict[int, int]) -> Counter[str]:
        c: Counter[str] = Counter()
        for oid in order_ids:
            lines = orders[oid].lines if oid in orders else tuple(attempted.get(oid, ()))
            for sku, q in lines:
                c[sku] += q
        return c

    accepted_units = units(accepted_at)
    confirmed_units = units(fate.confirmed)
    pending_units = units(fate.unresolved)
    oversold_by_sku = {sku: max(0, accepted_units[sku] - initial.get(sku, 0))
                       for sku in sorted(set(accepted_units))}
    oversold_by_sku = {k: v for k, v in oversold_by_sku.items() if v}
    books = _Books.of(ledger, orders, fate, anomalies)
    uncompensated = 0
    for sku in set(initial) | set(confirmed_units):
        uncompensated += max(0, confirmed_units[sku] - initial.get(sku, 0))
    for oid in books.unrefunded:
        uncompensated += sum(q for _, q in orders[oid].lines)
    if uncompensated:
        anomalies.append(f"{uncompensated} oversold units never compensated")
    stock = _StockAudit.of(initial, final, confirmed_units, pending_units, anomalies)
    ttc = sorted((compensated_at[o] - accepted_at[o]) / 1e6
                 for o in compensated_at if o in accepted_at)
    return CheckReport(
        valid=not anomalies,
        anomalies=anomalies,
        orders_attempted=len(attempted),
        orders_accepted=len(accepted_at),
        orders_confirmed=len(fate.confirmed),
        orders_cancelled=len(fate.cancelled),
        orders_rejected=len(fate.rejected),
        unresolved_orders=len(fate.unresolved),
        lost_orders=len(fate.lost),
        oversold_units=sum(oversold_by_sku.values()),
        oversold_by_sku=oversold_by_sku,
        uncompensated_oversold_units=uncompensated,
        unrefunded_cancellations=len(books.unrefunded),
        negative_stock=stock.negative,
        lost_update_units=stock.lost_update_units,
        conservation_ok=stock.conserved,
        conservation=stock.conservation,
        refunds=sum(books.refunds_by_order.values()),
        double_refunds=books.double_refunds,
        books_balance=books.unbalanced == 0,
        unbalanced_orders=books.unbalanced,
        time_to_consistency_ms=ttc,
    )


def _read_ops(ops: Sequence[Op]
              ) -> tuple[dict[int, list[tuple[str, int]]], dict[int, int], dict[int, int]]:
    """From the history: each attempted order's lines, when each order was acknowledged and
    when each was first compensated (``perf_counter_ns``)."""
    attempted: dict[int, list[tuple[str, int]]] = {}
    accepted_at: dict[int, int] = {}
    compensated_at: dict[int, int] = {}
    for op in ops:
        if op.f == "order" and op.type == "invoke":
            attempted[op.order_id] = [(str(s), int(q)) for s, q in op.value.get("lines", [])]
        elif op.f == "order" and op.type == "ok":
            accepted_at[op.order_id] = op.time_ns
        elif op.f == "compensate" and op.type == "ok":
            compensated_at.setdefault(op.order_id, op.time_ns)
    return attempted, accepted_at, compensated_at


@dataclass(frozen=True)
class _OrderFates:
    """Where each attempted order ended: its status in the store, or lost after acknowledgement."""

    confirmed: set[int]
    cancelled: set[int]
    unresolved: set[int]
    rejected: set[int]
    lost: set[int]

    @classmethod
    def of(cls, orders: Mapping[int, OrderRecord], attempted: Mapping[int, object],
           accepted_at: Mapping[int, int], anomalies: list[str]) -> _OrderFates:
        """Sort the orders by fate; unresolved and lost orders are anomalies."""
        status = {oid: rec.status for oid, rec in orders.items()}
        confirmed = {o for o, s in status.items() if s == "confirmed"}
        cancelled = {o for o, s in status.items() if s == "cancelled"}
        unresolved = {o for o, s in status.items()
                      if s not in ("confirmed", "cancelled", "rejected")}
        rejected = set(attempted) - confirmed - cancelled - unresolved
        lost = {o for o in accepted_at if status.get(o) not in ("confirmed", "cancelled")}
        lost -= unresolved
        if unresolved:
            anomalies.append(f"{len(unresolved)} orders still unresolved "
                             f"(e.g. {sorted(unresolved)[:3]})")
        if lost:
            anomalies.append(f"{len(lost)} acknowledged orders missing or rejected in the store "
                             f"(e.g. {sorted(lost)[:3]})")
        return cls(confirmed, cancelled, unresolved, rejected, lost)


@dataclass(frozen=True)
class _Books:
    """The payment ledger against the orders: refunds, double refunds, unbalanced orders."""

    refunds_by_order: Counter[int]
    double_refunds: int
    unrefunded: set[int]
    unbalanced: int

    @classmethod
    def of(cls, ledger: Sequence[LedgerEntry], orders: Mapping[int, OrderRecord],
           fate: _OrderFates, anomalies: list[str]) -> _Books:
        """Balance every resolved order's charges and refunds against its final status."""
        refunds_by_order: Counter[int] = Counter()
        charged: Counter[int] = Counter()
        refunded: Counter[int] = Counter()
        for e in ledger:
            if e.kind == "refund":
                refunds_by_order[e.order_id] += 1
                refunded[e.order_id] += e.amount_cents
            else:
                charged[e.order_id] += e.amount_cents
        double_refunds = sum(1 for n in refunds_by_order.values() if n > 1)
        if double_refunds:
            anomalies.append(f"{double_refunds} orders refunded more than once")
        unrefunded = {o for o in fate.cancelled if refunds_by_order[o] == 0 and charged[o] > 0}
        if unrefunded:
            anomalies.append(f"{len(unrefunded)} cancelled orders never refunded")
        unbalanced = 0
        for oid in set(charged) | set(refunded) | fate.confirmed:
            expected = orders[oid].amount_cents if oid in fate.confirmed else 0
            if oid in fate.unresolved:
                continue
            if charged[oid] - refunded[oid] != expected:
                unbalanced += 1
        if unbalanced:
            anomalies.append(f"{unbalanced} orders whose payments do not balance")
        return cls(refunds_by_order, double_refunds, unrefunded, unbalanced)


@dataclass(frozen=True)
class _StockAudit:
    """The final stock rows against the initial stock: negative rows, conservation, lost updates."""

    negative: list[str]
    conservation: dict[str, dict[str, int]]
    conserved: bool
    lost_update_units: int

    @classmethod
    def of(cls, initial: Mapping[str, int], final: Mapping[str, StockRow],
           confirmed_units: Counter[str], pending_units: Counter[str],
           anomalies: list[str]) -> _StockAudit:
        """Audit each SKU's row: units conserved, and committed orders' units gone from stock."""
        negative = sorted(sku for sku, row in final.items()
                          if row.available < 0 or row.reserved < 0 or row.sold < 0)
        if negative:
            anomalies.append(f"negative stock on {negative[:5]}")
        conservation: dict[str, dict[str, int]] = {}
        lost_update_units = 0
        conserved = True
        for sku, start in initial.items():
            row = final.get(sku, StockRow(0, 0, 0))
            total = row.available + row.reserved + row.sold
            conservation[sku] = {"initial": start, "available": row.available,
                                 "reserved": row.reserved, "sold": row.sold,
                                 "difference": total - start}
            if total != start:
                conserved = False
            taken = start - row.available
            lost_update_units += max(0, confirmed_units[sku] + pending_units[sku] - taken)
        if not conserved:
            anomalies.append("stock not conserved: initial != available + reserved + sold")
        if lost_update_units:
            anomalies.append(f"{lost_update_units} units of committed orders never left stock "
                             "(lost updates)")
        return cls(negative, conservation, conserved, lost_update_units)


def group_by_process(ops: Sequence[Op]) -> dict[str, list[Op]]:
    """The events of each process, in order (handy to read a history)."""
    out: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        out[op.process].append(op)
    return dict(out)
