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

import importlib
from typing import Any

__all__ = ["MADR_SECTIONS", "bundled_ledger", "collect_ledger", "decide", "decide_explorer",
           "default_profile", "disagreements", "evaluate", "export_adrs", "flip_points",
           "flip_table", "load_profile", "load_rules", "parse_profile", "read_ledger",
           "recommendation_table", "seed_rules_table", "whatif_figure"]

_WHERE = {
    "MADR_SECTIONS": "adr", "export_adrs": "adr",
    "bundled_ledger": "ledger", "collect_ledger": "ledger", "read_ledger": "ledger",
    "decide": "engine", "evaluate": "engine", "flip_points": "engine",
    "default_profile": "profile", "load_profile": "profile", "parse_profile": "profile",
    "load_rules": "rules", "seed_rules_table": "rules",
    "decide_explorer": "widget", "disagreements": "widget", "flip_table": "widget",
    "recommendation_table": "widget", "whatif_figure": "widget",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ecomlab.decide' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ecomlab.decide.{module}"), name)
