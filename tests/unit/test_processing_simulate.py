"""The processing model in virtual time: SimPy and the lean engine agree, and both agree with
closed forms where one exists (success probabilities, Erlang C for the payment pool)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.errors import InvalidInput
from ecomlab.processing import draw, make_pipeline, run_fast, run_simpy, simulate_processing
from ecomlab.sim.queueing import mmc_figures


@settings(max_examples=20, deadline=None)
@given(mode=st.sampled_from(["sync", "async"]),
       distribution=st.sampled_from(["constant", "exponential", "lognormal"]),
       failure=st.sampled_from([0.0, 0.05, 0.3]), rate=st.floats(1.0, 14.0),
       seed=st.integers(0, 10_000))
def test_simpy_and_lean_engines_produce_the_same_timeline(mode: str, distribution: str,
                                                          failure: float, rate: float,
                                                          seed: int) -> None:
    pipe = make_pipeline(mode, distribution=distribution, failure_probability=failure)
    d = draw(pipe, 400, rate, seed)
    a, b = run_simpy(pipe, d), run_fast(pipe, d)
    np.testing.assert_allclose(a.response, b.response, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.completion, b.completion, rtol=0, atol=1e-9)
    assert np.array_equal(a.confirmed, b.confirmed)
    assert np.array_equal(a.charged, b.charged)
    assert np.array_equal(a.email_failed, b.email_failed)
    assert sorted(a.pools) == sorted(b.pools)
    for name in a.pools:
        np.testing.assert_allclose(a.pools[name].starts, b.pools[name].starts, atol=1e-9)


def test_without_queueing_constant_latencies_give_the_seeds_numbers_exactly() -> None:
    # one order every ~100 s: nobody ever waits for a thread
    for mode, response, completion in (("sync", 2000.0, 2000.0), ("async", 150.0, 1450.0)):
        m = simulate_processing(mode, orders=50, arrival_rate=0.01, distribution="constant",
                                seed=1).metrics
        assert m["response_ms"]["p50"] == pytest.approx(response)
        assert m["response_ms"]["max"] == pytest.approx(response)
        assert m["completion_ms"]["p99"] == pytest.approx(completion)


@pytest.mark.parametrize("p", [0.05, 0.2])
def test_success_rates_match_the_product_of_step_survivals(p: float) -> None:
    n = 40_000
    # sync: all six steps must succeed; async: five (a failed email still confirms)
    for mode, essential in (("sync", 6), ("async", 5)):
        m = simulate_processing(mode, orders=n, arrival_rate=2.0, failure_probability=p,
                                seed=11, engine="fast").metrics
        expected = (1 - p) ** essential
        sd = math.sqrt(expected * (1 - expected) / n)
        assert abs(m["success_rate"] - expected) < 4 * sd, mode


@pytest.mark.parametrize(("rate", "seed"), [(8.0, 1), (9.0, 2)])
def test_payment_pool_wait_matches_erlang_c_within_15_percent(rate: float, seed: int) -> None:
    # web departures at low web load are close to Poisson, so the payment pool is ~ M/M/8
    pipe = make_pipeline("async", distribution="exponential")
    tl = run_fast(pipe, draw(pipe, 300_000, rate, seed))
    pay = tl.pools["payment"]
    waits = (pay.starts - pay.arrivals)[30_000:]
    ref = mmc_figures(rate, 1 / 0.8, 8).mean_wait_s
    assert abs(waits.mean() - ref) / ref < 0.15


def test_async_response_stays_flat_past_the_point_where_sync_saturates() -> None:
    sync = simulate_processing("sync", orders=3000, arrival_rate=9.5, seed=3).metrics
    asyn = simulate_processing("async", orders=3000, arrival_rate=9.5, seed=3).metrics
    assert sync["offered_load"] > 1.0 > asyn["offered_load"]
    assert sync["response_ms"]["p95"] > 5 * 2000.0
    assert asyn["response_ms"]["p95"] < 3 * 150.0 + 100.0


def test_past_background_saturation_async_completion_grows_with_the_run() -> None:
    short = simulate_processing("async", orders=1000, arrival_rate=12.0, seed=3).metrics
    long = simulate_processing("async", orders=4000, arrival_rate=12.0, seed=3).metrics
    assert long["completion_ms"]["p95"] > 2 * short["completion_ms"]["p95"]
    assert long["response_ms"]["p95"] < 1000.0


def test_a_failure_in_email_voids_a_sync_order_but_not_an_async_one() -> None:
    sync = simulate_processing("sync", orders=5000, arrival_rate=2.0, failure_probability=0.1,
                               seed=2, engine="fast").metrics
    asyn = simulate_processing("async", orders=5000, arrival_rate=2.0,
                               failure_probability=0.1, seed=2, engine="fast").metrics
    assert sync["email_failures_after_confirmation"] == 0
    assert asyn["email_failures_after_confirmation"] > 0
    assert sync["charged_not_confirmed"] > 0  # charged, then a later step failed


def test_pool_statistics_are_consistent() -> None:
    m = simulate_processing("async", orders=3000, arrival_rate=8.0, seed=4).metrics
    pay = m["pools"]["payment"]
    assert 0.7 < pay["utilization"] < 0.9  # offered 8 / 10 = 0.8
    assert pay["max_queue_length"] >= pay["mean_queue_length"] >= 0
    assert m["throughput_per_s"] == pytest.approx(8.0, rel=0.1)


def test_auto_engine_switches_to_the_lean_engine_for_big_runs() -> None:
    small = simulate_processing("sync", orders=100, seed=1)
    big = simulate_processing("sync", orders=60_000, seed=1)
    assert small.backends["engine"] == "simpy"
    assert big.backends["engine"] == "fast"
    assert small.label == big.label == "simulated"


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"engine": "gpu"}, "engine"), ({"orders": 0}, "orders"), ({"arrival_rate": -1.0},
                                                               "arrival_rate"),
    ({"mode": "batch"}, "mode"), ({"failure_probability": 1.5}, "failure_probability"),
])
def test_simulate_processing_refuses_bad_input(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        simulate_processing(**kwargs)  # type: ignore[arg-type]
