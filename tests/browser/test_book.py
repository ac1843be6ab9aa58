"""The offline book (``make book``): every page opened with every non-``file:`` request blocked.

Each notebook page must draw every plotly figure (an svg inside ``.js-plotly-plot``), those
saved inside an explorer's ``Output`` widget included, show its saved widget state (no "Loading
widget..." and no ``VBox(children=...`` text) and log no console error; the index and claims
pages must link every page.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import BOOK, NOTEBOOKS, SCREENSHOTS, PageWatch

pytestmark = pytest.mark.browser

PAGES = ["index", "claims", *(nb.stem for nb in NOTEBOOKS)]


def _saved_plotly_count(stem: str) -> int:
    import nbformat

    nb = nbformat.read(BOOK.parent.parent / "notebooks" / f"{stem}.ipynb", as_version=4)
    return sum("application/vnd.plotly.v1+json" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", []))


def _saved_widget_plotly_count(stem: str) -> int:
    """Plotly figures saved inside ``Output`` widgets (an explorer's panel) of the notebook."""
    import nbformat

    from ecomlab.book import PLOTLY_MIME, WIDGET_STATE_MIME

    nb = nbformat.read(BOOK.parent.parent / "notebooks" / f"{stem}.ipynb", as_version=4)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    return sum(PLOTLY_MIME in o.get("data", {}) for m in state.values()
               if m.get("model_name") == "OutputModel"
               for o in m.get("state", {}).get("outputs", []))


def _open(watched: PageWatch, stem: str) -> Any:
    page_file = BOOK / f"{stem}.html"
    if not page_file.is_file():
        pytest.skip(f"{page_file} is missing: run 'make book' first")
    watched.allow_only(lambda url: url.startswith("file:"))
    page = watched.page
    page.goto(page_file.as_uri(), wait_until="load")
    return page


@pytest.mark.parametrize("stem", [nb.stem for nb in NOTEBOOKS])
def test_notebook_page_renders_offline(watched: PageWatch, stem: str) -> None:
    page = _open(watched, stem)
    expected = _saved_plotly_count(stem)
    if expected:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= n "
            "&& document.querySelectorAll('.js-plotly-plot').length >= n", arg=expected,
            timeout=30_000)
    figures = page.locator(".js-plotly-plot")
    assert figures.count() >= expected
    for i in range(figures.count()):
        assert figures.nth(i).locator("svg").count() > 0, f"figure {i} of {stem} has no svg"
    # saved widget state: the manager replaces each view script with the widget itself
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget')", timeout=30_000)
    text = page.inner_text("body")
    assert "VBox(children=" not in text
    assert "Loading widget" not in text
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        assert page.locator(".jupyter-widgets").count() >= views
    # an explorer's figure, saved in its Output widget, is drawn too
    in_widgets = _saved_widget_plotly_count(stem)
    if in_widgets:
        page.wait_for_function(
            "n => document.querySelectorAll('.widget-output .js-plotly-plot svg.main-svg')"
            ".length >= n", arg=in_widgets, timeout=30_000)
    shown = page.locator(".widget-output .js-plotly-plot")
    assert shown.count() >= in_widgets, f"{stem}: {in_widgets} explorer figures saved, " \
        f"{shown.count()} drawn"
    for i in range(shown.count()):
        assert shown.nth(i).locator("svg").count() > 0, f"explorer figure {i} of {stem}: no svg"
    if shown.count():
        shown.first.scroll_into_view_if_needed()
    elif figures.count():
        figures.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"book-{stem}.png"))
    assert not watched.errors, watched.errors
    assert not watched.blocked, f"the page asked the network for {watched.blocked}"


@pytest.mark.parametrize("stem", ["index", "claims"])
def test_index_and_claims_link_every_page(watched: PageWatch, stem: str) -> None:
    page = _open(watched, stem)
    hrefs = set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"))
    assert {"index.html", "claims.html"} <= hrefs
    if stem == "index":
        assert {f"{nb.stem}.html" for nb in NOTEBOOKS} <= hrefs
        page.screenshot(path=str(SCREENSHOTS / "book-index.png"))
    assert not watched.errors, watched.errors
    assert not watched.blocked


def test_prev_next_walk_the_notebooks(watched: PageWatch) -> None:
    page = _open(watched, NOTEBOOKS[0].stem)
    seen = [NOTEBOOKS[0].stem]
    while page.locator('a[rel="next"]').count():
        page.locator('a[rel="next"]').first.click()
        page.wait_for_load_state("load")
        seen.append(page.url.rsplit("/", 1)[-1].removesuffix(".html"))
    assert seen == [nb.stem for nb in NOTEBOOKS]
    assert not watched.blocked


def test_book_works_from_a_plain_static_server(watched: PageWatch) -> None:
    import functools
    import http.server
    import threading

    if not (BOOK / "index.html").is_file():
        pytest.skip(f"{BOOK} is missing: run 'make book' first")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(BOOK)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        watched.allow_only(lambda url: url.startswith(base + "/"))
        page = watched.page
        for stem in [nb.stem for nb in NOTEBOOKS if _saved_plotly_count(nb.stem)][-1:]:
            page.goto(f"{base}/{stem}.html", wait_until="load")
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= n",
                arg=_saved_plotly_count(stem), timeout=30_000)
            page.wait_for_function(
                "() => !document.body.innerText.includes('Loading widget')", timeout=30_000)
        assert not watched.errors, watched.errors
        assert not watched.blocked, watched.blocked
    finally:
        server.shutdown()
        server.server_close()
