"""Inconsistent end states per consistency variant over seeded randomized fault trials.

Each trial is one :func:`~ecomlab.architecture.run_architecture` run in process (ASGI
transport) with a crash at a named step and a flaky service; the checker
(:func:`~ecomlab.architecture.deploy.count_inconsistent`) reads every database after the
faults are lifted, crashed flows recovered and the outbox drained (measured).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecomlab.architecture.choices import CONSISTENCY
from ecomlab.architecture.deploy import INCONSISTENCIES
from ecomlab.architecture.experiment import run_architecture
from ecomlab.architecture.faults import CRASH_STEPS
from ecomlab.validate import choice, integer

__all__ = ["consistency_table", "consistency_trials"]


def consistency_trials(trials: int = 30, *, consistency: str = "saga", orders: int = 12,
                       seed: int = 42, style: str = "microservices") -> pd.DataFrame:
    """Seeded randomized fault trials (in-process ASGI): one row per trial.

    Trial ``i`` crashes the order flow at step ``CRASH_STEPS[i % 4]`` (rate 0.5) and makes a
    randomly drawn service flaky (rate 0.2-0.5), each drawn from ``seed``; ``timeouts``
    resilience. Columns: the fault, the five inconsistency counts and their total (measured).
    """
    integer("trials", trials, minimum=1, maximum=1000)
    choice("consistency", consistency, CONSISTENCY)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(trials):
        step = CRASH_STEPS[i % len(CRASH_STEPS)]
        flaky = str(rng.choice(["inventory", "payment", "notification"]))
        p = round(float(rng.uniform(0.2, 0.5)), 2)
        faults = [f"order=crash:{step}@0.5", f"{flaky}=flaky:{p}"]
        r = run_architecture(style, orders, concurrency=2, faults=faults,
                             resilience="timeouts", consistency=consistency,
                             seed=seed + i, transport="asgi")
        rows.append({"trial": i, "consistency": r.params["consistency"], "crash_step": step,
                     "flaky": f"{flaky} {p:g}", **r.metrics["inconsistent"],
                     "total": r.metrics["inconsistent_total"],
                     "succeeded": r.metrics["succeeded"]})
    return pd.DataFrame(rows)


def consistency_table(trials: int = 30, *, orders: int = 12, seed: int = 42) -> pd.DataFrame:
    """Inconsistent end states summed over ``trials`` per variant (measured), monolith too."""
    rows = []
    for style, variant in (("monolith", "saga"), ("microservices", "seed"),
                           ("microservices", "saga"), ("microservices", "outbox")):
        df = consistency_trials(trials, consistency=variant, orders=orders, seed=seed,
                                style=style)
        label = "monolith (one ACID transaction)" if style == "monolith" else variant
        rows.append({"variant": label, "trials": trials, "orders": trials * orders,
                     **{k: int(df[k].sum()) for k in INCONSISTENCIES},
                     "total": int(df["total"].sum()),
                     "trials_with_any": int((df["total"] > 0).sum())})
    return pd.DataFrame(rows)
