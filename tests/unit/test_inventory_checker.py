"""The inventory checker, the ledger, the event bus and the workload, without any store."""

from __future__ import annotations

import json

import pytest

from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.inventory.eventual import EventBus, OrderCreated
from ecomlab.inventory.experiment import resolve_backend
from ecomlab.inventory.history import History, Op, OrderRecord, StockRow, check
from ecomlab.inventory.model import Line, check_lines, generate_workload, make_skus
from ecomlab.inventory.payments import LedgerEntry, PaymentDeclined, PaymentLedger

SKU = "RUN-URBA-0000001"


def _op(i: int, process: str, type_: str, f: str, oid: int, t_ms: float, **value: object) -> Op:
    return Op(i, process, type_, f, oid, int(t_ms * 1e6), dict(value))


def _order(i: int, oid: int, t_ms: float, outcome: str, qty: int = 1) -> list[Op]:
    return [_op(i, f"buyer-{oid}", "invoke", "order", oid, t_ms, lines=[[SKU, qty]]),
            _op(i + 1, f"buyer-{oid}", outcome, "order", oid, t_ms + 1)]


def _charge(eid: int, oid: int, cents: int = 1000) -> LedgerEntry:
    return LedgerEntry(eid, oid, "charge", cents, 0)


def _refund(eid: int, oid: int, cents: int = 1000) -> LedgerEntry:
    return LedgerEntry(eid, oid, "refund", cents, 0)


def _rec(status: str, qty: int = 1) -> OrderRecord:
    return OrderRecord(status, ((SKU, qty),), 1000 * qty)


def test_checker_accepts_a_clean_strong_run() -> None:
    ops = _order(0, 1, 0, "ok") + _order(2, 2, 0, "ok") + _order(4, 3, 0, "fail")
    report = check(ops, initial={SKU: 2}, final={SKU: StockRow(0, 0, 2)},
                   orders={1: _rec("confirmed"), 2: _rec("confirmed")},
                   ledger=[_charge(1, 1), _charge(2, 2)])
    assert report.valid, report.anomalies
    assert (report.orders_confirmed, report.orders_rejected, report.oversold_units) == (2, 1, 0)


def test_checker_counts_oversell_that_was_compensated_as_valid_with_its_delay() -> None:
    ops = (_order(0, 1, 0, "ok") + _order(2, 2, 0, "ok")
           + [_op(4, "validator", "ok", "compensate", 2, 26.0)])
    report = check(ops, initial={SKU: 1}, final={SKU: StockRow(0, 0, 1)},
                   orders={1: _rec("confirmed"), 2: _rec("cancelled")},
                   ledger=[_charge(1, 1), _charge(2, 2), _refund(3, 2)])
    assert report.valid, report.anomalies
    assert report.oversold_units == 1
    assert report.uncompensated_oversold_units == 0
    assert report.time_to_consistency_ms == [25.0]


def test_checker_flags_an_oversell_sold_beyond_stock() -> None:
    ops = _order(0, 1, 0, "ok") + _order(2, 2, 0, "ok")
    report = check(ops, initial={SKU: 1}, final={SKU: StockRow(-1, 0, 2)},
                   orders={1: _rec("confirmed"), 2: _rec("confirmed")},
                   ledger=[_charge(1, 1), _charge(2, 2)])
    assert not report.valid
    assert report.uncompensated_oversold_units == 1
    assert report.negative_stock == [SKU]


def test_checker_flags_a_cancelled_order_never_refunded() -> None:
    ops = _order(0, 1, 0, "ok")
    report = check(ops, initial={SKU: 0}, final={SKU: StockRow(0, 0, 0)},
                   orders={1: _rec("cancelled")}, ledger=[_charge(1, 1)])
    assert not report.valid
    assert report.unrefunded_cancellations == 1
    assert report.uncompensated_oversold_units == 1
    assert not report.books_balance


def test_checker_flags_a_double_refund() -> None:
    ops = _order(0, 1, 0, "ok")
    report = check(ops, initial={SKU: 0}, final={SKU: StockRow(0, 0, 0)},
                   orders={1: _rec("cancelled")},
                   ledger=[_charge(1, 1), _refund(2, 1), _refund(3, 1)])
    assert not report.valid
    assert report.double_refunds == 1
    assert report.refunds == 2
    assert not report.books_balance


def test_checker_flags_a_lost_update_that_breaks_conservation() -> None:
    # two confirmed orders but available only went down by one: one decrement was overwritten
    ops = _order(0, 1, 0, "ok") + _order(2, 2, 0, "ok")
    report = check(ops, initial={SKU: 5}, final={SKU: StockRow(4, 0, 2)},
                   orders={1: _rec("confirmed"), 2: _rec("confirmed")},
                   ledger=[_charge(1, 1), _charge(2, 2)])
    assert not report.valid
    assert report.lost_update_units == 1
    assert not report.conservation_ok
    assert report.conservation[SKU]["difference"] == 1


def test_checker_flags_an_acknowledged_order_that_is_missing() -> None:
    ops = _order(0, 1, 0, "ok")
    report = check(ops, initial={SKU: 5}, final={SKU: StockRow(5, 0, 0)}, orders={},
                   ledger=[])
    assert not report.valid
    assert report.lost_orders == 1


def test_checker_flags_orders_left_pending() -> None:
    ops = _order(0, 1, 0, "ok")
    report = check(ops, initial={SKU: 5}, final={SKU: StockRow(5, 0, 0)},
                   orders={1: _rec("pending")}, ledger=[_charge(1, 1)])
    assert not report.valid
    assert report.unresolved_orders == 1


def test_checker_treats_a_crashed_buyer_without_an_order_row_as_rejected() -> None:
    ops = [_op(0, "buyer-1", "invoke", "order", 1, 0, lines=[[SKU, 1]]),
           _op(1, "buyer-1", "info", "order", 1, 1, reason="buyer_crashed")]
    report = check(ops, initial={SKU: 5}, final={SKU: StockRow(5, 0, 0)}, orders={},
                   ledger=[])
    assert report.valid
    assert report.orders_rejected == 1


def test_history_exports_every_event_as_json() -> None:
    h = History()
    h.record("buyer-0", "invoke", "order", 1, lines=[[SKU, 2]])
    h.record("buyer-0", "ok", "order", 1)
    data = json.loads(h.to_json())
    assert [(e["type"], e["order_id"]) for e in data] == [("invoke", 1), ("ok", 1)]
    assert data[0]["value"] == {"lines": [[SKU, 2]]}
    assert data[1]["time_ns"] >= data[0]["time_ns"]
    with pytest.raises(InvalidInput, match="unknown op type 'done'"):
        h.record("buyer-0", "done", "order", 1)


def test_ledger_refund_with_the_same_idempotency_key_is_recorded_once() -> None:
    ledger = PaymentLedger()
    ledger.charge(1, 999)
    first = ledger.refund(1, idempotency_key="refund-1")
    again = ledger.refund(1, idempotency_key="refund-1")
    assert first == again
    assert [e.kind for e in ledger.entries()] == ["charge", "refund"]
    ledger.refund(1)
    assert [e.kind for e in ledger.entries()] == ["charge", "refund", "refund"]


def test_ledger_declines_the_same_orders_for_the_same_seed() -> None:
    def declined(seed: int) -> list[int]:
        ledger = PaymentLedger(0.3, seed)
        out = []
        for oid in range(1, 200):
            try:
                ledger.charge(oid, 100)
            except PaymentDeclined:
                out.append(oid)
        return out

    assert declined(1) == declined(1)
    assert 30 < len(declined(1)) < 90


def test_event_bus_redelivers_unacknowledged_events_after_a_crash() -> None:
    bus = EventBus()
    bus.publish(OrderCreated(1, ((SKU, 1),)))
    bus.publish(OrderCreated(2, ((SKU, 1),)))
    first = bus.get(0.1)
    assert first is not None and first.deliveries == 1
    bus.ack(first)
    second = bus.get(0.1)
    assert second is not None
    assert bus.redeliver_unacked() == 1
    again = bus.get(0.1)
    assert again is not None and (again.order_id, again.deliveries) == (2, 2)
    bus.ack(again)
    assert bus.pending() == 0


def test_workload_is_the_same_for_the_same_seed_and_respects_its_bounds() -> None:
    skus = make_skus(5, 10)
    a = generate_workload(skus, 300, 7, seed=3, skew=1.2, max_quantity=3, max_items=2)
    b = generate_workload(skus, 300, 7, seed=3, skew=1.2, max_quantity=3, max_items=2)
    assert a == b
    assert all(1 <= len(o.lines) <= 2 and all(1 <= ln.quantity <= 3 for ln in o.lines)
               for o in a)
    assert all(len({ln.sku for ln in o.lines}) == len(o.lines) for o in a)
    hot = sum(1 for o in a for ln in o.lines if ln.sku == skus[0].sku)
    cold = sum(1 for o in a for ln in o.lines if ln.sku == skus[4].sku)
    assert hot > 2 * cold


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, 101])
def test_order_lines_with_a_bad_quantity_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        check_lines([Line(SKU, bad)], [SKU])  # type: ignore[arg-type]


def test_order_lines_with_an_unknown_or_non_string_sku_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown sku 'NOPE'"):
        check_lines([Line("NOPE", 1)], [SKU])
    with pytest.raises(InvalidInput, match="sku must be a string"):
        check_lines([Line({"$gt": ""}, 1)], [SKU])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at least one line"):
        check_lines([], [SKU])


def test_row_lock_is_refused_on_engines_without_row_locks() -> None:
    with pytest.raises(UnsupportedOperation, match="SQLite silently ignores FOR UPDATE"):
        resolve_backend("row-lock", "sqlite")
    with pytest.raises(UnsupportedOperation, match="DuckDB rejects"):
        resolve_backend("row-lock", "duckdb")
    assert resolve_backend("row-lock", None) == "postgres"


def test_unknown_or_mismatched_backends_are_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput, match="unknown backend 'mysql'"):
        resolve_backend("optimistic", "mysql")
    with pytest.raises(InvalidInput, match="unknown strategy 'yolo'"):
        resolve_backend("yolo", None)
    with pytest.raises(InvalidInput, match="backend must be 'redis'"):
        resolve_backend("cache-check", "duckdb")
    with pytest.raises(InvalidInput, match="needs a relational store"):
        resolve_backend("conditional-update", "redis")
