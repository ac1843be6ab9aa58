"""Topic 05's claims: exactly the seed's twelve texts, each with evidence, label and command."""

from __future__ import annotations

import pandas as pd
import pytest

from ecomlab.architecture import team_paths
from ecomlab.architecture.claims import architecture_claims
from ecomlab.architecture.deploy import INCONSISTENCIES
from ecomlab.measure import claim_id

EXPECTED = {
    ("monolith", "pro"): ["simple deployment", "easy debugging", "ACID transactions"],
    ("monolith", "con"): ["technology lock-in", "scaling bottlenecks",
                          "team coordination issues"],
    ("microservices", "pro"): ["technology diversity", "independent scaling", "team autonomy"],
    ("microservices", "con"): ["distributed complexity", "network latency",
                               "data consistency challenges"],
}


def _tables(seed_total: int = 40, outbox_total: int = 0) -> dict[str, pd.DataFrame]:
    compare = pd.DataFrame([
        {"style": "monolith", "p50_ms": 5.0, "p99_ms": 20.0, "throughput_per_s": 200.0,
         "cpu_ms_per_order": 2.0, "hops_per_order": 0.0, "network_share": 0.0, "processes": 1,
         "databases": 1, "startup_ms": 300.0, "cpu_by_service": {"monolith": 2.0}},
        {"style": "microservices", "p50_ms": 20.0, "p99_ms": 60.0, "throughput_per_s": 90.0,
         "cpu_ms_per_order": 10.0, "hops_per_order": 4.0, "network_share": 0.8,
         "processes": 5, "databases": 5, "startup_ms": 800.0,
         "cpu_by_service": {"order": 6.0, "product": 1.0, "inventory": 1.0, "payment": 1.0,
                            "notification": 1.0}}])

    def variant(name: str, total: int) -> dict[str, object]:
        row: dict[str, object] = dict.fromkeys(INCONSISTENCIES, 0)
        row.update({"variant": name, "trials": 30, "orders": 300, "total": total,
                    "trials_with_any": min(total, 30)})
        row["charged_without_order"] = total
        return row
    consistency = pd.DataFrame([variant("monolith (one ACID transaction)", 0),
                                variant("seed", seed_total), variant("saga", 5),
                                variant("outbox", outbox_total)])
    cascade = pd.DataFrame([
        {"style": s, "resilience": r, "orders_ok": 0.0, "order_p50_ms": 500.0,
         "page_ok": p, "page_p99_ms": 10.0, "inventory_requests_per_order": 1.0}
        for s, r, p in [("monolith", "none", 0.2), ("monolith", "timeouts", 0.3),
                        ("monolith", "full", 1.0), ("microservices", "none", 1.0),
                        ("microservices", "timeouts", 1.0), ("microservices", "full", 1.0)]])
    availability = pd.DataFrame([
        {"style": s, "fault": "inventory=down", "orders_measured": 0.0, "orders_model": 0.0,
         "page_measured": p, "page_model": p} for s, p in [("monolith", 0.0),
                                                           ("microservices", 1.0)]])
    return {"compare": compare, "consistency": consistency, "cascade": cascade,
            "availability": availability, "teams": team_paths(12)}


def test_the_ledger_has_exactly_the_seeds_twelve_claims() -> None:
    claims = architecture_claims(**_tables())
    got: dict[tuple[str, str], list[str]] = {}
    for c in claims:
        got.setdefault((c.approach, c.kind), []).append(c.claim)
    assert got == EXPECTED
    assert {c.topic for c in claims} == {"architecture"}
    assert claims[2].id == claim_id("monolith", "ACID transactions") == \
        "monolith-acid-transactions"


def test_every_claim_has_evidence_a_label_and_measured_ones_a_command() -> None:
    for c in architecture_claims(**_tables()):
        assert c.evidence
        assert c.label in ("measured", "model")
        if c.label == "measured":
            assert c.command.startswith("ecomlab run architecture")
        if c.verdict == "not measurable here":
            assert "would" in c.evidence  # says what would measure it


@pytest.mark.parametrize(("outbox_total", "verdict"), [(0, "supported"), (3, "qualified")])
def test_the_consistency_verdict_follows_the_outbox_count(outbox_total: int,
                                                          verdict: str) -> None:
    claims = {c.id: c for c in architecture_claims(**_tables(outbox_total=outbox_total))}
    assert claims["microservices-data-consistency-challenges"].verdict == verdict
    assert claims["monolith-acid-transactions"].verdict == "supported"
    assert claims["microservices-network-latency"].verdict == "supported"


@pytest.mark.parametrize(("two_replicas", "verdict"), [(150.0, "supported"), (105.0, "qualified")])
def test_independent_scaling_is_judged_by_the_measured_replicas(two_replicas: float,
                                                                 verdict: str) -> None:
    demands = {"order": 6.0, "product": 1.0, "inventory": 1.0, "payment": 1.0}
    replicas = pd.DataFrame([
        {"style": "microservices", "service": "order", "replicas": r, "clients": n,
         "throughput_per_s": x * n / (1 + 0.1 * (n - 1)), "demands": demands,
         "generator_cpu_ms_per_order": 0.5, "served_by_replica": {"order": [10] * r}}
        for r, x in ((1, 100.0), (2, two_replicas)) for n in (1, 2, 4, 8)])
    claims = {c.id: c for c in architecture_claims(**_tables(), replicas=replicas)}
    scaling = claims["microservices-independent-scaling"]
    assert scaling.verdict == verdict
    assert "2 replicas of order" in scaling.evidence and "sigma" in scaling.evidence
    assert scaling.command.endswith("--replicas order=2")
