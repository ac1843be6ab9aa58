"""The load generator: closed-loop (N concurrent clients) or open-loop (Poisson arrivals).

Each order slot sends ``POST /orders`` to the entry service and, beside it, an unrelated
``GET /products/{sku}`` to the service that serves the catalog, so both availabilities are
measured under the same faults. With several replicas of the entry (or the catalog) the slots
go to them round robin (slot ``i`` to replica ``i mod n``).

Latencies are recorded in HdrHistograms (:mod:`ecomlab.architecture.latency`): successful
orders, and every product page.

Open loop: the send times are drawn in advance (exponential gaps at ``rate`` per second) and a
request's latency is measured **from its intended send time**, not from when it was actually
sent: if the generator or the system falls behind, the wait counts (the coordinated-omission
correction). Closed loop: ``concurrency`` clients each send their next order when the last one
answered; latency is measured from the send, and :meth:`LoadOutcome.order_latency_corrected`
adds the correction HdrHistogram's ``record_corrected_value`` makes, with the run's median
latency as the expected interval between one client's requests.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from ecomlab import budget
from ecomlab.architecture import latency
from ecomlab.measure import LatencySummary

__all__ = ["LoadOutcome", "RawClient", "generate"]


@dataclass(frozen=True)
class RawResponse:
    status_code: int
    body: bytes


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for load over loopback TCP.

    httpx spends about a millisecond of CPU per request, which on two cores makes the load
    generator the bottleneck; this client writes the request line and reads the status line,
    headers and a ``Content-Length`` body, nothing more (no TLS, no redirects, no chunked
    bodies: the services always send a length). A connection whose request was interrupted
    (a client timeout) is closed, never reused.
    """

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader,
                                                     asyncio.StreamWriter]]] = {}

    async def get(self, url: str) -> RawResponse:
        return await self.request("GET", url)

    async def post(self, url: str, json: Any = None) -> RawResponse:
        import json as _json

        return await self.request("POST", url, _json.dumps(json).encode())

    async def request(self, method: str, url: str, body: bytes = b"") -> RawResponse:
        parsed = httpx.URL(url)
        key = (parsed.host, parsed.port or 80)
        idle = self._idle.setdefault(key, [])
        reader, writer = idle.pop() if idle else await asyncio.open_connection(*key)
        head = (f"{method} {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {key[0]}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        try:
            writer.write(head.encode() + body)
            status_line = await reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length, keep = 0, True
            while True:
                line = await reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
            data = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if keep:
            idle.append((reader, writer))
        else:
            writer.close()
        return RawResponse(status, data)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()


@dataclass
class LoadOutcome:
    """What the generator saw: counts, and latency histograms (us; read them in ms)."""

    orders_ok: int = 0
    pages_ok: int = 0
    order_hist: Any = field(default_factory=latency.histogram)  # successful orders
    page_hist: Any = field(default_factory=latency.histogram)   # every product page
    statuses: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    lag_ms_max: float = 0.0
    open_loop: bool = True
    per_replica: list[int] = field(default_factory=list)  # orders sent to each entry replica

    def order_latency(self) -> LatencySummary:
        """Successful orders' latency (ms): from the intended send (open loop) or the send."""
        return latency.summary(self.order_hist)

    def page_latency(self) -> LatencySummary:
        return latency.summary(self.page_hist)

    def order_latency_corrected(self) -> LatencySummary:
        """Orders' latency corrected for coordinated omission (ms): the open loop's own
        figures, or the closed loop's through ``record_corrected_value`` at the median."""
        if self.open_loop or not self.orders_ok:
            return self.order_latency()
        return latency.summary(latency.corrected(self.order_hist, self.order_latency().p50))


async def _timed(send: Callable[[], Any], intended: float, timeout_s: float
                 ) -> tuple[float, int | str]:
    try:
        with anyio.fail_after(timeout_s):
            response = await send()
        status: int | str = response.status_code
    except TimeoutError:
        status = "client timeout"
    except (httpx.TransportError, OSError, asyncio.IncompleteReadError) as exc:
        status = type(exc).__name__
    return (time.perf_counter() - intended) * 1000.0, status


async def generate(client: httpx.AsyncClient | RawClient, order_url: str | Sequence[str],
                   page_url: str | Sequence[str], orders: int, *,
                   rate: float | None = None, concurrency: int | None = None, seed: int = 0,
                   run_id: str = "run", client_timeout_s: float = 5.0,
                   check: Callable[[], None] | None = None) -> LoadOutcome:
    """Send ``orders`` orders (and as many product pages); returns a :class:`LoadOutcome`.

    Args:
        order_url, page_url: a base URL, or the replicas' base URLs (round robin).
        rate: open loop at this many orders per second (Poisson), or
        concurrency: closed loop with this many clients.
        check: called every 50 ms; an exception it raises (a service died) ends the run.
    """
    rng = random.Random(seed)
    from ecomlab.architecture.domain import SKUS

    skus = [rng.choice(SKUS)[0] for _ in range(orders)]
    entries = [order_url] if isinstance(order_url, str) else list(order_url)
    pages = [page_url] if isinstance(page_url, str) else list(page_url)
    out = LoadOutcome(open_loop=rate is not None, per_replica=[0] * len(entries))

    async def one(i: int, intended: float) -> None:
        sku = skus[i]
        entry, catalog = entries[i % len(entries)], pages[i % len(pages)]
        out.per_replica[i % len(entries)] += 1
        order = _timed(lambda: client.post(f"{entry}/orders", json={
            "order_id": f"{run_id}-{i}", "sku": sku, "qty": 1}), intended, client_timeout_s)
        page = _timed(lambda: client.get(f"{catalog}/products/{sku}"), intended,
                      client_timeout_s)
        (o_ms, o_status), (p_ms, p_status) = await asyncio.gather(order, page)
        if o_status == 201:
            out.orders_ok += 1
            latency.record_ms(out.order_hist, o_ms)
        out.pages_ok += p_status == 200
        latency.record_ms(out.page_hist, p_ms)
        key = str(o_status)
        out.statuses[key] = out.statuses.get(key, 0) + 1
        budget.advance()  # the command line's progress and Ctrl-C report

    async def watch() -> None:
        while check is not None:
            check()
            await asyncio.sleep(0.05)

    async def drive() -> None:
        start = time.perf_counter()
        if rate is not None:
            t = 0.0
            tasks = []
            for i in range(orders):
                t += rng.expovariate(rate)
                intended = start + t
                delay = intended - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                out.lag_ms_max = max(out.lag_ms_max, -delay * 1000.0)
                tasks.append(asyncio.ensure_future(one(i, intended)))
            await asyncio.gather(*tasks)
        else:
            counter = iter(range(orders))

            async def client_loop() -> None:
                for i in counter:
                    await one(i, time.perf_counter())
            await asyncio.gather(*(client_loop() for _ in range(concurrency or 1)))
        out.elapsed_s = time.perf_counter() - start

    driver = asyncio.ensure_future(drive())
    watcher = asyncio.ensure_future(watch())
    try:
        done, _ = await asyncio.wait({driver, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            watcher.result()  # re-raises what check() raised
        await driver
    finally:
        for task in (driver, watcher):
            task.cancel()
        await asyncio.gather(driver, watcher, return_exceptions=True)
    return out
