"""The decision engine: a profile in, one recommendation per decision out, with evidence.

For each decision the rules that hold for the profile add their weight to the choice they
support (or take it from the choice they oppose); the highest score wins, ties going to the
simpler choice (the first in :data:`~ecomlab.decide.rules.CHOICES`). What is never silent:

* every rule that pulled the other way is listed under ``against``;
* when two choices score close (the runner-up at 75% of the winner or more), or a declared
  conflict's rules all hold, the recommendation carries a ``conflict`` naming both sides and
  what the chosen side costs, and its confidence is ``low``;
* evidence rows come from the claims ledger: each cited claim with its verdict, label,
  figures and the command that reproduces it. A claim of a topic not in the ledger (no ledger
  registered yet) is ``not measurable here`` with the command that would measure it.

Confidence: ``high`` when the winner scores 3 or more and nothing else scores; ``medium``
when it leads by 2 or more; ``low`` otherwise; a rule's ``confidence_cap`` lowers it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ecomlab.decide.ledger import Ledger, bundled_ledger
from ecomlab.decide.profile import BOOLEAN_DRIVERS, FIELDS, field_value, parse_profile
from ecomlab.decide.rules import CHOICES, CONFIDENCES, Rule, RuleSet, load_rules

__all__ = ["MAIN_DECISIONS", "decide", "evaluate", "evidence_rows", "flip_points"]

#: the decisions with one recommendation each (consistency has one per data item)
MAIN_DECISIONS: tuple[str, ...] = ("architecture", "inventory", "catalog", "processing",
                                   "messaging", "caching", "search")
CONFLICT_SHARE = 0.75
_FIELDS = {f.path: f for f in FIELDS}


def _fires(rule: Rule, profile: Mapping[str, Any], item: str | None) -> bool:
    if rule.items and (item is None or item not in rule.items or item not in profile["data"]):
        return False
    return rule.applies(profile)


def _choose(decision: str, fired: Sequence[Rule]) -> tuple[str, dict[str, float]]:
    scores = {c: 0.0 for c in CHOICES[decision]}
    for r in fired:
        scores[r.choice] += r.weight if r.supports else -r.weight
    best = max(scores.values())
    choice = next(c for c in CHOICES[decision] if scores[c] == best)
    return choice, scores


def _confidence(top: float, second: float, caps: Sequence[str], conflicted: bool) -> str:
    if conflicted:
        level = "low"
    elif top >= 3 and second <= 0:
        level = "high"
    elif top - second >= 2:
        level = "medium"
    else:
        level = "low"
    for cap in caps:
        if cap and CONFIDENCES.index(cap) > CONFIDENCES.index(level):
            level = cap
    return level


def evaluate(profile: Mapping[str, Any], decision: str, *, rules: RuleSet | None = None,
             item: str | None = None) -> dict[str, Any]:
    """One decision for a normalized profile, without evidence (fast: the what-if uses it).

    Returns ``choice``, ``confidence``, ``scores``, ``fired_rules`` and ``against`` (lists of
    ``{id, rationale, weight}``), ``conflict`` (None or a dict) and ``summary``.
    """
    rs = rules or load_rules()
    fired = [r for r in rs.for_decision(decision) if _fires(r, profile, item)]
    choice, scores = _choose(decision, fired)
    ids = {r.id for r in fired}
    conflict: dict[str, Any] | None = None
    for c in rs.conflicts:
        if c.decision == decision and set(c.rules) <= ids:
            sides = {rs.get(n).choice for n in c.rules}
            choice = c.resolution
            conflict = {"id": c.id, "between": sorted(sides), "rules": list(c.rules),
                        "resolution": c.resolution, "cost": c.cost,
                        "cites": [{"topic": t, "claim": k} for t, k in c.cites]}
            break
    top = scores[choice]
    others = {c: s for c, s in scores.items() if c != choice}
    runner = max(others, key=lambda c: (others[c], -CHOICES[decision].index(c)))
    second = others[runner]
    pro = [r for r in fired if r.supports and r.choice == choice]
    con = [r for r in fired if (r.supports and r.choice != choice)
           or (not r.supports and r.choice == choice)]
    if conflict is None and second > 0 and second >= CONFLICT_SHARE * top:
        rivals = [r for r in fired if r.supports and r.choice == runner]
        conflict = {"id": f"close-call-{decision}", "between": sorted([choice, runner]),
                    "rules": [r.id for r in pro + rivals], "resolution": choice,
                    "cost": f"choosing {choice} (score {top:g}) over {runner} (score "
                            f"{second:g}) gives up: "
                            + "; ".join(r.rationale for r in rivals),
                    "cites": [{"topic": t, "claim": k} for r in rivals for t, k in r.cites]}
    caps = [r.confidence_cap for r in pro]
    confidence = _confidence(top, second, caps, conflict is not None)
    reasons = ", ".join(r.id for r in pro) or "no rule (the simplest choice)"
    summary = f"{choice} ({confidence} confidence): {reasons}"
    if con:
        summary += "; against: " + ", ".join(r.id for r in con)
    if conflict is not None:
        summary += f"; conflict between {' and '.join(conflict['between'])}: {conflict['cost']}"
    return {"choice": choice, "confidence": confidence, "scores": scores,
            "fired_rules": [{"id": r.id, "rationale": r.rationale, "weight": r.weight}
                            for r in pro],
            "against": [{"id": r.id, "rationale": r.rationale, "weight": r.weight,
                         "favours" if r.supports else "opposes": r.choice} for r in con],
            "conflict": conflict, "summary": summary, "_rules": pro + con}


def evidence_rows(cites: Sequence[tuple[str, str]], ledger: Ledger) -> list[dict[str, Any]]:
    """One row per cited claim (deduplicated, in citation order) read from ``ledger``."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for topic, claim in cites:
        if (topic, claim) in seen:
            continue
        seen.add((topic, claim))
        found = ledger.find(topic, claim)
        if found is not None:
            rows.append({"topic": topic, "claim": claim, "statement":
                         f"{found.approach}: {found.claim}", "kind": found.kind,
                         "verdict": found.verdict, "label": found.label,
                         "figures": found.evidence, "conditions": found.conditions,
                         "command": found.command or f"ecomlab claims --topic {topic}"})
        else:
            status = ledger.status(topic)
            why = ("has no claims ledger yet" if status == "missing"
                   else f"was {status} in this ledger" if status == "failed"
                   else "does not list this claim in this ledger")
            rows.append({"topic": topic, "claim": claim, "statement": claim, "kind": "",
                         "verdict": "not measurable here", "label": "model",
                         "figures": f"topic {topic!r} {why}; the rule rests on the seed's "
                                    "argument until it is measured", "conditions": "",
                         "command": f"ecomlab claims --topic {topic} --quick"})
    return rows


def flip_points(profile: Mapping[str, Any], decision: str, *, rules: RuleSet | None = None,
                lo: int = 1, hi: int = 200) -> list[tuple[int, str]]:
    """Team sizes in ``[lo, hi]`` where ``decision``'s choice changes: ``(developers, new
    choice)`` pairs, other fields as in ``profile`` (``team.teams`` left as given)."""
    rs = rules or load_rules()
    p = copy.deepcopy(dict(profile))
    out: list[tuple[int, str]] = []
    previous = None
    for n in range(lo, hi + 1):
        p["team"] = {**p["team"], "developers": n}
        choice = evaluate(p, decision, rules=rs)["choice"]
        if previous is not None and choice != previous:
            out.append((n, choice))
        previous = choice
    return out


def _revisit(profile: Mapping[str, Any], decision: str, choice: str, rs: RuleSet,
             pro: Sequence[Rule]) -> list[str]:
    out = [t for r in pro for t in r.revisit_when]
    n = profile["team"]["developers"]
    flips = flip_points(profile, decision, rules=rs)
    below = [f for f in flips if f[0] <= n]
    above = [f for f in flips if f[0] > n]
    if above:
        out.append(f"team.developers reaches {above[0][0]} (then {above[0][1]})")
    if below:
        at, _ = below[-1]
        p = copy.deepcopy(dict(profile))
        p["team"] = {**p["team"], "developers": at - 1}
        out.append(f"team.developers falls below {at} (then "
                   f"{evaluate(p, decision, rules=rs)['choice']})")
    for path in BOOLEAN_DRIVERS:
        section, key = path.split(".")
        p = copy.deepcopy(dict(profile))
        p[section] = {**p[section], key: not p[section][key]}
        other = evaluate(p, decision, rules=rs)["choice"]
        if other != choice:
            out.append(f"{path} becomes {str(not profile[section][key]).lower()} "
                       f"(then {other})")
    out += _threshold_changes(profile, decision, choice, rs)
    return list(dict.fromkeys(out))


def _leaves(cond: Any) -> list[dict[str, Any]]:
    if "field" in cond:
        return [cond]
    for op in ("all", "any"):
        if op in cond:
            return [leaf for c in cond[op] for leaf in _leaves(c)]
    if "not" in cond:
        return _leaves(cond["not"])
    return []


def _with(profile: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    p = copy.deepcopy(dict(profile))
    section, _, key = path.partition(".")
    if key:
        p[section] = {**p[section], key: value}
    else:
        p[section] = value
    return p


def _threshold_changes(profile: Mapping[str, Any], decision: str, choice: str,
                       rs: RuleSet) -> list[str]:
    """Other values of the fields the decision's rules test (their thresholds, other choices,
    a data item added or removed) that would change the choice, nearest first."""
    out: list[str] = []
    found: list[tuple[float, str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for rule in rs.for_decision(decision):
        for leaf in _leaves(rule.when):
            path = leaf["field"]
            if path == "team.developers" or path in BOOLEAN_DRIVERS:
                continue  # the team-size scan and the driver toggles cover these
            (op,) = set(leaf) - {"field"}
            value = leaf[op]
            f = _FIELDS[path]
            current = field_value(profile, path)
            probes: list[tuple[Any, str]] = []
            if f.kind in ("int", "number"):
                # the values on either side of the threshold (the rule holds on one of them)
                step = 1 if f.kind == "int" else max(abs(value) * 1e-6, 1e-9)
                for cand in (value - step, value, value + step):
                    if f.minimum is not None and (cand < f.minimum or
                                                  (f.exclusive and cand <= f.minimum)):
                        continue
                    if cand != current:
                        probes.append((cand, _crossing(path, value, op, cand > current)))
            elif f.kind == "choice":
                probes = [(c, f"{path} becomes {c}") for c in f.choices if c != current]
            elif f.kind == "items" and op == "contains":
                if value in current:
                    probes = [([i for i in current if i != value],
                               f"{path} no longer holds {value}")]
                else:
                    probes = [([*current, value], f"{path} holds {value}")]
            elif f.kind == "labels" and op == "empty":
                probes = ([([], f"{path} becomes empty")] if current
                          else [(["any"], f"{path} gains a label")])
            for cand, text in probes:
                if (path, text) in seen:
                    continue
                other = evaluate(_with(profile, path, cand), decision, rules=rs)["choice"]
                if other != choice:
                    seen.add((path, text))
                    found.append((_distance(current, cand), path, text, other))
    nearest: dict[tuple[str, bool], tuple[float, str]] = {}
    for dist, path, text, other in sorted(found, key=lambda x: x[0]):
        key = (path, text.split(" ", 2)[1] in ("reaches", "exceeds"))
        if _FIELDS[path].kind in ("int", "number"):
            if key in nearest:
                continue  # keep the nearest threshold in each direction
            nearest[key] = (dist, text)
        out.append(f"{text} (then {other})")
    return out


def _distance(current: Any, cand: Any) -> float:
    if isinstance(current, int | float) and isinstance(cand, int | float):
        return abs(float(cand) - float(current))
    return 0.0


def _crossing(path: str, value: float, op: str, rising: bool) -> str:
    """A threshold crossing in words: 'reaches 200', 'falls below 200'..."""
    v = f"{value:g}"
    if op in ("ge", "lt"):
        return f"{path} reaches {v}" if rising else f"{path} falls below {v}"
    return f"{path} exceeds {v}" if rising else f"{path} falls to {v} or less"


def _full(profile: Mapping[str, Any], decision: str, rs: RuleSet, ledger: Ledger,
          item: str | None = None) -> dict[str, Any]:
    res = evaluate(profile, decision, rules=rs, item=item)
    used: list[Rule] = res.pop("_rules")
    cites = [c for r in used for c in r.cites]
    if res["conflict"] is not None:
        cites += [(c["topic"], c["claim"]) for c in res["conflict"]["cites"]]
    res["evidence"] = evidence_rows(cites, ledger)
    pro = [r for r in used if r.supports and r.choice == res["choice"]]
    res["revisit_when"] = ([t for r in pro for t in r.revisit_when] if item is not None
                           else _revisit(profile, decision, res["choice"], rs, pro))
    return res


def decide(profile: Mapping[str, Any], *, ledger: Ledger | None = None,
           rules: RuleSet | None = None) -> dict[str, Any]:
    """Recommendations for a profile (a raw mapping: it is validated and normalized).

    Returns ``{"profile": normalized, "decisions": {architecture, inventory, catalog,
    processing, messaging, caching, search, consistency: {DATA_ITEM: ...}}}``; each
    recommendation has ``choice``, ``confidence``, ``fired_rules``, ``against``,
    ``evidence``, ``revisit_when``, ``conflict`` and ``summary``.
    """
    norm = parse_profile(profile)
    rs = rules or load_rules()
    led = ledger if ledger is not None else bundled_ledger()
    decisions: dict[str, Any] = {d: _full(norm, d, rs, led) for d in MAIN_DECISIONS}
    decisions["consistency"] = {item: _full(norm, "consistency", rs, led, item)
                                for item in norm["data"]}
    return {"profile": norm, "decisions": decisions,
            "ledger": {k: led.provenance.get(k) for k in ("ecomlab", "created_at", "quick",
                                                           "seed")}}
