"""The search claims ledger: the seed's exact words, stable ids, verdicts read from a run."""

from __future__ import annotations

import copy

import pytest

from ecomlab.measure import Claim
from ecomlab.search.claims import search_claims, search_ledger
from ecomlab.search.experiment import run_search

EXPECTED = {
    ("search engine", "pro"): ["advanced search features", "faceted search", "performance"],
    ("search engine", "con"): ["additional infrastructure", "eventual consistency",
                               "complexity"],
    ("database full-text search", "pro"): ["single technology stack", "ACID compliance",
                                           "simpler architecture"],
    ("database full-text search", "con"): ["limited search features", "performance at scale",
                                           "no faceted search"],
}


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return run_search(300, 3, "tantivy,sqlite", per_class=2, repeats=1)


def test_the_ledger_holds_exactly_the_seeds_twelve_claims(result) -> None:  # type: ignore[no-untyped-def]
    claims = search_claims(result)
    got: dict[tuple[str, str], list[str]] = {}
    for c in claims:
        got.setdefault((c.approach, c.kind), []).append(c.claim)
    assert got == EXPECTED
    assert all(c.topic == "search" for c in claims)
    assert len({c.id for c in claims}) == 12
    assert "database-full-text-search-no-faceted-search" in {c.id for c in claims}


def test_every_claim_is_labelled_and_reproducible(result) -> None:  # type: ignore[no-untyped-def]
    for c in search_claims(result):
        assert c.label in ("measured", "model")
        if c.verdict == "not measurable here":
            assert "would" in c.evidence and c.command == ""
        else:
            assert c.command.startswith("ecomlab run search --products 300 --seed 3")
        assert c.evidence


def test_no_faceted_search_is_refuted_when_sql_counts_agree(result) -> None:  # type: ignore[no-untyped-def]
    claims = {c.claim: c for c in search_claims(result)}
    assert result.metrics["facets_agree"] is True
    assert claims["no faceted search"].verdict == "refuted"
    broken = copy.deepcopy(result)
    broken.metrics["facets_agree"] = False
    assert {c.claim: c for c in search_claims(broken)}["no faceted search"].verdict \
        == "qualified"


def test_feature_verdicts_follow_the_typo_figures(result) -> None:  # type: ignore[no-untyped-def]
    claims = {c.claim: c for c in search_claims(result)}
    assert claims["advanced search features"].verdict == "supported"
    flipped = copy.deepcopy(result)
    flipped.metrics["engines"]["tantivy"]["relevance"]["typo"]["ndcg@10"] = 0.0
    assert {c.claim: c for c in search_claims(flipped)}["advanced search features"].verdict \
        == "qualified"


def test_claims_need_the_engine_and_a_database(result) -> None:  # type: ignore[no-untyped-def]
    only_db = copy.deepcopy(result)
    del only_db.metrics["engines"]["tantivy"]
    with pytest.raises(KeyError):
        search_claims(only_db)


def test_the_ledger_runs_its_own_experiment() -> None:
    claims = search_ledger(quick=True, seed=1)
    assert len(claims) == 12 and all(isinstance(c, Claim) for c in claims)


def test_the_notes_name_each_engines_slowest_class_and_every_zero_score(result) -> None:  # type: ignore[no-untyped-def]
    from ecomlab.search.plots import latency_frame, latency_note, relevance_frame, relevance_note

    lat = latency_frame(result)
    text = latency_note(result)
    for engine, part in lat.groupby("engine"):
        slow = part.loc[part["p50_ms"].idxmax(), "class"]
        assert f"**{engine}**: slowest `{slow}`" in text
    rel = relevance_frame(result)
    zeros = rel[rel["ndcg@10"] == 0]
    assert not zeros.empty  # sqlite's AND of words finds no typo
    note_text = relevance_note(result)
    for r in zeros.itertuples():
        assert f"{r.engine} scores 0 and answered {r.empty_share:.0%}" in note_text
