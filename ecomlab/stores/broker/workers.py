"""A pool of consumer threads that settles each message for its handler."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ecomlab.stores.broker.base import (
    Broker,
    Consumer,
    ConsumerCrash,
    Delivery,
)
from ecomlab.validate import integer, number


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
