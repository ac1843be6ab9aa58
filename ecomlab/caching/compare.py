"""Side-by-side runs for the notebook: every strategy on one workload, cold vs warm, TTL sweep."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecomlab import validate
from ecomlab.caching.experiment import run_caching
from ecomlab.caching.services import STRATEGIES
from ecomlab.caching.simulate import simulate_ttl, ttl_hit_ratio
from ecomlab.datagen import zipf_keys, zipf_popularity

__all__ = ["strategies_frame", "ttl_curve", "warmup_frame"]


def _row(result: Any) -> dict[str, Any]:
    m = result.metrics
    return {"strategy": result.params["strategy"], "hit_ratio": m["hit_ratio"],
            "db_reads": m["db_reads"], "db_writes": m["db_writes"],
            "read_p50_ms": m["read_ms"]["p50"], "read_p99_ms": m["read_ms"]["p99"],
            "write_p50_ms": m["write_ms"]["p50"], "write_p99_ms": m["write_ms"]["p99"],
            "stale_reads": m["stale_reads"], "max_staleness_ms": m["max_staleness_ms"],
            "lost_writes": m["lost_writes"], "loss_window_ms": m["loss_window_ms"],
            "label": result.label}


def strategies_frame(strategies: tuple[str, ...] = STRATEGIES, **kwargs: Any) -> pd.DataFrame:
    """One measured row per strategy on the same seeded workload (``run_caching`` arguments)."""
    return pd.DataFrame([_row(run_caching(s, **kwargs)) for s in strategies])


def warmup_frame(strategy: str = "cache-aside", **kwargs: Any) -> pd.DataFrame:
    """The same workload from a cold cache and from a cache filled beforehand (measured).

    ``products_read`` is the number of distinct products the workload reads and
    ``products_read_once`` how many of them it reads exactly once (seeded, so equal in both rows).
    """
    rows = []
    for warm in (False, True):
        result = run_caching(strategy, warm=warm, **kwargs)
        row = _row(result)
        row["start"] = "warmed" if warm else "cold"
        row["products_read"] = result.metrics["products_read"]
        row["products_read_once"] = result.metrics["products_read_once"]
        rows.append(row)
    return pd.DataFrame(rows)[["start", "strategy", "hit_ratio", "db_reads", "read_p50_ms",
                               "read_p99_ms", "products_read", "products_read_once", "label"]]


def ttl_curve(*, objects: int = 1000, zipf: float = 0.8, rate: float = 1000.0,
              ttls: list[float] | None = None, requests: int = 100_000,
              seed: int = 42) -> pd.DataFrame:
    """TTL cache hit ratio per TTL (s): simulated beside the Poisson formula (simulated)."""
    objects = validate.integer("objects", objects, minimum=1, maximum=10_000_000)
    rate = validate.number("rate", rate, minimum=0.0, min_inclusive=False)
    rng = np.random.default_rng(seed)
    keys = zipf_keys(objects, zipf, requests, rng)
    times = np.cumsum(rng.exponential(1.0 / rate, size=requests))
    pop = zipf_popularity(objects, zipf)
    rows = []
    for ttl in ttls or [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]:
        sim = simulate_ttl(keys, times, ttl, warmup=requests // 10)
        rows.append({"ttl_s": ttl, "simulated_ttl": round(sim.hit_ratio, 4),
                     "formula": round(ttl_hit_ratio(pop, rate, ttl), 4),
                     "mean_entries": round(sim.mean_occupancy, 1)})
    df = pd.DataFrame(rows)
    df["error"] = (df["simulated_ttl"] - df["formula"]).round(3) + 0.0
    return df
