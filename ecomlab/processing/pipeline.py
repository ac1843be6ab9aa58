"""The order-processing pipelines of the seed material: steps, latencies, failures, worker pools.

Synchronous (the customer waits for everything, about 2000 ms)::

    validate 200 -> payment 800 -> reserve inventory 300 -> create order 100
                 -> confirmation email 400 -> analytics 200

Asynchronous (the customer waits about 150 ms)::

    quick validation 50 -> pending order 100 -> respond "pending"
    background, in parallel: payment 800 | reserve inventory 300
    then the payment-completed handler: confirm order 100 -> confirmation email 400
                                     or cancel order 100 (a background task failed)

Every step's latency follows one distribution (``constant``, ``exponential`` or ``lognormal``,
all with the step's mean) and fails with a probability. A failing *essential* step ends the
order (the customer gets an error in the foreground; the order is cancelled in the background);
a failing non-essential step (the asynchronous confirmation email) is counted and skipped.

Capacity is threads: the web tier runs ``web`` request threads that perform every foreground
step; in the asynchronous pipeline, ``payment`` and ``inventory`` consumers take background
tasks from their queues and ``handler`` consumers run the payment-completed handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from ecomlab import validate
from ecomlab.errors import InvalidInput, choices_text
from ecomlab.processing.choices import DISTRIBUTIONS, MODES

__all__ = [
    "DISTRIBUTIONS",
    "MODES",
    "POOLS",
    "Draws",
    "Pipeline",
    "Step",
    "async_pipeline",
    "draw",
    "make_pipeline",
    "sync_pipeline",
]

Mode = Literal["sync", "async"]
#: worker pools (threads) and their default sizes
POOLS: dict[str, int] = {"web": 16, "payment": 8, "inventory": 8, "handler": 8}
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Step:
    """One step of order processing.

    Attributes:
        name: what it does (``payment``, ``reserve inventory``...).
        mean_ms: mean latency (ms).
        failure_probability: chance it fails, in [0, 1).
        essential: a failure ends the order (False: counted and skipped).
        writes: the database write it performs in a live run (``insert_order``,
            ``confirm_order``, ``cancel_order``, ``record_payment``, ``record_reservation``),
            or ``""`` for none.
    """

    name: str
    mean_ms: float
    failure_probability: float = 0.0
    essential: bool = True
    writes: str = ""

    def __post_init__(self) -> None:
        validate.number(f"mean latency of step {self.name!r} (ms)", self.mean_ms, minimum=0.0)
        validate.probability(f"failure probability of step {self.name!r}",
                             self.failure_probability)


@dataclass(frozen=True)
class Pipeline:
    """A processing mode: what the customer waits for and what happens afterwards.

    Attributes:
        mode: ``sync`` or ``async``.
        foreground: steps on a web thread before the customer gets a response.
        background: tasks started after the response, each on its own pool (async only),
            keyed by pool name (``payment``, ``inventory``).
        on_success: the handler's steps when every background task succeeded.
        on_failure: the handler's steps when one failed.
        distribution: latency distribution of every step.
        lognormal_sigma: shape of the lognormal (standard deviation of log latency).
        pools: worker threads per pool (``web``, ``payment``, ``inventory``, ``handler``).
    """

    mode: Mode
    foreground: tuple[Step, ...]
    background: tuple[tuple[str, Step], ...] = ()
    on_success: tuple[Step, ...] = ()
    on_failure: tuple[Step, ...] = ()
    distribution: str = "constant"
    lognormal_sigma: float = 0.5
    pools: dict[str, int] = field(default_factory=lambda: dict(POOLS))

    def __post_init__(self) -> None:
        validate.choice("mode", self.mode, MODES)
        validate.choice("distribution", self.distribution, DISTRIBUTIONS)
        validate.number("lognormal_sigma", self.lognormal_sigma, minimum=0.0, maximum=3.0)
        for name in self.pools:
            validate.choice("pool", name, POOLS)
        for name, size in self.pools.items():
            validate.integer(f"workers of pool {name!r}", size, minimum=1, maximum=1024)
        for pool, _ in self.background:
            if pool not in ("payment", "inventory"):
                raise InvalidInput(f"unknown background pool {pool!r}; choose "
                                   f"{choices_text(('payment', 'inventory'))}")

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, in the order their draws are taken."""
        return (self.foreground + tuple(s for _, s in self.background) + self.on_success
                + self.on_failure)

    @property
    def nominal_response_ms(self) -> float:
        """What the customer waits for with no queueing and no failure (ms)."""
        return float(sum(s.mean_ms for s in self.foreground))

    @property
    def nominal_completion_ms(self) -> float:
        """Time until the order is final with no queueing and no failure (ms)."""
        bg = max((s.mean_ms for _, s in self.background), default=0.0)
        return self.nominal_response_ms + bg + sum(s.mean_ms for s in self.on_success)

    def capacity_per_s(self) -> dict[str, float]:
        """Orders per second each pool can take with mean latencies (threads / busy time)."""
        out = {"web": self.pools["web"] / (self.nominal_response_ms / 1000.0)}
        for pool, step in self.background:
            out[pool] = self.pools[pool] / (step.mean_ms / 1000.0)
        if self.on_success:
            out["handler"] = self.pools["handler"] / (
                sum(s.mean_ms for s in self.on_success) / 1000.0)
        return out

    def saturation_rate(self) -> float:
        """The arrival rate (orders/s) at which the busiest pool is fully used."""
        return min(self.capacity_per_s().values())

    def with_failures(self, probability: float) -> Pipeline:
        """The same pipeline with every step failing with ``probability`` (except the
        cancellation, which always lands)."""
        p = validate.probability("failure_probability", probability)

        def fail(steps: tuple[Step, ...]) -> tuple[Step, ...]:
            return tuple(replace(s, failure_probability=p) for s in steps)

        # the cancellation is not made to fail: a real handler retries it until it lands
        # (retries and dead letters are topic 04's subject), so no order is left pending
        return replace(self, foreground=fail(self.foreground),
                       background=tuple((k, replace(s, failure_probability=p))
                                        for k, s in self.background),
                       on_success=fail(self.on_success))


def sync_pipeline(*, distribution: str = "constant", failure_probability: float = 0.0,
                  pools: dict[str, int] | None = None, lognormal_sigma: float = 0.5) -> Pipeline:
    """The seed's synchronous checkout: six steps on the request thread (about 2000 ms)."""
    steps = (
        Step("validate", 200.0),
        Step("payment", 800.0, writes="record_payment"),
        Step("reserve inventory", 300.0, writes="record_reservation"),
        Step("create order", 100.0, writes="insert_order"),
        Step("confirmation email", 400.0),
        Step("analytics", 200.0),
    )
    pipe = Pipeline("sync", steps, distribution=distribution, lognormal_sigma=lognormal_sigma,
                    pools=_pools(pools))
    return pipe.with_failures(failure_probability)


def async_pipeline(*, distribution: str = "constant", failure_probability: float = 0.0,
                   pools: dict[str, int] | None = None, lognormal_sigma: float = 0.5
                   ) -> Pipeline:
    """The seed's asynchronous checkout: respond after 150 ms, finish in the background."""
    pipe = Pipeline(
        "async",
        foreground=(Step("quick validation", 50.0),
                    Step("pending order", 100.0, writes="insert_order")),
        background=(("payment", Step("payment", 800.0, writes="record_payment")),
                    ("inventory", Step("reserve inventory", 300.0,
                                       writes="record_reservation"))),
        on_success=(Step("confirm order", 100.0, writes="confirm_order"),
                    Step("confirmation email", 400.0, essential=False)),
        on_failure=(Step("cancel order", 100.0, essential=False, writes="cancel_order"),),
        distribution=distribution, lognormal_sigma=lognormal_sigma, pools=_pools(pools),
    )
    return pipe.with_failures(failure_probability)


def make_pipeline(mode: str, **kwargs: object) -> Pipeline:
    """``sync_pipeline`` or ``async_pipeline`` by name (``sync``/``async``)."""
    validate.choice("mode", mode, MODES)
    build = sync_pipeline if mode == "sync" else async_pipeline
    return build(**kwargs)  # type: ignore[arg-type]


def _pools(pools: dict[str, int] | None) -> dict[str, int]:
    out = dict(POOLS)
    if pools is not None:
        if not isinstance(pools, dict):
            raise InvalidInput(f"pools must be a dict of pool name -> workers, got {pools!r}")
        out.update(pools)
    return out


@dataclass(frozen=True)
class Draws:
    """Every random number one run needs, drawn up front from one seed.

    Attributes:
        arrivals_s: arrival time of each order (s), Poisson process.
        latency_s: per step (``Pipeline.steps`` order), each order's latency (s).
        failed: per step, whether it fails for each order.
    """

    arrivals_s: FloatArray
    latency_s: tuple[FloatArray, ...]
    failed: tuple[BoolArray, ...]

    @property
    def orders(self) -> int:
        return int(self.arrivals_s.size)


def draw(pipeline: Pipeline, orders: int, arrival_rate: float, seed: int) -> Draws:
    """Draw arrivals (Poisson, ``arrival_rate`` orders/s), step latencies and failures."""
    n = validate.integer("orders", orders, minimum=1)
    lam = validate.number("arrival_rate", arrival_rate, minimum=0.0, min_inclusive=False)
    seed = validate.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n))
    lat: list[FloatArray] = []
    failed: list[BoolArray] = []
    sigma = pipeline.lognormal_sigma
    for step in pipeline.steps:
        mean_s = step.mean_ms / 1000.0
        if pipeline.distribution == "constant" or mean_s == 0.0:
            values = np.full(n, mean_s)
        elif pipeline.distribution == "exponential":
            values = rng.exponential(mean_s, n)
        else:
            values = rng.lognormal(np.log(mean_s) - sigma * sigma / 2.0, sigma, n)
        lat.append(values)
        failed.append(rng.random(n) < step.failure_probability)
    return Draws(arrivals, tuple(lat), tuple(failed))
