"""Monolith vs microservices: the cost of one hop, the load generator, saturation and the USL.

    .venv/bin/python benchmarks/bench_architecture.py [--calls 2000] [--seconds 3] [--json]

Prints (all measured on this machine; run on demand, not a test):

* the cost of one hop to ``GET /products/{sku}``: an in-process function call, the same app
  through ``httpx.ASGITransport`` (no socket), and a uvicorn process over loopback TCP
  (us per call, sequential);
* the workbook's load generator vs ``wrk`` (Debian package, if installed) on the monolith's
  ``GET /products/{sku}`` at the same number of connections (requests/s and their ratio);
* orders/s at saturation (closed loop, 16 clients) for both styles, and their ratio;
* throughput vs clients per style with the Universal Scalability Law fitted (sigma, kappa);
* one replica of the hot service vs two behind round robin (the monolith: one copy vs two),
  closed loop, with the queueing model's prediction beside each measured point.

Each figure also goes out as one ``BENCH-FIGURE`` line (see ``benchmarks/_table.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _table import emit

from ecomlab.architecture import domain
from ecomlab.architecture.apps import service_app
from ecomlab.architecture.deploy import Deployment
from ecomlab.architecture.experiment import run_architecture
from ecomlab.architecture.load import RawClient
from ecomlab.architecture.model import replica_check
from ecomlab.architecture.processes import ProcessManager
from ecomlab.architecture.scaling import replica_scaling, usl_table


def _per_call_us(samples_s: list[float]) -> dict[str, float]:
    us = sorted(s * 1e6 for s in samples_s)
    return {"p50_us": round(us[len(us) // 2], 1), "mean_us": round(statistics.fmean(us), 1)}


def hop_costs(calls: int) -> dict[str, dict[str, float]]:
    """One product lookup as a function call, through ASGI, and over loopback TCP."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "product.sqlite"
        conn = domain.connect(db)
        domain.create_schema(conn, ("product",))
        domain.seed_catalog(conn, products=True)
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            domain.get_product(conn, "MUG-BLUE")
            samples.append(time.perf_counter() - t0)
        out["in-process call"] = _per_call_us(samples)
        conn.close()

        async def over(client: httpx.AsyncClient, base: str) -> list[float]:
            got = []
            for _ in range(calls):
                t0 = time.perf_counter()
                r = await client.get(f"{base}/products/MUG-BLUE")
                r.raise_for_status()
                got.append(time.perf_counter() - t0)
            return got

        async def asgi() -> list[float]:
            app = service_app("product", db)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
                return await over(client, "http://product.local")
        out["ASGI transport (no socket)"] = _per_call_us(asyncio.run(asgi()))

        with ProcessManager() as pm:
            svc = pm.start("product", {"service": "product", "db": str(db)})

            async def tcp() -> list[float]:
                async with httpx.AsyncClient() as client:
                    await over(client, svc.url)  # warm the connection and the service
                    return await over(client, svc.url)
            out["loopback TCP (uvicorn process)"] = _per_call_us(asyncio.run(tcp()))
    return out


async def _generator_rps(url: str, connections: int, seconds: float) -> float:
    """The experiments' load client (RawClient), ``connections`` closed-loop workers."""
    done = 0
    client = RawClient()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            r = await client.get(url)
            if r.status_code == 200:
                done += 1
    try:
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return done / (time.perf_counter() - start)
    finally:
        await client.aclose()


def generator_vs_wrk(connections: int, seconds: float) -> dict[str, Any]:
    """Requests/s on the monolith's product page: this generator vs wrk (same connections,
    same whole seconds: wrk takes its duration in whole seconds only)."""
    seconds = float(max(1, round(seconds)))
    with Deployment("monolith", workers=8) as dep:
        url = f"{dep.urls['monolith']}/products/MUG-BLUE"
        ours = asyncio.run(_generator_rps(url, connections, seconds))
        out: dict[str, Any] = {"connections": connections, "generator_rps": round(ours, 1)}
        wrk = shutil.which("wrk")
        if wrk is None:
            out["wrk_rps"] = None
            out["note"] = "wrk not installed (apt-get install wrk)"
            return out
        run = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", url],
                             capture_output=True, text=True, check=True)
        m = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
        wrk_rps = float(m.group(1)) if m else float("nan")
        out["wrk_rps"] = wrk_rps
        out["generator_over_wrk"] = round(ours / wrk_rps, 3) if wrk_rps else None
        emit(f"load generator GET /products/{{sku}}, {connections} connections", ours,
             "requests/s", label="measured", anchor="wrk", anchor_value=wrk_rps,
             target=">= 0.6x wrk", met=bool(wrk_rps) and ours / wrk_rps >= 0.6)
    return out


def saturation(orders: int) -> dict[str, Any]:
    """Orders/s with 16 closed-loop clients, both styles over processes, and the ratio."""
    rates = {}
    for style in ("monolith", "microservices"):
        m = run_architecture(style, orders, concurrency=16).metrics
        rates[style] = round(m["throughput_per_s"], 1)
    rates["monolith_over_microservices"] = round(rates["monolith"] / rates["microservices"], 2)
    emit("monolith orders/s at saturation (16 clients)", rates["monolith"], "orders/s",
         label="measured", anchor="microservices, same run",
         anchor_value=rates["microservices"])
    return rates


def scaling(orders: int) -> dict[str, Any]:
    """Per style: 1 vs 2 replicas of the hot process at 1-8 clients, the USL on the
    one-replica curve, and the model's predictions beside the measured points."""
    import pandas as pd

    table = pd.concat([replica_scaling(style, clients=(1, 2, 3, 4, 6, 8), orders=orders)
                       for style in ("monolith", "microservices")], ignore_index=True)
    fits = usl_table(table)
    check = replica_check(table)
    out: dict[str, Any] = {}
    for style in ("monolith", "microservices"):
        part = table[table["style"] == style]
        fit = fits[fits["style"] == style].iloc[0]
        rows = check[check["style"] == style]
        one, two = rows.iloc[0], rows.iloc[-1]
        out[style] = {
            "service": str(one["service"]), "clients": int(one["clients"]),
            "throughput_per_s": {f"{int(r)}x@{int(n)}": round(float(x), 1) for r, n, x in
                                 zip(part["replicas"], part["clients"],
                                     part["throughput_per_s"], strict=True)},
            "served_by_replica": list(two["served_by_replica"]),
            **{k: round(float(fit[k]), 4) for k in ("lambda", "sigma", "kappa", "r2", "gain")},
            "usl_fits": bool(fit["fits"]),
            "model_on_cores_per_s": round(float(two["model_on_cores_per_s"]), 1),
            "model_own_cores_per_s": round(float(two["model_own_cores_per_s"]), 1),
            "model_error": round(float(two["error"]), 3), "model_within": bool(two["within"]),
            "tolerance": float(two["tolerance"])}
        emit(f"{style}: 2 x {one['service']} vs 1, closed loop {int(one['clients'])} clients",
             float(two["measured_per_s"]), "orders/s", label="measured",
             anchor="1 replica, same run", anchor_value=float(one["measured_per_s"]))
        emit(f"{style}: model on 2 cores for 2 x {one['service']}",
             float(two["model_on_cores_per_s"]), "orders/s", label="model",
             anchor="measured", anchor_value=float(two["measured_per_s"]),
             target=f"within +-{float(two['tolerance']):.0%} of measured",
             met=bool(two["within"]))
        emit(f"{style}: USL r2 over {int(fit['points'])} points", float(fit["r2"]), "1",
             label="measured", target=">= 0.8 to read sigma and kappa",
             met=bool(fit["fits"]))
        if fit["fits"]:
            emit(f"{style}: USL sigma (contention)", float(fit["sigma"]), "1", label="measured")
            emit(f"{style}: USL kappa (coherence)", float(fit["kappa"]), "1", label="measured")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000, help="calls per hop kind (default 2000)")
    p.add_argument("--seconds", type=float, default=3.0, help="load duration (default 3 s)")
    p.add_argument("--connections", type=int, default=8, help="connections (default 8)")
    p.add_argument("--orders", type=int, default=300, help="orders per saturation run")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    results = {"label": "measured", "hop_cost": hop_costs(args.calls),
               "generator_vs_wrk": generator_vs_wrk(args.connections, args.seconds),
               "saturation_orders_per_s": saturation(args.orders),
               "scaling_usl": scaling(max(60, args.orders // 3))}
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for section, value in results.items():
            print(f"{section}: {json.dumps(value, indent=2) if isinstance(value, dict) else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
