"""Figures for notebook 05 (plotly): the waterfall, latency vs load, availability, cascade,
consistency and team paths. Each title carries its label (measured / model)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.architecture.deploy import INCONSISTENCIES

__all__ = ["availability_figure", "cascade_figure", "consistency_figure", "latency_figure",
           "replica_figure", "scaling_figure", "team_figure", "usl_figure", "waterfall_figure"]


def waterfall_figure(spans: pd.DataFrame) -> Any:
    """One idle order's spans per style: bars from start to end (ms; measured)."""
    from plotly.subplots import make_subplots

    styles = list(dict.fromkeys(spans["style"]))
    fig = make_subplots(rows=len(styles), cols=1, subplot_titles=styles, shared_xaxes=True,
                        vertical_spacing=0.12)
    for i, style in enumerate(styles, start=1):
        part = spans[(spans["style"] == style) & spans["start_ms"].notna()]
        part = part.assign(step=[step if svc == "client" or step.startswith(svc)
                                 else f"{svc}: {step}" for svc, step in
                                 zip(part["service"], part["step"], strict=True)])
        fig.add_bar(y=part["step"], x=part["duration_ms"], base=part["start_ms"],
                    orientation="h", name=style, showlegend=False, row=i, col=1,
                    hovertemplate="%{y}: %{x:.2f} ms<extra></extra>")
        fig.update_yaxes(autorange="reversed", row=i, col=1)
    fig.update_xaxes(title_text="ms from the order's first step", row=len(styles), col=1)
    fig.update_layout(title="One order's OpenTelemetry spans: module calls vs HTTP hops "
                            "(measured)", height=640)
    return fig


def latency_figure(curves: pd.DataFrame) -> Any:
    """p50 and p99 vs offered rate per style, log y (ms; measured, open loop)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for style, part in curves.groupby("style", sort=False):
        for col, dash in (("p50_ms", "solid"), ("p99_ms", "dot")):
            fig.add_scatter(x=part["offered_per_s"], y=part[col], mode="lines+markers",
                            name=f"{style} {col[:3]}", line={"dash": dash})
    fig.update_layout(title="Order latency vs offered load, from intended send times "
                            "(measured)", height=420,
                      xaxis_title="offered orders/s (Poisson)",
                      yaxis={"type": "log", "title": "ms (log scale)"})
    return fig


def availability_figure(table: pd.DataFrame) -> Any:
    """Measured availability beside the closed form, per style and fault."""
    import plotly.graph_objects as go

    labels = [f"{s} · {f}" for s, f in zip(table["style"], table["fault"], strict=True)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=table["orders_measured"], name="orders (measured)")
    fig.add_bar(x=labels, y=table["orders_model"], name="orders (model: product of parts)")
    fig.add_bar(x=labels, y=table["page_measured"], name="product page (measured)")
    fig.update_layout(barmode="group", height=420, yaxis={"title": "share answered",
                                                          "range": [0, 1.05]},
                      title="Availability under one fault: measured vs A = product of parts")
    return fig


def cascade_figure(table: pd.DataFrame) -> Any:
    """With a slow inventory: share of orders and product pages answered (measured)."""
    import plotly.graph_objects as go

    labels = [f"{s} · {r}" for s, r in zip(table["style"], table["resilience"], strict=True)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=table["orders_ok"], name="orders answered 201")
    fig.add_bar(x=labels, y=table["page_ok"], name="product pages answered")
    fig.update_layout(barmode="group", height=400, yaxis={"title": "share", "range": [0, 1.05]},
                      title="A slow inventory: does it take unrelated pages down? (measured)")
    return fig


def consistency_figure(table: pd.DataFrame) -> Any:
    """Inconsistent end states per variant, stacked by kind (measured)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col in INCONSISTENCIES:
        fig.add_bar(x=table["variant"], y=table[col], name=col)
    fig.update_layout(barmode="stack", height=420, yaxis_title="end states (count)",
                      title="Inconsistent end states over seeded fault trials (measured)")
    return fig


def team_figure(teams: pd.DataFrame) -> Any:
    """Communication paths n(n-1)/2 vs team count (model)."""
    import plotly.express as px

    fig = px.line(teams, x="teams", y="paths", markers=True,
                  title="Communication paths between teams, n(n-1)/2 (model, not measured)")
    fig.update_layout(height=360)
    return fig


def scaling_figure(model: pd.DataFrame) -> Any:
    """Predicted throughput vs clients per style and scaling plan (label: model)."""
    import plotly.express as px

    data = model.assign(run=model["style"] + " · " + model["plan"])
    fig = px.line(data, x="clients", y="throughput_per_s", color="run", markers=True,
                  title="Throughput if each replica had its own core: MVA on measured CPU "
                        "demands (model)",
                  labels={"throughput_per_s": "orders/s (model)", "clients": "clients"})
    fig.update_layout(height=400)
    return fig


def usl_figure(curves: pd.DataFrame, fits: pd.DataFrame) -> Any:
    """Measured closed-loop throughput vs clients and the fitted USL curve per style."""
    import numpy as np
    import plotly.graph_objects as go

    fig = go.Figure()
    one = curves[curves["replicas"] == 1]
    for style, part in one.groupby("style", sort=False):
        fig.add_scatter(x=part["clients"], y=part["throughput_per_s"], mode="markers",
                        name=f"{style} (measured)")
        fit = fits[fits["style"] == style].iloc[0]
        n = np.linspace(1, float(part["clients"].max()), 60)
        x = fit["lambda"] * n / (1 + fit["sigma"] * (n - 1) + fit["kappa"] * n * (n - 1))
        fig.add_scatter(x=n, y=x, mode="lines", line={"dash": "dot"},
                        name=f"{style} USL fit (s={fit['sigma']:.3f}, k={fit['kappa']:.4f})")
    fig.update_layout(title="Throughput vs clients, closed loop (measured) and the USL fit",
                      height=400, xaxis_title="clients", yaxis_title="orders/s")
    return fig


def replica_figure(check: pd.DataFrame) -> Any:
    """Measured throughput with 1 and 2 replicas beside the model's two predictions."""
    import plotly.graph_objects as go

    labels = [f"{s} · {int(r)} x {svc}" for s, r, svc in
              zip(check["style"], check["replicas"], check["service"], strict=True)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=check["measured_per_s"], name="measured")
    fig.add_bar(x=labels, y=check["model_on_cores_per_s"], name="model on 2 shared cores")
    fig.add_bar(x=labels, y=check["model_own_cores_per_s"], name="model, a core per replica")
    fig.update_layout(barmode="group", height=400, yaxis_title="orders/s",
                      title="Replicas behind round robin: measured vs the queueing model")
    return fig
