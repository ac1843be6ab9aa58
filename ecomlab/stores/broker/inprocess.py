"""The in-process broker (embedded default): the same semantics as RabbitMQ, in memory."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecomlab.errors import InvalidInput
from ecomlab.stores.broker.base import (
    REASON_HEADER,
    RETRIES_HEADER,
    Delivery,
    Message,
    QueueSpec,
    QueueStats,
    _check_message,
    _check_spec,
    _Declared,
)
from ecomlab.stores.lifecycle import StoreBase
from ecomlab.validate import integer, number


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


class InProcessBroker(StoreBase):
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
