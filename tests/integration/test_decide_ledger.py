"""The whole quick ledger, measured on embedded stores: every rule's citation resolves in it.

This runs every registered topic's quick ledger (about half a minute here), so it is marked
``slow``; the unit tests check the same citations against the bundled ledger.
"""

from __future__ import annotations

import pytest

from ecomlab.decide.ledger import bundled_ledger, collect_ledger
from ecomlab.decide.rules import load_rules
from ecomlab.topics import TOPICS

pytestmark = pytest.mark.slow


def test_a_fresh_quick_ledger_holds_every_claim_the_rules_cite_and_matches_the_bundled_ids(
        ) -> None:
    fresh = collect_ledger(quick=True, seed=42)
    registered = {t.slug for t in TOPICS if t.ledger}
    for slug in registered:
        assert fresh.status(slug) == "measured", (slug, fresh.provenance["topics"][slug])
    rules = load_rules()
    cites = [c for r in rules.rules for c in r.cites] + [c for k in rules.conflicts
                                                         for c in k.cites]
    for topic, claim in cites:
        if topic in registered:
            assert fresh.find(topic, claim) is not None, (topic, claim)
    bundled = {(c.topic, c.id) for c in bundled_ledger().claims if c.topic in registered}
    assert {(c.topic, c.id) for c in fresh.claims} == bundled
    for c in fresh.claims:  # each measured claim says which command reproduces it
        if c.label == "model":
            continue  # a closed form or a stated assumption: nothing to re-run
        assert c.command.startswith(("ecomlab claims --topic ", f"ecomlab run {c.topic}",
                                     f"ecomlab {c.topic}")), (c.id, c.command)
