"""Figures and tables of the inventory topic (plotly; ``fig.show()`` in notebooks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomlab.inventory.experiment import InventoryRun
from ecomlab.notebook import readable_log_axes

__all__ = [
    "EVENTUAL",
    "OUTCOME_COLUMNS",
    "SPEED_COLUMNS",
    "STRONG",
    "consistency_table",
    "invariants",
    "latency_figure",
    "lock_facts",
    "lock_wait_figure",
    "oversell_figure",
    "runs_table",
    "sweep_facts",
    "tail_lock_share",
    "throughput_latency_figure",
    "time_to_consistency_figure",
]

_COLORS = {"row-lock": "#1f77b4", "conditional-update": "#2ca02c", "optimistic": "#9467bd",
           "cache-check": "#d62728", "atomic-reserve": "#ff7f0e"}


OUTCOME_COLUMNS = ("strategy", "backend", "buyers", "confirmed", "cancelled", "rejected",
                   "oversold_units", "uncompensated", "refunds", "double_refunds", "leaked_units",
                   "valid")
SPEED_COLUMNS = ("strategy", "backend", "buyers", "throughput_per_s", "p99_ms")


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
            "leaked_units": m["leaked_units"],
            "throughput_per_s": m["throughput_per_s"], "p99_ms": m["latency_ms"]["p99"],
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
        "units reserved that no order holds (leaked)": r.leaked_units,
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
    return readable_log_axes(fig)


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
    return readable_log_axes(fig)


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
    return readable_log_axes(fig)


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
    return readable_log_axes(fig)


def latency_figure(run: InventoryRun) -> Any:
    """Histogram of the buyers' latencies in one run (ms)."""
    import plotly.graph_objects as go

    p = run.result.params
    fig = go.Figure(go.Histogram(x=run.latencies_ms, nbinsx=40,
                                 marker_color=_COLORS.get(p["strategy"])))
    fig.update_layout(title=f"{p['strategy']} on {p['backend']}: buyer latency (measured)",
                      xaxis_title="ms", yaxis_title="orders", height=320)
    return readable_log_axes(fig)


STRONG = ("row-lock", "conditional-update", "optimistic")
EVENTUAL = ("cache-check", "atomic-reserve")


def sweep_facts(sweep: pd.DataFrame) -> dict[str, Any]:
    """What a sweep's prose needs, read from the sweep itself (nothing assumed about timing).

    Returns ``top_buyers`` (the largest buyer count), ``strong_leader`` / ``eventual_leader``
    (the fastest strategy of each family there, by ``throughput_per_s``) with their
    ``*_per_s``, ``family_ratio`` (best eventual / best strong orders/s at ``top_buyers``) and
    ``family_ratio_one`` (the same at the smallest buyer count), ``strong_leads`` (strategy ->
    at how many buyer counts it led the strong family), ``oversellers`` (strategies with any
    oversold unit), ``oversold_by_buyers`` (cache-check's oversold units per buyer count),
    ``retries_by_buyers`` (optimistic's retries per buyer count) and ``uncompensated`` (total).
    """
    buyers = sorted(int(b) for b in sweep["buyers"].unique())
    top, one = buyers[-1], buyers[0]

    def best(family: Sequence[str], at: int) -> tuple[str | None, float]:
        rows = sweep[(sweep["buyers"] == at) & sweep["strategy"].isin(family)]
        rows = rows.dropna(subset=["throughput_per_s"])
        if rows.empty:
            return None, float("nan")
        pos = int(rows["throughput_per_s"].to_numpy().argmax())
        return str(rows["strategy"].iloc[pos]), float(rows["throughput_per_s"].iloc[pos])

    strong_leader, strong_per_s = best(STRONG, top)
    eventual_leader, eventual_per_s = best(EVENTUAL, top)
    _, strong_one = best(STRONG, one)
    _, eventual_one = best(EVENTUAL, one)
    leads: dict[str, int] = {s: 0 for s in STRONG if s in set(sweep["strategy"])}
    for b in buyers:
        leader, _ = best(STRONG, b)
        if leader is not None:
            leads[leader] += 1

    def by_buyers(strategy: str, column: str) -> dict[int, int]:
        rows = sweep[sweep["strategy"] == strategy]
        return {int(b): int(v) for b, v in zip(rows["buyers"], rows[column], strict=True)}

    oversellers = sorted(str(s) for s, g in sweep.groupby("strategy")
                         if int(g["oversold_units"].sum()) > 0)
    return {
        "top_buyers": top, "one_buyers": one,
        "strong_leader": strong_leader, "strong_per_s": strong_per_s,
        "eventual_leader": eventual_leader, "eventual_per_s": eventual_per_s,
        "family_ratio": eventual_per_s / strong_per_s if strong_per_s else float("nan"),
        "family_ratio_one": eventual_one / strong_one if strong_one else float("nan"),
        "strong_leads": leads, "buyer_counts": len(buyers),
        "oversellers": oversellers,
        "oversold_by_buyers": by_buyers("cache-check", "oversold_units")
        if "cache-check" in set(sweep["strategy"]) else {},
        "retries_by_buyers": by_buyers("optimistic", "retries")
        if "optimistic" in set(sweep["strategy"]) else {},
        "uncompensated": int(sweep["uncompensated_oversold_units"].sum()),
    }


def consistency_table(runs: Mapping[str, InventoryRun]) -> pd.DataFrame:
    """Per run: oversold orders, the time from acceptance to refund (p50/p99 ms), validator
    crashes, and units reserved that no order holds (``leaked_units``): one row each."""
    rows = []
    for name, run in runs.items():
        m = run.result.metrics
        ttc = m["time_to_consistency_ms"]
        rows.append({"run": name, "oversold_orders": ttc["count"],
                     "time_to_consistency_p50_ms": ttc["p50"],
                     "time_to_consistency_p99_ms": ttc["p99"],
                     "validator_crashes": m.get("validator_crashes", 0),
                     "leaked_units": m["leaked_units"]})
    return pd.DataFrame(rows).set_index("run")


def lock_facts(runs: Mapping[str, InventoryRun]) -> dict[str, dict[str, float]]:
    """Per run: ``deadlocks``, the median and p99 lock wait per order (ms), and
    ``tail_lock_share``: the share of the slowest 1 % of orders' time (latency at or above the
    p99) that they spent waiting for ``FOR UPDATE`` (0..1)."""
    out: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        waits = run.lock_wait_ms
        out[name] = {"deadlocks": int(run.result.metrics["deadlocks"]),
                     "wait_p50_ms": float(np.median(waits)) if waits.size else float("nan"),
                     "wait_p99_ms": float(np.percentile(waits, 99)) if waits.size
                     else float("nan"),
                     "tail_lock_share": tail_lock_share(run)}
    return out


def tail_lock_share(run: InventoryRun, percentile: float = 99.0) -> float:
    """The share of the time of the orders at or above the ``percentile`` latency that was
    spent waiting for row locks (0..1; nan without latencies or lock waits)."""
    lat, waits = run.latencies_ms, run.lock_wait_ms
    if not lat.size or waits.size != lat.size:
        return float("nan")
    slow = lat >= np.percentile(lat, percentile)
    total = float(lat[slow].sum())
    return float(waits[slow].sum()) / total if total > 0 else float("nan")
