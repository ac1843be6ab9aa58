"""Decision framework without stores: profile schema, rules, engine, evidence and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecomlab.cli import main
from ecomlab.decide.engine import MAIN_DECISIONS, decide, evaluate, flip_points
from ecomlab.decide.ledger import Ledger, bundled_ledger, collect_ledger, read_ledger
from ecomlab.decide.profile import DATA_ITEMS, default_profile, load_profile, parse_profile
from ecomlab.decide.rules import CHOICES, CONFIDENCES, load_rules, parse_rules
from ecomlab.errors import InvalidInput
from ecomlab.measure import Claim, claim_id
from ecomlab.topics import TOPICS, Topic

RULES = load_rules()

AGREED = {
    "architecture": {
        "monolith": (["simple deployment", "easy debugging", "ACID transactions"],
                     ["technology lock-in", "scaling bottlenecks", "team coordination issues"]),
        "microservices": (["technology diversity", "independent scaling", "team autonomy"],
                          ["distributed complexity", "network latency",
                           "data consistency challenges"]),
    },
    "search": {
        "search engine": (["advanced search features", "faceted search", "performance"],
                          ["additional infrastructure", "eventual consistency", "complexity"]),
        "database full-text search": (["single technology stack", "ACID compliance",
                                       "simpler architecture"],
                                      ["limited search features", "performance at scale",
                                       "no faceted search"]),
    },
}


def _agreed_ids(topic: str) -> set[str]:
    return {claim_id(approach, c) for approach, (pros, cons) in AGREED[topic].items()
            for c in pros + cons}


def _fired(profile: dict[str, Any], rule_id: str) -> bool:
    rule = RULES.get(rule_id)
    items: list[str | None] = ([i for i in rule.items if i in profile["data"]] if rule.items
                               else [None])
    for item in items:
        res = evaluate(profile, rule.decision, item=item)
        if rule_id in {r["id"] for r in res["fired_rules"] + res["against"]}:
            return True
    return False


# (rule, profile that fires it, profile that does not)
SEED_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("seed-strong-financial", {}, {"data": ["catalog"]}),
    ("seed-strong-inventory", {}, {"data": ["payments"]}),
    ("seed-strong-auth", {}, {"data": ["inventory"]}),
    ("seed-strong-compliance", {"compliance": ["pci"]}, {}),
    ("seed-eventual-catalog", {}, {"data": ["payments"]}),
    ("seed-eventual-activity", {}, {"data": ["payments"]}),
    ("seed-eventual-recommendations", {}, {"data": ["payments"]}),
    ("seed-eventual-analytics", {}, {"data": ["payments"]}),
    ("seed-microservices-large-team", {"team.developers": 51}, {"team.developers": 50}),
    ("seed-microservices-per-domain-technology", {"domain.per_domain_technology": True}, {}),
    ("seed-microservices-independent-scaling", {"domain.independent_scaling": True}, {}),
    ("seed-microservices-regulatory-isolation", {"domain.regulatory_isolation": True}, {}),
    ("seed-monolith-small-team", {"team.developers": 9}, {"team.developers": 10}),
    ("seed-monolith-simple-domain", {"domain.complexity": "simple"}, {}),
    ("seed-monolith-prototype", {"phase": "prototype"}, {"phase": "mature"}),
    ("seed-monolith-cross-domain-consistency", {"domain.cross_domain_consistency": True}, {}),
]


def _profile(overrides: dict[str, Any]) -> dict[str, Any]:
    overrides = dict(overrides)
    developers = overrides.pop("team.developers", 20)
    return default_profile(developers, **overrides)


def test_every_seed_rule_is_covered_by_a_case() -> None:
    assert {r.id for r in RULES.seed_rules()} == {case[0] for case in SEED_CASES}


@pytest.mark.parametrize(("rule_id", "fires", "quiet"), SEED_CASES,
                         ids=[c[0] for c in SEED_CASES])
def test_each_seed_rule_fires_for_one_profile_and_not_for_another(
        rule_id: str, fires: dict[str, Any], quiet: dict[str, Any]) -> None:
    assert _fired(_profile(fires), rule_id)
    assert not _fired(_profile(quiet), rule_id)


def _architecture(developers: int) -> str:
    return str(evaluate(default_profile(developers), "architecture")["choice"])


def test_architecture_flips_exactly_at_the_seeds_team_thresholds() -> None:
    assert _architecture(9) == "monolith"
    assert _architecture(10) == "modular-monolith"
    assert _architecture(50) == "modular-monolith"
    assert _architecture(51) == "microservices"
    assert flip_points(default_profile(20), "architecture") == [(10, "modular-monolith"),
                                                                 (51, "microservices")]


def test_between_the_thresholds_the_answer_is_a_modular_monolith_at_medium_or_low() -> None:
    for developers in (10, 30, 50):
        res = evaluate(default_profile(developers), "architecture")
        assert res["choice"] == "modular-monolith"
        assert res["confidence"] in ("medium", "low")
    scaled = decide({"team": {"developers": 30}, "domain": {"independent_scaling": True}})
    arch = scaled["decisions"]["architecture"]
    assert arch["choice"] == "modular-monolith" and arch["confidence"] == "low"
    assert [r["id"] for r in arch["against"]] == ["seed-microservices-independent-scaling"]
    assert any("team.developers reaches 51" in t for t in arch["revisit_when"])


def test_a_large_team_needing_cross_domain_consistency_names_the_conflict_and_its_cost(
        ) -> None:
    res = decide({"team": {"developers": 120}, "domain": {"cross_domain_consistency": True}})
    arch = res["decisions"]["architecture"]
    assert arch["choice"] == "microservices" and arch["confidence"] == "low"
    assert arch["conflict"]["id"] == "conflict-large-team-cross-domain-consistency"
    assert "sagas" in arch["conflict"]["cost"]
    assert "conflict between" in arch["summary"]
    assert [r["id"] for r in arch["against"]] == ["seed-monolith-cross-domain-consistency"]


def test_a_close_call_is_never_a_silent_default() -> None:
    res = evaluate(default_profile(20, **{"compliance": ["sox"]}), "consistency",
                   item="analytics")
    assert res["conflict"] is not None and res["confidence"] == "low"
    assert set(res["conflict"]["between"]) == {"strong", "eventual"}


REACH: dict[str, dict[str, dict[str, Any]]] = {
    "architecture": {"monolith": {"team.developers": 5}, "modular-monolith": {},
                     "microservices": {"team.developers": 60}},
    "inventory": {
        "conditional-update": {},
        "row-lock": {"domain.cross_domain_consistency": True},
        "optimistic": {"load.peak_orders_per_s": 5, "domain.complexity": "complex"},
        "atomic-reserve": {"load.peak_orders_per_s": 300},
        "cache-check": {"load.peak_orders_per_s": 300, "data": ["catalog", "payments"]}},
    "catalog": {"relational": {}, "documents": {"catalog.attribute_variety": "high",
                                                "catalog.schema_changes_per_month": 6}},
    "processing": {"sync": {"load.peak_orders_per_s": 10}, "async": {}},
    "messaging": {"direct": {"load.peak_to_mean": 2}, "queue": {}},
    "caching": {"none": {"load.read_write_ratio": 1}, "cache-aside": {},
                "write-through": {"catalog.products": 5000},
                "write-behind": {"load.read_write_ratio": 1, "load.peak_orders_per_s": 600,
                                 "data": ["catalog", "activity"]}},
    "search": {"database": {}, "engine": {"search.facets": True}},
}


@pytest.mark.parametrize("decision", [d for d in CHOICES if d != "consistency"])
def test_every_choice_is_reachable(decision: str) -> None:
    assert set(REACH[decision]) == set(CHOICES[decision])
    for choice, overrides in REACH[decision].items():
        assert evaluate(_profile(overrides), decision)["choice"] == choice, (decision, choice)


def test_both_consistency_choices_and_every_confidence_are_reachable() -> None:
    res = decide({"team": {"developers": 30}, "compliance": ["pci"]})
    seen = {r["choice"] for r in res["decisions"]["consistency"].values()}
    assert seen == {"strong", "eventual"}
    confidences = {r["confidence"] for r in res["decisions"]["consistency"].values()}
    confidences |= {res["decisions"][d]["confidence"] for d in MAIN_DECISIONS}
    assert confidences == set(CONFIDENCES)


def test_the_result_has_the_documented_shape() -> None:
    res = decide({"team": {"developers": 12}})
    assert set(res["decisions"]) == {*MAIN_DECISIONS, "consistency"}
    assert set(res["decisions"]["consistency"]) == set(DATA_ITEMS)
    for d in MAIN_DECISIONS:
        rec = res["decisions"][d]
        assert rec["choice"] in CHOICES[d] and rec["confidence"] in CONFIDENCES
        for key in ("fired_rules", "against", "evidence", "revisit_when"):
            assert isinstance(rec[key], list)
        for row in rec["evidence"]:
            assert {"topic", "claim", "verdict", "label", "figures", "command"} <= set(row)
            assert row["command"].startswith("ecomlab ")
    assert res["profile"]["team"]["teams"] == 2  # ceil(12 / 8)
    json.dumps(res)


def test_every_cited_claim_exists_in_its_topics_ledger() -> None:
    ledger = bundled_ledger()
    registered = {t.slug for t in TOPICS if t.ledger}
    assert registered <= set(ledger.topics())
    cites = [c for r in RULES.rules for c in r.cites] + [c for k in RULES.conflicts
                                                         for c in k.cites]
    for topic, claim in cites:
        if topic in AGREED:  # the claims topics 05 and 07 agreed to measure
            assert claim in _agreed_ids(topic), (topic, claim)
        if topic in registered:
            assert ledger.find(topic, claim) is not None, (topic, claim)
        else:
            assert topic in AGREED, topic


def test_every_evidence_row_of_every_reachable_profile_matches_the_ledger() -> None:
    ledger = bundled_ledger()
    for cases in REACH.values():
        for overrides in cases.values():
            res = decide({**_nested(overrides)}, ledger=ledger)
            recs = [res["decisions"][d] for d in MAIN_DECISIONS]
            recs += list(res["decisions"]["consistency"].values())
            for rec in recs:
                for row in rec["evidence"]:
                    claim = ledger.find(row["topic"], row["claim"])
                    if claim is None:
                        assert ledger.status(row["topic"]) == "missing"
                        assert row["verdict"] == "not measurable here"
                        assert row["command"] == f"ecomlab claims --topic {row['topic']} --quick"
                    else:
                        assert (row["verdict"], row["label"], row["figures"]) == (
                            claim.verdict, claim.label, claim.evidence)


def _nested(overrides: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"team": {"developers": overrides.get("team.developers", 20)}}
    for path, value in overrides.items():
        if path == "team.developers":
            continue
        head, _, tail = path.partition(".")
        if tail:
            data.setdefault(head, {})[tail] = value
        else:
            data[head] = value
    return data


# ------------------------------------------------------------------------- the profile

@pytest.mark.parametrize(("data", "message"), [
    ({"team": {"developers": 5}, "colour": "red"}, r"unknown key 'colour'"),
    ({"team": {"developers": 5, "size": 3}}, r"unknown key 'team.size'"),
    ({"team": {"developers": 0}}, r"'team.developers': got 0; valid: a whole number >= 1"),
    ({"team": {"developers": "ten"}}, r"'team.developers': got 'ten'"),
    ({"team": {"developers": True}}, r"'team.developers': got True"),
    ({"team": {"developers": 2.5}}, r"'team.developers': got 2.5"),
    ({"team": {}}, r"'team.developers' is required"),
    ({}, r"'team.developers' is required"),
    ({"team": {"developers": 5}, "phase": "beta"}, r"'phase': got 'beta'; valid: 'prototype'"),
    ({"team": {"developers": 5}, "load": {"read_write_ratio": 0}}, r"a number > 0"),
    ({"team": {"developers": 5}, "load": {"peak_to_mean": 0.5}}, r"a number >= 1"),
    ({"team": {"developers": 5}, "domain": {"independent_scaling": "yes"}}, r"true or false"),
    ({"team": {"developers": 5}, "data": ["payments", "gold"]}, r"unknown data item 'gold'"),
    ({"team": {"developers": 5}, "data": "payments"}, r"'data': got 'payments'"),
    ({"team": {"developers": 5}, "compliance": [3]}, r"'compliance': got \[3\]"),
    ({"team": 5}, r"'team': got 5; valid: a mapping"),
    ([1, 2], r"a profile is a mapping"),
])
def test_a_bad_profile_names_the_field_the_value_and_the_valid_values(
        data: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_profile(data)


def test_defaults_are_filled_in_and_stated_in_the_help(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    p = parse_profile({"team": {"developers": 17}})
    assert p["team"]["teams"] == 3 and p["phase"] == "growth"
    assert p["data"] == list(DATA_ITEMS) and p["compliance"] == []
    with pytest.raises(SystemExit):
        main(["decide", "--help"])
    out = capsys.readouterr().out
    for path in ("team.teams", "domain.complexity", "load.peak_to_mean", "search.facets",
                 "compliance"):
        assert path in out
    assert "ceil(developers / 8)" in out


def test_profiles_load_from_yaml_and_json(tmp_path: Path) -> None:
    y = tmp_path / "shop.yaml"
    y.write_text("name: s\nteam: {developers: 6}\nphase: prototype\n")
    j = tmp_path / "shop.json"
    j.write_text(json.dumps({"name": "s", "team": {"developers": 6}, "phase": "prototype"}))
    assert load_profile(y) == load_profile(j)
    bad = tmp_path / "bad.yaml"
    bad.write_text("team: [\n")
    with pytest.raises(InvalidInput, match="is not YAML"):
        load_profile(bad)


# ------------------------------------------------------------------------- the rules

def _one_rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": "r", "decision": "search", "when": {"always": True},
                            "supports": "engine", "weight": 1, "rationale": "because",
                            "cites": [{"topic": "search", "claim": "x"}]}
    rule.update(changes)
    return {"rules": [rule]}


@pytest.mark.parametrize(("changes", "message"), [
    ({"colour": 1}, "unknown key 'colour'"),
    ({"decision": "pricing"}, "unknown decision 'pricing'"),
    ({"supports": "solr"}, "unknown choice 'solr'"),
    ({"weight": 0}, "weight must be a number > 0"),
    ({"when": "team.developers > 50"}, "a condition is a mapping"),
    ({"when": {"field": "__import__('os')", "gt": 1}}, "unknown profile field"),
    ({"when": {"field": "team.developers", "gt": "50"}}, "needs a number"),
    ({"when": {"field": "phase", "eq": "beta"}}, "valid: 'prototype'"),
    ({"when": {"field": "search.facets", "gt": 1}}, "takes 'is: true|false'"),
    ({"when": {"field": "data", "contains": "gold"}}, "contains 'gold'"),
    ({"cites": [{"topic": "pricing", "claim": "x"}]}, "unknown topic 'pricing'"),
    ({"opposes": "engine"}, "exactly one of 'supports' or 'opposes'"),
])
def test_the_rules_file_is_validated_at_load(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_rules(_one_rule(**changes))


def test_conditions_combine_without_evaluating_text() -> None:
    rs = parse_rules(_one_rule(when={"all": [
        {"field": "team.developers", "ge": 10},
        {"not": {"field": "compliance", "empty": True}},
        {"any": [{"field": "phase", "in": ["growth", "mature"]},
                 {"field": "search.facets", "is": True}]}]}))
    rule = rs.rules[0]
    assert rule.applies(default_profile(10, compliance=["pci"]))
    assert not rule.applies(default_profile(9, compliance=["pci"]))
    assert not rule.applies(default_profile(10))
    assert not rule.applies(default_profile(10, compliance=["pci"], phase="prototype"))


# ------------------------------------------------------------------------- the ledger

def _fake_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    return [Claim("inventory", "strong consistency", "no overselling", "pro", "supported",
                  f"seed {seed}, quick {quick}", command="ecomlab claims --topic inventory")]


def _broken_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    raise InvalidInput("no server")


def test_the_ledger_lists_unregistered_topics_as_missing_and_round_trips(tmp_path: Path
                                                                         ) -> None:
    registry = [Topic("01", "inventory", "t", "q", "01_x.ipynb", "c",
                      ledger="tests.unit.test_decide:_fake_ledger"),
                Topic("04", "messaging", "t", "q", "04_x.ipynb", "c",
                      ledger="tests.unit.test_decide:_broken_ledger"),
                Topic("05", "architecture", "t", "q", "05_x.ipynb", "c")]
    ledger = collect_ledger(quick=True, seed=7, registry=registry)
    topics = ledger.provenance["topics"]
    assert topics["inventory"]["status"] == "measured" and topics["inventory"]["claims"] == 1
    assert topics["messaging"] == {"status": "failed", "claims": 0,
                                   "seconds": topics["messaging"]["seconds"],
                                   "reason": "no server"}
    assert topics["architecture"]["status"] == "missing"
    for key in ("ecomlab", "created_at", "machine", "stores", "quick", "seed"):
        assert key in ledger.provenance
    back = read_ledger(ledger.save(tmp_path / "ledger.json"))
    assert back.claims == ledger.claims and back.provenance == ledger.provenance
    assert back.find("inventory", "strong-consistency-no-overselling") is not None


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text('{"claims": []}')
    with pytest.raises(InvalidInput, match="not a claims ledger"):
        read_ledger(f)


def test_a_claim_of_a_topic_without_a_ledger_is_not_measurable_here() -> None:
    empty = Ledger([], {"topics": {"search": {"status": "missing"}}})
    res = decide({"team": {"developers": 12}, "search": {"facets": True}}, ledger=empty)
    rows = res["decisions"]["search"]["evidence"]
    assert rows and all(r["verdict"] == "not measurable here" for r in rows)
    assert rows[0]["command"] == "ecomlab claims --topic search --quick"


def test_the_bundled_ledger_was_made_quick_and_lists_the_missing_topics() -> None:
    ledger = bundled_ledger()
    assert ledger.provenance["quick"] is True
    for topic in TOPICS:
        if topic.slug in ("welcome", "decide"):
            continue
        expected = "measured" if topic.ledger else "missing"
        assert ledger.status(topic.slug) in (expected, "measured"), topic.slug


# ------------------------------------------------------------------------- the CLI

def test_decide_cli_prints_one_json_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("team: {developers: 6}\nphase: prototype\n")
    assert main(["decide", "--profile", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decisions"]["architecture"]["choice"] == "monolith"
    assert out["decisions"]["architecture"]["confidence"] == "high"
    assert out["adr_files"] == []


@pytest.mark.parametrize("text", ["team: {developers: 0}\n", "team: {developers: 5}\nx: 1\n",
                                  "team: {developers: 5}\ndata: [gold]\n",
                                  "team: {developers: 5}\nload: {peak_to_mean: nope}\n"])
def test_a_bad_profile_exits_2_with_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(text)
    adr = tmp_path / "adr"
    assert main(["decide", "--profile", str(f), "--adr-dir", str(adr)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ecomlab: error: profile")
    assert not adr.exists()


def test_claims_cli_reads_a_saved_ledger_back(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    saved = bundled_ledger().save(tmp_path / "l.json")
    assert main(["claims", "--from", str(saved), "--topic", "catalog", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {c["topic"] for c in out["claims"]} == {"catalog"}
    missing = [t for t, s in bundled_ledger().provenance["topics"].items()
               if s["status"] == "missing"]
    if missing:
        assert main(["claims", "--from", str(saved), "--topic", missing[0], "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["claims"] == []
        assert out["provenance"]["topics"][missing[0]]["status"] == "missing"


def test_revisit_when_names_the_nearest_threshold_that_changes_the_choice() -> None:
    res = decide({"team": {"developers": 30}, "load": {"peak_orders_per_s": 300},
                  "data": ["catalog", "payments"]})
    inv = res["decisions"]["inventory"]
    assert inv["choice"] == "cache-check"
    assert "load.peak_orders_per_s falls below 200 (then conditional-update)" in \
        inv["revisit_when"]
    assert "data holds inventory (then atomic-reserve)" in inv["revisit_when"]
    below = default_profile(30, **{"load.peak_orders_per_s": 199,
                                   "data": ["catalog", "payments"]})
    at = default_profile(30, **{"load.peak_orders_per_s": 200,
                                "data": ["catalog", "payments"]})
    assert evaluate(below, "inventory")["choice"] == "conditional-update"
    assert evaluate(at, "inventory")["choice"] == "cache-check"


def test_claims_cli_measures_one_topic_and_lists_an_unregistered_one_as_missing(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", "--topic", "processing", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["provenance"]["topics"]["processing"]["status"] == "measured"
    assert {c["label"] for c in out["claims"]} <= {"simulated", "model"}
    assert all(c["command"] == "ecomlab claims --topic processing --quick --seed 42"
               for c in out["claims"])
    unregistered = [t.slug for t in TOPICS if not t.ledger and t.slug not in ("welcome",
                                                                               "decide")]
    if unregistered:  # once every topic has a ledger there is nothing left to check here
        slug = unregistered[0]
        assert main(["claims", "--topic", slug, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["claims"] == [] and out["provenance"]["topics"][slug]["status"] == "missing"
