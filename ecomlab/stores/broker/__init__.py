"""Message brokers: an in-process broker (embedded) or RabbitMQ by URL, behind one interface.

::

    broker = broker_store()                          # ECOMLAB_AMQP_URL -> RabbitMQ, else in-process
    spec = broker.declare_queue("orders", max_retries=3, retry_delay_ms=50)
    broker.publish("orders", {"order_id": 7}, message_id="order-7")
    with broker.consumer("orders") as inbox:          # one consumer per worker thread
        delivery = inbox.get(timeout_s=1.0)           # None when nothing arrived in time
        ...                                           # do the work, then settle it:
        delivery.ack()                                # done
        # delivery.retry("payment timed out")         # again after retry_delay_ms, or DLQ
        # delivery.nack(requeue=True)                 # back to the queue at once
        # delivery.reject("bad order")                # straight to the dead-letter queue
    broker.dead_letters("orders")                     # what gave up, with the reason
    broker.dispose()                                  # deletes the queues it declared

Each declared queue ``name`` comes with two companions:

* ``name.retry`` — a delay queue: :meth:`Delivery.retry` republishes the message there with the
  header ``x-retries`` incremented and a per-message TTL of ``retry_delay_ms``; when the TTL
  expires the message is dead-lettered back to ``name`` (on RabbitMQ through
  ``x-dead-letter-exchange`` / ``x-dead-letter-routing-key``).
* ``name.dlq`` — the dead-letter queue: messages rejected, whose retries are exhausted
  (``x-retries == max_retries``), or whose per-message TTL expired before anyone took them.

Delivery is at-least-once on both backends: a consumer that closes (or dies) holding
unacknowledged messages has them redelivered with ``redelivered=True``; a retry is republished
before the original is acknowledged. Consumers must therefore be idempotent.

Messages are persistent and queues durable (on RabbitMQ they survive a broker restart).
Bodies are JSON objects (``dict``); anything else is refused with :class:`InvalidInput`.
Thread model: publishing is thread-safe; each worker thread opens its own
:meth:`Broker.consumer` (AMQP channels must not be shared between threads).
:class:`WorkerPool` runs a handler on N threads and settles each message for you.

Modules: :mod:`.base` (the interface), :mod:`.inprocess`, :mod:`.rabbit`, :mod:`.workers`.
"""

from __future__ import annotations

from ecomlab.config import Settings, check_url
from ecomlab.config import settings as read_settings
from ecomlab.stores.broker.base import (
    RETRIES_HEADER,
    Broker,
    Consumer,
    ConsumerCrash,
    Delivery,
    Message,
    QueueSpec,
    QueueStats,
)
from ecomlab.stores.broker.inprocess import (
    InProcessBroker,
)
from ecomlab.stores.broker.rabbit import (
    RabbitBroker,
)
from ecomlab.stores.broker.workers import (
    WorkerPool,
)

__all__ = [
    "RETRIES_HEADER",
    "Broker",
    "Consumer",
    "ConsumerCrash",
    "Delivery",
    "InProcessBroker",
    "Message",
    "QueueSpec",
    "QueueStats",
    "RabbitBroker",
    "WorkerPool",
    "broker_store",
]


def broker_store(url: str | None = None, *, settings: Settings | None = None) -> Broker:
    """Return a broker: RabbitMQ at ``url`` / ``ECOMLAB_AMQP_URL``, else an in-process one.

    Each call returns a new broker object; queues are shared through the server (RabbitMQ) or
    private to the object (in-process). Use unique queue names on a shared server.

    Raises:
        ConfigError: malformed URL or a scheme other than amqp/amqps/pyamqp.
        BackendUnavailable: RabbitMQ did not answer within 3 s.
    """
    cfg = settings if settings is not None else read_settings()
    url = check_url("broker", url) if url is not None else cfg.broker
    if url is None:
        return InProcessBroker()
    return RabbitBroker(url)
