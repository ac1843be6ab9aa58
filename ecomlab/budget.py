"""What a run will cost before it starts: memory checked against this machine, time announced.

A run whose inputs would not fit in memory is refused up front (:class:`InvalidInput` naming the
value, what it needs, what the machine has and the largest value that fits); a run that will
take more than :data:`ANNOUNCE_AFTER_S` seconds says so on stderr before it starts, with how the
estimate was made, so nobody waits on a silent terminal.

While it runs, a :class:`Tally` counts what it has done: the command line opens one per command
(:mod:`ecomlab.plans` says which unit each command counts and its estimate), the experiments
call :func:`advance` once per unit (a no-op outside the command line), progress goes to stderr,
and on Ctrl-C the command line reports the tally (``interrupted after 1,234 of 50,000 orders``).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from ecomlab.errors import InvalidInput

__all__ = ["ANNOUNCE_AFTER_S", "MEMORY_SHARE", "Tally", "advance", "announce", "check_memory",
           "current", "finish", "gib", "start"]

#: a run estimated to take longer than this (s) is announced before it starts
ANNOUNCE_AFTER_S = 10.0
#: the share of the machine's available memory one run may plan to use
MEMORY_SHARE = 0.6


def gib(n_bytes: float) -> str:
    """``1.5 GiB`` / ``300 MiB``."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"


def available_memory() -> int:
    """Bytes of memory available to new allocations on this machine (psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(name: str, value: int, bytes_per_unit: float, *, basis: str,
                 available: int | None = None) -> float:
    """Refuse ``value`` units if they need more than :data:`MEMORY_SHARE` of free memory.

    Args:
        name: the parameter (``products``), as the user typed it.
        value: how many units the run would hold.
        bytes_per_unit: the estimated memory per unit.
        basis: how ``bytes_per_unit`` was obtained, quoted in the message.
        available: the machine's available memory (default: asked of the OS).

    Returns:
        The estimated bytes.
    """
    need = value * bytes_per_unit
    free = available_memory() if available is None else available
    budget = MEMORY_SHARE * free
    if need > budget:
        fits = max(int(budget / bytes_per_unit), 0)
        raise InvalidInput(
            f"{name}={value:,} needs about {gib(need)} of memory ({basis}); this machine has "
            f"{gib(free)} available and a run may plan on {MEMORY_SHARE:.0%} of it: choose "
            f"{name} <= {fits:,}")
    return need


def announce(what: str, seconds: float, need_bytes: float | None = None, *, basis: str,
             stream: TextIO | None = None) -> bool:
    """Print ``ecomlab: <what>: about N s [and M of memory] (<basis>)`` if it is a long run."""
    if seconds <= ANNOUNCE_AFTER_S:
        return False
    memory = f" and {gib(need_bytes)} of memory" if need_bytes else ""
    print(f"ecomlab: {what}: about {seconds:.0f} s{memory} ({basis})",
          file=stream or sys.stderr, flush=True)
    return True


class Tally:
    """What one run has done so far: ``done`` of ``total`` units since it started.

    The command line opens one per run (:func:`start`); the experiments count their units with
    :func:`advance` (a no-op when no run is being tallied, as in a notebook), and on Ctrl-C the
    command line prints :meth:`sentence`. A display (a tqdm bar on a terminal, plain lines
    otherwise) follows the count on stderr.
    """

    def __init__(self, what: str, unit: str, total: int | None,
                 display: _Display | None = None) -> None:
        self.what, self.unit, self.total = what, unit, total
        self.done = 0
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._display = display
        #: the run's estimated seconds and basis, announced when its first unit is done
        self.announce_first: tuple[float, str] | None = None

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done (thread-safe)."""
        with self._lock:
            self.done += n
            if self.announce_first is not None:
                self._announce()
            if self._display is not None:
                self._display.update(self)

    def announce(self) -> None:
        """Print the run's estimate now (if it is a long run) instead of at its first unit."""
        with self._lock:
            self._announce()

    def _announce(self) -> None:
        if self.announce_first is None:
            return
        seconds, basis = self.announce_first
        self.announce_first = None
        if self._display is not None:  # only where progress is shown
            total = f"{self.total:,} " if self.total is not None else ""
            announce(f"{self.what}, {total}{self.unit}", seconds, basis=basis)

    def close(self) -> None:
        with self._lock:
            if self._display is not None:
                self._display.close()
                self._display = None

    def counts(self) -> str:
        """``1,234 of 50,000 orders`` (or ``1,234 orders`` without a total)."""
        of = f" of {self.total:,}" if self.total is not None else ""
        return f"{self.done:,}{of} {self.unit}"

    def summary(self) -> dict[str, Any]:
        """The partial counts as a JSON-ready dict."""
        return {"command": self.what, "unit": self.unit, "done": self.done,
                "total": self.total, "elapsed_s": round(self.elapsed_s, 3)}


class _Display:
    def update(self, tally: Tally) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Bar(_Display):
    """A tqdm bar on stderr (a terminal), shown once the run has lasted :data:`SHOW_AFTER_S`."""

    def __init__(self, tally_desc: str, unit: str, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=tally_desc, unit=f" {unit}", delay=SHOW_AFTER_S,
                        leave=False, file=sys.stderr, dynamic_ncols=True)
        self.shown = 0

    def update(self, tally: Tally) -> None:
        self.bar.update(tally.done - self.shown)
        self.shown = tally.done

    def close(self) -> None:
        self.bar.close()


class _Lines(_Display):
    """Plain progress lines (stderr is a file or a pipe): one per tenth of the run or per
    :data:`LINE_EVERY_S`, from :data:`SHOW_AFTER_S` on, so a short run prints none."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.next_share = 0.1
        self.next_time: float | None = None

    def update(self, tally: Tally) -> None:
        now = time.perf_counter()
        if self.next_time is None:  # the first unit: the run's work starts now
            self.next_time = now + LINE_EVERY_S
        if now < self.next_time and (tally.total is None
                                     or tally.done < self.next_share * tally.total):
            return
        if now - tally.started < SHOW_AFTER_S:
            return
        if tally.total:
            self.next_share = (int(10 * tally.done / tally.total) + 1) / 10
        self.next_time = now + LINE_EVERY_S
        print(f"ecomlab: {tally.what}: {tally.counts()} ({tally.elapsed_s:.1f} s)",
              file=self.stream, flush=True)


#: progress appears once a run has lasted this long (s), so short runs stay quiet
SHOW_AFTER_S = 2.0
#: without a terminal, a progress line at least this often (s) besides one per tenth
LINE_EVERY_S = 10.0

_current: Tally | None = None


def start(what: str, unit: str, total: int | None, *, show: bool = True,
          stream: TextIO | None = None) -> Tally:
    """Open this process's run tally (the command line calls it once per command).

    Args:
        what: the command (``run inventory``), quoted in progress lines and the Ctrl-C report.
        unit: what is counted (``orders``).
        total: how many units the run will do, if known.
        show: display the progress on stderr: a tqdm bar when stderr is a terminal, else a
            plain line per tenth of the run (``--json`` or not: stdout is never touched).
    """
    global _current
    finish()
    out = stream or sys.stderr
    display: _Display | None = None
    if show:
        display = _Bar(what, unit, total) if out.isatty() else _Lines(out)
    _current = Tally(what, unit, total, display)
    return _current


def advance(n: int = 1) -> None:
    """Count ``n`` units done by the run being tallied (nothing happens if none is)."""
    tally = _current
    if tally is not None:
        tally.advance(n)


def current() -> Tally | None:
    """The run tally of this process, if the command line opened one."""
    return _current


def finish() -> None:
    """Close the run tally and its display."""
    global _current
    if _current is not None:
        _current.close()
        _current = None
