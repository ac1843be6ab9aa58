"""The seed material's claims about inventory consistency, judged by our measurements.

:func:`inventory_claims` turns the notebook's runs into claims; :func:`inventory_ledger` runs
small versions of those experiments (embedded stores) and returns the same claims, for the
workbook's claims ledger (``ecomlab claims --topic inventory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pandas as pd

from ecomlab.inventory.experiment import InventoryRun
from ecomlab.inventory.model import EVENTUAL, STRONG
from ecomlab.measure import Claim, Verdict

__all__ = ["inventory_claims", "inventory_ledger"]


def inventory_claims(sweep: pd.DataFrame, compensation: InventoryRun,
                     locking: Mapping[str, InventoryRun]) -> list[Claim]:
    """Four claims with verdicts computed from a buyer sweep, a faulty cache-check run and the
    row-lock runs with sorted and unordered locks (keys ``sorted`` and ``unordered``)."""
    strong = sweep[sweep["strategy"].isin(STRONG)]
    eventual = sweep[sweep["strategy"].isin(EVENTUAL)]
    top = int(sweep["buyers"].max())
    at_top = sweep[sweep["buyers"] == top].set_index("strategy")
    best_strong = at_top.loc[at_top.index.isin(STRONG), "throughput_per_s"]
    best_eventual = at_top.loc[at_top.index.isin(EVENTUAL), "throughput_per_s"]
    ratio = float(best_eventual.max() / best_strong.max()) if len(best_strong) else float("nan")
    strong_over = int(strong["oversold_units"].sum())
    strong_valid = bool(strong["valid"].all())
    sweep_range = f"{int(sweep['buyers'].min())}–{top} buyers"
    claims = [Claim(
        "inventory", "strong consistency", "perfect inventory accuracy, no overselling", "pro",
        "supported" if strong_over == 0 and strong_valid else "refuted",
        f"{strong_over} oversold units and {int((~strong['valid']).sum())} checker failures in "
        f"{len(strong)} strong runs (measured)",
        f"{sweep_range}; one hot SKU; each on its natural store "
        f"({', '.join(sorted(set(strong['backend'])))})")]

    srt, unord = locking["sorted"].result.metrics, locking["unordered"].result.metrics
    slower = ratio > 1
    verdict: Verdict = "qualified" if (srt["deadlocks"] == 0 and unord["deadlocks"] > 0) else (
        "supported" if slower else "refuted")
    claims.append(Claim(
        "inventory", "strong consistency",
        "database locks, reduced throughput, potential deadlocks", "con", verdict,
        f"best strong strategy reached {best_strong.max():.0f} orders/s vs "
        f"{best_eventual.max():.0f} for the best eventual one at {top} buyers "
        f"({ratio:.1f}×); row-lock p99 lock wait {srt['lock_wait_ms']['p99']:.1f} ms; "
        f"deadlocks: {srt['deadlocks']} with sorted locks, {unord['deadlocks']} unordered "
        "(measured)",
        "deadlocks only when rows are locked in different orders; sorting by product id "
        "removes them"))

    def cancelled_at_top(strategy: str) -> int | None:
        if strategy not in at_top.index:
            return None
        return int(sweep.loc[(sweep["strategy"] == strategy) & (sweep["buyers"] == top),
                             "orders_cancelled"].sum())

    cc = cancelled_at_top("cache-check")
    ar = cancelled_at_top("atomic-reserve")
    p99_strong = at_top.loc[at_top.index.isin(STRONG), "p99_ms"].min()
    p99_eventual = at_top.loc[at_top.index.isin(EVENTUAL), "p99_ms"].min()
    cancelled = cc or 0
    claims.append(Claim(
        "inventory", "eventual consistency", "high throughput, better user experience", "pro",
        "qualified" if slower else "refuted",
        f"{ratio:.1f}× the best strong throughput at {top} buyers; p99 {p99_eventual:.0f} ms "
        f"vs {p99_strong:.0f} ms; but cache-check told {cancelled} buyers 'yes' and later "
        "cancelled them (measured)",
        "faster answers; the experience is better only for buyers who are not oversold — "
        "atomic-reserve keeps the speed without cancellations"
        + ("" if ar is None else f" ({ar} cancelled)")))

    comp = compensation.result.metrics
    cc_over = int(eventual.loc[eventual["strategy"] == "cache-check", "oversold_units"].sum())
    ar_over = int(eventual.loc[eventual["strategy"] == "atomic-reserve", "oversold_units"].sum())
    claims.append(Claim(
        "inventory", "eventual consistency", "potential overselling, compensation complexity",
        "con", "supported" if cc_over > 0 else "qualified",
        f"cache-check oversold {cc_over} units across the sweep, atomic-reserve {ar_over}; "
        f"with faults, {comp['orders_cancelled']} cancellations and {comp['refunds']} refunds, "
        f"{comp['validator_crashes']} validator crashes, "
        f"{comp['uncompensated_oversold_units']} uncompensated units, "
        f"{comp['double_refunds']} double refunds; time to consistency p50 "
        f"{comp['time_to_consistency_ms']['p50']} ms (measured)",
        "overselling comes from read-then-decrement; compensation stays correct only with "
        "at-least-once events, idempotent handling and idempotent refunds"))
    return claims


def inventory_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the experiments the four claims need and return the claims (label ``measured``).

    ``quick`` sweeps 1 and 8 buyers over 60 orders (about 10 s on embedded stores); otherwise
    the notebook's sizes (1, 4, 16 and 32 buyers over 120 orders).
    """
    from ecomlab.inventory.experiment import run_inventory, sweep_buyers

    buyers, orders, faulty_orders = ([1, 8], 60, 100) if quick else ([1, 4, 16, 32], 120, 200)
    sweep = sweep_buyers(["row-lock", "conditional-update", "optimistic", "cache-check",
                          "atomic-reserve"], buyers, stock=20, orders=orders, seed=seed,
                         show_progress=False)
    faulty = run_inventory("cache-check", stock=20, buyers=max(buyers), orders=faulty_orders,
                           seed=seed, payment_failure_rate=0.1, buyer_crash_rate=0.05,
                           validator_delay_ms=1.0, validator_crash_rate=0.1)
    locking = {order: run_inventory("row-lock", stock=1000, buyers=8, orders=48, skus=2,
                                    skew=0.0, max_items=2, lock_order=order, seed=seed)
               for order in ("sorted", "unordered")}
    command = f"ecomlab claims --topic inventory{' --quick' if quick else ''} --seed {seed}"
    return [replace(c, command=c.command or command)
            for c in inventory_claims(sweep, faulty, locking)]
