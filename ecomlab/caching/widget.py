"""The notebook's explorer: strategy, cache size, skew, write ratio and TTL in one widget."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab import validate
from ecomlab.caching.experiment import run_caching
from ecomlab.caching.plots import hit_ratio_figure
from ecomlab.caching.services import STRATEGIES
from ecomlab.caching.simulate import hit_ratio_curve
from ecomlab.notebook import explorer

__all__ = ["TTL_CHOICES_S", "caching_explorer", "explore_caching"]

#: The TTLs (s) the explorer offers; the slider's label is the TTL the run uses.
TTL_CHOICES_S = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 100.0)


def explore_caching(strategy: str = "cache-aside", cache_size: int = 100, zipf: float = 1.0,
                    write_ratio: float = 0.05, ttl_s: float = 30.0, *, products: int = 200,
                    requests: int = 1000, seed: int = 42) -> tuple[str, pd.DataFrame, Any]:
    """One explorer run: a measured run of ``strategy`` and the simulated LRU curve for the
    chosen skew with the chosen cache size marked."""
    cache_size = validate.integer("cache_size", cache_size, minimum=1, maximum=products)
    r = run_caching(strategy, products=products, zipf=zipf, write_ratio=write_ratio,
                    requests=requests, ttl_s=ttl_s, seed=seed)
    m = r.metrics
    table = pd.DataFrame([{
        "strategy": strategy, "hit_ratio": m["hit_ratio"], "db_reads": m["db_reads"],
        "db_writes": m["db_writes"], "read_p50_ms": m["read_ms"]["p50"],
        "read_p99_ms": m["read_ms"]["p99"], "write_p50_ms": m["write_ms"]["p50"],
        "stale_reads": m["stale_reads"], "lost_writes": m["lost_writes"],
        "label": r.label}])
    sizes = sorted({max(1, int(products * f)) for f in (0.02, 0.05, 0.1, 0.2, 0.4, 0.7)}
                   | {cache_size})
    curve = hit_ratio_curve(objects=products, zipf=zipf, capacities=sizes, requests=20_000,
                            seed=seed)
    predicted = float(curve.loc[curve["capacity"] == cache_size, "che"].iloc[0])
    note = (f"<p>Measured run: {requests} requests, {products} products, an unbounded cache "
            f"(no <code>maxmemory</code>: the cache size does not apply to it) with TTL "
            f"{ttl_s:g} s: hit ratio {m['hit_ratio']:.3f}. Right: a simulated LRU of "
            f"{cache_size} objects at Zipf {zipf:g} (the only part the cache size moves); Che "
            f"predicts {predicted:.3f}.</p>")
    return note, table, hit_ratio_figure(curve, marker=cache_size)


def caching_explorer(*, products: int = 200, requests: int = 1000, seed: int = 42) -> Any:
    """The widget: controls, a Run button, the measured row and the simulated curve."""
    import ipywidgets as w

    controls = {
        "strategy": w.Dropdown(options=list(STRATEGIES), value="cache-aside",
                               description="strategy"),
        "cache_size": w.IntSlider(value=20, min=1, max=products, description="cache size"),
        "zipf": w.FloatSlider(value=1.0, min=0.0, max=1.6, step=0.1, description="skew"),
        "write_ratio": w.FloatSlider(value=0.05, min=0.0, max=1.0, step=0.05,
                                     description="write ratio"),
        # the values shown are the values run: no log slider that shows 31.6 for a 30 s TTL
        "ttl_s": w.SelectionSlider(
            options=[(f"{v:g}", v) for v in TTL_CHOICES_S], value=30.0, description="TTL (s)"),
    }

    def run(**values: Any) -> tuple[str, pd.DataFrame, Any]:
        return explore_caching(**values, products=products, requests=requests, seed=seed)

    return explorer(controls, run, title="Caching strategies")
