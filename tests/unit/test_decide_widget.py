"""Decision widgets: the callback, the flip chart's data and the form's error handling."""

from __future__ import annotations

from ecomlab.decide.ledger import Ledger
from ecomlab.decide.profile import default_profile
from ecomlab.decide.widget import (
    decide_explorer,
    disagreements,
    explore_decision,
    flip_table,
    segments,
    whatif_figure,
)


def test_the_callback_returns_the_table_the_drivers_and_the_chart() -> None:
    note, table, drivers, fig = explore_decision({"team": {"developers": 6},
                                                  "phase": "prototype"})
    assert "6 developers" in note
    assert table.loc["architecture", "choice"] == "monolith"
    assert table.loc["architecture", "confidence"] == "high"
    assert "domain.independent_scaling" in drivers.index
    assert fig.layout.xaxis.range == (0.5, 200.5)


def test_the_segments_cover_every_team_size_once_per_decision() -> None:
    seg = segments(default_profile(30))
    for _, part in seg.groupby("decision"):
        sizes = [n for _, s in part.iterrows() for n in range(s["from"], s["to"] + 1)]
        assert sizes == list(range(1, 201))
    flips = flip_table(default_profile(30))
    assert flips.loc["architecture", "flips at"] == "10, 51"


def test_the_chart_marks_the_profiles_team_size() -> None:
    fig = whatif_figure(default_profile(42))
    assert any(s.x0 == 42 for s in fig.layout.shapes)


def test_the_form_shows_a_bad_value_as_one_line_and_recovers() -> None:
    box = decide_explorer({"team": {"developers": 12}})
    controls = {c.description: c for c in box.children[1].children}
    message = box.children[2]
    controls["read write ratio"].value = 0.0
    assert "InvalidInput" in message.value and "load.read_write_ratio" in message.value
    assert "Traceback" not in message.value
    controls["read write ratio"].value = 5.0
    assert message.value == ""


def test_disagreements_are_read_from_the_ledger() -> None:
    empty = Ledger([], {"topics": {}})
    rows = disagreements(empty)
    assert set(rows["verdict"]) == {"not measurable here"}
    assert len(rows) == len({(r, c) for r, c in zip(rows["rule"], rows["claim"], strict=True)})


def test_moving_the_team_size_redraws_the_panel_as_widget_state() -> None:
    """The answer is the Output widget's state (what a saved notebook shows), set on every
    change, never printed into the cell while a headless runner waits for its reply."""
    box = decide_explorer({"team": {"developers": 12}})
    out = box.children[3]
    controls = {c.description: c for c in box.children[1].children}

    def shown() -> str:
        return " ".join(str(o["data"].get("text/html", "")) for o in out.outputs)

    assert [o["output_type"] for o in out.outputs] == ["display_data"] * 4
    assert "12 developers" in shown()
    assert "application/vnd.plotly.v1+json" in out.outputs[3]["data"]
    size = next(c for name, c in controls.items() if "developers" in name)
    size.value = 150
    assert "150 developers" in shown() and "12 developers" not in shown()
