"""``ecomlab claims`` and ``ecomlab decide``: the claims ledger and the decision framework.

Both are top-level commands (added by :func:`register_commands`); topic 08 adds nothing to
``ecomlab run`` or ``ecomlab simulate``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "register_commands"]


def register(run: Any, simulate: Any) -> None:
    """Topic 08 has no ``run`` / ``simulate`` subcommand (its commands are top-level)."""


def _cmd_claims(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.decide.ledger import collect_ledger, read_ledger

    if args.from_file:
        ledger = read_ledger(args.from_file)
        if args.topic:
            ledger = ledger.only(args.topic)
    else:
        ledger = collect_ledger([args.topic] if args.topic else None, quick=args.quick,
                                seed=args.seed)
    if args.json:
        return ledger.to_dict()
    grouped: dict[str, Any] = {}
    for c in ledger.claims:
        grouped.setdefault(c.topic, {})[c.id] = f"{c.verdict} ({c.label})"
    topics = {k: f"{v.get('status')}, {v.get('claims', 0)} claims, {v.get('seconds', 0)} s"
              + (f" ({v['reason']})" if v.get("reason") else "")
              for k, v in ledger.provenance.get("topics", {}).items()}
    return {"ledger": {k: ledger.provenance.get(k) for k in ("ecomlab", "created_at",
                                                             "quick", "seed")},
            "topics": topics, "claims": grouped}


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _cmd_decide(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.decide.adr import export_adrs
    from ecomlab.decide.engine import decide
    from ecomlab.decide.ledger import bundled_ledger, collect_ledger, read_ledger
    from ecomlab.decide.profile import load_profile

    profile = load_profile(args.profile)  # a bad profile stops here: nothing written
    if args.measure:
        ledger = collect_ledger(quick=True, seed=args.seed)
    elif args.ledger:
        ledger = read_ledger(args.ledger)
    else:
        ledger = bundled_ledger()
    result = decide(profile, ledger=ledger)
    files = []
    if args.adr_dir:
        files = [str(p) for p in export_adrs(
            result, args.adr_dir, force=args.force,
            decision_makers=_names(args.decision_makers), consulted=_names(args.consulted),
            informed=_names(args.informed))]
    result["adr_files"] = files
    if args.json:
        return result
    out: dict[str, Any] = {"profile": result["profile"]["name"]}
    for name, rec in result["decisions"].items():
        if name == "consistency":
            out["consistency"] = {item: f"{r['choice']} ({r['confidence']})"
                                  for item, r in rec.items()}
        else:
            out[name] = rec["summary"]
    out["adr_files"] = files
    return out


def register_commands(commands: Any) -> None:
    """Add ``ecomlab claims`` and ``ecomlab decide`` to the top-level commands."""
    from ecomlab import cli
    from ecomlab.decide.profile import PROFILE_HELP
    from ecomlab.topics import TOPICS

    slugs = [t.slug for t in TOPICS if t.slug not in ("welcome", "decide")]
    p = commands.add_parser(
        "claims", help="every topic's claims with their measured verdicts (the claims ledger)",
        description="Collect every topic's claims through the topic registry, each with its "
                    "verdict, label (measured/simulated/model), evidence and the command that "
                    "reproduces it. Topics without a registered ledger are listed as missing. "
                    "Save with --json > FILE; read back with --from FILE.")
    p.add_argument("--topic", choices=slugs, help="one topic only")
    p.add_argument("--quick", action="store_true",
                   help="small experiments on embedded stores (under a minute in all)")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="read a saved ledger instead of measuring")
    cli.add_seed_flag(p)
    cli.add_json_flag(p)
    p.set_defaults(func=_cmd_claims)

    d = commands.add_parser(
        "decide", help="recommendations for a shop profile, with measured evidence",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Weigh the decision rules against a shop profile (YAML or JSON; unknown "
                    "keys are errors) and recommend an architecture, inventory strategy, "
                    "catalog model, processing, messaging, caching pattern, search technology "
                    "and a consistency model per data item, each with its confidence, the "
                    "rules for and against and the claims-ledger evidence. Uses the bundled "
                    "ledger unless --measure or --ledger.\n\nprofile fields:\n" + PROFILE_HELP)
    d.add_argument("--profile", required=True, metavar="FILE", help="the shop profile")
    d.add_argument("--adr-dir", metavar="DIR",
                   help="write one MADR 4.0 record per decision into DIR")
    d.add_argument("--force", action="store_true",
                   help="with --adr-dir: supersede existing records of the same decisions")
    d.add_argument("--measure", action="store_true",
                   help="measure a quick ledger first instead of using the bundled one")
    d.add_argument("--ledger", metavar="FILE", help="use a saved ledger (ecomlab claims --json)")
    d.add_argument("--decision-makers", default="", metavar="NAMES",
                   help="comma-separated names for the records' front matter")
    d.add_argument("--consulted", default="", metavar="NAMES", help="comma-separated names")
    d.add_argument("--informed", default="", metavar="NAMES", help="comma-separated names")
    cli.add_seed_flag(d)
    cli.add_json_flag(d)
    d.set_defaults(func=_cmd_decide)
