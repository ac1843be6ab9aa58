"""Inventory strategies against the real servers only (skipped without their URLs)."""

from __future__ import annotations

import pytest

from ecomlab.inventory.experiment import run_inventory
from ecomlab.stores import kv_store, sql_store
from tests.conftest import real_url

pytestmark = pytest.mark.real


def test_row_lock_never_oversells_under_64_buyers_on_real_postgres() -> None:
    with sql_store("postgres", url=real_url("ECOMLAB_PG_URL"), pool_size=48,
                   max_overflow=0) as store:
        run = run_inventory("row-lock", sql=store, buyers=64, stock=15, orders=128, skus=2,
                            max_quantity=2, payment_failure_rate=0.1, seed=7)
    assert run.result.backends["sql"]["embedded"] is False
    assert run.report.valid, run.report.anomalies
    assert run.report.oversold_units == 0
    for row in run.report.conservation.values():
        assert row["sold"] <= 15


def test_atomic_reserve_never_oversells_under_64_buyers_on_real_redis() -> None:
    with kv_store(real_url("ECOMLAB_REDIS_URL")) as kv, sql_store("sqlite",
                                                                  pool_size=68) as truth:
        run = run_inventory("atomic-reserve", kv=kv, sql=truth, buyers=64, stock=10,
                            orders=160, skus=2, max_quantity=2, seed=8)
    assert run.result.backends["kv"]["backend"] == "redis"
    assert run.report.valid, run.report.anomalies
    assert run.report.oversold_units == 0
