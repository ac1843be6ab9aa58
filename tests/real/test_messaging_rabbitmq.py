"""Real RabbitMQ only: persistent messages survive a broker restart, and no order is lost.

The restart uses ``rabbitmqctl stop_app && rabbitmqctl start_app`` on the local node, so the
test runs only when ``ECOMLAB_AMQP_URL`` points at this machine and ``rabbitmqctl`` is on the
PATH. Whatever happens, the test starts the app again and waits until it accepts connections:
other tests and CI rely on it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from ecomlab.messaging import run_messaging
from ecomlab.stores import broker_store
from tests.conftest import real_url

pytestmark = [pytest.mark.real, pytest.mark.slow]


def _local_rabbitmqctl() -> tuple[str, str]:
    url = real_url("ECOMLAB_AMQP_URL")
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip("ECOMLAB_AMQP_URL is not on this machine: rabbitmqctl cannot restart it")
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl is not on the PATH: cannot restart the broker")
    return url, ctl


def _wait_until_up(url: str, timeout_s: float = 60.0) -> None:
    import kombu

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with kombu.Connection(url, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                return
        except Exception:  # kombu raises transport-specific errors while it boots
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _restarter(url: str, ctl: str) -> Callable[[], None]:
    def restart() -> None:
        try:
            subprocess.run([ctl, "stop_app"], check=True, capture_output=True, timeout=60)
        finally:
            subprocess.run([ctl, "start_app"], check=True, capture_output=True, timeout=120)
            _wait_until_up(url)

    return restart


def test_persistent_messages_survive_a_rabbitmq_restart() -> None:
    url, ctl = _local_rabbitmqctl()
    broker = broker_store(url)
    q = broker.declare_queue(f"ecomlab-test-restart-{uuid.uuid4().hex[:10]}").name
    try:
        for i in range(20):
            broker.publish(q, {"i": i}, message_id=f"m{i}")
        _restarter(url, ctl)()
        assert broker.depth(q) == 20  # the publisher's connection came back by itself
        with broker.consumer(q) as inbox:
            got = []
            for _ in range(20):
                d = inbox.get(timeout_s=5)
                assert d is not None
                got.append(d.message.body["i"])
                d.ack()
        assert got == list(range(20))
    finally:
        subprocess.run([ctl, "start_app"], capture_output=True, timeout=120)
        _wait_until_up(url)
        broker.dispose()


def test_queue_mode_loses_no_order_across_a_rabbitmq_restart() -> None:
    url, ctl = _local_rabbitmqctl()
    broker = broker_store(url)
    try:
        r = run_messaging("queue", 80, 0.2, 21, broker=broker, broker_restart=True,
                          restart_broker=_restarter(url, ctl),
                          crash_rate=0.1, time_scale=0.001, arrival_rate=400.0,
                          retry_delay_ms=5.0, drain_timeout_s=60)
        m = r.metrics
        assert (m["lost"], m["duplicate_charges"], m["orphan_charges"]) == (0, 0, 0)
        assert m["succeeded"] + m["dead_lettered"] == 80
    finally:
        subprocess.run([ctl, "start_app"], capture_output=True, timeout=120)
        _wait_until_up(url)
        broker.dispose()
