"""Keeping the index in step: dual write loses changes under faults, the outbox does not."""

from __future__ import annotations

import pytest

from ecomlab.errors import InvalidInput
from ecomlab.search.sync import run_sync, sync_table


def test_dual_write_leaves_products_missing_or_stale_after_writer_crashes() -> None:
    m = run_sync("dual-write", 60, 0.2, seed=3, products=80).metrics
    assert m["faults"] > 0
    drift = m["drift_after"]
    assert drift["missing"] + drift["stale"] > 0 and drift["extra"] == 0
    assert drift["missing"] + drift["stale"] <= m["faults"]


def test_the_outbox_converges_after_relay_crashes_with_every_crash_redelivered() -> None:
    m = run_sync("outbox", 60, 0.2, seed=3, products=80).metrics
    assert m["faults"] > 0
    assert m["drift_after"] == {"missing": 0, "stale": 0, "extra": 0,
                                "products": m["drift_after"]["products"]}
    assert m["redeliveries"] == m["faults"]


def test_without_faults_both_strategies_keep_the_index_exact() -> None:
    for row in sync_table(30, 0.0, seed=1).to_dict("records"):
        assert row["faults"] == 0
        assert row["missing after"] == row["stale after"] == row["extra after"] == 0


def test_an_unknown_sync_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match="'outbox'"):
        run_sync("two-phase", 10)


def test_an_upsert_replaces_the_product_in_the_index() -> None:
    from ecomlab.search.sync import ProductIndex

    index = ProductIndex()
    index.load([(1, "a", 1.0), (2, "b", 2.0)])
    index.upsert(1, "a2", 3.0)
    index.upsert(1, "a3", 4.0)
    assert index.contents() == {1: ("a3", 4.0), 2: ("b", 2.0)}
    index.close()
