"""Every bad flag, path and URL is refused before any work, in one line, with exit status 2."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecomlab import validate
from ecomlab.cli import main, strict_json
from ecomlab.config import check_url, redact
from ecomlab.errors import ConfigError, InvalidInput, OutputError
from ecomlab.files import write_text_atomic


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    started = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    # refused at the boundary: no experiment ran first
    assert time.perf_counter() - started < 30
    return err


@pytest.mark.parametrize(("argv", "needles"), [
    (["simulate", "queue", "--arrival-rate", "1", "--service-rate", "1", "--workers",
      "1000000000000", "--customers", "1000"], ("workers must be <= 100000", "wait zero")),
    (["run", "processing", "--mode", "async", "--orders", "20", "--time-scale", "0.01",
      "--timeout", "1000000000000"], ("timeout_s must be <= 86400", "a day")),
    (["run", "processing", "--mode", "sync", "--orders", "5", "--engine", "bogus"],
     ("--engine", "invalid choice: 'bogus'")),
    (["run", "processing", "--mode", "sync", "--orders", "5", "--engine", "simpy"],
     ("--engine 'simpy'", "only with --simulate")),
    (["run", "inventory", "--strategy", "row-lock", "--max-items", "5", "--skus", "1",
      "--orders", "10"], ("max_items 5", "max_items <= skus")),
    (["generate", "catalog", "--products", "10", "--out", ""], ("--out must be a path",)),
    (["generate", "catalog", "--products", "10", "--out", "/proc/x"], ("cannot be written",)),
])
def test_bad_flags_are_refused_in_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                           needles: tuple[str, ...]) -> None:
    _refused(capsys, argv, *needles)


def test_a_history_path_is_checked_before_the_run(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    base = ["run", "inventory", "--strategy", "row-lock", "--orders", "10", "--history"]
    _refused(capsys, [*base, ""], "--history must be a path")
    _refused(capsys, [*base, str(tmp_path)], "regular file", "a folder")
    _refused(capsys, [*base, "/dev/full"], "regular file")
    _refused(capsys, [*base, str(tmp_path / "missing" / "h.json")], "does not exist")


def test_an_output_under_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(InvalidInput, match="is not a folder"):
        validate.output_dir("--out", str(afile / "sub"))
    assert validate.output_dir("--out", str(tmp_path / "new" / "deeper")) == (
        tmp_path / "new" / "deeper")


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    target = tmp_path / "out.json"
    write_text_atomic(target, "old")
    with pytest.raises(OutputError, match="could not write"):
        write_text_atomic(tmp_path / "missing" / "x.json", "new")

    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OutputError, match="No space left"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(("kind", "url", "needle"), [
    ("pg", "postgresql://postgres@127.0.0.1:notaport/test", "port 'notaport'"),
    ("sql", "postgresql://postgres@127.0.0.1:notaport/test", "port 'notaport'"),
    ("broker", "amqp://guest:guest@127.0.0.1:99999//", "port '99999'"),
    ("broker", "amqp://guest:guest@127.0.0.1:notaport//", "port 'notaport'"),
    ("pg", "postgresql://[::1/test", "cannot be parsed"),
    ("kv", "redis://[::1/0", "cannot be parsed"),
    ("broker", "amqp://[::1//", "cannot be parsed"),
    ("kv", "redis://127.0.0.1:6379/abc", "database 'abc' is not a number"),
    ("kv", "redis://", "names no host"),
    ("broker", "amqp://", "names no host"),
    ("pg", "postgresql://", "names no host"),
    ("kv", "redis://127.0.0.1:0/0", "port 0"),
])
def test_bad_urls_are_config_errors(kind: str, url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        check_url(kind, url)


def test_good_urls_pass_and_passwords_stay_hidden() -> None:
    for kind, url in [("pg", "postgresql://postgres@127.0.0.1:5432/test"),
                      ("pg", "postgresql:///test?host=/var/run/postgresql"),
                      ("kv", "redis://127.0.0.1:6379/0"), ("kv", "unix:///tmp/redis.sock"),
                      ("broker", "amqp://guest:guest@[::1]:5672//"),
                      ("sql", "sqlite:///x.db"), ("sql", "duckdb:///:memory:")]:
        assert check_url(kind, url) == url
    assert redact("amqp://g:secret@127.0.0.1:notaport//") == "amqp://g:***@127.0.0.1:notaport//"
    with pytest.raises(ConfigError) as info:
        check_url("broker", "amqp://g:secret@[::1//")
    assert "secret" not in str(info.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for s in held:
        s.close()
    srv.close()


def test_a_silent_redis_server_is_given_up_on_within_the_connect_timeout(
        silent_server: int) -> None:
    from ecomlab.errors import BackendUnavailable
    from ecomlab.stores import kv_store

    started = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="cannot reach Redis"):
        kv_store(f"redis://127.0.0.1:{silent_server}/0")
    # the documented timeout is 3 s; the margin covers a loaded machine, not a 30 s wait
    assert time.perf_counter() - started < 10


def test_json_output_is_strict() -> None:
    data = strict_json({"p50": math.nan, "rows": [math.inf, 1.5], "n": 3})
    assert data == {"p50": None, "rows": [None, 1.5], "n": 3}
    json.dumps(data, allow_nan=False)


def test_a_run_with_no_completed_orders_prints_null_statistics(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "messaging", "--mode", "direct", "--orders", "5", "--failure-rate",
                 "0.99", "--json"]) == 0
    out = json.loads(capsys.readouterr().out,
                     parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert out["completion_ms"]["p50"] is None


def test_a_run_that_does_not_fit_in_memory_is_refused_with_the_largest_that_fits() -> None:
    import io

    from ecomlab import budget

    with pytest.raises(InvalidInput, match=r"needs about 9\.3 GiB .* choose --products <= "
                                           r"6,442,450$"):
        budget.check_memory("--products", 10_000_000, 1000, basis="test",
                            available=10 * 2**30)
    assert budget.check_memory("--products", 1000, 1000, basis="t", available=2**30) == 1e6
    out = io.StringIO()
    assert not budget.announce("short", 9.0, basis="t", stream=out)
    assert budget.announce("long", 42.0, 3 * 2**30, basis="how", stream=out)
    assert out.getvalue() == "ecomlab: long: about 42 s and 3.0 GiB of memory (how)\n"


def test_a_large_catalog_is_estimated_from_a_sample_before_it_is_generated() -> None:
    from ecomlab.datagen import SAMPLE_PRODUCTS, estimate_catalog

    seconds, peak, basis = estimate_catalog(50 * SAMPLE_PRODUCTS)
    _, small_peak, _ = estimate_catalog(SAMPLE_PRODUCTS)
    assert seconds > 0 and f"{SAMPLE_PRODUCTS:,}" in basis
    # linear in products: the same sample's tables scaled by 50
    assert peak == pytest.approx(50 * small_peak, rel=1e-9)


def test_a_failure_of_the_environment_exits_1_in_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    code = main(["run", "inventory", "--strategy", "conditional-update", "--backend", "sqlite",
                 "--orders", "5", "--history", str(tmp_path / "h.json")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("ecomlab: failed: could not write"), err
    assert len(err.splitlines()) == 1 and list(tmp_path.iterdir()) == []
