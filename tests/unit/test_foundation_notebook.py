"""The notebook helpers: setup reports the stores; explorer shows user errors as one line."""

from __future__ import annotations

import ipywidgets as w
import pandas as pd
import pytest

from ecomlab.errors import InvalidInput
from ecomlab.notebook import Table, explorer, setup


def test_setup_selects_the_mimetype_renderer_and_lists_every_store(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.io as pio

    for var in ("ECOMLAB_SQL_URL", "ECOMLAB_PG_URL", "ECOMLAB_REDIS_URL", "ECOMLAB_MONGO_URL",
                "ECOMLAB_AMQP_URL", "ECOMLAB_SEARCH_URL"):
        monkeypatch.delenv(var, raising=False)
    table = setup()
    assert pio.renderers.default == "plotly_mimetype"
    assert list(table.index) == ["sql", "pg", "kv", "documents", "broker", "search"]
    assert table["embedded"].all()


def test_explorer_runs_with_the_control_values_and_shows_errors_without_a_traceback() -> None:
    calls: list[dict[str, object]] = []

    def run(buyers: int, strategy: str) -> pd.DataFrame:
        calls.append({"buyers": buyers, "strategy": strategy})
        if buyers < 1:
            raise InvalidInput(f"buyers must be >= 1, got {buyers!r}")
        return pd.DataFrame({"buyers": [buyers]})

    buyers = w.IntSlider(value=4, min=0, max=8)
    box = explorer({"buyers": buyers, "strategy": w.Dropdown(options=["a", "b"], value="b")},
                   run, title="demo")
    assert isinstance(box, w.VBox)
    assert calls == [{"buyers": 4, "strategy": "b"}]
    first = box.last_shown[0]
    assert isinstance(first, Table)  # a DataFrame is shown through the table helper
    assert first.frame["buyers"].tolist() == ["4"]
    out = box.children[-1]
    assert isinstance(out, w.Output)
    assert "text/html" in out.outputs[0]["data"]  # the output is the widget's saved state
    buyers.value = 0
    button = next(c for c in box.children if isinstance(c, w.Button))
    button.click()
    assert len(box.last_shown) == len(out.outputs) == 1
    message = box.last_shown[-1].data
    assert "InvalidInput: buyers must be &gt;= 1, got 0" in message
    assert "Traceback" not in message
    assert calls[-1] == {"buyers": 0, "strategy": "b"}
