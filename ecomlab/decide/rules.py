"""The decision rules, as data: ``rules.yaml`` read, validated and compiled.

A rule bears on one decision, holds when its condition over the profile holds, and supports
(or opposes) one choice with a weight. Conditions are structured data compiled to small
functions here (see the file's header for the forms); nothing in the file is evaluated as
code. :func:`load_rules` validates everything at load: unknown keys, decisions, choices,
profile fields, operators and value types, and the claims' topics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ecomlab.decide.profile import DATA_ITEMS, FIELDS
from ecomlab.errors import InvalidInput, choices_text
from ecomlab.topics import TOPICS

__all__ = ["CHOICES", "CONFIDENCES", "DECISIONS", "Conflict", "Rule", "RuleSet", "load_rules"]

#: every decision and its choices, in the order ties are broken (simplest first)
CHOICES: dict[str, tuple[str, ...]] = {
    "architecture": ("monolith", "modular-monolith", "microservices"),
    "inventory": ("conditional-update", "row-lock", "optimistic", "atomic-reserve",
                  "cache-check"),
    "catalog": ("relational", "documents"),
    "processing": ("sync", "async"),
    "messaging": ("direct", "queue"),
    "caching": ("none", "cache-aside", "write-through", "write-behind"),
    "search": ("database", "engine"),
    "consistency": ("strong", "eventual"),
}
DECISIONS: tuple[str, ...] = tuple(CHOICES)
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")

Condition = Callable[[Mapping[str, Any]], bool]

_RULE_KEYS = {"id", "seed", "decision", "items", "when", "supports", "opposes", "weight",
              "rationale", "cites", "confidence_cap", "revisit_when"}
_CONFLICT_KEYS = {"id", "decision", "rules", "resolution", "cost", "cites"}
_FIELDS = {f.path: f for f in FIELDS}
_COMPARE = {"gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b}


@dataclass(frozen=True)
class Rule:
    """One rule (see ``rules.yaml``); ``applies(profile)`` evaluates its condition."""

    id: str
    decision: str
    choice: str
    supports: bool
    weight: float
    rationale: str
    cites: tuple[tuple[str, str], ...]
    when: Any
    applies: Condition = field(repr=False, compare=False)
    seed: bool = False
    items: tuple[str, ...] = ()
    confidence_cap: str = ""
    revisit_when: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The rule as a plain dict (its condition in its structured form)."""
        return {"id": self.id, "decision": self.decision, "seed": self.seed,
                "items": list(self.items), "when": self.when,
                ("supports" if self.supports else "opposes"): self.choice,
                "weight": self.weight, "rationale": self.rationale,
                "cites": [{"topic": t, "claim": c} for t, c in self.cites]}


@dataclass(frozen=True)
class Conflict:
    """Rules that pull one decision in two directions, how it is resolved and what it costs."""

    id: str
    decision: str
    rules: tuple[str, ...]
    resolution: str
    cost: str
    cites: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RuleSet:
    """All rules and declared conflicts, by decision."""

    rules: tuple[Rule, ...]
    conflicts: tuple[Conflict, ...]

    def for_decision(self, decision: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.decision == decision)

    def seed_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.seed)

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise InvalidInput(f"unknown rule {rule_id!r}")


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"rules {where}: {message}")


def compile_condition(cond: Any, where: str = "condition") -> Condition:
    """Compile a structured condition (see ``rules.yaml``) into a function of the profile."""
    if not isinstance(cond, Mapping) or not cond:
        raise _fail(where, f"a condition is a mapping, got {cond!r}")
    keys = set(cond)
    if keys == {"always"}:
        if cond["always"] is not True:
            raise _fail(where, f"'always' must be true, got {cond['always']!r}")
        return lambda p: True
    if keys in ({"all"}, {"any"}):
        op = next(iter(keys))
        parts = cond[op]
        if not isinstance(parts, list) or not parts:
            raise _fail(where, f"{op!r} takes a non-empty list, got {parts!r}")
        subs = [compile_condition(c, f"{where}.{op}[{i}]") for i, c in enumerate(parts)]
        if op == "all":
            return lambda p: all(s(p) for s in subs)
        return lambda p: any(s(p) for s in subs)
    if keys == {"not"}:
        sub = compile_condition(cond["not"], f"{where}.not")
        return lambda p: not sub(p)
    if "field" not in keys or len(keys) != 2:
        raise _fail(where, f"unknown condition {dict(cond)!r}; use always, all, any, not or "
                           "{field: PATH, OP: VALUE}")
    path = cond["field"]
    if path not in _FIELDS:
        raise _fail(where, f"unknown profile field {path!r}; valid: "
                           f"{choices_text(list(_FIELDS))}")
    f = _FIELDS[path]
    (op,) = keys - {"field"}
    value = cond[op]
    parts = tuple(path.split("."))

    def get(p: Mapping[str, Any]) -> Any:
        node: Any = p
        for part in parts:
            node = node[part]
        return node

    if f.kind in ("int", "number"):
        if op not in _COMPARE:
            raise _fail(where, f"operator {op!r} on number {path!r}; valid: "
                               f"{choices_text(_COMPARE)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(where, f"{path} {op} needs a number, got {value!r}")
        cmp = _COMPARE[op]
        return lambda p: bool(cmp(get(p), value))
    if f.kind == "bool":
        if op != "is" or not isinstance(value, bool):
            raise _fail(where, f"boolean {path!r} takes 'is: true|false', got {op}: {value!r}")
        return lambda p: get(p) is value
    if f.kind == "choice":
        if op in ("eq", "ne"):
            if value not in f.choices:
                raise _fail(where, f"{path} {op} {value!r}; valid: {choices_text(f.choices)}")
            return (lambda p: get(p) == value) if op == "eq" else (lambda p: get(p) != value)
        if op == "in":
            if not isinstance(value, list) or not all(v in f.choices for v in value):
                raise _fail(where, f"{path} in {value!r}; valid: lists of "
                                   f"{choices_text(f.choices)}")
            allowed = frozenset(value)
            return lambda p: get(p) in allowed
        raise _fail(where, f"operator {op!r} on choice {path!r}; valid: 'eq', 'ne' or 'in'")
    if f.kind in ("items", "labels"):
        if op == "contains":
            if f.kind == "items" and value not in DATA_ITEMS:
                raise _fail(where, f"{path} contains {value!r}; valid: "
                                   f"{choices_text(DATA_ITEMS)}")
            if not isinstance(value, str):
                raise _fail(where, f"{path} contains needs a text, got {value!r}")
            return lambda p: value in get(p)
        if op == "empty":
            if not isinstance(value, bool):
                raise _fail(where, f"{path} empty needs true or false, got {value!r}")
            return lambda p: (len(get(p)) == 0) is value
        raise _fail(where, f"operator {op!r} on list {path!r}; valid: 'contains' or 'empty'")
    raise _fail(where, f"field {path!r} cannot be used in a condition")


def _cites(raw: Any, where: str, topics: set[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(where, f"'cites' must be a non-empty list of {{topic, claim}}, got {raw!r}")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, Mapping) or set(c) != {"topic", "claim"}:
            raise _fail(f"{where}.cites[{i}]", f"expected {{topic, claim}}, got {c!r}")
        if c["topic"] not in topics:
            raise _fail(f"{where}.cites[{i}]", f"unknown topic {c['topic']!r}; valid: "
                                               f"{choices_text(sorted(topics))}")
        if not isinstance(c["claim"], str) or not c["claim"]:
            raise _fail(f"{where}.cites[{i}]", f"claim id must be a text, got {c['claim']!r}")
        out.append((str(c["topic"]), str(c["claim"])))
    return tuple(out)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key!r} must be a non-empty text, got {value!r}")
    return " ".join(value.split())


def parse_rules(data: Any, source: str = "rules") -> RuleSet:
    """Validate the parsed YAML and return the compiled :class:`RuleSet`."""
    if not isinstance(data, Mapping) or set(data) - {"rules", "conflicts"}:
        raise _fail(source, "expected a mapping with 'rules' and 'conflicts'")
    topics = {t.slug for t in TOPICS if t.slug not in ("welcome", "decide")}
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rules") or []):
        where = f"{source}[{i}]"
        if not isinstance(raw, Mapping):
            raise _fail(where, f"a rule is a mapping, got {raw!r}")
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise _fail(where, f"unknown key {sorted(unknown)[0]!r}; valid: "
                               f"{choices_text(sorted(_RULE_KEYS))}")
        rid = _text(raw, "id", where)
        where = f"{source} {rid!r}"
        if rid in seen:
            raise _fail(where, "duplicate id")
        seen.add(rid)
        decision = raw.get("decision")
        if decision not in CHOICES:
            raise _fail(where, f"unknown decision {decision!r}; valid: "
                               f"{choices_text(DECISIONS)}")
        if ("supports" in raw) == ("opposes" in raw):
            raise _fail(where, "needs exactly one of 'supports' or 'opposes'")
        supports = "supports" in raw
        choice = raw["supports" if supports else "opposes"]
        if choice not in CHOICES[decision]:
            raise _fail(where, f"unknown choice {choice!r} for {decision}; valid: "
                               f"{choices_text(CHOICES[decision])}")
        weight = raw.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise _fail(where, f"weight must be a number > 0, got {weight!r}")
        items = raw.get("items", [])
        if decision == "consistency":
            if not isinstance(items, list) or not items or any(x not in DATA_ITEMS
                                                               for x in items):
                raise _fail(where, f"consistency rules need 'items' from "
                                   f"{choices_text(DATA_ITEMS)}, got {items!r}")
        elif items:
            raise _fail(where, "'items' belongs to consistency rules only")
        cap = raw.get("confidence_cap", "")
        if cap and cap not in CONFIDENCES:
            raise _fail(where, f"confidence_cap {cap!r}; valid: {choices_text(CONFIDENCES)}")
        revisit = raw.get("revisit_when", [])
        if not isinstance(revisit, list) or not all(isinstance(x, str) for x in revisit):
            raise _fail(where, f"revisit_when must be a list of texts, got {revisit!r}")
        seed = raw.get("seed", False)
        if not isinstance(seed, bool):
            raise _fail(where, f"seed must be true or false, got {seed!r}")
        if "when" not in raw:
            raise _fail(where, "missing 'when'")
        rules.append(Rule(rid, decision, choice, supports, float(weight),
                          _text(raw, "rationale", where), _cites(raw.get("cites"), where, topics),
                          raw["when"], compile_condition(raw["when"], f"{where}.when"), seed,
                          tuple(items), cap, tuple(revisit)))
    by_id = {r.id: r for r in rules}
    conflicts: list[Conflict] = []
    for i, raw in enumerate(data.get("conflicts") or []):
        where = f"{source} conflicts[{i}]"
        if not isinstance(raw, Mapping) or set(raw) - _CONFLICT_KEYS:
            raise _fail(where, f"a conflict has keys {choices_text(sorted(_CONFLICT_KEYS))}")
        cid = _text(raw, "id", where)
        decision = raw.get("decision")
        if decision not in CHOICES:
            raise _fail(where, f"unknown decision {decision!r}")
        names = raw.get("rules")
        if not isinstance(names, list) or len(names) < 2 or any(
                n not in by_id or by_id[n].decision != decision for n in names):
            raise _fail(where, f"'rules' must name two or more {decision} rules, got {names!r}")
        if raw.get("resolution") not in CHOICES[decision]:
            raise _fail(where, f"resolution {raw.get('resolution')!r}; valid: "
                               f"{choices_text(CHOICES[decision])}")
        conflicts.append(Conflict(cid, decision, tuple(names), raw["resolution"],
                                  _text(raw, "cost", where), _cites(raw.get("cites"), where,
                                                                    topics)))
    return RuleSet(tuple(rules), tuple(conflicts))


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def _bundled() -> RuleSet:
    text = resources.files("ecomlab.decide").joinpath("rules.yaml").read_text("utf-8")
    return parse_rules(_yaml(text), "rules.yaml")


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The package's rules (``rules.yaml``), or those of another YAML file, validated."""
    if path is None:
        return _bundled()
    p = Path(path)
    return parse_rules(_yaml(p.read_text(encoding="utf-8")), p.name)


def seed_rules_table(rules: Sequence[Rule] | None = None) -> list[dict[str, Any]]:
    """The seed's rules, one dict each (id, decision, items, condition, choice, weight)."""
    chosen = rules if rules is not None else load_rules().seed_rules()
    return [{"id": r.id, "decision": r.decision, "items": ", ".join(r.items),
             "condition": describe_condition(r.when),
             "effect": f"{'supports' if r.supports else 'opposes'} {r.choice}",
             "weight": r.weight, "rationale": r.rationale} for r in chosen]


_OP_TEXT = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "=", "ne": "!=", "in": "in",
            "contains": "contains"}


def describe_condition(cond: Any) -> str:
    """A condition in words (``team.developers > 50``)."""
    if "always" in cond:
        return "always"
    if "all" in cond:
        return " and ".join(f"({describe_condition(c)})" if "any" in c else
                            describe_condition(c) for c in cond["all"])
    if "any" in cond:
        return " or ".join(describe_condition(c) for c in cond["any"])
    if "not" in cond:
        return f"not ({describe_condition(cond['not'])})"
    (op,) = set(cond) - {"field"}
    value = cond[op]
    if op == "is":
        return cond["field"] if value else f"not {cond['field']}"
    if op == "empty":
        return f"{cond['field']} is {'empty' if value else 'not empty'}"
    return f"{cond['field']} {_OP_TEXT[op]} {value}"
