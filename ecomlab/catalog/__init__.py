"""Topic 02 — the product catalog, relational vs document model, measured.

* :mod:`~ecomlab.catalog.relational` — normalized schema, loader, the seed's queries per dialect.
* :mod:`~ecomlab.catalog.documents` — the seed's denormalized document, loader, indexes, queries.
* :mod:`~ecomlab.catalog.compare` — the same questions asked of both, compared equal.
* :mod:`~ecomlab.catalog.writes` — brand rename, category move, new attribute kind; mixed reads.
* :mod:`~ecomlab.catalog.hierarchy` — materialized-path prefix vs recursive CTE.
* :mod:`~ecomlab.catalog.experiment` — the measured run behind ``ecomlab run catalog``, the
  scaling sweep and the claims ledger.
* :mod:`~ecomlab.catalog.plots` — figures and the notebook's widget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.catalog.checks import ProductFilter, product_filter, validate_catalog
    from ecomlab.catalog.claims import catalog_claims, catalog_ledger
    from ecomlab.catalog.documents import load_documents
    from ecomlab.catalog.experiment import run_catalog
    from ecomlab.catalog.relational import LoadReport, load_relational
    from ecomlab.catalog.views import ProductPage, ProductView
    from ecomlab.catalog.widget import catalog_explorer, explore_sizes

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "catalog_claims": "ecomlab.catalog.claims",
    "catalog_explorer": "ecomlab.catalog.widget",
    "explore_sizes": "ecomlab.catalog.widget",
    "catalog_ledger": "ecomlab.catalog.claims",
    "run_catalog": "ecomlab.catalog.experiment",
    "LoadReport": "ecomlab.catalog.relational",
    "ProductFilter": "ecomlab.catalog.checks",
    "ProductPage": "ecomlab.catalog.views",
    "ProductView": "ecomlab.catalog.views",
    "load_documents": "ecomlab.catalog.documents",
    "load_relational": "ecomlab.catalog.relational",
    "product_filter": "ecomlab.catalog.checks",
    "validate_catalog": "ecomlab.catalog.checks",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "LoadReport",
    "ProductFilter",
    "ProductPage",
    "ProductView",
    "catalog_claims",
    "catalog_explorer",
    "catalog_ledger",
    "explore_sizes",
    "load_documents",
    "load_relational",
    "product_filter",
    "run_catalog",
    "validate_catalog",
]
