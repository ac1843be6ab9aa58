"""The notebook-05 explorer: style, fault, resilience, consistency and load; Run measures."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.architecture.choices import CONSISTENCY, STYLES, TRANSPORTS
from ecomlab.architecture.experiment import run_architecture
from ecomlab.architecture.resilience import RESILIENCE

__all__ = ["FAULT_CHOICES", "architecture_explorer", "explore_once"]

#: the faults offered by the explorer ("" = none)
FAULT_CHOICES: tuple[str, ...] = ("", "inventory=slow:300", "inventory=flaky:0.3",
                                  "inventory=down", "payment=flaky:0.3", "product=down",
                                  "order=crash:after_charge@0.5",
                                  "order=crash:after_commit@0.5",
                                  "order=crash:after_publish@0.5", "notification=flaky:0.5")


def explore_once(style: str = "microservices", fault: str = "", resilience: str = "none",
                 consistency: str = "seed", concurrency: int = 4, orders: int = 60,
                 transport: str = "asgi", seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run; returns (summary table, per-service table). Label: measured."""
    r = run_architecture(style, orders, concurrency=concurrency,
                         faults=[fault] if fault else [], resilience=resilience,
                         consistency=consistency, seed=seed, transport=transport,
                         client_timeout_s=2.0)
    m = r.metrics
    summary = pd.DataFrame([{
        "orders ok": m["availability"]["orders"],
        "orders ok (model)": m["expected_availability"]["orders"],
        "pages ok": m["availability"]["product_page"],
        "p50 ms": m["latency_ms"]["p50"], "p99 ms": m["latency_ms"]["p99"],
        "hops/order": m["hops_per_order"], "retry amplification": m["retry_amplification"],
        **{k.replace("_", " "): v for k, v in m["inconsistent"].items()},
    }])
    services = pd.DataFrame(m["services"]).T
    return summary, services


def architecture_explorer(seed: int = 42) -> Any:
    """A widget: choose style, fault, resilience, consistency, clients, transport; Run."""
    import ipywidgets as w

    from ecomlab.notebook import explorer

    style = {"description_width": "initial"}
    controls = {
        "style": w.Dropdown(options=STYLES, value="microservices", description="style"),
        "fault": w.Dropdown(options=[(f or "none", f) for f in FAULT_CHOICES], value="",
                            description="fault", style=style),
        "resilience": w.Dropdown(options=RESILIENCE, value="none", description="resilience",
                                 style=style),
        "consistency": w.Dropdown(options=CONSISTENCY, value="seed",
                                  description="consistency", style=style),
        "concurrency": w.IntSlider(value=4, min=1, max=32, description="clients",
                                   style=style),
        "orders": w.IntSlider(value=60, min=10, max=400, step=10, description="orders",
                              style=style),
        "transport": w.Dropdown(options=TRANSPORTS, value="asgi", description="transport",
                                style=style),
    }

    def run(**values: Any) -> tuple[Any, ...]:
        summary, services = explore_once(seed=seed, **values)
        return summary.round(3), services

    return explorer(controls, run, title="Monolith vs microservices under one fault (measured)")
