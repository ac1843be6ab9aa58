"""The experiments of notebook 03, as tables: timelines, load sweeps, simulation vs Erlang C.

Each function returns a DataFrame whose every row says whether it is ``simulated`` or
``measured``; the plots in :mod:`ecomlab.processing.plots` draw these tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ecomlab import validate
from ecomlab.measure import Result
from ecomlab.processing.pipeline import Pipeline, make_pipeline
from ecomlab.processing.simulate import simulate_processing
from ecomlab.sim.mmc import simulate_queue

__all__ = ["compare_modes", "erlang_comparison", "live_frame", "nominal_table",
           "sweep_arrival_rates", "timeline_frame"]


def timeline_frame(pipeline: Pipeline) -> pd.DataFrame:
    """One order's steps with mean latencies and no queueing: lane, step, start and end (ms).

    Lanes: ``customer waits`` (the web thread), ``background: payment``, ``background:
    inventory`` and ``handler`` (the payment-completed handler, on success).
    """
    rows: list[dict[str, object]] = []
    t = 0.0
    for step in pipeline.foreground:
        rows.append({"mode": pipeline.mode, "lane": "customer waits", "step": step.name,
                     "start_ms": t, "end_ms": t + step.mean_ms})
        t += step.mean_ms
    response = t
    join = response
    for pool, step in pipeline.background:
        rows.append({"mode": pipeline.mode, "lane": f"background: {pool}", "step": step.name,
                     "start_ms": response, "end_ms": response + step.mean_ms})
        join = max(join, response + step.mean_ms)
    t = join
    for step in pipeline.on_success:
        rows.append({"mode": pipeline.mode, "lane": "handler", "step": step.name,
                     "start_ms": t, "end_ms": t + step.mean_ms})
        t += step.mean_ms
    df = pd.DataFrame(rows)
    df["duration_ms"] = df["end_ms"] - df["start_ms"]
    df.attrs["response_ms"] = response
    df.attrs["completion_ms"] = t
    return df


def compare_modes(*, orders: int = 2000, arrival_rate: float = 5.0, seed: int = 42,
                  distribution: str = "exponential", failure_probability: float = 0.0
                  ) -> pd.DataFrame:
    """Both modes simulated on the same load: response, completion and success (one row each)."""
    rows = []
    for mode in ("sync", "async"):
        r = simulate_processing(mode, orders=orders, arrival_rate=arrival_rate, seed=seed,
                                distribution=distribution,
                                failure_probability=failure_probability)
        m = r.metrics
        rows.append({
            "mode": mode, "label": r.label, "arrival_rate": arrival_rate,
            "response_p50_ms": m["response_ms"]["p50"], "response_p95_ms": m["response_ms"]["p95"],
            "response_p99_ms": m["response_ms"]["p99"],
            "completion_p50_ms": m["completion_ms"]["p50"],
            "completion_p99_ms": m["completion_ms"]["p99"],
            "success_rate": m["success_rate"],
            "charged_not_confirmed": m["charged_not_confirmed"],
            "saturation_rate_per_s": m["saturation_rate_per_s"],
        })
    return pd.DataFrame(rows)


def sweep_arrival_rates(rates: Sequence[float] | None = None, *, orders: int = 2000,
                        seed: int = 42, distribution: str = "exponential",
                        engine: str = "fast") -> pd.DataFrame:
    """Simulate both modes at each arrival rate (orders/s); percentiles in ms, one row each.

    The default rates run from light load to past the saturation of both pipelines (8 orders/s
    for sync: 16 web threads x 2 s; 10 orders/s for async: 8 payment workers x 0.8 s). Past
    saturation the queue grows for as long as orders keep coming, so those figures depend on
    ``orders`` (the run's length); they are flagged ``saturated``. The same seed gives the
    same latencies at every rate (common random numbers), so differences between rates come
    from queueing alone. ``engine="fast"`` (the default) gives SimPy's schedule on the same
    draws (held equal by the tests) in a fraction of the time.
    """
    if rates is None:
        rates = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 7.5, 8.5, 9.0, 9.5, 10.5, 12.0)
    checked = [validate.number("arrival_rate", r, minimum=0.0, min_inclusive=False)
               for r in rates]
    rows = []
    jobs = [(mode, r) for mode in ("sync", "async") for r in checked]
    for mode, rate in jobs:
        res = simulate_processing(mode, orders=orders, arrival_rate=rate, seed=seed,
                                  distribution=distribution, engine=engine)
        m = res.metrics
        busiest = max(p["utilization"] for p in m["pools"].values())
        rows.append({
            "mode": mode, "label": res.label, "arrival_rate": rate,
            "offered_load": m["offered_load"], "saturated": m["offered_load"] >= 1.0,
            "response_p50_ms": m["response_ms"]["p50"], "response_p95_ms": m["response_ms"]["p95"],
            "completion_p50_ms": m["completion_ms"]["p50"],
            "completion_p95_ms": m["completion_ms"]["p95"],
            "busiest_pool_utilization": busiest, "throughput_per_s": m["throughput_per_s"],
        })
    return pd.DataFrame(rows)


def erlang_comparison(utilizations: Sequence[float] = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95), *,
                      workers: int = 4, service_rate: float = 1.0, customers: int = 50_000,
                      seed: int = 42, engine: str = "simpy") -> pd.DataFrame:
    """Simulated M/M/c mean wait beside the Erlang C formula at each utilization (s)."""
    rows = []
    for rho in utilizations:
        u = validate.number("utilization", rho, minimum=0.0, maximum=1.0, min_inclusive=False,
                            max_inclusive=False)
        lam = u * workers * service_rate
        r = simulate_queue(lam, service_rate, workers, customers=customers, seed=seed,
                           engine=engine)
        m = r.metrics
        ref = m["erlang_c"]
        rows.append({
            "utilization": u, "label": r.label, "arrival_rate": lam,
            "sim_mean_wait_s": m["mean_wait_s"], "erlang_c_mean_wait_s": ref["mean_wait_s"],
            "relative_error": ref["relative_error_mean_wait"],
            "sim_p95_wait_s": m["p95_wait_s"], "erlang_c_p95_wait_s": ref["p95_wait_s"],
            "sim_L": m["mean_in_system"],
            "lambda_times_W": m["throughput_per_s"] * m["mean_response_s"],
            "littles_law_gap": m["littles_law_gap"],
        })
    df = pd.DataFrame(rows)
    df.attrs["workers"] = workers
    df.attrs["customers"] = customers
    df.attrs["service_rate"] = service_rate
    return df


def nominal_table() -> pd.DataFrame:
    """What each mode's customer waits for, when the order is final (ms, mean latencies, no
    queueing) and how many orders/s each pool can carry (``-``: the mode has no such pool)."""
    rows = []
    for mode in ("sync", "async"):
        pipe = make_pipeline(mode)
        cap = pipe.capacity_per_s()
        row: dict[str, object] = {"mode": mode, "response_ms": pipe.nominal_response_ms,
                                  "completion_ms": pipe.nominal_completion_ms}
        for pool in ("web", "payment", "inventory", "handler"):
            row[f"{pool}_orders_per_s"] = f"{cap[pool]:.2f}" if pool in cap else "-"
        row["saturation_rate_per_s"] = pipe.saturation_rate()
        rows.append(row)
    return pd.DataFrame(rows).set_index("mode")


def live_frame(results: dict[str, Result]) -> pd.DataFrame:
    """Measured live runs beside the simulation of the same draws (model ms), one row per mode."""
    rows = []
    for mode, r in results.items():
        m = r.metrics
        sim = m["simulated_same_draws"]
        rows.append({
            "mode": mode, "label": r.label, "time_scale": r.params["time_scale"],
            "orders": m["orders"],
            "response_p50_ms": m["response_ms"]["p50"],
            "sim_response_p50_ms": sim["response_ms"]["p50"],
            "response_p99_ms": m["response_ms"]["p99"],
            "completion_p50_ms": m["completion_ms"]["p50"],
            "sim_completion_p50_ms": sim["completion_ms"]["p50"],
            "wall_response_p50_ms": m["wall_response_ms"]["p50"],
            "success_rate": m["success_rate"],
            "sim_success_rate": sim["success_rate"],
            "db_confirmed": m["db_status_counts"].get("confirmed", 0),
            "db_confirmed_matches": m["db_confirmed_matches"],
            "sql": r.backends.get("sql", {}).get("backend"),
            "broker": r.backends.get("broker", {}).get("backend", "(none)"),
        })
    return pd.DataFrame(rows).set_index("mode")
