"""The notebook's explorer: move the load, the failure rate and the latency distribution, and
see both modes simulated side by side."""

from __future__ import annotations

from typing import Any

from ecomlab import validate
from ecomlab.processing.pipeline import DISTRIBUTIONS
from ecomlab.processing.plots import modes_figure
from ecomlab.processing.tables import compare_modes

__all__ = ["explore_modes", "processing_explorer"]


def explore_modes(arrival_rate: float, failure_probability: float, distribution: str,
                  orders: int, seed: int = 42) -> tuple[Any, Any]:
    """The explorer's callback: both modes simulated, as a figure and a table."""
    validate.choice("distribution", distribution, DISTRIBUTIONS)
    df = compare_modes(orders=orders, arrival_rate=arrival_rate, seed=seed,
                       distribution=distribution, failure_probability=failure_probability)
    table = df.set_index("mode")[["label", "response_p50_ms", "response_p95_ms",
                                  "completion_p50_ms", "completion_p99_ms", "success_rate",
                                  "charged_not_confirmed", "saturation_rate_per_s"]]
    return modes_figure(df), table.round(3)


def processing_explorer(*, seed: int = 42) -> Any:
    """Sliders for arrival rate, failure probability, distribution and orders; a Run button."""
    import ipywidgets as w

    from ecomlab.notebook import explorer

    style = {"description_width": "initial"}
    controls = {
        "arrival_rate": w.FloatSlider(value=5.0, min=0.5, max=12.0, step=0.5,
                                      description="arrival rate (orders/s)", style=style),
        "failure_probability": w.FloatSlider(value=0.0, min=0.0, max=0.3, step=0.01,
                                             description="failure per step", style=style),
        "distribution": w.Dropdown(options=list(DISTRIBUTIONS), value="exponential",
                                   description="latency", style=style),
        "orders": w.IntSlider(value=2000, min=200, max=20000, step=200,
                              description="orders", style=style),
    }

    def run(**values: Any) -> tuple[Any, Any]:
        return explore_modes(seed=seed, **values)

    return explorer(controls, run, title="sync vs async (simulated)")
