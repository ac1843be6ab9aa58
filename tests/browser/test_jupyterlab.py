"""Every notebook in JupyterLab: restart the kernel and run all, then check what a student sees.

For each notebook a JupyterLab server starts on a free port with a token (in a temporary copy of
``notebooks/``, so the committed files are never rewritten), Chromium opens the notebook, runs
"Restart Kernel and Run All Cells" (once the kernel is connected and idle) and waits until
every cell has run and the kernel is idle; the notebook's kernel is shut down afterwards.
Then: no error output; every plotly figure drawn (an svg inside ``.js-plotly-plot``); every
widget drawn (no "Loading widget..." and no ``VBox(children=...`` text); and in each explorer
(a widget with a Run button) moving the first slider one step and pressing Run changes the
output. Screenshots: ``build/screenshots/lab-<notebook>.png``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.browser.conftest import NOTEBOOKS, ROOT, SCREENSHOTS, PageWatch

pytestmark = pytest.mark.browser

# per notebook, generous: 01 runs its strategies on embedded stores
RUN_ALL_TIMEOUT_S = int(os.environ.get("ECOMLAB_RUN_ALL_TIMEOUT", "600"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab(NamedTuple):
    base: str
    token: str
    log: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server over a copy of notebooks/: its base URL, token and log file."""
    work = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", f"--port={port}", "--ip=127.0.0.1",
           "--no-browser", f"--IdentityProvider.token={token}", f"--notebook-dir={work}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (work.parent / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start: "
                                + (work.parent / "lab.log").read_text()[-2000:])
                time.sleep(0.5)
        yield Lab(base, token, work.parent / "lab.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def fresh_lab(lab: Lab) -> Iterator[Lab]:
    """The server, and afterwards every kernel shut down, so later notebooks do not share the
    machine with earlier notebooks' idle kernels."""
    yield lab
    with urllib.request.urlopen(f"{lab.base}/api/sessions?token={lab.token}", timeout=30) as r:
        sessions = json.load(r)
    for session in sessions:
        req = urllib.request.Request(
            f"{lab.base}/api/sessions/{session['id']}?token={lab.token}", method="DELETE")
        with urllib.request.urlopen(req, timeout=60):
            pass


# What the notebook panel holds, read from JupyterLab's own model (not from the screen).
STATE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const cells = w.content.model.cells, out = {cells: 0, pending: 0, errors: []};
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code' || !c.sharedModel.getSource().trim()) continue;
    out.cells++;
    if (c.executionCount === null) out.pending++;
    for (const o of c.outputs.toJSON())
      if (o.output_type === 'error') out.errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  }
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  out.status = k ? k.status : 'none';
  out.connection = k ? k.connectionStatus : 'none';
  out.dialog = (document.querySelector('.jp-Dialog') || {}).innerText || null;
  out.busy = document.querySelectorAll('.jp-InputPrompt').length > 0 &&
    Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.innerText.includes('*'));
  return out;
}"""

# Plotly's data in an element, without the random uids, so a redraw of the same data compares equal.
OUTPUT_JS = """el => {
  const figs = Array.from(el.querySelectorAll('.js-plotly-plot')).map(
    g => JSON.stringify((g.data || []).map(t => {
      const c = Object.assign({}, t); delete c.uid; return c; })));
  return el.innerText + '\\n' + figs.join('\\n');
}"""


# The kernel is usable when its session is ready, its websocket connected and it says idle.
READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w.sessionContext.isReady && k && k.connectionStatus === 'connected'
            && k.status === 'idle' && !document.querySelector('.jp-Dialog'));
}"""
KERNEL_READY_S = int(os.environ.get("ECOMLAB_KERNEL_READY_TIMEOUT", "300"))
# No cell has started this long after Run All was sent: the run is stuck, not slow.
FIRST_CELL_S = 180


def _fail(page: Any, log: Path, what: str, state: dict[str, Any]) -> None:
    """One clear failure: what did not happen, JupyterLab's state, a screenshot and the log."""
    shot = SCREENSHOTS / "lab-failure.png"
    page.screenshot(path=str(shot))
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what}; state {state}; screenshot {shot}; JupyterLab log tail:\n{tail}")


def _wait_ready(page: Any, log: Path, what: str) -> None:
    """Wait until the kernel is connected and idle with no dialog open (else fail clearly)."""
    deadline = time.monotonic() + KERNEL_READY_S
    while time.monotonic() < deadline:
        if page.evaluate(READY_JS):
            return
        page.wait_for_timeout(500)
    _fail(page, log, f"the kernel was not connected and idle {KERNEL_READY_S} s {what}",
          page.evaluate(STATE_JS) or {})


def _run_all(page: Any, log: Path) -> dict[str, Any]:
    """Restart the kernel and run every cell, once the kernel is connected and idle.

    Pressing "Restart Kernel and Run All" before the freshly opened notebook's kernel had
    connected left the run stuck on a loaded machine (every cell pending, kernel status
    "unknown"): so the restart waits for a connected, idle kernel, is awaited through the
    session's own ``restartKernel`` (the dialog is JupyterLab's confirmation, not under test),
    and Run All starts only when the restarted kernel is connected and idle again.
    """
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext",
                           timeout=KERNEL_READY_S * 1000)
    _wait_ready(page, log, "after the notebook opened")
    # clear outputs and execution counts first, so "every cell has a count" means "has run now"
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    cleared = STATE_JS.replace("return out;", "return out.pending === out.cells ? out : null;")
    page.wait_for_function(cleared, timeout=30_000)
    error = page.evaluate("""async () => {
      try { await window.jupyterapp.shell.currentWidget.sessionContext.restartKernel(); }
      catch (e) { return String(e); }
      return null; }""")
    if error:
        _fail(page, log, f"the kernel restart failed: {error}", page.evaluate(STATE_JS) or {})
    _wait_ready(page, log, "after the restart")
    # not awaited: the command's promise resolves when the last cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    sent = time.monotonic()
    deadline = sent + RUN_ALL_TIMEOUT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(STATE_JS) or {}
        if state and state["pending"] == 0 and state["status"] == "idle" and not state["busy"]:
            return state
        if state.get("errors"):
            return state
        if state and state["pending"] == state["cells"] and time.monotonic() - sent > FIRST_CELL_S:
            _fail(page, log, f"Run All was sent but no cell ran in {FIRST_CELL_S} s", state)
        if os.environ.get("ECOMLAB_BROWSER_DEBUG"):
            print(f"waiting: {state}", file=sys.stderr, flush=True)
            page.screenshot(path=str(SCREENSHOTS / "lab-debug.png"))
        page.wait_for_timeout(1000)
    _fail(page, log, f"run-all did not finish in {RUN_ALL_TIMEOUT_S} s", state)
    return state


TIMINGS = ROOT / "build" / "bench" / "notebooks.json"


def _record(stem: str, run_all_s: float, latencies: list[float]) -> None:
    """Keep this run's timings for benchmarks/run_all.py's table (label: measured)."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {}
    data[stem] = {"run_all_s": run_all_s, "explorer_run_s": latencies,
                  "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    TIMINGS.write_text(json.dumps(data, indent=2))


def _expected_figures(nb_path: Path) -> int:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return sum("application/vnd.plotly.v1+json" in o.get("data", {})
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


WIDGETS_DRAWN_JS = """root => {
  const mime = 'application/vnd.jupyter.widget-view+json';
  const outs = document.querySelectorAll(
    `${root} .jp-OutputArea-output[data-mime-type="${mime}"]`);
  return Array.from(outs).every(o => o.querySelector('.jupyter-widgets'));
}"""


def _code_sources(nb_path: Path) -> list[str]:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


KERNEL_JS = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
IDLE_JS = f"() => {KERNEL_JS}.status === 'idle'"
# armed before Run is pressed, so a run shorter than one poll is still seen as busy
ARM_JS = f"""() => {{
  const k = {KERNEL_JS};
  window.__ecomlabSawBusy = false;
  if (window.__ecomlabArmed !== k) {{
    window.__ecomlabArmed = k;
    k.statusChanged.connect((_, st) => {{ if (st === 'busy') window.__ecomlabSawBusy = true; }});
  }}
}}"""
BUSY_SEEN_JS = "() => window.__ecomlabSawBusy === true"


def _changed(handle: Any, value: str | None, wait_s: float = 3.0) -> bool:
    """Whether the slider's value leaves ``value`` within ``wait_s`` (it updates on a frame)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if handle.get_attribute("aria-valuenow") != value:
            return True
        time.sleep(0.1)
    return False


def _move_slider(page: Any, handle: Any, i: int) -> None:
    handle.scroll_into_view_if_needed()
    value = handle.get_attribute("aria-valuenow")
    for key in ("ArrowRight", "ArrowLeft"):  # left when the slider is at its maximum
        handle.focus()
        page.keyboard.press(key)
        if _changed(handle, value):
            return
    # some sliders ignore the keys: drag the handle, as a student would
    box_ = handle.bounding_box()
    assert box_ is not None
    x, y = box_["x"] + box_["width"] / 2, box_["y"] + box_["height"] / 2
    for dx in (40, -40):
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y, steps=5)
        page.mouse.up()
        if _changed(handle, value):
            return
    raise AssertionError(f"explorer {i}: slider stuck")


def _change_one_control(page: Any, box: Any, i: int) -> None:
    """Move the explorer's first slider; without one, edit its first text box or dropdown."""
    handle = box.locator(".noUi-handle").first
    if handle.count():
        _move_slider(page, handle, i)
        return
    text = box.locator(".widget-text input").first
    if text.count():
        old = text.input_value()
        new = old[:-1] if len(old) > 2 else old + "s"  # a different query, still a word
        text.fill(new)
        text.press("Tab")  # the widget syncs its value on blur
        assert text.input_value() == new, f"explorer {i}: text box did not take {new!r}"
        return
    select = box.locator(".widget-dropdown select").first
    assert select.count(), f"explorer {i} has no slider, text box or dropdown to change"
    values = select.locator("option").evaluate_all("els => els.map(e => e.value)")
    current = select.input_value()
    other = next(v for v in values if v != current)
    select.select_option(other)


def _check_explorers(page: Any, root: str) -> list[float]:
    """Change one control of each explorer, press Run, and require a changed output.

    Returns each explorer's Run latency (click to kernel idle, seconds).
    """
    latencies: list[float] = []
    runs = page.locator(f"{root} button.jupyter-button", has_text="Run")
    for i in range(runs.count()):
        button = runs.nth(i)
        box = button.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
        output = box.locator(".widget-output").first
        page.wait_for_function(IDLE_JS, timeout=RUN_ALL_TIMEOUT_S * 1000)
        page.wait_for_timeout(1000)  # let the last figure finish drawing
        before = output.evaluate(OUTPUT_JS)
        _change_one_control(page, box, i)
        page.evaluate(ARM_JS)
        clicked = time.monotonic()
        button.click()
        # the run is over when the kernel has been busy and is idle again
        page.wait_for_function(BUSY_SEEN_JS, timeout=RUN_ALL_TIMEOUT_S * 1000)
        page.wait_for_function(IDLE_JS, timeout=RUN_ALL_TIMEOUT_S * 1000)
        latencies.append(time.monotonic() - clicked)
        page.wait_for_function(
            f"([el, before]) => ({OUTPUT_JS})(el) !== before && el.innerText.trim() !== ''",
            arg=[output.element_handle(), before], timeout=RUN_ALL_TIMEOUT_S * 1000)
        page.wait_for_timeout(500)
    return latencies


def _check_live_explorers(page: Any, root: str) -> int:
    """Explorers without a Run button answer as their controls move (08's decision table):
    push the first slider to an end (End, else Home) and require the panel's text to change.

    Returns how many such explorers were checked.
    """
    boxes = page.locator(f"{root} .jp-OutputArea-output > .widget-vbox")
    checked = 0
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if box.locator("button", has_text="Run").count():
            continue  # checked by _check_explorers
        handle = box.locator(".noUi-handle").first
        if not handle.count():
            continue  # a display, not an explorer
        before = box.inner_text()
        handle.scroll_into_view_if_needed()
        for key in ("End", "Home"):
            handle.focus()
            page.keyboard.press(key)
            try:
                page.wait_for_function("([el, before]) => el.innerText !== before",
                                       arg=[box.element_handle(), before], timeout=30_000)
                break
            except Exception:  # playwright's TimeoutError: try the other end
                continue
        else:
            raise AssertionError(f"live explorer {i}: its text did not change")
        checked += 1
    return checked


@pytest.mark.timeout(RUN_ALL_TIMEOUT_S * 2)
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_all_in_jupyterlab(fresh_lab: Lab, watched: PageWatch,
                                         nb_path: Path) -> None:
    base, token, log = fresh_lab
    page = watched.page
    watched.allow_only(lambda url: url.startswith(base) or url.startswith("data:")
                       or url.startswith("blob:"))
    started = time.monotonic()
    # ?reset: a fresh workspace, so the notebooks of earlier tests do not reopen beside this one
    page.goto(f"{base}/lab/tree/{nb_path.name}?reset&token={token}", wait_until="load")
    state = _run_all(page, log)
    root = "#" + page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    run_all_s = time.monotonic() - started
    assert not state["errors"], state["errors"]
    expected = _expected_figures(nb_path)
    if expected:
        page.wait_for_function(
            "([root, n]) => document.querySelectorAll(`${root} .js-plotly-plot svg.main-svg`)"
            ".length >= n", arg=[root, expected], timeout=60_000)
    figures = page.locator(f"{root} .js-plotly-plot")
    for i in range(figures.count()):
        assert figures.nth(i).locator("svg").count() > 0, f"figure {i} has no svg"
    page.wait_for_function("root => !document.querySelector(root).innerText"
                           ".includes('Loading widget')", arg=root, timeout=60_000)
    # every widget output drawn as a widget (the views render after the cell has finished)
    page.wait_for_function(WIDGETS_DRAWN_JS, arg=root, timeout=60_000)
    text = page.inner_text(root)
    assert "VBox(children=" not in text and "Loading widget" not in text
    latencies = _check_explorers(page, root)
    explorers = len(latencies) + _check_live_explorers(page, root)
    calls = sum(src.count("_explorer(") for src in _code_sources(nb_path))
    assert explorers >= calls, f"{calls} explorer calls but {explorers} explorers drawn"
    _record(nb_path.stem, run_all_s, latencies)
    page.screenshot(path=str(SCREENSHOTS / f"lab-{nb_path.stem}.png"))
    print(f"{nb_path.name}: run-all {run_all_s:.1f} s, {figures.count()} figures, "
          f"{explorers} explorers checked (measured)")
    assert not watched.blocked, f"the lab asked outside the server for {watched.blocked}"
