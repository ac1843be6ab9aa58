"""The answers both models give, in one normalized shape so they can be compared equal.

Prices are rounded to cents (USD) and returned as floats, attributes as sorted
``(name, value)`` pairs, timestamps as ISO strings to the second. Two answers from different
models or backends are identical exactly when these records compare equal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = ["ProductPage", "ProductView", "attributes_of", "cents", "iso_seconds"]


def cents(value: object) -> float:
    """A price (USD) rounded to cents, as a float."""
    f = float(value)  # type: ignore[arg-type]
    return round(f, 2) if math.isfinite(f) else f


def iso_seconds(value: object) -> str:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SS`` (no time zone, UTC assumed)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return str(value)[:19].replace(" ", "T")


def attributes_of(raw: object) -> tuple[tuple[str, str], ...]:
    """Normalize aggregated attributes (a dict, a JSON string, or a list of pairs)."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        import json

        raw = json.loads(raw)
    pairs: Iterable[Any] = raw.items() if isinstance(raw, Mapping) else raw  # type: ignore[assignment]
    return tuple(sorted((str(k), str(v)) for k, v in pairs if k is not None))


@dataclass(frozen=True)
class ProductView:
    """One product as a listing shows it.

    Attributes:
        sku: the stock-keeping unit.
        title: the product title.
        brand: the brand's name.
        category: the leaf category's name.
        path: the category path (``"Electronics/Computers/Laptops"``).
        price: base price (USD).
        available: units available to sell.
        attributes: sorted ``(name, value)`` pairs.
    """

    sku: str
    title: str
    brand: str
    category: str
    path: str
    price: float
    available: int
    attributes: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["attributes"] = dict(self.attributes)
        return out


@dataclass(frozen=True)
class ProductPage:
    """Everything a product page shows.

    Attributes:
        view: the listing fields.
        uuid: the product's public id.
        description: long text.
        brand_logo_url: the brand's logo.
        inventory_total: units on hand.
        created_at: when it was listed (ISO, seconds).
    """

    view: ProductView
    uuid: str
    description: str
    brand_logo_url: str
    inventory_total: int
    created_at: str
