"""The seed's claims about message queues and direct calls, judged by our measurements.

:func:`messaging_claims` reads three tables produced in notebook 04 (all ``measured``):

* ``outcomes`` — :func:`~ecomlab.messaging.outcome_frame` rows for ``direct``, ``queue``
  idempotent and ``queue`` naive at one failure rate (with crashes and duplicates injected);
* ``cascade`` — :func:`~ecomlab.messaging.cascade_table` (a slow inventory service);
* ``reordering`` — :func:`~ecomlab.messaging.reordering_table`.

Verdicts follow from the numbers through the rules written next to each claim; nothing is
hard-coded except the claim's words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ecomlab.errors import InvalidInput
from ecomlab.measure import Claim

__all__ = ["messaging_claims", "messaging_ledger"]


def _row(frame: pd.DataFrame, **match: object) -> pd.Series:
    sel = frame
    for col, value in match.items():
        sel = sel[sel[col].isna()] if value is None else sel[sel[col] == value]
    if sel.empty:
        raise InvalidInput(f"no row with {match!r} in the table given; run the experiment "
                           "that produces it first")
    return sel.iloc[0]


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "n/a"


@dataclass(frozen=True)
class _Figures:
    """The rows and figures the claims read (see :func:`messaging_claims`)."""

    direct: pd.Series
    queue: pd.Series
    naive: pd.Series
    f: float
    n: int
    cond: str
    d_slow: pd.Series
    q_slow: pd.Series
    d_to: pd.Series | None
    slow_cond: str
    reordering: pd.DataFrame
    one: float
    many: float


def messaging_claims(outcomes: pd.DataFrame, cascade: pd.DataFrame,
                     reordering: pd.DataFrame) -> list[Claim]:
    """The message-queue and direct-call claims with verdicts from the measured tables."""
    direct = _row(outcomes, mode="direct")
    queue = _row(outcomes, mode="queue", idempotent=True)
    naive = _row(outcomes, mode="queue", idempotent=False)
    f = float(direct["failure_rate"])
    n = int(direct["orders"])
    cond = (f"failure rate {f:g} per service call, {n} orders, 3 retries; "
            "in-process services with scaled-down latencies")
    d_slow = _row(cascade, mode="direct", timeout_ms=None)
    q_slow = _row(cascade, mode="queue", timeout_ms=None)
    timeouts = cascade[cascade["timeout_ms"].notna()]
    d_to = _row(timeouts, mode="direct") if not timeouts.empty else None
    slow_cond = "inventory 20x slower, no failures injected"
    r_one = reordering[(reordering["workers"] == reordering["workers"].min())
                       & (reordering["failure_rate"] == 0)]
    r_many = reordering[(reordering["workers"] == reordering["workers"].max())]
    one = float(r_one["reordered"].iloc[0]) if not r_one.empty else float("nan")
    many = float(r_many["reordered"].max()) if not r_many.empty else float("nan")
    t = _Figures(direct, queue, naive, f, n, cond, d_slow, q_slow, d_to, slow_cond,
                 reordering, one, many)
    return _queue_claims(t) + _direct_claims(t)


def _queue_claims(t: _Figures) -> list[Claim]:
    """The message-queue claims."""
    direct, queue, naive, n, cond = t.direct, t.queue, t.naive, t.n, t.cond
    d_slow, q_slow, slow_cond = t.d_slow, t.q_slow, t.slow_cond
    claims: list[Claim] = []
    add = claims.append
    reordering, one, many = t.reordering, t.one, t.many
    mq = "message queue"

    # fault tolerance: more orders succeed, none lost (rule: queue succeeded > direct and 0 lost)
    ok = queue["succeeded"] > direct["succeeded"] and queue["lost"] == 0
    add(Claim("messaging", mq, "fault tolerance", "pro", "supported" if ok else "refuted",
              f"succeeded {queue['succeeded']}/{n} ({_pct(queue['succeeded'], n)}) through the "
              f"queue vs {direct['succeeded']}/{n} ({_pct(direct['succeeded'], n)}) by direct "
              f"calls; lost {queue['lost']}, dead-lettered {queue['dead_lettered']} (measured)",
              cond))
    # scalability: the customer's wait stays flat, the work does not (always qualified unless
    # the queue's response is not better than direct's)
    better = q_slow["response_p99_ms"] < d_slow["response_p99_ms"]
    add(Claim("messaging", mq, "scalability", "pro", "qualified" if better else "refuted",
              f"with a slow inventory, response p99 {q_slow['response_p99_ms']:.1f} ms (queue) "
              f"vs {d_slow['response_p99_ms']:.1f} ms (direct), but orders finish at p99 "
              f"{q_slow['completion_p99_ms']:.0f} ms: the backlog moves to the queue and "
              "throughput is still the consumers' (measured)", slow_cond))
    # loose coupling: the slow service does not reach the customer (rule: queue p99 response
    # under 1/5 of direct's)
    loose = q_slow["response_p99_ms"] * 5 < d_slow["response_p99_ms"]
    add(Claim("messaging", mq, "loose coupling", "pro", "supported" if loose else "qualified",
              f"a 20x slower inventory moved the queue's response p99 to "
              f"{q_slow['response_p99_ms']:.1f} ms and direct's to "
              f"{d_slow['response_p99_ms']:.1f} ms (measured)", slow_cond))
    # ordering: reordering appears with competing consumers / retries (rule: one consumer
    # without failures keeps order, many consumers do not)
    ordered = one == 0 and many > 0
    add(Claim("messaging", mq, "message ordering", "con", "supported" if ordered else
              "qualified",
              f"orders completed after a later order: {one:.0%} with one consumer and no "
              f"failures, up to {many:.0%} with {int(reordering['workers'].max())} competing "
              "consumers and retries (measured)",
              "per-queue FIFO holds only for one consumer without retries"))
    # duplicates: real at the broker, harmless with a ledger (rule: naive > 0 and idempotent 0)
    dup_real = naive["duplicate_charges"] > 0 and queue["duplicate_charges"] == 0
    add(Claim("messaging", mq, "duplicate processing", "con",
              "qualified" if dup_real else "supported" if queue["duplicate_charges"] else
              "refuted",
              f"{queue['redeliveries']} redeliveries; duplicate charges "
              f"{naive['duplicate_charges']} with a naive consumer vs "
              f"{queue['duplicate_charges']} with the processed-message ledger and "
              "idempotency keys (measured)",
              cond + "; crashes before ack and duplicate publishes injected"))
    add(Claim("messaging", mq, "debugging complexity", "con", "not measurable here",
              f"the dead-letter queue kept a reason for each of {queue['dead_lettered']} "
              "dead-lettered orders; the effort of tracing work across threads is not measured",
              ""))
    return claims


def _direct_claims(t: _Figures) -> list[Claim]:
    """The direct-call claims."""
    direct, queue, f, n, cond = t.direct, t.queue, t.f, t.n, t.cond
    d_slow, d_to, slow_cond = t.d_slow, t.d_to, t.slow_cond
    claims: list[Claim] = []
    add = claims.append
    dc = "direct calls"
    add(Claim("messaging", dc, "simple debugging", "pro", "not measurable here",
              "every failed checkout names its failing step at once; debugging effort itself "
              "is not measured", ""))
    orphans = int(direct["orphan_charges"])
    add(Claim("messaging", dc, "immediate error handling", "pro",
              "qualified" if orphans else "supported",
              f"{direct['failed']}/{n} customers saw an error at once; {orphans} of them had "
              f"been charged and not refunded (email failed after payment), "
              f"{direct['compensations']} refunds by compensation (measured)", cond))
    unbalanced = int(direct["unbalanced_orders"])
    to_unbalanced = int(d_to["unbalanced_orders"]) if d_to is not None else 0
    # rule: supported only if money and stock matched for every order in both runs
    consistent = unbalanced == 0 and to_unbalanced == 0
    add(Claim("messaging", dc, "strong consistency", "pro",
              "supported" if consistent else "qualified",
              f"compensation kept money and stock matched under plain failures ({unbalanced} "
              f"unbalanced of {n}), but with a client timeout on the slow inventory "
              f"{to_unbalanced} orders were refunded while their stock stayed reserved: the "
              "reservation landed after the caller gave up (measured)",
              slow_cond + (f"; timeout {d_to['timeout_ms']:g} ms" if d_to is not None else "")))
    base_p99 = float(direct["response_p99_ms"])
    coupled = d_slow["response_p99_ms"] > 2 * base_p99
    add(Claim("messaging", dc, "tight coupling", "con", "supported" if coupled else "qualified",
              f"one slow service raised every checkout's p99 from {base_p99:.1f} ms to "
              f"{d_slow['response_p99_ms']:.1f} ms (measured)", slow_cond))
    expected = (1 - f) ** 3
    add(Claim("messaging", dc, "cascading failures", "con",
              "supported" if direct["succeeded"] < queue["succeeded"] else "qualified",
              f"any of three failing calls fails the checkout: {_pct(direct['succeeded'], n)} "
              f"succeeded (closed form (1-f)^3 = {expected:.0%}); a slow service queued every "
              f"request behind it (p50 {d_slow['response_p50_ms']:.1f} ms) (measured)", cond))
    add(Claim("messaging", dc, "poor fault tolerance", "con",
              "supported" if direct["succeeded"] < queue["succeeded"] else "refuted",
              f"{_pct(direct['succeeded'], n)} of orders placed by direct calls vs "
              f"{_pct(queue['succeeded'], n)} through the queue with retries (measured)", cond))
    return claims


def messaging_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run direct, idempotent-queue and naive-queue checkouts under injected failures, the slow
    inventory cascade and the reordering table; return the claims (label ``measured``).

    ``quick`` uses 100 orders per run (40 for the cascade, 60 for reordering); otherwise the
    notebook's 200 / 80 / 100.
    """
    from ecomlab.messaging.experiment import (
        cascade_table,
        outcome_frame,
        reordering_table,
        run_messaging,
    )

    orders, slow, reorder = (100, 40, 60) if quick else (200, 80, 100)
    direct = run_messaging("direct", orders=orders, failure_rate=0.3, seed=seed)
    queue = run_messaging("queue", orders=orders, failure_rate=0.3, seed=seed, crash_rate=0.1,
                          duplicate_rate=0.05)
    naive = run_messaging("queue", orders=orders, failure_rate=0.3, seed=seed, crash_rate=0.1,
                          duplicate_rate=0.05, idempotent=False)
    cascade, _ = cascade_table(orders=slow, seed=seed, slow_service="inventory", slow_factor=20,
                               timeout_ms=20)
    reordering = reordering_table(orders=reorder, seed=seed, workers=(1, 4),
                                  failure_rates=(0.0, 0.3))
    command = f"ecomlab claims --topic messaging{' --quick' if quick else ''} --seed {seed}"
    return [replace(c, command=c.command or command)
            for c in messaging_claims(outcome_frame([direct, queue, naive]), cascade,
                                      reordering)]
