"""The seed's claims about search engines and database full-text search, judged by a run.

Every verdict is computed from a :func:`~ecomlab.search.experiment.run_search` result, so it
changes when the figures do. Claims no run can measure say so, and say what would measure them;
claims that rest on a count of moving parts are labelled ``model``.
"""

from __future__ import annotations

from typing import Any

from ecomlab.measure import Claim, Result, claims_frame

__all__ = ["ledger_frame", "search_claims", "search_ledger"]

TOPIC = "search"
ENGINE = "search engine"
DATABASE = "database full-text search"


def _mean(engine: dict[str, Any], metric: str, cls: str) -> float:
    value = engine["relevance"][cls][metric]
    return float(value) if value is not None else float("nan")


def _latency(engine: dict[str, Any], pct: str) -> float:
    """The worst class's percentile (ms): what a user of the slowest query class sees."""
    return float(max(v[pct] for v in engine["latency_ms"].values()))


def _features(engines: dict[str, Any], dbs: dict[str, Any]) -> tuple[str, bool, bool, bool]:
    """Typo / partial-word evidence; whether the engine wins typos on every database, whether
    databases pushed further ran, and whether one of them matches the engine on typos."""
    t = engines["tantivy"]
    typo_t = _mean(t, "ndcg@10", "typo")
    typo_db = {k: _mean(v, "ndcg@10", "typo") for k, v in dbs.items()}
    part_t = _mean(t, "ndcg@10", "partial")
    part_db = {k: _mean(v, "ndcg@10", "partial") for k, v in dbs.items()}
    empty_db = {k: v["relevance"]["typo"]["empty_share"] for k, v in dbs.items()}
    feat = (f"typo nDCG@10 tantivy {typo_t:.2f} vs "
            + ", ".join(f"{k} {v:.2f}" for k, v in typo_db.items())
            + f"; partial-word nDCG@10 tantivy {part_t:.2f} vs "
            + ", ".join(f"{k} {v:.2f}" for k, v in part_db.items())
            + "; typo queries answered with nothing: "
            + ", ".join(f"{k} {v:.0%}" for k, v in empty_db.items()) + " (measured)")
    pushed = {k: v for k, v in engines.items() if k in ("sqlite-trigram", "postgres-tuned")}
    if pushed:
        feat += ("; the databases pushed further (trigram substrings; weights, OR, pg_trgm typo "
                 "correction, prefixes): " + ", ".join(
                     f"{k} typo {_mean(v, 'ndcg@10', 'typo'):.2f}, partial "
                     f"{_mean(v, 'ndcg@10', 'partial'):.2f}, p50 {_latency(v, 'p50'):.2f} ms, "
                     f"{v['queries_per_search']:g} statements per search"
                     for k, v in pushed.items()) + " (measured)")
    pushed_match = any(_mean(v, "ndcg@10", "typo") >= typo_t for v in pushed.values())
    return feat, all(typo_t > v for v in typo_db.values()), bool(pushed), pushed_match


def _freshness(engines: dict[str, Any], sync: Any) -> str:
    """Write -> visible evidence, and the sync drill's drift when ``sync`` is given."""
    fresh = {k: v["freshness_ms"] for k, v in engines.items()}
    ev = ("write -> visible ms: " + ", ".join(f"{k} {v:.2f}" for k, v in fresh.items())
          + "; every write found by the first search after it (measured). "
            "Elasticsearch makes writes searchable at the next refresh, 1 s by default "
            "(model: index.refresh_interval)")
    if sync is not None:
        rows = {r["strategy"]: r for r in sync.to_dict("records")}
        dw, ob = rows["dual-write"], rows["outbox"]
        ev += (f"; keeping the copy in step under the same injected crashes (measured): dual "
               f"write {dw['faults']} crashes -> {dw['missing after']} missing, "
               f"{dw['stale after']} stale for good; outbox relayed through the broker "
               f"{ob['faults']} crashes -> {ob['missing after']} missing, {ob['stale after']} "
               f"stale after it drained ({ob['redeliveries']} redeliveries)")
    return ev


def search_claims(result: Result, sync: Any = None) -> list[Claim]:
    """The twelve claims, judged from ``result`` (needs tantivy and at least one database).

    Args:
        result: a :func:`~ecomlab.search.experiment.run_search` result.
        sync: optionally a :func:`~ecomlab.search.sync.sync_table` frame (dual write vs
            outbox under faults), added to the consistency evidence.
    """
    m = result.metrics
    engines: dict[str, Any] = m["engines"]
    if "tantivy" not in engines:
        raise KeyError("the search claims need a run with the tantivy engine")
    dbs = {k: v for k, v in engines.items() if k in ("sqlite", "postgres")}
    if not dbs:
        raise KeyError("the search claims need a run with sqlite or postgres")
    n = int(result.params["products"])
    command = f"ecomlab run search --products {n} --seed {result.seed}"
    cond = f"{n} generated products, {result.params['per_class']} judged queries per class"
    feat, engine_wins_typo, pushed, pushed_match = _features(engines, dbs)
    agree = bool(m.get("facets_agree"))
    stmts = {k: v["queries_per_search"] for k, v in engines.items()}
    facet_ev = (f"counts identical to SQL GROUP BY over the same matches for "
                f"{m.get('facets', {}).get('queries', 0)} queries: {agree}; statements per "
                "search " + ", ".join(f"{k} {v:g}" for k, v in stmts.items()) + " (measured)")
    p50 = {k: _latency(v, "p50") for k, v in engines.items()}
    p99 = {k: _latency(v, "p99") for k, v in engines.items()}
    lat_ev = ("slowest class p50 / p99 ms: "
              + ", ".join(f"{k} {p50[k]:.2f} / {p99[k]:.2f}" for k in engines) + " (measured)")
    faster = all(p99["tantivy"] < p99[k] for k in dbs)
    fresh = {k: v["freshness_ms"] for k, v in engines.items()}
    fresh_ev = _freshness(engines, sync)
    size_ev = ", ".join(f"{k} {v['index_bytes'] / 1e6:.2f} MB" for k, v in engines.items())
    return _claims(cond, command, ", ".join(dbs), feat, engine_wins_typo, pushed, pushed_match,
                   facet_ev, agree, lat_ev, faster, fresh_ev, size_ev,
                   ", ".join(f"{k} {v:.2f} ms" for k, v in fresh.items() if k in dbs),
                   ", ".join(f"{k} {p50[k]:.2f} ms" for k in dbs))


def _claims(cond: str, command: str, db_names: str, feat: str, engine_wins_typo: bool,
            pushed: bool, pushed_match: bool, facet_ev: str, agree: bool, lat_ev: str,
            faster: bool, fresh_ev: str, size_ev: str, db_fresh: str, db_p50: str
            ) -> list[Claim]:
    """The twelve claims from their evidence (see :func:`search_claims`)."""
    return [
        Claim(TOPIC, ENGINE, "advanced search features", "pro",
              "supported" if engine_wins_typo else "qualified", feat,
              cond + "; the engine runs the seed's fuzziness AUTO, the databases the seed's "
                     "plainto_tsquery / an FTS5 AND of the words", "measured", command),
        Claim(TOPIC, ENGINE, "faceted search", "pro", "qualified", facet_ev,
              cond + "; the engine aggregates in its own request, but the database computes "
                     "the same counts with GROUP BY", "measured", command),
        Claim(TOPIC, ENGINE, "performance", "pro", "supported" if faster else "qualified",
              lat_ev, cond + "; embedded engines, one process; benchmarks/bench_search.py "
                            "measures 100k products", "measured", command),
        Claim(TOPIC, ENGINE, "additional infrastructure", "con", "supported",
              "an engine is a second store holding a copy of every product: 2 systems to "
              f"write, size ({size_ev}, measured), back up and monitor instead of 1 (model)",
              "embedded tantivy runs in-process; Elasticsearch is a cluster to operate",
              "model", command),
        Claim(TOPIC, ENGINE, "eventual consistency", "con", "supported", fresh_ev,
              cond + "; tantivy: commit then reader reload; databases: visible at commit, "
                     "inside their transaction", "measured", command),
        Claim(TOPIC, ENGINE, "complexity", "con", "not measurable here",
              "not measurable here: it would take the code and hours a team spends keeping the "
              "index in step with the database; the sync drill (dual write vs an outbox relayed "
              "through the broker, under injected crashes) counts what goes wrong, not the effort",
              "", "model", ""),
        Claim(TOPIC, DATABASE, "single technology stack", "pro", "supported",
              "products and their full-text index live in one database: one system to run "
              f"(model); index and table sizes {size_ev} (measured)",
              "SQLite FTS5 or PostgreSQL tsvector + GIN", "model", command),
        Claim(TOPIC, DATABASE, "ACID compliance", "pro", "supported",
              "a product inserted with its index entry in one transaction is found by the "
              f"first search after commit: {db_fresh} (measured)", cond, "measured", command),
        Claim(TOPIC, DATABASE, "simpler architecture", "pro", "qualified",
              "no copy to keep in step and no sync path (model); the price is the search "
              "features the SQL cannot give (see 'limited search features')",
              "holds while search needs stay within SQL full-text", "model", command),
        Claim(TOPIC, DATABASE, "limited search features", "con",
              "supported" if engine_wins_typo and not pushed_match else "qualified", feat,
              cond + f"; {db_names} with the seed's SQL (no pg_trgm, no prefix search)"
              + ("; qualified when a database pushed further matches the engine on typos"
                 if pushed else ""),
              "measured", command),
        Claim(TOPIC, DATABASE, "performance at scale", "con",
              "supported" if faster else "qualified", lat_ev,
              cond + "; facets included (3 GROUP BY per search); see benchmarks/"
                     "bench_search.py for 100k products", "measured", command),
        Claim(TOPIC, DATABASE, "no faceted search", "con",
              "refuted" if agree else "qualified",
              facet_ev + f"; database p50 with facets {db_p50}",
              cond + "; SQL can compute facets, at 3 extra queries per search", "measured",
              command),
    ]


def search_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the experiment the claims need (1,000 products when quick, else 10,000)."""
    from ecomlab.search.experiment import run_search

    products = 1000 if quick else 10_000
    result = run_search(products, seed, ("tantivy", "sqlite", "postgres"),
                        per_class=4 if quick else 8, repeats=2 if quick else 5)
    from ecomlab.search.sync import sync_table

    return search_claims(result, sync_table(60 if quick else 200, 0.1, seed))


def ledger_frame(claims: list[Claim]) -> Any:
    """The claims as a table (id, kind, verdict, label, evidence), for the notebook."""
    df = claims_frame(claims)
    df.insert(0, "id", [c.id for c in claims])
    df["label"] = [c.label for c in claims]
    return df[["approach", "kind", "claim", "verdict", "label", "evidence"]]
