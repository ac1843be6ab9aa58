"""Start, watch and stop service processes: readiness by health check, cleanup on every exit.

:class:`ProcessManager` is a context manager::

    with ProcessManager() as pm:
        inventory = pm.start("inventory", {"service": "inventory", "db": "..."})
        ...                      # inventory.url is http://127.0.0.1:<OS-assigned port>
        pm.check()               # raises ServiceDied if a service exited on its own

* Ports: the manager binds ``127.0.0.1:0`` (the OS picks a free port), passes the listening
  socket's descriptor to the child and closes its own copy; no fixed ports.
* Readiness: ``GET /health`` is polled every 20 ms until it answers 200 (``ready_timeout_s``,
  default 60 s: room for five processes starting on a loaded machine); a child that exits
  meanwhile is reported with the tail of its log at once.
  (A GET, not mirakuru's default HEAD: Starlette answers HEAD only where GET is routed, and
  FastAPI answers HEAD with 405.)
* Cleanup: every child runs in its own process group (``start_new_session``), so a Ctrl-C on
  the terminal reaches only the parent, which then stops the children: SIGTERM to each group,
  SIGKILL after 3 s. It runs on ``__exit__`` (normal end, exception, ``KeyboardInterrupt`` —
  also a notebook cell interrupt), from ``atexit``, and when a new manager starts while an old
  one was left open (a notebook cell re-run). A child also exits by itself when its parent
  disappears (see :mod:`ecomlab.architecture.serve`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ecomlab import runs
from ecomlab.errors import EnvironmentFailure

__all__ = ["ProcessManager", "ServiceDied", "ServiceProcess"]


class ServiceDied(EnvironmentFailure):
    """A service process exited on its own (while starting or during a run)."""


@dataclass
class ServiceProcess:
    """One running service: its process, port, base URL and log file."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    config: dict[str, Any]
    killed: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


class ProcessManager:
    """Starts service processes and guarantees they are stopped (see the module docstring)."""

    _open: ClassVar[weakref.WeakSet[ProcessManager]] = weakref.WeakSet()
    _atexit_registered: ClassVar[bool] = False

    def __init__(self, *, ready_timeout_s: float = 60.0, log_dir: str | Path | None = None
                 ) -> None:
        for stale in list(ProcessManager._open):  # a re-run cell left one open
            stale.stop_all()
        self.ready_timeout_s = ready_timeout_s
        # a folder of our own is in the run's manifest, for `ecomlab clean` after a kill
        self._tmp = None if log_dir is not None else runs.TempDir("ecomlab-arch-logs-")
        self.log_dir = Path(log_dir) if log_dir is not None else self._tmp.path  # type: ignore[union-attr]
        self.services: dict[str, ServiceProcess] = {}
        ProcessManager._open.add(self)
        if not ProcessManager._atexit_registered:
            atexit.register(ProcessManager.stop_every_manager)
            ProcessManager._atexit_registered = True

    @classmethod
    def stop_every_manager(cls) -> None:
        for manager in list(cls._open):
            manager.stop_all()

    def __enter__(self) -> ProcessManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    # ------------------------------------------------------------------ start / stop

    def start(self, name: str, config: dict[str, Any], *, port: int = 0) -> ServiceProcess:
        """Start ``python -m ecomlab.architecture.serve`` for ``config`` and wait until ready.

        Raises:
            ServiceDied: the process exited, or was not ready within ``ready_timeout_s``.
        """
        svc = self.spawn(name, config, port=port)
        self.wait_ready(name)
        return svc

    def spawn(self, name: str, config: dict[str, Any], *, port: int = 0) -> ServiceProcess:
        """Start the process without waiting (its port is known at once); then
        :meth:`wait_ready`. Several services can start side by side this way."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(512)
        bound = int(sock.getsockname()[1])
        cfg = {**config, "fd": sock.fileno(), "parent": os.getpid()}
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ecomlab.architecture.serve", json.dumps(cfg)],
                pass_fds=[sock.fileno()], start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT)
        sock.close()
        svc = ServiceProcess(name, proc, bound, log, config)
        self.services[name] = svc
        return svc

    def wait_ready(self, name: str) -> None:
        """Poll ``GET /health`` until 200; :class:`ServiceDied` if the process exits first."""
        svc = self.services[name]
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(timeout=1.0) as client:
            while True:
                code = svc.proc.poll()
                if code is not None:
                    raise ServiceDied(f"service {svc.name!r} exited with status {code} while "
                                      f"starting: {svc.log_tail()}")
                try:
                    if client.get(f"{svc.url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop(svc.name)
                    raise ServiceDied(f"service {svc.name!r} was not ready after "
                                      f"{self.ready_timeout_s:g} s: {svc.log_tail()}")
                time.sleep(0.02)

    def kill(self, name: str) -> None:
        """Kill ``name`` on purpose (the ``down`` fault): SIGKILL to its process group."""
        svc = self.services[name]
        svc.killed = True
        _signal_group(svc.proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            svc.proc.wait(timeout=5)

    def restart(self, name: str) -> ServiceProcess:
        """Start ``name`` again on the same port, with the same database (a restart)."""
        old = self.services[name]
        if old.proc.poll() is None:
            self.stop(name)
        return self.start(name, old.config, port=old.port)

    def check(self) -> None:
        """Raise :class:`ServiceDied` if a service exited without being killed on purpose."""
        for svc in self.services.values():
            code = svc.proc.poll()
            if code is not None and not svc.killed:
                raise ServiceDied(f"service {svc.name!r} died during the run (exit status "
                                  f"{code}): {svc.log_tail()}")

    def stop(self, name: str) -> None:
        svc = self.services[name]
        if svc.proc.poll() is None:
            _signal_group(svc.proc, signal.SIGTERM)
            try:
                svc.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                _signal_group(svc.proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    svc.proc.wait(timeout=3)

    def stop_all(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL after 3 s); safe to call twice."""
        for svc in self.services.values():
            if svc.proc.poll() is None:
                _signal_group(svc.proc, signal.SIGTERM)
        for name in list(self.services):
            self.stop(name)
        ProcessManager._open.discard(self)

    def pids(self) -> dict[str, int]:
        return {n: s.pid for n, s in self.services.items() if s.proc.poll() is None}


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
