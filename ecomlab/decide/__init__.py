"""Topic 08 — the decision framework: a shop profile in, recommendations with evidence out.

* :mod:`~ecomlab.decide.profile` — the profile schema (:func:`load_profile`, :func:`parse_profile`).
* :mod:`~ecomlab.decide.rules` — the rules as data (``rules.yaml``), validated and compiled.
* :mod:`~ecomlab.decide.ledger` — the workbook's claims ledger (:func:`collect_ledger`,
  :func:`read_ledger`, :func:`bundled_ledger`).
* :mod:`~ecomlab.decide.engine` — :func:`decide`, :func:`evaluate`, :func:`flip_points`.
* :mod:`~ecomlab.decide.adr` — MADR 4.0 records (:func:`export_adrs`).
* :mod:`~ecomlab.decide.widget` — the profile form, recommendation table and what-if explorer.
* :mod:`~ecomlab.decide.cli` — ``ecomlab claims`` and ``ecomlab decide``.

Names load lazily so that ``ecomlab --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.decide.adr import MADR_SECTIONS, export_adrs
    from ecomlab.decide.engine import decide, evaluate, flip_points
    from ecomlab.decide.ledger import bundled_ledger, collect_ledger, read_ledger
    from ecomlab.decide.profile import PROFILE_HELP, default_profile, load_profile, parse_profile
    from ecomlab.decide.rules import load_rules, seed_rules_table
    from ecomlab.decide.widget import (
        decide_explorer,
        disagreements,
        flip_table,
        recommendation_table,
        whatif_figure,
    )

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "bundled_ledger": "ecomlab.decide.ledger",
    "collect_ledger": "ecomlab.decide.ledger",
    "decide": "ecomlab.decide.engine",
    "decide_explorer": "ecomlab.decide.widget",
    "default_profile": "ecomlab.decide.profile",
    "disagreements": "ecomlab.decide.widget",
    "evaluate": "ecomlab.decide.engine",
    "export_adrs": "ecomlab.decide.adr",
    "flip_points": "ecomlab.decide.engine",
    "flip_table": "ecomlab.decide.widget",
    "load_profile": "ecomlab.decide.profile",
    "load_rules": "ecomlab.decide.rules",
    "MADR_SECTIONS": "ecomlab.decide.adr",
    "parse_profile": "ecomlab.decide.profile",
    "PROFILE_HELP": "ecomlab.decide.profile",
    "read_ledger": "ecomlab.decide.ledger",
    "recommendation_table": "ecomlab.decide.widget",
    "seed_rules_table": "ecomlab.decide.rules",
    "whatif_figure": "ecomlab.decide.widget",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "MADR_SECTIONS",
    "PROFILE_HELP",
    "bundled_ledger",
    "collect_ledger",
    "decide",
    "decide_explorer",
    "default_profile",
    "disagreements",
    "evaluate",
    "export_adrs",
    "flip_points",
    "flip_table",
    "load_profile",
    "load_rules",
    "parse_profile",
    "read_ledger",
    "recommendation_table",
    "seed_rules_table",
    "whatif_figure",
]
