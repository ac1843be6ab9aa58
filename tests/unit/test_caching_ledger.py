"""Caching topic without stores: staleness accounting and the outage switch."""

from __future__ import annotations

import fakeredis
import pytest
import redis

from ecomlab.caching.experiment import WriteLedger
from ecomlab.caching.outage import CacheSwitch
from ecomlab.caching.repository import Product


def test_a_read_of_a_superseded_version_is_stale_by_the_time_since_the_newer_ack() -> None:
    ledger = WriteLedger()
    ledger.record(7, 2, acked_ns=1_000)
    ledger.record(7, 3, acked_ns=5_000)
    assert ledger.staleness_ns(7, 1, started_ns=4_000) == 3_000  # v2 acked at 1000
    assert ledger.staleness_ns(7, 2, started_ns=4_000) is None  # v3 not acked yet
    assert ledger.staleness_ns(7, 2, started_ns=6_000) == 1_000
    assert ledger.staleness_ns(7, 3, started_ns=9_000) is None
    assert ledger.staleness_ns(8, 1, started_ns=9_000) is None  # never written


def test_a_read_that_started_before_the_ack_is_not_stale() -> None:
    ledger = WriteLedger()
    ledger.record(1, 2, acked_ns=10_000)
    assert ledger.staleness_ns(1, 1, started_ns=9_999) is None
    assert ledger.staleness_ns(1, 1, started_ns=10_000) is None


def test_product_round_trips_through_its_cache_representation() -> None:
    p = Product(3, "LAP-AERO-0000003", 'AeroBook "13"', 999.99, 4)
    assert Product.from_json(p.to_json()) == p


def test_cache_switch_fails_every_call_while_down_and_passes_them_when_up() -> None:
    switch = CacheSwitch(fakeredis.FakeRedis(server=fakeredis.FakeServer(),
                                             decode_responses=True))
    switch.set("k", "v")
    script = switch.register_script("return redis.call('GET', KEYS[1])")
    switch.down = True
    with pytest.raises(redis.ConnectionError):
        switch.get("k")
    with pytest.raises(redis.ConnectionError):
        script(keys=["k"])
    switch.down = False
    assert switch.get("k") == "v"
    assert script(keys=["k"]) == "v"
