"""``ecomlab run messaging``: place orders by direct calls or through a queue, with faults."""

from __future__ import annotations

import argparse
from typing import Any

from ecomlab.cli import int_arg, number_arg
from ecomlab.messaging.choices import MODES

__all__ = ["register"]

_PUBLIC = ("orders", "accepted", "succeeded", "failed", "dead_lettered", "lost",
           "duplicate_charges", "orphan_charges", "compensations", "refunds",
           "duplicate_emails", "redeliveries", "retries", "consumer_crashes", "reordered",
           "timeouts", "dead_letter_messages", "elapsed_s")




def _cmd_messaging(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.messaging.experiment import run_messaging

    options: dict[str, Any] = {
        "idempotent": not args.naive, "workers": args.workers,
        "duplicate_rate": args.duplicate_rate, "crash_rate": args.crash_rate,
        "slow_service": args.slow_service, "slow_factor": args.slow_factor,
        "timeout_ms": args.timeout_ms, "time_scale": args.time_scale,
        "arrival_rate": args.arrival_rate, "broker_restart": args.broker_restart,
        "ledger": args.ledger,
    }
    result = run_messaging(args.mode, args.orders, args.failure_rate, args.seed, **options)
    m = result.metrics
    out: dict[str, Any] = {"experiment": result.experiment, "label": result.label,
                           "seed": result.seed, "mode": args.mode,
                           "failure_rate": args.failure_rate}
    out.update({k: m[k] for k in _PUBLIC})
    out["response_ms"] = {k: m["response_ms"][k] for k in ("p50", "p95", "p99")}
    out["completion_ms"] = {k: m["completion_ms"][k] for k in ("p50", "p99")}
    out["dead_letter_reasons"] = _reasons(m["dlq"])
    out["params"] = result.params
    out["backends"] = result.backends
    return out


def _reasons(dlq: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in dlq:
        reason = str(item["reason"]).split(" for ", 1)[0]
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def register(run: Any, simulate: Any) -> None:
    """Add ``ecomlab run messaging`` (measured)."""
    from ecomlab import cli

    p = run.add_parser(
        "messaging", help="message queue vs direct calls under injected failures (measured)",
        description="Place orders by direct calls (payment, inventory, email in sequence, "
                    "refund on inventory failure) or through a broker with retries, a "
                    "dead-letter queue and an idempotent consumer. The broker is RabbitMQ "
                    "when ECOMLAB_AMQP_URL is set, else in-process. Label: measured.")
    p.add_argument("--mode", choices=MODES, default="queue", help="queue or direct")
    p.add_argument("--orders", type=int_arg, default=200, help="orders to place (default 200)")
    p.add_argument("--failure-rate", type=number_arg, default=0.1,
                   help="probability that a service call fails, in [0, 1) (default 0.1)")
    p.add_argument("--workers", type=int_arg, default=4, help="queue consumers (default 4)")
    p.add_argument("--crash-rate", type=number_arg, default=0.0,
                   help="probability a consumer dies after the work, before ack (default 0)")
    p.add_argument("--duplicate-rate", type=number_arg, default=0.0,
                   help="probability an order is published twice (default 0)")
    p.add_argument("--naive", action="store_true",
                   help="consumer without the processed-message ledger or idempotency keys")
    p.add_argument("--ledger", choices=("memory", "kv"), default="memory",
                   help="processed-message ledger: in memory, or in Redis (ECOMLAB_REDIS_URL, "
                        "else fakeredis)")
    p.add_argument("--slow-service", choices=("payment", "inventory", "email"), default=None,
                   help="make one service --slow-factor times slower")
    p.add_argument("--slow-factor", type=number_arg, default=20.0,
                   help="latency multiplier of the slow service (default 20)")
    p.add_argument("--timeout-ms", type=number_arg, default=None,
                   help="client timeout per service call, real ms (default none)")
    p.add_argument("--time-scale", type=number_arg, default=0.01,
                   help="real ms per seed ms (default 0.01: payment ~8 ms)")
    p.add_argument("--arrival-rate", type=number_arg, default=200.0,
                   help="orders per second (default 200)")
    p.add_argument("--broker-restart", action="store_true",
                   help="restart the in-process broker halfway (queue mode)")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_cmd_messaging)
