"""Figures for notebook 02 and its widget (plotly; every figure says it is measured)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.catalog.mixed_reads import MixedReads
from ecomlab.errors import InvalidInput
from ecomlab.notebook import readable_log_axes

__all__ = [
    "SIZE_STEPS",
    "latency_figure",
    "rename_timeline_figure",
    "storage_figure",
    "write_amplification_figure",
]

#: catalog sizes the widget's slider offers (products)
SIZE_STEPS = (1000, 3000, 10000, 30000, 100000)
_COLORS = {"relational": "#1f77b4", "documents": "#d62728"}


def latency_figure(sweep: pd.DataFrame) -> Any:
    """p50 latency (ms, log) against catalog size (products, log), one panel per question."""
    import plotly.express as px

    if sweep.empty:
        raise InvalidInput("the sweep is empty: nothing to plot")
    df = sweep.assign(series=sweep["model"] + " (" + sweep["backend"] + ")")
    fig = px.line(df, x="products", y="p50_ms", color="series", facet_col="question",
                  markers=True, log_x=True, log_y=True, error_y=None,
                  hover_data=["p99_ms", "samples"],
                  title="Query latency p50 vs catalog size (measured, log-log)")
    fig.update_yaxes(title_text="p50 (ms)", col=1)
    fig.update_xaxes(title_text="products")
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.update_layout(height=380, legend_title_text="")
    return readable_log_axes(fig)


def storage_figure(sweep: pd.DataFrame) -> Any:
    """Stored bytes against catalog size, per model (measured)."""
    import plotly.express as px

    df = sweep.drop_duplicates(["products", "model"]).assign(
        MB=lambda d: d["storage_bytes"] / 1e6,
        series=lambda d: d["model"] + " (" + d["backend"] + ")")
    fig = px.bar(df, x="products", y="MB", color="series", barmode="group",
                 title="Storage vs catalog size (measured; documents: BSON data only)")
    fig.update_xaxes(type="category", title_text="products")
    fig.update_layout(height=340, legend_title_text="")
    return readable_log_axes(fig)


def write_amplification_figure(writes: pd.DataFrame) -> Any:
    """Rows or documents written per operation, per model (log scale, measured)."""
    import plotly.express as px

    df = writes.assign(op=writes["operation"].str.replace(r" \(.*\)", "", regex=True),
                       variant=writes["model"] + " " + writes["operation"].str.extract(
                           r"(\(.*\))", expand=False).fillna(""))
    fig = px.bar(df, x="op", y="touched", color="variant", barmode="group", log_y=True,
                 text="touched", hover_data=["ms", "note"],
                 title="Write amplification: rows vs documents written (measured)")
    fig.update_layout(height=360, legend_title_text="", xaxis_title="",
                      yaxis_title="rows / documents written (log)")
    return readable_log_axes(fig)


def rename_timeline_figure(relational: MixedReads, documents: MixedReads) -> Any:
    """Every read during the renames: time (ms) vs model, mixed answers in red; grey bands are
    the renames themselves (measured)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for row, mix in ((0, relational), (1, documents)):
        for mixed, color, label in ((False, "#7f7f7f", "one name"), (True, "#d62728",
                                                                     "old and new mixed")):
            pts = [s for s in mix.samples if s[2] == mixed]
            fig.add_trace(go.Scatter(
                x=[(a + b) / 2 * 1000 for a, b, _ in pts],
                y=[f"{mix.model}"] * len(pts), mode="markers",
                marker={"color": color, "size": 7, "symbol": "line-ns-open" if not mixed
                        else "x"},
                name=label, legendgroup=label, showlegend=row == 1))
        for w0, w1 in mix.renames:
            fig.add_shape(type="rect", x0=w0 * 1000, x1=w1 * 1000, y0=row - 0.4, y1=row + 0.4,
                          fillcolor="#bbbbbb", opacity=0.35, line_width=0, layer="below")
    fig.update_layout(title="Reads during brand renames (measured; grey = rename running)",
                      xaxis_title="time since start (ms)", height=300,
                      yaxis={"categoryorder": "array",
                             "categoryarray": ["relational", "documents"]})
    return readable_log_axes(fig)
