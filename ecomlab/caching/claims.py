"""The seed material's claims about cache-aside and write-through, judged by measurements.

Each verdict is computed from the frames this package builds, so it changes if the figures do:

* ``strategies`` — :func:`ecomlab.caching.compare.strategies_frame` (measured);
* ``writes`` — the same with ``write_ratio=1.0, threads=1``: write latency without contention;
* ``warmup`` — :func:`ecomlab.caching.compare.warmup_frame` (measured);
* ``race`` — :func:`ecomlab.caching.race.race_table` (forced interleavings) and ``frequency`` —
  :func:`ecomlab.caching.race.race_frequency` (measured);
* ``outage`` — :func:`ecomlab.caching.outage.outage_table` (measured);
* ``storage`` — :func:`ecomlab.caching.storage.storage_table` (measured).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ecomlab.measure import Claim, one_row

__all__ = ["caching_claims", "caching_ledger"]

TOPIC = "caching"


def _one(df: pd.DataFrame, **where: object) -> pd.Series:
    return one_row(df, where)


def _served(text: str) -> tuple[int, int]:
    done, total = text.split("/")
    return int(done), int(total)


def caching_claims(*, strategies: pd.DataFrame, writes: pd.DataFrame,
                   warmup: pd.DataFrame, race: pd.DataFrame,
                   frequency: pd.DataFrame, outage: pd.DataFrame,
                   storage: pd.DataFrame) -> list[Claim]:
    """The claims ledger for the decision summary (see the module doc for the inputs)."""
    return (_cache_aside_claims(strategies, warmup, race, frequency, outage, storage)
            + _write_through_claims(strategies, writes, outage, storage))


class _Claims(list[Claim]):
    """The claims of one topic, appended one verdict at a time."""

    def add(self, approach: str, claim: str, kind: str, verdict: str, evidence: str,
            conditions: str = "") -> None:
        self.append(Claim(TOPIC, approach, claim, kind, verdict, evidence,  # type: ignore[arg-type]
                          conditions))


def _cache_aside_claims(strategies: pd.DataFrame, warmup: pd.DataFrame, race: pd.DataFrame,
                        frequency: pd.DataFrame, outage: pd.DataFrame,
                        storage: pd.DataFrame) -> list[Claim]:
    """Cache-aside's pros and cons: only what is needed, outages, misses, staleness, warm-up."""
    ca = _one(strategies, strategy="cache-aside")
    none = _one(strategies, strategy="none")
    st_ca = _one(storage, strategy="cache-aside")
    st_wt = _one(storage, strategy="write-through")
    o_ca = _one(outage, strategy="cache-aside", repair=False)
    o_ca_fix = _one(outage, strategy="cache-aside", repair=True)
    cold = _one(warmup, start="cold")
    warm = _one(warmup, start="warmed")
    forced = _one(race, fix="none", reader="fast")
    f_none = _one(frequency, fix="none")
    f_ver = _one(frequency, fix="versioned")
    claims = _Claims()
    add = claims.add
    only_needed = st_ca["never_read_keys"] == 0 and st_ca["cached_keys"] < st_wt["cached_keys"]
    add("cache-aside", "cache only what's needed", "pro",
        "supported" if only_needed else "refuted",
        f"measured: cache-aside held {st_ca['cached_keys']} keys, all read; write-through held "
        f"{st_wt['cached_keys']}, {st_wt['never_read_keys']} never read",
        "Zipf reads over the catalogue; TTL longer than the run")
    served, reads = _served(o_ca["reads served"])
    graceful = served == reads
    add("cache-aside", "handles cache failures gracefully", "pro",
        ("qualified" if o_ca["stale after recovery"] > 0 else "supported") if graceful
        else "refuted",
        f"measured: during the outage {served}/{reads} reads were served from the database; "
        f"after recovery {o_ca['stale after recovery']} products were stale (failed deletes), "
        f"{o_ca_fix['stale after recovery']} with failed deletes replayed",
        "network partition of the cache; the cache keeps its entries")
    miss_penalty = ca["read_p99_ms"] > 5 * ca["read_p50_ms"]
    add("cache-aside", "cache miss penalty", "con", "supported" if miss_penalty else "qualified",
        f"measured: read p50 {ca['read_p50_ms']:.2f} ms (hits) vs p99 {ca['read_p99_ms']:.2f} ms "
        f"(misses pay the database: no-cache p50 {none['read_p50_ms']:.2f} ms)",
        "modelled database latency; hit ratio " + f"{ca['hit_ratio']:.2f}")
    stale_seen = bool(forced["stale"])
    add("cache-aside", "potential stale data", "con", "supported" if stale_seen else "refuted",
        f"forced race: v1 served after v2 committed; measured under load: "
        f"{f_none['stale_reads']} stale reads (max {f_none['max_staleness_ms']:.1f} ms) vs "
        f"{f_ver['stale_reads']} with versioned sets",
        "one writer per product, concurrent readers; stale until TTL without a fix")
    gain = warm["hit_ratio"] - cold["hit_ratio"]
    add("cache-aside", "cache warming needed", "con", "supported" if gain > 0.05 else "qualified",
        f"measured: hit ratio {cold['hit_ratio']:.2f} cold vs {warm['hit_ratio']:.2f} warmed; "
        f"database reads {cold['db_reads']} vs {warm['db_reads']}",
        "short run; a cold cache costs one miss per distinct product read")
    return claims


def _write_through_claims(strategies: pd.DataFrame, writes: pd.DataFrame,
                          outage: pd.DataFrame, storage: pd.DataFrame) -> list[Claim]:
    """Write-through's pros and cons: freshness, steadiness, write cost, storage, outages."""
    ca = _one(strategies, strategy="cache-aside")
    wt = _one(strategies, strategy="write-through")
    wb = _one(strategies, strategy="write-behind")
    st_wt = _one(storage, strategy="write-through")
    o_wt = _one(outage, strategy="write-through", repair=False)
    o_wt_fix = _one(outage, strategy="write-through", repair=True)
    claims = _Claims()
    add = claims.add
    fresh = wt["stale_reads"] == 0
    add("write-through", "always fresh cache", "pro",
        ("qualified" if o_wt["stale after recovery"] > 0 else "supported") if fresh
        else "refuted",
        f"measured: {wt['stale_reads']} stale reads with one writer per product; but "
        f"{o_wt['stale after recovery']} stale products after a cache outage "
        f"({o_wt_fix['stale after recovery']} with failed updates replayed)",
        "fills use SET NX; single writer per product")
    steadier = wt["read_p99_ms"] <= ca["read_p99_ms"] and wt["hit_ratio"] >= ca["hit_ratio"]
    add("write-through", "predictable performance", "pro",
        "supported" if steadier else "qualified",
        f"measured: hit ratio {wt['hit_ratio']:.2f} vs cache-aside {ca['hit_ratio']:.2f}; read "
        f"p99 {wt['read_p99_ms']:.2f} ms vs {ca['read_p99_ms']:.2f} ms",
        "writes refresh instead of evicting, so hot products stay cached")
    w_none = _one(writes, strategy="none")
    w_ca = _one(writes, strategy="cache-aside")
    w_wt = _one(writes, strategy="write-through")
    w_wb = _one(writes, strategy="write-behind")
    extra = w_wt["write_p50_ms"] - w_none["write_p50_ms"]
    add("write-through", "write penalty", "con",
        "supported" if extra > 0.25 * w_none["write_p50_ms"] else "qualified",
        f"measured: write p50 {w_wt['write_p50_ms']:.2f} ms vs {w_none['write_p50_ms']:.2f} ms "
        f"without a cache ({extra:+.2f} ms) and {w_ca['write_p50_ms']:.2f} ms cache-aside; "
        f"write-behind {w_wb['write_p50_ms']:.2f} ms at the risk of {wb['lost_writes']} "
        f"lost writes",
        "one writer thread; the extra SET is one cache round trip, cache-aside pays a DEL")
    add("write-through", "cache storage overhead", "con",
        "supported" if st_wt["never_read_keys"] > 0 else "refuted",
        f"measured: {st_wt['never_read_bytes']} of {st_wt['cache_bytes']} bytes "
        f"({st_wt['never_read_keys']} of {st_wt['cached_keys']} keys) never read "
        f"({st_wt['bytes_measured_as']})",
        "every created product is cached; Zipf reads touch the head")
    add("write-through", "cache failure impact", "con",
        "supported" if o_wt["stale after recovery"] > 0 else "qualified",
        f"measured: writes acknowledged during the outage: {o_wt['writes acknowledged']}; "
        f"{o_wt['stale after recovery']} products disagreed with the database after recovery, "
        f"{o_wt_fix['stale after recovery']} when failed updates are replayed",
        "without a repair log the disagreement is silent until the TTL expires")


    return claims


def caching_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the strategy comparison, write costs, warm-up, race, outage and storage
    measurements and return the claims (label ``measured``).

    ``quick`` uses 600 requests (150 writes, 300 products); otherwise the notebook's sizes.
    """
    from ecomlab.caching.compare import strategies_frame, warmup_frame
    from ecomlab.caching.outage import outage_table
    from ecomlab.caching.race import race_frequency, race_table
    from ecomlab.caching.storage import storage_table

    requests, writes_n, products, reads = (600, 150, 300, 1000) if quick else (
        1500, 300, 500, 2000)
    claims = caching_claims(
        strategies=strategies_frame(requests=requests, seed=seed),
        writes=strategies_frame(write_ratio=1.0, requests=writes_n, threads=1, seed=seed),
        warmup=warmup_frame(requests=requests, seed=seed), race=race_table(),
        frequency=race_frequency(seed=seed), outage=outage_table(seed=seed),
        storage=storage_table(products=products, reads=reads, seed=seed))
    command = f"ecomlab claims --topic caching{' --quick' if quick else ''} --seed {seed}"
    return [replace(c, command=c.command or command) for c in claims]
