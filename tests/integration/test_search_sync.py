"""Keeping the index in step: dual write loses changes under crashes, the outbox through the
broker does not. Crashes are forced at chosen writes (the FaultPlan hook) or drawn in 20 seeded
trials, each checked against a model of what the crashes must leave behind."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from ecomlab.datagen import generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.search.products import catalog_products
from ecomlab.search.sync import (
    FaultPlan,
    ProductIndex,
    fault_plan,
    run_sync,
    sync_table,
    write_plan,
)
from ecomlab.stores import InProcessBroker

PRODUCTS = 60


def expected_dual_write_drift(writes: int, plan: FaultPlan, seed: int) -> dict[str, int]:
    """What dual write must leave: the database takes every write, the index the ones whose
    writer did not crash (a plain-Python model of both stores)."""
    items = catalog_products(generate_catalog(PRODUCTS, seed))
    db = {p.id: (p.title, p.price) for p in items}
    ix = dict(db)
    for i, w in enumerate(write_plan(writes, PRODUCTS, seed)):
        db[w.pid] = (w.title, w.price)
        if i not in plan.crashes:
            ix[w.pid] = (w.title, w.price)
    return {"missing": sum(k not in ix for k in db),
            "stale": sum(k in ix and ix[k] != v for k, v in db.items()),
            "extra": sum(k not in db for k in ix), "products": len(db)}


def test_a_writer_crash_on_the_last_write_leaves_dual_write_drifting_for_good() -> None:
    writes = 12
    last = write_plan(writes, PRODUCTS, 3)[-1]
    m = run_sync("dual-write", writes, 0.0, seed=3, products=PRODUCTS,
                 faults=FaultPlan(frozenset({writes - 1}))).metrics
    assert m["faults"] == 1
    kind = "missing" if last.insert else "stale"
    assert m["drift_after"][kind] == 1
    assert m["drift_after"] == expected_dual_write_drift(writes, FaultPlan(
        frozenset({writes - 1})), 3)


def test_relay_and_indexer_crashes_at_the_same_writes_leave_the_outbox_exact() -> None:
    writes = 12
    plan = FaultPlan(frozenset({3, 7, writes - 1}), indexer=frozenset({7, writes - 1}))
    m = run_sync("outbox", writes, 0.0, seed=3, products=PRODUCTS, faults=plan).metrics
    assert m["faults"] == 3
    assert {k: v for k, v in m["drift_after"].items() if k != "products"} == {
        "missing": 0, "stale": 0, "extra": 0}
    assert m["redeliveries"] == 3  # one relay republish, two broker redeliveries
    assert m["broker_redelivered"] == 2


@functools.cache
def _dual(seed: int) -> dict[str, Any]:
    return run_sync("dual-write", 30, 0.25, seed=seed, products=PRODUCTS).metrics


@pytest.mark.parametrize("seed", range(20))
def test_in_every_seeded_trial_dual_write_drifts_as_modelled_and_the_outbox_converges(
        seed: int) -> None:
    writes, rate = 30, 0.25
    plan = fault_plan(writes, rate, seed)
    dual = _dual(seed)
    assert dual["faults"] == len(plan.crashes)
    assert dual["drift_after"] == expected_dual_write_drift(writes, plan, seed)
    out = run_sync("outbox", writes, rate, seed=seed, products=PRODUCTS).metrics
    assert out["faults"] == len(plan.crashes)
    assert {k: v for k, v in out["drift_after"].items() if k != "products"} == {
        "missing": 0, "stale": 0, "extra": 0}
    assert out["redeliveries"] == len(plan.crashes)
    assert out["broker_redelivered"] == len(plan.indexer)


def test_over_the_seeded_trials_dual_write_loses_changes_and_the_outbox_never_does() -> None:
    lost = sum(_dual(s)["drift_after"]["missing"] + _dual(s)["drift_after"]["stale"]
               for s in range(20))
    assert lost > 0


def test_the_outbox_relays_through_the_broker_it_is_given_and_deletes_its_queue() -> None:
    broker = InProcessBroker()
    try:
        m = run_sync("outbox", 10, 0.0, seed=1, products=PRODUCTS, broker=broker)
        assert m.backends["broker"]["backend"] == "in-process"
        assert m.metrics["redeliveries"] == 0 and m.metrics["index_writes"] == 10
        assert not [q for q in broker._queues if q.startswith("ecomlab.search-sync.")]
    finally:
        broker.dispose()


def test_without_faults_both_strategies_keep_the_index_exact() -> None:
    for row in sync_table(30, 0.0, seed=1).to_dict("records"):
        assert row["faults"] == 0
        assert row["missing after"] == row["stale after"] == row["extra after"] == 0


def test_an_unknown_sync_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match="'outbox'"):
        run_sync("two-phase", 10)


def test_an_upsert_replaces_the_product_and_an_older_version_never_overwrites() -> None:
    index = ProductIndex()
    index.load([(1, "a", 1.0), (2, "b", 2.0)])
    index.upsert(1, "a2", 3.0)
    index.upsert(1, "a3", 4.0, version=5)
    assert not index.upsert(1, "late", 9.0, version=4)
    assert not index.upsert(1, "again", 9.0, version=5)
    assert index.contents() == {1: ("a3", 4.0), 2: ("b", 2.0)}
    index.close()
