"""Catalog topic against real servers only (skipped without their URLs)."""

from __future__ import annotations

from ecomlab.catalog.experiment import run_catalog, write_costs
from ecomlab.stores import document_store
from tests.conftest import real_url


def test_run_catalog_on_real_postgres_gives_identical_answers() -> None:
    real_url("ECOMLAB_PG_URL")
    run = run_catalog(500, 9, sql_backend="postgres", repeats=2, readers=2, rounds=1)
    m = run.metrics
    assert m["relational"]["backend"] == "postgres"
    assert run.backends["sql"]["embedded"] is False
    assert m["results_identical"] and m["results_identical_after_rename"]
    assert m["relational"]["mixed_reads_during_rename"] == 0
    assert m["relational"]["storage_bytes"] > 0


def test_write_costs_on_real_postgres_change_one_row_per_rename() -> None:
    real_url("ECOMLAB_PG_URL")
    df = write_costs(400, 2, sql_backend="postgres")
    rename = df[(df["model"] == "relational") & (df["operation"] == "rename brand")].iloc[0]
    assert rename["touched"] == 1
    assert rename["backend"] == "postgres"


def test_run_catalog_on_real_mongodb_gives_identical_answers() -> None:
    url = real_url("ECOMLAB_MONGO_URL")
    document_store(url).dispose()  # reachable
    run = run_catalog(500, 9, repeats=2, readers=2, rounds=1)
    assert run.metrics["documents"]["backend"] == "mongodb"
    assert run.metrics["results_identical"]
