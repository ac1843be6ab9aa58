"""Architecture decision records in MADR 4.0 form, one Markdown file per decision.

Files are named ``NNNN-<slug>.md`` and continue the directory's numbering (the adr-tools /
log4brains convention). A directory that already holds a record with the same slug is refused
(naming the file, nothing written) unless ``force``: then the new record takes the next number
and the old one's status becomes ``superseded by ADR-NNNN``. Every file is written through a
temporary file and ``os.replace``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecomlab.decide.rules import CHOICES
from ecomlab.errors import InvalidInput
from ecomlab.files import write_text_atomic

__all__ = ["ADR_SLUGS", "MADR_SECTIONS", "export_adrs", "render_adr"]

#: the file slug of each decision's record
ADR_SLUGS: dict[str, str] = {
    "architecture": "architecture-style", "inventory": "inventory-strategy",
    "catalog": "catalog-model", "processing": "order-processing",
    "messaging": "service-messaging", "caching": "caching-pattern",
    "search": "search-technology", "consistency": "data-consistency",
}

#: the MADR 4.0 sections, in order (level-2 headings; Consequences and Confirmation are
#: level-3 headings inside Decision Outcome)
MADR_SECTIONS: tuple[str, ...] = ("Context and Problem Statement", "Decision Drivers",
                                  "Considered Options", "Decision Outcome",
                                  "Pros and Cons of the Options", "More Information")

_TITLES = {
    "architecture": "How to split the shop into deployable units",
    "inventory": "How to reserve stock at checkout",
    "catalog": "How to store the product catalog",
    "processing": "Whether checkout answers before the order is processed",
    "messaging": "How services hand work to each other",
    "caching": "Which caching pattern serves product reads",
    "search": "Which technology answers product search",
    "consistency": "Which data must be strongly consistent",
}
_NAME = re.compile(r"^(\d{4})-(.+)\.md$")


def _numbered(directory: Path) -> list[tuple[int, str, Path]]:
    if not directory.exists():
        return []
    out = []
    for p in sorted(directory.iterdir()):
        m = _NAME.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), m.group(2), p))
    return out


def _yaml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _drivers(profile: Mapping[str, Any]) -> list[str]:
    t, d, ld, c = profile["team"], profile["domain"], profile["load"], profile["catalog"]
    out = [f"{t['developers']} developers in {t['teams']} team(s); phase {profile['phase']}",
           f"domain {d['complexity']}, {d['bounded_contexts']} bounded contexts",
           f"peak {ld['peak_orders_per_s']:g} orders/s, {ld['read_write_ratio']:g} reads per "
           f"write, peak {ld['peak_to_mean']:g}x the mean",
           f"{c['products']:,} products, {c['schema_changes_per_month']:g} schema changes a "
           f"month, attribute variety {c['attribute_variety']}"]
    flags = [k.replace("_", " ") for k, v in d.items() if v is True]
    if flags:
        out.append("required: " + ", ".join(flags))
    s = [k.replace("_", " ") for k, v in profile["search"].items() if v]
    if s:
        out.append("search needs " + ", ".join(s))
    if profile["compliance"]:
        out.append("compliance: " + ", ".join(profile["compliance"]))
    return out


def _evidence_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"* `{r['topic']}` / `{r['claim']}`: **{r['verdict']}** ({r['label']}) — "
            f"{r['figures']}. Reproduce: `{r['command']}`" for r in rows]


def _bad(rule: Mapping[str, Any], prefix: str = "") -> str:
    if "favours" in rule:
        return f"* Bad, because {prefix}it gives up what favours {rule['favours']}: " \
               f"{rule['rationale']}"
    return f"* Bad, because {prefix}{rule['rationale']}"


def _option_lines(rec: Mapping[str, Any], option: str) -> list[str]:
    lines = []
    if rec["choice"] == option:
        lines += [f"* Good, because {r['rationale']}" for r in rec["fired_rules"]]
    for r in rec["against"]:
        if r.get("favours") == option:
            lines.append(f"* Good, because {r['rationale']}")
        if r.get("opposes") == option:
            lines.append(f"* Bad, because {r['rationale']}")
    if not lines:
        lines.append("* Neutral, because no rule holds for this profile")
    return lines


def render_adr(decision: str, rec: Mapping[str, Any], profile: Mapping[str, Any], *,
               number: int, date: str, decision_makers: Sequence[str] = (),
               consulted: Sequence[str] = (), informed: Sequence[str] = ()) -> str:
    """One MADR 4.0 record (Markdown text) for one decision of :func:`~ecomlab.decide.decide`.

    ``rec`` is the decision's recommendation; for ``consistency`` it is the mapping of data
    items to their recommendations.
    """
    front = ["---", 'status: "proposed"', f"date: {date}",
             f"decision-makers: {_yaml_list(decision_makers)}",
             f"consulted: {_yaml_list(consulted)}", f"informed: {_yaml_list(informed)}", "---",
             ""]
    shop = profile["name"]
    if decision == "consistency":
        return "\n".join(front + _consistency_body(rec, profile, number)) + "\n"
    choice = rec["choice"]
    body = [f"# {number:04d}. {_TITLES[decision]}: {choice}", "",
            "## Context and Problem Statement", "",
            f"{_TITLES[decision]} for {shop}? The ecomlab decision framework weighed its rules "
            f"against the shop's profile; this record states its recommendation, "
            f"**{choice}** with **{rec['confidence']}** confidence, and the measurements it "
            "rests on.", "",
            "## Decision Drivers", ""]
    body += [f"* {d}" for d in _drivers(profile)] + [""]
    body += ["## Considered Options", ""] + [f"* {o}" for o in CHOICES[decision]] + [""]
    reasons = "; ".join(r["rationale"] for r in rec["fired_rules"]) or \
        "no rule favours another option (the simplest one is kept)"
    body += ["## Decision Outcome", "", f'Chosen option: "{choice}", because {reasons}.', ""]
    if rec.get("conflict"):
        c = rec["conflict"]
        body += [f"Conflict between {' and '.join(c['between'])} (resolved as "
                 f"{c['resolution']}): {c['cost']}", ""]
    body += ["### Consequences", ""]
    body += [f"* Good, because {r['rationale']}" for r in rec["fired_rules"]]
    body += [_bad(r) for r in rec["against"]]
    if rec.get("conflict"):
        body.append(f"* Bad, because {rec['conflict']['cost']}")
    if not rec["fired_rules"] and not rec["against"]:
        body.append("* Neutral, because no rule holds for this profile")
    body += ["", "### Confirmation", "",
             "Re-run the commands under More Information against the shop's own stores "
             "(set the ECOMLAB_*_URL variables) and check that the verdicts still hold; "
             "revisit this record when:", ""]
    body += [f"* {t}" for t in rec["revisit_when"]] or ["* the profile changes"]
    body += ["", "## Pros and Cons of the Options", ""]
    for option in CHOICES[decision]:
        body += [f"### {option}", "", *_option_lines(rec, option), ""]
    fired = ", ".join(r["id"] for r in rec["fired_rules"]) or "none"
    body += ["## More Information", "",
             f"Recommended by `ecomlab decide` (rules: {fired}). Evidence from the claims "
             "ledger:", ""]
    body += _evidence_lines(rec["evidence"]) or ["* no claim cited"]
    return "\n".join(front + body) + "\n"


def _consistency_body(recs: Mapping[str, Any], profile: Mapping[str, Any],
                      number: int) -> list[str]:
    body = [f"# {number:04d}. {_TITLES['consistency']}", "",
            "## Context and Problem Statement", "",
            f"{_TITLES['consistency']} in {profile['name']}, and which may be eventually "
            "consistent? One answer per data item the shop holds.", "",
            "## Decision Drivers", ""]
    body += [f"* {d}" for d in _drivers(profile)]
    body += [f"* data held: {', '.join(profile['data']) or 'none'}", "",
             "## Considered Options", "", "* strong", "* eventual", "",
             "## Decision Outcome", "", "| data item | choice | confidence | rules |",
             "|---|---|---|---|"]
    for item, rec in recs.items():
        body.append(f"| {item} | {rec['choice']} | {rec['confidence']} | "
                    f"{', '.join(r['id'] for r in rec['fired_rules']) or 'none'} |")
    body += ["", "### Consequences", ""]
    for item, rec in recs.items():
        body += [f"* Good, because {item}: {r['rationale']}" for r in rec["fired_rules"]]
        body += [_bad(r, f"{item}: ") for r in rec["against"]]
        if rec.get("conflict"):
            body.append(f"* Bad, because {item}: {rec['conflict']['cost']}")
    body += ["", "### Confirmation", "",
             "Re-run the commands under More Information and check each strongly consistent "
             "item is written in one transaction; revisit when the data held or the "
             "compliance labels change.", "", "## Pros and Cons of the Options", "",
             "### strong", "", "* Good, because no reader sees a half-applied change",
             "* Bad, because locks and round trips cost throughput", "", "### eventual", "",
             "* Good, because copies and queues absorb load",
             "* Bad, because readers see old values for a while", "",
             "## More Information", "", "Evidence from the claims ledger:", ""]
    rows: list[Mapping[str, Any]] = []
    seen = set()
    for rec in recs.values():
        for r in rec["evidence"]:
            if (r["topic"], r["claim"]) not in seen:
                seen.add((r["topic"], r["claim"]))
                rows.append(r)
    body += _evidence_lines(rows) or ["* no claim cited"]
    return body


def _write_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


_STATUS = re.compile(r'^status:.*$', re.MULTILINE)


def _is_superseded(text: str) -> bool:
    head = text.split("\n---", 1)[0]
    m = _STATUS.search(head)
    return bool(m and "superseded" in m.group(0))


def export_adrs(result: Mapping[str, Any], directory: str | os.PathLike[str], *,
                force: bool = False, decisions: Sequence[str] | None = None,
                date: str | None = None, decision_makers: Sequence[str] = (),
                consulted: Sequence[str] = (), informed: Sequence[str] = ()) -> list[Path]:
    """Write one record per decision of ``result`` (from :func:`~ecomlab.decide.decide`).

    Returns the new files. Raises :class:`InvalidInput` (nothing written) when a record with
    the same slug exists and ``force`` is false.
    """
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"--adr-dir {str(target)!r} is not a directory")
    chosen = list(decisions) if decisions is not None else list(ADR_SLUGS)
    for d in chosen:
        if d not in ADR_SLUGS:
            raise InvalidInput(f"unknown decision {d!r}; valid: {', '.join(ADR_SLUGS)}")
    existing = _numbered(target)
    clashes = [(d, p) for d in chosen for _, slug, p in existing if slug == ADR_SLUGS[d]]
    if clashes and not force:
        d, p = clashes[0]
        raise InvalidInput(f"a record for {d!r} already exists: {str(p)!r}; pass --force to "
                           "write a new one that supersedes it (nothing written)")
    target.mkdir(parents=True, exist_ok=True)
    day = date or datetime.now(UTC).date().isoformat()
    number = max((n for n, _, _ in existing), default=0)
    written: list[Path] = []
    renumbered: dict[str, tuple[int, Path]] = {}
    for d in chosen:
        number += 1
        rec = result["decisions"][d]
        text = render_adr(d, rec, result["profile"], number=number, date=day,
                          decision_makers=decision_makers, consulted=consulted,
                          informed=informed)
        path = target / f"{number:04d}-{ADR_SLUGS[d]}.md"
        _write_atomic(path, text)
        written.append(path)
        renumbered[ADR_SLUGS[d]] = (number, path)
    for d, old in clashes:
        new_number, new_path = renumbered[ADR_SLUGS[d]]
        text = old.read_text(encoding="utf-8")
        if _is_superseded(text):
            continue
        status = f'status: "superseded by ADR-{new_number:04d}"'
        head, sep, rest = text.partition("\n---")
        head = _STATUS.sub(status, head) if _STATUS.search(head) else head + "\n" + status
        lines = rest.split("\n")
        title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if title is not None:
            lines[title + 1:title + 1] = ["", f"Superseded by [ADR-{new_number:04d}]"
                                              f"({new_path.name})."]
        _write_atomic(old, head + sep + "\n".join(lines))
    return written
