"""The notebook's explorer: pick a strategy, backend, load and faults, then run it for real."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.inventory.experiment import run_inventory
from ecomlab.inventory.model import BACKENDS, STRATEGIES
from ecomlab.inventory.plots import latency_figure, runs_table

__all__ = ["explore_inventory", "inventory_explorer"]


def explore_inventory(strategy: str, backend: str, buyers: int, stock: int, skew: float,
                      failure_rate: float, orders: int = 200, seed: int = 42
                      ) -> tuple[pd.DataFrame, Any]:
    """One measured run on 5 SKUs: its outcome table and its latency histogram.

    ``backend="default"`` means the strategy's natural store; ``failure_rate`` is the
    probability that a payment is declined.
    """
    run = run_inventory(strategy, None if backend == "default" else backend, stock=stock,
                        buyers=buyers, orders=orders, skus=5, skew=skew,
                        payment_failure_rate=failure_rate, seed=seed)
    table = runs_table({strategy: run})
    table["anomalies"] = "; ".join(run.report.anomalies) or "none"
    return table, latency_figure(run)


def inventory_explorer(seed: int = 42) -> Any:
    """The widget: strategy, backend, buyers, stock, skew and payment failure rate."""
    import ipywidgets as w

    from ecomlab.notebook import explorer

    controls = {
        "strategy": w.Dropdown(options=STRATEGIES, value="cache-check", description="strategy"),
        "backend": w.Dropdown(options=("default", *BACKENDS), value="default",
                              description="backend"),
        "buyers": w.IntSlider(value=16, min=1, max=64, description="buyers"),
        "stock": w.IntSlider(value=20, min=0, max=200, description="stock/SKU"),
        "skew": w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.1, description="Zipf skew"),
        "failure_rate": w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05,
                                      description="pay fails"),
    }

    def run(**values: Any) -> tuple[pd.DataFrame, Any]:
        return explore_inventory(seed=seed, **values)

    return explorer(controls, run, title="Inventory race (measured on this machine)")
