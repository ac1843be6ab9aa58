"""The RabbitMQ consumer: one connection per worker thread, settling each delivery by ack,
requeue, retry through the delay queue, or dead-lettering."""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecomlab.errors import InvalidInput
from ecomlab.stores.broker.base import (
    CONNECT_TIMEOUT_S,
    REASON_HEADER,
    RETRIES_HEADER,
    Delivery,
    Message,
    QueueSpec,
    _check_body,
)
from ecomlab.validate import number

if TYPE_CHECKING:
    from ecomlab.stores.broker.rabbit import RabbitBroker


def _amqp_errors() -> tuple[type[BaseException], ...]:
    import amqp.exceptions  # type: ignore[import-untyped]
    import kombu.exceptions

    return (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError,
            kombu.exceptions.OperationalError, amqp.exceptions.RecoverableConnectionError)


def _amqp_message(body: bytes | str, properties: Mapping[str, Any],
                  delivery_info: Mapping[str, Any], queue: str) -> Message:
    raw = body.encode() if isinstance(body, str) else bytes(body)
    headers = dict(properties.get("application_headers") or properties.get("headers") or {})
    if not queue.endswith(".dlq"):  # left by the retry delay queue; only the DLQ's matter
        headers = {k: v for k, v in headers.items()
                   if not k.startswith(("x-death", "x-first-death", "x-last-death"))}
    published = float(headers.pop("x-published-at", 0.0) or 0.0)
    return Message(json.loads(raw), str(properties.get("message_id") or ""), headers, queue,
                   bool(delivery_info.get("redelivered", False)), published)


class _AmqpConsumer:
    def __init__(self, broker: RabbitBroker, spec: QueueSpec, prefetch: int) -> None:
        self._broker = broker
        self.spec = spec
        self.prefetch = prefetch
        self._buffer: deque[Any] = deque()
        self._conn: Any = None
        self._closed = False
        self._open()

    def _open(self) -> None:
        import kombu

        self._buffer.clear()
        conn = self._broker._connection()
        try:
            conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
            chan = conn.channel()
            chan.basic_qos(0, self.prefetch, False)
            queue = self._broker._kombu_queues(self.spec)[0]
            self._kconsumer = kombu.Consumer(chan, queues=[queue], no_ack=False,
                                             auto_declare=False,
                                             on_message=self._buffer.append)
            self._kconsumer.consume()
        except Exception:
            conn.release()
            raise
        self._conn = conn

    def _release(self) -> None:
        """Give the connection back; one that already broke is simply forgotten."""
        if self._conn is not None:
            with contextlib.suppress(*_amqp_errors()):
                self._conn.release()
            self._conn = None

    def _reopen(self) -> None:
        self._release()
        try:
            self._open()
        except Exception:  # kombu raises transport-specific errors; keep trying on next get
            self._conn = None

    def get(self, timeout_s: float = 1.0) -> Delivery | None:
        """The next message, or None after ``timeout_s`` seconds without one."""
        timeout_s = number("timeout_s", timeout_s, minimum=0.0)
        if self._closed:
            raise InvalidInput("this consumer is closed")
        if not self._buffer:
            if self._conn is None:
                self._reopen()
                if self._conn is None:
                    time.sleep(min(timeout_s, 0.2))  # the server is restarting: back off
                    return None
            try:
                self._conn.drain_events(timeout=max(timeout_s, 0.001))
            except TimeoutError:  # socket.timeout is TimeoutError
                return None
            except _amqp_errors():
                self._reopen()  # the server went away; unacked messages will be redelivered
                return None
        if not self._buffer:
            return None
        raw = self._buffer.popleft()
        msg = _amqp_message(raw.body, raw.properties, raw.delivery_info, self.spec.name)
        conn = self._conn
        published_at = msg.published_at

        def settle(action: str, reason: str, _retry: bool) -> None:
            if conn is not self._conn:
                return  # that connection died: the broker redelivers the message
            try:
                if action == "ack":
                    raw.ack()
                elif action == "requeue":
                    raw.requeue()
                elif action == "retry":
                    headers = {**msg.headers, RETRIES_HEADER: msg.retries + 1,
                               **({"x-retry-reason": reason} if reason else {})}
                    delay = self.spec.retry_delay_ms
                    # a zero delay skips the delay queue (a message without TTL would stay)
                    target = self.spec.retry_queue if delay > 0 else self.spec.name
                    self._broker._publish_raw(target, _check_body(msg.body), msg.message_id,
                                              headers, delay if delay > 0 else None,
                                              published_at)
                    raw.ack()
                elif action == "dead":
                    headers = {**msg.headers, REASON_HEADER: reason}
                    self._broker._publish_raw(self.spec.dead_letter_queue,
                                              _check_body(msg.body), msg.message_id, headers,
                                              None, published_at)
                    raw.ack()
            except _amqp_errors():
                self._reopen()  # settle lost with the connection: it will be redelivered

        return Delivery(msg, self.spec, settle)

    def close(self) -> None:
        """Stop; unsettled messages are redelivered by the server."""
        self._closed = True
        self._release()
        with self._broker._lock:
            self._broker._consumers.discard(self)

    def __enter__(self) -> _AmqpConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
