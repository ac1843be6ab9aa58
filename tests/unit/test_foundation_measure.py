"""Latency summaries agree with numpy; results and claims serialize faithfully."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomlab.errors import InvalidInput
from ecomlab.measure import (
    Claim,
    LatencySummary,
    Result,
    Stopwatch,
    ThroughputSummary,
    claims_frame,
    timed,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1,
                max_size=500))
def test_latency_percentiles_match_numpy(samples: list[float]) -> None:
    s = LatencySummary.of_ms(samples)
    arr = np.asarray(samples)
    assert s.count == len(samples)
    assert s.p50 == pytest.approx(np.percentile(arr, 50))
    assert s.p99 == pytest.approx(np.percentile(arr, 99))
    assert s.max == pytest.approx(arr.max())
    assert s.p50 <= s.p95 <= s.p99 <= s.max + 1e-9


def test_latency_from_nanoseconds_is_in_milliseconds() -> None:
    s = LatencySummary.of_ns([1_000_000, 3_000_000])
    assert (s.mean, s.max) == (2.0, 3.0)


def test_empty_latency_set_reports_zero_samples_not_a_crash() -> None:
    s = LatencySummary.of_ms([])
    assert s.count == 0 and math.isnan(s.p99)


def test_throughput_spread_over_runs() -> None:
    t = ThroughputSummary.of_runs([100, 200], [1.0, 1.0])
    assert (t.runs, t.mean, t.min, t.max) == (2, 150.0, 100.0, 200.0)
    assert t.std == pytest.approx(70.710678, rel=1e-6)
    with pytest.raises(InvalidInput):
        ThroughputSummary.of_runs([1, 2], [1.0])


def test_stopwatch_measures_real_elapsed_time() -> None:
    with timed() as sw:
        sum(range(100_000))
    assert sw.elapsed_ns > 0
    frozen = sw.elapsed_ns
    sum(range(100_000))
    assert sw.elapsed_ns == frozen  # stopped when the block ended
    running = Stopwatch()
    first = running.elapsed_ns
    sum(range(100_000))
    assert running.elapsed_ns > first  # still running: it keeps counting
    assert running.stop() == pytest.approx(running.elapsed_ns / 1e6)


def test_result_carries_label_seed_params_and_versions_into_json() -> None:
    r = Result("demo", "simulated", 7, {"buyers": 4},
               {"latency_ms": {"p50": np.float64(1.5)}, "n": np.int64(3), "x": float("nan")},
               backends={"sql": {"backend": "duckdb"}})
    data = json.loads(r.to_json())
    assert data["label"] == "simulated" and data["seed"] == 7
    assert data["metrics"] == {"latency_ms": {"p50": 1.5}, "n": 3, "x": None}
    assert "numpy" in data["versions"] and "python" in data["versions"]
    flat = r.flat()
    assert flat["buyers"] == 4 and flat["latency_ms"] == {"p50": 1.5}
    frame = r.to_frame()
    assert frame.loc[0, "latency_ms.p50"] == 1.5 and frame.loc[0, "param.buyers"] == 4


def test_result_refuses_an_unknown_label() -> None:
    with pytest.raises(InvalidInput, match="unknown label 'guessed'"):
        Result("demo", "guessed", 1, {}, {})  # type: ignore[arg-type]


def test_claims_need_a_known_verdict_and_make_a_table() -> None:
    c = Claim("inventory", "strong consistency", "no overselling", "pro", "supported",
              "0 oversold units in 20 trials (measured)", "PostgreSQL, 64 buyers")
    df = claims_frame([c])
    assert list(df["verdict"]) == ["supported"]
    with pytest.raises(InvalidInput, match="unknown verdict 'maybe'"):
        Claim("t", "a", "c", "pro", "maybe", "e")  # type: ignore[arg-type]
