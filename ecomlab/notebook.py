"""What every notebook's setup cell calls, and the one-call widget frame topics build on.

* :func:`setup` — plotly's mimetype renderer (no embedded JS bundle), and a table of the stores
  in use so a reader knows what was measured.
* :func:`table` — the one display of a table: rounded numbers, units in the (JSON-key) column
  names, evidence shown whole, wide tables split into views that fit a 1000 px page.
* :func:`readable_log_axes` — log axes labelled with readable ticks only.
* :func:`say` — Markdown printed from the run's own figures.
* :func:`explorer` — controls + a Run button + an output area. The callback's errors that are
  the user's (``EcomlabError``) are shown as one line, never a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ecomlab.errors import EcomlabError

__all__ = ["PAGE_PX", "Table", "display_output", "explorer", "readable_log_axes", "rounded",
           "say", "setup", "stores_table", "table"]


def setup(*, check: bool = False) -> pd.DataFrame:
    """Configure plotting for notebooks and return the stores in use (one row per kind)."""
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype"
    pio.templates.default = "plotly_white"
    pd.set_option("display.precision", 3)
    return stores_table(check=check)


def stores_table(*, check: bool = False) -> pd.DataFrame:
    """The backend of each kind of store, as ``ecomlab stores`` prints it."""
    from ecomlab.stores import describe_stores

    rows = [{"kind": kind, **info} for kind, info in describe_stores(check=check).items()]
    df = pd.DataFrame(rows).set_index("kind")
    df["url"] = df["url"].fillna("(embedded)")
    return df


def explorer(controls: Mapping[str, Any], run: Callable[..., Any], *,
             title: str = "", auto_run: bool = True) -> Any:
    """A widget: ``controls`` (name -> ipywidget), a Run button, and the output of ``run``.

    ``run(**values)`` may return a plotly figure, a DataFrame (shown with :func:`table`), an
    HTML string, or a tuple of those; each is shown in order. An ``EcomlabError`` shows as a
    red one-line message. The objects last shown are ``box.last_shown``.

    The output area's content is set as one widget state (``Output.outputs``) rather than
    displayed inside ``with out:``: a headless run (nbclient) then never has to answer the
    kernel on the shell channel while it waits for the cell's reply, which can stall it
    (jupyter/nbclient#312), and the saved widget state holds the last output all the same.
    """
    import ipywidgets as w
    from IPython.display import HTML

    out = w.Output()
    button = w.Button(description="Run", button_style="primary", icon="play")
    header = [w.HTML(f"<h4>{title}</h4>")] if title else []
    box = w.VBox([*header, w.HBox(list(controls.values()),
                                  layout=w.Layout(flex_flow="row wrap")), button, out])
    box.last_shown = []

    def _go(_: object = None) -> None:
        values = {name: ctl.value for name, ctl in controls.items()}
        items: list[Any] = []
        try:
            shown = run(**values)
        except EcomlabError as exc:
            message = html.escape(f"{type(exc).__name__}: {exc}")
            items.append(HTML(f'<b style="color:#b00">{message}</b>'))
        else:
            for item in shown if isinstance(shown, tuple) else (shown,):
                if item is None:
                    continue
                if isinstance(item, str):
                    items.append(HTML(item))
                elif isinstance(item, pd.DataFrame):
                    items.append(table(item))
                else:
                    items.append(item)
        box.last_shown = items
        out.outputs = tuple(display_output(item) for item in items)

    button.on_click(_go)
    if auto_run:
        _go()
    return box


def display_output(obj: Any) -> dict[str, Any]:
    """``obj`` as one ``display_data`` output (every mimetype its formatters give)."""
    from IPython.core.formatters import format_display_data

    if hasattr(obj, "to_plotly_json") and hasattr(obj, "_repr_mimebundle_"):
        # a plotly figure: the bundle of the default renderer (plotly_mimetype in notebooks)
        data: dict[str, Any] = dict(obj._repr_mimebundle_() or {})
        data.setdefault("text/plain", f"<plotly figure: {len(obj.data)} traces>")
        return {"output_type": "display_data", "data": data, "metadata": {}}
    data, metadata = format_display_data(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


# ---------------------------------------------------------------- tables and figures

#: Page width a table view must fit (px): a notebook column beside JupyterLab's file browser.
PAGE_PX = 1000
_CHAR_PX = 7.5      # one character of a table cell at JupyterLab's default font (px)
_CELL_PAD_PX = 18   # padding and border of one cell (px)
_WRAP_CHARS = 60    # text columns wider than this wrap instead of widening the table
#: Columns whose text is evidence a reader must see whole: never truncated, wrapped.
TEXT_COLUMNS = ("evidence", "conditions", "claim", "note", "action", "command")


def _decimals(values: pd.Series) -> int:
    """Decimals that show about three significant digits of the column's largest value."""
    finite = values[values.notna() & (values.abs() != float("inf"))].abs()
    top = float(finite.max()) if len(finite) else 0.0
    if top >= 100:
        return 0
    if top >= 10:
        return 1
    if top >= 1:
        return 2
    return 3


def _cell_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell_text(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    return str(value)


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every float column shown to about three significant digits (as text, so the
    display never falls back to ``0.3429999999999999``) and dicts spelled ``key=value``."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_float_dtype(series):
            d = _decimals(series)
            out[col] = series.map(lambda v, d=d: "" if pd.isna(v) else f"{v:,.{d}f}")
        elif pd.api.types.is_integer_dtype(series):
            out[col] = series.map(lambda v: "" if pd.isna(v) else f"{v:,}" if abs(v) >= 10_000
                                  else str(v))
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(lambda v: "" if v is None else _cell_text(v)
                                  if not isinstance(v, float) else
                                  ("" if pd.isna(v) else f"{v:.3g}"))
    return out


def _width_px(df: pd.DataFrame, col: Any) -> float:
    texts = [str(col), *map(str, df[col].tolist())]
    chars = max(len(t) for t in texts) if texts else 0
    return min(chars, _WRAP_CHARS) * _CHAR_PX + _CELL_PAD_PX


class Table:
    """A rounded table shown as one or more views that each fit ``PAGE_PX``; no cell is cut.

    ``frame`` is the rounded whole table, ``views`` the column groups shown (each repeats the
    key columns). The text form (``repr``) prints every view in full, never ``...``.
    """

    def __init__(self, frame: pd.DataFrame, views: list[pd.DataFrame], *,
                 index: bool = True) -> None:
        self.frame = frame
        self.views = views
        self.index = index

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None,
                               "display.width", 10_000, "display.max_rows", 500):
            return "\n\n".join(v.to_string(index=self.index) for v in self.views)

    def _repr_html_(self) -> str:
        import hashlib

        parts = []
        for i, view in enumerate(self.views):
            digest = hashlib.sha1(view.to_csv().encode() + str(i).encode()).hexdigest()[:10]
            styler = view.style.set_uuid(digest)
            if not self.index:
                styler = styler.hide(axis="index")
            wrap: list[Any] = [c for c in view.columns if c in TEXT_COLUMNS
                               or view[c].map(lambda v: len(str(v))).max() > _WRAP_CHARS]
            right: dict[str, Any] = {"text-align": "right"}
            styler = styler.set_properties(None, **right)
            if wrap:
                styler = styler.set_properties(wrap, **{
                    "white-space": "normal", "text-align": "left",
                    "min-width": "220px", "max-width": f"{int(_WRAP_CHARS * _CHAR_PX)}px"})
            parts.append(styler.to_html())
        return "\n".join(parts)


def table(df: pd.DataFrame, *, keep: Sequence[str] | None = None,
          views: Sequence[Sequence[str]] | None = None, width_px: int = PAGE_PX,
          drop: Sequence[str] = ()) -> Table:
    """The one way notebooks show a table: rounded numbers (units are in the column names, as
    in the CLI's JSON keys: ``p99_ms``, ``throughput_per_s``), text columns shown whole and
    wrapped, and a wide table split into views of at most ``width_px`` pixels.

    Args:
        df: the table (its index is shown when it is not a plain 0..n-1 range).
        keep: columns repeated at the left of every view (default: the first column when it
            holds text, such as ``strategy``).
        views: explicit column groups (``keep`` is prepended to each); default: split greedily.
        width_px: the page width a view must fit (px).
        drop: columns not shown.
    """
    shown = df.drop(columns=[c for c in drop if c in df.columns])
    plain_index = isinstance(shown.index, pd.RangeIndex)
    frame = rounded(shown)
    if plain_index:
        frame = frame.reset_index(drop=True)
    if keep is None:
        keep = []
        if len(shown.columns):
            first = shown.columns[0]
            if first not in TEXT_COLUMNS and (shown[first].dtype == object
                                              or pd.api.types.is_string_dtype(shown[first])):
                keep = [first]
    keep = [c for c in keep if c in frame.columns]
    index_px = 0.0 if plain_index else max(
        len(str(v)) for v in [shown.index.name or "", *frame.index]) * _CHAR_PX + _CELL_PAD_PX
    base_px = index_px + sum(_width_px(frame, c) for c in keep)
    groups: list[list[str]] = []
    if views is not None:
        groups = [[c for c in g if c in frame.columns and c not in keep] for g in views]
    else:
        current: list[str] = []
        used = base_px
        for col in frame.columns:
            if col in keep:
                continue
            w = _width_px(frame, col)
            if current and used + w > width_px:
                groups.append(current)
                current, used = [], base_px
            current.append(col)
            used += w
        if current:
            groups.append(current)
    parts = [frame[[*keep, *g]] for g in groups if g] or [frame]
    return Table(frame, parts, index=not plain_index)


def say(text: str) -> Any:
    """A Markdown cell's text printed from the run's own figures (``say(f"...")``)."""
    from IPython.display import Markdown

    return Markdown(text)


def _tick_label(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def readable_log_axes(fig: Any) -> Any:
    """Label a log axis only where a reader can read it: 1-2-5 ticks written out in full when
    the data spans less than three decades, one labelled tick per decade (minor ticks unlabelled)
    when it spans more. Never a bare "5" under "0.1". Returns ``fig``."""
    import math

    layout = fig.layout
    for name in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[name]
        if axis.type != "log":
            continue
        letter, suffix = name[0], name[5:]
        ref = letter + suffix
        values: list[float] = []
        for trace in fig.data:
            if (getattr(trace, f"{letter}axis", None) or letter) != ref:
                continue
            data = getattr(trace, letter, None)
            if data is None:
                continue
            for v in data:
                try:
                    f = float(v)
                except (TypeError, ValueError):
                    continue
                if f > 0 and math.isfinite(f):
                    values.append(f)
        if not values:
            axis.update(dtick=1)
            continue
        lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        if hi - lo >= 4:
            axis.update(dtick=1, tickformat=",~g", minor={"ticks": "outside", "dtick": "D1",
                                                         "showgrid": False})
            continue
        ticks = [m * 10.0 ** k for k in range(lo, hi + 1) for m in (1, 2, 5)]
        ticks = [t for t in ticks if min(values) / 2.5 <= t <= max(values) * 2.5]
        axis.update(tickmode="array", tickvals=ticks,
                    ticktext=[_tick_label(float(f"{t:.12g}")) for t in ticks])
    return fig
