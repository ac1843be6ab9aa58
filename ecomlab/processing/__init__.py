"""Topic 03: synchronous vs asynchronous order processing.

* :mod:`~ecomlab.processing.pipeline` — the seed's steps, latencies, failures and worker pools.
* :mod:`~ecomlab.processing.simulate` — the pipelines in virtual time (SimPy, and a lean engine).
"""

from __future__ import annotations

from ecomlab.processing.pipeline import (
    DISTRIBUTIONS,
    MODES,
    POOLS,
    Draws,
    Pipeline,
    Step,
    async_pipeline,
    draw,
    make_pipeline,
    sync_pipeline,
)
from ecomlab.processing.simulate import ENGINES, run_fast, run_simpy, simulate_processing

__all__ = [
    "DISTRIBUTIONS",
    "ENGINES",
    "MODES",
    "POOLS",
    "Draws",
    "Pipeline",
    "Step",
    "async_pipeline",
    "draw",
    "make_pipeline",
    "run_fast",
    "run_simpy",
    "simulate_processing",
    "sync_pipeline",
]
