"""Trace-driven cache simulation speed (requests/s) and hit-ratio agreement with libCacheSim.

Run on demand: ``.venv/bin/python benchmarks/bench_caching.py [--requests 1000000]``.
Target: the exact LRU simulator replays >= 1,000,000 requests/s. It is held on the same trace
against libCacheSim (``libcachesim``, its Python bindings: the C simulator replays the trace
from an oracleGeneral binary file, every object of size 1 so its byte capacity counts objects)
and ``cachetools.LRUCache``: the LRU hit counts must be identical, and the speed ratios are
printed. Che's approximation is printed beside them.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import cachetools
import libcachesim
import numpy as np
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


def write_oracle_trace(keys: np.ndarray, path: Path) -> None:
    """``keys`` as libCacheSim's oracleGeneral binary trace (24-byte records, size 1 each)."""
    rec = np.zeros(len(keys), dtype=np.dtype([("time", "<u4"), ("obj_id", "<u8"),
                                              ("obj_size", "<u4"), ("next_access", "<i8")]))
    rec["time"] = np.arange(len(keys))
    rec["obj_id"] = keys.astype(np.uint64) + 1  # libCacheSim keeps id 0 for "no object"
    rec["obj_size"] = 1
    rec["next_access"] = -1
    rec.tofile(path)


def libcachesim_lru(path: Path, capacity: int) -> tuple[int, float]:
    """LRU over the trace in libCacheSim's C loop: (hits, seconds; the file read included)."""
    reader = libcachesim.TraceReader(str(path), libcachesim.TraceType.ORACLE_GENERAL_TRACE)
    cache = libcachesim.LRU(cache_size=capacity)
    t = time.perf_counter()
    miss_ratio, _ = cache.process_trace(reader)
    seconds = time.perf_counter() - t
    n = reader.get_num_of_req()
    return round((1.0 - miss_ratio) * n), seconds


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

    ours_s, lib_s, lcs_s = [], [], []
    ours_hits = lib_hits = lcs_hits = 0
    with tempfile.TemporaryDirectory() as tmp:
        trace_file = Path(tmp) / "trace.oracleGeneral.bin"
        write_oracle_trace(keys, trace_file)
        libcachesim_lru(trace_file, args.capacity)  # warm-up: the file into the page cache
        for _ in range(args.runs):
            t = time.perf_counter()
            ours_hits = simulate_lru(trace, args.capacity).hits
            ours_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            lib_hits = cachetools_lru_hits(trace, args.capacity)
            lib_s.append(time.perf_counter() - t)
            lcs_hits, seconds = libcachesim_lru(trace_file, args.capacity)
            lcs_s.append(seconds)
    ours = ThroughputSummary.of_runs([args.requests] * args.runs, ours_s)
    lib = ThroughputSummary.of_runs([args.requests] * args.runs, lib_s)
    lcs = ThroughputSummary.of_runs([args.requests] * args.runs, lcs_s)
    che = che_hit_ratio(pop, args.capacity)
    print(f"exact LRU (OrderedDict)  {ours.mean:>12,.0f} requests/s  (min {ours.min:,.0f}, "
          f"max {ours.max:,.0f}, {ours.runs} runs)  hit ratio {ours_hits / args.requests:.4f}")
    print(f"cachetools.LRUCache      {lib.mean:>12,.0f} requests/s  (min {lib.min:,.0f}, "
          f"max {lib.max:,.0f}, {lib.runs} runs)  hit ratio {lib_hits / args.requests:.4f}")
    print(f"libCacheSim {libcachesim.__version__} LRU (C) {lcs.mean:>10,.0f} requests/s  "
          f"(min {lcs.min:,.0f}, max {lcs.max:,.0f}, {lcs.runs} runs)  hit ratio "
          f"{lcs_hits / args.requests:.4f}")
    print(f"Che's approximation                                  hit ratio {che:.4f}")
    print(f"speed ratio ours/libCacheSim: {ours.mean / lcs.mean:.2f}x, ours/cachetools: "
          f"{ours.mean / lib.mean:.2f}x; identical hit counts: "
          f"{ours_hits == lib_hits == lcs_hits} ({ours_hits:,} / {lcs_hits:,} / {lib_hits:,})")

    t = time.perf_counter()
    rnd = simulate_random(keys, args.capacity, seed=1)
    rnd_rps = args.requests / (time.perf_counter() - t)
    rr_hits = cachetools_rr_hits(trace, args.capacity)
    print(f"random eviction          {rnd_rps:>12,.0f} requests/s  hit ratio "
          f"{rnd.hit_ratio:.4f} (cachetools.RRCache {rr_hits / args.requests:.4f})")

    rate, ttl = 10_000.0, 0.05
    times = np.cumsum(np.random.default_rng(1).exponential(1.0 / rate, size=args.requests))
    t = time.perf_counter()
    sim = simulate_ttl(keys, times, ttl)
    ttl_rps = args.requests / (time.perf_counter() - t)
    print(f"TTL cache (T={ttl} s, {rate:,.0f} req/s)  {ttl_rps:>8,.0f} requests/s  hit ratio "
          f"{sim.hit_ratio:.4f} (formula {ttl_hit_ratio(pop, rate, ttl):.4f})")

    ok = ours.mean >= TARGET_RPS and ours_hits == lib_hits == lcs_hits
    emit("exact LRU simulator", ours.mean, "requests/s", label="measured",
         anchor="libCacheSim LRU (C), same trace", anchor_value=lcs.mean,
         target=f">= {TARGET_RPS:,} requests/s", met=ours.mean >= TARGET_RPS)
    emit("exact LRU simulator vs cachetools", ours.mean, "requests/s", label="measured",
         anchor="cachetools.LRUCache, same trace", anchor_value=lib.mean)
    emit("LRU hit ratio", ours_hits / args.requests, "ratio", label="simulated",
         anchor="libCacheSim LRU hit ratio", anchor_value=lcs_hits / args.requests,
         target="identical hits", met=ours_hits == lcs_hits)
    emit("LRU hit ratio vs cachetools", ours_hits / args.requests, "ratio", label="simulated",
         anchor="cachetools.LRUCache hit ratio", anchor_value=lib_hits / args.requests,
         target="identical hits", met=ours_hits == lib_hits)
    print(f"target >= {TARGET_RPS:,} requests/s with identical hits: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
