"""Topic 05's replicas, latency histograms, spans and USL: deterministic, no timed assertions."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest

from ecomlab.architecture import (
    latency,
    parse_replicas,
    replica_check,
    run_architecture,
    usl_fit,
    usl_table,
)
from ecomlab.architecture.report import usl_summary
from ecomlab.architecture.resilience import Caller, DependencyError, Policy
from ecomlab.architecture.scaling import USL_MIN_R2
from ecomlab.cli import main
from ecomlab.errors import InvalidInput
from ecomlab.measure import LatencySummary


def _recording_transport(failing: set[str] = frozenset()) -> tuple[httpx.MockTransport,  # type: ignore[assignment]
                                                                    list[str]]:
    hosts: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host in failing:
            return httpx.Response(503, json={"error": "injected"})
        return httpx.Response(200, json={"status": "reserved"})
    return httpx.MockTransport(handle), hosts


def test_the_round_robin_caller_alternates_between_replicas_call_by_call() -> None:
    transport, hosts = _recording_transport()

    async def go() -> Caller:
        async with httpx.AsyncClient(transport=transport) as client:
            caller = Caller("inventory", client, ["http://a.local", "http://b.local"], Policy())
            for _ in range(6):
                await caller.call("POST", "/reservations", {"order_id": "o"})
            return caller
    caller = asyncio.run(go())
    assert hosts == ["a.local", "b.local"] * 3
    assert caller.counters()["per_replica"] == [3, 3]


def test_a_retry_goes_to_the_next_replica_so_one_sick_replica_does_not_fail_the_call() -> None:
    transport, hosts = _recording_transport(failing={"a.local"})
    policy = Policy(resilience="full", wait_initial_s=0.001, wait_max_s=0.002)

    async def go() -> tuple[dict, Caller]:
        async with httpx.AsyncClient(transport=transport) as client:
            caller = Caller("inventory", client, ["http://a.local", "http://b.local"], policy)
            return await caller.call("POST", "/reservations"), caller
    answer, caller = asyncio.run(go())
    assert answer["status"] == "reserved"
    assert hosts == ["a.local", "b.local"]
    assert caller.counters()["attempts"] == 2


def test_a_caller_needs_at_least_one_replica() -> None:
    with pytest.raises(InvalidInput, match="inventory"):
        Caller("inventory", httpx.AsyncClient(), [], Policy())
    with pytest.raises(DependencyError):
        raise DependencyError("x", "y")


@pytest.mark.parametrize(("spec", "expected"), [
    (["inventory=2"], {"inventory": 2}), ({"order": 3}, {"order": 3}), (None, {}),
    ("monolith=2", {"monolith": 2})])
def test_replica_specs_parse_to_what_they_say(spec: object, expected: dict) -> None:
    assert parse_replicas(spec) == expected


@pytest.mark.parametrize("argv", [
    ["--replicas", "inventory"], ["--replicas", "warehouse=2"], ["--replicas", "inventory=0"],
    ["--replicas", "inventory=9"], ["--replicas", "inventory=two"],
    ["--style", "monolith", "--replicas", "inventory=2"],
    ["--style", "microservices", "--replicas", "monolith=2"]])
def test_bad_replicas_exit_2_with_one_line_and_start_no_process(argv, capsys) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    assert main(["run", "architecture", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "replica" in err
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_both_inventory_replicas_serve_and_the_split_is_even_in_process() -> None:
    r = run_architecture("microservices", 30, concurrency=3, transport="asgi",
                         replicas={"inventory": 2}, consistency="outbox")
    m = r.metrics
    per = m["replicas"]["inventory"]
    assert set(per) == {"inventory", "inventory-2"}
    served = [per["inventory"]["requests"], per["inventory-2"]["requests"]]
    assert min(served) > 0 and abs(served[0] - served[1]) <= 1  # round robin
    assert sum(served) == m["services"]["inventory"]["requests"]
    assert m["succeeded"] == 30 and m["inconsistent_total"] == 0


def test_the_cli_reports_replicas_and_the_corrected_latency(capsys) -> None:
    argv = ["run", "architecture", "--style", "monolith", "--orders", "12", "--concurrency",
            "2", "--transport", "asgi", "--replicas", "monolith=2", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"]["replicas"] == {"monolith": 2}
    # 12 orders and 12 product pages, slot i to copy i mod 2
    assert sorted(v["requests"] for v in data["replicas"]["monolith"].values()) == [12, 12]
    assert set(data["latency_ms_corrected"]) >= {"p50", "p99"}


def test_hdrhistogram_percentiles_agree_with_numpy_within_its_precision() -> None:
    xs = np.random.default_rng(7).exponential(5.0, 4000) + 0.05
    hist = latency.histogram()
    for x in xs:
        latency.record_ms(hist, float(x))
    got, want = latency.summary(hist), LatencySummary.of_ms(xs)
    assert got.count == want.count
    for key in ("p50", "p95", "p99", "max"):
        assert getattr(got, key) == pytest.approx(getattr(want, key), rel=2e-3, abs=2e-3)
    assert got.mean == pytest.approx(want.mean, rel=1e-3)
    assert np.isnan(latency.summary(latency.histogram()).p50)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_numpy_reads_give_the_library_s_own_percentiles_means_and_corrections(
        seed: int) -> None:
    from hdrh.histogram import HdrHistogram

    rng = np.random.default_rng(seed)
    hist = latency.histogram()
    for x in np.concatenate([rng.lognormal(1.5, 1.2, 300), [0.0004, 900.0, 4000.0]]):
        latency.record_ms(hist, float(x))
    ps = (0, 1, 50, 95, 99, 99.9, 100)
    assert latency.percentiles_us(hist, ps) == [hist.get_value_at_percentile(p) for p in ps]
    merged = latency.decode([hist.encode(), hist.encode()])
    assert merged.mean_us() == pytest.approx(HdrHistogram.get_mean_value(merged), rel=1e-12)
    assert merged.get_total_count() == 2 * hist.get_total_count()
    library = latency.histogram()  # the correction through the library's own iterator
    for item in hist.get_recorded_iterator():
        library.record_corrected_value(hist.get_lowest_equivalent_value(item.value_iterated_to),
                                       4000, item.count_added_in_this_iter_step)
    fixed = latency.corrected(hist, 4.0)
    assert fixed.get_total_count() == library.get_total_count()
    assert list(latency._counts(fixed)) == list(latency._counts(library))


def test_the_closed_loop_correction_back_fills_the_requests_a_stall_held_back() -> None:
    hist = latency.histogram()
    for _ in range(9):
        latency.record_ms(hist, 10.0)
    latency.record_ms(hist, 100.0)  # one stall of ten intervals
    fixed = latency.corrected(hist, 10.0)
    assert fixed.get_total_count() == 9 + 10  # 100, 90, ..., 10
    assert latency.summary(fixed).p99 > latency.summary(hist).p50
    assert latency.decode([hist.encode()]).get_total_count() == 10


def test_usl_fit_recovers_the_parameters_of_a_known_curve() -> None:
    n = np.array([1, 2, 4, 8, 16, 32])
    x = 100 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1))
    fit = usl_fit(n, x)
    assert fit["lambda"] == pytest.approx(100, rel=1e-3)
    assert fit["sigma"] == pytest.approx(0.05, rel=1e-2)
    assert fit["kappa"] == pytest.approx(0.002, rel=1e-2)
    table = usl_table(pd.DataFrame({"style": "s", "replicas": 1, "clients": n,
                                    "throughput_per_s": x}))
    assert table.iloc[0]["peak_clients"] == pytest.approx(np.sqrt(0.95 / 0.002), rel=2e-2)
    with pytest.raises(InvalidInput, match="3"):
        usl_fit([1, 2], [1.0, 2.0])
    assert bool(table.iloc[0]["fits"]) and "sigma (contention)" in usl_summary(table)


@pytest.mark.parametrize("level", [400.0, 700.0, 1200.0])
def test_a_flat_curve_with_alternating_noise_is_reported_as_not_following_the_usl(
        level: float) -> None:
    n = np.array([1, 2, 3, 4, 6, 8])
    x = level * (1 + 0.05 * np.array([1, -1, 1, -1, 1, -1]))
    table = usl_table(pd.DataFrame({"style": "monolith", "replicas": 1, "clients": n,
                                    "throughput_per_s": x}))
    row = table.iloc[0]
    assert row["gain"] == pytest.approx(0.95 / 1.05)
    assert row["spread"] == pytest.approx(0.1)
    assert row["r2"] < USL_MIN_R2 and not row["fits"]
    text = usl_summary(table)
    assert "does not describe" in text and f"r2 {row['r2']:.2f}" in text
    assert "sigma (contention)" not in text


def test_four_points_are_too_few_to_judge_a_usl_fit_however_high_its_r2() -> None:
    n = np.array([1, 2, 4, 8])
    table = usl_table(pd.DataFrame({"style": "s", "replicas": 1, "clients": n,
                                    "throughput_per_s": 100 * n / (1 + 0.1 * (n - 1))}))
    assert table.iloc[0]["r2"] > 0.99 and not table.iloc[0]["fits"]
    assert "too few" in usl_summary(table)


def test_the_replica_check_predicts_from_one_replica_demands_and_flags_the_tolerance() -> None:
    demands = {"order": 4.0, "inventory": 1.0}
    rows = [{"style": "microservices", "service": "order", "replicas": r, "clients": 8,
             "throughput_per_s": x, "demands": demands, "generator_cpu_ms_per_order": 0.0,
             "served_by_replica": {"order": [5] * r}} for r, x in ((1, 250.0), (2, 100.0))]
    check = replica_check(pd.DataFrame(rows), cores=100.0, tolerance=0.25)
    one, two = check.iloc[0], check.iloc[1]
    assert one["model_own_cores_per_s"] == pytest.approx(1000 / 4.0, rel=0.05)
    assert bool(one["within"]) and not bool(two["within"])
    assert two["model_own_cores_per_s"] > one["model_own_cores_per_s"]
    bounded = replica_check(pd.DataFrame(rows), cores=1.0)
    assert bounded.iloc[1]["model_on_cores_per_s"] == pytest.approx(1000 / 5.0)
    assert two["served_by_replica"] == [5, 5]


def test_one_traced_order_carries_its_traceparent_through_every_hop() -> None:
    m = run_architecture("microservices", 4, concurrency=1, transport="asgi",
                         trace=True).metrics
    spans = pd.DataFrame(m["trace"])
    hops = spans[spans["handler_ms"].notna()]
    assert sorted(hops["step"].str.split().str[0]) == ["inventory", "notification",
                                                       "payment", "product"]
    assert set(spans["service"]) == {"client", "order", "product", "inventory", "payment",
                                     "notification"}
    assert (hops["handler_ms"] <= hops["duration_ms"]).all()  # the callee inside its hop
    mono = pd.DataFrame(run_architecture("monolith", 4, concurrency=1, transport="asgi",
                                         trace=True).metrics["trace"])
    assert {"BEGIN IMMEDIATE", "payment.charge", "COMMIT"} <= set(mono["step"])


def test_ecomlab_help_imports_neither_opentelemetry_nor_hdrhistogram() -> None:
    code = ("import sys\nfrom ecomlab.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('opentelemetry', 'hdrh')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"
