"""Plotly figures for the caching notebook (each takes a DataFrame built by this package)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.notebook import readable_log_axes

__all__ = ["hit_ratio_figure", "latency_figure", "staleness_figure", "ttl_figure"]


def hit_ratio_figure(curve: pd.DataFrame, *, marker: int | None = None) -> Any:
    """LRU hit ratio vs cache size: simulated points beside Che's curve (simulated)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=curve["capacity"], y=curve["che"], mode="lines",
                    name="Che's approximation")
    fig.add_scatter(x=curve["capacity"], y=curve["simulated_lru"], mode="markers",
                    name="simulated LRU", marker={"size": 9})
    if marker is not None:
        fig.add_vline(x=marker, line_dash="dot", annotation_text=f"cache = {marker}")
    fig.update_layout(title="LRU hit ratio vs cache size (simulated)",
                      xaxis_title="cache size (objects)", yaxis_title="hit ratio",
                      yaxis_range=[0, 1], height=380)
    return readable_log_axes(fig)


def ttl_figure(curve: pd.DataFrame) -> Any:
    """TTL cache hit ratio vs TTL: simulated points beside the Poisson formula (simulated)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=curve["ttl_s"], y=curve["formula"], mode="lines",
                    name="λT/(1+λT) formula")
    fig.add_scatter(x=curve["ttl_s"], y=curve["simulated_ttl"], mode="markers",
                    name="simulated TTL cache", marker={"size": 9})
    fig.update_layout(title="TTL cache hit ratio vs TTL (simulated, Poisson requests)",
                      xaxis_title="TTL (s, log scale)", yaxis_title="hit ratio",
                      xaxis_type="log", yaxis_range=[0, 1], height=380)
    return readable_log_axes(fig)


def latency_figure(frame: pd.DataFrame) -> Any:
    """Read and write latency p50/p99 (ms, log scale) per strategy (measured)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, name in (("read_p50_ms", "read p50"), ("read_p99_ms", "read p99"),
                      ("write_p50_ms", "write p50"), ("write_p99_ms", "write p99")):
        fig.add_bar(x=frame["strategy"], y=frame[col], name=name)
    fig.update_layout(title="Latency per strategy (measured, ms)", barmode="group",
                      yaxis_type="log", yaxis_title="ms (log scale)", height=400)
    return readable_log_axes(fig)


def staleness_figure(frame: pd.DataFrame) -> Any:
    """Stale reads per cache-aside fix (measured)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=frame["fix"], y=frame["stale_reads"], name="stale reads",
                text=frame["max_staleness_ms"].map(lambda v: f"max {v:.1f} ms"))
    fig.update_layout(title="Cache-aside stale reads under concurrent writes (measured)",
                      yaxis_title="stale reads", height=360)
    return readable_log_axes(fig)
