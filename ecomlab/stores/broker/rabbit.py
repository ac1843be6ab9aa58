"""RabbitMQ through kombu: durable queues, publisher confirms, a delay queue and a DLQ."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ecomlab import runs
from ecomlab.config import redact
from ecomlab.errors import BackendUnavailable
from ecomlab.stores.broker.base import (
    CONNECT_TIMEOUT_S,
    Message,
    QueueSpec,
    QueueStats,
    _check_message,
    _check_spec,
    _Declared,
)
from ecomlab.stores.broker.rabbit_consumer import _amqp_errors, _amqp_message, _AmqpConsumer
from ecomlab.stores.lifecycle import StoreBase
from ecomlab.validate import integer, number

#: Seconds any one AMQP read or write may take (a reply, a publisher confirm, a close):
#: a server that stops answering gives an error, never a wait without end.
IO_TIMEOUT_S = 15.0


class RabbitBroker(StoreBase):
    """RabbitMQ through kombu (py-amqp): durable queues, persistent messages, publisher
    confirms, dead-letter exchanges and a TTL delay queue for retries.

    Publishing reconnects and retries for up to ~30 s, so it rides out a broker restart.
    A server that blocks publishers (a memory or disk alarm) gets a ``BackendUnavailable``
    that says so after at most ``io_timeout_s``; every read and write is bounded by it.
    """

    backend = "rabbitmq"
    embedded = False

    def __init__(self, url: str, *, io_timeout_s: float = IO_TIMEOUT_S) -> None:
        self._io_timeout_s = number("io_timeout_s", io_timeout_s, minimum=0.01)
        self._raw_url = url
        self.url = redact(url)
        self._declared = _Declared()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all_conns: list[Any] = []
        self._consumers: set[_AmqpConsumer] = set()
        self._blocked = False  # the server said it blocks publishers (connection.blocked)
        self._blocked_at = 0.0  # monotonic time of the last sign that it still blocks
        try:
            self._conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # kombu raises transport-specific errors
            self.dispose(keep_queues=True)
            raise BackendUnavailable(
                f"cannot reach RabbitMQ at {self.url!r}: {exc}") from None

    @property
    def _conn(self) -> Any:
        """This thread's publishing connection (AMQP connections are not thread-safe), with
        publisher confirms, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connection(confirm_publish=True)
            self._local.conn = conn
            with self._lock:
                self._all_conns.append(conn)
        return conn

    def _on_blocked(self, reason: str = "") -> None:
        with self._lock:
            self._blocked, self._blocked_at = True, time.monotonic()

    def _on_unblocked(self) -> None:
        with self._lock:
            self._blocked = False

    def _connection(self, *, confirm_publish: bool = False) -> Any:
        """A new connection whose every read and write is bounded by ``io_timeout_s`` and
        which reports the server's ``connection.blocked`` notices to this broker."""
        import kombu

        options: dict[str, Any] = {"read_timeout": self._io_timeout_s,
                                   "write_timeout": self._io_timeout_s,
                                   "on_blocked": self._on_blocked,
                                   "on_unblocked": self._on_unblocked}
        if confirm_publish:
            options["confirm_publish"] = True
        return kombu.Connection(self._raw_url, connect_timeout=CONNECT_TIMEOUT_S,
                                transport_options=options)

    def _blocked_error(self) -> BackendUnavailable:
        # py-amqp passes on a fixed text, not the server's reason; the alarm list has it
        return BackendUnavailable(
            f"RabbitMQ at {self.url!r} is blocking publishers: a memory or disk alarm is on "
            "(`rabbitmq-diagnostics alarms` names it); it lifts once the server has memory "
            "or disk to spare")

    def _refuse_while_blocked(self) -> None:
        """Before a call: refuse at once if the server blocked a call less than
        ``io_timeout_s`` ago; after that, let one call try again (the alarm may be over)."""
        with self._lock:
            blocked, since = self._blocked, time.monotonic() - self._blocked_at
        if blocked and since < self._io_timeout_s:
            raise self._blocked_error()

    def _refuse_if_blocked(self) -> None:
        """After a failed call: if the server said it blocks publishers, drop this thread's
        connection (without the close handshake a blocked server would not answer) and
        say so; the next call starts on a fresh connection."""
        with self._lock:
            if not self._blocked:
                return
            self._blocked_at = time.monotonic()
            conn = getattr(self._local, "conn", None)
            if conn in self._all_conns:
                self._all_conns.remove(conn)
        if conn is not None:
            self._local.conn = None
            with contextlib.suppress(*_amqp_errors()):
                conn.collect()
        raise self._blocked_error()

    def _kombu_queues(self, spec: QueueSpec) -> list[Any]:
        import kombu

        # x-expires: a queue left unused (no consumer, no get) for a day is dropped by the
        # server itself, the backstop for runs that were killed and never cleaned
        expires = {"x-expires": runs.QUEUE_EXPIRES_MS}
        main_args: dict[str, Any] = {"x-dead-letter-exchange": "",
                                     "x-dead-letter-routing-key": spec.dead_letter_queue,
                                     **expires}
        retry_args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": spec.name,
                      **expires}
        default = kombu.Exchange("")
        return [
            kombu.Queue(spec.name, default, routing_key=spec.name, durable=True,
                        queue_arguments=main_args),
            kombu.Queue(spec.retry_queue, default, routing_key=spec.retry_queue, durable=True,
                        queue_arguments=retry_args),
            kombu.Queue(spec.dead_letter_queue, default, routing_key=spec.dead_letter_queue,
                        durable=True, queue_arguments=expires),
        ]

    def _ensure(self, fn: Callable[[], Any], *, patience_s: float = 30.0,
                publishes: bool = True) -> Any:
        """Run ``fn`` on this thread's connection, reconnecting while the server is away
        (for up to ``patience_s`` seconds, e.g. during a restart). While the server blocks
        publishers, a call is refused with an error that says so, unless ``publishes`` is
        False (``fn`` uses a connection of its own that never publishes)."""
        errors = _amqp_errors()
        deadline = time.monotonic() + patience_s
        while True:
            if publishes:
                self._refuse_while_blocked()
            try:
                result = fn()
            except errors:
                if publishes:
                    self._refuse_if_blocked()
                if time.monotonic() >= deadline:
                    raise
                with contextlib.suppress(*errors):
                    self._conn.close()
                time.sleep(0.2)
                try:
                    self._conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
                except errors:
                    continue
            else:
                if publishes:
                    with self._lock:
                        self._blocked = False  # the server took it: the block is over
                return result

    def declare_queue(self, name: str, *, max_retries: int = 3, retry_delay_ms: float = 1000.0,
                      message_ttl_ms: float | None = None) -> QueueSpec:
        """Declare ``name``, ``name.retry`` and ``name.dlq`` (durable; idempotent)."""
        spec = _check_spec(name, max_retries, retry_delay_ms, message_ttl_ms)

        def declare() -> None:
            chan = self._conn.default_channel
            for q in self._kombu_queues(spec):
                q(chan).declare()

        if spec.name not in self._declared.specs:
            for q in spec.all_queues:
                runs.register("amqp-queue", self.url, q)

        try:
            self._ensure(declare)
        except _amqp_errors() as exc:
            raise BackendUnavailable(f"RabbitMQ at {self.url!r} refused to declare "
                                     f"{spec.name!r}: {exc}") from None
        with self._declared.lock:
            self._declared.specs[spec.name] = spec
        return spec

    def _publish_raw(self, routing_key: str, data: bytes, message_id: str,
                     headers: dict[str, Any], ttl_ms: float | None, published_at: float) -> None:
        import kombu

        props: dict[str, Any] = {"message_id": message_id, "timestamp": int(published_at)}
        if ttl_ms is not None:
            props["expiration"] = ttl_ms / 1000.0  # kombu takes seconds, sends ms
        hdrs = {**headers, "x-published-at": published_at}

        def send() -> None:
            producer = kombu.Producer(self._conn.default_channel, auto_declare=False)
            producer.publish(data, routing_key=routing_key, exchange="",
                                   content_type="application/json", content_encoding="utf-8",
                                   delivery_mode=2, headers=hdrs, **props)

        try:
            self._ensure(send)
        except _amqp_errors() as exc:
            raise BackendUnavailable(f"RabbitMQ at {self.url!r} did not take a message for "
                                     f"{routing_key!r}: {exc}") from None

    def publish(self, queue: str, body: Mapping[str, Any], *, message_id: str | None = None,
                headers: Mapping[str, Any] | None = None, ttl_ms: float | None = None) -> str:
        """Publish a persistent JSON message (confirmed by the broker); returns its id.

        Args:
            ttl_ms: per-message time-to-live (ms, AMQP ``expiration``); defaults to the queue's.
        """
        spec = self._declared.get(queue)
        data, mid, hdrs, ttl = _check_message(spec, body, message_id, headers, ttl_ms)
        self._publish_raw(spec.name, data, mid, hdrs, ttl, time.time())
        return mid

    def consumer(self, queue: str, *, prefetch: int = 1) -> _AmqpConsumer:
        """A consumer with its own connection, for one worker thread."""
        spec = self._declared.get(queue)
        c = _AmqpConsumer(self, spec, integer("prefetch", prefetch, minimum=1))
        with self._lock:
            self._consumers.add(c)
        return c

    def _count(self, name: str) -> int:
        def count() -> int:
            chan = self._conn.default_channel
            return int(chan.queue_declare(queue=name, passive=True).message_count)

        result: int = self._ensure(count)
        return result

    def depth(self, queue: str) -> int:
        """Messages ready for delivery in ``queue`` (units: messages)."""
        return self._count(self._declared.get(queue).name)

    def stats(self, queue: str) -> QueueStats:
        """Ready, retrying and dead-lettered counts for ``queue``."""
        spec = self._declared.get(queue)
        return QueueStats(self._count(spec.name), self._count(spec.retry_queue),
                          self._count(spec.dead_letter_queue))

    def dead_letters(self, queue: str) -> list[Message]:
        """The dead-lettered messages of ``queue`` (read, then returned to the DLQ unacked)."""
        spec = self._declared.get(queue)
        out: list[Message] = []
        with self._connection() as conn:
            chan = conn.channel()
            while True:
                raw = chan.basic_get(queue=spec.dead_letter_queue, no_ack=False)
                if raw is None:
                    break
                out.append(_amqp_message(raw.body, raw.properties, raw.delivery_info,
                                         spec.dead_letter_queue))
            # closing the channel without acking returns every message to the DLQ
        return out

    def purge(self, queue: str) -> int:
        """Drop every ready, retrying and dead message of ``queue``; returns how many."""
        spec = self._declared.get(queue)

        def purge() -> int:
            chan = self._conn.default_channel
            return sum(int(chan.queue_purge(q) or 0) for q in spec.all_queues)

        result: int = self._ensure(purge)
        return result

    def delete(self, queue: str) -> None:
        """Delete ``queue`` and its companions from the server."""
        spec = self._declared.get(queue)
        # a connection of its own that never publishes: the server blocks only connections
        # that publish, so queues are deleted even during a resource alarm
        def delete() -> None:
            with self._connection() as conn:
                chan = conn.channel()
                for q in spec.all_queues:
                    chan.queue_delete(q)

        try:
            self._ensure(delete, publishes=False)
        except _amqp_errors() as exc:
            raise BackendUnavailable(f"RabbitMQ at {self.url!r} did not delete "
                                     f"{spec.name!r}: {exc}") from None
        with self._declared.lock:
            self._declared.specs.pop(spec.name, None)
        for q in spec.all_queues:
            runs.release("amqp-queue", self.url, q)


    def dispose(self, *, keep_queues: bool = False) -> None:
        """Close consumers and connections; delete the queues this object declared unless
        ``keep_queues``."""
        for c in list(self._consumers):
            c.close()
        if not keep_queues:
            for name in list(self._declared.specs):
                try:
                    self.delete(name)
                except BackendUnavailable:
                    continue  # the server is gone: x-expires and `ecomlab clean` remove it
        with self._lock:
            conns, self._all_conns = self._all_conns, []
        for conn in conns:
            with contextlib.suppress(*_amqp_errors()):
                conn.release()
        self._local = threading.local()
