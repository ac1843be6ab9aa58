"""Fault isolation, measured: availability under one fault, and the slow-inventory cascade.

* :func:`availability_table` — orders and product pages answered per style and fault, beside
  the closed form for serial dependencies (:func:`~ecomlab.architecture.expected_availability`,
  label: model).
* :func:`cascade_table` — a slow inventory per style and resilience: does it take the
  unrelated product page down, and how many requests reach the sick service per order.
"""

from __future__ import annotations

import pandas as pd

from ecomlab.architecture.choices import RESILIENCE, STYLES
from ecomlab.architecture.experiment import run_architecture

__all__ = ["availability_table", "cascade_table"]


def availability_table(orders: int = 300, *, faults: tuple[str, ...] = (
        "payment=flaky:0.2", "inventory=flaky:0.1", "product=flaky:0.1", "inventory=down"),
        seed: int = 42, transport: str = "asgi") -> pd.DataFrame:
    """Availability of orders and product pages per style and fault, beside the closed form."""
    rows = []
    for style in STYLES:
        for fault in faults:
            r = run_architecture(style, orders, concurrency=4, faults=[fault],
                                 consistency="saga", seed=seed, transport=transport)
            m = r.metrics
            rows.append({"style": style, "fault": fault,
                         "orders_measured": m["availability"]["orders"],
                         "orders_model": m["expected_availability"]["orders"],
                         "page_measured": m["availability"]["product_page"],
                         "page_model": m["expected_availability"]["product_page"]})
    return pd.DataFrame(rows)


def cascade_table(orders: int = 60, *, slow_ms: float = 300.0, concurrency: int = 16,
                  seed: int = 42, transport: str = "asgi", workers: int = 8,
                  client_timeout_s: float = 1.0) -> pd.DataFrame:
    """A slow inventory, per style and resilience: what happens to orders and product pages.

    Columns: order availability and p50, product-page p99 and availability, and retry
    amplification (requests reaching inventory per order; measured).
    """
    rows = []
    runs = [(style, resilience, True) for style in STYLES for resilience in RESILIENCE]
    runs.append(("microservices", "full", False))
    for style, resilience, breaker in runs:
        r = run_architecture(style, orders, concurrency=concurrency,
                             faults=[f"inventory=slow:{slow_ms:g}"], resilience=resilience,
                             consistency="saga", seed=seed, transport=transport,
                             workers=workers, client_timeout_s=client_timeout_s,
                             breaker=breaker)
        m = r.metrics
        rows.append({"style": style,
                     "resilience": resilience if breaker else "full, no breaker",
                     "orders_ok": m["availability"]["orders"],
                     "order_p50_ms": m["latency_ms"]["p50"],
                     "page_ok": m["availability"]["product_page"],
                     "page_p99_ms": m["product_page_ms"]["p99"],
                     "inventory_requests_per_order": m["retry_amplification"]})
    return pd.DataFrame(rows)
