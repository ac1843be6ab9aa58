"""The inventory command line, widget callback, figures and claims ledger, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecomlab.cli import main
from ecomlab.errors import UnsupportedOperation
from ecomlab.inventory import (
    explore_inventory,
    inventory_claims,
    lock_wait_figure,
    oversell_figure,
    run_inventory,
    sweep_buyers,
    throughput_latency_figure,
    time_to_consistency_figure,
)

REQUIRED = {"strategy", "backend", "label", "orders_attempted", "orders_confirmed",
            "orders_cancelled", "orders_rejected", "oversold_units",
            "uncompensated_oversold_units", "refunds", "double_refunds", "final_available",
            "conservation_ok", "valid", "throughput_per_s", "latency_ms", "retries",
            "time_to_consistency_ms"}


def test_cli_prints_one_json_object_with_the_contract_keys(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    status = main(["run", "inventory", "--strategy", "cache-check", "--stock", "3",
                   "--buyers", "8", "--orders", "40", "--truth", "sqlite", "--seed", "4",
                   "--history", str(history), "--json"])
    out = capsys.readouterr().out
    assert status == 0
    data = json.loads(out)
    assert set(data) >= REQUIRED
    assert set(data["latency_ms"]) >= {"p50", "p95", "p99"}
    assert set(data["time_to_consistency_ms"]) >= {"p50", "p99"}
    assert (data["strategy"], data["backend"], data["label"]) == ("cache-check", "redis",
                                                                  "measured")
    assert data["orders_attempted"] == 40 and data["valid"] is True
    saved = json.loads(history.read_text())
    assert len([e for e in saved["history"] if e["f"] == "order" and e["type"] == "invoke"]) == 40
    assert saved["report"]["valid"] is True


@pytest.mark.parametrize("args, message", [
    (["--strategy", "row-lock", "--backend", "sqlite"], "SQLite silently ignores FOR UPDATE"),
    (["--strategy", "optimistic", "--stock", "-1"], "stock must be >= 0, got -1"),
    (["--strategy", "optimistic", "--buyers", "0"], "buyers must be >= 1, got 0"),
    (["--strategy", "nope"], "invalid choice: 'nope'"),
    (["--strategy", "optimistic", "--backend", "oracle"], "invalid choice: 'oracle'"),
    (["--strategy", "atomic-reserve", "--backend", "duckdb"], "backend must be 'redis'"),
    (["--strategy", "optimistic", "--orders", "999999999"], "orders must be <= 200000"),
])
def test_cli_refuses_bad_values_in_one_line_with_status_2(
        capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    status = main(["run", "inventory", *args, "--json"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert message in captured.err


def test_widget_callback_returns_a_table_and_a_figure_and_refuses_row_lock_on_sqlite() -> None:
    table, fig = explore_inventory("atomic-reserve", "default", buyers=4, stock=3, skew=1.0,
                                   failure_rate=0.2, orders=30)
    assert table.loc["atomic-reserve", "valid"]
    assert table.loc["atomic-reserve", "oversold_units"] == 0
    assert fig.data[0].x.size == 30
    with pytest.raises(UnsupportedOperation):
        explore_inventory("row-lock", "sqlite", buyers=2, stock=1, skew=0.0, failure_rate=0.0)


def test_claims_ledger_is_computed_from_the_measurements() -> None:
    sweep = sweep_buyers(["conditional-update", "cache-check", "atomic-reserve"], [1, 16],
                         stock=4, orders=48, seed=2, show_progress=False,
                         truth_backend="sqlite")
    faulty = run_inventory("cache-check", stock=3, buyers=16, orders=48, seed=2,
                           validator_crash_rate=0.2, truth_backend="sqlite")
    locking = {o: run_inventory("row-lock", stock=100, buyers=6, orders=24, skus=2, skew=0.0,
                                max_items=2, lock_order=o, seed=2)
               for o in ("sorted", "unordered")}
    claims = inventory_claims(sweep, faulty, locking)
    assert [c.kind for c in claims] == ["pro", "con", "pro", "con"]
    assert claims[0].verdict == "supported"  # no strong run oversold
    assert "0 oversold units" in claims[0].evidence
    over = int(sweep.loc[sweep["strategy"] == "cache-check", "oversold_units"].sum())
    assert claims[3].verdict == ("supported" if over > 0 else "qualified")
    assert all("(measured)" in c.evidence for c in claims)
    for fig in (throughput_latency_figure(sweep), oversell_figure(sweep),
                time_to_consistency_figure({"faulty": faulty}), lock_wait_figure(locking)):
        assert fig.data
