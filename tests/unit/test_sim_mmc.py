"""The SimPy M/M/c model against Erlang C and Little's law, and against the FCFS recursion.

Tolerances (stated once, checked here): with 100,000 customers per run (10% warm-up left out)
the SimPy model's mean wait is within 10% of Erlang C at utilizations 0.3, 0.6, 0.8 and 0.9 for
seed 42; with 1,000,000 customers the same holds for seeds 1, 2 and 3 (20 other seeds stayed
within 5% at rho = 0.9). Little's law holds on the measurement window within 1%.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.errors import InvalidInput
from ecomlab.sim.fcfs import fcfs_starts, station_departures
from ecomlab.sim.mmc import run_mmc, simulate_queue

WORKERS = 4
UTILIZATIONS = (0.3, 0.6, 0.8, 0.9)
TOLERANCE = 0.10


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), workers=st.integers(1, 8),
       rho=st.floats(0.1, 1.3))
def test_simpy_model_and_fcfs_recursion_give_the_same_schedule(seed: int, workers: int,
                                                                rho: float) -> None:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / (rho * workers), 500)
    svc = rng.exponential(1.0, 500)
    arrivals, starts, departures = run_mmc(gaps, svc, workers)
    np.testing.assert_allclose(arrivals, np.cumsum(gaps), rtol=0, atol=1e-9)
    np.testing.assert_allclose(starts, fcfs_starts(np.cumsum(gaps), svc, workers),
                               rtol=0, atol=1e-9)
    assert np.all(starts >= arrivals - 1e-12)
    np.testing.assert_allclose(departures, starts + svc, rtol=0, atol=1e-9)


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_simpy_mean_wait_is_within_10_percent_of_erlang_c_at_seed_42(rho: float) -> None:
    r = simulate_queue(rho * WORKERS, 1.0, WORKERS, customers=100_000, seed=42)
    assert r.label == "simulated"
    assert r.metrics["erlang_c"]["relative_error_mean_wait"] < TOLERANCE
    assert r.metrics["erlang_c"]["relative_error_mean_response"] < TOLERANCE / 2
    assert r.metrics["utilization"] == pytest.approx(rho, rel=0.02)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mean_wait_is_within_10_percent_of_erlang_c_across_seeds(seed: int) -> None:
    for rho in UTILIZATIONS:
        r = simulate_queue(rho * WORKERS, 1.0, WORKERS, customers=1_000_000, seed=seed,
                           engine="fast")
        assert r.metrics["erlang_c"]["relative_error_mean_wait"] < TOLERANCE, rho


def test_littles_law_holds_on_the_measurement_window() -> None:
    r = simulate_queue(3.2, 1.0, WORKERS, customers=20_000, seed=7)
    m = r.metrics
    assert m["littles_law_gap"] < 0.01
    assert m["mean_in_system"] == pytest.approx(m["throughput_per_s"] * m["mean_response_s"],
                                                rel=0.01)
    # and against the closed form's L = lambda W
    assert m["mean_in_system"] == pytest.approx(m["erlang_c"]["mean_in_system"], rel=0.15)


def test_same_seed_gives_the_same_numbers_and_another_seed_different_ones() -> None:
    a = simulate_queue(2.0, 1.0, 3, customers=2000, seed=5).metrics
    b = simulate_queue(2.0, 1.0, 3, customers=2000, seed=5).metrics
    c = simulate_queue(2.0, 1.0, 3, customers=2000, seed=6).metrics
    assert a == b
    assert a["mean_wait_s"] != c["mean_wait_s"]


def test_replications_report_their_spread() -> None:
    m = simulate_queue(2.0, 1.0, 3, customers=2000, seed=5, replications=3).metrics
    assert m["spread"]["mean_wait_s"] > 0
    assert m["counted_customers"] == 3 * 1800


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"arrival_rate": -1.0}, "arrival_rate"),
    ({"service_rate": 0.0}, "service_rate"),
    ({"workers": 0}, "workers"),
    ({"arrival_rate": 3.0, "workers": 3}, "utilization"),
    ({"customers": 10}, "customers"),
    ({"replications": 0}, "replications"),
    ({"engine": "guess"}, "engine"),
])
def test_simulate_queue_refuses_bad_input(kwargs: dict[str, object], word: str) -> None:
    args: dict[str, object] = {"arrival_rate": 1.0, "service_rate": 1.0, "workers": 2}
    args.update(kwargs)
    with pytest.raises(InvalidInput, match=word):
        simulate_queue(**args)  # type: ignore[arg-type]


def test_fcfs_station_serves_in_arrival_order_whatever_the_input_order() -> None:
    arrivals = np.array([3.0, 0.0, 1.0])
    services = np.array([1.0, 2.0, 2.0])
    starts, departures = station_departures(arrivals, services, 1)
    # order of arrival: 0.0 (2 s) -> 1.0 waits to 2.0 (2 s) -> 3.0 waits to 4.0
    assert starts.tolist() == [4.0, 0.0, 2.0]
    assert departures.tolist() == [5.0, 2.0, 4.0]


def test_fcfs_recursion_refuses_unsorted_arrivals_and_mismatched_lengths() -> None:
    with pytest.raises(InvalidInput, match="sorted"):
        fcfs_starts(np.array([1.0, 0.0]), np.array([1.0, 1.0]), 1)
    with pytest.raises(InvalidInput, match="one service time"):
        fcfs_starts(np.array([0.0, 1.0]), np.array([1.0]), 1)
