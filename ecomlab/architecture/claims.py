"""The seed's claims about monoliths and microservices, judged by measurements and models.

:func:`architecture_claims` reads the tables :func:`architecture_evidence` builds:

* ``compare`` — one :func:`~ecomlab.architecture.run_architecture` row per style, no faults,
  over real processes (measured);
* ``consistency`` — :func:`~ecomlab.architecture.experiment.consistency_table` (measured);
* ``cascade`` — :func:`~ecomlab.architecture.cascade_table` (measured);
* ``availability`` — :func:`~ecomlab.architecture.availability_table` (measured, with the
  closed form beside it);
* ``teams`` — :func:`~ecomlab.architecture.team_paths` (model).

Verdicts follow from the numbers by the rule written beside each claim; only the claims' words
are fixed (other code cites them by id).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.measure import Claim, one_row

__all__ = ["architecture_claims", "architecture_evidence", "architecture_ledger"]

TOPIC = "architecture"


def _one(df: pd.DataFrame, **where: object) -> pd.Series:
    return one_row(df, where, "build the tables with architecture_evidence() first")
_RUN = "ecomlab run architecture"




def architecture_evidence(*, quick: bool = True, seed: int = 42) -> dict[str, pd.DataFrame]:
    """Run the experiments the claims need (quick: about 15-20 s on two cores)."""
    from ecomlab.architecture.experiment import (
        availability_table,
        cascade_table,
        compare_styles,
        consistency_table,
        team_paths,
    )

    compare, _ = compare_styles(40 if quick else 300, seed=seed)
    trials = 8 if quick else 30
    return {
        "compare": compare,
        "consistency": consistency_table(trials, orders=10, seed=seed),
        "cascade": cascade_table(16 if quick else 60, slow_ms=500.0, concurrency=8,
                                 seed=seed, workers=2),
        "availability": availability_table(80 if quick else 400,
                                           faults=("inventory=down", "payment=flaky:0.2"),
                                           seed=seed),
        "teams": team_paths(12),
    }


def architecture_claims(compare: pd.DataFrame, consistency: pd.DataFrame,
                        cascade: pd.DataFrame, availability: pd.DataFrame,
                        teams: pd.DataFrame) -> list[Claim]:
    """The twelve claims with verdicts from the tables (see the module docstring)."""
    mono = _one(compare, style="monolith")
    micro = _one(compare, style="microservices")
    acid = consistency[consistency["variant"].str.startswith("monolith")].iloc[0]
    seed_v = _one(consistency, variant="seed")
    saga = _one(consistency, variant="saga")
    outbox = _one(consistency, variant="outbox")
    trials = int(seed_v["trials"])
    c_none = _one(cascade, style="monolith", resilience="none")
    c_full = _one(cascade, style="monolith", resilience="full")
    c_micro = _one(cascade, style="microservices", resilience="none")
    down_m = _one(availability, style="monolith", fault="inventory=down")
    down_s = _one(availability, style="microservices", fault="inventory=down")
    paths = dict(zip(teams["teams"], teams["paths"], strict=True))
    n_teams = 5 if 5 in paths else int(teams["teams"].max())
    cond_cmp = "no faults, 4 closed-loop clients, real uvicorn processes on 127.0.0.1, SQLite"
    cmd_cmp = f"{_RUN} --style microservices --concurrency 4"
    cmd_cons = f"{_RUN} --style microservices --consistency seed --fault order=crash:" \
               "after_charge@0.5 --fault inventory=flaky:0.3"
    cmd_casc = f"{_RUN} --style monolith --workers 2 --concurrency 8 --fault " \
               "inventory=slow:500 --resilience none"
    claims: list[Claim] = []
    add = claims.append
    M, S = "monolith", "microservices"

    # rule: supported when the monolith runs as fewer processes and databases
    simpler = mono["processes"] < micro["processes"]
    add(Claim(TOPIC, M, "simple deployment", "pro", "supported" if simpler else "refuted",
              f"{mono['processes']} process and {mono['databases']} database file, ready in "
              f"{mono['startup_ms']:.0f} ms, vs {micro['processes']} processes and "
              f"{micro['databases']} files started side by side, ready in "
              f"{micro['startup_ms']:.0f} ms (measured)", cond_cmp, "measured", cmd_cmp))
    add(Claim(TOPIC, M, "easy debugging", "pro", "not measurable here",
              f"one order is one request and one stack in the monolith vs "
              f"{micro['hops_per_order']:.1f} HTTP hops across processes and logs in "
              "microservices (measured); debugging effort itself would need timed "
              "diagnosis sessions on injected faults", cond_cmp, "measured", cmd_cmp))
    # rule: supported when one transaction left nothing half done while the seed's did
    ok = int(acid["total"]) == 0 and int(seed_v["total"]) > 0
    add(Claim(TOPIC, M, "ACID transactions", "pro", "supported" if ok else "qualified",
              f"over {trials} randomized fault trials (crashes at every step, a flaky "
              f"service) the monolith's one transaction left {int(acid['total'])} "
              f"inconsistent states; the seed's service orchestration left "
              f"{int(seed_v['total'])} (measured)", "crash rate 0.5 per step, flaky 0.2-0.5",
              "measured", cmd_cons))
    add(Claim(TOPIC, M, "technology lock-in", "con", "not measurable here",
              "every module shares one process, runtime and database file, so replacing one "
              "module's language means rebuilding the process; what would measure it: the "
              "change set and downtime of porting one module", "", "model", ""))
    # rule: qualified when the shared pool took pages down and a bulkhead restored them
    shared = c_none["page_ok"] < 1.0
    add(Claim(TOPIC, M, "scaling bottlenecks", "con",
              "qualified" if shared and c_full["page_ok"] > c_none["page_ok"] else "refuted",
              f"a slow inventory exhausted the monolith's shared worker pool: product pages "
              f"answered {c_none['page_ok']:.0%} (vs {c_micro['page_ok']:.0%} from the "
              f"separate product service); splitting the pool into bulkheads brought them to "
              f"{c_full['page_ok']:.0%} (measured)", "2 workers, 8 clients, inventory +500 ms",
              "measured", cmd_casc))
    add(Claim(TOPIC, M, "team coordination issues", "con", "qualified",
              f"{n_teams} teams in one codebase and one deployment have up to "
              f"{paths[n_teams]} pairwise communication paths (n(n-1)/2); each release "
              "needs all of them (model, not measured)", "communication-path model",
              "model", ""))

    add(Claim(TOPIC, S, "technology diversity", "pro", "not measurable here",
              "services meet only over HTTP/JSON, so any runtime could serve one; what would "
              "measure it: reimplementing one service in another language against the same "
              "contract tests", "", "model", ""))
    by_service: dict[str, Any] = micro["cpu_by_service"] or {}
    hot = max(by_service, key=lambda k: by_service[k]) if by_service else "order"
    share = by_service.get(hot, 0.0) / (sum(by_service.values()) or 1.0)
    add(Claim(TOPIC, S, "independent scaling", "pro", "qualified",
              f"CPU per order is uneven across services ({hot} {share:.0%} of "
              f"{sum(by_service.values()):.1f} ms), so replicas of {hot} alone would add "
              "capacity where it is spent (measured demand); scaling out is not measured on "
              "two cores", cond_cmp, "measured", cmd_cmp))
    add(Claim(TOPIC, S, "team autonomy", "pro", "qualified",
              f"with one team per service the order service has 4 interfaces and each other "
              f"service 1, vs {paths[n_teams]} paths among {n_teams} teams sharing a "
              "codebase (model, not measured)", "communication-path model", "model", ""))
    # rule: supported when an order crosses at least 3 hops and the seed's flow broke state
    complex_ = micro["hops_per_order"] >= 3 and int(seed_v["total"]) > 0
    add(Claim(TOPIC, S, "distributed complexity", "con",
              "supported" if complex_ else "qualified",
              f"{micro['hops_per_order']:.1f} HTTP hops per order across {micro['processes']} "
              f"processes; zero inconsistent states needed a saga log, idempotent "
              f"compensations with tombstones, recovery and an outbox relay: without them "
              f"{int(seed_v['total'])} states broke over {trials} trials (measured)",
              cond_cmp, "measured", cmd_cons))
    slower = micro["p50_ms"] > mono["p50_ms"]
    add(Claim(TOPIC, S, "network latency", "con", "supported" if slower else "refuted",
              f"order p50 {micro['p50_ms']:.1f} ms vs {mono['p50_ms']:.1f} ms in the "
              f"monolith; {micro['network_share']:.0%} of the order service's handler time "
              f"was spent in hops outside the callees' handlers; CPU per order "
              f"{micro['cpu_ms_per_order']:.1f} ms vs {mono['cpu_ms_per_order']:.1f} ms "
              "(measured)", cond_cmp, "measured", cmd_cmp))
    hard = int(seed_v["total"]) > 0 and int(outbox["total"]) == 0
    add(Claim(TOPIC, S, "data consistency challenges", "con",
              "supported" if hard else "qualified",
              f"inconsistent end states over {trials} fault trials: seed orchestration "
              f"{int(seed_v['total'])}, saga {int(saga['total'])} (events lost on a crash "
              f"after commit), saga + outbox {int(outbox['total'])}; isolation meanwhile: "
              f"with inventory down, product pages answered {down_s['page_measured']:.0%} vs "
              f"{down_m['page_measured']:.0%} in the monolith (measured)",
              "crash rate 0.5 per step, flaky 0.2-0.5", "measured", cmd_cons))
    return claims


def architecture_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the experiments (quick: small sizes) and return the twelve claims."""
    return architecture_claims(**architecture_evidence(quick=quick, seed=seed))
