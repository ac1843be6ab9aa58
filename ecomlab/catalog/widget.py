"""Notebook 02's explorer: catalog size vs query latency, SQL vs documents (measured)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab import validate
from ecomlab.catalog.plots import SIZE_STEPS, latency_figure

__all__ = ["catalog_explorer", "explore_sizes"]


def explore_sizes(max_products: int = 3000, sql_backend: str = "duckdb",
                  category: str = "Electronics/Computers", repeats: int = 5
                  ) -> tuple[Any, pd.DataFrame]:
    """Sweep every slider size up to ``max_products``; return the log-scale latency figure and
    a table of load time, storage and listing latency per size and model."""
    from ecomlab.catalog.experiment import scaling_sweep

    top = validate.choice("max_products", max_products, SIZE_STEPS)
    sizes = [s for s in SIZE_STEPS if s <= top]
    sweep = scaling_sweep(sizes, sql_backend=sql_backend, category=category, repeats=repeats)
    table = (sweep[sweep["question"] == "listing"]
             [["products", "model", "backend", "load_s", "storage_bytes", "p50_ms", "p99_ms"]]
             .reset_index(drop=True))
    return latency_figure(sweep), table


def catalog_explorer(*, auto_run: bool = False) -> Any:
    """The notebook's widget: a catalog-size slider (log steps), the SQL backend and the
    category prefix; Run sweeps the sizes and draws the log-scale latency plot."""
    import ipywidgets as w

    from ecomlab.notebook import explorer

    controls = {
        "max_products": w.SelectionSlider(options=list(SIZE_STEPS), value=3000,
                                          description="products ≤"),
        "sql_backend": w.Dropdown(options=["duckdb", "sqlite", "postgres"], value="duckdb",
                                  description="SQL"),
        "category": w.Text(value="Electronics/Computers", description="category"),
        "repeats": w.IntSlider(value=5, min=1, max=30, description="repeats"),
    }
    return explorer(controls, explore_sizes, auto_run=auto_run,
                    title="Catalog size vs query latency (measured)")
