"""Queue mode on every broker: nothing lost, nothing charged twice, under injected faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.config import Settings
from ecomlab.messaging import run_messaging
from ecomlab.stores import Broker, KvStore, broker_store
from tests.conftest import claimed_prefixes, real_url

FAST = {"time_scale": 0.0005, "arrival_rate": 3000.0, "retry_delay_ms": 2.0}


@pytest.fixture(params=("in-process", "rabbitmq-real"), scope="module")
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """One broker per backend for this module; each run declares and deletes its queue."""
    if request.param == "rabbitmq-real":
        b = broker_store(real_url("ECOMLAB_AMQP_URL"))
    else:
        b = broker_store(settings=Settings())
    try:
        yield b
    finally:
        b.dispose()


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_queue_loses_nothing_and_never_charges_twice_at_30_percent_failures(
        broker: Broker, seed: int) -> None:
    r = run_messaging("queue", 60, 0.3, seed, broker=broker, crash_rate=0.2,
                      duplicate_rate=0.1, drain_timeout_s=30, **FAST)
    m = r.metrics
    assert m["lost"] == 0
    assert m["duplicate_charges"] == 0 and m["duplicate_emails"] == 0
    assert m["orphan_charges"] == 0 and m["unbalanced_orders"] == 0
    assert m["succeeded"] + m["dead_lettered"] == 60
    assert m["retries"] > 0  # the faults really happened
    assert r.backends["broker"]["backend"] == broker.describe()["backend"]


def test_redeliveries_happen_and_the_ledger_absorbs_them(broker: Broker) -> None:
    r = run_messaging("queue", 60, 0.0, 11, broker=broker, crash_rate=0.5, duplicate_rate=0.3,
                      **FAST)
    m = r.metrics
    assert m["consumer_crashes"] > 0 and m["redeliveries"] >= m["consumer_crashes"]
    assert m["skipped_duplicates"] > 0
    assert (m["succeeded"], m["duplicate_charges"], m["lost"]) == (60, 0, 0)


def test_a_naive_consumer_charges_twice_under_the_same_faults(broker: Broker) -> None:
    r = run_messaging("queue", 60, 0.3, 11, broker=broker, crash_rate=0.3, duplicate_rate=0.2,
                      idempotent=False, **FAST)
    assert r.metrics["duplicate_charges"] > 0
    assert r.metrics["lost"] == 0


def test_dead_lettered_orders_carry_their_reason_and_were_refunded(broker: Broker) -> None:
    r = run_messaging("queue", 60, 0.5, 3, broker=broker, max_retries=2, **FAST)
    m = r.metrics
    assert m["dead_lettered"] > 0
    assert all(d["reason"].startswith("retries exhausted") and d["retries"] == 2
               for d in m["dlq"])
    assert m["orphan_charges"] == 0 and m["unbalanced_orders"] == 0


def test_a_slow_payment_with_timeouts_is_retried_without_charging_twice(broker: Broker) -> None:
    r = run_messaging("queue", 30, 0.0, 9, broker=broker, slow_service="payment",
                      slow_factor=40, timeout_ms=0.5, max_retries=1, time_scale=0.001,
                      arrival_rate=3000.0, retry_delay_ms=2.0)
    m = r.metrics
    assert m["timeouts"] > 0
    assert m["duplicate_charges"] == 0 and m["orphan_charges"] == 0 and m["lost"] == 0


def test_the_customer_waits_less_behind_a_queue_when_a_service_is_slow(broker: Broker) -> None:
    # The slow call (60 ms: 60 ms * 100 * 0.002 / 2) is made an order of magnitude longer than
    # a publish, and arrivals are sparse enough that publishes rarely wait for each other, so
    # the comparison holds on a loaded machine (a publish to RabbitMQ took up to ~25 ms there).
    opts = {"slow_service": "inventory", "slow_factor": 100.0, "time_scale": 0.002,
            "arrival_rate": 100.0, "retry_delay_ms": 2.0, "broker": broker}
    direct = run_messaging("direct", 60, 0.0, 5, **opts)
    queue = run_messaging("queue", 60, 0.0, 5, **opts)
    # direct waits for the 60 ms inventory call every time
    assert direct.metrics["response_ms"]["p50"] > 55
    assert queue.metrics["response_ms"]["p50"] < direct.metrics["response_ms"]["p50"]
    assert queue.metrics["completion_ms"]["p50"] > queue.metrics["response_ms"]["p50"]


def test_an_in_process_broker_restart_loses_no_order() -> None:
    r = run_messaging("queue", 80, 0.2, 8, broker_restart=True, crash_rate=0.1,
                      broker=broker_store(settings=Settings()), **FAST)
    m = r.metrics
    assert (m["lost"], m["duplicate_charges"]) == (0, 0)
    assert m["succeeded"] + m["dead_lettered"] == 80


def test_a_restart_of_a_real_broker_needs_a_way_to_restart_it() -> None:
    from ecomlab.errors import UnsupportedOperation

    b = broker_store(real_url("ECOMLAB_AMQP_URL"))
    try:
        with pytest.raises(UnsupportedOperation, match="restart_broker"):
            run_messaging("queue", 5, 0.0, 1, broker=b, broker_restart=True, **FAST)
    finally:
        b.dispose()


def test_queue_success_share_agrees_with_the_negative_binomial_closed_form() -> None:
    from ecomlab.messaging import expected_success_share

    n = 500
    r = run_messaging("queue", n, 0.4, 13, broker=broker_store(settings=Settings()),
                      workers=8, **FAST)
    expected = expected_success_share("queue", 0.4, max_retries=3)  # 0.8208
    # tolerance 0.07 is > 4 binomial standard errors (sqrt(0.82*0.18/500) = 0.017)
    assert abs(r.metrics["succeeded"] / n - expected) < 0.07


def test_a_ledger_in_redis_also_prevents_double_charges(any_kv: KvStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    claimed = claimed_prefixes(any_kv, monkeypatch)
    r = run_messaging("queue", 60, 0.3, 17, broker=broker_store(settings=Settings()),
                      kv=any_kv, ledger="kv", crash_rate=0.3, duplicate_rate=0.2, **FAST)
    m = r.metrics
    assert (m["lost"], m["duplicate_charges"], m["orphan_charges"]) == (0, 0, 0)
    assert m["redeliveries"] > 0 and m["skipped_duplicates"] > 0
    assert r.backends["kv"]["backend"] == any_kv.backend
    assert len(claimed) == 1 and claimed[0].startswith("ecomlab:messaging:")
    assert list(any_kv.client.scan_iter(match=claimed[0] + "*")) == []  # the ledger cleaned up


def test_two_consumers_racing_on_the_redis_ledger_mark_a_step_once(any_kv: KvStore) -> None:
    import threading
    import uuid

    from ecomlab.messaging import KvLedger

    ledger = KvLedger(any_kv.client, f"ecomlab:messaging:test-{uuid.uuid4().hex[:8]}")
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        wins.append(ledger.mark("ord-1", "payment"))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(wins) == [False] * 7 + [True]
        assert ledger.done("ord-1", "payment") and not ledger.done("ord-1", "inventory")
    finally:
        ledger.clear()
