"""The claims ledger, the figures, the explorer and the command line of topic 03."""

from __future__ import annotations

import json

import pytest

from ecomlab.cli import main
from ecomlab.errors import InvalidInput
from ecomlab.measure import Claim, claims_frame
from ecomlab.processing import make_pipeline
from ecomlab.processing.claims import collect_evidence, processing_claims
from ecomlab.processing.plots import erlang_figure, modes_figure, rate_figure, waterfall_figure
from ecomlab.processing.tables import (
    erlang_comparison,
    nominal_table,
    sweep_arrival_rates,
    timeline_frame,
)
from ecomlab.processing.widget import explore_modes

SEED_CLAIMS = {
    ("synchronous", "pro"): {"immediate feedback", "simpler error handling", "data consistency"},
    ("synchronous", "con"): {"slow response (2000 ms)", "poor user experience",
                             "cascading failures"},
    ("asynchronous", "pro"): {"fast response (150 ms)", "better user experience",
                              "fault isolation"},
    ("asynchronous", "con"): {"complex state management", "eventual consistency",
                              "monitoring complexity"},
}


@pytest.fixture(scope="module")
def claims() -> list[Claim]:
    return processing_claims(collect_evidence(seed=42, orders=1000))


def test_every_seed_claim_gets_exactly_one_verdict(claims: list[Claim]) -> None:
    seen: dict[tuple[str, str], set[str]] = {}
    for c in claims:
        seen.setdefault((c.approach, c.kind), set()).add(c.claim)
    assert seen == SEED_CLAIMS
    assert len(claims) == 12
    frame = claims_frame(claims)
    assert list(frame["verdict"].unique()) != ["supported"]  # not a rubber stamp


def test_every_measurable_verdict_quotes_labelled_figures(claims: list[Claim]) -> None:
    for c in claims:
        if c.verdict == "not measurable here":
            continue
        assert " ms" in c.evidence or "%" in c.evidence, c.claim
        assert "simulated" in c.evidence or "simulated" in c.conditions, c.claim


def test_evidence_follows_the_measurements_not_fixed_text() -> None:
    a = processing_claims(collect_evidence(seed=1, orders=500, failure_probability=0.05))
    b = processing_claims(collect_evidence(seed=1, orders=500, failure_probability=0.2))
    cascading = [(x.evidence, y.evidence) for x, y in zip(a, b, strict=True)
                 if x.claim == "cascading failures"]
    assert cascading[0][0] != cascading[0][1]


def test_waterfall_shows_every_step_and_the_response_line() -> None:
    frames = [timeline_frame(make_pipeline(m)) for m in ("sync", "async")]
    assert frames[0].attrs["response_ms"] == 2000.0
    assert frames[1].attrs["completion_ms"] == 1450.0
    fig = waterfall_figure(frames)
    assert len(fig.data) == len(frames[0]) + len(frames[1])
    assert "simulated" in fig.layout.title.text


def test_sweep_and_erlang_tables_draw_as_labelled_figures() -> None:
    sweep = sweep_arrival_rates([2.0, 9.0], orders=500, seed=1)
    assert set(sweep["label"]) == {"simulated"}
    assert sweep.loc[(sweep["mode"] == "sync") & (sweep["arrival_rate"] == 9.0),
                     "saturated"].item()
    assert "simulated" in rate_figure(sweep).layout.title.text
    erl = erlang_comparison([0.5, 0.8], customers=5000, seed=1)
    assert erl["relative_error"].max() < 0.3
    assert len(erlang_figure(erl).data) == 2


def test_nominal_table_lists_both_modes_capacities() -> None:
    t = nominal_table()
    assert t.loc["sync", "saturation_rate_per_s"] == 8.0
    assert t.loc["async", "saturation_rate_per_s"] == 10.0


def test_explorer_callback_returns_a_figure_and_a_table_and_refuses_bad_values() -> None:
    fig, table = explore_modes(5.0, 0.05, "lognormal", 300)
    assert list(table.index) == ["sync", "async"]
    assert modes_figure is not None and len(fig.data) == 2
    with pytest.raises(InvalidInput, match="distribution"):
        explore_modes(5.0, 0.0, "gaussian", 300)
    with pytest.raises(InvalidInput, match="failure_probability"):
        explore_modes(5.0, 1.0, "constant", 300)


def test_cli_simulate_queue_prints_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "queue", "--arrival-rate", "2", "--service-rate", "1",
                 "--workers", "3", "--customers", "5000", "--seed", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("mean_wait_s", "p95_wait_s", "mean_response_s", "utilization",
                "throughput_per_s"):
        assert isinstance(out[key], float), key
    assert out["label"] == "simulated"
    assert out["erlang_c"]["mean_wait_s"] > 0


def test_cli_simulated_processing_prints_the_contract(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code = main(["run", "processing", "--mode", "async", "--orders", "300", "--arrival-rate",
                 "4", "--seed", "2", "--simulate", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out["response_ms"]) >= {"p50", "p95", "p99"}
    assert set(out["completion_ms"]) >= {"p50", "p99"}
    assert out["label"] == "simulated"
    assert 0.0 <= out["success_rate"] <= 1.0


@pytest.mark.parametrize("argv", [
    ["simulate", "queue", "--arrival-rate", "-1", "--service-rate", "1", "--workers", "2"],
    ["simulate", "queue", "--arrival-rate", "2", "--service-rate", "1", "--workers", "2"],
    ["simulate", "queue", "--arrival-rate", "1", "--service-rate", "1", "--workers", "0"],
    ["simulate", "queue", "--arrival-rate", "x", "--service-rate", "1", "--workers", "1"],
    ["run", "processing", "--mode", "batch", "--simulate"],
    ["run", "processing", "--mode", "sync", "--failure-probability", "1", "--simulate"],
    ["run", "processing", "--mode", "sync", "--arrival-rate", "-3"],
    ["run", "processing", "--mode", "async", "--time-scale", "0"],
    ["run", "processing", "--mode", "async", "--distribution", "gaussian", "--simulate"],
])
def test_cli_bad_input_exits_2_with_one_line(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_explorer_widget_shows_a_figure_and_a_table_on_its_first_run() -> None:
    import plotly.graph_objects as go

    from ecomlab.notebook import Table
    from ecomlab.processing.widget import processing_explorer

    shown = processing_explorer(seed=1).last_shown
    assert [type(x) for x in shown] == [go.Figure, Table]  # a DataFrame shown through table()
    assert list(shown[1].frame.index) == ["sync", "async"]  # type: ignore[attr-defined]
