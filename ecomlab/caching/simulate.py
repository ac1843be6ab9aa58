"""Capacity-limited caches in virtual time, and the closed forms that predict them.

* :func:`simulate_lru` — an exact LRU over a trace (an ``OrderedDict``: O(1) per request, a few
  million requests per second; ``benchmarks/bench_caching.py`` measures it against cachetools).
* :func:`che_hit_ratio` — Che's approximation for LRU under the independent reference model:
  the characteristic time ``t_C`` solves ``sum_i (1 - exp(-p_i t_C)) = C`` and object ``i`` hits
  with probability ``1 - exp(-p_i t_C)`` (time counted in requests).
* :func:`simulate_ttl` — a TTL cache as Redis runs one: an entry lives ``ttl`` seconds from the
  miss that filled it (a hit does not extend it). Requests arrive as a Poisson process.
* :func:`ttl_hit_ratio` — for Poisson requests of rate ``λ_i`` the TTL cache's hit ratio is
  exactly ``λ_i T / (1 + λ_i T)`` per object (a renewal argument), weighted by popularity.

Tolerances held in the tests: simulated vs predicted hit ratio within 0.02 (absolute) for
Che's approximation with N >= 500 objects and 1 <= C < N, and within 0.01 for the TTL formula,
after a warm-up of 10 % of the requests.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ecomlab import budget, validate
from ecomlab.caching.choices import POLICIES
from ecomlab.datagen import zipf_keys, zipf_popularity
from ecomlab.measure import Result

__all__ = [
    "POLICIES",
    "SimulatedCache",
    "che_characteristic_time",
    "che_hit_ratio",
    "hit_ratio_curve",
    "simulate_cache",
    "simulate_lru",
    "simulate_random",
    "simulate_ttl",
    "ttl_hit_ratio",
    "ttl_occupancy",
]



@dataclass(frozen=True)
class SimulatedCache:
    """Counts of one simulated run (after the warm-up requests)."""

    requests: int
    hits: int
    evictions: int = 0
    mean_occupancy: float = math.nan

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0


def simulate_lru(keys: np.ndarray | list[int], capacity: int, *,
                 warmup: int = 0) -> SimulatedCache:
    """Replay ``keys`` through an exact LRU cache of ``capacity`` objects.

    Hits among the first ``warmup`` requests are not counted (the cache is filling).
    """
    capacity = validate.integer("capacity", capacity, minimum=1)
    trace = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    warmup = validate.integer("warmup", warmup, minimum=0, maximum=len(trace))
    cache: OrderedDict[int, None] = OrderedDict()
    touch = cache.move_to_end
    evict = cache.popitem
    hits = evictions = 0
    for i, k in enumerate(trace):
        if k in cache:
            touch(k)
            if i >= warmup:
                hits += 1
        else:
            cache[k] = None
            if len(cache) > capacity:
                evict(last=False)
                evictions += 1
    return SimulatedCache(len(trace) - warmup, hits, evictions)


def simulate_random(keys: np.ndarray | list[int], capacity: int, *, seed: int = 0,
                    warmup: int = 0) -> SimulatedCache:
    """Replay ``keys`` through a cache that evicts a uniformly random entry when full.

    The victims come from their own random stream (``(seed, 1)``), independent of a trace drawn
    with the same ``seed``.
    """
    capacity = validate.integer("capacity", capacity, minimum=1)
    trace = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    rng = np.random.default_rng((seed, 1))
    victims = rng.random(len(trace))
    slots: list[int] = []
    where: dict[int, int] = {}
    hits = evictions = 0
    for i, k in enumerate(trace):
        if k in where:
            if i >= warmup:
                hits += 1
            continue
        if len(slots) < capacity:
            where[k] = len(slots)
            slots.append(k)
            continue
        j = int(victims[i] * capacity)
        del where[slots[j]]
        slots[j] = k
        where[k] = j
        evictions += 1
    return SimulatedCache(len(trace) - warmup, hits, evictions)


def simulate_ttl(keys: np.ndarray, times: np.ndarray, ttl: float, *,
                 capacity: int | None = None, warmup: int = 0) -> SimulatedCache:
    """Replay requests (``keys[i]`` at time ``times[i]``, s, increasing) through a TTL cache.

    An entry expires ``ttl`` seconds after the miss that filled it. With a ``capacity``, a full
    cache first drops expired entries, then the one closest to expiry (``evictions`` counts
    those; the TTL formula only holds while it stays 0). ``mean_occupancy`` is the average
    number of live entries seen by the requests after the warm-up.
    """
    ttl = validate.number("ttl", ttl, minimum=0.0, min_inclusive=False)
    cap = None if capacity is None else validate.integer("capacity", capacity, minimum=1)
    trace = keys.tolist()
    clock = np.asarray(times, dtype=float).tolist()
    expiry: OrderedDict[int, float] = OrderedDict()  # insertion order == expiry order
    hits = evictions = 0
    occupancy = 0.0
    for i, (k, t) in enumerate(zip(trace, clock, strict=True)):
        while expiry:
            first = next(iter(expiry))
            if expiry[first] > t:
                break
            del expiry[first]
        if i >= warmup:
            occupancy += len(expiry)
        if k in expiry:
            if i >= warmup:
                hits += 1
            continue
        if cap is not None and len(expiry) >= cap:
            expiry.popitem(last=False)
            evictions += 1
        expiry[k] = t + ttl
    counted = len(trace) - warmup
    return SimulatedCache(counted, hits, evictions,
                          occupancy / counted if counted else math.nan)


def che_characteristic_time(popularity: np.ndarray, capacity: int) -> float:
    """Che's characteristic time ``t_C`` (in requests) for an LRU of ``capacity`` objects."""
    p = np.asarray(popularity, dtype=float)
    capacity = validate.integer("capacity", capacity, minimum=1)
    if capacity >= p.size:
        return math.inf

    def excess(t: float) -> float:
        return float(np.sum(-np.expm1(-p * t))) - capacity

    hi = 1.0
    while excess(hi) < 0:
        hi *= 2.0
    return float(brentq(excess, 0.0, hi, xtol=1e-9, rtol=1e-12))


def che_hit_ratio(popularity: np.ndarray, capacity: int) -> float:
    """The LRU hit ratio Che's approximation predicts for request probabilities ``popularity``."""
    p = np.asarray(popularity, dtype=float)
    t = che_characteristic_time(p, capacity)
    if math.isinf(t):
        return 1.0
    return float(np.sum(p * -np.expm1(-p * t)))


def ttl_hit_ratio(popularity: np.ndarray, rate: float, ttl: float) -> float:
    """The hit ratio of a TTL cache (``ttl`` s, no refresh on hit) under Poisson requests of
    total ``rate`` (requests/s) split by ``popularity``."""
    lt = np.asarray(popularity, dtype=float) * rate * ttl
    return float(np.sum(np.asarray(popularity) * lt / (1.0 + lt)))


def ttl_occupancy(popularity: np.ndarray, rate: float, ttl: float) -> float:
    """Expected number of live entries in that TTL cache (objects)."""
    lt = np.asarray(popularity, dtype=float) * rate * ttl
    return float(np.sum(lt / (1.0 + lt)))


def simulate_cache(policy: str = "lru", *, capacity: int = 100, objects: int = 1000,
                   zipf: float = 0.8, requests: int = 200_000, seed: int = 42,
                   ttl: float = 1.0, rate: float = 1000.0) -> Result:
    """Simulate an LRU or TTL cache under Zipf traffic and compare with its closed form.

    Args:
        policy: ``lru`` or ``ttl``.
        capacity: cache size (objects, >= 1); the TTL cache evicts only when it is full.
        objects: catalogue size N.
        zipf: Zipf exponent (>= 0).
        requests: requests simulated; the first 10 % warm the cache and are not counted.
        seed: the random seed.
        ttl: TTL (s), policy ``ttl`` only.
        rate: Poisson arrival rate (requests/s), policy ``ttl`` only.

    Returns a ``simulated`` Result with ``hit_ratio``, ``predicted_hit_ratio`` and ``error``.
    """
    policy = validate.choice("policy", policy, POLICIES)
    capacity = validate.integer("capacity", capacity, minimum=1, maximum=10_000_000)
    objects = validate.integer("objects", objects, minimum=1, maximum=10_000_000)
    zipf = validate.number("zipf", zipf, minimum=0.0, maximum=10.0)
    requests = validate.integer("requests", requests, minimum=10, maximum=100_000_000)
    ttl = validate.number("ttl", ttl, minimum=0.0, min_inclusive=False, maximum=1e9)
    rate = validate.number("rate", rate, minimum=0.0, min_inclusive=False, maximum=1e9)
    rng = np.random.default_rng(seed)
    keys = zipf_keys(objects, zipf, requests, rng)
    warmup = requests // 10
    pop = zipf_popularity(objects, zipf)
    params: dict[str, object] = {"policy": policy, "capacity": capacity, "objects": objects,
                                 "zipf": zipf, "requests": requests, "warmup": warmup}
    metrics: dict[str, object]
    if policy == "lru":
        sim = simulate_lru(keys, capacity, warmup=warmup)
        predicted = che_hit_ratio(pop, capacity)
        metrics = {"model": "Che's approximation",
                   "characteristic_time_requests": che_characteristic_time(pop, capacity)}
    else:
        times = np.cumsum(rng.exponential(1.0 / rate, size=requests))
        sim = simulate_ttl(keys, times, ttl, capacity=capacity, warmup=warmup)
        predicted = ttl_hit_ratio(pop, rate, ttl)
        params.update(ttl=ttl, rate=rate)
        metrics = {"model": "TTL cache, Poisson requests",
                   "mean_occupancy": round(sim.mean_occupancy, 3),
                   "predicted_occupancy": round(ttl_occupancy(pop, rate, ttl), 3),
                   "prediction_valid": sim.evictions == 0}
    budget.advance(requests)  # the command line's progress and Ctrl-C report
    metrics = {"hit_ratio": round(sim.hit_ratio, 4),
               "predicted_hit_ratio": round(predicted, 4),
               "error": round(sim.hit_ratio - predicted, 4),
               "evictions": sim.evictions, **metrics}
    return Result(experiment="cache", label="simulated", seed=seed, params=params,
                  metrics=metrics, backends={})


def hit_ratio_curve(*, objects: int = 1000, zipf: float = 0.8,
                    capacities: list[int] | None = None, requests: int = 100_000,
                    seed: int = 42) -> pd.DataFrame:
    """LRU hit ratio per cache size: simulated beside Che's prediction (label: simulated)."""
    objects = validate.integer("objects", objects, minimum=2, maximum=10_000_000)
    sizes = capacities or sorted({max(1, int(objects * f)) for f in
                                  (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)})
    keys = zipf_keys(objects, zipf, requests, seed)
    pop = zipf_popularity(objects, zipf)
    rows = []
    for c in sizes:
        c = validate.integer("capacity", c, minimum=1)
        sim = simulate_lru(keys, c, warmup=requests // 10)
        rows.append({"capacity": c, "capacity_pct": round(100 * c / objects, 1),
                     "simulated_lru": round(sim.hit_ratio, 4),
                     "che": round(che_hit_ratio(pop, c), 4)})
    df = pd.DataFrame(rows)
    df["error"] = (df["simulated_lru"] - df["che"]).round(3) + 0.0
    return df
