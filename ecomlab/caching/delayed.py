"""Calls run after a delay on daemon timers, which an owner can bring forward when it closes."""

from __future__ import annotations

import threading
from collections.abc import Callable


class DelayedCalls:
    """Calls run ``delay_s`` later on daemon timers; :meth:`close` runs the ones still waiting
    at once and waits for those running, so none is lost and none outlives its service (a
    second delete firing after the run would meet a closed cache connection)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[threading.Timer, Callable[[], None]] = {}
        self._timers: set[threading.Timer] = set()  # started and not yet finished
        self._closed = False

    def __call__(self, delay_s: float, fn: Callable[[], None]) -> None:
        def run() -> None:
            with self._lock:
                mine = self._waiting.pop(timer, None) is not None
            try:
                if mine:  # not already run by close()
                    fn()
            finally:
                with self._lock:
                    self._timers.discard(timer)  # a long run keeps only the pending ones

        timer = threading.Timer(delay_s, run)
        timer.daemon = True
        with self._lock:
            later = not self._closed
            if later:
                self._waiting[timer] = fn
                self._timers.add(timer)
        if later:
            timer.start()
        else:
            fn()  # after close: at once

    def close(self) -> None:
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting.items()), {}
            timers, self._timers = self._timers, set()
        for timer, fn in waiting:
            timer.cancel()
            fn()
        for timer in timers:
            timer.join()
