"""Live runs: real threads, real database writes, a real broker, on every available backend.

The live run and the simulation use the same draws, so every order's outcome (confirmed,
cancelled, failed) is predetermined: the database must hold exactly the simulated outcomes,
whatever the thread interleaving, and no modelled sleep can make a response faster than the
simulated one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.cli import main
from ecomlab.processing import draw, make_pipeline, run_fast, run_live, run_processing
from ecomlab.stores import SqlStore, sql_store
from ecomlab.stores.broker import Broker, InProcessBroker, broker_store
from tests.conftest import real_url

ORDERS = 40
SCALE = 0.02


def _expected(mode: str, failure: float, seed: int, rate: float, orders: int = ORDERS
              ) -> tuple[int, int]:
    pipe = make_pipeline(mode, distribution="exponential", failure_probability=failure)
    tl = run_fast(pipe, draw(pipe, orders, rate, seed))
    return int(tl.confirmed.sum()), int((tl.charged & ~tl.confirmed).sum())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_live_run_writes_exactly_the_simulated_outcomes(any_sql: SqlStore, mode: str) -> None:
    broker = InProcessBroker() if mode == "async" else None
    try:
        r = run_processing(mode, orders=ORDERS, arrival_rate=5.0, seed=3, time_scale=SCALE,
                     failure_probability=0.1, store=any_sql, broker=broker)
    finally:
        if broker is not None:
            broker.dispose()
    m = r.metrics
    confirmed, charged_not_confirmed = _expected(mode, 0.1, 3, 5.0)
    assert r.label == "measured"
    assert m["confirmed"] == confirmed
    assert m["db_status_counts"].get("confirmed", 0) == confirmed
    assert m["db_status_counts"].get("pending", 0) == 0  # every order ended final
    assert m["charged_not_confirmed"] == charged_not_confirmed
    assert m["success_rate"] == m["simulated_same_draws"]["success_rate"]
    # sleeps cannot be shorter than asked: measured >= simulated on the same draws
    assert m["response_ms"]["p50"] >= 0.95 * m["simulated_same_draws"]["response_ms"]["p50"]
    assert r.backends["sql"]["backend"] == any_sql.backend


def test_async_customers_are_answered_faster_than_sync_ones_when_measured() -> None:
    # wall-clock overhead (commits, hand-offs) is magnified by 1 / time_scale and grows with
    # the machine's load, so this compares the two modes with each other, not with a constant
    runs = {mode: run_processing(mode, orders=40, arrival_rate=3.0, seed=5, time_scale=0.1,
                           distribution="constant") for mode in ("sync", "async")}
    sync, asyn = runs["sync"].metrics, runs["async"].metrics
    assert sync["response_ms"]["p50"] >= 2000.0
    assert asyn["response_ms"]["p50"] >= 150.0
    assert asyn["response_ms"]["p50"] < sync["response_ms"]["p50"]
    assert asyn["completion_ms"]["p50"] >= 1450.0


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), failure=st.sampled_from([0.0, 0.1, 0.3]),
       rate=st.sampled_from([4.0, 12.0]))
def test_every_async_order_ends_final_exactly_once_under_load(seed: int, failure: float,
                                                              rate: float) -> None:
    r = run_processing("async", orders=50, arrival_rate=rate, seed=seed, time_scale=SCALE,
                 failure_probability=failure)
    m = r.metrics
    counts = m["db_status_counts"]
    confirmed, _ = _expected("async", failure, seed, rate, 50)
    assert counts.get("pending", 0) == 0
    assert counts.get("confirmed", 0) == confirmed == m["confirmed"]
    assert m["completion_ms"]["count"] == 50


@pytest.fixture
def rabbit() -> Iterator[Broker]:
    broker = broker_store(real_url("ECOMLAB_AMQP_URL"))
    try:
        yield broker
    finally:
        broker.dispose()


def test_async_background_tasks_travel_through_real_rabbitmq(rabbit: Broker) -> None:
    with sql_store() as store:
        r = run_processing("async", orders=ORDERS, arrival_rate=5.0, seed=8, time_scale=SCALE,
                     failure_probability=0.1, store=store, broker=rabbit)
    confirmed, _ = _expected("async", 0.1, 8, 5.0)
    assert r.backends["broker"]["backend"] == "rabbitmq"
    assert r.metrics["db_status_counts"].get("confirmed", 0) == confirmed
    assert r.metrics["db_status_counts"].get("pending", 0) == 0


def test_cli_live_run_prints_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code = main(["run", "processing", "--mode", "sync", "--orders", "20", "--arrival-rate",
                 "4", "--seed", "1", "--time-scale", "0.02", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["label"] == "measured"
    assert set(out["response_ms"]) >= {"p50", "p95", "p99"}
    assert set(out["completion_ms"]) >= {"p50", "p99"}
    assert out["success_rate"] == 1.0


def test_run_live_is_the_former_name_of_run_processing() -> None:
    from ecomlab.processing.live import run_live as former

    assert former is run_live is run_processing
