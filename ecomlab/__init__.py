"""ecomlab: e-commerce architecture tradeoffs, implemented and measured.

The package behind the workbook's notebooks and the ``ecomlab`` command. Topics live in their
own subpackages (``ecomlab.inventory``, ``ecomlab.catalog``, ...); shared parts are
:mod:`ecomlab.stores`, :mod:`ecomlab.measure`, :mod:`ecomlab.datagen` and :mod:`ecomlab.sim`.
"""

from __future__ import annotations

from ecomlab.errors import (
    BackendUnavailable,
    ConfigError,
    EcomlabError,
    InvalidInput,
    UnsupportedOperation,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "EcomlabError",
    "InvalidInput",
    "UnsupportedOperation",
    "__version__",
]
