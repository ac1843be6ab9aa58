"""Figures for notebook 04 (plotly): outcomes by failure rate, and what the customer waits for."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.notebook import readable_log_axes

__all__ = ["OUTCOME_COLUMNS", "outcome_figure", "response_figure"]

#: the outcome counts drawn by :func:`outcome_figure`
OUTCOME_COLUMNS: tuple[str, ...] = ("failed", "dead_lettered", "lost", "duplicate_charges",
                                    "orphan_charges", "compensations")


def outcome_figure(frame: pd.DataFrame, *, title: str = "") -> Any:
    """Grouped bars: each outcome count per run, one panel per mode (label: measured).

    Args:
        frame: rows from :func:`ecomlab.messaging.outcome_frame`.
    """
    import plotly.express as px

    data = frame.copy()
    data["run"] = [
        f"{m} · {'idempotent' if i else 'naive'} · f={f:g}" if m == "queue" else f"{m} · f={f:g}"
        for m, i, f in zip(data["mode"], data["idempotent"], data["failure_rate"], strict=True)]
    long = data.melt(id_vars=["run", "mode"], value_vars=list(OUTCOME_COLUMNS),
                     var_name="outcome", value_name="orders_affected")
    fig = px.bar(long, x="outcome", y="orders_affected", color="run", barmode="group",
                 title=title or "What went wrong, per run (measured)",
                 labels={"orders_affected": "orders (count)", "outcome": ""})
    fig.update_layout(legend_title_text="run", height=420)
    return readable_log_axes(fig)


def response_figure(frame: pd.DataFrame, *, title: str = "") -> Any:
    """Customer-visible response p50/p99 and completion p99 per run, log scale (ms; measured)."""
    import plotly.graph_objects as go

    timeouts = frame["timeout_ms"] if "timeout_ms" in frame else [None] * len(frame)
    labels = [f"{m} · f={f:g}" + ("" if m == "direct" else (" · idem" if i else " · naive"))
              + ("" if t is None or pd.isna(t) else f" · timeout {t:g} ms")
              for m, i, f, t in zip(frame["mode"], frame["idempotent"], frame["failure_rate"],
                                    timeouts, strict=True)]
    fig = go.Figure()
    for col, name in (("response_p50_ms", "response p50"), ("response_p99_ms", "response p99"),
                      ("completion_p99_ms", "order done p99")):
        fig.add_bar(x=labels, y=frame[col], name=name)
    fig.update_layout(barmode="group", height=420,
                      title=title or "What the customer waits for vs when the order is done "
                                     "(measured, ms)",
                      yaxis={"type": "log", "title": "ms (log scale)"})
    return readable_log_axes(fig)
