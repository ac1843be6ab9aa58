"""The live run's former home: :func:`run_live` is :func:`~ecomlab.processing.run_processing`.

Kept so that ``from ecomlab.processing.live import run_live`` goes on working; new code imports
``run_processing`` from :mod:`ecomlab.processing`.
"""

from __future__ import annotations

from ecomlab.processing.experiment import OrderTables, run_processing

__all__ = ["OrderTables", "run_live"]

#: the same function as :func:`~ecomlab.processing.experiment.run_processing`
run_live = run_processing
