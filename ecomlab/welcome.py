"""Tables and figures for the welcome notebook: the shared catalog, skew, and the topic map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomlab import validate
from ecomlab.datagen import Catalog, generate_catalog, zipf_popularity
from ecomlab.measure import Result, timed
from ecomlab.topics import TOPICS

__all__ = ["TOPICS", "catalog_sunburst", "skew_figure", "skew_table",
           "time_catalog_generation", "topic_map"]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"

def topic_map(notebook_dir: Path = NOTEBOOK_DIR) -> pd.DataFrame:
    """One row per topic of the registry: its question, notebook, status and command."""
    rows = []
    for topic in TOPICS:
        present = (notebook_dir / topic.notebook).exists()
        rows.append({"topic": topic.number, "title": topic.title, "question": topic.question,
                     "notebook": topic.notebook,
                     "status": "available" if present else "planned",
                     "command": topic.command.replace("`", "") if present else ""})
    return pd.DataFrame(rows).set_index("topic")


def catalog_sunburst(catalog: Catalog) -> Any:
    """A sunburst of products per department / group / leaf category."""
    import plotly.express as px

    cats = catalog.categories.set_index("id")["path"]
    paths = catalog.products["category_id"].map(cats).str.split("/", expand=True)
    paths.columns = ["department", "group", "category"]
    counts = paths.value_counts().rename("products").reset_index()
    fig = px.sunburst(counts, path=["department", "group", "category"], values="products",
                      title=f"{len(catalog):,} generated products by category (seed "
                            f"{catalog.seed})")
    fig.update_layout(margin={"t": 50, "l": 0, "r": 0, "b": 0}, height=480)
    return fig


def skew_table(products: int = 10_000, alphas: Sequence[float] = (0.0, 0.6, 0.9, 1.2),
               heads: Sequence[float] = (0.01, 0.1)) -> pd.DataFrame:
    """Share of requests (%) that the most popular ``heads`` fractions of products receive."""
    products = validate.integer("products", products, minimum=10)
    rows = []
    for alpha in alphas:
        cdf = np.cumsum(zipf_popularity(products, alpha))
        row: dict[str, float] = {"alpha": alpha}
        for h in heads:
            k = max(1, round(products * validate.probability("head", h)))
            row[f"top {h:.0%} of products (% of requests)"] = round(100 * float(cdf[k - 1]), 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("alpha")


def skew_figure(products: int = 10_000, alphas: Sequence[float] = (0.6, 0.9, 1.2)) -> Any:
    """Cumulative share of requests vs share of products (log x), one curve per alpha."""
    import plotly.graph_objects as go

    products = validate.integer("products", products, minimum=10)
    ks = np.unique(np.geomspace(1, products, 60).astype(int))
    fig = go.Figure()
    for alpha in alphas:
        cdf = np.cumsum(zipf_popularity(products, alpha))
        fig.add_trace(go.Scatter(x=(100 * ks / products).round(4),
                                 y=(100 * cdf[ks - 1]).round(2), mode="lines",
                                 name=f"α = {alpha}"))
    fig.update_layout(title=f"Zipf popularity over {products:,} products (exact)",
                      xaxis={"title": "most popular products (% of catalog)", "type": "log"},
                      yaxis={"title": "share of requests (%)", "range": [0, 100]}, height=400)
    return fig


def time_catalog_generation(products: int = 100_000, seed: int = 42, repeats: int = 1) -> Result:
    """Measure how long generating a catalog of ``products`` takes on this machine.

    With ``repeats`` > 1 the same catalog is generated that many times in a row; ``seconds`` is
    the first run and ``seconds_min`` / ``seconds_max`` the spread over all of them (s).
    """
    products = validate.integer("products", products, minimum=1, maximum=10_000_000)
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=100)
    times: list[float] = []
    for _ in range(repeats):
        with timed() as sw:
            catalog = generate_catalog(products, seed=seed)
        times.append(sw.elapsed_s)
    seconds = times[0]
    return Result("generate_catalog", "measured", seed,
                  {"products": products, "repeats": repeats},
                  {"seconds": round(seconds, 3),
                   "seconds_min": round(min(times), 3), "seconds_max": round(max(times), 3),
                   "products_per_s": round(len(catalog) / seconds),
                   "attributes": len(catalog.attributes)})
