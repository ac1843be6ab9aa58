"""The notebooks' qualitative statements, held by the same package calls the notebooks make.

Each test names the notebook sentence it holds. A statement that thread timing could flip is
either forced (hook points, barriers) or repeated over >= 20 seeded trials with a bound that
holds in every trial, so a failure is a regression, not luck.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from ecomlab.notebook import (
    PAGE_PX,
    _width_px,  # the estimate the split uses
    readable_log_axes,
    table,
)

TRIALS = 20


# ---------------------------------------------------------------- the display helper

def _claims_like() -> pd.DataFrame:
    return pd.DataFrame({
        "approach": ["strong consistency", "eventual consistency"],
        "claim": ["perfect inventory accuracy, no overselling", "high throughput"],
        "verdict": ["supported", "qualified"],
        "evidence": ["0 oversold units and 0 checker failures in 12 strong runs " * 4, "x"],
        "conditions": ["1–32 buyers; one hot SKU; each on its natural store (postgres)", "y"],
        "hit_ratio": [0.3429999999999999, 0.9295299999999997],
        "p99_ms": [1234.567, 2.0],
        "lost_writes": [3, 0], "loss_window_ms": [61.285, 0.0],
        "read_p50_ms": [0.1, 4.1], "read_p99_ms": [20.1, 68.5], "write_p50_ms": [10.5, 6.1],
    })


def test_tables_never_cut_an_evidence_column_and_round_every_float() -> None:
    df = _claims_like()
    shown = table(df)
    text, html = repr(shown), shown._repr_html_()
    for cell in (df.loc[0, "evidence"].strip(), df.loc[0, "conditions"]):
        assert cell in text and cell in html
    assert "..." not in text and "…" not in text
    assert "0.3429999999999999" not in text and "0.343" in text and "0.930" in text
    assert "1,235" in text  # >= 100: no decimals, thousands separated


def test_wide_tables_split_into_views_that_fit_the_page_and_keep_every_column() -> None:
    df = _claims_like()
    shown = table(df, keep=["approach"])
    assert len(shown.views) > 1
    for view in shown.views:
        assert view.columns[0] == "approach"
        px = sum(_width_px(view, c) for c in view.columns)
        assert px <= PAGE_PX or len(view.columns) == 2  # one column wider than a page wraps
    shown_cols = {c for v in shown.views for c in v.columns}
    assert shown_cols == set(df.columns)


def test_log_axes_label_ticks_with_their_full_values_only() -> None:
    import plotly.graph_objects as go

    narrow = readable_log_axes(go.Figure(go.Bar(x=["a", "b"], y=[0.05, 3.0]))
                               .update_yaxes(type="log"))
    vals, texts = narrow.layout.yaxis.tickvals, narrow.layout.yaxis.ticktext
    assert vals and len(vals) == len(texts)
    for v, t in zip(vals, texts, strict=True):
        assert float(t.replace(",", "")) == pytest.approx(v)  # "0.05", never a bare "5"
    wide = readable_log_axes(go.Figure(go.Scatter(x=[0.01, 100.0], y=[1, 2]))
                             .update_xaxes(type="log"))
    assert wide.layout.xaxis.dtick == 1  # one label per decade, minor ticks unlabelled


def test_the_explorer_shows_a_dataframe_through_the_table_helper_in_its_saved_state() -> None:
    import plotly.graph_objects as go

    from ecomlab import notebook

    box = notebook.explorer({}, lambda: (pd.DataFrame({"p99_ms": [1.23456]}),
                                         go.Figure(go.Bar(y=[1, 2]))))
    assert isinstance(box.last_shown[0], notebook.Table)
    outputs = box.children[-1].outputs  # what the notebook's widget state stores
    assert "1.23" in outputs[0]["data"]["text/html"]
    assert "application/vnd.plotly.v1+json" in outputs[1]["data"]


# ---------------------------------------------------------------- 01 inventory

def test_01_one_unit_cache_check_oversells_at_most_buyers_minus_one_and_compensates_all() -> None:
    """01 section 2: cache-check oversells, "one-unit orders oversell by at most buyers − 1";
    section 4: every oversell is compensated."""
    from ecomlab.inventory import run_inventory

    buyers = 8
    for seed in range(TRIALS):
        r = run_inventory("cache-check", stock=3, buyers=buyers, orders=40, seed=seed,
                          max_quantity=1).report
        # section 2 "now oversold_units is not zero": with 8 buyers on 3 units it always is
        assert 0 < r.oversold_units <= buyers - 1, seed
        assert r.uncompensated_oversold_units == 0 and r.valid, (seed, r.anomalies)


def test_01_with_one_buyer_nothing_oversells_and_optimistic_never_retries() -> None:
    """01 section 4: "with one buyer nobody else is in flight": no oversell, no retry."""
    from ecomlab.inventory import run_inventory

    for seed in range(TRIALS):
        cc = run_inventory("cache-check", stock=3, buyers=1, orders=10, seed=seed)
        opt = run_inventory("optimistic", stock=3, buyers=1, orders=10, seed=seed)
        assert cc.report.oversold_units == 0, seed
        assert opt.result.metrics["retries"] == 0, seed


def test_01_refunds_without_idempotency_keys_are_caught_as_double_refunds_in_every_trial(
) -> None:
    """01 section 3: the notebook's "careless" run (seed 42) shows double refunds, unbalanced
    payments and verdict False; its output is compared by nbval, so it must hold every time."""
    from ecomlab.inventory import run_inventory

    for trial in range(TRIALS):
        r = run_inventory("cache-check", stock=2, buyers=32, orders=128, seed=42,
                          validator_crash_step=2, validator_restart_ms=0.5,
                          idempotent_refunds=False).report
        # the validator dies after every first refund, before its ack: each redelivery refunds
        # again, so every cancelled order is refunded twice whatever the threads did
        assert r.orders_cancelled > 0 and r.double_refunds == r.orders_cancelled, (trial, r)
        assert not r.books_balance and not r.valid, trial
        assert r.uncompensated_oversold_units == 0 and r.conservation_ok, trial


def test_01_sweep_facts_read_the_leaders_and_counts_from_the_sweep() -> None:
    from ecomlab.inventory import sweep_facts

    rows = []
    speeds = {"row-lock": (100, 900), "conditional-update": (120, 700), "optimistic": (90, 300),
              "cache-check": (300, 2000), "atomic-reserve": (280, 2100)}
    for strategy, (one, top) in speeds.items():
        for buyers, per_s in ((1, one), (32, top)):
            over = 31 if (strategy == "cache-check" and buyers == 32) else 0
            rows.append({"strategy": strategy, "buyers": buyers, "throughput_per_s": per_s,
                         "oversold_units": over, "uncompensated_oversold_units": 0,
                         "retries": 7 if strategy == "optimistic" and buyers == 32 else 0})
    facts = sweep_facts(pd.DataFrame(rows))
    assert facts["strong_leader"] == "row-lock" and facts["eventual_leader"] == "atomic-reserve"
    assert facts["family_ratio"] == pytest.approx(2100 / 900)
    assert facts["family_ratio_one"] == pytest.approx(300 / 120)
    assert facts["strong_leads"] == {"row-lock": 1, "conditional-update": 1, "optimistic": 0}
    assert facts["oversellers"] == ["cache-check"]
    assert facts["oversold_by_buyers"] == {1: 0, 32: 31}
    assert facts["retries_by_buyers"] == {1: 0, 32: 7}


def test_01_the_lock_share_of_the_slowest_buyers_is_read_from_their_own_waits() -> None:
    """01 section 1: "the slowest 1 % of buyers waited N ms or more, X % of it queueing for the
    hot row's lock": the share is of those buyers' own time, so it lies in [0, 1] (the wait is
    timed inside the call) and counts only the orders at or above the p99."""
    from types import SimpleNamespace

    import numpy as np

    from ecomlab.inventory import lock_facts, run_inventory, tail_lock_share

    fake = SimpleNamespace(latencies_ms=np.array([1.0] * 99 + [100.0]),
                           lock_wait_ms=np.array([1.0] * 99 + [25.0]))
    assert tail_lock_share(fake) == pytest.approx(0.25)  # type: ignore[arg-type]
    for seed in (1, 2, 3):
        run = run_inventory("row-lock", stock=10, buyers=8, orders=40, seed=seed)
        share = lock_facts({"row-lock": run})["row-lock"]["tail_lock_share"]
        assert 0.0 <= share <= 1.0, (seed, share)
        assert (run.lock_wait_ms <= run.latencies_ms).all(), seed


# ---------------------------------------------------------------- 02 catalog

def test_02_every_rename_round_forces_a_mixed_document_read_and_no_mixed_sql_read() -> None:
    """02 section 5: the mixed reads are forced: one probe per round, mixed on the documents
    every time, never in SQL."""
    from ecomlab.catalog import rename_timelines

    for seed in (1, 2, 3):
        sql_mix, doc_mix = rename_timelines(300, seed, readers=2, rounds=3)
        assert doc_mix.probe_reads == doc_mix.probe_mixed == 3
        assert doc_mix.mixed_reads >= 3
        assert sql_mix.probe_reads == 3 and sql_mix.probe_mixed == 0
        assert sql_mix.mixed_reads == 0


# ---------------------------------------------------------------- 04 queue vs direct

def test_04_the_thread_wait_is_part_of_each_response_and_outcomes_split_the_checkouts() -> None:
    """04 section 1: the sentence reads the wait for a request thread and the medians of the
    checkouts that succeeded and failed; the wait is part of each response (quantiles of a part
    never exceed those of the whole) and the two groups count every checkout."""
    from ecomlab.messaging import run_messaging

    for seed in (1, 2, 3):
        m = run_messaging("direct", orders=60, failure_rate=0.3, seed=seed).metrics
        wait, response = m["thread_wait_ms"], m["response_ms"]
        assert wait["count"] == response["count"] == 60, seed
        for q in ("p50", "p95", "p99", "max"):
            assert 0.0 <= wait[q] <= response[q], (seed, q)
        assert m["completion_ms"]["count"] == m["succeeded"], seed
        assert m["failed_response_ms"]["count"] == m["failed"], seed


# ---------------------------------------------------------------- 06 caching

def test_06_the_ttl_slider_offers_exactly_the_ttls_the_run_uses() -> None:
    from ecomlab.caching.widget import TTL_CHOICES_S, caching_explorer, explore_caching

    box = caching_explorer(products=40, requests=60)
    controls = box.children[1].children
    ttl = next(c for c in controls if c.description == "TTL (s)")
    pairs = ttl._options_full  # (label, value) as the slider shows and returns them
    assert [v for _, v in pairs] == list(TTL_CHOICES_S)
    assert [label for label, _ in pairs] == [f"{v:g}" for v in TTL_CHOICES_S]
    assert ttl.value == 30.0
    note, _, _ = explore_caching(ttl_s=ttl.value, cache_size=10, products=40, requests=60)
    assert "TTL 30 s" in note and "does not apply" in note


def test_06_the_forced_race_is_stale_without_a_fix_and_fresh_with_versioned_sets() -> None:
    """06 section 3: deterministic through the race's events."""
    from ecomlab.caching import race_table

    for _ in range(3):
        t = race_table().set_index(["fix", "reader"])["stale"]
        assert t.to_dict() == {("none", "fast"): True, ("versioned", "fast"): False,
                               ("double-delete", "fast"): False,
                               ("double-delete", "slow"): True}


def test_06_only_write_behind_loses_writes_and_none_never_hits() -> None:
    """06 section 1: "`none` never hits"; only write-behind can lose an acknowledged write."""
    from ecomlab.caching import strategies_frame

    f = strategies_frame(requests=200, products=40, seed=3).set_index("strategy")
    assert f.loc["none", "hit_ratio"] == 0
    assert (f.drop(index="write-behind")["lost_writes"] == 0).all()


def test_06_a_cold_cache_pays_at_least_one_database_read_per_distinct_product_read() -> None:
    """06 section 1 (cold start): "a cold cache pays one miss for the first read of each distinct
    product"; the products read (and read once) are the seeded workload's, the same warm or cold."""
    from ecomlab.caching import warmup_frame

    for seed in (1, 2, 3):
        w = warmup_frame(requests=300, products=60, seed=seed).set_index("start")
        cold, warmed = w.loc["cold"], w.loc["warmed"]
        assert cold["db_reads"] >= cold["products_read"] > 0, seed
        assert cold["products_read"] == warmed["products_read"], seed
        assert cold["products_read_once"] == warmed["products_read_once"], seed
        assert 0 <= cold["products_read_once"] <= cold["products_read"], seed


# ---------------------------------------------------------------- every notebook

def _notebooks() -> list[str]:
    from pathlib import Path

    return sorted(str(p) for p in (Path(__file__).parents[2] / "notebooks").glob("0*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_section_a_notebook_points_to_exists_and_is_about_what_it_says(path: str) -> None:
    """06 said "section 4 makes the race visible" when the race was section 3: a reference
    names a numbered heading of the same notebook."""
    import json
    import re
    from pathlib import Path

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)  # prose and the say(...) cells
    headings = {m.group(1) for m in re.finditer(r"^##+ (\d+)\s*[.·]", text, re.M)}
    for ref in re.finditer(r"\bsection (\d+)\b", text):
        assert ref.group(1) in headings, f"{path}: 'section {ref.group(1)}' has no heading"
    if path.endswith("06_caching_strategies.ipynb"):
        race = re.search(r"^## (\d+)\. Staleness", text, re.M)
        assert race is not None
        assert f"section {race.group(1)}" in text  # the stale-read prose points at the race


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_numbered_sections_run_one_to_n_without_a_gap(path: str) -> None:
    """Rewriting a section's first paragraph once dropped the heading and introduction that
    followed it in the same cell (01 went 1, 2, 3, 4, 7): the numbered ``##`` headings of a
    notebook count 1, 2, 3, ... (a lettered 3b, 3c continues its number)."""
    import json
    import re
    from pathlib import Path

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    numbers = [int(m.group(1)) for m in re.finditer(r"^## (\d+)[a-z]?\s*[.·]", text, re.M)]
    distinct = list(dict.fromkeys(numbers))
    assert distinct == list(range(1, len(distinct) + 1)), f"{path}: sections {numbers}"


def test_06_outage_counts_depend_only_on_the_seed_and_repair_leaves_nothing_stale() -> None:
    """06 section 4: "These counts depend only on the seed"; every read is served and every
    write acknowledged during the outage; without repair products are stale after recovery,
    with repair none is, and each failed key is repaired."""
    from ecomlab.caching import outage_table

    first, again = outage_table(seed=42), outage_table(seed=42)
    pd.testing.assert_frame_equal(first, again)
    for _, row in first.iterrows():
        served, total = row["reads served"].split("/")
        assert served == total
        acked, writes = row["writes acknowledged"].split("/")
        assert acked == writes
    stale = first.set_index(["strategy", "repair"])["stale after recovery"]
    repaired = first.set_index(["strategy", "repair"])["repaired keys"]
    for strategy in ("cache-aside", "write-through", "write-behind"):
        assert stale[(strategy, False)] > 0
        assert stale[(strategy, True)] == 0
        assert repaired[(strategy, True)] == stale[(strategy, False)]


def test_06_write_through_hits_more_often_than_cache_aside_in_every_seeded_trial() -> None:
    """06 section 1: "Write-through keeps a hot product cached across its price changes;
    cache-aside deletes it and pays a miss on the next read" (margin >= 0.05 in 20 trials)."""
    from ecomlab.caching.experiment import run_caching

    for seed in range(TRIALS):
        kw = {"products": 50, "requests": 300, "write_ratio": 0.1, "db_latency_ms": 0.5,
              "seed": seed}
        aside = run_caching("cache-aside", **kw).metrics["hit_ratio"]  # type: ignore[arg-type]
        through = run_caching("write-through", **kw).metrics["hit_ratio"]  # type: ignore[arg-type]
        assert through > aside, (seed, aside, through)


# ---------------------------------------------------------------- 07 search

@pytest.fixture(scope="module")
def search_engines() -> Iterator[dict[str, Any]]:
    """07's engines: sqlite, embedded postgres, tantivy on 2,000 products (seed 42)."""
    from ecomlab.search import close_engines, open_engines

    everything, _ = open_engines(2000, 42, ("sqlite", "postgres", "tantivy"))
    yield everything
    close_engines(everything)


def test_07_the_typo_is_found_only_by_the_engine_and_its_snippets_are_matched_terms(
        search_engines: dict[str, Any]) -> None:
    """07 section 2: "the two databases have no hit to show" for `Laptpo`; tantivy's
    highlighter returns nothing for the fuzzy hit, so its words are marked as matched terms."""
    from ecomlab.search import search_request

    request = search_request("Laptpo", limit=10, snippets=True)
    found = {name: e.search(request) for name, e in search_engines.items()}
    assert found["sqlite"].hits == [] and found["postgres"].hits == []
    hits = found["tantivy"].hits
    assert hits and all(h.snippet is not None and h.snippet.method == "matched terms"
                        and "<mark>Laptop</mark>" in h.snippet.title for h in hits)


def test_07_an_exact_word_is_marked_by_every_engines_own_highlighter(
        search_engines: dict[str, Any]) -> None:
    """07 section 2: "an exact word, which every engine's own highlighter marks"."""
    from ecomlab.search import search_request

    request = search_request("Laptop", limit=2, snippets=True)
    for name, engine in search_engines.items():
        hits = engine.search(request).hits
        assert len(hits) == 2
        assert all(h.snippet is not None and h.snippet.method == "engine" for h in hits), name


def test_07_under_the_same_crashes_dual_write_drifts_and_the_broker_outbox_converges() -> None:
    """07 section 6b, with the notebook's parameters: the same crashes for both strategies;
    dual write's drift is at most its crash count and above zero; the outbox ends exact."""
    from ecomlab.search import sync_table

    table = sync_table(writes=80, fault_rate=0.1, seed=42).set_index("strategy")
    dual, outbox = table.loc["dual-write"], table.loc["outbox"]
    assert dual["faults"] == outbox["faults"] > 0
    assert 0 < dual["missing after"] + dual["stale after"] <= dual["faults"]
    assert outbox["missing after"] == outbox["stale after"] == outbox["extra after"] == 0
    assert outbox["redeliveries"] == outbox["faults"]
    assert table.attrs["broker"] in ("in-process", "rabbitmq")


# ---------------------------------------------------------------- 05 monolith vs microservices

def test_05_each_callee_opens_a_server_span_under_the_hop_that_sent_its_traceparent() -> None:
    """05 §2: "the order service opens a client span per HTTP hop and passes the header on,
    and each callee opens a server span under it"."""
    from ecomlab.architecture import compare_styles

    _, waterfall = compare_styles(6, concurrency=1, transport="asgi")
    micro = waterfall[waterfall["style"] == "microservices"]
    hops = micro[micro["handler_ms"].notna()]
    handlers = micro[micro["kind"] == "SERVER"]
    assert len(hops) == 4 and len(handlers) == 5  # four hops, five servers with the entry
    assert (hops["network_ms"] >= 0).all()
    mono = waterfall[waterfall["style"] == "monolith"]
    assert mono["handler_ms"].isna().all()  # module calls, no hop


def test_05_the_replicas_of_the_hot_service_serve_in_turn_in_every_seeded_trial() -> None:
    """05 §3: "the order service's callers balance each dependency the same way (attempt i
    goes to replica i mod n)" — the replicas' request counts differ by at most one."""
    from ecomlab.architecture import replica_scaling

    for seed in range(3):
        table = replica_scaling("microservices", service="inventory", clients=(1, 2, 3),
                                orders=8, seed=seed, transport="asgi")
        served = table[table["replicas"] == 2].iloc[-1]["served_by_replica"]["inventory"]
        assert len(served) == 2 and abs(served[0] - served[1]) <= 1 and min(served) > 0
