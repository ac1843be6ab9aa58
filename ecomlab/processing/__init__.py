"""Topic 03: synchronous vs asynchronous order processing.

* :mod:`~ecomlab.processing.pipeline` — the seed's steps, latencies, failures and worker pools.
* :mod:`~ecomlab.processing.simulate` — the pipelines in virtual time (SimPy, and a lean engine).
* :mod:`~ecomlab.processing.experiment` — :func:`run_processing`, the live measured run behind
  ``ecomlab run processing`` (``run_live`` is the same function, under its former name).
* :mod:`~ecomlab.processing.tables` — the notebook's tables: timelines, load sweeps,
  simulation vs Erlang C, live vs simulated.
* :mod:`~ecomlab.processing.claims`, :mod:`~ecomlab.processing.plots`,
  :mod:`~ecomlab.processing.widget` — what notebook 03 shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.processing.claims import (
        Evidence,
        collect_evidence,
        processing_claims,
        processing_ledger,
    )
    from ecomlab.processing.experiment import OrderTables, run_processing
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
    from ecomlab.processing.plots import erlang_figure, modes_figure, rate_figure, waterfall_figure
    from ecomlab.processing.simulate import ENGINES, run_fast, run_simpy, simulate_processing
    from ecomlab.processing.tables import (
        compare_modes,
        erlang_comparison,
        live_frame,
        nominal_table,
        sweep_arrival_rates,
        timeline_frame,
    )
    from ecomlab.processing.widget import explore_modes, processing_explorer

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "async_pipeline": "ecomlab.processing.pipeline",
    "collect_evidence": "ecomlab.processing.claims",
    "compare_modes": "ecomlab.processing.tables",
    "DISTRIBUTIONS": "ecomlab.processing.pipeline",
    "draw": "ecomlab.processing.pipeline",
    "Draws": "ecomlab.processing.pipeline",
    "ENGINES": "ecomlab.processing.simulate",
    "erlang_comparison": "ecomlab.processing.tables",
    "erlang_figure": "ecomlab.processing.plots",
    "Evidence": "ecomlab.processing.claims",
    "explore_modes": "ecomlab.processing.widget",
    "live_frame": "ecomlab.processing.tables",
    "make_pipeline": "ecomlab.processing.pipeline",
    "MODES": "ecomlab.processing.pipeline",
    "modes_figure": "ecomlab.processing.plots",
    "nominal_table": "ecomlab.processing.tables",
    "OrderTables": "ecomlab.processing.experiment",
    "Pipeline": "ecomlab.processing.pipeline",
    "POOLS": "ecomlab.processing.pipeline",
    "processing_claims": "ecomlab.processing.claims",
    "processing_explorer": "ecomlab.processing.widget",
    "processing_ledger": "ecomlab.processing.claims",
    "rate_figure": "ecomlab.processing.plots",
    "run_fast": "ecomlab.processing.simulate",
    "run_live": "ecomlab.processing.live",
    "run_processing": "ecomlab.processing.experiment",
    "run_simpy": "ecomlab.processing.simulate",
    "simulate_processing": "ecomlab.processing.simulate",
    "Step": "ecomlab.processing.pipeline",
    "sweep_arrival_rates": "ecomlab.processing.tables",
    "sync_pipeline": "ecomlab.processing.pipeline",
    "timeline_frame": "ecomlab.processing.tables",
    "waterfall_figure": "ecomlab.processing.plots",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "DISTRIBUTIONS",
    "ENGINES",
    "MODES",
    "POOLS",
    "Draws",
    "Evidence",
    "OrderTables",
    "Pipeline",
    "Step",
    "async_pipeline",
    "collect_evidence",
    "compare_modes",
    "draw",
    "erlang_comparison",
    "erlang_figure",
    "explore_modes",
    "live_frame",
    "make_pipeline",
    "modes_figure",
    "nominal_table",
    "processing_claims",
    "processing_explorer",
    "processing_ledger",
    "rate_figure",
    "run_fast",
    "run_live",
    "run_processing",
    "run_simpy",
    "simulate_processing",
    "sweep_arrival_rates",
    "sync_pipeline",
    "timeline_frame",
    "waterfall_figure",
]
