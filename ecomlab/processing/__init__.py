"""Topic 03: synchronous vs asynchronous order processing.

* :mod:`~ecomlab.processing.pipeline` — the seed's steps, latencies, failures and worker pools.
* :mod:`~ecomlab.processing.simulate` — the pipelines in virtual time (SimPy, and a lean engine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.processing.claims import processing_claims, processing_ledger
    from ecomlab.processing.live import run_live
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
    from ecomlab.processing.widget import explore_modes, processing_explorer

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "DISTRIBUTIONS": "ecomlab.processing.pipeline",
    "Draws": "ecomlab.processing.pipeline",
    "ENGINES": "ecomlab.processing.simulate",
    "MODES": "ecomlab.processing.pipeline",
    "POOLS": "ecomlab.processing.pipeline",
    "Pipeline": "ecomlab.processing.pipeline",
    "Step": "ecomlab.processing.pipeline",
    "async_pipeline": "ecomlab.processing.pipeline",
    "draw": "ecomlab.processing.pipeline",
    "explore_modes": "ecomlab.processing.widget",
    "make_pipeline": "ecomlab.processing.pipeline",
    "processing_claims": "ecomlab.processing.claims",
    "processing_explorer": "ecomlab.processing.widget",
    "processing_ledger": "ecomlab.processing.claims",
    "run_fast": "ecomlab.processing.simulate",
    "run_live": "ecomlab.processing.live",
    "run_simpy": "ecomlab.processing.simulate",
    "simulate_processing": "ecomlab.processing.simulate",
    "sync_pipeline": "ecomlab.processing.pipeline",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
    "explore_modes",
    "make_pipeline",
    "processing_claims",
    "processing_explorer",
    "processing_ledger",
    "run_fast",
    "run_live",
    "run_simpy",
    "simulate_processing",
    "sync_pipeline",
]
