"""What each long command counts, and how long it is expected to take.

One table, :data:`PLANS`, says for every command that can run long which unit it counts
(``orders``, ``customers``...), how many it will do, and how long that should take on this
machine. :func:`begin` (called by the command line before the command runs) opens the run's
:class:`~ecomlab.budget.Tally`; the experiments count their units with
:func:`ecomlab.budget.advance`, one line each. The estimate is printed when the first unit is
done, that is once the command has checked its inputs (a rejected value prints its one error
line and nothing else) and before the bulk of the work.

The per-unit costs below were measured on the project's 2-core machine while other work ran
on it (load average 4-5): each is the wall time of one run at the size shown, minus the start-up,
divided by its units, rounded up. They are estimates, quoted as such with their basis.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from ecomlab import budget, validate
from ecomlab.errors import InvalidInput

__all__ = ["PLANS", "Plan", "begin", "command_key", "estimate"]

#: per-order wall time of ``run inventory`` (s) by store, from ``duration_s`` at load 9-12:
#: 20,000 cache-check orders with 32 buyers (fakeredis + embedded PostgreSQL) 2.4-3.0 s;
#: 5,000 conditional-update orders with 8 buyers on the embedded PostgreSQL 1.9-2.5 s, on
#: SQLite 2.3 s, on DuckDB 27 s (its write conflicts are retried)
INVENTORY_S_PER_ORDER = {"eventual": 0.15e-3, "postgres": 0.5e-3, "sqlite": 0.5e-3,
                         "duckdb": 5.5e-3}
#: per-customer wall time of ``simulate queue`` (s): 200,000 customers took 5.2-5.6 s with
#: SimPy (0.5 s of it start-up) and 5,000,000 took 4.9-6.2 s with ``--engine fast``
QUEUE_S_PER_CUSTOMER = {"simpy": 25e-6, "fast": 1.2e-6}
#: per-request wall time of ``simulate cache`` (s): 2,000,000 LRU requests took 2.1-2.6 s
CACHE_SIM_S_PER_REQUEST = 1.3e-6
#: per-request cost of ``run caching`` besides the database (s): 20,000 requests with
#: ``--db-latency-ms 0`` and 4 threads took 3.8-3.9 s; with the default 2 ms, 6.3 s, i.e. a
#: quarter of the requests' database latency (shared by the threads) is waited for
CACHING_S_PER_REQUEST = 0.2e-3
CACHING_DB_SHARE = 0.25
#: per-order wall time of ``run architecture`` in a closed loop with 8 clients (s): 2,000
#: orders on the microservices took 42.5 s (load 12), after 4-5 s of service start-up
ARCHITECTURE_S_PER_ORDER = 20e-3


@dataclass(frozen=True)
class Plan:
    """What one command counts and, if it can tell, how long it will take.

    Attributes:
        unit: what :func:`ecomlab.budget.advance` counts for this command.
        total: how many units the parsed arguments ask for (``None``: not known up front).
        seconds: the estimated wall time and how it was estimated (``None``: no estimate;
            catalog commands announce their own, with a memory check).
        early: announce before the command starts rather than at its first unit: for
            commands that count in large steps (a whole replication), whose estimate checks
            the same bounds as the command so a rejected value still prints only its error.
    """

    unit: str
    total: Callable[[argparse.Namespace], int | None]
    seconds: Callable[[argparse.Namespace], tuple[float, str]] | None = None
    early: bool = False


def _inventory(a: argparse.Namespace) -> tuple[float, str]:
    strategy = str(a.strategy)
    if strategy in ("cache-check", "atomic-reserve"):
        family = "eventual"
    else:
        family = a.backend or "postgres"
    per = INVENTORY_S_PER_ORDER.get(family, INVENTORY_S_PER_ORDER["postgres"])
    return a.orders * per, f"{per * 1e3:.2f} ms per order measured on {family}"


def _messaging(a: argparse.Namespace) -> tuple[float, str]:
    return a.orders / a.arrival_rate, "orders arrive on schedule: --orders / --arrival-rate"


def _processing(a: argparse.Namespace) -> tuple[float, str]:
    if a.simulate:
        return 0.0, "virtual time"
    return (a.orders / a.arrival_rate * a.time_scale,
            "orders arrive on schedule: --orders / --arrival-rate x --time-scale")


def _caching(a: argparse.Namespace) -> tuple[float, str]:
    per = CACHING_S_PER_REQUEST + CACHING_DB_SHARE * a.db_latency_ms / 1000.0 / a.threads
    return (a.requests * per, f"{CACHING_S_PER_REQUEST * 1e3:.2f} ms per request measured, plus "
            f"{CACHING_DB_SHARE:.0%} of --db-latency-ms shared by --threads (measured)")


def _architecture(a: argparse.Namespace) -> tuple[float, str]:
    if a.rate is not None:
        return a.orders / a.rate, "orders are sent on schedule: --orders / --rate"
    clients = a.concurrency or 4
    per = ARCHITECTURE_S_PER_ORDER * 8 / clients
    return a.orders * per, f"{ARCHITECTURE_S_PER_ORDER * 1e3:.1f} ms per order measured with 8 " \
                           "clients, scaled by the clients"


def _queue(a: argparse.Namespace) -> tuple[float, str]:
    from ecomlab.sim.mmc import MAX_CUSTOMERS

    validate.integer("customers", a.customers, minimum=100, maximum=MAX_CUSTOMERS)
    validate.integer("replications", a.replications, minimum=1, maximum=100)
    validate.number("arrival_rate", a.arrival_rate, minimum=0.0, min_inclusive=False)
    validate.number("service_rate", a.service_rate, minimum=0.0, min_inclusive=False)
    validate.integer("workers", a.workers, minimum=1)
    per = QUEUE_S_PER_CUSTOMER[a.engine]
    return (a.customers * a.replications * per,
            f"{per * 1e6:.1f} us per customer measured with --engine {a.engine}")


def _cache(a: argparse.Namespace) -> tuple[float, str]:
    validate.integer("requests", a.requests, minimum=10, maximum=100_000_000)
    return (a.requests * CACHE_SIM_S_PER_REQUEST,
            f"{CACHE_SIM_S_PER_REQUEST * 1e6:.1f} us per request measured")


PLANS: dict[tuple[str, str], Plan] = {
    ("run", "inventory"): Plan("orders", lambda a: a.orders, _inventory),
    ("run", "messaging"): Plan("orders placed", lambda a: a.orders, _messaging),
    ("run", "processing"): Plan("orders finished", lambda a: None if a.simulate else a.orders,
                                _processing),
    ("run", "caching"): Plan("requests", lambda a: a.requests, _caching),
    ("run", "catalog"): Plan("products loaded (two stores)", lambda a: 2 * a.products),
    ("run", "architecture"): Plan("orders", lambda a: a.orders, _architecture),
    ("run", "search"): Plan("engines evaluated", lambda a: None),
    ("simulate", "queue"): Plan("customers", lambda a: a.customers * a.replications, _queue,
                                early=True),
    ("simulate", "cache"): Plan("requests", lambda a: a.requests, _cache, early=True),
    ("generate", "catalog"): Plan("products", lambda a: a.products),
}


def command_key(args: argparse.Namespace) -> tuple[str, str]:
    """``("run", "inventory")`` for ``ecomlab run inventory ...``."""
    sub = getattr(args, "topic", None) or getattr(args, "model", None) \
        or getattr(args, "dataset", None) or ""
    return str(getattr(args, "command", "")), str(sub)


def estimate(args: argparse.Namespace) -> tuple[float, str] | None:
    """The command's estimated wall time (s) and its basis, if it has one."""
    plan = PLANS.get(command_key(args))
    if plan is None or plan.seconds is None:
        return None
    try:
        return plan.seconds(args)
    except (TypeError, ValueError, ZeroDivisionError, KeyError, OverflowError, AttributeError,
            InvalidInput):
        return None  # a value the command itself will reject with its own message


def begin(args: argparse.Namespace) -> budget.Tally | None:
    """Open the run tally for a command in :data:`PLANS` (others get none)."""
    key = command_key(args)
    plan = PLANS.get(key)
    if plan is None:
        return None
    try:
        total = plan.total(args)
    except (TypeError, ValueError, AttributeError):
        total = None
    if total is not None and total < 1:
        total = None
    tally = budget.start(" ".join(key), plan.unit, total)
    tally.announce_first = estimate(args)
    if plan.early and tally.announce_first is not None:
        tally.announce()
    return tally
