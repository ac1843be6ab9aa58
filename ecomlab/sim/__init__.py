"""Discrete-event models (SimPy) in virtual time and the closed forms that check them.

Every figure a model produces is labelled ``simulated``; each model is held against a closed
form (Erlang C, Little's law, Che's approximation, the TTL-cache formula) with a stated tolerance.

* :mod:`~ecomlab.sim.queueing` — Erlang C, M/M/c figures, Little's law.
* :mod:`~ecomlab.sim.mmc` — the M/M/c queue in SimPy and :func:`simulate_queue`.
* :mod:`~ecomlab.sim.fcfs` — a first-come-first-served station by recursion (same schedule as
  SimPy on the same draws, much faster).
"""

from __future__ import annotations

from ecomlab.sim.fcfs import fcfs_starts, station_departures
from ecomlab.sim.mmc import QueueStats, run_mmc, simulate_queue, summarize_queue
from ecomlab.sim.queueing import MMcFigures, erlang_c, littles_law_gap, mmc_figures, utilization

__all__ = [
    "MMcFigures",
    "QueueStats",
    "erlang_c",
    "fcfs_starts",
    "littles_law_gap",
    "mmc_figures",
    "run_mmc",
    "simulate_queue",
    "station_departures",
    "summarize_queue",
    "utilization",
]
