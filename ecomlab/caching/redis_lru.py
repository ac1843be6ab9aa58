"""Redis ``maxmemory`` with ``allkeys-lru``: how far Redis's approximate LRU drifts from LRU.

Redis does not keep an LRU list. When memory is over ``maxmemory`` it samples
``maxmemory-samples`` keys and evicts the one idle longest, where idleness is read from a clock
with a resolution of one second. This module starts a **private** ``redis-server`` (Unix socket
in a temporary folder, no persistence; the shared server's settings are never touched), replays
a Zipf trace of ``SET key value NX GET`` commands (a read that fills on a miss, in one command),
and compares its hit ratio with an exact LRU and a random-eviction cache of the same size (the
number of keys Redis held at the end), and with Che's approximation.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ecomlab import runs, validate
from ecomlab.caching.simulate import che_hit_ratio, simulate_lru, simulate_random
from ecomlab.datagen import zipf_keys, zipf_popularity
from ecomlab.errors import BackendUnavailable, UnsupportedOperation
from ecomlab.measure import Result

__all__ = ["drift_table", "private_redis", "redis_lru_drift", "redis_server_binary"]

_START_TIMEOUT_S = 10.0


def redis_server_binary() -> str | None:
    """The path of ``redis-server`` on this machine, or None."""
    return shutil.which("redis-server")


@contextmanager
def private_redis(*, maxmemory_bytes: int = 0, policy: str = "allkeys-lru",
                  samples: int = 5, retries: int = 0) -> Iterator[redis.Redis]:
    """Start a private ``redis-server`` on a Unix socket; stop it and remove its folder after.

    The client retries a failed call ``retries`` times without backoff (default none: it fails
    fast). redis-py's own default — three retries with exponential backoff — makes every call
    to a dead server wait seconds, which a cache in front of a database cannot afford.

    Raises:
        UnsupportedOperation: no ``redis-server`` binary on this machine.
        BackendUnavailable: it did not answer within 10 s.
    """
    binary = redis_server_binary()
    if binary is None:
        raise UnsupportedOperation("no redis-server binary on PATH: the maxmemory experiment "
                                   "needs a private Redis server")
    tmp = runs.TempDir("ecomlab-redis-")  # in the run's manifest, for `ecomlab clean`
    folder = tmp.path
    sock = folder / "redis.sock"
    cmd = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
           "--save", "", "--appendonly", "no", "--dir", str(folder),
           "--maxmemory", str(int(maxmemory_bytes)), "--maxmemory-policy", policy,
           "--maxmemory-samples", str(int(samples)), "--logfile", str(folder / "redis.log")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client: redis.Redis | None = None
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if sock.exists():
                client = redis.Redis(unix_socket_path=str(sock), decode_responses=True,
                                     retry=Retry(NoBackoff(), retries))
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    client.close()
                    client = None
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BackendUnavailable(f"private redis-server did not start: {cmd!r}")
            time.sleep(0.02)
        yield client
    finally:
        if client is not None:
            client.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        tmp.cleanup()


def redis_lru_drift(*, objects: int = 5000, zipf: float = 0.9, requests: int = 30_000,
                    value_bytes: int = 500, cache_mb: float = 1.0, samples: int = 5,
                    seed: int = 42, batch: int = 1000) -> Result:
    """Replay a Zipf trace through a private Redis with ``maxmemory`` and ``allkeys-lru``.

    Args:
        objects: distinct keys N.
        zipf: Zipf exponent.
        requests: requests replayed (the first 10 % warm the cache and are not counted).
        value_bytes: size of each value (bytes).
        cache_mb: memory for data above the empty server's own use (MB).
        samples: ``maxmemory-samples`` (Redis default 5; more is closer to LRU, and slower).
        seed: the random seed.
        batch: commands per pipeline round trip.

    Returns a ``measured`` Result: Redis's hit ratio, the exact-LRU and random-eviction hit
    ratios for the same trace and the same number of keys, Che's prediction and the drift.
    """
    objects = validate.integer("objects", objects, minimum=2, maximum=10_000_000)
    zipf = validate.number("zipf", zipf, minimum=0.0, maximum=10.0)
    requests = validate.integer("requests", requests, minimum=100, maximum=100_000_000)
    value_bytes = validate.integer("value_bytes", value_bytes, minimum=1, maximum=1_000_000)
    cache_mb = validate.number("cache_mb", cache_mb, minimum=0.01, maximum=4096.0)
    samples = validate.integer("samples", samples, minimum=1, maximum=64)
    batch = validate.integer("batch", batch, minimum=1, maximum=100_000)
    keys = zipf_keys(objects, zipf, requests, seed)
    warmup = requests // 10
    value = "x" * value_bytes
    with private_redis(maxmemory_bytes=0, samples=samples) as client:
        baseline = int(client.info("memory")["used_memory"])
        limit = baseline + int(cache_mb * 1024 * 1024)
        client.config_set("maxmemory", limit)
        hits = 0
        started = time.perf_counter()
        trace = keys.tolist()
        for start in range(0, len(trace), batch):
            pipe = client.pipeline(transaction=False)
            chunk = trace[start:start + batch]
            for k in chunk:
                pipe.set(f"k:{k}", value, nx=True, get=True)
            replies = pipe.execute()
            for j, reply in enumerate(replies):
                if reply is not None and start + j >= warmup:
                    hits += 1
        elapsed = time.perf_counter() - started
        held = int(client.dbsize())
        stats = client.info("stats")
        version = str(client.info("server")["redis_version"])
    counted = requests - warmup
    lru = simulate_lru(keys, max(1, held), warmup=warmup)
    rnd = simulate_random(keys, max(1, held), seed=seed, warmup=warmup)
    che = che_hit_ratio(zipf_popularity(objects, zipf), max(1, held))
    redis_hr = hits / counted
    metrics = {
        "hit_ratio": round(redis_hr, 4),
        "exact_lru_hit_ratio": round(lru.hit_ratio, 4),
        "random_hit_ratio": round(rnd.hit_ratio, 4),
        "predicted_hit_ratio": round(che, 4),
        "drift_from_lru": round(redis_hr - lru.hit_ratio, 4),
        "keys_held": held,
        "maxmemory_bytes": limit,
        "evicted_keys": int(stats.get("evicted_keys", 0)),
        "replay_requests_per_s": round(requests / elapsed, 1),
        "replay_s": round(elapsed, 3),
    }
    params = {"objects": objects, "zipf": zipf, "requests": requests, "warmup": warmup,
              "value_bytes": value_bytes, "cache_mb": cache_mb, "samples": samples,
              "policy": "allkeys-lru"}
    return Result(experiment="caching-redis-lru", label="measured", seed=seed, params=params,
                  metrics=metrics, backends={"kv": {"backend": "redis", "embedded": False,
                                                    "url": "private redis-server (unix socket)",
                                                    "version": version}})


def drift_table(*, samples: tuple[int, ...] = (1, 5, 10), **kwargs: object) -> pd.DataFrame:
    """Redis's hit ratio beside exact LRU and random eviction, per ``maxmemory-samples``."""
    rows = []
    for s in samples:
        r = redis_lru_drift(samples=s, **kwargs)  # type: ignore[arg-type]
        m = r.metrics
        rows.append({"maxmemory_samples": s, "keys_held": m["keys_held"],
                     "redis": m["hit_ratio"], "exact_lru": m["exact_lru_hit_ratio"],
                     "random": m["random_hit_ratio"], "che": m["predicted_hit_ratio"],
                     "drift_from_lru": m["drift_from_lru"]})
    return pd.DataFrame(rows)


