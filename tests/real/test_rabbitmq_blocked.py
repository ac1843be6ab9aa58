"""Real RabbitMQ behind a proxy that blocks publishers as a server under a resource alarm does.

A server low on memory or disk sends ``connection.blocked`` to its publishing connections and
stops reading from them: a publisher waiting for its confirm, or a close waiting for its
close-ok, would wait for ever. The proxy forwards AMQP frames between the broker object and
the real server in ``ECOMLAB_AMQP_URL``; ``block()`` sends every open connection that frame
(between two server frames) and stops reading from it, exactly that behaviour, without
raising an alarm on the shared server that another test run may be using.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from ecomlab.errors import BackendUnavailable
from ecomlab.stores import RabbitBroker
from tests.conftest import real_url

FRAME_END = b"\xce"


def _blocked_frame(reason: str) -> bytes:
    """An AMQP 0-9-1 ``connection.blocked`` method frame (class 10, method 60) on channel 0."""
    text = reason.encode()
    payload = struct.pack(">HHB", 10, 60, len(text)) + text
    return struct.pack(">BHI", 1, 0, len(payload)) + payload + FRAME_END


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.write_lock = threading.Lock()  # whole frames only, towards the client
        self.blocked = threading.Event()
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):
                s.close()


class BlockingProxy:
    """A TCP proxy to a real RabbitMQ that can put its open connections in the blocked state."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5672)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        self.url = urlunsplit(parts._replace(
            netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
        self._pairs: list[_Pair] = []
        self.connections = 0  # connections accepted so far
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._spawn(self._accept)

    def _spawn(self, fn: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=fn, args=args, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            pair = _Pair(client, socket.create_connection(self._upstream, timeout=5))
            pair.server.settimeout(None)
            with self._lock:
                self._pairs.append(pair)
                self.connections += 1
            self._spawn(self._client_to_server, pair)
            self._spawn(self._server_to_client, pair)

    def _client_to_server(self, pair: _Pair) -> None:
        try:
            while not pair.closed.is_set():
                if pair.blocked.is_set():  # a blocked server reads nothing more
                    pair.closed.wait(0.05)
                    continue
                pair.client.settimeout(0.05)
                try:
                    data = pair.client.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                if pair.blocked.is_set():  # read while block() ran: held, never forwarded
                    continue
                pair.server.sendall(data)
        except OSError:
            pass
        pair.close()

    def _server_to_client(self, pair: _Pair) -> None:
        try:
            while not pair.closed.is_set():
                header = _recv_exact(pair.server, 7)
                size = struct.unpack(">BHI", header)[2]
                rest = _recv_exact(pair.server, size + 1)
                with pair.write_lock:
                    pair.client.sendall(header + rest)
        except (OSError, ConnectionError):
            pass
        pair.close()

    def block(self, reason: str) -> int:
        """Send ``connection.blocked`` to every open connection and stop reading from them;
        returns how many were blocked. Connections opened later pass freely."""
        with self._lock:
            pairs = [p for p in self._pairs if not p.closed.is_set()]
        for pair in pairs:
            pair.blocked.set()
            with pair.write_lock, contextlib.suppress(OSError):
                pair.client.sendall(_blocked_frame(reason))
        return len(pairs)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for pair in self._pairs:
                pair.close()


@pytest.fixture
def proxy() -> Iterator[BlockingProxy]:
    p = BlockingProxy(real_url("ECOMLAB_AMQP_URL"))
    try:
        yield p
    finally:
        p.close()


def _within(proxy: BlockingProxy, seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` on this thread (the broker keeps one publishing connection per thread),
    failing the test if it has not returned in ``seconds``: then the proxy is closed, which
    ends the wait. A generous bound: what it catches is a wait without end, not slowness."""
    hung = threading.Event()

    def end_the_wait() -> None:
        hung.set()
        proxy.close()

    timer = threading.Timer(seconds, end_the_wait)
    timer.start()
    try:
        return fn()
    finally:
        timer.cancel()
        assert not hung.is_set(), f"still waiting after {seconds} s: the call hangs"


def _queue_exists(url: str, name: str) -> bool:
    import amqp.exceptions  # type: ignore[import-untyped]
    import kombu

    with kombu.Connection(url, connect_timeout=3) as conn:
        try:
            conn.channel().queue_declare(queue=name, passive=True)
        except amqp.exceptions.NotFound:
            return False
    return True


def test_a_blocked_server_gives_a_clear_error_and_a_fresh_connection_carries_on(
        proxy: BlockingProxy) -> None:
    broker = RabbitBroker(proxy.url, io_timeout_s=1.0)
    name = f"ecomlab-test-{uuid.uuid4().hex[:12]}"
    try:
        q = broker.declare_queue(name).name
        broker.publish(q, {"i": 1})
        assert proxy.block("low on memory") >= 1

        with pytest.raises(BackendUnavailable,
                           match=r"blocking publishers: a memory or disk alarm"):
            _within(proxy, 60, lambda: broker.publish(q, {"i": 2}))

        # within io_timeout_s of that, a call is refused without opening a connection
        opened = proxy.connections
        with pytest.raises(BackendUnavailable, match="blocking publishers"):
            broker.publish(q, {"i": 3})
        assert proxy.connections == opened

        # after it, one call tries a fresh connection (the blocked one was dropped); the
        # proxy lets new connections pass, as a server whose alarm has cleared
        time.sleep(1.05)
        assert _within(proxy, 60, lambda: broker.publish(q, {"i": 4})) is not None
        assert _within(proxy, 60, lambda: broker.publish(q, {"i": 5})) is not None
        # 1, 4 and 5 are on the server; 2 and 3 were refused, as their callers were told
        assert _within(proxy, 60, lambda: broker.depth(q)) == 3
        proxy.block("low on disk")
        _within(proxy, 60, broker.dispose)  # no close handshake left waiting on a blocked server
    finally:
        broker.dispose()
    assert not _queue_exists(real_url("ECOMLAB_AMQP_URL"), name)
