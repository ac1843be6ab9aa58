"""What the direct and the queued runs share: the open-loop arrivals and their summaries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ecomlab import budget
from ecomlab.measure import LatencySummary, progress
from ecomlab.messaging.flows import OrderRequest

__all__ = ["arrive", "latency", "reordered_share"]


def arrive(orders: Sequence[OrderRequest], arrivals: np.ndarray,
            submit: Callable[[OrderRequest, float], None],
            midway: Callable[[], None] | None = None, show_progress: bool = False) -> None:
    """Submit each order at its arrival time (open loop), calling ``midway`` at half time."""
    start = time.perf_counter()
    half = len(orders) // 2
    items = progress(range(len(orders)), total=len(orders), desc="orders",
                     disable=not show_progress)
    for i in items:
        delay = start + float(arrivals[i]) - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # the arrival process (scaled real time)
        if midway is not None and i == half:
            midway()
        submit(orders[i], time.perf_counter())
        budget.advance()  # the command line's progress and Ctrl-C report


def reordered_share(completion_seq: Sequence[int]) -> float:
    """Share of completions that came after a later-arriving order had completed."""
    if not completion_seq:
        return 0.0
    seen_max = -1
    late = 0
    for n in completion_seq:
        if n < seen_max:
            late += 1
        seen_max = max(seen_max, n)
    return late / len(completion_seq)


def latency(samples: Sequence[float] | np.ndarray) -> dict[str, float | int]:
    d = LatencySummary.of_ms(samples).as_dict()
    return {k: d[k] for k in ("count", "mean", "p50", "p95", "p99", "max")}

