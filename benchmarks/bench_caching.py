"""Trace-driven cache simulation speed (requests/s) and hit-ratio agreement with cachetools.

Run on demand: ``.venv/bin/python benchmarks/bench_caching.py [--requests 1000000]``.
Target: the exact LRU simulator replays >= 1,000,000 requests/s. It is held against
``cachetools.LRUCache`` (a library made for caching) on the same trace: the hit counts must be
identical, and the speed ratio is printed. Che's approximation is printed beside both.
"""

from __future__ import annotations

import argparse
import random
import time

import cachetools
from _table import emit

from ecomlab.caching.simulate import (
    che_hit_ratio,
    simulate_lru,
    simulate_random,
    simulate_ttl,
    ttl_hit_ratio,
)
from ecomlab.datagen import zipf_keys, zipf_popularity
from ecomlab.measure import ThroughputSummary

TARGET_RPS = 1_000_000


def cachetools_lru_hits(keys: list[int], capacity: int) -> int:
    cache: cachetools.LRUCache[int, bool] = cachetools.LRUCache(maxsize=capacity)
    hits = 0
    for k in keys:
        if k in cache:
            cache[k]
            hits += 1
        else:
            cache[k] = True
    return hits


def cachetools_rr_hits(keys: list[int], capacity: int) -> int:
    cache: cachetools.RRCache[int, bool] = cachetools.RRCache(
        maxsize=capacity, choice=random.Random(0).choice)
    hits = 0
    for k in keys:
        if k in cache:
            hits += 1
        else:
            cache[k] = True
    return hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=1_000)
    parser.add_argument("--zipf", type=float, default=0.9)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    keys = zipf_keys(args.objects, args.zipf, args.requests, 42)
    trace = keys.tolist()
    pop = zipf_popularity(args.objects, args.zipf)
    print(f"trace: {args.requests:,} requests, N={args.objects:,}, Zipf {args.zipf}, "
          f"capacity {args.capacity:,}")

    ours_s, lib_s = [], []
    ours_hits = lib_hits = 0
    for _ in range(args.runs):
        t = time.perf_counter()
        ours_hits = simulate_lru(trace, args.capacity).hits
        ours_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        lib_hits = cachetools_lru_hits(trace, args.capacity)
        lib_s.append(time.perf_counter() - t)
    ours = ThroughputSummary.of_runs([args.requests] * args.runs, ours_s)
    lib = ThroughputSummary.of_runs([args.requests] * args.runs, lib_s)
    che = che_hit_ratio(pop, args.capacity)
    print(f"exact LRU (OrderedDict)  {ours.mean:>12,.0f} requests/s  (min {ours.min:,.0f}, "
          f"max {ours.max:,.0f}, {ours.runs} runs)  hit ratio {ours_hits / args.requests:.4f}")
    print(f"cachetools.LRUCache      {lib.mean:>12,.0f} requests/s  (min {lib.min:,.0f}, "
          f"max {lib.max:,.0f}, {lib.runs} runs)  hit ratio {lib_hits / args.requests:.4f}")
    print(f"Che's approximation                                  hit ratio {che:.4f}")
    print(f"speed ratio ours/cachetools: {ours.mean / lib.mean:.2f}x; identical hit counts: "
          f"{ours_hits == lib_hits}")

    t = time.perf_counter()
    rnd = simulate_random(keys, args.capacity, seed=1)
    rnd_rps = args.requests / (time.perf_counter() - t)
    rr_hits = cachetools_rr_hits(trace, args.capacity)
    print(f"random eviction          {rnd_rps:>12,.0f} requests/s  hit ratio "
          f"{rnd.hit_ratio:.4f} (cachetools.RRCache {rr_hits / args.requests:.4f})")

    import numpy as np

    rate, ttl = 10_000.0, 0.05
    times = np.cumsum(np.random.default_rng(1).exponential(1.0 / rate, size=args.requests))
    t = time.perf_counter()
    sim = simulate_ttl(keys, times, ttl)
    ttl_rps = args.requests / (time.perf_counter() - t)
    print(f"TTL cache (T={ttl} s, {rate:,.0f} req/s)  {ttl_rps:>8,.0f} requests/s  hit ratio "
          f"{sim.hit_ratio:.4f} (formula {ttl_hit_ratio(pop, rate, ttl):.4f})")

    ok = ours.mean >= TARGET_RPS and ours_hits == lib_hits
    emit("exact LRU simulator", ours.mean, "requests/s", label="measured",
         anchor="cachetools.LRUCache, same trace", anchor_value=lib.mean,
         target=f">= {TARGET_RPS:,} requests/s", met=ours.mean >= TARGET_RPS)
    emit("LRU hit ratio", ours_hits / args.requests, "ratio", label="simulated",
         anchor="cachetools.LRUCache hit ratio", anchor_value=lib_hits / args.requests,
         target="identical hits", met=ours_hits == lib_hits)
    print(f"target >= {TARGET_RPS:,} requests/s with identical hits: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
