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

from ecomlab.catalog.checks import ProductFilter, product_filter, validate_catalog
from ecomlab.catalog.documents import load_documents
from ecomlab.catalog.relational import LoadReport, load_relational
from ecomlab.catalog.views import ProductPage, ProductView

__all__ = [
    "LoadReport",
    "ProductFilter",
    "ProductPage",
    "ProductView",
    "load_documents",
    "load_relational",
    "product_filter",
    "validate_catalog",
]
