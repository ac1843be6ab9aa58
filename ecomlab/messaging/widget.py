"""The notebook-04 widget: a failure-rate slider, and what each design loses or duplicates."""

from __future__ import annotations

from typing import Any

from ecomlab.messaging.experiment import outcome_frame, run_messaging
from ecomlab.messaging.plots import outcome_figure
from ecomlab.validate import integer, probability

__all__ = ["failure_outcomes", "messaging_explorer"]


def failure_outcomes(failure_rate: float = 0.3, crash_rate: float = 0.1,
                     duplicate_rate: float = 0.05, orders: int = 80, seed: int = 42,
                     **options: Any) -> tuple[Any, Any]:
    """Run direct, queue (idempotent) and queue (naive) at one failure rate.

    Returns the outcome table (DataFrame) and its figure (measured).
    """
    probability("failure_rate", failure_rate)
    probability("crash_rate", crash_rate)
    probability("duplicate_rate", duplicate_rate)
    integer("orders", orders, minimum=1, maximum=2000)
    runs = [
        run_messaging("direct", orders, failure_rate, seed, **options),
        run_messaging("queue", orders, failure_rate, seed, idempotent=True,
                      crash_rate=crash_rate, duplicate_rate=duplicate_rate, **options),
        run_messaging("queue", orders, failure_rate, seed, idempotent=False,
                      crash_rate=crash_rate, duplicate_rate=duplicate_rate, **options),
    ]
    frame = outcome_frame(runs)
    fig = outcome_figure(frame, title=f"Outcomes at failure rate {failure_rate:g} "
                                      f"({orders} orders, measured)")
    return frame, fig


def messaging_explorer(seed: int = 42) -> Any:
    """A widget: failure-rate, crash and duplicate sliders; Run shows the table and plot."""
    import ipywidgets as w

    from ecomlab.notebook import explorer

    style = {"description_width": "initial"}
    controls = {
        "failure_rate": w.FloatSlider(value=0.3, min=0.0, max=0.6, step=0.05,
                                      description="service failure rate", style=style),
        "crash_rate": w.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05,
                                    description="consumer crash before ack", style=style),
        "duplicate_rate": w.FloatSlider(value=0.05, min=0.0, max=0.5, step=0.05,
                                        description="duplicate deliveries", style=style),
        "orders": w.IntSlider(value=80, min=20, max=400, step=20, description="orders",
                              style=style),
    }

    def run(failure_rate: float, crash_rate: float, duplicate_rate: float,
            orders: int) -> tuple[Any, Any]:
        return failure_outcomes(failure_rate, crash_rate, duplicate_rate, orders, seed)

    return explorer(controls, run, title="Direct calls vs a queue under failures (measured)")
