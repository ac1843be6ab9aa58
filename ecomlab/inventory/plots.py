"""Figures and tables of the inventory topic (plotly; ``fig.show()`` in notebooks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomlab.inventory.experiment import InventoryRun

__all__ = [
    "OUTCOME_COLUMNS",
    "SPEED_COLUMNS",
    "invariants",
    "latency_figure",
    "lock_wait_figure",
    "oversell_figure",
    "runs_table",
    "throughput_latency_figure",
    "time_to_consistency_figure",
]

_COLORS = {"row-lock": "#1f77b4", "conditional-update": "#2ca02c", "optimistic": "#9467bd",
           "cache-check": "#d62728", "atomic-reserve": "#ff7f0e"}


OUTCOME_COLUMNS = ("strategy", "backend", "buyers", "confirmed", "cancelled", "rejected",
                   "oversold_units", "uncompensated", "refunds", "double_refunds", "valid")
SPEED_COLUMNS = ("strategy", "backend", "buyers", "orders_per_s", "p99_ms")


def runs_table(runs: Mapping[str, InventoryRun] | Sequence[InventoryRun], *,
               view: str = "all") -> pd.DataFrame:
    """One row per run: outcomes (orders, units) and the measured speed (orders/s, ms).

    ``view="outcomes"`` keeps the counts only, ``view="speed"`` the wall-clock figures only.
    """
    from ecomlab import validate

    view = validate.choice("view", view, ("all", "outcomes", "speed"))
    items = runs.items() if isinstance(runs, Mapping) else (
        (f"{r.result.params['strategy']}", r) for r in runs)
    rows: list[dict[str, Any]] = []
    for name, run in items:
        m = run.result.metrics
        rows.append({
            "run": name, "strategy": run.result.params["strategy"],
            "backend": run.result.params["backend"], "buyers": run.result.params["buyers"],
            "confirmed": m["orders_confirmed"], "cancelled": m["orders_cancelled"],
            "rejected": m["orders_rejected"], "oversold_units": m["oversold_units"],
            "uncompensated": m["uncompensated_oversold_units"], "refunds": m["refunds"],
            "double_refunds": m["double_refunds"], "valid": m["valid"],
            "orders_per_s": m["throughput_per_s"], "p99_ms": m["latency_ms"]["p99"],
        })
    table = pd.DataFrame(rows).set_index("run")
    if view == "outcomes":
        return table[list(OUTCOME_COLUMNS)]
    if view == "speed":
        return table[list(SPEED_COLUMNS)]
    return table


def invariants(run: InventoryRun) -> pd.Series:
    """The checker's yes/no answers and zero-counts for one run (stable from run to run when
    the design is correct, unlike the counts of oversold orders, which depend on timing)."""
    r = run.report
    return pd.Series({
        "every order confirmed, cancelled or rejected":
            r.orders_confirmed + r.orders_cancelled + r.orders_rejected == r.orders_attempted
            and r.unresolved_orders == 0,
        "every cancelled order refunded exactly once":
            r.refunds == r.orders_cancelled and r.double_refunds == 0,
        "units sold beyond stock (uncompensated)": r.uncompensated_oversold_units,
        "double refunds": r.double_refunds,
        "stock conserved (initial = available + reserved + sold)": r.conservation_ok,
        "payments balance (charged - refunded = confirmed totals)": r.books_balance,
        "checker verdict: valid": r.valid,
    }, name=run.result.params["strategy"], dtype=object)


def throughput_latency_figure(sweep: pd.DataFrame) -> Any:
    """Throughput (orders/s) and p99 latency (ms) against buyers, one line per strategy."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("throughput (orders/s)",
                                                        "p99 latency (ms, log)"))
    for strategy, g in sweep.groupby("strategy", sort=False):
        color = _COLORS.get(str(strategy))
        name = f"{strategy} ({g['backend'].iloc[0]})"
        fig.add_scatter(x=g["buyers"], y=g["throughput_per_s"], mode="lines+markers",
                        name=name, legendgroup=str(strategy), line={"color": color},
                        row=1, col=1)
        fig.add_scatter(x=g["buyers"], y=g["p99_ms"], mode="lines+markers", name=name,
                        legendgroup=str(strategy), showlegend=False, line={"color": color},
                        row=1, col=2)
    fig.update_xaxes(title_text="concurrent buyers", type="log")
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(title="Measured on this machine: speed of each strategy as buyers grow",
                      height=420)
    return fig


def oversell_figure(sweep: pd.DataFrame) -> Any:
    """Oversold units (promised beyond stock) and those never compensated, against buyers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for strategy, g in sweep.groupby("strategy", sort=False):
        fig.add_bar(x=g["buyers"].astype(str), y=g["oversold_units"], name=str(strategy),
                    marker_color=_COLORS.get(str(strategy)))
    unc = sweep.groupby("buyers")["uncompensated_oversold_units"].sum()
    fig.add_scatter(x=unc.index.astype(str), y=unc.values, mode="markers+text",
                    name="never compensated (all strategies)", text=unc.values,
                    textposition="top center", marker={"symbol": "x", "size": 12,
                                                       "color": "black"})
    fig.update_layout(barmode="group", title="Units promised beyond stock, by buyers (measured)",
                      xaxis_title="concurrent buyers", yaxis_title="oversold units", height=400)
    return fig


def time_to_consistency_figure(runs: Mapping[str, InventoryRun]) -> Any:
    """Histogram of the time from an oversold order's acceptance to its refund (ms)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, run in runs.items():
        ttc = run.report.time_to_consistency_ms
        if ttc:
            fig.add_histogram(x=ttc, name=f"{name} (n={len(ttc)})", opacity=0.7, nbinsx=30)
    fig.update_layout(barmode="overlay", height=380,
                      title="Time to consistency: acceptance → cancel + refund (measured)",
                      xaxis_title="ms", yaxis_title="oversold orders")
    return fig


def lock_wait_figure(runs: Mapping[str, InventoryRun]) -> Any:
    """Per-order time spent waiting in ``SELECT ... FOR UPDATE`` (ms), one box per run."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, run in runs.items():
        waits = run.lock_wait_ms
        if waits.size:
            deadlocks = run.result.metrics["deadlocks"]
            fig.add_box(y=np.maximum(waits, 1e-3), name=f"{name}<br>{deadlocks} deadlocks",
                        boxpoints="outliers")
    fig.update_yaxes(type="log", title_text="lock wait per order (ms, log)")
    fig.update_layout(title="Row locks: time waiting for FOR UPDATE (measured)", height=400,
                      showlegend=False)
    return fig


def latency_figure(run: InventoryRun) -> Any:
    """Histogram of the buyers' latencies in one run (ms)."""
    import plotly.graph_objects as go

    p = run.result.params
    fig = go.Figure(go.Histogram(x=run.latencies_ms, nbinsx=40,
                                 marker_color=_COLORS.get(p["strategy"])))
    fig.update_layout(title=f"{p['strategy']} on {p['backend']}: buyer latency (measured)",
                      xaxis_title="ms", yaxis_title="orders", height=320)
    return fig
