"""The command line and the store factories against the real servers CI runs."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import real_url


def test_stores_json_shows_a_real_redis_when_its_url_is_set() -> None:
    url = real_url("ECOMLAB_REDIS_URL")
    proc = subprocess.run([sys.executable, "-m", "ecomlab", "stores", "--json"],
                          capture_output=True, text=True, timeout=60,
                          env={"ECOMLAB_REDIS_URL": url, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    kv = json.loads(proc.stdout)["kv"]
    assert kv["backend"] == "redis" and kv["embedded"] is False and kv["reachable"] is True


def test_stores_json_pings_a_real_postgres_and_broker() -> None:
    env = {"ECOMLAB_PG_URL": real_url("ECOMLAB_PG_URL"),
           "ECOMLAB_AMQP_URL": real_url("ECOMLAB_AMQP_URL"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "ecomlab", "stores", "--json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["pg"]["backend"] == "postgres" and data["pg"]["reachable"] is True
    assert data["broker"]["backend"] == "rabbitmq" and "guest:***@" in data["broker"]["url"]


def test_a_wrong_password_style_mistake_names_the_server_not_a_traceback() -> None:
    real_url("ECOMLAB_PG_URL")
    proc = subprocess.run([sys.executable, "-m", "ecomlab", "stores"],
                          capture_output=True, text=True, timeout=60,
                          env={"ECOMLAB_PG_URL": "postgresql://postgres@127.0.0.1:1/test",
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "cannot reach postgres" in proc.stderr and "Traceback" not in proc.stderr
