"""Browser tests: Playwright for Python driving Debian's Chromium (``make browser``).

Playwright cannot download its own browser here, so the tests use ``/usr/bin/chromium`` (or
``ECOMLAB_CHROMIUM``) through ``executable_path``; without it every test is skipped and says
how to install it. Screenshots go to ``build/screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
BOOK = ROOT / "build" / "book"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None."""
    explicit = os.environ.get("ECOMLAB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium: install Debian's package (make chromium, or "
                    "apt-get install -y chromium) or set ECOMLAB_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        b = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class PageWatch:
    """A page with its console errors, page errors and blocked requests recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed",
                lambda r: self.errors.append(f"request failed: {r.url} ({r.failure})"))

    def allow_only(self, allowed: Any) -> None:
        """Abort every request whose URL ``allowed(url)`` refuses (recorded in ``blocked``)."""

        def route(r: Any) -> None:
            if allowed(r.request.url):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)


@pytest.fixture
def watched(browser: Any) -> Iterator[PageWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield PageWatch(context.new_page())
    finally:
        context.close()
