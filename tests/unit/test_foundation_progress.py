"""The run tally: progress on stderr, an estimate before long runs, and what Ctrl-C reports;
and every key a run writes under ``ecomlab:`` carries a TTL after every write."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecomlab import budget, cli, plans, runs
from ecomlab.stores import kv as kvmod


@pytest.fixture(autouse=True)
def _no_tally() -> Iterator[None]:
    yield
    budget.finish()


def test_advance_without_a_run_tally_does_nothing() -> None:
    budget.finish()
    budget.advance(5)
    assert budget.current() is None


def test_plain_progress_lines_come_once_per_tenth_after_the_quiet_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "SHOW_AFTER_S", 0.0)
    out = io.StringIO()
    tally = budget.start("run inventory", "orders", 100, stream=out)
    for _ in range(100):
        budget.advance()
    lines = out.getvalue().splitlines()
    assert [ln.split(": ", 2)[2].split(" (")[0] for ln in lines] == [
        f"{n} of 100 orders" for n in range(10, 101, 10)]
    assert tally.counts() == "100 of 100 orders"


def test_a_short_run_prints_no_progress() -> None:
    out = io.StringIO()
    budget.start("run inventory", "orders", 100, stream=out)
    for _ in range(100):
        budget.advance()
    assert out.getvalue() == ""  # done before SHOW_AFTER_S


def _args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**kw)


def test_the_estimate_follows_the_arrival_schedule_and_measured_costs() -> None:
    seconds, basis = plans.estimate(_args(command="run", topic="messaging", orders=20_000,
                                          arrival_rate=200.0)) or (0, "")
    assert seconds == 100.0 and "--arrival-rate" in basis
    seconds, basis = plans.estimate(_args(command="simulate", model="queue", customers=10**6,
                                          replications=2, engine="simpy", arrival_rate=3.6,
                                          service_rate=1.0, workers=4)) or (0, "")
    assert seconds == pytest.approx(2e6 * plans.QUEUE_S_PER_CUSTOMER["simpy"])
    assert "measured" in basis
    # a value the command will reject gives no estimate (its own one-line error follows)
    assert plans.estimate(_args(command="run", topic="messaging", orders=5,
                                arrival_rate=0.0)) is None


def test_the_estimate_is_printed_at_the_first_unit_and_only_for_long_runs(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(command="run", topic="messaging", orders=20_000, arrival_rate=200.0)
    tally = plans.begin(args)
    assert tally is not None and tally.total == 20_000
    assert capsys.readouterr().err == ""  # nothing before the command checked its inputs
    budget.advance()
    assert "run messaging, 20,000 orders placed: about 100 s" in capsys.readouterr().err
    budget.advance()
    assert capsys.readouterr().err == ""


def _interrupting(units: int) -> Any:
    def func(args: argparse.Namespace) -> dict[str, Any]:
        for _ in range(units):
            budget.advance()
        raise KeyboardInterrupt

    return func


@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_reports_the_units_done_and_exits_130(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        as_json: bool, tmp_path: Path) -> None:
    # a manifest of this test's own, so objects of earlier tests in this process do not count
    monkeypatch.setenv("ECOMLAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(runs, "_manifest", None)
    argv = ["run", "messaging", "--orders", "50000", *(["--json"] if as_json else [])]
    args = cli.build_parser().parse_args(argv)
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(args))
    assert cli.main(argv) == 130
    out = capsys.readouterr()
    assert out.err.strip().splitlines()[-1].startswith(
        "ecomlab: interrupted after 1,234 of 50,000 orders placed (")
    assert out.err.strip().endswith("nothing left behind")
    if as_json:
        report = json.loads(out.out)
        assert report["interrupted"] is True and report["done"] == 1234
        assert report["total"] == 50_000 and report["left_behind"] == []
    else:
        assert out.out == ""


class _Fixed:
    """A parser that returns prepared arguments whose command interrupts itself."""

    def __init__(self, args: argparse.Namespace) -> None:
        args.func = _interrupting(1234)
        self.args = args

    def parse_args(self, argv: Any) -> argparse.Namespace:
        return self.args


def _check_every_key_expires(checker: Any) -> Any:
    def hook(args: tuple[Any, ...]) -> None:
        missing = [k for k in checker.scan_iter(match="ecomlab:*") if checker.ttl(k) == -1]
        assert not missing, (args, missing)
        hook.calls += 1  # type: ignore[attr-defined]

    hook.calls = 0  # type: ignore[attr-defined]
    return hook


@pytest.mark.parametrize("run", ["inventory-atomic-reserve", "inventory-cache-check",
                                 "messaging-kv-ledger", "caching-write-behind"])
def test_every_key_a_run_writes_has_a_ttl_after_every_write(
        monkeypatch: pytest.MonkeyPatch, run: str) -> None:
    import fakeredis

    server = fakeredis.FakeServer()
    monkeypatch.setattr(kvmod, "_fake_server", server)
    hook = _check_every_key_expires(fakeredis.FakeRedis(server=server))
    monkeypatch.setattr(kvmod, "WRITE_HOOKS", [hook])
    if run.startswith("inventory"):
        from ecomlab.inventory.experiment import run_inventory

        strategy = run.removeprefix("inventory-")
        run_inventory(strategy, "redis", stock=10, buyers=4, orders=60, seed=3,
                      buyer_crash_rate=0.1, truth_backend="sqlite")
    elif run.startswith("messaging"):
        from ecomlab.messaging import run_messaging

        run_messaging("queue", 40, 0.2, 5, ledger="kv", crash_rate=0.1, duplicate_rate=0.1)
    else:
        from ecomlab.caching.experiment import run_caching

        run_caching("write-behind", products=30, requests=300, seed=2, warm=True)
    assert hook.calls > 20  # the hook saw the run's writes


def test_a_cache_entrys_own_ttl_is_kept_and_keys_outside_the_namespace_are_left_alone(
        ) -> None:
    import uuid

    import fakeredis

    # a private fakeredis, whatever ECOMLAB_REDIS_URL says (no keys on a real server)
    c = kvmod._fake_client(fakeredis.FakeServer(), decode_responses=True)
    t = f"ecomlab:t{uuid.uuid4().hex[:8]}:"
    c.set(t + "entry", "v", px=5000)
    c.incr(t + "entry2")
    c.mset({t + "a": 1, t[8:] + "outside": 2})
    pipe = c.pipeline(transaction=False)
    pipe.incrby(t + "new", 3)
    pipe.get(t + "new")
    assert pipe.execute() == [3, "3"]  # the caller's results only
    assert 0 < c.pttl(t + "entry") <= 5000
    assert all(0 < c.ttl(k) <= kvmod.KEY_TTL_S for k in
               (t + "entry2", t + "a", t + "new"))
    assert c.ttl(t[8:] + "outside") == -1
    c.close()
