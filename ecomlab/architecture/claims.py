"""The seed's claims about monoliths and microservices, judged by measurements and models.

:func:`architecture_claims` reads the tables :func:`architecture_evidence` builds:

* ``compare`` — one :func:`~ecomlab.architecture.run_architecture` row per style, no faults,
  over real processes (measured);
* ``consistency`` — :func:`~ecomlab.architecture.experiment.consistency_table` (measured);
* ``cascade`` — :func:`~ecomlab.architecture.cascade_table` (measured);
* ``availability`` — :func:`~ecomlab.architecture.availability_table` (measured, with the
  closed form beside it);
* ``teams`` — :func:`~ecomlab.architecture.team_paths` (model);
* ``replicas`` (optional) — :func:`~ecomlab.architecture.replica_scaling` of the
  microservices' hot service over processes (measured), with the USL fitted to its
  one-replica curve and the queueing model checked against it.

Verdicts follow from the numbers by the rule written beside each claim; only the claims' words
are fixed (other code cites them by id).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomlab.measure import Claim, Verdict, one_row

__all__ = ["architecture_claims", "architecture_evidence", "architecture_ledger"]

TOPIC = "architecture"


_RUN = "ecomlab run architecture"
_COND = "no faults, 4 closed-loop clients, real uvicorn processes on 127.0.0.1, SQLite"
_CMD_CMP = f"{_RUN} --style microservices --concurrency 4"
_CMD_CONS = f"{_RUN} --style microservices --consistency seed --fault order=crash:" \
            "after_charge@0.5 --fault inventory=flaky:0.3"
_M, _S = "monolith", "microservices"


def _one(df: pd.DataFrame, **where: object) -> pd.Series:
    return one_row(df, where, "build the tables with architecture_evidence() first")


def architecture_evidence(*, quick: bool = True, seed: int = 42) -> dict[str, pd.DataFrame]:
    """Run the experiments the claims need (quick: about 15-20 s on two cores)."""
    from ecomlab.architecture.consistency import consistency_table
    from ecomlab.architecture.experiment import compare_styles
    from ecomlab.architecture.isolation import availability_table, cascade_table
    from ecomlab.architecture.model import team_paths
    from ecomlab.architecture.scaling import replica_scaling

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
        "replicas": replica_scaling("microservices", clients=(1, 2, 3, 4, 6, 8),
                                    orders=40 if quick else 200, seed=seed),
    }


def architecture_claims(compare: pd.DataFrame, consistency: pd.DataFrame,
                        cascade: pd.DataFrame, availability: pd.DataFrame,
                        teams: pd.DataFrame, replicas: pd.DataFrame | None = None
                        ) -> list[Claim]:
    """The twelve claims with verdicts from the tables (see the module docstring)."""
    paths = dict(zip(teams["teams"], teams["paths"], strict=True))
    n_teams = 5 if 5 in paths else int(teams["teams"].max())
    ev = {"mono": _one(compare, style=_M), "micro": _one(compare, style=_S),
          "acid": consistency[consistency["variant"].str.startswith(_M)].iloc[0],
          "seed": _one(consistency, variant="seed"), "saga": _one(consistency, variant="saga"),
          "outbox": _one(consistency, variant="outbox"), "n_teams": n_teams,
          "paths": paths[n_teams], "trials": int(_one(consistency, variant="seed")["trials"])}
    return [*_monolith_claims(ev, cascade), *_microservices_claims(ev, availability, replicas)]


def _monolith_claims(ev: dict[str, Any], cascade: pd.DataFrame) -> list[Claim]:
    mono, micro, acid, seed_v = ev["mono"], ev["micro"], ev["acid"], ev["seed"]
    c_none = _one(cascade, style=_M, resilience="none")
    c_full = _one(cascade, style=_M, resilience="full")
    c_micro = _one(cascade, style=_S, resilience="none")
    cmd_casc = f"{_RUN} --style monolith --workers 2 --concurrency 8 --fault " \
               "inventory=slow:500 --resilience none"
    # rule: supported when the monolith runs as fewer processes and databases
    simpler = mono["processes"] < micro["processes"]
    # rule: supported when one transaction left nothing half done while the seed's did
    ok = int(acid["total"]) == 0 and int(seed_v["total"]) > 0
    # rule: qualified when the shared pool took pages down and a bulkhead restored them
    shared = c_none["page_ok"] < 1.0 and c_full["page_ok"] > c_none["page_ok"]
    return [
        Claim(TOPIC, _M, "simple deployment", "pro", "supported" if simpler else "refuted",
              f"{mono['processes']} process and {mono['databases']} database file, ready in "
              f"{mono['startup_ms']:.0f} ms, vs {micro['processes']} processes and "
              f"{micro['databases']} files started side by side, ready in "
              f"{micro['startup_ms']:.0f} ms (measured)", _COND, "measured", _CMD_CMP),
        Claim(TOPIC, _M, "easy debugging", "pro", "not measurable here",
              f"one order is one request and one stack in the monolith vs "
              f"{micro['hops_per_order']:.1f} HTTP hops across processes and logs in "
              "microservices (measured); debugging effort itself would need timed "
              "diagnosis sessions on injected faults", _COND, "measured", _CMD_CMP),
        Claim(TOPIC, _M, "ACID transactions", "pro", "supported" if ok else "qualified",
              f"over {ev['trials']} randomized fault trials (crashes at every step, a flaky "
              f"service) the monolith's one transaction left {int(acid['total'])} "
              f"inconsistent states; the seed's service orchestration left "
              f"{int(seed_v['total'])} (measured)", "crash rate 0.5 per step, flaky 0.2-0.5",
              "measured", _CMD_CONS),
        Claim(TOPIC, _M, "technology lock-in", "con", "not measurable here",
              "every module shares one process, runtime and database file, so replacing one "
              "module's language means rebuilding the process; what would measure it: the "
              "change set and downtime of porting one module", "", "model", ""),
        Claim(TOPIC, _M, "scaling bottlenecks", "con", "qualified" if shared else "refuted",
              f"a slow inventory exhausted the monolith's shared worker pool: product pages "
              f"answered {c_none['page_ok']:.0%} (vs {c_micro['page_ok']:.0%} from the "
              f"separate product service); splitting the pool into bulkheads brought them to "
              f"{c_full['page_ok']:.0%} (measured)", "2 workers, 8 clients, inventory +500 ms",
              "measured", cmd_casc),
        Claim(TOPIC, _M, "team coordination issues", "con", "qualified",
              f"{ev['n_teams']} teams in one codebase and one deployment have up to "
              f"{ev['paths']} pairwise communication paths (n(n-1)/2); each release "
              "needs all of them (model, not measured)", "communication-path model",
              "model", ""),
    ]


def _scaling_evidence(micro: pd.Series, replicas: pd.DataFrame | None
                      ) -> tuple[Verdict, str, str, str]:
    """The independent-scaling verdict, evidence, conditions and command (measured replicas
    when given)."""
    by_service: dict[str, Any] = micro["cpu_by_service"] or {}
    hot = max(by_service, key=lambda k: by_service[k]) if by_service else "order"
    share = by_service.get(hot, 0.0) / (sum(by_service.values()) or 1.0)
    text = (f"CPU per order is uneven across services ({hot} {share:.0%} of "
            f"{sum(by_service.values()):.1f} ms, measured demand)")
    if replicas is None:
        return "qualified", text + "; scaling out was not measured in this run", _COND, \
            _CMD_CMP
    from ecomlab.architecture.model import replica_check
    from ecomlab.architecture.scaling import USL_MIN_R2, usl_table

    check = replica_check(replicas)
    one, two = check.iloc[0], check.iloc[-1]
    usl = usl_table(replicas).iloc[0]
    judged = "does not describe" if usl["r2"] < USL_MIN_R2 else "has too few points to judge"
    text += (f"; {int(two['replicas'])} replicas of {one['service']} behind round robin gave "
             f"{two['measured_per_s']:.0f} orders/s vs {one['measured_per_s']:.0f} with one "
             f"at {int(one['clients'])} clients (measured; the model on 2 shared cores "
             f"predicted {two['model_on_cores_per_s']:.0f}, error {two['error']:+.0%}); "
             + (f"USL fit: sigma {usl['sigma']:.3f}, kappa {usl['kappa']:.4f}, r2 "
                f"{usl['r2']:.2f} (measured fit)" if usl["fits"] else
                f"the USL {judged} the one-replica curve (r2 {usl['r2']:.2f} over "
                f"{int(usl['points'])} points, throughput x{usl['gain']:.2f} from the fewest "
                "clients to the most), so its sigma and kappa are not read"))
    # rule: supported when replicas of the hot service alone raised throughput by >= 20 %
    gained = two["measured_per_s"] >= 1.2 * one["measured_per_s"]
    clients = ", ".join(str(n) for n in sorted(set(replicas["clients"])))
    return ("supported" if gained else "qualified", text,
            f"no faults, closed loop with {clients} clients, real uvicorn processes on "
            "127.0.0.1, replicas sharing their service's SQLite file",
            f"{_RUN} --style microservices --concurrency {int(one['clients'])} --replicas "
            f"{one['service']}=2")


def _microservices_claims(ev: dict[str, Any], availability: pd.DataFrame,
                          replicas: pd.DataFrame | None) -> list[Claim]:
    mono, micro, seed_v, outbox = ev["mono"], ev["micro"], ev["seed"], ev["outbox"]
    down_m = _one(availability, style=_M, fault="inventory=down")
    down_s = _one(availability, style=_S, fault="inventory=down")
    verdict, scaling, cond_scale, cmd_scale = _scaling_evidence(micro, replicas)
    # rule: supported when an order crosses at least 3 hops and the seed's flow broke state
    complex_ = micro["hops_per_order"] >= 3 and int(seed_v["total"]) > 0
    slower = micro["p50_ms"] > mono["p50_ms"]
    hard = int(seed_v["total"]) > 0 and int(outbox["total"]) == 0
    return [
        Claim(TOPIC, _S, "technology diversity", "pro", "not measurable here",
              "services meet only over HTTP/JSON, so any runtime could serve one; what would "
              "measure it: reimplementing one service in another language against the same "
              "contract tests", "", "model", ""),
        Claim(TOPIC, _S, "independent scaling", "pro", verdict, scaling, cond_scale,
              "measured", cmd_scale),
        Claim(TOPIC, _S, "team autonomy", "pro", "qualified",
              f"with one team per service the order service has 4 interfaces and each other "
              f"service 1, vs {ev['paths']} paths among {ev['n_teams']} teams sharing a "
              "codebase (model, not measured)", "communication-path model", "model", ""),
        Claim(TOPIC, _S, "distributed complexity", "con",
              "supported" if complex_ else "qualified",
              f"{micro['hops_per_order']:.1f} HTTP hops per order across {micro['processes']} "
              f"processes; zero inconsistent states needed a saga log, idempotent "
              f"compensations with tombstones, recovery and an outbox relay: without them "
              f"{int(seed_v['total'])} states broke over {ev['trials']} trials (measured)",
              _COND, "measured", _CMD_CONS),
        Claim(TOPIC, _S, "network latency", "con", "supported" if slower else "refuted",
              f"order p50 {micro['p50_ms']:.1f} ms vs {mono['p50_ms']:.1f} ms in the "
              f"monolith; {micro['network_share']:.0%} of the order service's handler time "
              f"was spent in hops outside the callees' handlers; CPU per order "
              f"{micro['cpu_ms_per_order']:.1f} ms vs {mono['cpu_ms_per_order']:.1f} ms "
              "(measured)", _COND, "measured", _CMD_CMP),
        Claim(TOPIC, _S, "data consistency challenges", "con",
              "supported" if hard else "qualified",
              f"inconsistent end states over {ev['trials']} fault trials: seed orchestration "
              f"{int(seed_v['total'])}, saga {int(ev['saga']['total'])} (events lost on a "
              f"crash after commit), saga + outbox {int(outbox['total'])}; isolation "
              f"meanwhile: with inventory down, product pages answered "
              f"{down_s['page_measured']:.0%} vs {down_m['page_measured']:.0%} in the "
              "monolith (measured)", "crash rate 0.5 per step, flaky 0.2-0.5", "measured",
              _CMD_CONS),
    ]


def architecture_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the experiments (quick: small sizes) and return the twelve claims."""
    return architecture_claims(**architecture_evidence(quick=quick, seed=seed))
