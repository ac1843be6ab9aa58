"""The workbook as a static, offline HTML book (``make book``, ``python -m ecomlab.book``).

Every executed notebook under ``notebooks/`` becomes one page (as committed: nothing is re-run
unless ``--execute`` is given), beside an index page (the topic map from
:data:`ecomlab.topics.TOPICS`, with each topic's status) and a claims page (every topic's claims
with verdict, evidence, label and the command that reproduces it, read from a ledger JSON). Every
page has prev / index / claims / next links.

Why ``nb-offline-convert``: nbconvert's own HTML exporter loads the widget manager from a CDN,
mkdocs-jupyter does too, and Jupyter Book 2 / mystmd fetch their theme from the network, so all
of them fail offline. ``nb-offline-convert`` is nbconvert's lab template with RequireJS inlined
and the widget manager and MathJax read from local files. Its local files are absolute paths
into the virtualenv, so this module copies them under ``build/book/_static/`` and points every
page there with relative URLs: the book works from ``file://``, from any static server and after
being moved. Plotly outputs are saved as ``application/vnd.plotly.v1+json`` (the notebooks use
the mimetype renderer), which neither nbconvert nor the static widget manager can show; a
preprocessor adds a ``text/html`` rendering that draws the same figure with the bundled
``plotly.min.js``, to cell outputs and to the outputs saved in ``Output`` widgets alike.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecomlab.errors import InvalidInput
from ecomlab.topics import TOPICS, Topic

__all__ = ["BookPage", "build_book", "main"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
STATIC = "_static"
ROOT = Path(__file__).resolve().parent.parent
HTML_MANAGER_VERSION = "1.0.15"  # ipywidgets 8's manager for static pages (the Makefile fetches it)
DEFAULT_MANAGER = ROOT / "build" / "vendor" / "html-manager" / "dist"
DEFAULT_LEDGER = Path(__file__).resolve().parent / "decide" / "ledger.json"
LEDGER_HINT = "ecomlab claims --quick --json > FILE"

CSS = """
.ecomlab-nav{position:sticky;top:0;z-index:1000;background:#f5f5f5;border-bottom:1px solid #ccc;
  padding:6px 16px;font:14px/1.4 system-ui,sans-serif;display:flex;gap:18px;flex-wrap:wrap}
.ecomlab-nav a{color:#1565c0;text-decoration:none}.ecomlab-nav .here{font-weight:600}
.ecomlab-page{max-width:1100px;margin:0 auto;padding:16px;font:15px/1.5 system-ui,sans-serif}
.ecomlab-page table{border-collapse:collapse;width:100%}
.ecomlab-page td,.ecomlab-page th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;
  text-align:left}
.ecomlab-page th{background:#eee}.status-planned{color:#888}.verdict{font-weight:600}
"""


@dataclass(frozen=True)
class BookPage:
    """One page of the book: its file name, title and (for notebooks) its topic."""

    file: str
    title: str
    topic: Topic | None = None


def _topic_for(notebook: str) -> Topic | None:
    return next((t for t in TOPICS if t.notebook == notebook), None)


def _nav(pages: list[BookPage], index: int | None) -> str:
    """The navigation bar: index, claims, and prev / next notebook pages."""
    links = ['<a href="index.html">Index: topic map</a>', '<a href="claims.html">Claims</a>']
    if index is not None:
        if index > 0:
            prev = pages[index - 1]
            links.insert(0, f'<a rel="prev" href="{prev.file}">&larr; '
                            f"{html.escape(prev.title)}</a>")
        links.append(f'<span class="here">{html.escape(pages[index].title)}</span>')
        if index + 1 < len(pages):
            nxt = pages[index + 1]
            links.append(f'<a rel="next" href="{nxt.file}">{html.escape(nxt.title)} &rarr;</a>')
    return f'<nav class="ecomlab-nav">{" ".join(links)}</nav>'


def _plotly_html(spec: dict[str, Any], div_id: str) -> str:
    """A div and the script that draws ``spec`` with the page's (bundled) Plotly."""
    payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {}),
                          "config": {"responsive": True, **spec.get("config", {})}})
    payload = payload.replace("</", "<\\/")
    return (f'<div id="{div_id}" class="ecomlab-plotly" style="width:100%;min-height:450px">'
            f'</div><script>(function(){{var s={payload};'
            f'Plotly.newPlot("{div_id}",s.data,s.layout,s.config);}})();</script>')


def _widget_outputs(nb: Any) -> list[dict[str, Any]]:
    """The outputs saved inside ``Output`` widgets (the explorers' panels) of the widget state."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    return [o for model in state.values() if model.get("model_name") == "OutputModel"
            for o in model.get("state", {}).get("outputs", [])]


def _add_plotly_html(nb: Any, stem: str) -> int:
    """Give every plotly output a ``text/html`` rendering; returns how many it found.

    Cell outputs and the outputs saved in ``Output`` widgets both get one: the static widget
    manager has no plotly renderer, so it picks the ``text/html`` (trusted, so its script runs).
    """
    count = 0
    cell_outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    for output in [*cell_outputs, *_widget_outputs(nb)]:
        data = output.get("data", {})
        if PLOTLY_MIME in data:
            count += 1
            data["text/html"] = _plotly_html(data[PLOTLY_MIME], f"{stem}-plotly-{count}")
    return count


def _static_sources(manager: Path) -> tuple[Path, Path, Path]:
    """The local files the pages need: the widget manager folder, MathJax and plotly.min.js."""
    if not (manager / "embed-amd.js").is_file():
        raise InvalidInput(
            f"no widget manager in {str(manager)!r}: 'make book' fetches "
            f"@jupyter-widgets/html-manager@{HTML_MANAGER_VERSION} there with npm "
            "(the one nb-offline-convert ships is for ipywidgets 7 and cannot show 8's widgets)")
    try:
        import plotly
        from nb_offline_convert.tools import get_template_path
    except ImportError as exc:  # pragma: no cover - the dev extra installs both
        raise InvalidInput(f"the book needs the dev extra ({exc.name} is missing): "
                           "pip install -e '.[dev]'") from exc
    static = Path(get_template_path("static"))
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return manager, static / "MathJax", plotly_js


def _copy_static(out: Path, manager_dir: Path) -> None:
    manager, mathjax, plotly_js = _static_sources(manager_dir)
    dest = out / STATIC
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(plotly_js, dest / "plotly.min.js")
    if not (dest / "MathJax").exists():
        shutil.copytree(mathjax, dest / "MathJax")
    target = dest / "html-manager"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(manager, target, ignore=shutil.ignore_patterns("*.map", "embed.js",
                                                                   "libembed-amd.js"))
    # the AMD build resolves its icon fonts against its module name, @jupyter-widgets/
    fonts = out / "@jupyter-widgets"
    fonts.mkdir(exist_ok=True)
    for font in manager.iterdir():
        if font.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            shutil.copy2(font, fonts / font.name)


def _convert(path: Path, pages: list[BookPage], index: int, execute: bool) -> str:
    """One notebook as a page: plotly drawn locally, widget state shown, the nav bar on top."""
    import nbformat
    from nb_offline_convert import OfflineHTMLExporter

    nb = nbformat.read(path, as_version=4)
    if execute:
        from nbclient import NotebookClient

        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}},
                       store_widget_state=True).execute()
    _add_plotly_html(nb, path.stem)
    exporter = OfflineHTMLExporter()
    exporter.mathjax_url = f"{STATIC}/MathJax/MathJax.js"
    exporter.widget_renderer_url = f"{STATIC}/html-manager/embed-amd.js"
    exporter.offline_module_path = {}
    body, _ = exporter.from_notebook_node(nb, resources={})
    head = (f'<script src="{STATIC}/plotly.min.js"></script>'
            f"<style>{CSS}</style>")
    body = body.replace("<head>", "<head>" + head, 1)
    return _insert_after_body(body, _nav(pages, index))


def _insert_after_body(text: str, snippet: str) -> str:
    start = text.find("<body")
    if start < 0:
        return snippet + text
    end = text.find(">", start) + 1
    return text[:end] + snippet + text[end:]


def _page(title: str, nav: str, content: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f'<body>{nav}<main class="ecomlab-page">{content}</main></body></html>')


def _index_html(pages: list[BookPage]) -> str:
    rows = []
    by_notebook = {p.topic.notebook: p for p in pages if p.topic is not None}
    for t in TOPICS:
        page = by_notebook.get(t.notebook)
        title = (f'<a href="{page.file}">{html.escape(t.title)}</a>' if page
                 else html.escape(t.title))
        status = t.status if page or t.status == "planned" else f"{t.status} (no notebook yet)"
        rows.append(f'<tr class="status-{t.status}"><td>{t.number}</td><td>{title}</td>'
                    f"<td>{html.escape(t.question)}</td><td>{html.escape(t.command)}</td>"
                    f"<td>{html.escape(status)}</td></tr>")
    extra = [p for p in pages if p.topic is None]
    more = "".join(f'<li><a href="{p.file}">{html.escape(p.title)}</a></li>' for p in extra)
    return _page("ecomlab: the workbook", _nav(pages, None),
                 "<h1>ecomlab: e-commerce system design tradeoffs, measured</h1>"
                 "<p>One notebook per topic; each page is the notebook as committed, with its "
                 "plots and its last widget state. See also <a href=\"claims.html\">every "
                 "claim and its verdict</a>.</p>"
                 "<table><thead><tr><th>#</th><th>Topic</th><th>Question</th><th>Commands</th>"
                 f"<th>Status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
                 + (f"<h2>Other notebooks</h2><ul>{more}</ul>" if more else ""))


def load_ledger(path: Path) -> list[dict[str, Any]]:
    """The claims in a ledger JSON: a list of claim objects, or ``{"claims": [...]}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"ledger file {str(path)!r} does not exist; make one with "
                           f"{LEDGER_HINT!r}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"ledger file {str(path)!r} is not JSON: {exc.msg}") from exc
    claims = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
        raise InvalidInput(f"ledger file {str(path)!r} holds no list of claims")
    return claims


def _claims_html(pages: list[BookPage], claims: list[dict[str, Any]] | None,
                 source: str) -> str:
    if claims is None:
        content = ("<h1>Claims</h1><p>No claims ledger was bundled with this build. Make one "
                   f"with <code>{html.escape(LEDGER_HINT)}</code> and rebuild with "
                   "<code>python -m ecomlab.book --ledger FILE</code>.</p>")
        return _page("ecomlab: claims", _nav(pages, None), content)
    cols = ("approach", "claim", "kind", "verdict", "evidence", "conditions", "label", "command")
    parts = [f"<h1>Claims</h1><p>{len(claims)} claims, from {html.escape(source)}.</p>"]
    for t in TOPICS:
        mine = [c for c in claims if str(c.get("topic", "")) in (t.slug, t.number)]
        if not mine:
            continue
        rows = "".join(
            "<tr>" + "".join(
                f'<td class="{k}">{html.escape(str(c.get(k, "")))}</td>' for k in cols) + "</tr>"
            for c in mine)
        parts.append(f"<h2>{t.number} {html.escape(t.title)}</h2><table><thead><tr>"
                     + "".join(f"<th>{k}</th>" for k in cols)
                     + f"</tr></thead><tbody>{rows}</tbody></table>")
    return _page("ecomlab: claims", _nav(pages, None), "".join(parts))


def build_book(notebooks: Path = ROOT / "notebooks", out: Path = ROOT / "build" / "book", *,
               ledger: Path | None = None, execute: bool = False,
               widget_manager: Path = DEFAULT_MANAGER) -> list[Path]:
    """Write the book into ``out``; returns the pages written (index first)."""
    files = sorted(notebooks.glob("*.ipynb"))
    if not files:
        raise InvalidInput(f"no notebooks (*.ipynb) in {str(notebooks)!r}")
    if ledger is None and DEFAULT_LEDGER.exists():
        ledger = DEFAULT_LEDGER
    claims = load_ledger(ledger) if ledger is not None else None
    pages = []
    for f in files:
        topic = _topic_for(f.name)
        title = f"{topic.number} {topic.title}" if topic else f.stem
        pages.append(BookPage(f.stem + ".html", title, topic))
    out.mkdir(parents=True, exist_ok=True)
    _copy_static(out, widget_manager)
    written = [out / "index.html", out / "claims.html"]
    written[0].write_text(_index_html(pages), encoding="utf-8")
    written[1].write_text(_claims_html(pages, claims, str(ledger)), encoding="utf-8")
    for i, f in enumerate(files):
        print(f"== {f.name} -> {out / pages[i].file}", flush=True)
        target = out / pages[i].file
        target.write_text(_convert(f, pages, i, execute), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecomlab.book",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--ledger", type=Path, default=None,
                        help=f"claims ledger JSON (make one with {LEDGER_HINT!r})")
    parser.add_argument("--execute", action="store_true",
                        help="re-run every notebook before converting (default: as committed)")
    parser.add_argument("--widget-manager", type=Path, default=DEFAULT_MANAGER,
                        help="the dist/ folder of @jupyter-widgets/html-manager "
                             f"{HTML_MANAGER_VERSION}")
    args = parser.parse_args(argv)
    try:
        pages = build_book(args.notebooks, args.out, ledger=args.ledger, execute=args.execute,
                           widget_manager=args.widget_manager)
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"== book: {len(pages)} pages in {args.out}; open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
