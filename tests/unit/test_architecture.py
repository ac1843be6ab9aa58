"""Topic 05 in-process: the domain, faults, consistency trials, availability, the cascade."""

from __future__ import annotations

import psutil
import pytest

from ecomlab.architecture import (
    consistency_trials,
    domain,
    expected_availability,
    run_architecture,
    team_paths,
)
from ecomlab.architecture.deploy import INCONSISTENCIES
from ecomlab.architecture.faults import CRASH_STEPS, parse_fault, parse_faults
from ecomlab.cli import main
from ecomlab.errors import InvalidInput


@pytest.mark.parametrize("spec", ["inventory", "warehouse=down", "inventory=melt",
                                  "inventory=flaky:1.5", "inventory=slow:-3",
                                  "payment=crash:after_commit", "order=crash:nowhere",
                                  "order=down:3"])
def test_a_bad_fault_spec_is_refused_with_its_text(spec: str) -> None:
    with pytest.raises(InvalidInput, match=r"fault|SERVICE"):
        parse_fault(spec)


def test_fault_specs_parse_to_what_they_say() -> None:
    faults = parse_faults(["inventory=slow:~150", "payment=flaky", "order=crash:after_commit@0.3",
                           "product=down"])
    assert [f.text() for f in faults] == ["inventory=slow:~150", "payment=flaky:0.2",
                                          "order=crash:after_commit@0.3", "product=down"]


def test_a_release_before_its_reservation_refuses_the_late_reservation(tmp_path) -> None:
    conn = domain.connect(tmp_path / "inv.sqlite")
    domain.create_schema(conn, ("inventory", "payment"))
    domain.seed_catalog(conn, products=False, stock=5)
    assert domain.release(conn, "o1") == "released"
    assert domain.reserve(conn, "o1", "MUG-BLUE", 2) == "released"
    assert domain.refund(conn, "o2") == "refunded"
    assert domain.charge(conn, "o2", 100) == "refunded"
    assert domain.reserve(conn, "o3", "MUG-BLUE", 2) == "reserved"
    assert domain.release(conn, "o3") == domain.release(conn, "o3") == "released"
    available = conn.execute("SELECT available FROM stock WHERE sku = 'MUG-BLUE'").fetchone()[0]
    assert available == 5


def test_saga_with_outbox_leaves_no_inconsistent_state_over_30_fault_trials() -> None:
    df = consistency_trials(32, consistency="outbox", orders=10, seed=7)
    assert set(df["crash_step"]) == set(CRASH_STEPS)
    assert df["succeeded"].sum() > 0
    assert int(df[list(INCONSISTENCIES)].to_numpy().sum()) == 0


def test_the_seeds_orchestration_leaves_inconsistent_states_under_the_same_faults() -> None:
    df = consistency_trials(32, consistency="seed", orders=10, seed=7)
    assert df["charged_without_order"].sum() > 0
    assert df["events_lost"].sum() > 0


def test_the_saga_without_outbox_still_loses_events_on_a_crash_after_commit() -> None:
    df = consistency_trials(8, consistency="saga", orders=10, seed=7)
    money = ["charged_without_order", "reserved_without_order", "confirmed_without_payment"]
    assert df[money].to_numpy().sum() == 0
    assert df.loc[df["crash_step"] == "after_commit", "events_lost"].sum() > 0


def test_the_monolith_transaction_leaves_nothing_half_done() -> None:
    r = run_architecture("monolith", 40, concurrency=2, transport="asgi",
                         faults=["order=crash:after_reserve@0.5", "payment=flaky:0.3"])
    assert r.metrics["inconsistent_total"] == 0
    assert 0 < r.metrics["succeeded"] < 40


@pytest.mark.parametrize("style", ["monolith", "microservices"])
def test_order_availability_matches_the_product_of_the_parts_within_0_06(style: str) -> None:
    faults = ["payment=flaky:0.2", "product=flaky:0.1"]
    r = run_architecture(style, 400, concurrency=4, transport="asgi", faults=faults, seed=3)
    model = expected_availability(style, parse_faults(faults), "none")
    assert model["orders"] == pytest.approx(0.8 * 0.9)
    assert abs(r.metrics["availability"]["orders"] - model["orders"]) <= 0.06
    assert abs(r.metrics["availability"]["product_page"] - model["product_page"]) <= 0.06


def test_a_down_inventory_stops_orders_but_not_product_pages_only_in_microservices() -> None:
    micro = run_architecture("microservices", 30, transport="asgi", faults=["inventory=down"])
    mono = run_architecture("monolith", 30, transport="asgi", faults=["inventory=down"])
    assert micro.metrics["availability"] == {"orders": 0.0, "product_page": 1.0}
    assert mono.metrics["availability"] == {"orders": 0.0, "product_page": 0.0}
    assert micro.metrics["inconsistent_total"] == 0


def test_the_breaker_cuts_retries_to_a_down_service_below_the_attempt_bound() -> None:
    full = run_architecture("microservices", 60, concurrency=1, transport="asgi",
                            faults=["inventory=down"], resilience="full")
    timeouts = run_architecture("microservices", 60, concurrency=1, transport="asgi",
                                faults=["inventory=down"], resilience="timeouts")
    no_breaker = run_architecture("microservices", 20, concurrency=1, transport="asgi",
                                  faults=["inventory=down"], resilience="full", breaker=False)
    # timeouts only: reserve and release per order; retries: 3 attempts each; with the
    # breaker: it opens after 5 failures and later calls never reach the network
    assert timeouts.metrics["retry_amplification"] == pytest.approx(2.0)
    assert no_breaker.metrics["retry_amplification"] == pytest.approx(6.0)
    assert full.metrics["retry_amplification"] < 1.0


def test_a_slow_inventory_takes_the_monoliths_product_pages_down_unless_bulkheaded() -> None:
    kwargs = dict(concurrency=8, transport="asgi", faults=["inventory=slow:2500"], workers=2,
                  client_timeout_s=1.2)
    none = run_architecture("monolith", 16, resilience="none", **kwargs)
    full = run_architecture("monolith", 16, resilience="full", **kwargs)
    # wide margins: pages wait 2.5 s for a worker without bulkheads (past the 1.2 s client
    # timeout), milliseconds with them (1.2 s of slack for a loaded machine)
    assert none.metrics["availability"]["product_page"] < 0.5
    assert full.metrics["availability"]["product_page"] >= 0.9
    assert full.metrics["statuses"].get("503", 0) > 0  # the bulkhead refused at once


def test_team_paths_are_n_choose_2() -> None:
    assert team_paths(5)["paths"].tolist() == [0, 1, 3, 6, 10]


@pytest.mark.parametrize("argv", [
    ["--fault", "inventory=explode"], ["--fault", "nobody=down"], ["--rate", "0"],
    ["--rate", "-1"], ["--fault", "inventory"], ["--orders", "0"],
    ["--rate", "5", "--concurrency", "2"]])
def test_bad_cli_input_exits_2_with_one_line_and_starts_no_process(argv, capsys) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    assert main(["run", "architecture", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before


def test_the_cli_prints_one_json_object_with_the_documented_keys(capsys) -> None:
    import json

    argv = ["run", "architecture", "--style", "microservices", "--orders", "20",
            "--concurrency", "2", "--fault", "payment=flaky:0.3", "--consistency", "seed",
            "--transport", "asgi", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("style", "label", "orders", "throughput_per_s", "cpu_ms_per_order",
                "hops_per_order", "network_share", "expected_availability",
                "retry_amplification"):
        assert key in data, key
    assert set(data["latency_ms"]) >= {"p50", "p99"}
    assert set(data["availability"]) == {"orders", "product_page"}
    assert set(data["inconsistent"]) == set(INCONSISTENCIES)
    assert set(data["services"]) == {"product", "inventory", "payment", "notification",
                                     "order"}
    assert set(data["services"]["payment"]) == {"requests", "errors", "p50_ms"}
    assert data["label"] == "measured" and data["style"] == "microservices"


def test_mva_reaches_the_bottleneck_bound_and_a_replica_doubles_it() -> None:
    from ecomlab.architecture.model import mva_throughput, scaling_model

    demands = {"order": 4.0, "inventory": 1.0}
    assert mva_throughput(demands, 1) == pytest.approx(1000 / 5.0)
    assert mva_throughput(demands, 200) == pytest.approx(1000 / 4.0, rel=0.01)
    assert mva_throughput(demands, 200, {"order": 2}) == pytest.approx(1000 / 2.0, rel=0.02)
    table = scaling_model({"microservices": demands}, clients=(1, 64))
    assert set(table["plan"]) == {"as measured", "2 x order"}
    assert set(table["label"]) == {"model"}


def test_the_checker_counts_each_kind_of_inconsistent_end_state(tmp_path) -> None:
    from ecomlab.architecture.deploy import count_inconsistent

    paths = {m: tmp_path / f"{m}.sqlite" for m in domain.MODULES}
    conns = {m: domain.connect(p) for m, p in paths.items()}
    for m, c in conns.items():
        domain.create_schema(c, (m,))
    domain.seed_catalog(conns["inventory"], products=False, stock=10)
    o = conns["order"]
    domain.create_order(o, "ok", "MUG-BLUE", 1, 100, "confirmed")      # paid, reserved, sent
    domain.create_order(o, "unpaid", "MUG-BLUE", 1, 100, "confirmed")  # no charge, not sent
    domain.create_order(o, "twice", "MUG-BLUE", 1, 100, "confirmed")   # sent twice
    domain.create_order(o, "failed", "MUG-BLUE", 1, 100, "failed")     # charged and reserved
    for oid in ("ok", "twice", "failed"):
        domain.charge(conns["payment"], oid, 100)
        domain.reserve(conns["inventory"], oid, "MUG-BLUE", 1)
    domain.reserve(conns["inventory"], "unpaid", "MUG-BLUE", 1)
    for oid, times in (("ok", 1), ("twice", 2), ("failed", 0)):
        for _ in range(times):
            domain.notify(conns["notification"], f"evt-{oid}", oid, idempotent=False)
    assert count_inconsistent(paths) == {
        "charged_without_order": 1, "reserved_without_order": 1,
        "confirmed_without_payment": 1, "events_lost": 1, "events_duplicated": 1}
