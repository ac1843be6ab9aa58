"""Run manifests: every object a run creates is recorded, released on disposal, and judged
stale only when its process is gone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ecomlab import runs


@pytest.fixture(autouse=True)
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECOMLAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(runs, "_manifest", None)
    return tmp_path


def test_owners_are_gone_only_when_their_process_is() -> None:
    me = runs.Owner.this_process()
    assert not me.is_gone()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert runs.Owner(me.host, dead.pid, me.started).is_gone()
    assert runs.Owner(me.host, me.pid, me.started - 3600).is_gone()  # the PID was reused
    assert not runs.Owner("another-host", dead.pid, 0.0).is_gone()
    assert me.host == socket.gethostname()


def test_a_manifest_lists_what_is_registered_and_vanishes_when_all_is_released(
        runs_dir: Path) -> None:
    runs.register("pg-schema", "postgresql://h/db", "ecomlab_0123abcd")
    runs.register("redis-prefix", "redis://h/0", "ecomlab:x:1:")
    (path,) = runs_dir.glob("*.json")
    data = json.loads(path.read_text())
    assert data["owner"]["pid"] == os.getpid()
    assert [o["name"] for o in data["objects"]] == ["ecomlab_0123abcd", "ecomlab:x:1:"]
    runs.release("pg-schema", "postgresql://h/db", "ecomlab_0123abcd")
    runs.release("redis-prefix", "redis://h/0", "ecomlab:x:1:")
    assert list(runs_dir.glob("*.json")) == []


def test_an_embedded_store_records_its_folder_and_releases_it(runs_dir: Path) -> None:
    from ecomlab.stores import sql_store

    with sql_store("sqlite") as store:
        (obj,) = json.loads(next(runs_dir.glob("*.json")).read_text())["objects"]
        assert obj["kind"] == "temp-dir" and Path(obj["name"]).is_dir()
        assert store.url.startswith("sqlite:///" + obj["name"])
    assert list(runs_dir.glob("*.json")) == [] and not Path(obj["name"]).exists()


def test_a_search_index_records_its_folder_and_a_killed_runs_folder_is_swept(
        runs_dir: Path) -> None:
    from ecomlab.search import TantivyEngine

    left = tempfile.mkdtemp(prefix="ecomlab-tantivy-")  # as a SIGKILLed run leaves it
    _dead_manifest(runs_dir, [{"kind": "temp-dir", "location": "local", "name": left}])
    with TantivyEngine() as engine:
        assert not Path(left).exists()
        (mine,) = [m for m in runs_dir.glob("*.json") if not m.name.startswith("dead-")]
        (obj,) = json.loads(mine.read_text())["objects"]
        assert obj == {"kind": "temp-dir", "location": "local", "name": str(engine.path)}
    assert not engine.path.exists()
    assert [m for m in runs_dir.glob("*.json") if not m.name.startswith("dead-")] == []


def _dead_manifest(runs_dir: Path, objects: list[dict[str, str]]) -> Path:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = {"host": socket.gethostname(), "pid": dead.pid, "started": 1.0}
    path = runs_dir / f"dead-{dead.pid}.json"
    path.write_text(json.dumps({"owner": owner, "objects": objects}))
    return path


def test_clean_removes_only_ecomlab_folders_and_reports_unconfigured_servers(
        runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ECOMLAB_PG_URL", "ECOMLAB_SQL_URL", "ECOMLAB_REDIS_URL", "ECOMLAB_AMQP_URL",
                "ECOMLAB_MONGO_URL"):
        monkeypatch.delenv(var, raising=False)
    mine = tempfile.mkdtemp(prefix="ecomlab-sqlite-")
    outside = tempfile.mkdtemp(prefix="precious-")
    path = _dead_manifest(runs_dir, [
        {"kind": "temp-dir", "location": "local", "name": mine},
        {"kind": "temp-dir", "location": "local", "name": outside},
        {"kind": "redis-prefix", "location": "redis://10.0.0.9:6379/0", "name": "ecomlab:a:"},
    ])
    assert runs.clean(dry_run=True)["removed"] and Path(mine).is_dir()
    done = runs.clean()
    assert [o["name"] for o in done["removed"]] == [mine] and not Path(mine).exists()
    reasons = {o["name"]: o["reason"] for o in done["skipped"]}
    assert "not an ecomlab temporary folder" in reasons[outside] and Path(outside).is_dir()
    assert "ECOMLAB_REDIS_URL" in reasons["ecomlab:a:"]
    assert len(json.loads(path.read_text())["objects"]) == 2  # kept for a later clean
    os.rmdir(outside)


def test_a_temp_dir_is_in_the_manifest_until_cleaned_or_collected(runs_dir: Path) -> None:
    import gc

    def recorded() -> list[str]:
        return [o["name"] for m in runs_dir.glob("*.json")
                for o in json.loads(m.read_text())["objects"]]

    with runs.TempDir("ecomlab-test-") as kept:
        assert kept.path.is_dir() and recorded() == [kept.name]
    assert not kept.path.exists() and recorded() == []
    kept.cleanup()  # a second cleanup does nothing
    dropped = runs.TempDir("ecomlab-test-")
    name = dropped.name
    del dropped
    gc.collect()
    assert not Path(name).exists() and recorded() == []
    with pytest.raises(ValueError, match=r"'precious-'.*must start with 'ecomlab-'"):
        runs.TempDir("precious-")
    assert recorded() == []


def test_a_killed_architecture_run_leaves_its_folders_to_clean(runs_dir: Path) -> None:
    """Topic 05's database and log folders are in the manifest: SIGKILL cannot strand them."""
    code = ("from ecomlab.architecture.deploy import Deployment\n"
            "from ecomlab.architecture.processes import ProcessManager\n"
            "d = Deployment('microservices'); m = ProcessManager()\n"
            "print(d.db_dir, m.log_dir, flush=True)\n"
            "import time; time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "ECOMLAB_RUNS_DIR": str(runs_dir)})
    assert child.stdout is not None
    folders = [Path(p) for p in child.stdout.readline().split()]
    child.kill()
    child.wait()
    assert len(folders) == 2 and all(f.is_dir() for f in folders)
    done = runs.clean()
    assert sorted(o["name"] for o in done["removed"]) == sorted(map(str, folders))
    assert not any(f.exists() for f in folders)
