"""The seed's pipelines: latencies, capacities, distributions, failures, validation."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlab.errors import InvalidInput
from ecomlab.processing import (
    DISTRIBUTIONS,
    Step,
    async_pipeline,
    draw,
    make_pipeline,
    sync_pipeline,
)


def test_sync_customer_waits_for_the_seeds_2000_ms() -> None:
    pipe = sync_pipeline()
    assert [s.name for s in pipe.foreground] == [
        "validate", "payment", "reserve inventory", "create order", "confirmation email",
        "analytics"]
    assert pipe.nominal_response_ms == 2000.0
    assert pipe.nominal_completion_ms == 2000.0


def test_async_customer_waits_150_ms_and_the_order_is_final_after_1450_ms() -> None:
    pipe = async_pipeline()
    assert pipe.nominal_response_ms == 150.0
    # 150 + max(payment 800, inventory 300) + confirm 100 + email 400
    assert pipe.nominal_completion_ms == 1450.0


def test_saturation_comes_from_the_busiest_pool() -> None:
    assert sync_pipeline().saturation_rate() == pytest.approx(16 / 2.0)
    assert async_pipeline().saturation_rate() == pytest.approx(8 / 0.8)
    # twice the payment workers: the handler (8 x confirm 100 + email 400 ms) is next
    assert async_pipeline(pools={"payment": 16}).saturation_rate() == pytest.approx(8 / 0.5)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_every_distribution_keeps_the_steps_mean_latency(distribution: str) -> None:
    pipe = sync_pipeline(distribution=distribution)
    d = draw(pipe, 200_000, 1.0, seed=3)
    payment = d.latency_s[1]
    assert payment.mean() == pytest.approx(0.8, rel=0.01)
    if distribution == "constant":
        assert np.all(payment == 0.8)
    else:
        assert payment.std() > 0.1


def test_failures_happen_at_the_given_probability() -> None:
    d = draw(sync_pipeline(failure_probability=0.2), 100_000, 1.0, seed=4)
    for failed in d.failed:
        assert failed.mean() == pytest.approx(0.2, abs=0.005)


def test_arrivals_form_a_poisson_stream_at_the_given_rate() -> None:
    d = draw(sync_pipeline(), 100_000, 4.0, seed=5)
    gaps = np.diff(d.arrivals_s)
    assert gaps.mean() == pytest.approx(0.25, rel=0.02)
    assert gaps.std() == pytest.approx(0.25, rel=0.02)  # exponential: sd = mean


def test_the_same_seed_draws_the_same_numbers() -> None:
    pipe = async_pipeline(distribution="lognormal", failure_probability=0.1)
    a, b = draw(pipe, 100, 2.0, 9), draw(pipe, 100, 2.0, 9)
    assert np.array_equal(a.arrivals_s, b.arrivals_s)
    assert all(np.array_equal(x, y) for x, y in zip(a.latency_s, b.latency_s, strict=True))


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"mode": "batch"}, "mode"),
    ({"mode": "sync", "distribution": "uniform"}, "distribution"),
    ({"mode": "sync", "failure_probability": 1.0}, "failure_probability"),
    ({"mode": "sync", "failure_probability": -0.1}, "failure_probability"),
    ({"mode": "async", "pools": {"web": 0}}, "web"),
    ({"mode": "async", "pools": {"gpu": 2}}, "pool"),
    ({"mode": "async", "pools": "web=3"}, "pools"),
])
def test_make_pipeline_refuses_bad_settings(kwargs: dict[str, object], word: str) -> None:
    mode = kwargs.pop("mode")
    with pytest.raises(InvalidInput, match=word):
        make_pipeline(str(mode), **kwargs)


def test_a_step_refuses_negative_latency_and_certain_failure() -> None:
    with pytest.raises(InvalidInput, match="latency"):
        Step("payment", -1.0)
    with pytest.raises(InvalidInput, match="failure"):
        Step("payment", 800.0, failure_probability=1.0)


@pytest.mark.parametrize(("orders", "rate", "word"), [(0, 1.0, "orders"), (10, 0.0, "arrival_rate"),
                                                      (10, -2.0, "arrival_rate")])
def test_draw_refuses_bad_sizes_and_rates(orders: int, rate: float, word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        draw(sync_pipeline(), orders, rate, 1)
