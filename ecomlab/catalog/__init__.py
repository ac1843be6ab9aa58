"""Topic 02 — the product catalog, relational vs document model, measured.

* :mod:`~ecomlab.catalog.relational` — normalized schema, loader, the seed's queries per dialect.
* :mod:`~ecomlab.catalog.documents` — the seed's denormalized document, loader, indexes, queries.
* :mod:`~ecomlab.catalog.compare` — the same questions asked of both, compared equal.
* :mod:`~ecomlab.catalog.schemas` — both schemas side by side, the seed's queries asked of both.
* :mod:`~ecomlab.catalog.writes` — brand rename, category move, new attribute kind.
* :mod:`~ecomlab.catalog.mixed_reads` — what readers see while a brand is renamed.
* :mod:`~ecomlab.catalog.hierarchy` — materialized-path prefix vs recursive CTE.
* :mod:`~ecomlab.catalog.experiment` — :func:`run_catalog` (``ecomlab run catalog``), the write
  costs, the scaling sweep, the hierarchy lookup.
* :mod:`~ecomlab.catalog.claims`, :mod:`~ecomlab.catalog.plots`, :mod:`~ecomlab.catalog.widget`
  — what notebook 02 shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecomlab._lazy import lazy_exports

if TYPE_CHECKING:
    from ecomlab.catalog.checks import ProductFilter, product_filter, validate_catalog
    from ecomlab.catalog.claims import catalog_claims, catalog_ledger
    from ecomlab.catalog.documents import load_documents
    from ecomlab.catalog.experiment import (
        hierarchy_run,
        integrity_probe,
        rename_timelines,
        run_catalog,
        run_table,
        scaling_sweep,
        write_costs,
    )
    from ecomlab.catalog.mixed_reads import MixedReads, rename_with_readers
    from ecomlab.catalog.plots import (
        latency_figure,
        rename_timeline_figure,
        storage_figure,
        write_amplification_figure,
    )
    from ecomlab.catalog.relational import LoadReport, load_relational
    from ecomlab.catalog.schemas import (
        query_texts,
        relational_ddl,
        sample_document,
        schemas_side_by_side,
        seed_like_matches,
        seed_queries,
    )
    from ecomlab.catalog.views import ProductPage, ProductView
    from ecomlab.catalog.widget import catalog_explorer, explore_sizes
    from ecomlab.catalog.writes import WriteCost

#: exported name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "catalog_claims": "ecomlab.catalog.claims",
    "catalog_explorer": "ecomlab.catalog.widget",
    "catalog_ledger": "ecomlab.catalog.claims",
    "explore_sizes": "ecomlab.catalog.widget",
    "hierarchy_run": "ecomlab.catalog.experiment",
    "integrity_probe": "ecomlab.catalog.experiment",
    "latency_figure": "ecomlab.catalog.plots",
    "load_documents": "ecomlab.catalog.documents",
    "load_relational": "ecomlab.catalog.relational",
    "LoadReport": "ecomlab.catalog.relational",
    "MixedReads": "ecomlab.catalog.mixed_reads",
    "product_filter": "ecomlab.catalog.checks",
    "ProductFilter": "ecomlab.catalog.checks",
    "ProductPage": "ecomlab.catalog.views",
    "ProductView": "ecomlab.catalog.views",
    "query_texts": "ecomlab.catalog.schemas",
    "relational_ddl": "ecomlab.catalog.schemas",
    "rename_timeline_figure": "ecomlab.catalog.plots",
    "rename_timelines": "ecomlab.catalog.experiment",
    "rename_with_readers": "ecomlab.catalog.mixed_reads",
    "run_catalog": "ecomlab.catalog.experiment",
    "run_table": "ecomlab.catalog.experiment",
    "sample_document": "ecomlab.catalog.schemas",
    "scaling_sweep": "ecomlab.catalog.experiment",
    "schemas_side_by_side": "ecomlab.catalog.schemas",
    "seed_like_matches": "ecomlab.catalog.schemas",
    "seed_queries": "ecomlab.catalog.schemas",
    "storage_figure": "ecomlab.catalog.plots",
    "validate_catalog": "ecomlab.catalog.checks",
    "write_amplification_figure": "ecomlab.catalog.plots",
    "write_costs": "ecomlab.catalog.experiment",
    "WriteCost": "ecomlab.catalog.writes",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "LoadReport",
    "MixedReads",
    "ProductFilter",
    "ProductPage",
    "ProductView",
    "WriteCost",
    "catalog_claims",
    "catalog_explorer",
    "catalog_ledger",
    "explore_sizes",
    "hierarchy_run",
    "integrity_probe",
    "latency_figure",
    "load_documents",
    "load_relational",
    "product_filter",
    "query_texts",
    "relational_ddl",
    "rename_timeline_figure",
    "rename_timelines",
    "rename_with_readers",
    "run_catalog",
    "run_table",
    "sample_document",
    "scaling_sweep",
    "schemas_side_by_side",
    "seed_like_matches",
    "seed_queries",
    "storage_figure",
    "validate_catalog",
    "write_amplification_figure",
    "write_costs",
]
