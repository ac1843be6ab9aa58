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
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecomlab import runs
from ecomlab.config import Settings, check_url, redact
from ecomlab.config import settings as read_settings
from ecomlab.errors import BackendUnavailable, InvalidInput
from ecomlab.validate import integer, number

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

#: header carrying how many times a message has been retried (0 on first delivery)
RETRIES_HEADER = "x-retries"
#: header naming why a message was dead-lettered (set by this module)
REASON_HEADER = "x-death-reason"
CONNECT_TIMEOUT_S = 3
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class ConsumerCrash(Exception):
    """Raise from a :class:`WorkerPool` handler to model a worker that dies before acking.

    The pool drops that worker's consumer without settling the message (so the broker
    redelivers it, flagged ``redelivered``) and opens a new consumer in its place.
    """


@dataclass(frozen=True)
class QueueSpec:
    """A declared queue and its retry policy.

    Attributes:
        name: the main queue.
        max_retries: retries after the first delivery before a message is dead-lettered.
        retry_delay_ms: how long a retried message waits before it is delivered again (ms).
        message_ttl_ms: default per-message time-to-live (ms); ``None`` = no expiry.
    """

    name: str
    max_retries: int = 3
    retry_delay_ms: float = 1000.0
    message_ttl_ms: float | None = None

    @property
    def retry_queue(self) -> str:
        return f"{self.name}.retry"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"

    @property
    def all_queues(self) -> tuple[str, str, str]:
        return (self.name, self.retry_queue, self.dead_letter_queue)


@dataclass(frozen=True)
class QueueStats:
    """Message counts of a declared queue: ready in the main queue, waiting to be retried,
    and dead-lettered (units: messages; unacknowledged in-flight messages are not counted)."""

    ready: int
    retrying: int
    dead: int


@dataclass(frozen=True)
class Message:
    """One received message.

    Attributes:
        body: the JSON object published.
        message_id: the publisher's id (kept across retries and dead-lettering).
        headers: application headers (``x-retries``, ``x-death-reason``, your own).
        queue: the queue it was received from.
        redelivered: True if a consumer received it before and did not settle it.
        published_at: wall-clock time of the original publish (``time.time()``, seconds).
    """

    body: dict[str, Any]
    message_id: str
    headers: dict[str, Any]
    queue: str
    redelivered: bool = False
    published_at: float = 0.0

    @property
    def retries(self) -> int:
        """How many times this message was retried before this delivery."""
        return int(self.headers.get(RETRIES_HEADER, 0))

    @property
    def death_reason(self) -> str | None:
        """Why it was dead-lettered (``rejected: ...``, ``retries exhausted: ...``,
        ``expired``), or None."""
        reason = self.headers.get(REASON_HEADER)
        if reason is not None:
            return str(reason)
        deaths = self.headers.get("x-death")
        if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
            return str(deaths[0].get("reason"))
        return None


class Delivery:
    """A received message and the means to settle it (exactly one of ack, nack, retry, reject).

    Settling twice raises :class:`InvalidInput`.
    """

    def __init__(self, message: Message, spec: QueueSpec,
                 settle: Callable[[str, str, bool], None]) -> None:
        self.message = message
        self.spec = spec
        self._settle = settle
        self.outcome: str | None = None

    @property
    def settled(self) -> bool:
        return self.outcome is not None

    def _once(self, outcome: str) -> None:
        if self.outcome is not None:
            raise InvalidInput(
                f"message {self.message.message_id!r} was already settled ({self.outcome})")
        self.outcome = outcome

    def ack(self) -> None:
        """Done: remove the message for good."""
        self._once("acked")
        self._settle("ack", "", False)

    def nack(self, *, requeue: bool = True) -> None:
        """Give it back at once (``requeue``, flagged redelivered) or dead-letter it."""
        self._once("requeued" if requeue else "dead-lettered")
        if requeue:
            self._settle("requeue", "", False)
        else:
            self._settle("dead", "rejected: nack", False)

    def retry(self, reason: str = "") -> bool:
        """Deliver again after ``retry_delay_ms`` with ``x-retries`` + 1, or dead-letter it
        when ``max_retries`` retries are used up. Returns True if it will be retried."""
        again = self.message.retries < self.spec.max_retries
        self._once("retried" if again else "dead-lettered")
        if again:
            self._settle("retry", reason, True)
        else:
            self._settle("dead", f"retries exhausted: {reason}".rstrip(": "), False)
        return again

    def reject(self, reason: str = "") -> None:
        """Send it straight to the dead-letter queue."""
        self._once("dead-lettered")
        self._settle("dead", f"rejected: {reason}".rstrip(": "), False)


class Consumer(Protocol):
    """Receives from one queue; one per thread; closing it redelivers what it did not settle."""

    def get(self, timeout_s: float = 1.0) -> Delivery | None:
        """The next message, or None if none arrived within ``timeout_s`` (seconds)."""
        ...

    def close(self) -> None:
        """Stop receiving; unsettled messages go back to the queue (redelivered)."""
        ...

    def __enter__(self) -> Consumer: ...

    def __exit__(self, *exc: object) -> None: ...


class Broker(Protocol):
    """What every broker offers; see the module docstring for the semantics."""

    backend: str
    embedded: bool
    url: str

    def declare_queue(self, name: str, *, max_retries: int = 3, retry_delay_ms: float = 1000.0,
                      message_ttl_ms: float | None = None) -> QueueSpec: ...

    def publish(self, queue: str, body: Mapping[str, Any], *, message_id: str | None = None,
                headers: Mapping[str, Any] | None = None,
                ttl_ms: float | None = None) -> str: ...

    def consumer(self, queue: str, *, prefetch: int = 1) -> Consumer: ...

    def depth(self, queue: str) -> int: ...

    def stats(self, queue: str) -> QueueStats: ...

    def dead_letters(self, queue: str) -> list[Message]: ...

    def purge(self, queue: str) -> int: ...

    def delete(self, queue: str) -> None: ...

    def describe(self) -> dict[str, object]: ...

    def dispose(self, *, keep_queues: bool = False) -> None: ...


# --------------------------------------------------------------------------- validation

def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"queue name must be 1-200 characters of letters, digits, '_', '.', ':' or '-', "
            f"got {name!r}")
    return name


def _check_body(body: object) -> bytes:
    if not isinstance(body, Mapping):
        raise InvalidInput(f"a message body must be a JSON object (dict), got {body!r}")
    try:
        return json.dumps(dict(body), sort_keys=True).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"message body is not JSON-serializable: {exc}") from None


def _check_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidInput(f"headers must be a dict, got {headers!r}")
    out = dict(headers)
    for key, value in out.items():
        if not isinstance(key, str):
            raise InvalidInput(f"header names must be strings, got {key!r}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidInput(f"header {key!r} must be a str, int, float or bool, got {value!r}")
    return out


def _check_ttl(name: str, ttl_ms: float | None) -> float | None:
    if ttl_ms is None:
        return None
    return number(name, ttl_ms, minimum=0.0, min_inclusive=False)


def _check_message(spec: QueueSpec, body: object, message_id: str | None,
                   headers: Mapping[str, Any] | None, ttl_ms: float | None
                   ) -> tuple[bytes, str, dict[str, Any], float | None]:
    """Validate one publish: (encoded body, message id, headers, effective TTL in ms)."""
    data = _check_body(body)
    hdrs = _check_headers(headers)
    ttl = _check_ttl("ttl_ms", ttl_ms)
    ttl = spec.message_ttl_ms if ttl is None else ttl
    mid = message_id if message_id is not None else uuid.uuid4().hex
    if not isinstance(mid, str) or not mid:
        raise InvalidInput(f"message_id must be a non-empty string, got {message_id!r}")
    return data, mid, hdrs, ttl


def _check_spec(name: str, max_retries: int, retry_delay_ms: float,
                message_ttl_ms: float | None) -> QueueSpec:
    return QueueSpec(
        name=_check_name(name),
        max_retries=integer("max_retries", max_retries, minimum=0, maximum=100),
        retry_delay_ms=number("retry_delay_ms", retry_delay_ms, minimum=0.0),
        message_ttl_ms=_check_ttl("message_ttl_ms", message_ttl_ms),
    )


class _Declared:
    """The queues a broker object declared, by name."""

    def __init__(self) -> None:
        self.specs: dict[str, QueueSpec] = {}
        self.lock = threading.Lock()

    def get(self, queue: object) -> QueueSpec:
        name = _check_name(queue)
        with self.lock:
            spec = self.specs.get(name)
        if spec is None:
            from ecomlab.errors import choices_text

            raise InvalidInput(f"queue {name!r} was not declared on this broker; declared: "
                               f"{choices_text(sorted(self.specs))}")
        return spec


# --------------------------------------------------------------------------- in-process

@dataclass
class _Envelope:
    body: bytes
    message_id: str
    headers: dict[str, Any]
    published_at: float
    expires_at: float | None  # time.monotonic() deadline, None = never
    persistent: bool = True
    redelivered: bool = False
    seq: int = 0


@dataclass
class _LocalQueue:
    ready: deque[_Envelope] = field(default_factory=deque)
    delayed: list[tuple[float, int, _Envelope]] = field(default_factory=list)  # heap by due
    dead: deque[_Envelope] = field(default_factory=deque)


class InProcessBroker:
    """A broker inside this process with RabbitMQ's delivery semantics (no server needed).

    FIFO queues with competing consumers, prefetch, unacknowledged messages returned to the
    head of the queue when their consumer closes, delayed retries, per-message TTL and
    dead-lettering. :meth:`restart` models a broker restart: every consumer's unacked
    messages are redelivered and non-persistent messages are lost.
    """

    backend = "in-process"
    embedded = True
    url = "memory://"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queues: dict[str, _LocalQueue] = {}
        self._declared = _Declared()
        self._consumers: set[_LocalConsumer] = set()
        self._seq = itertools.count()
        self._closed = False

    # -- declaration and publishing
    def declare_queue(self, name: str, *, max_retries: int = 3, retry_delay_ms: float = 1000.0,
                      message_ttl_ms: float | None = None) -> QueueSpec:
        """Declare ``name`` with its ``.retry`` and ``.dlq`` companions (idempotent)."""
        spec = _check_spec(name, max_retries, retry_delay_ms, message_ttl_ms)
        with self._cond:
            self._queues.setdefault(spec.name, _LocalQueue())
        with self._declared.lock:
            self._declared.specs[spec.name] = spec
        return spec

    def publish(self, queue: str, body: Mapping[str, Any], *, message_id: str | None = None,
                headers: Mapping[str, Any] | None = None, ttl_ms: float | None = None,
                persistent: bool = True) -> str:
        """Append a persistent JSON message to ``queue``; returns its message id.

        Args:
            ttl_ms: per-message time-to-live (ms); when it expires before delivery the message
                is dead-lettered with reason ``expired``. Defaults to the queue's.
        """
        spec = self._declared.get(queue)
        data, mid, hdrs, ttl = _check_message(spec, body, message_id, headers, ttl_ms)
        now = time.monotonic()
        env = _Envelope(data, mid, hdrs, time.time(),
                        None if ttl is None else now + ttl / 1000.0, persistent)
        with self._cond:
            self._check_open()
            env.seq = next(self._seq)
            self._queues[spec.name].ready.append(env)
            self._cond.notify_all()
        return mid

    def consumer(self, queue: str, *, prefetch: int = 1) -> _LocalConsumer:
        """A consumer for one worker thread.

        Each ``get`` takes one message; ``prefetch`` is accepted for interface parity but not
        enforced (a consumer that gets without settling holds more than ``prefetch``).
        """
        spec = self._declared.get(queue)
        c = _LocalConsumer(self, spec, integer("prefetch", prefetch, minimum=1))
        with self._cond:
            self._check_open()
            self._consumers.add(c)
        return c

    # -- inspection
    def depth(self, queue: str) -> int:
        """Messages ready for delivery in ``queue`` (units: messages)."""
        return self.stats(queue).ready

    def stats(self, queue: str) -> QueueStats:
        """Ready, retrying and dead-lettered counts for ``queue``."""
        spec = self._declared.get(queue)
        with self._cond:
            q = self._queues[spec.name]
            self._promote(q, time.monotonic())
            return QueueStats(len(q.ready), len(q.delayed), len(q.dead))

    def dead_letters(self, queue: str) -> list[Message]:
        """The dead-lettered messages of ``queue``, oldest first (left in place)."""
        spec = self._declared.get(queue)
        with self._cond:
            q = self._queues[spec.name]
            self._promote(q, time.monotonic())
            return [self._message(e, spec.dead_letter_queue) for e in q.dead]

    def purge(self, queue: str) -> int:
        """Drop every ready, retrying and dead message of ``queue``; returns how many."""
        spec = self._declared.get(queue)
        with self._cond:
            q = self._queues[spec.name]
            n = len(q.ready) + len(q.delayed) + len(q.dead)
            q.ready.clear()
            q.delayed.clear()
            q.dead.clear()
            return n

    def delete(self, queue: str) -> None:
        """Delete ``queue`` and its companions."""
        spec = self._declared.get(queue)
        with self._cond:
            self._queues.pop(spec.name, None)
        with self._declared.lock:
            self._declared.specs.pop(spec.name, None)

    def restart(self) -> None:
        """Model a broker restart: consumers lose their unacked messages (redelivered) and
        non-persistent messages are dropped. Consumers keep working afterwards."""
        with self._cond:
            for c in list(self._consumers):
                c._requeue_all()
            for q in self._queues.values():
                q.ready = deque(e for e in q.ready if e.persistent)
                q.delayed = [d for d in q.delayed if d[2].persistent]
                heapq.heapify(q.delayed)
            self._cond.notify_all()

    def describe(self) -> dict[str, object]:
        """Backend facts for printing and for :class:`ecomlab.measure.Result`."""
        return {"backend": self.backend, "embedded": True, "url": self.url}

    def dispose(self, *, keep_queues: bool = False) -> None:
        """Close every consumer (their unacked messages are requeued) and forget the queues."""
        with self._cond:
            for c in list(self._consumers):
                c._requeue_all()
            self._consumers.clear()
            if not keep_queues:
                self._queues.clear()
            self._closed = True
            self._cond.notify_all()

    def __enter__(self) -> InProcessBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # -- internals (all called with self._cond held)
    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInput("this broker was disposed; create a new one with broker_store()")

    def _promote(self, q: _LocalQueue, now: float) -> None:
        while q.delayed and q.delayed[0][0] <= now:
            _, _, env = heapq.heappop(q.delayed)
            env.redelivered = False
            q.ready.append(env)
        while q.ready and q.ready[0].expires_at is not None and q.ready[0].expires_at <= now:
            env = q.ready.popleft()  # like RabbitMQ, expiry is noticed at the head
            env.headers = {**env.headers, REASON_HEADER: "expired"}
            q.dead.append(env)

    def _message(self, env: _Envelope, queue: str) -> Message:
        return Message(json.loads(env.body), env.message_id, dict(env.headers), queue,
                       env.redelivered, env.published_at)

    def _take(self, spec: QueueSpec, timeout_s: float) -> _Envelope | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                self._check_open()
                q = self._queues.get(spec.name)
                if q is None:
                    raise InvalidInput(f"queue {spec.name!r} was deleted")
                now = time.monotonic()
                self._promote(q, now)
                if q.ready:
                    return q.ready.popleft()
                wait = deadline - now
                if q.delayed:
                    wait = min(wait, q.delayed[0][0] - now)
                if q.ready and q.ready[0].expires_at is not None:
                    wait = min(wait, q.ready[0].expires_at - now)
                if deadline - now <= 0:
                    return None
                self._cond.wait(max(wait, 0.0005))

    def _settle(self, spec: QueueSpec, env: _Envelope, action: str, reason: str) -> None:
        with self._cond:
            q = self._queues.get(spec.name)
            if q is None:
                return
            if action == "requeue":
                env.redelivered = True
                q.ready.appendleft(env)
            elif action == "retry":
                retried = _Envelope(env.body, env.message_id,
                                    {**env.headers, RETRIES_HEADER:
                                     int(env.headers.get(RETRIES_HEADER, 0)) + 1,
                                     **({"x-retry-reason": reason} if reason else {})},
                                    env.published_at, None, env.persistent,
                                    seq=next(self._seq))
                due = time.monotonic() + spec.retry_delay_ms / 1000.0
                heapq.heappush(q.delayed, (due, retried.seq, retried))
            elif action == "dead":
                env.headers = {**env.headers, REASON_HEADER: reason}
                q.dead.append(env)
            self._cond.notify_all()


class _LocalConsumer:
    def __init__(self, broker: InProcessBroker, spec: QueueSpec, prefetch: int) -> None:
        self._broker = broker
        self.spec = spec
        self.prefetch = prefetch
        self._unacked: dict[int, _Envelope] = {}
        self._closed = False

    def get(self, timeout_s: float = 1.0) -> Delivery | None:
        """The next message, or None after ``timeout_s`` seconds without one."""
        timeout_s = number("timeout_s", timeout_s, minimum=0.0)
        if self._closed:
            raise InvalidInput("this consumer is closed")
        env = self._broker._take(self.spec, timeout_s)
        if env is None:
            return None
        key = id(env)
        with self._broker._cond:
            self._unacked[key] = env
        msg = self._broker._message(env, self.spec.name)

        def settle(action: str, reason: str, _retry: bool) -> None:
            with self._broker._cond:
                held = self._unacked.pop(key, None)
            if held is None:  # the broker restarted or we closed: already redelivered
                return
            if action != "ack":
                self._broker._settle(self.spec, held, action, reason)

        return Delivery(msg, self.spec, settle)

    def _requeue_all(self) -> None:  # caller holds the broker's condition
        q = self._broker._queues.get(self.spec.name)
        for env in sorted(self._unacked.values(), key=lambda e: e.seq, reverse=True):
            if q is not None:
                env.redelivered = True
                q.ready.appendleft(env)
        self._unacked.clear()

    def close(self) -> None:
        """Stop; unsettled messages return to the head of the queue, flagged redelivered."""
        with self._broker._cond:
            self._requeue_all()
            self._broker._consumers.discard(self)
            self._closed = True
            self._broker._cond.notify_all()

    def __enter__(self) -> _LocalConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- RabbitMQ

def _amqp_errors() -> tuple[type[BaseException], ...]:
    import amqp.exceptions  # type: ignore[import-untyped]
    import kombu.exceptions

    return (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError,
            kombu.exceptions.OperationalError, amqp.exceptions.RecoverableConnectionError)


class RabbitBroker:
    """RabbitMQ through kombu (py-amqp): durable queues, persistent messages, publisher
    confirms, dead-letter exchanges and a TTL delay queue for retries.

    Publishing reconnects and retries for up to ~30 s, so it rides out a broker restart.
    """

    backend = "rabbitmq"
    embedded = False

    def __init__(self, url: str) -> None:

        self._raw_url = url
        self.url = redact(url)
        self._declared = _Declared()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all_conns: list[Any] = []
        self._consumers: set[_AmqpConsumer] = set()
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
            import kombu

            conn = kombu.Connection(self._raw_url, connect_timeout=CONNECT_TIMEOUT_S,
                                    transport_options={"confirm_publish": True})
            self._local.conn = conn
            with self._lock:
                self._all_conns.append(conn)
        return conn

    def _connection(self) -> Any:
        import kombu

        return kombu.Connection(self._raw_url, connect_timeout=CONNECT_TIMEOUT_S)

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

    def _ensure(self, fn: Callable[[], Any], *, patience_s: float = 30.0) -> Any:
        """Run ``fn`` on this thread's connection, reconnecting while the server is away
        (for up to ``patience_s`` seconds, e.g. during a restart)."""
        errors = _amqp_errors()
        deadline = time.monotonic() + patience_s
        while True:
            try:
                return fn()
            except errors:
                if time.monotonic() >= deadline:
                    raise
                with contextlib.suppress(*errors):
                    self._conn.close()
                time.sleep(0.2)
                try:
                    self._conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
                except errors:
                    continue

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

        def delete() -> None:
            chan = self._conn.default_channel
            for q in spec.all_queues:
                chan.queue_delete(q)

        self._ensure(delete)
        with self._declared.lock:
            self._declared.specs.pop(spec.name, None)
        for q in spec.all_queues:
            runs.release("amqp-queue", self.url, q)

    def describe(self) -> dict[str, object]:
        """Backend facts for printing and for :class:`ecomlab.measure.Result`."""
        return {"backend": self.backend, "embedded": False, "url": self.url}

    def dispose(self, *, keep_queues: bool = False) -> None:
        """Close consumers and connections; delete the queues this object declared unless
        ``keep_queues``."""
        for c in list(self._consumers):
            c.close()
        if not keep_queues:
            for name in list(self._declared.specs):
                try:
                    self.delete(name)
                except _amqp_errors():
                    continue  # the server is gone; nothing more to clean
        with self._lock:
            conns, self._all_conns = self._all_conns, []
        for conn in conns:
            with contextlib.suppress(*_amqp_errors()):
                conn.release()
        self._local = threading.local()

    def __enter__(self) -> RabbitBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


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

    def _reopen(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except _amqp_errors():
                pass
            self._conn = None
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
        if self._conn is not None:
            try:
                self._conn.release()
            except _amqp_errors():
                pass
            self._conn = None
        with self._broker._lock:
            self._broker._consumers.discard(self)

    def __enter__(self) -> _AmqpConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- worker pool

class WorkerPool:
    """Run ``handler(message)`` on ``workers`` threads, each with its own consumer.

    The pool settles each delivery the handler leaves unsettled: it acks when the handler
    returns and retries (``Delivery.retry``) when it raises an ``Exception``; a
    :class:`ConsumerCrash` drops the consumer unsettled, so the message is redelivered.
    The handler receives the :class:`Delivery` and may settle it itself.

    ::

        with WorkerPool(broker, "orders", handle, workers=4) as pool:
            ...publish...
            pool.wait_until(lambda: len(done) == n, timeout_s=10)
    """

    def __init__(self, broker: Broker, queue: str, handler: Callable[[Delivery], None], *,
                 workers: int = 1, prefetch: int = 1, poll_s: float = 0.05) -> None:
        self.broker = broker
        self.queue = queue
        self.handler = handler
        self.workers = integer("workers", workers, minimum=1, maximum=256)
        self.prefetch = integer("prefetch", prefetch, minimum=1)
        self.poll_s = number("poll_s", poll_s, minimum=0.001)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.crashes = 0
        self._lock = threading.Lock()

    def start(self) -> WorkerPool:
        """Open the consumers and start the threads."""
        for i in range(self.workers):
            consumer = self.broker.consumer(self.queue, prefetch=self.prefetch)
            t = threading.Thread(target=self._work, args=(consumer,), daemon=True,
                                 name=f"ecomlab-worker-{self.queue}-{i}")
            self._threads.append(t)
            t.start()
        return self

    def _work(self, consumer: Consumer) -> None:
        try:
            while not self._stop.is_set():
                delivery = consumer.get(timeout_s=self.poll_s)
                if delivery is None:
                    continue
                try:
                    self.handler(delivery)
                except ConsumerCrash:
                    with self._lock:
                        self.crashes += 1
                    consumer.close()
                    consumer = self.broker.consumer(self.queue, prefetch=self.prefetch)
                    continue
                except Exception as exc:  # the handler's failure: retry the message
                    if not delivery.settled:
                        delivery.retry(f"{type(exc).__name__}: {exc}")
                    continue
                if not delivery.settled:
                    delivery.ack()
        except BaseException as exc:  # report, never die silently
            with self._lock:
                self.errors.append(exc)
        finally:
            consumer.close()

    def wait_until(self, done: Callable[[], bool], *, timeout_s: float = 30.0,
                   poll_s: float = 0.005) -> bool:
        """Block until ``done()`` is true or ``timeout_s`` seconds pass; returns ``done()``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
                return True
            if self.errors:
                raise self.errors[0]
            time.sleep(poll_s)
        return done()

    def stop(self) -> None:
        """Stop the threads and close their consumers (unsettled messages are redelivered)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- factory

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
