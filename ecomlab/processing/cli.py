"""``ecomlab simulate queue`` and ``ecomlab run processing``.

::

    ecomlab simulate queue --arrival-rate 3.6 --service-rate 1 --workers 4 --customers 50000 --json
    ecomlab run processing --mode async --orders 200 --arrival-rate 5 --seed 42 --json
    ecomlab run processing --mode sync --orders 100000 --arrival-rate 5 --simulate --json
"""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab.errors import InvalidInput
from ecomlab.processing.choices import DISTRIBUTIONS, ENGINES, MODES

__all__ = ["register"]


def _queue(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.sim.mmc import simulate_queue

    return simulate_queue(args.arrival_rate, args.service_rate, args.workers,
                          customers=args.customers, seed=args.seed,
                          replications=args.replications, engine=args.engine).flat()


def _processing(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.processing.experiment import run_processing
    from ecomlab.processing.simulate import simulate_processing

    if args.simulate:
        return simulate_processing(args.mode, orders=args.orders, arrival_rate=args.arrival_rate,
                                   seed=args.seed, distribution=args.distribution,
                                   failure_probability=args.failure_probability,
                                   engine=args.engine or "auto").flat()
    if args.engine is not None:
        raise InvalidInput(f"--engine {args.engine!r} applies only with --simulate (a live run "
                           f"has no simulation engine)")
    return run_processing(args.mode, orders=args.orders, arrival_rate=args.arrival_rate,
                          seed=args.seed, time_scale=args.time_scale,
                          distribution=args.distribution,
                          failure_probability=args.failure_probability,
                          timeout_s=args.timeout).flat()


def register(run: Any, simulate: Any) -> None:
    """Add ``simulate queue`` and ``run processing`` to the command line."""
    from ecomlab import cli

    q = simulate.add_parser(
        "queue", help="an M/M/c queue in SimPy, beside the Erlang C formula",
        description="Simulate an M/M/c queue (Poisson arrivals, exponential service, c "
                    "workers) and compare it with Erlang C. Prints mean_wait_s, p95_wait_s, "
                    "mean_response_s, utilization, throughput_per_s (label: simulated).")
    q.add_argument("--arrival-rate", type=cli.number_arg, required=True,
                   help="arrivals per second (> 0)")
    q.add_argument("--service-rate", type=cli.number_arg, required=True,
                   help="completions per second of one worker (> 0)")
    q.add_argument("--workers", type=cli.int_arg, required=True, help="number of workers (>= 1)")
    q.add_argument("--customers", type=cli.int_arg, default=20_000,
                   help="customers per replication (default 20000)")
    q.add_argument("--replications", type=cli.int_arg, default=1,
                   help="independent runs averaged (default 1)")
    q.add_argument("--engine", default="simpy", choices=("simpy", "fast"),
                   help="simpy (event by event) or fast (same schedule by recursion)")
    cli.add_seed_flag(q)
    cli.add_json_flag(q)
    q.set_defaults(func=_queue)

    p = run.add_parser(
        "processing", help="sync vs async order processing (measured live, or --simulate)",
        description="Process orders through the synchronous or asynchronous pipeline: live "
                    "with real threads, database writes and a broker, time scaled down "
                    "(label: measured), or in virtual time with --simulate (label: "
                    "simulated). Prints response_ms, completion_ms, success_rate.")
    p.add_argument("--mode", required=True, choices=MODES, help="sync or async")
    p.add_argument("--orders", type=cli.int_arg, default=200,
                   help="orders to process (default 200)")
    p.add_argument("--arrival-rate", type=cli.number_arg, default=5.0,
                   help="Poisson arrivals per second of model time (default 5)")
    p.add_argument("--time-scale", type=cli.number_arg, default=0.05,
                   help="wall seconds per model second in a live run (default 0.05)")
    p.add_argument("--simulate", action="store_true",
                   help="simulate in virtual time instead of running live")
    p.add_argument("--distribution", default="exponential", choices=DISTRIBUTIONS,
                   help="step latencies (default exponential)")
    p.add_argument("--failure-probability", type=cli.number_arg, default=0.0,
                   help="chance each step fails, in [0, 1) (default 0)")
    p.add_argument("--engine", default=None, choices=ENGINES,
                   help="with --simulate only (default auto)")
    p.add_argument("--timeout", type=cli.number_arg, default=120.0,
                   help="wall-clock limit of a live run (s, default 120)")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_processing)
