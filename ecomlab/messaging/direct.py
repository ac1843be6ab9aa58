"""The direct run: each order's calls (payment, inventory, email) in sequence while the
customer waits, served by ``web_workers`` request threads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import numpy as np

from ecomlab.measure import worker_pool
from ecomlab.messaging.arrivals import arrive, latency, reordered_share
from ecomlab.messaging.flows import DirectOutcome, OrderRequest, place_order_directly
from ecomlab.messaging.params import MessagingParams
from ecomlab.messaging.services import SERVICE_NAMES, Services

__all__ = ["run_direct"]


def run_direct(p: MessagingParams, services: Services, orders: list[OrderRequest],
                arrivals: np.ndarray, show_progress: bool) -> dict[str, Any]:
    outcomes: dict[str, DirectOutcome] = {}
    response: dict[str, float] = {}
    waited: dict[str, float] = {}
    done_seq: list[int] = []
    lock = threading.Lock()

    def serve(order: OrderRequest, arrived: float) -> None:
        picked_up = time.perf_counter()
        outcome = place_order_directly(order, services, timeout_ms=p.timeout_ms)
        finished = time.perf_counter()
        with lock:
            outcomes[order.order_id] = outcome
            response[order.order_id] = (finished - arrived) * 1000.0
            waited[order.order_id] = (picked_up - arrived) * 1000.0
            if outcome.ok:
                done_seq.append(order.order_no)

    with worker_pool(p.web_workers, "ecomlab-web") as web:
        futures = []

        def submit(order: OrderRequest, arrived: float) -> None:
            futures.append(web.submit(serve, order, arrived))

        arrive(orders, arrivals, submit, show_progress=show_progress)
        for f in futures:
            f.result()
    ok = {o for o, out in outcomes.items() if out.ok}
    failed_steps = Counter(out.failed_step for out in outcomes.values() if not out.ok)
    return {
        "accepted": len(orders),
        "succeeded": len(ok),
        "failed": len(orders) - len(ok),
        "dead_lettered": 0,
        "lost": len(orders) - len(outcomes),
        "compensations": sum(1 for out in outcomes.values() if out.compensated),
        "timeouts": sum(1 for out in outcomes.values() if out.timed_out),
        "failed_by_step": {k: failed_steps.get(k, 0) for k in SERVICE_NAMES},
        "response_ms": latency(list(response.values())),
        "completion_ms": latency([response[o] for o in ok]),
        "failed_response_ms": latency([r for o, r in response.items() if o not in ok]),
        "thread_wait_ms": latency(list(waited.values())),
        "reordered": round(reordered_share(done_seq), 4),
        "redeliveries": 0,
        "retries": 0,
        "consumer_crashes": 0,
        "skipped_duplicates": 0,
        "dead_letter_messages": 0,
        "dlq": [],
        "_succeeded_ids": ok,
    }

