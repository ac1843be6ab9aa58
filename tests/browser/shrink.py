"""Shrink the browser tests' screenshots for the README (Chromium does the resizing).

    .venv/bin/python -m tests.browser.shrink build/screenshots/book-06_caching_strategies.png \\
        docs/book-06.png [--width 640]
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from tests.browser.conftest import chromium_path


def shrink(src: Path, dest: Path, width: int) -> None:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": 200})
        data = base64.b64encode(src.read_bytes()).decode()
        page.set_content(f'<body style="margin:0"><img id="i" src="data:image/png;base64,{data}"'
                         f' style="width:{width}px;height:auto;display:block"></body>')
        page.wait_for_function("() => document.getElementById('i').complete")
        dest.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#i").screenshot(path=str(dest))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--width", type=int, default=640)
    args = parser.parse_args()
    shrink(args.src, args.dest, args.width)


if __name__ == "__main__":
    main()
