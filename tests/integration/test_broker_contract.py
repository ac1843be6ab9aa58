"""One contract, both brokers: what the topics rely on from ``ecomlab.stores.broker``.

Runs on the in-process broker always and on RabbitMQ when ``ECOMLAB_AMQP_URL`` is set. Queue
names are unique per test, and every queue a test declares is deleted when it ends.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from ecomlab.config import Settings
from ecomlab.errors import ConfigError, InvalidInput
from ecomlab.stores import Broker, Delivery, WorkerPool, broker_store
from tests.conftest import real_url


@pytest.fixture(params=("in-process", "rabbitmq-real"))
def any_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """A broker on each available backend; its queues are deleted afterwards."""
    if request.param == "rabbitmq-real":
        broker = broker_store(real_url("ECOMLAB_AMQP_URL"))
    else:
        broker = broker_store(settings=Settings())
    try:
        yield broker
    finally:
        broker.dispose()


def _name() -> str:
    return f"ecomlab-test-{uuid.uuid4().hex[:12]}"


def _get(broker: Broker, queue: str, timeout_s: float = 2.0) -> Delivery:
    with broker.consumer(queue) as inbox:
        d = inbox.get(timeout_s=timeout_s)
        assert d is not None, "expected a message"
        d.ack()
        return d


def test_published_message_arrives_with_body_id_and_headers(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    mid = any_broker.publish(q, {"order_id": 7, "sku": "LAP-1"}, message_id="order-7",
                             headers={"tenant": "eu"})
    assert mid == "order-7"
    msg = _get(any_broker, q).message
    assert (msg.body, msg.message_id, msg.headers.get("tenant")) == (
        {"order_id": 7, "sku": "LAP-1"}, "order-7", "eu")
    assert msg.retries == 0 and not msg.redelivered
    assert any_broker.stats(q).ready == 0


def test_a_single_consumer_receives_messages_in_publish_order(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    for i in range(20):
        any_broker.publish(q, {"i": i})
    assert any_broker.depth(q) == 20
    seen = []
    with any_broker.consumer(q) as inbox:
        for _ in range(20):
            d = inbox.get(timeout_s=2.0)
            assert d is not None
            seen.append(d.message.body["i"])
            d.ack()
    assert seen == list(range(20))


def test_retry_waits_the_delay_counts_retries_then_dead_letters(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name(), max_retries=2, retry_delay_ms=150).name
    any_broker.publish(q, {"order_id": 1}, message_id="m-1")
    retries = []
    with any_broker.consumer(q) as inbox:
        for attempt in range(3):
            d = inbox.get(timeout_s=3.0)
            assert d is not None
            retries.append(d.message.retries)
            t0 = time.monotonic()
            will_retry = d.retry("payment declined")
            assert will_retry is (attempt < 2)
            if will_retry:
                again = inbox.get(timeout_s=3.0)
                waited_ms = (time.monotonic() - t0) * 1000
                assert again is not None
                assert waited_ms >= 140, f"redelivered after {waited_ms:.0f} ms, delay is 150"
                again.nack(requeue=True)  # put it back for the next loop turn
        assert inbox.get(timeout_s=0.3) is None
    assert retries == [0, 1, 2]
    dead = any_broker.dead_letters(q)
    assert [(m.message_id, m.retries) for m in dead] == [("m-1", 2)]
    assert dead[0].death_reason == "retries exhausted: payment declined"
    assert any_broker.stats(q) == type(any_broker.stats(q))(ready=0, retrying=0, dead=1)


def test_nack_with_requeue_redelivers_flagged_as_redelivered(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    any_broker.publish(q, {"x": 1}, message_id="once")
    with any_broker.consumer(q) as inbox:
        first = inbox.get(timeout_s=2.0)
        assert first is not None and not first.message.redelivered
        first.nack(requeue=True)
        second = inbox.get(timeout_s=2.0)
        assert second is not None
        assert (second.message.message_id, second.message.redelivered) == ("once", True)
        second.ack()


def test_a_consumer_closed_before_ack_has_its_message_redelivered(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    any_broker.publish(q, {"order_id": 9}, message_id="crash-me")
    crashed = any_broker.consumer(q)
    d = crashed.get(timeout_s=2.0)
    assert d is not None
    crashed.close()  # dies holding an unacknowledged message
    again = _get(any_broker, q, timeout_s=5.0).message
    assert (again.message_id, again.redelivered) == ("crash-me", True)


def test_an_expired_message_goes_to_the_dead_letter_queue(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    any_broker.publish(q, {"flash_sale": True}, message_id="late", ttl_ms=50)
    deadline = time.monotonic() + 5
    while any_broker.stats(q).dead == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    with any_broker.consumer(q) as inbox:
        assert inbox.get(timeout_s=0.2) is None
    dead = any_broker.dead_letters(q)
    assert [(m.message_id, m.death_reason) for m in dead] == [("late", "expired")]


def test_reject_dead_letters_at_once_and_dlq_reading_leaves_it(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name(), max_retries=3).name
    any_broker.publish(q, {"sku": "BAD"}, message_id="poison")
    with any_broker.consumer(q) as inbox:
        d = inbox.get(timeout_s=2.0)
        assert d is not None
        d.reject("unknown sku")
    first = any_broker.dead_letters(q)
    second = any_broker.dead_letters(q)
    assert [m.death_reason for m in first] == ["rejected: unknown sku"]
    assert [m.message_id for m in second] == ["poison"]
    assert any_broker.stats(q).dead == 1


def test_competing_consumers_process_each_message_exactly_once(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def handle(d: Delivery) -> None:
        with lock:
            seen[d.message.body["i"]] += 1

    with WorkerPool(any_broker, q, handle, workers=4) as pool:
        for i in range(200):
            any_broker.publish(q, {"i": i})
        assert pool.wait_until(lambda: sum(seen.values()) >= 200, timeout_s=20)
        time.sleep(0.1)  # give a wrongly duplicated delivery time to show up
    assert set(seen) == set(range(200)) and max(seen.values()) == 1
    assert any_broker.stats(q).ready == 0


def test_a_failing_handler_is_retried_by_the_pool(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name(), max_retries=3, retry_delay_ms=20).name
    attempts: Counter[str] = Counter()

    def flaky(d: Delivery) -> None:
        attempts[d.message.message_id] += 1
        if d.message.retries < 2:
            raise ConnectionError("inventory service unavailable")

    with WorkerPool(any_broker, q, flaky, workers=2) as pool:
        any_broker.publish(q, {"order_id": 3}, message_id="o-3")
        assert pool.wait_until(lambda: attempts["o-3"] >= 3, timeout_s=10)
    assert attempts["o-3"] == 3
    assert any_broker.stats(q) == type(any_broker.stats(q))(0, 0, 0)


def test_purge_empties_and_delete_forgets_the_queue(any_broker: Broker) -> None:
    q = any_broker.declare_queue(_name()).name
    for i in range(3):
        any_broker.publish(q, {"i": i})
    assert any_broker.purge(q) == 3
    assert any_broker.depth(q) == 0
    any_broker.delete(q)
    with pytest.raises(InvalidInput, match="not declared"):
        any_broker.publish(q, {"i": 4})


@pytest.mark.parametrize("body", [["not", "a", "dict"], "text", {"when": object()}])
def test_a_body_that_is_not_a_json_object_is_refused(any_broker: Broker, body: object) -> None:
    q = any_broker.declare_queue(_name()).name
    with pytest.raises(InvalidInput):
        any_broker.publish(q, body)  # type: ignore[arg-type]
    assert any_broker.depth(q) == 0


def test_bad_names_unknown_queues_and_double_settles_are_refused(any_broker: Broker) -> None:
    with pytest.raises(InvalidInput, match="queue name"):
        any_broker.declare_queue("orders; DROP")
    with pytest.raises(InvalidInput, match="max_retries"):
        any_broker.declare_queue(_name(), max_retries=-1)
    with pytest.raises(InvalidInput, match="not declared"):
        any_broker.publish("never-declared", {"x": 1})
    q = any_broker.declare_queue(_name()).name
    any_broker.publish(q, {"x": 1})
    d = _get(any_broker, q)
    with pytest.raises(InvalidInput, match="already settled"):
        d.ack()


def test_the_factory_refuses_a_url_of_the_wrong_kind() -> None:
    with pytest.raises(ConfigError, match="scheme"):
        broker_store("redis://127.0.0.1:6379/0")


def test_the_factory_picks_rabbitmq_from_the_environment() -> None:
    url = real_url("ECOMLAB_AMQP_URL")
    broker = broker_store(settings=Settings(broker=url))
    try:
        assert broker.describe()["backend"] == "rabbitmq"
        assert broker.describe()["embedded"] is False
    finally:
        broker.dispose()
