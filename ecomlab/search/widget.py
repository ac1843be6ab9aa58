"""The notebook's search box: one query and facet filters, engine and database side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ecomlab.notebook import explorer
from ecomlab.search.base import SearchEngine, search_request
from ecomlab.search.plots import facets_frame, results_frame

__all__ = ["explore_search", "search_explorer"]


def explore_search(engines: dict[str, SearchEngine], query: str, brand: str = "",
                   category: str = "", min_price: float = 0.0, max_price: float = 0.0,
                   limit: int = 10) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """One search on every engine: a note, the top hits side by side, the brand facet.

    ``brand`` / ``category`` empty and ``max_price`` 0 mean no filter.
    """
    request = search_request(query, brands=[brand] if brand else (),
                             category=category or None, min_price=min_price or None,
                             max_price=max_price or None, limit=limit)
    responses = {name: e.search(request) for name, e in engines.items()}
    note = "<p>" + "; ".join(
        f"<b>{name}</b>: {r.total} matches in {r.took_ms:.2f} ms ({r.queries} statements)"
        for name, r in responses.items()) + " (measured).</p>"
    return note, results_frame(responses), facets_frame(responses, "brands")


def search_explorer(engines: dict[str, SearchEngine], *, brands: Sequence[str] = (),
                    categories: Sequence[str] = (), query: str = "Laptpo") -> Any:
    """The widget: a search box, brand / category / price filters, a Run button."""
    import ipywidgets as w

    controls = {
        "query": w.Text(value=query, description="search"),
        "brand": w.Dropdown(options=["", *brands], value="", description="brand"),
        "category": w.Dropdown(options=["", *categories], value="", description="category"),
        "min_price": w.FloatText(value=0.0, description="min USD"),
        "max_price": w.FloatText(value=0.0, description="max USD"),
    }

    def run(**values: Any) -> tuple[str, pd.DataFrame, pd.DataFrame]:
        return explore_search(engines, **values)

    return explorer(controls, run, title="Search box: engine and database side by side")
