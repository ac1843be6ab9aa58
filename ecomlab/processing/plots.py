"""Figures of notebook 03: the request waterfall, response vs arrival rate, simulation vs formula.

Every figure's title says whether its numbers are ``simulated`` or ``measured``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.notebook import readable_log_axes

__all__ = ["erlang_figure", "modes_figure", "rate_figure", "waterfall_figure"]

_LANES = ["customer waits", "background: payment", "background: inventory", "handler"]
_COLORS = {"customer waits": "#d62728", "background: payment": "#1f77b4",
           "background: inventory": "#2ca02c", "handler": "#9467bd"}


def waterfall_figure(frames: list[pd.DataFrame]) -> Any:
    """Side-by-side waterfalls of one order in each mode (mean latencies, no queueing)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(frames), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=[
                            f"{df['mode'].iloc[0]}: customer waits "
                            f"{df.attrs['response_ms']:.0f} ms, order final after "
                            f"{df.attrs['completion_ms']:.0f} ms" for df in frames])
    shown: set[str] = set()
    for row, df in enumerate(frames, start=1):
        for _, r in df.iloc[::-1].iterrows():
            lane = str(r["lane"])
            fig.add_trace(go.Bar(
                y=[str(r["step"])], x=[r["duration_ms"]], base=[r["start_ms"]], orientation="h",
                name=lane, legendgroup=lane, showlegend=lane not in shown,
                marker_color=_COLORS.get(lane, "#7f7f7f"),
                hovertemplate=f"{r['step']}: %{{base:.0f}}-{r['end_ms']:.0f} ms<extra>{lane}"
                              "</extra>"), row=row, col=1)
            shown.add(lane)
        fig.add_vline(x=df.attrs["response_ms"], line_dash="dash", line_color="#d62728",
                      row=row, col=1)
    fig.update_xaxes(title_text="time since the order arrived (ms, simulated mean latencies)",
                     row=len(frames), col=1)
    fig.update_layout(title="One order, step by step (simulated, mean latencies, no queueing)",
                      barmode="overlay", height=260 * len(frames) + 80,
                      legend_title_text="who does the work")
    return readable_log_axes(fig)


def rate_figure(df: pd.DataFrame) -> Any:
    """Response and completion time (p95, log scale) against arrival rate, per mode."""
    import plotly.graph_objects as go

    fig = go.Figure()
    styles = {("sync", "response_p95_ms"): ("sync: customer waits (p95)", "#d62728", "solid"),
              ("async", "response_p95_ms"): ("async: customer waits (p95)", "#1f77b4", "solid"),
              ("async", "completion_p95_ms"): ("async: order final (p95)", "#1f77b4", "dot")}
    for (mode, col), (name, color, dash) in styles.items():
        part = df[df["mode"] == mode]
        fig.add_trace(go.Scatter(x=part["arrival_rate"], y=part[col], mode="lines+markers",
                                 name=name, line={"color": color, "dash": dash}))
    for mode, color, where in (("sync", "#d62728", "top left"),
                               ("async", "#1f77b4", "bottom right")):
        part = df[(df["mode"] == mode) & (df["offered_load"] >= 1.0)]
        if len(part):
            sat = float((part["arrival_rate"] / part["offered_load"]).iloc[0])
            fig.add_vline(x=sat, line_dash="dash", line_color=color,
                          annotation_text=f"{mode} saturates ({sat:g}/s)",
                          annotation_position=where)
    fig.update_yaxes(type="log", title_text="time (ms, log scale)")
    fig.update_xaxes(title_text="arrival rate (orders/s)")
    fig.update_layout(title="Response time vs arrival rate (simulated)", height=450)
    return readable_log_axes(fig)


def erlang_figure(df: pd.DataFrame) -> Any:
    """Simulated mean wait (markers) beside the Erlang C formula (line), per utilization."""
    import numpy as np
    import plotly.graph_objects as go

    from ecomlab.sim.queueing import mmc_figures

    c = int(df.attrs.get("workers", 4))
    mu = float(df.attrs.get("service_rate", 1.0))
    grid = np.linspace(0.02, float(df["utilization"].max()) + 0.01, 80)
    curve = [mmc_figures(u * c * mu, mu, c).mean_wait_s for u in grid]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=grid, y=curve, mode="lines", name="Erlang C (closed form)"))
    fig.add_trace(go.Scatter(x=df["utilization"], y=df["sim_mean_wait_s"], mode="markers",
                             marker={"size": 10, "symbol": "x"}, name="SimPy (simulated)"))
    n = df.attrs.get("customers", "")
    fig.update_layout(title=f"M/M/{c} mean wait: simulation ({n} customers) vs formula",
                      xaxis_title="utilization rho = lambda / (c mu)",
                      yaxis_title=f"mean wait in queue (s, mean service {1 / mu:g} s)",
                      height=420)
    return readable_log_axes(fig)


def modes_figure(df: pd.DataFrame) -> Any:
    """Grouped bars: response and completion percentiles of each mode (ms, log scale)."""
    import plotly.graph_objects as go

    cols = [("response_p50_ms", "customer waits p50"), ("response_p95_ms", "customer waits p95"),
            ("completion_p50_ms", "order final p50"), ("completion_p99_ms", "order final p99")]
    fig = go.Figure()
    for _, row in df.iterrows():
        fig.add_trace(go.Bar(x=[label for _, label in cols], y=[row[c] for c, _ in cols],
                             name=str(row["mode"]), text=[f"{row[c]:,.0f}" for c, _ in cols],
                             textposition="outside"))
    rate = df["arrival_rate"].iloc[0]
    fig.update_layout(barmode="group", height=420,
                      title=f"sync vs async at {rate:g} orders/s ({df['label'].iloc[0]})",
                      yaxis={"type": "log", "title": "ms (log scale)"})
    return readable_log_axes(fig)
