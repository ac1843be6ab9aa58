"""Caching topic without stores: cache simulators against closed forms and cachetools, the CLI."""

from __future__ import annotations

import json
import random

import cachetools
import numpy as np
import pytest

from ecomlab.caching.simulate import (
    che_characteristic_time,
    che_hit_ratio,
    hit_ratio_curve,
    simulate_cache,
    simulate_lru,
    simulate_random,
    simulate_ttl,
    ttl_hit_ratio,
)
from ecomlab.cli import main
from ecomlab.datagen import zipf_keys, zipf_popularity
from ecomlab.errors import InvalidInput

#: Che's approximation vs an exact LRU, absolute hit-ratio tolerance (N >= 500, 1 <= C < N)
CHE_TOLERANCE = 0.02
#: the TTL-cache formula is exact for Poisson requests: only sampling noise remains
TTL_TOLERANCE = 0.01


@pytest.mark.parametrize(("objects", "alpha", "capacity"), [
    (500, 0.6, 10), (1000, 0.8, 100), (2000, 1.0, 50), (5000, 1.2, 500), (1000, 0.0, 300),
])
def test_lru_hit_ratio_agrees_with_ches_approximation(objects: int, alpha: float,
                                                      capacity: int) -> None:
    r = simulate_cache("lru", capacity=capacity, objects=objects, zipf=alpha,
                       requests=150_000, seed=11)
    assert r.label == "simulated"
    assert abs(r.metrics["hit_ratio"] - r.metrics["predicted_hit_ratio"]) < CHE_TOLERANCE


@pytest.mark.parametrize(("objects", "alpha", "ttl", "rate"), [
    (1000, 0.8, 1.0, 1000.0), (300, 1.1, 0.05, 2000.0), (2000, 0.5, 5.0, 200.0),
])
def test_ttl_cache_hit_ratio_agrees_with_the_poisson_formula(objects: int, alpha: float,
                                                             ttl: float, rate: float) -> None:
    r = simulate_cache("ttl", capacity=objects, objects=objects, zipf=alpha, ttl=ttl,
                       rate=rate, requests=150_000, seed=5)
    assert r.metrics["prediction_valid"] is True
    assert abs(r.metrics["hit_ratio"] - r.metrics["predicted_hit_ratio"]) < TTL_TOLERANCE
    assert r.metrics["mean_occupancy"] == pytest.approx(r.metrics["predicted_occupancy"],
                                                        rel=0.05)


def test_a_full_ttl_cache_evicts_and_says_the_formula_no_longer_holds() -> None:
    r = simulate_cache("ttl", capacity=20, objects=1000, zipf=0.8, ttl=1.0, rate=1000.0,
                       requests=20_000, seed=1)
    assert r.metrics["evictions"] > 0
    assert r.metrics["prediction_valid"] is False
    assert r.metrics["hit_ratio"] < r.metrics["predicted_hit_ratio"]


def test_exact_lru_matches_cachetools_request_by_request() -> None:
    keys = zipf_keys(3000, 0.9, 60_000, 3).tolist()
    ref = cachetools.LRUCache(maxsize=250)
    hits = 0
    for k in keys:
        if k in ref:
            ref[k]
            hits += 1
        else:
            ref[k] = True
    assert simulate_lru(keys, 250).hits == hits


def test_random_eviction_agrees_with_cachetools_random_replacement() -> None:
    keys = zipf_keys(3000, 0.9, 80_000, 3)
    ref = cachetools.RRCache(maxsize=300, choice=random.Random(0).choice)
    hits = 0
    for k in keys.tolist():
        if k in ref:
            hits += 1
        else:
            ref[k] = True
    ours = simulate_random(keys, 300, seed=3).hit_ratio
    assert abs(ours - hits / len(keys)) < 0.01
    assert ours < simulate_lru(keys, 300).hit_ratio  # LRU beats random under Zipf


def test_ches_characteristic_time_fills_the_cache_on_average() -> None:
    p = zipf_popularity(1000, 0.8)
    t = che_characteristic_time(p, 100)
    assert float(np.sum(-np.expm1(-p * t))) == pytest.approx(100, rel=1e-6)
    assert che_hit_ratio(p, 1000) == 1.0
    assert che_hit_ratio(p, 10) < che_hit_ratio(p, 100) < che_hit_ratio(p, 500)


def test_ttl_formula_is_the_renewal_result_for_one_object() -> None:
    # one object, rate 2/s, TTL 1.5 s: hits per miss cycle = λT = 3, so h = 3 / 4
    assert ttl_hit_ratio(np.array([1.0]), 2.0, 1.5) == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.exponential(0.5, size=40_000))
    sim = simulate_ttl(np.zeros(40_000, dtype=np.int64), times, 1.5)
    assert sim.hit_ratio == pytest.approx(0.75, abs=0.01)


def test_hit_ratio_curve_rises_with_cache_size_and_tracks_che() -> None:
    df = hit_ratio_curve(objects=1000, zipf=0.8, requests=50_000, seed=2)
    assert df["simulated_lru"].is_monotonic_increasing
    assert df["error"].abs().max() < CHE_TOLERANCE


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"capacity": 0}, "capacity must be >= 1, got 0"),
    ({"zipf": -0.5}, "zipf must be >= 0.0, got -0.5"),
    ({"policy": "lfu"}, "unknown policy 'lfu'; choose 'lru' or 'ttl'"),
    ({"policy": "ttl", "ttl": 0.0}, "ttl must be > 0.0, got 0.0"),
])
def test_simulate_cache_refuses_bad_values_naming_them(kwargs: dict[str, object],
                                                       message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        simulate_cache(**kwargs)  # type: ignore[arg-type]


def test_cli_simulate_cache_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "cache", "--policy", "lru", "--capacity", "50", "--objects", "500",
                 "--zipf", "0.9", "--requests", "20000", "--seed", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["label"] == "simulated"
    direct = simulate_cache(policy="lru", capacity=50, objects=500, zipf=0.9, requests=20000,
                            seed=1).metrics
    assert data["hit_ratio"] == pytest.approx(direct["hit_ratio"])  # same seed, same answer
    assert abs(data["hit_ratio"] - data["predicted_hit_ratio"]) < CHE_TOLERANCE


@pytest.mark.parametrize("argv", [
    ["simulate", "cache", "--capacity", "0"],
    ["simulate", "cache", "--capacity", "-3"],
    ["simulate", "cache", "--zipf", "-1"],
    ["simulate", "cache", "--policy", "fifo"],
    ["simulate", "cache", "--capacity", "many"],
    ["run", "caching", "--strategy", "read-through"],
    ["run", "caching", "--write-ratio", "1.5"],
    ["run", "caching", "--write-ratio", "-0.1"],
    ["run", "caching", "--zipf", "-2"],
    ["run", "caching", "--products", "0"],
    ["run", "caching", "--strategy", "none", "--fix", "versioned"],
])
def test_cli_bad_values_exit_2_with_one_line(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ecomlab")
    assert argv[-1].lstrip("-") in lines[0]  # the message names the bad value
