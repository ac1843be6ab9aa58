"""The search index kept in step through a real RabbitMQ: the outbox converges under crashes."""

from __future__ import annotations

from ecomlab.search.sync import FaultPlan, fault_plan, run_sync
from ecomlab.stores import broker_store
from tests.conftest import real_url


def test_the_outbox_relayed_through_rabbitmq_converges_after_relay_and_indexer_crashes() -> None:
    broker = broker_store(real_url("ECOMLAB_AMQP_URL"))
    try:
        plan = fault_plan(40, 0.25, 5)
        assert plan.crashes and plan.indexer and plan.crashes - plan.indexer
        result = run_sync("outbox", 40, 0.25, seed=5, products=60, broker=broker)
        m = result.metrics
        assert result.backends["broker"]["backend"] == "rabbitmq"
        assert m["faults"] == len(plan.crashes)
        assert {k: v for k, v in m["drift_after"].items() if k != "products"} == {
            "missing": 0, "stale": 0, "extra": 0}
        assert m["redeliveries"] == len(plan.crashes)
        assert m["broker_redelivered"] == len(plan.indexer)
    finally:
        broker.dispose()


def test_a_forced_indexer_crash_on_rabbitmq_is_redelivered_once() -> None:
    broker = broker_store(real_url("ECOMLAB_AMQP_URL"))
    try:
        m = run_sync("outbox", 5, 0.0, seed=2, products=20, broker=broker,
                     faults=FaultPlan(frozenset({4}), frozenset({4}))).metrics
        assert m["broker_redelivered"] == 1 and m["redeliveries"] == 1
        assert m["drift_during"]["stale"] == m["drift_during"]["missing"] == 0
    finally:
        broker.dispose()
