"""Benchmark of topic 03's simulators (run on demand: ``.venv/bin/python benchmarks/bench_sim.py``).

1. Events per second of our M/M/c model (``ecomlab.sim.simulate_queue``: numpy draws, SimPy run,
   warm-up and statistics) against a bare textbook SimPy model of the same queue (``random``
   draws, one process per customer, waits appended to a list). Target: overhead <= 25%.
2. 1,000,000 simulated orders through the asynchronous pipeline. Target: <= 60 s. The lean
   engine (FCFS recursion per pool) is timed on the full million; the SimPy engine, which gives
   the same schedule, is timed on 100,000 orders and its 1,000,000 time extrapolated (stated).

Figures are wall-clock on this machine (label: measured); the simulated orders are virtual.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Generator
from typing import Any

import simpy
from _table import emit

from ecomlab.processing import simulate_processing
from ecomlab.sim import simulate_queue


def bare_simpy_mmc(arrival_rate: float, service_rate: float, workers: int, customers: int,
                   seed: int) -> float:
    """The textbook SimPy M/M/c model; returns the mean wait (s)."""
    rnd = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=workers)
    waits: list[float] = []

    def customer() -> Generator[Any, Any, None]:
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rnd.expovariate(service_rate))

    def source() -> Generator[Any, Any, None]:
        for _ in range(customers):
            yield env.timeout(rnd.expovariate(arrival_rate))
            env.process(customer())

    env.process(source())
    env.run()
    return sum(waits) / len(waits)


def count_events(run: Callable[[], object]) -> int:
    """Events SimPy processes during ``run()`` (counted once, on a separate run)."""
    original = simpy.Environment.step
    counter = [0]

    def step(self: simpy.Environment) -> None:
        counter[0] += 1
        original(self)

    simpy.Environment.step = step  # type: ignore[method-assign]
    try:
        run()
    finally:
        simpy.Environment.step = original  # type: ignore[method-assign]
    return counter[0]


def best_of(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def ciw_beside(lam: float, mu: float, c: int, customers: int) -> None:
    """Ciw (a queueing-network library) on the same M/M/c: speed and mean wait vs Erlang C."""
    try:
        import ciw
    except ImportError:
        print("  Ciw: not installed (pip install -c constraints.txt -e '.[dev]')")
        return
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=mu)], number_of_servers=[c])
    ciw.seed(1)
    t = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    t_ciw = time.perf_counter() - t
    records = sim.get_all_records()
    warm = len(records) // 10  # the same warm-up share as ours
    waits = [r.waiting_time for r in sorted(records, key=lambda r: r.arrival_date)[warm:]]
    ciw_wait = sum(waits) / len(waits)
    t = time.perf_counter()
    ours = simulate_queue(lam, mu, c, customers=customers, seed=1)
    t_ours = time.perf_counter() - t
    closed = ours.metrics["erlang_c"]
    exact = closed["mean_wait_s"] if isinstance(closed, dict) else None
    our_wait = ours.metrics["mean_wait_s"]
    print(f"  Ciw {ciw.__version__}: {customers:,} customers in {t_ciw:.2f} s; ecomlab "
          f"{t_ours:.2f} s ({t_ciw / t_ours:.1f}x faster); mean wait Ciw {ciw_wait:.3f} s, "
          f"ecomlab {our_wait:.3f} s, Erlang C {exact if exact is None else f'{exact:.3f}'} s")
    emit(f"M/M/{c} customers/s vs Ciw", customers / t_ours, "customers/s", label="measured",
         anchor=f"Ciw {ciw.__version__}, same queue", anchor_value=customers / t_ciw,
         target="reported (no target)")
    if exact:
        for who, wait in (("ecomlab", our_wait), (f"Ciw {ciw.__version__}", ciw_wait)):
            emit(f"M/M/{c} mean wait, {who}", wait, "s", label="simulated",
                 anchor="Erlang C closed form", anchor_value=exact, target="within 10%",
                 met=abs(wait / exact - 1) <= 0.10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ciw-customers", type=int, default=100_000)
    args = parser.parse_args()
    lam, mu, c, n = 3.2, 1.0, 4, args.customers

    ours = lambda: simulate_queue(lam, mu, c, customers=n, seed=1)  # noqa: E731
    bare = lambda: bare_simpy_mmc(lam, mu, c, n, seed=1)  # noqa: E731
    ev_ours, ev_bare = count_events(ours), count_events(bare)
    t_ours, t_bare = best_of(ours, args.repeats), best_of(bare, args.repeats)
    rate_ours, rate_bare = ev_ours / t_ours, ev_bare / t_bare
    overhead = rate_bare / rate_ours - 1.0
    print(f"M/M/{c} at rho = {lam / (c * mu):.2f}, {n:,} customers, best of {args.repeats} "
          f"(measured, wall clock)")
    print(f"  bare SimPy : {ev_bare:>10,} events in {t_bare:6.2f} s = {rate_bare:>10,.0f} ev/s")
    print(f"  ecomlab    : {ev_ours:>10,} events in {t_ours:6.2f} s = {rate_ours:>10,.0f} ev/s "
          f"(draws, run, warm-up, statistics, Erlang C)")
    print(f"  overhead   : {overhead:+.1%} per event (target <= +25%: "
          f"{'met' if overhead <= 0.25 else 'NOT met'})")
    emit(f"M/M/{c} simulator events/s", rate_ours, "events/s", label="measured",
         anchor="bare SimPy, same queue", anchor_value=rate_bare,
         target="overhead <= +25% (ratio >= 0.8)", met=overhead <= 0.25)
    ciw_beside(lam, mu, c, args.ciw_customers)
    t = time.perf_counter()
    simulate_queue(lam, mu, c, customers=n, seed=1, engine="fast")
    t_fast = time.perf_counter() - t
    print(f"  FCFS recursion, same queue: {t_fast:.2f} s ({t_ours / t_fast:.1f}x faster than "
          f"SimPy)")

    orders = args.orders
    t = time.perf_counter()
    r = simulate_processing("async", orders=orders, arrival_rate=8.0, seed=1, engine="fast")
    t_lean = time.perf_counter() - t
    m = r.metrics
    print(f"\n{orders:,} simulated orders through the async pipeline at 8 orders/s")
    print(f"  lean engine: {t_lean:.1f} s (target <= 60 s: "
          f"{'met' if t_lean <= 60 else 'NOT met'}); response p99 "
          f"{m['response_ms']['p99']:.0f} ms, completion p99 {m['completion_ms']['p99']:.0f} ms "
          f"(simulated)")
    emit(f"{orders:,} simulated orders, lean engine", t_lean, "s", label="measured",
         target="<= 60 s", met=t_lean <= 60)
    sample = min(100_000, orders)
    t = time.perf_counter()
    simulate_processing("async", orders=sample, arrival_rate=8.0, seed=1, engine="simpy")
    t_simpy = time.perf_counter() - t
    print(f"  SimPy engine: {sample:,} orders in {t_simpy:.1f} s -> about "
          f"{t_simpy * orders / sample:.0f} s for {orders:,} (extrapolated, linear); "
          f"lean engine {t_simpy * orders / sample / t_lean:.0f}x faster")


if __name__ == "__main__":
    main()
