"""The command line's JSON contracts: the top-level keys of every results-producing command.

A snapshot of keys, not values: adding a key is fine (the snapshot is regenerated with
``ECOMLAB_UPDATE_KEYS=1``), removing or renaming one breaks every script that reads it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ecomlab.cli import main

SNAPSHOT = Path(__file__).with_name("cli_json_keys.json")

COMMANDS: dict[str, list[str]] = {
    "stores": ["stores", "--no-check"],
    "clean": ["clean", "--dry-run"],
    "generate catalog": ["generate", "catalog", "--products", "20", "--out", "{tmp}/cat"],
    "run inventory": ["run", "inventory", "--strategy", "conditional-update", "--backend",
                      "sqlite", "--orders", "20"],
    "run catalog": ["run", "catalog", "--products", "200", "--repeats", "1", "--rounds", "1"],
    "run processing": ["run", "processing", "--mode", "async", "--orders", "10",
                       "--time-scale", "0.002"],
    "run processing --simulate": ["run", "processing", "--mode", "sync", "--orders", "200",
                                  "--simulate"],
    "run messaging": ["run", "messaging", "--mode", "queue", "--orders", "10"],
    "run caching": ["run", "caching", "--requests", "200"],
    "run architecture": ["run", "architecture", "--style", "monolith", "--orders", "10",
                         "--concurrency", "2", "--transport", "asgi"],
    "run search": ["run", "search", "--products", "300", "--engines", "tantivy,sqlite"],
    "search": ["search", "--engine", "sqlite", "--query", "laptop", "--products", "200"],
    "simulate queue": ["simulate", "queue", "--arrival-rate", "1", "--service-rate", "2",
                       "--workers", "1", "--customers", "1000"],
    "simulate cache": ["simulate", "cache", "--requests", "20000"],
    "claims": ["claims", "--topic", "processing", "--quick"],
    "decide": ["decide", "--profile", "{tmp}/profile.json"],
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "profile.json").write_text(json.dumps({"team": {"developers": 12}}))
    env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("ECOMLAB_")
           and k != "ECOMLAB_RUNS_DIR"}
    out: dict[str, list[str]] = {}
    try:
        for name, argv in COMMANDS.items():
            args = [a.replace("{tmp}", str(tmp)) for a in argv]
            import contextlib
            import io

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main([*args, "--json"])
            assert code == 0, (name, code)
            out[name] = sorted(json.loads(buf.getvalue()))
    finally:
        os.environ.update(env)
    return out


@pytest.mark.timeout(600)
def test_every_command_keeps_its_json_keys(keys: dict[str, list[str]]) -> None:
    if os.environ.get("ECOMLAB_UPDATE_KEYS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
    saved: dict[str, list[str]] = json.loads(SNAPSHOT.read_text())
    for name, expected in saved.items():
        missing = sorted(set(expected) - set(keys.get(name, [])))
        assert not missing, f"{name}: keys removed from the JSON contract: {missing}"
    assert set(keys) <= set(saved), "a new command: regenerate with ECOMLAB_UPDATE_KEYS=1"
