"""What every notebook's setup cell calls, and the one-call widget frame topics build on.

* :func:`setup` — plotly's mimetype renderer (no embedded JS bundle), and a table of the stores
  in use so a reader knows what was measured.
* :func:`explorer` — controls + a Run button + an output area. The callback's errors that are
  the user's (``EcomlabError``) are shown as one line, never a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ecomlab.errors import EcomlabError

__all__ = ["explorer", "setup", "stores_table"]


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

    ``run(**values)`` may return a plotly figure, a DataFrame, a string, or a tuple of those;
    each is displayed in order. An ``EcomlabError`` shows as a red one-line message.
    """
    import ipywidgets as w
    from IPython.display import HTML, display

    out = w.Output()
    button = w.Button(description="Run", button_style="primary", icon="play")

    def _go(_: object = None) -> None:
        values = {name: ctl.value for name, ctl in controls.items()}
        out.clear_output(wait=True)
        with out:
            try:
                shown = run(**values)
            except EcomlabError as exc:
                message = html.escape(f"{type(exc).__name__}: {exc}")
                display(HTML(f'<b style="color:#b00">{message}</b>'))
                return
            for item in shown if isinstance(shown, tuple) else (shown,):
                if item is None:
                    continue
                if isinstance(item, str):
                    display(HTML(item))
                elif hasattr(item, "show") and hasattr(item, "to_plotly_json"):
                    item.show()
                else:
                    display(item)

    button.on_click(_go)
    header = [w.HTML(f"<h4>{title}</h4>")] if title else []
    box = w.VBox([*header, w.HBox(list(controls.values()),
                                  layout=w.Layout(flex_flow="row wrap")), button, out])
    if auto_run:
        _go()
    return box
