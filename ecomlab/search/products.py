"""Products to index: from the generated catalog or from a DummyJSON-layout JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.search.base import SearchProduct

__all__ = ["catalog_products", "dummyjson_products", "generated_products"]


def catalog_products(catalog: Catalog) -> list[SearchProduct]:
    """One :class:`SearchProduct` per catalog product; category is the leaf's name."""
    brands = dict(zip(catalog.brands["id"], catalog.brands["name"], strict=True))
    cats = dict(zip(catalog.categories["id"], catalog.categories["name"], strict=True))
    p = catalog.products
    return [SearchProduct(int(i), str(s), str(t), str(d), str(brands[b]), str(cats[c]),
                          float(pr))
            for i, s, t, d, b, c, pr in zip(p["id"], p["sku"], p["title"], p["description"],
                                            p["brand_id"], p["category_id"], p["base_price"],
                                            strict=True)]


def generated_products(products: int, seed: int) -> list[SearchProduct]:
    """The generated catalog of ``products`` products (seeded) as search products."""
    return catalog_products(generate_catalog(products, seed))


def dummyjson_products(path: str | Path) -> list[SearchProduct]:
    """Products from a JSON list in the DummyJSON layout (``data/dummyjson/products.json``).

    Each item needs ``id``, ``title`` and ``price``; ``sku``, ``description``, ``brand`` and
    ``category`` default to empty text (DummyJSON's groceries have no brand).

    Raises:
        InvalidInput: the file is missing, not JSON, not a list of objects, or an item lacks a
            field (the message names the item).
    """
    file = Path(path)
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"catalog file {str(file)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read catalog {str(file)!r} as JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        data = data["products"]  # the API's {"products": [...]} envelope
    if not isinstance(data, list):
        raise InvalidInput(f"catalog {str(file)!r} must hold a JSON list of products")
    out: list[SearchProduct] = []
    seen: set[int] = set()
    for n, item in enumerate(data):
        if not isinstance(item, dict):
            raise InvalidInput(f"catalog item {n} is not an object: {item!r:.60}")
        try:
            pid = int(item["id"])
            price = float(item["price"])
            title = str(item["title"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"catalog item {n} needs id, title and a numeric price: "
                               f"{exc}") from None
        if pid in seen:
            raise InvalidInput(f"catalog item {n} repeats id {pid!r}")
        if price < 0 or price != price:
            raise InvalidInput(f"catalog item {n} has price {price!r}; need >= 0")
        seen.add(pid)
        out.append(SearchProduct(pid, str(item.get("sku") or ""), title,
                                 str(item.get("description") or ""),
                                 str(item.get("brand") or ""), str(item.get("category") or ""),
                                 price))
    return out
