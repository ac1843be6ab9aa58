"""The offline book builder (ecomlab.book): pages, navigation, index, claims, bad input."""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import pytest

from ecomlab import book
from ecomlab.errors import InvalidInput
from ecomlab.topics import TOPICS


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={book.PLOTLY_MIME: {"data": [{"type": "bar", "y": [1, 2]}],
                                                 "layout": {"title": {"text": "</script>"}}},
                              "text/plain": "Figure"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# hello"), cell]
    nbformat.write(nb, path)


@pytest.fixture
def manager(tmp_path: Path) -> Path:
    d = tmp_path / "manager"
    d.mkdir()
    (d / "embed-amd.js").write_text("// stand-in\n")
    (d / "abc.woff2").write_bytes(b"font")
    return d


def test_pages_have_navigation_index_and_local_plotly(tmp_path: Path, manager: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    names = [TOPICS[0].notebook, TOPICS[1].notebook]
    for name in names:
        _notebook(nbs / name)
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps([{"topic": TOPICS[1].slug, "approach": "a", "claim": "c<b>",
                                   "verdict": "holds", "command": "ecomlab run x"}]))
    out = tmp_path / "book"
    pages = book.build_book(nbs, out, ledger=ledger, widget_manager=manager)
    assert [p.name for p in pages] == ["index.html", "claims.html",
                                       *(n.replace(".ipynb", ".html") for n in names)]
    first, second = (out / n.replace(".ipynb", ".html") for n in names)
    text = first.read_text()
    assert 'rel="next"' in text and 'rel="prev"' not in text
    assert 'rel="prev"' in second.read_text() and 'rel="next"' not in second.read_text()
    assert '<script src="_static/plotly.min.js">' in text and "Plotly.newPlot" in text
    assert "<\\/script>" in text  # figure JSON cannot close the page's script
    assert "cdn.jsdelivr" not in text and "unpkg.com" not in text
    assert (out / "_static" / "plotly.min.js").is_file()
    assert (out / "@jupyter-widgets" / "abc.woff2").is_file()
    index = (out / "index.html").read_text()
    for t in TOPICS:
        assert t.number in index
    assert "planned" in index
    claims = (out / "claims.html").read_text()
    assert "c&lt;b&gt;" in claims and "ecomlab run x" in claims


def test_claims_page_without_ledger_says_how_to_make_one(tmp_path: Path, manager: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(book, "DEFAULT_LEDGER", tmp_path / "absent.json")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / TOPICS[0].notebook)
    book.build_book(nbs, tmp_path / "out", widget_manager=manager)
    assert html.escape(book.LEDGER_HINT) in (tmp_path / "out" / "claims.html").read_text()


@pytest.mark.parametrize("content", ["not json", '{"claims": 3}', "[1, 2]"])
def test_bad_ledger_is_refused_by_name(tmp_path: Path, content: str) -> None:
    f = tmp_path / "ledger.json"
    f.write_text(content)
    with pytest.raises(InvalidInput, match=r"ledger\.json"):
        book.load_ledger(f)


def test_missing_inputs_exit_2_with_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert book.main(["--notebooks", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no notebooks" in capsys.readouterr().err
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs / "00_welcome.ipynb")
    assert book.main(["--notebooks", str(nbs), "--out", str(tmp_path / "o"),
                      "--widget-manager", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "widget manager" in err and err.count("\n") == 1
    assert book.main(["--notebooks", str(nbs), "--ledger", str(tmp_path / "x.json"),
                      "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_figures_saved_in_an_output_widget_get_a_drawn_rendering() -> None:
    nb = nbformat.v4.new_notebook()
    figure = {"data": [{"type": "scatter", "y": [3, 1]}], "layout": {}}
    saved = {"output_type": "display_data", "data": {book.PLOTLY_MIME: figure}, "metadata": {}}
    nb.metadata["widgets"] = {book.WIDGET_STATE_MIME: {"state": {
        "a": {"model_name": "OutputModel", "state": {"outputs": [saved]}},
        "b": {"model_name": "IntSliderModel", "state": {"value": 3}}}}}
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data={book.PLOTLY_MIME: figure})]
    nb.cells = [cell]
    assert book._add_plotly_html(nb, "nb") == 2
    state = nb.metadata["widgets"][book.WIDGET_STATE_MIME]["state"]
    in_widget = state["a"]["state"]["outputs"][0]["data"]["text/html"]
    assert 'id="nb-plotly-2"' in in_widget and 'Plotly.newPlot("nb-plotly-2"' in in_widget
    assert 'id="nb-plotly-1"' in cell.outputs[0]["data"]["text/html"]
