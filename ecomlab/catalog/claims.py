"""The catalog topic's claims ledger: the seed's SQL vs NoSQL claims, measured on small runs.

:func:`~ecomlab.catalog.experiment.catalog_claims` (kept in ``experiment.py``) judges the
claims from the notebook's runs; :func:`catalog_ledger` runs small versions of those runs on
embedded stores and returns the same claims (``ecomlab claims --topic catalog``).
"""

from __future__ import annotations

from dataclasses import replace

from ecomlab.catalog.experiment import catalog_claims, hierarchy_run, run_catalog, write_costs
from ecomlab.measure import Claim

__all__ = ["catalog_claims", "catalog_ledger"]


def catalog_ledger(*, quick: bool = True, seed: int = 42) -> list[Claim]:
    """Run the catalog experiment, the write costs and the hierarchy lookup; return the claims.

    ``quick`` writes and walks 500 products (the measured run keeps 2000, so that readers
    overlap the brand renames); otherwise every run uses the notebook's 2000 products.
    """
    small = 500 if quick else 2000
    run = run_catalog(2000, seed)
    writes = write_costs(small, seed)
    hierarchy = hierarchy_run(small, seed, category="Electronics")
    command = f"ecomlab claims --topic catalog{' --quick' if quick else ''} --seed {seed}"
    return [replace(c, command=c.command or command)
            for c in catalog_claims(run, writes, hierarchy=hierarchy)]
