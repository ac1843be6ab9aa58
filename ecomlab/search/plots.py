"""Figures and tables of notebook 07, built from :func:`~ecomlab.search.experiment.run_search`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ecomlab.measure import Result
from ecomlab.search.relevance import CLASSES

__all__ = [
    "facets_frame",
    "latency_frame",
    "latency_note",
    "note",
    "relevance_figure",
    "relevance_frame",
    "relevance_note",
    "results_frame",
    "scaling_figure",
    "summary_frame",
]


def relevance_frame(result: Result) -> pd.DataFrame:
    """One row per (engine, class): nDCG@10, MRR, recall@10, share of empty answers."""
    rows = []
    for engine, e in result.metrics["engines"].items():
        for cls in CLASSES:
            r = e["relevance"].get(cls)
            if r is not None:
                rows.append({"engine": engine, "class": cls, **r})
    return pd.DataFrame(rows)


def relevance_figure(result: Result, metric: str = "ndcg@10") -> Any:
    """Grouped bars: ``metric`` per query class and engine (measured)."""
    import plotly.graph_objects as go

    df = relevance_frame(result)
    fig = go.Figure()
    for engine, part in df.groupby("engine", sort=False):
        fig.add_bar(name=str(engine), x=part["class"], y=part[metric].fillna(0.0))
    fig.update_layout(barmode="group", title=f"{metric} per query class (measured)",
                      yaxis_title=metric, yaxis_range=[0, 1.05], height=380)
    return fig


def latency_frame(result: Result) -> pd.DataFrame:
    """One row per (engine, class): p50 and p99 latency (ms), facets included."""
    rows = []
    for engine, e in result.metrics["engines"].items():
        for cls, v in e["latency_ms"].items():
            rows.append({"engine": engine, "class": cls, "p50_ms": v["p50"],
                         "p99_ms": v["p99"], "samples": v["count"]})
    return pd.DataFrame(rows)


def summary_frame(result: Result) -> pd.DataFrame:
    """One row per engine: index time and size, freshness, statements per search."""
    rows = []
    for engine, e in result.metrics["engines"].items():
        rows.append({"engine": engine, "index_s": e["index_s"],
                     "index_MB": round(e["index_bytes"] / 1e6, 3),
                     "freshness_ms": e["freshness_ms"],
                     "statements_per_search": e["queries_per_search"]})
    return pd.DataFrame(rows)


def facets_frame(responses: dict[str, Any], facet: str = "brands") -> pd.DataFrame:
    """Facet counts side by side: one column per engine, one row per value."""
    cols = {name: pd.Series(r.facets.as_dict()[facet], dtype="int64")
            for name, r in responses.items()}
    return pd.DataFrame(cols).fillna(0).astype(int).sort_index()


def results_frame(responses: dict[str, Any]) -> pd.DataFrame:
    """Top hits side by side: rank, then each engine's title."""
    depth = max((len(r.hits) for r in responses.values()), default=0)
    data = {name: [r.hits[i].title if i < len(r.hits) else "" for i in range(depth)]
            for name, r in responses.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(1, depth + 1, name="rank"))


def scaling_figure(rows: Sequence[dict[str, Any]], y: str = "p99_ms") -> Any:
    """``y`` vs catalog size per engine (log x axis), from :func:`scaling_table`."""
    import plotly.graph_objects as go

    df = pd.DataFrame(list(rows))
    fig = go.Figure()
    for engine, part in df.groupby("engine", sort=False):
        fig.add_scatter(name=str(engine), x=part["products"], y=part[y], mode="lines+markers")
    fig.update_layout(title=f"{y} vs catalog size (measured)", xaxis_title="products",
                      yaxis_title=y, xaxis_type="log", height=360)
    return fig


def note(markdown: str) -> Any:
    """A Markdown display of text built from a run's own figures."""
    from IPython.display import Markdown

    return Markdown(markdown)


def relevance_note(result: Result) -> str:
    """Which engine led each class by nDCG@10 in this run (ties named), as Markdown."""
    df = relevance_frame(result)
    lines = []
    for cls in CLASSES:
        part = df[df["class"] == cls]
        if part.empty:
            continue
        if part["ndcg@10"].isna().all():
            empty = ", ".join(f"{r.engine} {r.empty_share:.0%}" for r in part.itertuples())
            lines.append(f"* **{cls}**: no relevant product exists; share of queries answered "
                         f"with nothing: {empty}.")
            continue
        best = part["ndcg@10"].max()
        leaders = ", ".join(part.loc[part["ndcg@10"] == best, "engine"])
        rest = ", ".join(f"{e} {v:.2f}" for e, v in zip(part["engine"], part["ndcg@10"],
                                                           strict=True))
        zero = part[part["ndcg@10"] == 0]
        blank = "".join(f"; {r.engine} scores 0 and answered {r.empty_share:.0%} of these "
                        "queries with nothing" for r in zero.itertuples())
        lines.append(f"* **{cls}**: led by {leaders} (nDCG@10: {rest}){blank}.")
    return "\n".join(lines)


def latency_note(result: Result) -> str:
    """Each engine's slowest and fastest query class by p50 in this run, as Markdown."""
    df = latency_frame(result)
    lines = []
    for engine, part in df.groupby("engine", sort=False):
        ranked = part.sort_values("p50_ms")
        fast, slow = ranked.iloc[0], ranked.iloc[-1]
        lines.append(f"* **{engine}**: slowest `{slow['class']}` (p50 {slow.p50_ms:.3f} ms), "
                     f"fastest `{fast['class']}` (p50 {fast.p50_ms:.3f} ms).")
    return "\n".join(lines)
