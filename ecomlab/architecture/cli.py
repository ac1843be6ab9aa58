"""``ecomlab run architecture``: one style under load and faults, over real processes."""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab.architecture.choices import CONSISTENCY, RESILIENCE, STYLES, TRANSPORTS
from ecomlab.cli import int_arg, number_arg

__all__ = ["register"]

_PUBLIC = ("style", "label", "orders", "succeeded", "latency_ms", "product_page_ms",
           "throughput_per_s", "cpu_ms_per_order", "cpu_scope", "generator_cpu_ms_per_order",
           "hops_per_order", "network_share", "availability", "expected_availability",
           "retry_amplification", "inconsistent", "services", "statuses", "outcomes",
           "elapsed_s", "latency_ms_corrected", "replicas")


def _cmd_architecture(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.architecture.experiment import run_architecture

    result = run_architecture(args.style, args.orders, rate=args.rate,
                              concurrency=args.concurrency, faults=args.fault or [],
                              resilience=args.resilience, consistency=args.consistency,
                              seed=args.seed, transport=args.transport, workers=args.workers,
                              timeout_ms=args.timeout_ms, replicas=args.replicas or None)
    m = result.metrics
    out: dict[str, Any] = {"experiment": result.experiment, "seed": result.seed}
    out.update({k: m[k] for k in _PUBLIC})
    if "relay" in m:
        out["relay"] = m["relay"]
    out["params"] = result.params
    out["backends"] = result.backends
    return out


def register(run: Any, simulate: Any) -> None:
    """Add ``ecomlab run architecture`` (measured)."""
    from ecomlab import cli

    p = run.add_parser(
        "architecture", help="monolith vs microservices over HTTP, with faults (measured)",
        description="Start the shop as one uvicorn process (monolith) or five (product, "
                    "inventory, payment, notification, order) on 127.0.0.1 with OS-assigned "
                    "ports, send orders and product-page requests, inject faults, then count "
                    "the inconsistent end states in the services' databases. Every process "
                    "is stopped on exit, also on Ctrl-C. Label: measured.")
    p.add_argument("--style", choices=STYLES, default="monolith")
    p.add_argument("--orders", type=int_arg, default=200, help="orders to send (default 200)")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--rate", type=number_arg, default=None,
                      help="open loop: Poisson arrivals at R orders/s")
    load.add_argument("--concurrency", type=int_arg, default=None,
                      help="closed loop: C concurrent clients (default 4)")
    p.add_argument("--fault", action="append", metavar="SERVICE=KIND[:VALUE]",
                   help="inject a fault (repeatable): SERVICE in product, inventory, payment, "
                        "order, notification; KIND down, slow[:MS], flaky[:P], "
                        "crash:STEP[@P] (order only)")
    p.add_argument("--resilience", choices=RESILIENCE, default="none")
    p.add_argument("--consistency", choices=CONSISTENCY, default="saga",
                   help="microservices' order flow (the monolith uses one transaction)")
    p.add_argument("--transport", choices=TRANSPORTS, default="process",
                   help="process: real uvicorn processes (default); asgi: in-process")
    p.add_argument("--workers", type=int_arg, default=8,
                   help="the monolith's worker threads (default 8)")
    p.add_argument("--timeout-ms", type=number_arg, default=250.0,
                   help="per-call timeout with --resilience timeouts/full (default 250)")
    p.add_argument("--replicas", action="append", metavar="SERVICE=N",
                   help="run N instances of SERVICE behind round robin (repeatable; the "
                        "monolith's is monolith=N); they share the service's database")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_cmd_architecture)
