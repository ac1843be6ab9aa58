"""A lean first-come-first-served multi-server station, computed without an event loop.

For a station with ``c`` identical workers serving in arrival order, each customer starts at
``max(arrival, earliest time a worker frees up)`` (the Kiefer-Wolfowitz recursion). This gives
the same schedule as a SimPy ``Resource`` fed the same arrival and service times, at a fraction of
the cost, which is what lets a million orders through a pipeline of stations in seconds.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt

from ecomlab import validate
from ecomlab.errors import InvalidInput

__all__ = ["fcfs_starts", "station_departures"]

FloatArray = npt.NDArray[np.float64]


def fcfs_starts(arrivals: FloatArray, services: FloatArray, workers: int) -> FloatArray:
    """Service start times at a FCFS station with ``workers`` servers.

    Args:
        arrivals: arrival times (s), sorted ascending.
        services: service durations (s), one per arrival.
        workers: number of identical servers (>= 1).

    Returns:
        The start time of each customer's service (s), in the input order.
    """
    c = validate.integer("workers", workers, minimum=1)
    arr = np.asarray(arrivals, dtype=float)
    svc = np.asarray(services, dtype=float)
    if arr.shape != svc.shape:
        raise InvalidInput(f"need one service time per arrival, got {arr.size} and {svc.size}")
    if arr.size > 1 and bool(np.any(np.diff(arr) < 0)):
        raise InvalidInput("arrivals must be sorted ascending")
    free = [0.0] * c
    pop, push = heapq.heappop, heapq.heappush
    out: list[float] = []
    append = out.append
    for a, s in zip(arr.tolist(), svc.tolist(), strict=True):
        f = pop(free)
        start = a if a > f else f
        append(start)
        push(free, start + s)
    return np.asarray(out, dtype=float)


def station_departures(arrivals: FloatArray, services: FloatArray, workers: int
                       ) -> tuple[FloatArray, FloatArray]:
    """Start and departure times at a FCFS station for arrivals in any order.

    Customers are served in order of arrival (ties keep their input order).

    Returns:
        ``(starts, departures)`` in the input order (s).
    """
    arr = np.asarray(arrivals, dtype=float)
    svc = np.asarray(services, dtype=float)
    order = np.argsort(arr, kind="stable")
    starts_sorted = fcfs_starts(arr[order], svc[order], workers)
    starts = np.empty_like(arr)
    starts[order] = starts_sorted
    return starts, starts + svc
