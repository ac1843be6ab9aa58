"""``ecomlab run catalog --json``: the contract, on the embedded stores."""

from __future__ import annotations

import json

import pytest

from ecomlab import cli
from ecomlab.catalog.claims import catalog_claims
from ecomlab.catalog.experiment import run_catalog
from ecomlab.measure import VERDICTS, claims_frame


def _run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


def test_run_catalog_json_has_the_documented_keys(capsys, monkeypatch) -> None:
    monkeypatch.delenv("ECOMLAB_SQL_URL", raising=False)
    monkeypatch.delenv("ECOMLAB_MONGO_URL", raising=False)
    data = _run_json(["run", "catalog", "--products", "400", "--seed", "3", "--category",
                      "Electronics", "--min-price", "50", "--max-price", "900", "--repeats",
                      "2", "--rounds", "1", "--readers", "2", "--json"], capsys)
    assert data["label"] == "measured"
    assert data["products"] == 400
    assert data["results_identical"] is True
    assert data["results_identical_after_rename"] is True
    assert isinstance(data["matches"], int) and data["matches"] > 0
    rel, doc = data["relational"], data["documents"]
    assert rel["backend"] == "duckdb" and doc["backend"] == "mongomock"
    for side in (rel, doc):
        assert side["load_s"] > 0
        assert 0 < side["query_ms"]["p50"] <= side["query_ms"]["p99"]
        assert side["storage_bytes"] > 0
    assert rel["rename_rows_touched"] == 1
    assert doc["rename_docs_touched"] == doc["brand_name_copies"] > 1
    assert rel["mixed_reads_during_rename"] == 0
    # one probe read per round is sent in mid-rename: mixed on the documents, never in SQL
    assert doc["rename"]["probe_reads"] == doc["rename"]["probe_mixed"] == 1
    assert doc["mixed_reads_during_rename"] >= 1
    assert rel["rename"]["probe_reads"] == 1 and rel["rename"]["probe_mixed"] == 0
    assert data["duplication_factor"] == doc["brand_name_copies"]


def test_an_injection_category_matches_nothing_and_changes_nothing(capsys) -> None:
    data = _run_json(["run", "catalog", "--products", "200", "--category",
                      "Electronics'; DROP TABLE products;--", "--repeats", "1", "--rounds", "1",
                      "--readers", "1", "--json"], capsys)
    assert data["matches"] == 0
    assert data["results_identical"] is True
    assert data["relational"]["rows_loaded"]["products"] == 200
    assert data["documents"]["documents_loaded"] == 200


def test_the_claims_ledger_covers_every_seed_claim_with_a_verdict() -> None:
    run = run_catalog(300, 5, repeats=2, readers=2, rounds=1)
    frame = claims_frame(catalog_claims(run))
    expected = {"ACID compliance", "complex queries", "data integrity", "schema rigidity",
                "join complexity", "scaling challenges", "flexible schema", "fast reads",
                "horizontal scaling", "data duplication", "eventual consistency",
                "limited transactions"}
    assert set(frame["claim"]) == expected
    assert set(frame["verdict"]) <= set(VERDICTS)
    scaling = frame[frame["claim"] == "horizontal scaling"].iloc[0]
    assert scaling["verdict"] == "not measurable here"
    assert "sharded" in scaling["evidence"]
    acid = frame[frame["claim"] == "ACID compliance"].iloc[0]
    assert acid["verdict"] == "supported"
