"""Boundary checks for the catalog topic: records before loading, filters before querying.

Filter values are data: a category path is a plain string matched literally (segment by
segment), prices are finite numbers. Anything else (a dict such as ``{"$ne": None}``, a list,
bytes) is refused with :class:`~ecomlab.errors.InvalidInput` before any store sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecomlab import validate
from ecomlab.datagen import Catalog
from ecomlab.errors import InvalidInput

__all__ = ["ProductFilter", "product_filter", "text_value", "validate_catalog"]

MAX_TEXT = 400


def text_value(name: str, value: object, *, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a plain string (never a dict, list or operator object)."""
    if not isinstance(value, str):
        raise InvalidInput(
            f"{name} must be a plain string, got {type(value).__name__} {value!r}")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{name} must not be empty, got {value!r}")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{name} is longer than {MAX_TEXT} characters: {value[:40]!r}...")
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters, got {value!r}")
    return value


@dataclass(frozen=True)
class ProductFilter:
    """What a listing asks for.

    Attributes:
        category: a category path prefix matched segment by segment (``"Electronics/Phones"``
            matches ``"Electronics/Phones/Chargers"`` but not ``"Electronics/Phonesx"``);
            ``None`` means every category.
        min_price, max_price: inclusive bounds on the base price (USD); ``None`` means open.
    """

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None

    @property
    def segments(self) -> list[str] | None:
        """The category path split on ``/`` (``None`` when there is no category filter)."""
        return None if self.category is None else self.category.split("/")


def product_filter(category: object = None, min_price: object = None,
                   max_price: object = None) -> ProductFilter:
    """Check a listing's filter values and return them as a :class:`ProductFilter`.

    Raises:
        InvalidInput: a non-string category, a non-finite or negative price, or
            ``min_price > max_price``.
    """
    cat = None if category is None else text_value("category", category)
    lo = None if min_price is None else validate.number("min_price", min_price, minimum=0.0)
    hi = None if max_price is None else validate.number("max_price", max_price, minimum=0.0)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput(f"min_price {lo!r} is above max_price {hi!r}")
    return ProductFilter(cat, lo, hi)


_PRODUCT_COLUMNS = ("id", "uuid", "sku", "title", "description", "brand_id", "category_id",
                    "base_price", "created_at", "inventory_total", "inventory_available")


def validate_catalog(catalog: Catalog) -> None:
    """Refuse a catalog with a malformed record before anything is written.

    Checks: every product has a non-empty, unique sku and uuid, a unique id, a finite
    non-negative base price (USD), a known category and brand, non-negative inventory (units);
    categories have known parents; attributes belong to known products and are unique per
    (product, name).

    Raises:
        InvalidInput: naming the first offending record (position, id, sku) and how many
            records share the problem.
    """
    p = catalog.products
    missing = [c for c in _PRODUCT_COLUMNS if c not in p.columns]
    if missing:
        raise InvalidInput(f"products table lacks columns {missing!r}")
    cats = catalog.categories
    _reject(p, p["id"].isna() | p["id"].duplicated(keep=False), "id is missing or duplicated")
    sku = p["sku"]
    sku_missing = sku.isna() | (sku.astype(object).map(
        lambda s: not isinstance(s, str) or not s.strip()))
    _reject(p, sku_missing, "sku is missing")
    _reject(p, sku.duplicated(keep=False), "sku is duplicated")
    _reject(p, p["uuid"].isna() | p["uuid"].duplicated(keep=False), "uuid is missing or "
            "duplicated")
    price = pd.to_numeric(p["base_price"], errors="coerce").astype(float)
    bad_price = ~np.isfinite(price.to_numpy()) | (price.to_numpy() < 0)
    _reject(p, pd.Series(bad_price, index=p.index), "base_price must be a finite number >= 0 USD")
    _reject(p, ~p["category_id"].isin(cats["id"]), "category_id is not a known category")
    _reject(p, ~p["brand_id"].isin(catalog.brands["id"]), "brand_id is not a known brand")
    inv_bad = ((p["inventory_total"] < 0) | (p["inventory_available"] < 0)
               | (p["inventory_available"] > p["inventory_total"]))
    _reject(p, inv_bad, "inventory must satisfy 0 <= available <= total (units)")
    orphan = cats["parent_id"].notna() & ~cats["parent_id"].isin(cats["id"])
    if orphan.any():
        row = cats[orphan].iloc[0]
        raise InvalidInput(f"category id={int(row['id'])} ({row['path']!r}) has unknown parent "
                           f"{row['parent_id']!r}")
    attrs = catalog.attributes
    if len(attrs):
        unknown = ~attrs["product_id"].isin(p["id"])
        if unknown.any():
            raise InvalidInput(f"attribute of unknown product_id "
                               f"{int(attrs.loc[unknown, 'product_id'].iloc[0])!r}")
        dup = attrs.duplicated(["product_id", "name"], keep=False)
        if dup.any():
            row = attrs[dup].iloc[0]
            raise InvalidInput(f"product_id {int(row['product_id'])!r} has attribute "
                               f"{str(row['name'])!r} more than once")


def _reject(products: pd.DataFrame, bad: pd.Series[Any], problem: str) -> None:
    if not bool(bad.any()):
        return
    positions = np.flatnonzero(bad.to_numpy())
    first = products.iloc[int(positions[0])]
    pid = first["id"]
    pid_text = "missing" if _is_missing(pid) else repr(int(pid))
    others = len(positions) - 1
    more = f" (and {others} more record{'s' if others != 1 else ''})" if others else ""
    raise InvalidInput(
        f"product record #{int(positions[0])} (id={pid_text}, sku={_shown(first['sku'])}, "
        f"base_price={_shown(first['base_price'])}): {problem}{more}; nothing was loaded")


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _shown(value: object) -> str:
    if _is_missing(value):
        return "missing"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)
