"""Broker and order-flow throughput (measured on this machine; run on demand, not a test).

    .venv/bin/python benchmarks/bench_messaging.py [--messages 5000] [--orders 400]

Prints, for the in-process broker and (when ECOMLAB_AMQP_URL is set) RabbitMQ:

* publish rate of persistent JSON messages (messages/s; RabbitMQ with publisher confirms);
* publish -> consume -> ack rate with 4 worker threads (messages/s);
* orders/s through queue mode and direct mode with zero service latency (time_scale=0), i.e.
  the cost of the machinery itself, and the ratio between them.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

from ecomlab.config import Settings
from ecomlab.messaging import run_messaging
from ecomlab.stores import Broker, Delivery, WorkerPool, broker_store


def publish_rate(broker: Broker, n: int) -> float:
    q = broker.declare_queue(f"ecomlab-bench-{uuid.uuid4().hex[:8]}").name
    t0 = time.perf_counter()
    for i in range(n):
        broker.publish(q, {"order_no": i, "sku": "LAP-1"})
    rate = n / (time.perf_counter() - t0)
    broker.delete(q)
    return rate


def round_trip_rate(broker: Broker, n: int, workers: int = 4) -> float:
    q = broker.declare_queue(f"ecomlab-bench-{uuid.uuid4().hex[:8]}").name
    done = 0
    lock = threading.Lock()

    def handle(_: Delivery) -> None:
        nonlocal done
        with lock:
            done += 1

    with WorkerPool(broker, q, handle, workers=workers, poll_s=0.01) as pool:
        t0 = time.perf_counter()
        for i in range(n):
            broker.publish(q, {"order_no": i})
        pool.wait_until(lambda: done >= n, timeout_s=300)
        rate = n / (time.perf_counter() - t0)
    broker.delete(q)
    return rate


def order_rates(broker: Broker, orders: int) -> tuple[float, float]:
    opts = {"time_scale": 0.0, "arrival_rate": 100_000.0, "retry_delay_ms": 0.0}
    q = run_messaging("queue", orders, 0.0, 1, broker=broker, **opts)
    d = run_messaging("direct", orders, 0.0, 1, **opts)
    return orders / q.metrics["elapsed_s"], orders / d.metrics["elapsed_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--orders", type=int, default=400)
    args = ap.parse_args()
    backends: list[tuple[str, Broker]] = [("in-process", broker_store(settings=Settings()))]
    url = os.environ.get("ECOMLAB_AMQP_URL", "").strip()
    if url:
        backends.append(("rabbitmq", broker_store(url)))
    else:
        print("ECOMLAB_AMQP_URL not set: RabbitMQ skipped")
    rows = {}
    for name, broker in backends:
        n = args.messages if name == "in-process" else max(args.messages // 5, 200)
        pub = publish_rate(broker, n)
        rt = round_trip_rate(broker, n)
        q_rate, d_rate = order_rates(broker, args.orders)
        rows[name] = (pub, rt, q_rate, d_rate)
        print(f"{name:>10}: publish {pub:10,.0f} msg/s | publish+consume+ack {rt:9,.0f} msg/s "
              f"({n} messages) | orders/s with zero service latency: queue {q_rate:7,.0f}, "
              f"direct {d_rate:7,.0f} (direct/queue {d_rate / q_rate:.1f}x)")
        broker.dispose()
    if "rabbitmq" in rows:
        a, b = rows["in-process"], rows["rabbitmq"]
        print(f"in-process / rabbitmq: publish {a[0] / b[0]:.0f}x, round trip {a[1] / b[1]:.0f}x,"
              f" queue orders/s {a[2] / b[2]:.1f}x")
    print("label: measured (wall clock on this machine; other load on the host skews it)")


if __name__ == "__main__":
    main()
