"""Order processing in virtual time: a SimPy model and a lean equivalent for big runs.

Both engines take the same :class:`~ecomlab.processing.pipeline.Draws` and produce the same
:class:`Timeline` (tests hold them equal to 1e-9 s): orders arrive as a Poisson stream, wait for
a web thread, run the foreground steps; in the asynchronous mode the payment and inventory tasks
then queue for their own consumers in parallel, and once both are done the payment-completed
handler (its own pool) confirms and emails, or cancels.

* ``simpy`` — processes, ``Resource`` pools and ``AllOf`` joins, one event at a time.
* ``fast`` — every pool is a first-come-first-served station, so each one's schedule follows from
  the Kiefer-Wolfowitz recursion (:mod:`ecomlab.sim.fcfs`) in one pass over its arrivals.

Every figure is labelled ``simulated``.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ecomlab import validate
from ecomlab.measure import LatencySummary, Result
from ecomlab.processing.choices import ENGINES
from ecomlab.processing.pipeline import Draws, Pipeline, draw, make_pipeline
from ecomlab.sim.fcfs import station_departures

__all__ = [
    "ENGINES",
    "PoolTrace",
    "Timeline",
    "run_fast",
    "run_simpy",
    "simulate_processing",
    "summarize_timeline",
]

#: above this many orders, ``engine="auto"`` uses the lean engine
AUTO_FAST_ABOVE = 50_000
MAX_ORDERS = 5_000_000
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class PoolTrace:
    """When each job arrived at, started on, and left one pool (s; NaN = never came)."""

    workers: int
    arrivals: FloatArray
    starts: FloatArray
    departures: FloatArray


@dataclass
class Timeline:
    """Per-order outcome of a simulated run (times in s of virtual time).

    Attributes:
        arrivals: when each order arrived.
        response: how long the customer waited for the response.
        completion: how long until the order was final (confirmed or cancelled).
        confirmed: the order was confirmed.
        charged: the payment step succeeded (money was taken).
        email_failed: the confirmation email failed (orders still confirmed).
        pools: per pool name, its queueing trace.
    """

    arrivals: FloatArray
    response: FloatArray
    completion: FloatArray
    confirmed: BoolArray
    charged: BoolArray
    email_failed: BoolArray
    pools: dict[str, PoolTrace]


def _sequence(lat: Sequence[FloatArray], failed: Sequence[BoolArray],
              essential: Sequence[bool]) -> tuple[FloatArray, BoolArray, list[BoolArray]]:
    """Run steps in order: (duration, no essential failure, which steps ran) per order."""
    n = lat[0].size if lat else 0
    dur = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    ran: list[BoolArray] = []
    for values, f, ess in zip(lat, failed, essential, strict=True):
        ran.append(alive.copy())
        dur = dur + np.where(alive, values, 0.0)
        if ess:
            alive = alive & ~f
    return dur, alive, ran


def _split(pipeline: Pipeline, draws: Draws) -> dict[str, tuple[list[FloatArray],
                                                               list[BoolArray], list[bool]]]:
    parts: dict[str, tuple[list[FloatArray], list[BoolArray], list[bool]]] = {}
    i = 0
    groups = [("foreground", pipeline.foreground)]
    groups += [(f"bg:{pool}", (step,)) for pool, step in pipeline.background]
    groups += [("on_success", pipeline.on_success), ("on_failure", pipeline.on_failure)]
    for key, steps in groups:
        k = len(steps)
        parts[key] = (list(draws.latency_s[i:i + k]), list(draws.failed[i:i + k]),
                      [s.essential for s in steps])
        i += k
    return parts


def _step_index(steps: Sequence[Any], name: str) -> int:
    return next(i for i, s in enumerate(steps) if s.name == name)


def run_fast(pipeline: Pipeline, draws: Draws) -> Timeline:
    """The lean engine: each pool as a FCFS station, computed by recursion."""
    n = draws.orders
    arr = draws.arrivals_s
    parts = _split(pipeline, draws)
    fg_lat, fg_fail, fg_ess = parts["foreground"]
    fg_dur, fg_ok, fg_ran = _sequence(fg_lat, fg_fail, fg_ess)
    pools: dict[str, PoolTrace] = {}
    w_start, w_dep = station_departures(arr, fg_dur, pipeline.pools["web"])
    pools["web"] = PoolTrace(pipeline.pools["web"], arr, w_start, w_dep)
    response = w_dep - arr
    nan = np.full(n, np.nan)
    if pipeline.mode == "sync":
        pay = _step_index(pipeline.foreground, "payment")
        charged = fg_ran[pay] & ~fg_fail[pay]
        return Timeline(arr, response, response.copy(), fg_ok, charged,
                        np.zeros(n, dtype=bool), pools)
    idx = np.flatnonzero(fg_ok)
    join = w_dep[idx].copy()
    bg_ok = np.ones(idx.size, dtype=bool)
    charged = np.zeros(n, dtype=bool)
    for pool, _step in pipeline.background:
        lat, failed, _ = parts[f"bg:{pool}"]
        start, dep = station_departures(w_dep[idx], lat[0][idx], pipeline.pools[pool])
        pools[pool] = PoolTrace(pipeline.pools[pool], _scatter(n, idx, w_dep[idx], nan),
                                _scatter(n, idx, start, nan), _scatter(n, idx, dep, nan))
        join = np.maximum(join, dep)
        bg_ok &= ~failed[0][idx]
        if pool == "payment":
            charged[idx] = ~failed[0][idx]
    s_lat, s_fail, s_ess = parts["on_success"]
    f_lat, f_fail, f_ess = parts["on_failure"]
    s_dur, s_ok, s_ran = _sequence([x[idx] for x in s_lat], [x[idx] for x in s_fail], s_ess)
    f_dur, _, _ = _sequence([x[idx] for x in f_lat], [x[idx] for x in f_fail], f_ess)
    h_svc = np.where(bg_ok, s_dur, f_dur)
    h_start, h_dep = station_departures(join, h_svc, pipeline.pools["handler"])
    pools["handler"] = PoolTrace(pipeline.pools["handler"], _scatter(n, idx, join, nan),
                                 _scatter(n, idx, h_start, nan), _scatter(n, idx, h_dep, nan))
    completion = response.copy()
    completion[idx] = h_dep - arr[idx]
    confirmed = np.zeros(n, dtype=bool)
    confirmed[idx] = bg_ok & s_ok
    email = _step_index(pipeline.on_success, "confirmation email")
    email_failed = np.zeros(n, dtype=bool)
    email_failed[idx] = bg_ok & s_ran[email] & s_fail[email][idx]
    return Timeline(arr, response, completion, confirmed, charged, email_failed, pools)


def _scatter(n: int, idx: npt.NDArray[np.intp], values: FloatArray,
             fill: FloatArray) -> FloatArray:
    out = fill.copy()
    out[idx] = values
    return out


def _step_lists(pipeline: Pipeline, draws: Draws
                ) -> tuple[dict[str, list[list[float]]], dict[str, list[list[bool]]],
                           dict[str, list[bool]]]:
    """Per step sequence: each step's latencies (s) and failures as Python lists (SimPy reads
    them one order at a time), and whether each step is essential."""
    parts = _split(pipeline, draws)
    lat = {k: [a.tolist() for a in v[0]] for k, v in parts.items()}
    fail = {k: [a.tolist() for a in v[1]] for k, v in parts.items()}
    ess = {k: v[2] for k, v in parts.items()}
    return lat, fail, ess


def run_simpy(pipeline: Pipeline, draws: Draws) -> Timeline:
    """The SimPy engine: one process per order, a ``Resource`` per pool, ``AllOf`` joins."""
    import simpy

    n = draws.orders
    env = simpy.Environment()
    res = {name: simpy.Resource(env, capacity=size) for name, size in pipeline.pools.items()}
    lat, fail, ess = _step_lists(pipeline, draws)
    arrivals = draws.arrivals_s.tolist()
    trace = {name: ([np.nan] * n, [np.nan] * n, [np.nan] * n) for name in pipeline.pools}
    response = [0.0] * n
    completion = [0.0] * n
    confirmed = [False] * n
    charged = [False] * n
    email_failed = [False] * n
    pay_fg = (_step_index(pipeline.foreground, "payment") if pipeline.mode == "sync" else -1)
    email_i = (_step_index(pipeline.on_success, "confirmation email")
               if pipeline.on_success else -1)
    timeout = env.timeout

    def steps(key: str, i: int, ran: list[bool]) -> Generator[Any, Any, bool]:
        ok = True
        for j, essential in enumerate(ess[key]):
            ran.append(True)
            yield timeout(lat[key][j][i])
            if essential and fail[key][j][i]:
                ok = False
                break
        return ok

    def in_pool(pool: str, i: int, key: str, ran: list[bool]) -> Generator[Any, Any, bool]:
        req = res[pool].request()
        trace[pool][0][i] = env.now
        yield req
        trace[pool][1][i] = env.now
        ok: bool = yield env.process(steps(key, i, ran))
        trace[pool][2][i] = env.now
        res[pool].release(req)
        return ok

    def order(i: int) -> Generator[Any, Any, None]:
        ran: list[bool] = []
        ok = yield env.process(in_pool("web", i, "foreground", ran))
        response[i] = env.now - arrivals[i]
        if pipeline.mode == "sync":
            charged[i] = len(ran) > pay_fg and not fail["foreground"][pay_fg][i]
            confirmed[i] = ok
            completion[i] = response[i]
            return
        if not ok:
            completion[i] = response[i]
            return
        tasks = [env.process(in_pool(pool, i, f"bg:{pool}", [])) for pool, _ in
                 pipeline.background]
        results = yield simpy.AllOf(env, tasks)
        bg_ok = all(results[t] for t in tasks)
        charged[i] = not fail["bg:payment"][0][i]
        done: list[bool] = []
        key = "on_success" if bg_ok else "on_failure"
        h_ok = yield env.process(in_pool("handler", i, key, done))
        confirmed[i] = bg_ok and h_ok
        email_failed[i] = bg_ok and len(done) > email_i and bool(fail[key][email_i][i])
        completion[i] = env.now - arrivals[i]

    def source() -> Generator[Any, Any, None]:
        now = 0.0
        for i in range(n):
            yield timeout(arrivals[i] - now)
            now = arrivals[i]
            env.process(order(i))

    env.process(source())
    env.run()
    pools = {name: PoolTrace(pipeline.pools[name], *(np.asarray(x, dtype=float) for x in t))
             for name, t in trace.items() if not np.all(np.isnan(t[0]))}
    arr = draws.arrivals_s
    return Timeline(arr, np.asarray(response), np.asarray(completion), np.asarray(confirmed),
                    np.asarray(charged), np.asarray(email_failed), pools)


def _pool_stats(trace: PoolTrace, span: float) -> dict[str, float | int]:
    came = ~np.isnan(trace.arrivals)
    a, s, d = trace.arrivals[came], trace.starts[came], trace.departures[came]
    waits = s - a
    # queue length over time: +1 when a job arrives, -1 when it starts service
    times = np.concatenate([a, s])
    steps = np.concatenate([np.ones(a.size), -np.ones(s.size)])
    order = np.lexsort((steps, times))  # at equal times, starts (-1) before arrivals (+1)
    qlen = np.cumsum(steps[order])
    return {
        "workers": trace.workers,
        "jobs": int(a.size),
        "utilization": float((d - s).sum() / (trace.workers * span)) if span > 0 else 0.0,
        "mean_wait_ms": float(waits.mean() * 1000.0) if a.size else 0.0,
        "p99_wait_ms": float(np.percentile(waits, 99) * 1000.0) if a.size else 0.0,
        "mean_queue_length": float(waits.sum() / span) if span > 0 else 0.0,
        "max_queue_length": int(qlen.max()) if qlen.size else 0,
    }


def summarize_timeline(tl: Timeline) -> dict[str, Any]:
    """The run's figures: response and completion percentiles (ms), rates, per-pool queues."""
    n = tl.arrivals.size
    end = float(np.nanmax(tl.arrivals + tl.completion))
    span = end - float(tl.arrivals[0]) if n else 0.0
    confirmed = int(tl.confirmed.sum())
    return {
        "orders": int(n),
        "response_ms": LatencySummary.of_ms(tl.response * 1000.0).as_dict(),
        "completion_ms": LatencySummary.of_ms(tl.completion * 1000.0).as_dict(),
        "success_rate": confirmed / n if n else 0.0,
        "confirmed": confirmed,
        "charged_not_confirmed": int((tl.charged & ~tl.confirmed).sum()),
        "email_failures_after_confirmation": int(tl.email_failed.sum()),
        "throughput_per_s": confirmed / span if span > 0 else 0.0,
        "simulated_span_s": span,
        "pools": {name: _pool_stats(tr, span) for name, tr in tl.pools.items()},
    }


def simulate_processing(mode: str = "async", *, orders: int = 2000, arrival_rate: float = 5.0,
                        seed: int = 42, distribution: str = "exponential",
                        failure_probability: float = 0.0, pools: dict[str, int] | None = None,
                        engine: str = "auto") -> Result:
    """Simulate ``orders`` orders through the ``sync`` or ``async`` pipeline in virtual time.

    Args:
        mode: ``sync`` or ``async``.
        orders: orders to simulate (1 .. 5,000,000).
        arrival_rate: Poisson arrivals (orders/s, > 0).
        seed: seed of every draw.
        distribution: step latencies ``constant``, ``exponential`` or ``lognormal``.
        failure_probability: chance each step fails, in [0, 1).
        pools: worker threads per pool (``web``, ``payment``, ``inventory``, ``handler``).
        engine: ``simpy``, ``fast`` or ``auto`` (SimPy up to 50,000 orders).

    Returns:
        A ``simulated`` Result with ``response_ms``, ``completion_ms``, ``success_rate``,
        ``throughput_per_s``, per-pool utilization and queue lengths.
    """
    engine = validate.choice("engine", engine, ENGINES)
    n = validate.integer("orders", orders, minimum=1, maximum=MAX_ORDERS)
    pipe = make_pipeline(mode, distribution=distribution,
                         failure_probability=failure_probability, pools=pools)
    draws = draw(pipe, n, arrival_rate, seed)
    use = engine if engine != "auto" else ("fast" if n > AUTO_FAST_ABOVE else "simpy")
    tl = run_simpy(pipe, draws) if use == "simpy" else run_fast(pipe, draws)
    metrics = summarize_timeline(tl)
    metrics["saturation_rate_per_s"] = pipe.saturation_rate()
    metrics["offered_load"] = float(arrival_rate) / pipe.saturation_rate()
    metrics["nominal_response_ms"] = pipe.nominal_response_ms
    metrics["nominal_completion_ms"] = pipe.nominal_completion_ms
    params = {"mode": mode, "orders": n, "arrival_rate": float(arrival_rate),
              "distribution": distribution, "failure_probability": float(failure_probability),
              "pools": dict(pipe.pools)}
    return Result(experiment="processing", label="simulated", seed=seed, params=params,
                  metrics=metrics, backends={"engine": use})
