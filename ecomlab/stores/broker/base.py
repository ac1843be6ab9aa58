"""The broker interface: queue specs, messages, deliveries, and the checks both brokers share."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ecomlab.errors import InvalidInput
from ecomlab.validate import integer, number

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
