"""Topic 05 over real processes: readiness, no orphan and no bound port on every exit path."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from ecomlab.architecture.deploy import MICROSERVICES, Deployment
from ecomlab.architecture.experiment import run_architecture
from ecomlab.architecture.processes import ProcessManager, ServiceDied

pytestmark = pytest.mark.slow


def _port_free(port: int) -> bool:
    """Nobody listens on ``port`` and a new server can bind it (SO_REUSEADDR, as servers do:
    closed keep-alive connections may leave TIME_WAIT entries behind, which hold nothing)."""
    listening = {c.laddr.port for c in psutil.net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    if port in listening:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@contextlib.contextmanager
def _spawned() -> Iterator[list[tuple[str, int, int]]]:
    """Every service process started inside the block, as (name, pid, port)."""
    seen: list[tuple[str, int, int]] = []
    original = ProcessManager.spawn

    def spy(self: ProcessManager, name: str, config: dict, *, port: int = 0):  # type: ignore[no-untyped-def]
        svc = original(self, name, config, port=port)
        seen.append((name, svc.pid, svc.port))
        return svc

    ProcessManager.spawn = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ProcessManager.spawn = original  # type: ignore[method-assign]


def test_a_normal_run_over_processes_measures_and_leaves_no_process_or_port() -> None:
    seen: dict[str, tuple[int, int]] = {}
    original = ProcessManager.spawn

    def spy(self: ProcessManager, name: str, config: dict, *, port: int = 0):  # type: ignore[no-untyped-def]
        svc = original(self, name, config, port=port)
        seen[name] = (svc.pid, svc.port)
        return svc

    before = _children()
    ProcessManager.spawn = spy  # type: ignore[method-assign]
    try:
        r = run_architecture("microservices", 30, concurrency=3, consistency="outbox",
                             faults=["payment=flaky:0.2"])
    finally:
        ProcessManager.spawn = original  # type: ignore[method-assign]
    m = r.metrics
    assert set(seen) == {"product", "inventory", "payment", "notification", "order"}
    assert len({port for _, port in seen.values()}) == 5
    assert m["inconsistent_total"] == 0 and 0 < m["succeeded"] < 30
    assert m["hops_per_order"] >= 3 and m["cpu_ms_per_order"] > 0
    assert all(_gone(pid) for pid, _ in seen.values())
    assert all(_port_free(port) for _, port in seen.values())
    assert _children() <= before


def test_an_exception_inside_the_deployment_stops_every_process() -> None:
    dep = Deployment("microservices")
    with pytest.raises(RuntimeError, match="boom"), dep:
        pids = dict(dep.manager.pids())  # type: ignore[union-attr]
        ports = [int(u.rsplit(":", 1)[1]) for u in dep.urls.values()]
        assert len(pids) == 5
        raise RuntimeError("boom")
    assert all(_gone(pid) for pid in pids.values())
    assert all(_port_free(port) for port in ports)


def test_a_service_that_dies_mid_run_is_reported_not_waited_for() -> None:
    with Deployment("microservices") as dep:
        victim = dep.manager.services["inventory"]  # type: ignore[union-attr]
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait(timeout=5)
        with pytest.raises(ServiceDied, match="inventory"):
            dep.check()


def _healthy(port: int) -> bool:
    """The service on ``port`` answers ``GET /health`` (it is serving, not just bound)."""
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _sigint_as_in_a_terminal() -> None:
    """In the child: SIGINT at its default, as a foreground command has it. A shell that starts
    the suite in the background makes it ignored, and ignored signals stay ignored in children."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: how long five service processes may take to start on a loaded 2-core machine
START_DEADLINE_S = 180


def test_sigint_to_the_cli_stops_every_service_and_frees_every_port() -> None:
    cmd = [sys.executable, "-m", "ecomlab", "run", "architecture", "--style", "microservices",
           "--orders", "100000", "--rate", "20"]
    cli = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           preexec_fn=_sigint_as_in_a_terminal)
    proc = psutil.Process(cli.pid)
    services: dict[int, set[int]] = {}
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and not (
                len(services) == 5 and all(_healthy(min(p)) for p in services.values())):
            assert cli.poll() is None, cli.stderr.read().decode()  # type: ignore[union-attr]
            for child in proc.children(recursive=True):
                try:
                    ports = {c.laddr.port for c in child.net_connections("tcp")
                             if c.status == psutil.CONN_LISTEN}
                except psutil.Error:
                    continue
                if ports:
                    services[child.pid] = ports
            time.sleep(0.1)
        assert len(services) == 5, "the services did not all start"
        assert all(_healthy(min(p)) for p in services.values()), "a service never got ready"
        time.sleep(0.5)  # orders are flowing
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=60) == 130
        assert "interrupted" in cli.stderr.read().decode()  # type: ignore[union-attr]
    finally:  # a failed assertion must not leave a 100,000-order run behind
        if cli.poll() is None:
            for child in proc.children(recursive=True):
                child.kill()
            cli.kill()
            cli.wait()
    assert all(_gone(pid) for pid in services)
    assert all(_port_free(p) for ports in services.values() for p in ports)


def test_a_new_manager_stops_the_processes_an_abandoned_one_left_running() -> None:
    old = ProcessManager()  # a notebook cell that was re-run before it could clean up
    svc = old.start("product", {"service": "product", "db": str(old.log_dir / "p.sqlite")})
    port = svc.port
    with ProcessManager():
        assert _gone(svc.pid)
        assert _port_free(port)


def test_an_interrupted_notebook_cell_stops_every_process_before_the_interrupt_returns() -> None:
    import asyncio
    import threading

    main = threading.main_thread().ident
    assert main is not None

    def interrupt_when_running(seen: list[tuple[str, int, int]]) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and not (
                len(seen) == 5 and all(_healthy(port) for _, _, port in seen)):
            time.sleep(0.05)
        time.sleep(1.5)  # orders flowing
        signal.pthread_kill(main, signal.SIGINT)

    async def cell() -> None:  # a kernel runs cells inside its own event loop
        run_architecture("microservices", 100_000, rate=20)

    loop = asyncio.new_event_loop()  # like ipykernel: SIGINT raises KeyboardInterrupt
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited ignored
    with _spawned() as seen:
        threading.Thread(target=interrupt_when_running, args=(seen,), daemon=True).start()
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(cell())
        finally:
            loop.close()
            signal.signal(signal.SIGINT, previous)
    assert len(seen) == 5
    assert all(_gone(pid) for _, pid, _ in seen)
    assert all(_port_free(port) for _, _, port in seen)


def test_a_run_with_two_inventory_replicas_uses_both_and_leaves_no_process_or_port() -> None:
    before = _children()
    with _spawned() as seen:
        r = run_architecture("microservices", 20, concurrency=2, replicas={"inventory": 2},
                             faults=["inventory=down"])
        healthy = run_architecture("microservices", 20, concurrency=2,
                                   replicas={"inventory": 2})
    names = [n for n, _, _ in seen]
    # six per run, and both inventory replicas restarted once when the down fault is lifted
    assert names.count("inventory") == names.count("inventory-2") == 3
    assert len(seen) == 14
    assert r.metrics["processes"] == 6 and r.metrics["availability"]["orders"] == 0.0
    served = healthy.metrics["replicas"]["inventory"]
    assert served["inventory"]["requests"] == served["inventory-2"]["requests"] == 10
    assert healthy.metrics["inconsistent_total"] == 0
    assert all(_gone(pid) for _, pid, _ in seen)
    assert all(_port_free(port) for _, _, port in seen)
    assert _children() <= before


def test_a_deployment_with_monolith_copies_shares_one_database_and_stops_both() -> None:
    dep = Deployment("monolith", replicas={"monolith": 2})
    with dep:
        pids = dict(dep.manager.pids())  # type: ignore[union-attr]
        assert set(pids) == {"monolith", "monolith-2"}
        assert len(dep.entry_urls) == 2 and len(dep.db_paths) == 1
    assert all(_gone(pid) for pid in pids.values())


def test_a_replica_added_to_a_running_deployment_is_balanced_to_and_stopped_with_it() -> None:
    from ecomlab.architecture.scaling import replica_scaling

    before = _children()
    with _spawned() as seen:
        table = replica_scaling("microservices", service="inventory", clients=(1, 2),
                                scaled_clients=(2,), orders=12, seed=3)
    # five processes started once, then the one replica added to them
    assert [n for n, _, _ in seen] == [*MICROSERVICES, "inventory-2"]
    scaled = table[table["replicas"] == 2].iloc[0]
    # the order service's callers balanced the 12 reservations (and a warm-up of 10) over both
    assert scaled["served_by_replica"]["inventory"] == [11, 11]
    assert list(table["replicas"]) == [1, 1, 2] and set(table["service"]) == {"inventory"}
    assert all(_gone(pid) for _, pid, _ in seen)
    assert all(_port_free(port) for _, _, port in seen)
    assert _children() <= before


def test_the_order_service_refuses_replicas_for_a_dependency_it_does_not_have() -> None:
    async def go() -> int:
        dep = Deployment("microservices", transport="asgi")
        dep.start()
        try:
            assert dep.client is not None
            r = await dep.client.post(f"{dep.urls['order']}/admin/deps",
                                      json={"deps": {"warehouse": ["http://x.local"]}})
            return r.status_code
        finally:
            await dep.aclose()
    assert asyncio.run(go()) == 400
