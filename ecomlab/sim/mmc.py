"""An M/M/c queue in SimPy (virtual time), and the experiment that holds it against Erlang C.

Customers arrive as a Poisson stream (``arrival_rate`` per s) and are served first come, first
served by ``workers`` identical servers with exponential service times (``service_rate`` per s).
All random draws come from ``numpy.random.default_rng(seed)`` before the run, so a seed gives the
same numbers every time. Statistics skip a warm-up (the first 10% of customers by default) to
drop the empty-start bias, and Little's law is checked on the same window.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ecomlab import budget, validate
from ecomlab.measure import Result
from ecomlab.sim.fcfs import fcfs_starts
from ecomlab.sim.queueing import MAX_WORKERS, littles_law_gap, mmc_figures

__all__ = ["QUEUE_ENGINES", "QueueStats", "run_mmc", "simulate_queue", "summarize_queue"]

FloatArray = npt.NDArray[np.float64]

QUEUE_ENGINES: tuple[str, ...] = ("simpy", "fast")
#: the most customers one call simulates (about 10 events each)
MAX_CUSTOMERS = 5_000_000


@dataclass(frozen=True)
class QueueStats:
    """Figures of one simulated queue over its measurement window (times in s)."""

    customers: int
    mean_wait_s: float
    p95_wait_s: float
    mean_response_s: float
    utilization: float
    throughput_per_s: float
    mean_in_system: float
    littles_law_gap: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def run_mmc(interarrivals: FloatArray, services: FloatArray, workers: int
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Run the SimPy model on given draws.

    Args:
        interarrivals: time between consecutive arrivals (s).
        services: service durations (s), one per customer.
        workers: servers sharing one FIFO queue.

    Returns:
        ``(arrivals, starts, departures)`` per customer (s of virtual time).
    """
    import simpy

    c = validate.integer("workers", workers, minimum=1, maximum=MAX_WORKERS)
    gaps = np.asarray(interarrivals, dtype=float).tolist()
    svc = np.asarray(services, dtype=float).tolist()
    n = len(gaps)
    arrivals = [0.0] * n
    starts = [0.0] * n
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    timeout = env.timeout

    def customer(i: int) -> Generator[Any, Any, None]:
        req = server.request()
        yield req
        starts[i] = env.now
        yield timeout(svc[i])
        server.release(req)

    def source() -> Generator[Any, Any, None]:
        process = env.process
        for i in range(n):
            yield timeout(gaps[i])
            arrivals[i] = env.now
            process(customer(i))

    env.process(source())
    env.run()
    a = np.asarray(arrivals)
    s = np.asarray(starts)
    return a, s, s + np.asarray(svc)


def summarize_queue(arrivals: FloatArray, starts: FloatArray, departures: FloatArray,
                    workers: int, warmup_fraction: float = 0.1) -> QueueStats:
    """Statistics of a run over the window from the first counted arrival to the last arrival.

    Waits and responses are those of customers arriving in the window; utilization, throughput
    and the time-average number in system are measured over the window itself, so Little's law
    ``L = lambda * W`` is a real check, not an identity.
    """
    n = arrivals.size
    first = int(n * warmup_fraction)
    t0, t1 = float(arrivals[first]), float(arrivals[-1])
    span = t1 - t0
    sel = slice(first, n)
    waits = starts[sel] - arrivals[sel]
    responses = departures[sel] - arrivals[sel]
    # time-average number in system and busy servers over [t0, t1]
    in_sys = np.clip(np.minimum(departures, t1) - np.maximum(arrivals, t0), 0.0, None).sum()
    busy = np.clip(np.minimum(departures, t1) - np.maximum(starts, t0), 0.0, None).sum()
    counted = n - first - 1  # arrivals strictly after t0 up to t1
    throughput = counted / span if span > 0 else float("nan")
    mean_in_system = float(in_sys / span) if span > 0 else float("nan")
    mean_resp = float(responses.mean())
    return QueueStats(
        customers=int(n - first),
        mean_wait_s=float(waits.mean()),
        p95_wait_s=float(np.percentile(waits, 95)),
        mean_response_s=mean_resp,
        utilization=float(busy / (workers * span)) if span > 0 else float("nan"),
        throughput_per_s=throughput,
        mean_in_system=mean_in_system,
        littles_law_gap=littles_law_gap(mean_in_system, throughput, mean_resp),
    )


def simulate_queue(arrival_rate: float, service_rate: float, workers: int, *,
                   customers: int = 20_000, seed: int = 42, replications: int = 1,
                   warmup_fraction: float = 0.1, engine: str = "simpy") -> Result:
    """Simulate an M/M/c queue in SimPy and compare it with the Erlang C closed form.

    Args:
        arrival_rate: Poisson arrivals per second (> 0).
        service_rate: completions per second of one worker (> 0).
        workers: number of workers (>= 1).
        customers: customers per replication (100 .. 5,000,000).
        seed: the seed of every draw; replications use independent child seeds.
        replications: independent runs averaged together (1 .. 100).
        warmup_fraction: share of each run's first customers left out of the statistics.
        engine: ``simpy`` (the event-by-event model) or ``fast`` (the FCFS recursion of
            :mod:`ecomlab.sim.fcfs`, which gives the same schedule on the same draws).

    Returns:
        A ``simulated`` Result: ``mean_wait_s, p95_wait_s, mean_response_s, utilization,
        throughput_per_s, mean_in_system, littles_law_gap`` averaged over replications, their
        spread, and ``erlang_c`` (the closed form and the simulation's relative error).

    Raises:
        InvalidInput: non-positive rates, zero workers, utilization >= 1 (no steady state to
            compare with), or sizes out of range.
    """
    closed = mmc_figures(arrival_rate, service_rate, workers)
    n = validate.integer("customers", customers, minimum=100, maximum=MAX_CUSTOMERS)
    reps = validate.integer("replications", replications, minimum=1, maximum=100)
    seed = validate.integer("seed", seed, minimum=0)
    warm = validate.number("warmup_fraction", warmup_fraction, minimum=0.0, maximum=0.5)
    engine = validate.choice("engine", engine, QUEUE_ENGINES)
    runs: list[QueueStats] = []
    for child in np.random.SeedSequence(seed).spawn(reps):
        rng = np.random.default_rng(child)
        gaps = rng.exponential(1.0 / closed.arrival_rate, n)
        svc = rng.exponential(1.0 / closed.service_rate, n)
        if engine == "simpy":
            a, s, d = run_mmc(gaps, svc, closed.workers)
        else:
            a = np.cumsum(gaps)
            s = fcfs_starts(a, svc, closed.workers)
            d = s + svc
        runs.append(summarize_queue(a, s, d, closed.workers, warm))
        budget.advance(n)  # the command line's progress and Ctrl-C report
    keys = [k for k in QueueStats.__dataclass_fields__ if k != "customers"]
    metrics: dict[str, Any] = {k: float(np.mean([getattr(r, k) for r in runs])) for k in keys}
    if reps > 1:
        metrics["spread"] = {k: float(np.std([getattr(r, k) for r in runs], ddof=1))
                             for k in ("mean_wait_s", "mean_response_s")}
    ref = closed.as_dict()
    ref["relative_error_mean_wait"] = (
        abs(metrics["mean_wait_s"] - closed.mean_wait_s) / closed.mean_wait_s
        if closed.mean_wait_s > 0 else 0.0)
    ref["relative_error_mean_response"] = (
        abs(metrics["mean_response_s"] - closed.mean_response_s) / closed.mean_response_s)
    metrics["erlang_c"] = ref
    metrics["counted_customers"] = sum(r.customers for r in runs)
    params = {"arrival_rate": closed.arrival_rate, "service_rate": closed.service_rate,
              "workers": closed.workers, "customers": n, "replications": reps,
              "warmup_fraction": warm}
    return Result(experiment="queue", label="simulated", seed=seed, params=params,
                  metrics=metrics, backends={"engine": engine})
