"""The notebook's search box: one query and facet filters, engine and database side by side."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ecomlab.notebook import explorer
from ecomlab.search.base import Hit, SearchEngine, SearchResponse, search_request
from ecomlab.search.plots import facets_frame

__all__ = ["explore_search", "hits_html", "search_explorer", "snippets_view"]


def _cell(hit: Hit) -> str:
    """One hit as HTML: its highlighted title, description fragment and snippet method.

    Product text is HTML-escaped; the only markup from a snippet is its ``<mark>`` tags
    (:mod:`ecomlab.search.snippets`).
    """
    snip = hit.snippet
    if snip is None or snip.method == "none":
        title = html.escape(hit.title)
        below = '<i style="color:#888">no snippet</i>'
    else:
        title = snip.title or html.escape(hit.title)
        below = (f'<span style="font-size:90%">{snip.description}</span><br>'
                 if snip.description else "")
        below += f'<span style="color:#888;font-size:80%">{html.escape(snip.method)}</span>'
    return f"{title}<br>{below}"


def hits_html(responses: dict[str, SearchResponse]) -> str:
    """The top hits of each engine side by side as an HTML table, snippets highlighted."""
    depth = max((len(r.hits) for r in responses.values()), default=0)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in responses)
    rows = []
    for i in range(depth):
        cells = "".join(
            f'<td style="text-align:left;vertical-align:top">'
            f'{_cell(r.hits[i]) if i < len(r.hits) else ""}</td>'
            for r in responses.values())
        rows.append(f"<tr><th>{i + 1}</th>{cells}</tr>")
    return (f'<table style="max-width:1000px"><thead><tr><th>rank</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def snippets_view(engines: dict[str, SearchEngine], query: str, limit: int = 3) -> Any:
    """The top ``limit`` hits of ``query`` on every engine with their snippets (a display)."""
    from IPython.display import HTML

    request = search_request(query, limit=limit, snippets=True)
    return HTML(hits_html({name: e.search(request) for name, e in engines.items()}))


def explore_search(engines: dict[str, SearchEngine], query: str, brand: str = "",
                   category: str = "", min_price: float = 0.0, max_price: float = 0.0,
                   limit: int = 10) -> tuple[str, str, pd.DataFrame]:
    """One search on every engine: a note, the top hits with snippets side by side (HTML),
    the brand facet.

    ``brand`` / ``category`` empty and ``max_price`` 0 mean no filter.
    """
    request = search_request(query, brands=[brand] if brand else (),
                             category=category or None, min_price=min_price or None,
                             max_price=max_price or None, limit=limit, snippets=True)
    responses = {name: e.search(request) for name, e in engines.items()}
    note = "<p>" + "; ".join(
        f"<b>{html.escape(name)}</b>: {r.total} matches in {r.took_ms:.2f} ms "
        f"({r.queries} statements)" for name, r in responses.items()) + (
        " (measured, snippets included). Matched words are <mark>marked</mark>; under each "
        "hit, who found them: <i>engine</i> (the engine's own highlighter), <i>matched "
        "terms</i> (a typo match, for which tantivy returns no snippet: the product's words "
        "within the query words' edit distance).</p>")
    return note, hits_html(responses), facets_frame(responses, "brands")


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

    def run(**values: Any) -> tuple[str, str, pd.DataFrame]:
        return explore_search(engines, **values)

    return explorer(controls, run, title="Search box: engine and database side by side")
