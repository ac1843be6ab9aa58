"""Closed-form results for the M/M/c queue (Erlang C) and Little's law.

These are the references the simulators are held against. Rates are per second, times in
seconds. The M/M/c formulas need a stable queue: utilization ``rho = lambda / (c * mu) < 1``.

* :func:`erlang_c` — probability an arriving customer has to wait.
* :func:`mmc_figures` — mean wait, mean response, queue length, a wait percentile.
* :func:`littles_law_gap` — relative difference between ``L`` and ``lambda * W``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ecomlab import validate
from ecomlab.errors import InvalidInput

__all__ = ["MAX_WORKERS", "MMcFigures", "erlang_c", "littles_law_gap", "mmc_figures", "utilization"]


#: the most servers a queue may have: the Erlang recursion and the simulation's worker heap
#: grow with it (10^8 workers took 7.5 s and ~1 GB), and well before this bound the wait is zero
#: to every printed digit, so a larger queue teaches nothing an M/M/infinity model does not
MAX_WORKERS = 100_000


def _check_rates(arrival_rate: float, service_rate: float, workers: int
                 ) -> tuple[float, float, int]:
    lam = validate.number("arrival_rate", arrival_rate, minimum=0.0, min_inclusive=False)
    mu = validate.number("service_rate", service_rate, minimum=0.0, min_inclusive=False)
    c = validate.integer("workers", workers, minimum=1, maximum=MAX_WORKERS,
                         why="more servers than that wait zero to every printed digit, and the "
                             "model's time and memory grow with them")
    return lam, mu, c


def utilization(arrival_rate: float, service_rate: float, workers: int) -> float:
    """Offered load per worker, ``rho = lambda / (c * mu)`` (no unit; stable below 1)."""
    lam, mu, c = _check_rates(arrival_rate, service_rate, workers)
    return lam / (c * mu)


def _stable(arrival_rate: float, service_rate: float, workers: int) -> tuple[float, float, int]:
    lam, mu, c = _check_rates(arrival_rate, service_rate, workers)
    rho = lam / (c * mu)
    if rho >= 1.0:
        raise InvalidInput(
            f"utilization {rho:.4g} (arrival_rate {arrival_rate!r} / ({workers!r} workers x "
            f"service_rate {service_rate!r})) must be < 1 for the closed form: the queue grows "
            f"without bound")
    return lam, mu, c


def erlang_c(arrival_rate: float, service_rate: float, workers: int) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C formula).

    Computed through the Erlang B recursion, which stays accurate for hundreds of workers.

    Raises:
        InvalidInput: a non-positive rate, fewer than one worker, or utilization >= 1.
    """
    lam, mu, c = _stable(arrival_rate, service_rate, workers)
    a = lam / mu
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


@dataclass(frozen=True)
class MMcFigures:
    """Steady-state figures of an M/M/c queue (times in s, rates in customers/s)."""

    arrival_rate: float
    service_rate: float
    workers: int
    utilization: float
    p_wait: float
    mean_wait_s: float
    mean_response_s: float
    mean_queue_length: float
    mean_in_system: float
    p95_wait_s: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _wait_quantile(p_wait: float, decay: float, q: float) -> float:
    # P(Wq > t) = C * exp(-(c*mu - lambda) * t)
    tail = 1.0 - q
    if p_wait <= tail:
        return 0.0
    return math.log(p_wait / tail) / decay


def mmc_figures(arrival_rate: float, service_rate: float, workers: int) -> MMcFigures:
    """The M/M/c closed forms: Erlang C wait, Little's law lengths, the 95th wait percentile.

    Raises:
        InvalidInput: a non-positive rate, fewer than one worker, or utilization >= 1.
    """
    lam, mu, c = _stable(arrival_rate, service_rate, workers)
    pw = erlang_c(lam, mu, c)
    decay = c * mu - lam
    wq = pw / decay
    w = wq + 1.0 / mu
    return MMcFigures(
        arrival_rate=lam, service_rate=mu, workers=c, utilization=lam / (c * mu), p_wait=pw,
        mean_wait_s=wq, mean_response_s=w, mean_queue_length=lam * wq, mean_in_system=lam * w,
        p95_wait_s=_wait_quantile(pw, decay, 0.95),
    )


def littles_law_gap(mean_in_system: float, throughput_per_s: float,
                    mean_response_s: float) -> float:
    """Relative gap ``|L - lambda * W| / L`` between both sides of Little's law (0 = exact)."""
    lhs = validate.number("mean_in_system", mean_in_system, minimum=0.0)
    lam = validate.number("throughput_per_s", throughput_per_s, minimum=0.0)
    w = validate.number("mean_response_s", mean_response_s, minimum=0.0)
    rhs = lam * w
    if lhs == 0.0:
        return 0.0 if rhs == 0.0 else math.inf
    return abs(lhs - rhs) / lhs
