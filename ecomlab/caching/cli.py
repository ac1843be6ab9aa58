"""``ecomlab simulate cache`` and ``ecomlab run caching``.

Values are checked by the package (``InvalidInput``: one line, exit status 2), not only by
argparse, so the widget and the command line refuse the same things.
"""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab import cli
from ecomlab.caching.choices import FIXES, POLICIES, STRATEGIES

__all__ = ["register"]


def _simulate_cache(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.caching.simulate import simulate_cache

    return simulate_cache(args.policy, capacity=args.capacity, objects=args.objects,
                          zipf=args.zipf, requests=args.requests, seed=args.seed,
                          ttl=args.ttl, rate=args.rate).flat()


def _run_caching(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.caching.experiment import run_caching

    return run_caching(args.strategy, products=args.products, zipf=args.zipf,
                       write_ratio=args.write_ratio, requests=args.requests, seed=args.seed,
                       db_latency_ms=args.db_latency_ms, threads=args.threads,
                       ttl_s=args.ttl, warm=args.warm, fix=args.fix,
                       flush_interval_ms=args.flush_interval_ms,
                       crash=not args.no_crash).flat()


def register(run: Any, simulate: Any) -> None:
    """Add ``caching`` to ``ecomlab run`` and ``cache`` to ``ecomlab simulate``."""
    p = simulate.add_parser(
        "cache", help="an LRU or TTL cache under Zipf traffic vs its closed form",
        description="Simulate a capacity-limited LRU cache (held against Che's approximation) "
                    "or a TTL cache under Poisson requests (held against λT/(1+λT)). "
                    "Label: simulated.")
    p.add_argument("--policy", default="lru", choices=POLICIES, help="(default lru)")
    p.add_argument("--capacity", type=cli.int_arg, default=100,
                   help="cache size, objects (default 100)")
    p.add_argument("--objects", type=cli.int_arg, default=1000,
                   help="distinct objects N (default 1000)")
    p.add_argument("--zipf", type=cli.number_arg, default=0.8,
                   help="Zipf exponent >= 0 (default 0.8)")
    p.add_argument("--requests", type=cli.int_arg, default=200_000,
                   help="requests simulated; the first 10%% warm up (default 200000)")
    p.add_argument("--ttl", type=cli.number_arg, default=1.0,
                   help="TTL in s, policy ttl (default 1)")
    p.add_argument("--rate", type=cli.number_arg, default=1000.0,
                   help="Poisson request rate, requests/s, policy ttl (default 1000)")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_simulate_cache)

    p = run.add_parser(
        "caching", help="none / cache-aside / write-through / write-behind under a Zipf "
                        "workload (measured)",
        description="Replay a seeded Zipf workload of reads and price changes against a "
                    "product service over the relational store and Redis, from concurrent "
                    "threads. Label: measured.")
    p.add_argument("--strategy", default="cache-aside", choices=STRATEGIES,
                   help="(default cache-aside)")
    p.add_argument("--products", type=cli.int_arg, default=200, help="products N (default 200)")
    p.add_argument("--zipf", type=cli.number_arg, default=1.0,
                   help="Zipf exponent >= 0 (default 1.0)")
    p.add_argument("--write-ratio", type=cli.number_arg, default=0.05,
                   help="fraction of requests that are writes, 0..1 (default 0.05)")
    p.add_argument("--requests", type=cli.int_arg, default=2000, help="requests (default 2000)")
    p.add_argument("--db-latency-ms", type=cli.number_arg, default=2.0,
                   help="modelled database round-trip latency, ms (default 2)")
    p.add_argument("--threads", type=cli.int_arg, default=4, help="worker threads (default 4)")
    p.add_argument("--ttl", type=cli.number_arg, default=30.0, help="cache TTL, s (default 30)")
    p.add_argument("--warm", action="store_true", help="fill the cache before the run")
    p.add_argument("--fix", default="none", choices=FIXES,
                   help="cache-aside race fix (default none)")
    p.add_argument("--flush-interval-ms", type=cli.number_arg, default=50.0,
                   help="write-behind flush period, ms (default 50)")
    p.add_argument("--no-crash", action="store_true",
                   help="write-behind: flush at the end instead of killing the flusher")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_run_caching)
