"""The seed material's claims about synchronous and asynchronous processing, with verdicts.

:func:`collect_evidence` runs the simulations the verdicts rest on (and takes optional live
runs); :func:`processing_claims` turns them into :class:`~ecomlab.measure.Claim` rows whose
evidence quotes the figures with their label. Nothing here is hard-coded: change the seed, load
or failure rate and the evidence text follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ecomlab import validate
from ecomlab.measure import Claim, Result
from ecomlab.processing.pipeline import make_pipeline
from ecomlab.processing.simulate import simulate_processing

__all__ = ["Evidence", "collect_evidence", "processing_claims", "processing_ledger"]

TOPIC = "processing"


@dataclass
class Evidence:
    """The runs behind the verdicts, per mode (``sync``/``async``).

    Attributes:
        light: simulated at ``light_rate`` without failures.
        failing: simulated at ``light_rate`` with ``failure_probability`` per step.
        overload: simulated at ``overload_rate`` (past sync's saturation, below async's).
        beyond: simulated at ``beyond_rate`` (past the async background's saturation).
        live: measured runs, if any were made.
    """

    light: dict[str, Result]
    failing: dict[str, Result]
    overload: dict[str, Result]
    beyond: dict[str, Result]
    live: dict[str, Result] = field(default_factory=dict)
    light_rate: float = 5.0
    overload_rate: float = 9.5
    beyond_rate: float = 10.5
    failure_probability: float = 0.05


def collect_evidence(*, seed: int = 42, orders: int = 2000, light_rate: float = 5.0,
                     overload_rate: float = 9.5, beyond_rate: float = 10.5,
                     failure_probability: float = 0.05,
                     live: dict[str, Result] | None = None) -> Evidence:
    """Run the simulations the claims need (both modes, four conditions)."""
    p = validate.probability("failure_probability", failure_probability)

    def both(rate: float, fail: float) -> dict[str, Result]:
        return {m: simulate_processing(m, orders=orders, arrival_rate=rate, seed=seed,
                                       failure_probability=fail) for m in ("sync", "async")}

    return Evidence(light=both(light_rate, 0.0), failing=both(light_rate, p),
                    overload=both(overload_rate, 0.0), beyond=both(beyond_rate, 0.0),
                    live=dict(live or {}), light_rate=light_rate, overload_rate=overload_rate,
                    beyond_rate=beyond_rate, failure_probability=p)


def _ms(x: float) -> str:
    return f"{x:,.0f} ms"


def processing_claims(ev: Evidence) -> list[Claim]:
    """The twelve claims of the seed (six per mode) with verdicts from ``ev``."""
    return _sync_claims(ev) + _async_claims(ev)


def _light(ev: Evidence) -> str:
    """The conditions of the light-load runs."""
    return f"simulated, {ev.light_rate:g} orders/s, exponential step latencies"


def _measured_live(ev: Evidence, mode: str) -> str:
    """The live run's response p50, when one was measured ("" otherwise)."""
    live = ev.live.get(mode)
    return (f"; measured live: p50 {_ms(live.metrics['response_ms']['p50'])} "
            f"(time scale {live.params['time_scale']:g})" if live else "")


def _pending(ev: Evidence) -> tuple[float, float]:
    """Async at light load: how long an order stays pending (mean ms) and how many are."""
    a = ev.light["async"].metrics
    pending_ms = a["completion_ms"]["mean"] - a["response_ms"]["mean"]
    return pending_ms, ev.light_rate * pending_ms / 1000.0


def _sync_claims(ev: Evidence) -> list[Claim]:
    """The seed's six claims about synchronous processing."""
    s, a = ev.light["sync"].metrics, ev.light["async"].metrics
    fs, fa = ev.failing["sync"].metrics, ev.failing["async"].metrics
    os_, oa = ev.overload["sync"].metrics, ev.overload["async"].metrics
    pct = f"{ev.failure_probability:.0%}"
    light = _light(ev)
    meas_s = _measured_live(ev, "sync")
    _, in_flight = _pending(ev)
    return [
        Claim(TOPIC, "synchronous", "immediate feedback", "pro", "supported",
              f"sync: the response carries the final outcome for 100% of orders (completion = "
              f"response, p50 {_ms(s['response_ms']['p50'])}); async answers 'pending' and the "
              f"outcome follows p50 {_ms(a['completion_ms']['p50'])} after arrival", light),
        Claim(TOPIC, "synchronous", "simpler error handling", "pro", "qualified",
              f"one call stack reports the error, but at {pct} failure per step "
              f"{fs['charged_not_confirmed']} of {fs['orders']} sync orders were charged and not "
              f"confirmed (refunds needed) vs {fa['charged_not_confirmed']} async (simulated)",
              "errors are simple to report, not to undo: compensation is needed in both modes"),
        Claim(TOPIC, "synchronous", "data consistency", "pro", "qualified",
              f"the order is final when the customer is answered (no pending state), where async "
              f"holds {in_flight:.1f} pending orders on average; across services sync is not "
              f"consistent either: {fs['charged_not_confirmed']} charged-not-confirmed orders "
              f"at {pct} failure (simulated)",
              "consistency of the order row, not of payment vs order"),
        Claim(TOPIC, "synchronous", "slow response (2000 ms)", "con", "supported",
              f"sync response mean {_ms(s['response_ms']['mean'])}, p50 "
              f"{_ms(s['response_ms']['p50'])}, p95 "
              f"{_ms(s['response_ms']['p95'])} (simulated){meas_s}", light),
        Claim(TOPIC, "synchronous", "poor user experience", "con", "supported",
              f"customers wait {s['response_ms']['p50'] / a['response_ms']['p50']:.0f}x longer "
              f"than async at p50 ({_ms(s['response_ms']['p50'])} vs "
              f"{_ms(a['response_ms']['p50'])}, simulated)",
              "waiting time as the proxy for experience; " + light),
        Claim(TOPIC, "synchronous", "cascading failures", "con", "supported",
              f"at {pct} failure per step sync confirmed {fs['success_rate']:.1%} vs async "
              f"{fa['success_rate']:.1%} (a failed email or analytics call fails the whole sync "
              f"order); at {ev.overload_rate:g} orders/s sync's response p95 is "
              f"{_ms(os_['response_ms']['p95'])} vs async {_ms(oa['response_ms']['p95'])} "
              f"(simulated)",
              f"sync saturates at {s['saturation_rate_per_s']:g} orders/s with 16 web threads"),
    ]


def _async_claims(ev: Evidence) -> list[Claim]:
    """The seed's six claims about asynchronous processing."""
    a = ev.light["async"].metrics
    fa = ev.failing["async"].metrics
    os_, oa = ev.overload["sync"].metrics, ev.overload["async"].metrics
    ba = ev.beyond["async"].metrics
    pct = f"{ev.failure_probability:.0%}"
    light = _light(ev)
    meas_a = _measured_live(ev, "async")
    pending_ms, in_flight = _pending(ev)
    pools_sync = len(make_pipeline("sync").capacity_per_s())
    pools_async = len(make_pipeline("async").capacity_per_s())
    return [
        Claim(TOPIC, "asynchronous", "fast response (150 ms)", "pro", "supported",
              f"async response mean {_ms(a['response_ms']['mean'])}, p50 "
              f"{_ms(a['response_ms']['p50'])}, p95 "
              f"{_ms(a['response_ms']['p95'])} (simulated){meas_a}",
              light + "; measured runs add real commit and hand-off overhead"),
        Claim(TOPIC, "asynchronous", "better user experience", "pro", "qualified",
              f"the response is fast, but the confirmation arrives p50 "
              f"{_ms(a['completion_ms']['p50'])} after ordering; at {ev.beyond_rate:g} orders/s "
              f"(past the background's {a['saturation_rate_per_s']:g}/s) response p95 stays "
              f"{_ms(ba['response_ms']['p95'])} while the order is final only after p95 "
              f"{_ms(ba['completion_ms']['p95'])} (simulated)",
              "fast answers hide a growing backlog once background workers saturate"),
        Claim(TOPIC, "asynchronous", "fault isolation", "pro", "supported",
              f"{fa['email_failures_after_confirmation']} async orders stayed confirmed although "
              f"their email failed ({pct} per step); at {ev.overload_rate:g} orders/s the web "
              f"tier answers p95 {_ms(oa['response_ms']['p95'])} while sync's needs "
              f"{_ms(os_['response_ms']['p95'])} (simulated)",
              "faults in background steps; a failing foreground step still fails the order"),
        Claim(TOPIC, "asynchronous", "complex state management", "con", "supported",
              f"each order passes through pending before confirmed/cancelled; on average "
              f"{in_flight:.1f} orders are pending at once (Little's law: {ev.light_rate:g}/s x "
              f"{_ms(pending_ms)}), and the handler must join two background results",
              light),
        Claim(TOPIC, "asynchronous", "eventual consistency", "con", "supported",
              f"after the customer's answer an order reads 'pending' for "
              f"{_ms(pending_ms)} on average; it is final p50 {_ms(a['completion_ms']['p50'])}"
              f" / p99 {_ms(a['completion_ms']['p99'])} after arrival (simulated)", light),
        Claim(TOPIC, "asynchronous", "monitoring complexity", "con", "not measurable here",
              f"a count, not a measure: async runs {pools_async} worker pools and 3 queues to "
              f"watch vs {pools_sync} pool for sync",
              "monitoring effort is an organisational cost no benchmark captures"),
    ]


def processing_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the simulations the twelve claims need and return the claims.

    The evidence is simulated (virtual time), so each claim is labelled ``simulated``, except
    the monitoring claim, a count of pools and queues (``model``). ``quick`` simulates 1000
    orders per condition, otherwise the notebook's 2000.
    """
    claims = processing_claims(collect_evidence(seed=seed, orders=1000 if quick else 2000))
    command = f"ecomlab claims --topic processing{' --quick' if quick else ''} --seed {seed}"
    return [replace(c, label="model" if c.verdict == "not measurable here" else "simulated",
                    command=c.command or command) for c in claims]
