"""The closed forms: Erlang C, M/M/c figures, Little's law."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.errors import InvalidInput
from ecomlab.sim.queueing import erlang_c, littles_law_gap, mmc_figures, utilization


def test_erlang_c_of_one_worker_is_the_utilization() -> None:
    assert erlang_c(0.7, 1.0, 1) == pytest.approx(0.7)


def test_erlang_c_of_two_workers_at_offered_load_one_is_one_third() -> None:
    # a = 1, c = 2: C = (a^2/2 * 2) / (1 + 1 + 1) = 1/3
    assert erlang_c(1.0, 1.0, 2) == pytest.approx(1.0 / 3.0)


def test_mm1_mean_wait_is_rho_over_mu_minus_lambda() -> None:
    f = mmc_figures(0.8, 1.0, 1)
    assert f.mean_wait_s == pytest.approx(0.8 / (1.0 - 0.8))
    assert f.mean_response_s == pytest.approx(1.0 / (1.0 - 0.8))
    assert f.mean_in_system == pytest.approx(0.8 * f.mean_response_s)  # Little's law


def test_mm1_p95_wait_follows_the_exponential_tail() -> None:
    f = mmc_figures(0.8, 1.0, 1)
    # P(W > t) = rho * exp(-(mu - lambda) t) = 0.05
    assert f.p95_wait_s == pytest.approx(math.log(0.8 / 0.05) / 0.2)


def test_p95_wait_is_zero_when_fewer_than_5_percent_wait() -> None:
    f = mmc_figures(1.0, 1.0, 8)
    assert f.p_wait < 0.05
    assert f.p95_wait_s == 0.0


def test_erlang_c_stays_accurate_for_hundreds_of_workers() -> None:
    c = erlang_c(450.0, 1.0, 500)
    assert 0.0 < c < 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=64), st.floats(min_value=0.01, max_value=0.98))
def test_erlang_c_is_a_probability_that_grows_with_load(workers: int, rho: float) -> None:
    low = erlang_c(rho * workers * 0.5, 1.0, workers)
    high = erlang_c(rho * workers, 1.0, workers)
    assert 0.0 <= low <= high <= 1.0


@pytest.mark.parametrize(("lam", "mu", "c"), [(1.0, 1.0, 1), (4.0, 1.0, 4), (5.0, 1.0, 4)])
def test_closed_form_refuses_utilization_of_one_or_more(lam: float, mu: float, c: int) -> None:
    with pytest.raises(InvalidInput, match="utilization"):
        mmc_figures(lam, mu, c)


@pytest.mark.parametrize(("lam", "mu", "c", "word"), [
    (-1.0, 1.0, 1, "arrival_rate"), (0.0, 1.0, 1, "arrival_rate"), (1.0, -2.0, 1, "service_rate"),
    (1.0, 2.0, 0, "workers"), (1.0, 2.0, 1.5, "workers"), (float("nan"), 1.0, 1, "arrival_rate"),
])
def test_erlang_c_rejects_bad_rates_and_worker_counts(lam: float, mu: float, c: int,
                                                      word: str) -> None:
    with pytest.raises(InvalidInput, match=word):
        erlang_c(lam, mu, c)


def test_utilization_is_arrivals_over_capacity() -> None:
    assert utilization(3.0, 1.0, 4) == pytest.approx(0.75)


def test_littles_law_gap_is_zero_when_both_sides_agree_and_positive_otherwise() -> None:
    assert littles_law_gap(6.0, 2.0, 3.0) == 0.0
    assert littles_law_gap(6.0, 2.0, 3.3) == pytest.approx(0.1)
