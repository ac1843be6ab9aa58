"""The caching claims ledger: verdicts follow the measured figures they are computed from."""

from __future__ import annotations

import pandas as pd

from ecomlab.caching.claims import caching_claims


def _frames(*, stale_after: int = 23, wt_stale: int = 0, never_read: int = 139,
            wt_write: float = 3.0) -> dict[str, pd.DataFrame]:
    def strat(name: str, hr: float, p50: float, p99: float, w50: float, stale: int = 0,
              lost: int = 0) -> dict[str, object]:
        return {"strategy": name, "hit_ratio": hr, "db_reads": 10, "db_writes": 5,
                "read_p50_ms": p50, "read_p99_ms": p99, "write_p50_ms": w50,
                "write_p99_ms": w50 * 3, "stale_reads": stale, "max_staleness_ms": 0.0,
                "lost_writes": lost, "loss_window_ms": 0.0, "label": "measured"}

    strategies = pd.DataFrame([strat("none", 0.0, 3.0, 8.0, 3.0),
                               strat("cache-aside", 0.82, 0.1, 9.0, 3.2),
                               strat("write-through", 0.88, 0.1, 8.5, 3.3, stale=wt_stale),
                               strat("write-behind", 0.88, 0.1, 8.0, 0.2, lost=3)])
    writes = pd.DataFrame([strat("none", 0.0, 0, 0, 3.0), strat("cache-aside", 0.0, 0, 0, 3.1),
                           strat("write-through", 0.0, 0, 0, wt_write),
                           strat("write-behind", 0.0, 0, 0, 0.2, lost=40)])
    warmup = pd.DataFrame([{"start": "cold", "hit_ratio": 0.81, "db_reads": 260},
                           {"start": "warmed", "hit_ratio": 0.94, "db_reads": 90}])
    race = pd.DataFrame([{"fix": "none", "reader": "fast", "stale": True}])
    frequency = pd.DataFrame([{"fix": "none", "stale_reads": 4, "max_staleness_ms": 50.0},
                              {"fix": "versioned", "stale_reads": 0, "max_staleness_ms": 0.0}])
    outage = pd.DataFrame([
        {"strategy": s, "repair": r, "reads served": "155/155", "writes acknowledged": "45/45",
         "stale after recovery": 0 if r else stale_after}
        for s in ("cache-aside", "write-through") for r in (False, True)])
    storage = pd.DataFrame([
        {"strategy": "cache-aside", "cached_keys": 361, "never_read_keys": 0,
         "cache_bytes": 100, "never_read_bytes": 0, "bytes_measured_as": "payload bytes"},
        {"strategy": "write-through", "cached_keys": 500, "never_read_keys": never_read,
         "cache_bytes": 140, "never_read_bytes": 40 if never_read else 0,
         "bytes_measured_as": "payload bytes"}])
    return {"strategies": strategies, "writes": writes, "warmup": warmup, "race": race,
            "frequency": frequency, "outage": outage, "storage": storage}


def _verdicts(**kwargs: object) -> dict[tuple[str, str], str]:
    return {(c.approach, c.claim): c.verdict
            for c in caching_claims(**_frames(**kwargs))}  # type: ignore[arg-type]


def test_the_ledger_lists_the_seeds_ten_claims_with_measured_evidence() -> None:
    claims = caching_claims(**_frames())
    assert len(claims) == 10
    assert {c.approach for c in claims} == {"cache-aside", "write-through"}
    assert all(c.evidence for c in claims)


def test_stale_entries_after_an_outage_qualify_graceful_failure_and_freshness() -> None:
    v = _verdicts(stale_after=23)
    assert v[("cache-aside", "handles cache failures gracefully")] == "qualified"
    assert v[("write-through", "always fresh cache")] == "qualified"
    assert v[("write-through", "cache failure impact")] == "supported"
    v = _verdicts(stale_after=0)
    assert v[("cache-aside", "handles cache failures gracefully")] == "supported"
    assert v[("write-through", "always fresh cache")] == "supported"


def test_a_stale_write_through_read_refutes_always_fresh() -> None:
    assert _verdicts(wt_stale=2)[("write-through", "always fresh cache")] == "refuted"


def test_write_penalty_and_storage_overhead_follow_their_figures() -> None:
    assert _verdicts(wt_write=3.2)[("write-through", "write penalty")] == "qualified"
    assert _verdicts(wt_write=6.0)[("write-through", "write penalty")] == "supported"
    assert _verdicts(never_read=0)[("write-through", "cache storage overhead")] == "refuted"
    assert _verdicts()[("write-through", "cache storage overhead")] == "supported"
