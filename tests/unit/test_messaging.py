"""Messaging topic without a server: services, the direct-call flow, validation and the CLI."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.cli import main
from ecomlab.errors import InvalidInput
from ecomlab.messaging import (
    MessagingParams,
    expected_success_share,
    make_services,
    place_order_directly,
    reordered_share,
    run_messaging,
)
from ecomlab.messaging.flows import OrderRequest
from ecomlab.messaging.services import ServiceTimeout

FAST = {"time_scale": 0.0005, "arrival_rate": 5000.0}


def _failing_order_no(service: object, *, fails: bool, start: int = 0) -> int:
    for n in range(start, start + 10_000):
        if service.fate(n, 0)[0] is fails:  # type: ignore[attr-defined]
            return n
    raise AssertionError("no such order number")


def test_reordered_share_counts_completions_after_a_later_order() -> None:
    assert reordered_share([0, 1, 2, 3]) == 0.0
    assert reordered_share([1, 0, 2, 3]) == 0.25
    assert reordered_share([3, 0, 1, 2]) == 0.75
    assert reordered_share([]) == 0.0


def test_injected_failures_follow_the_rate_and_the_seed() -> None:
    a = make_services(seed=7, failure_rates={"payment": 0.3})
    b = make_services(seed=7, failure_rates={"payment": 0.3})
    fates = [a.payment.fate(n, 0)[0] for n in range(4000)]
    assert fates == [b.payment.fate(n, 0)[0] for n in range(4000)]
    share = sum(fates) / len(fates)
    assert abs(share - 0.3) < 0.03  # > 4 standard errors (0.0072) of a binomial share
    assert not any(a.inventory.fate(n, 0)[0] for n in range(500))


def test_a_payment_that_times_out_is_still_charged() -> None:
    s = make_services(seed=1, time_scale=0.001, slow_service="payment", slow_factor=50)
    with pytest.raises(ServiceTimeout):
        s.payment.charge("ord-1", 10.0, order_no=1, timeout_ms=0.5)
    assert s.payment.charge_counts()["ord-1"] == 1


def test_an_idempotency_key_makes_a_second_charge_a_no_op() -> None:
    s = make_services(seed=1, time_scale=0.0)
    for _ in range(3):
        s.payment.charge("ord-2", 25.0, order_no=2, idempotency_key="ord-2")
    s.payment.charge("ord-3", 25.0, order_no=3)
    s.payment.charge("ord-3", 25.0, order_no=3)
    assert s.payment.charge_counts() == {"ord-2": 1, "ord-3": 2}


def test_direct_flow_refunds_when_inventory_fails_after_payment() -> None:
    s = make_services(seed=3, time_scale=0.0, failure_rates={"inventory": 0.5})
    n = _failing_order_no(s.inventory, fails=True)
    assert not s.payment.fate(n, 0)[0]
    out = place_order_directly(OrderRequest(n, "ord-x", 42.0, 1), s)
    assert (out.ok, out.failed_step, out.compensated) == (False, "inventory", True)
    assert s.payment.charge_counts()["ord-x"] == s.payment.refund_counts()["ord-x"] == 1


def test_direct_flow_reports_an_email_failure_after_charging() -> None:
    s = make_services(seed=3, time_scale=0.0, failure_rates={"email": 0.5})
    n = _failing_order_no(s.email, fails=True)
    out = place_order_directly(OrderRequest(n, "ord-e", 42.0, 1), s)
    assert (out.ok, out.failed_step, out.compensated) == (False, "email", False)
    assert s.payment.charge_counts()["ord-e"] == 1 and not s.payment.refund_counts()["ord-e"]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.05, 0.6))
def test_compensation_keeps_the_direct_payment_ledger_balanced(seed: int, rate: float) -> None:
    r = run_messaging("direct", 40, 0.0, seed, payment_failure_rate=rate,
                      inventory_failure_rate=rate, email_failure_rate=0.0, **FAST)
    m = r.metrics
    assert m["unbalanced_orders"] == 0  # net charge == 1 exactly when stock was reserved
    assert m["orphan_charges"] == 0
    assert m["refunds"] == m["compensations"] == m["failed_by_step"]["inventory"]
    assert m["succeeded"] + m["failed"] == 40 and m["lost"] == 0


def test_direct_flow_succeeds_about_as_often_as_three_independent_calls() -> None:
    r = run_messaging("direct", 600, 0.2, 5, **FAST)
    share = r.metrics["succeeded"] / 600
    assert abs(share - 0.8 ** 3) < 0.08  # closed form (1-f)^3 = 0.512; > 4 standard errors


def test_a_direct_timeout_on_payment_leaves_an_orphan_charge() -> None:
    r = run_messaging("direct", 30, 0.0, 2, slow_service="payment", slow_factor=40,
                      timeout_ms=0.5, time_scale=0.001, arrival_rate=5000.0)
    m = r.metrics
    assert m["timeouts"] > 0
    assert m["orphan_charges"] == m["failed_by_step"]["payment"] > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "sideways"}, "unknown mode 'sideways'; choose 'queue' or 'direct'"),
    ({"failure_rate": 1.0}, "failure_rate must be < 1.0"),
    ({"failure_rate": -0.1}, "failure_rate must be >= 0.0"),
    ({"orders": 0}, "orders must be >= 1"),
    ({"workers": 0}, "workers must be >= 1"),
    ({"slow_service": "shipping"}, "unknown slow_service 'shipping'"),
    ({"idempotent": "yes"}, "idempotent must be True or False"),
    ({"ledger": "disk"}, "unknown ledger 'disk'; choose 'memory' or 'kv'"),
])
def test_bad_parameters_are_refused_naming_the_value(kwargs: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        MessagingParams(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_option_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput, match=r"unknown option.*'colour'.*choose"):
        run_messaging("direct", 5, 0.1, 1, colour="red")


def test_cli_prints_the_documented_json_for_direct_mode(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code = main(["run", "messaging", "--mode", "direct", "--orders", "20",
                 "--failure-rate", "0.3", "--seed", "4", "--time-scale", "0.0005",
                 "--arrival-rate", "5000", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("orders", "succeeded", "dead_lettered", "lost", "duplicate_charges",
                "compensations", "refunds"):
        assert isinstance(data[key], int), key
    assert set(data["response_ms"]) == {"p50", "p95", "p99"}
    assert data["label"] == "measured" and data["orders"] == 20
    assert data["succeeded"] + data["failed"] == 20


@pytest.mark.parametrize("argv", [
    ["--mode", "sideways"], ["--failure-rate", "1"], ["--failure-rate", "-0.2"],
    ["--orders", "0"], ["--workers", "0"], ["--orders", "many"], ["--seed", "-1"],
])
def test_cli_refuses_bad_input_in_one_line_with_status_2(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "messaging", "--mode", "direct", *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_closed_form_success_shares_match_hand_computed_values() -> None:
    assert expected_success_share("direct", 0.3) == pytest.approx(0.343)
    # 0.343 * (1 + 3*0.3 + 6*0.09 + 10*0.027) = 0.343 * 2.71
    assert expected_success_share("queue", 0.3, max_retries=3) == pytest.approx(0.92953)
    assert expected_success_share("queue", 0.3, max_retries=0) == pytest.approx(0.343)
