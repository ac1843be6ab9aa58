"""Seeded generators: an e-commerce catalog, orders and Zipf-skewed workloads.

Same seed, same data: every function takes ``seed`` (or a ``numpy.random.Generator``) and nothing
seeds globally. Generation is vectorized (numpy + pandas with Arrow strings), so a million
products take seconds (see ``benchmarks/bench_datagen.py``).

The catalog follows the classic normalized design:

* ``categories`` — id, name, parent_id, level (1 = department), materialized ``path``
  (``"Electronics/Computers/Laptops"``);
* ``brands`` — id, name, slug, logo_url;
* ``products`` — id, uuid, sku, title, description, brand_id, category_id, base_price (USD),
  created_at, inventory_total and inventory_available (units);
* ``attributes`` — product_id, name, value (processor, memory, storage, display, color, ...).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomlab import budget, validate
from ecomlab.errors import InvalidInput, choices_text

__all__ = [
    "ATTRIBUTE_VALUES",
    "TAXONOMY",
    "Catalog",
    "Orders",
    "estimate_catalog",
    "generate_catalog",
    "generate_orders",
    "load_catalog",
    "load_sample_catalog",
    "write_catalog",
    "zipf_keys",
    "zipf_popularity",
]

MAX_PRODUCTS = 10_000_000
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_EPOCH = np.datetime64("2024-01-01T00:00:00", "s")
_SPAN_S = 2 * 365 * 24 * 3600

#: leaf path -> (noun, product lines, attribute kinds, median price USD, weight)
TAXONOMY: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], float, float]] = {
    "Electronics/Computers/Laptops": (
        "Laptop", ("AeroBook", "ProBook", "Zenith", "SwiftPad", "Orbit"),
        ("processor", "memory", "storage", "display", "color"), 1100.0, 6.0),
    "Electronics/Computers/Desktops": (
        "Desktop", ("Tower", "Studio", "Forge", "Cube"),
        ("processor", "memory", "storage", "color"), 950.0, 3.0),
    "Electronics/Computers/Monitors": (
        "Monitor", ("ClearView", "UltraWide", "Vista", "Prism"),
        ("display", "resolution", "refresh_rate", "color"), 320.0, 4.0),
    "Electronics/Phones/Smartphones": (
        "Smartphone", ("Nova", "Pulse", "Edge", "Lumen", "Astra"),
        ("storage", "memory", "display", "color"), 780.0, 8.0),
    "Electronics/Phones/Chargers": (
        "Charger", ("PowerDock", "QuickCharge", "VoltMini"),
        ("power", "connector", "color"), 29.0, 5.0),
    "Electronics/Audio/Headphones": (
        "Headphones", ("QuietWave", "BassLine", "AirTone", "Studio"),
        ("connectivity", "battery_hours", "color"), 149.0, 6.0),
    "Electronics/Audio/Speakers": (
        "Speaker", ("Boom", "Echo", "SoundCube", "Resonance"),
        ("connectivity", "power", "color"), 119.0, 4.0),
    "Electronics/Cameras/Mirrorless Cameras": (
        "Mirrorless Camera", ("Alpha", "Vision", "Focus"),
        ("sensor", "resolution", "color"), 1250.0, 2.0),
    "Home/Kitchen/Coffee Makers": (
        "Coffee Maker", ("Barista", "Morning Brew", "Espresso Pro"),
        ("capacity", "power", "color"), 89.0, 4.0),
    "Home/Kitchen/Cookware": (
        "Frying Pan", ("ChefLine", "IronClad", "NonStick Plus"),
        ("material", "size"), 45.0, 5.0),
    "Home/Furniture/Office Chairs": (
        "Office Chair", ("ErgoSeat", "Comfort", "Executive"),
        ("material", "color"), 230.0, 3.0),
    "Home/Furniture/Desks": (
        "Standing Desk", ("LiftDesk", "Workspace", "Oak"),
        ("material", "size", "color"), 410.0, 2.0),
    "Clothing/Men/Shirts": (
        "Shirt", ("Oxford", "Linen", "Everyday", "Flannel"),
        ("size", "color", "material"), 39.0, 7.0),
    "Clothing/Women/Dresses": (
        "Dress", ("Summer", "Wrap", "Evening", "Midi"),
        ("size", "color", "material"), 59.0, 7.0),
    "Clothing/Shoes/Running Shoes": (
        "Running Shoes", ("Sprint", "Trail", "Cloud", "Marathon"),
        ("shoe_size", "color"), 110.0, 6.0),
    "Sports/Outdoor/Tents": (
        "Tent", ("Basecamp", "Summit", "Trailhead"),
        ("capacity", "weight", "color"), 180.0, 2.0),
    "Sports/Fitness/Yoga Mats": (
        "Yoga Mat", ("Balance", "Flow", "Grip"),
        ("material", "color"), 35.0, 3.0),
    "Books/Fiction/Mystery": (
        "Mystery Novel", ("The Silent", "Midnight", "The Last", "Shadow of the"),
        ("format", "pages"), 16.0, 5.0),
    "Books/Nonfiction/Technology": (
        "Programming Guide", ("Practical", "Designing", "Mastering", "Learning"),
        ("format", "pages"), 42.0, 4.0),
    "Beauty/Skincare/Moisturizers": (
        "Moisturizer", ("Hydra", "Glow", "Pure", "Daily"),
        ("size", "skin_type"), 24.0, 4.0),
}

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "processor": ("Intel Core i5", "Intel Core i7", "Intel Core i9", "AMD Ryzen 5",
                  "AMD Ryzen 7", "Apple M3", "Apple M4"),
    "memory": ("8GB", "16GB", "32GB", "64GB"),
    "storage": ("128GB", "256GB", "512GB", "1TB", "2TB"),
    "display": ('13.3"', '14"', '15.6"', '16"', '24"', '27"', '32"', '6.1"', '6.7"'),
    "resolution": ("1080p", "1440p", "4K", "24MP", "33MP", "45MP"),
    "refresh_rate": ("60Hz", "120Hz", "144Hz", "240Hz"),
    "color": ("Black", "White", "Silver", "Space Gray", "Blue", "Red", "Green", "Beige"),
    "power": ("20W", "45W", "65W", "100W", "1000W", "1500W"),
    "connector": ("USB-C", "Lightning", "MagSafe"),
    "connectivity": ("Bluetooth 5.3", "Wired", "Wi-Fi", "Bluetooth and Wi-Fi"),
    "battery_hours": ("20h", "30h", "40h", "60h"),
    "sensor": ("Full Frame", "APS-C", "Micro Four Thirds"),
    "capacity": ("1 person", "2 persons", "4 persons"),
    "material": ("Cotton", "Linen", "Polyester", "Wool"),
    "size": ("XS", "S", "M", "L", "XL"),
    "shoe_size": ("38", "39", "40", "41", "42", "43", "44", "45"),
    "weight": ("1.2kg", "2.1kg", "3.4kg"),
    "format": ("Paperback", "Hardcover", "E-book"),
    "pages": ("224", "312", "480", "640"),
    "skin_type": ("Dry", "Oily", "Combination", "Sensitive"),
}

#: values that differ by category: (leaf path, attribute) -> values
_LEAF_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Home/Kitchen/Cookware", "material"): ("Cast Iron", "Stainless Steel", "Carbon Steel"),
    ("Home/Kitchen/Cookware", "size"): ("20cm", "24cm", "28cm"),
    ("Home/Furniture/Office Chairs", "material"): ("Mesh", "Leather", "Fabric"),
    ("Home/Furniture/Desks", "material"): ("Oak", "Walnut", "Bamboo"),
    ("Home/Furniture/Desks", "size"): ("120x60cm", "140x70cm", "160x80cm"),
    ("Sports/Fitness/Yoga Mats", "material"): ("Natural Rubber", "TPE", "Cork"),
    ("Beauty/Skincare/Moisturizers", "size"): ("30ml", "50ml", "100ml"),
    ("Home/Kitchen/Coffee Makers", "capacity"): ("1.2L", "1.5L", "1.8L"),
    ("Home/Kitchen/Coffee Makers", "power"): ("900W", "1000W", "1500W"),
    ("Sports/Outdoor/Tents", "capacity"): ("1 person", "2 persons", "4 persons"),
    ("Electronics/Phones/Chargers", "power"): ("20W", "30W", "45W", "65W", "100W"),
    ("Electronics/Audio/Speakers", "power"): ("10W", "20W", "40W", "60W"),
    ("Electronics/Cameras/Mirrorless Cameras", "resolution"): ("24MP", "33MP", "45MP", "61MP"),
    ("Electronics/Phones/Smartphones", "display"): ('6.1"', '6.4"', '6.7"'),
    ("Electronics/Computers/Laptops", "display"): ('13.3"', '14"', '15.6"', '16"'),
    ("Electronics/Computers/Monitors", "display"): ('24"', '27"', '32"', '34"'),
    ("Electronics/Computers/Monitors", "resolution"): ("1080p", "1440p", "4K", "5K"),
}

_BRANDS: dict[str, tuple[str, ...]] = {
    "Electronics": ("Northwind", "Voltara", "Lumina", "Kestrel", "Aperture Labs", "Quanta",
                    "Sonora", "Pixelworks"),
    "Home": ("Hearthstone", "Copperleaf", "Oakridge", "Brewster", "Nestwell"),
    "Clothing": ("Threadline", "Bluebird", "Stride", "Maple & Co", "Urban Loom"),
    "Sports": ("Summitgear", "Trailblaze", "Zenflex", "Peakform"),
    "Books": ("Riverbend Press", "Lantern Books", "Paperkite"),
    "Beauty": ("Dewdrop", "Velvet Bloom", "Purelle"),
}

_ADJECTIVES = ("lightweight", "durable", "premium", "compact", "versatile", "reliable",
               "stylish", "powerful", "comfortable", "budget-friendly")
_CLOSERS = (
    "Backed by a two-year warranty and free returns.",
    "Designed for everyday use at home, at work and on the go.",
    "Customers praise its build quality and value for money.",
    "Ships in recyclable packaging within two business days.",
    "A bestseller in its category this season.",
    "Pairs well with the rest of the collection.",
)


@dataclass
class Catalog:
    """A generated (or loaded) catalog: four tables in normalized form."""

    categories: pd.DataFrame
    brands: pd.DataFrame
    products: pd.DataFrame
    attributes: pd.DataFrame
    seed: int | None = None

    def __len__(self) -> int:
        return len(self.products)

    def leaf_paths(self) -> list[str]:
        """Paths of the leaf categories (those products are attached to)."""
        parents = set(self.categories["parent_id"].dropna().astype(int))
        leaves = self.categories[~self.categories["id"].isin(parents)]
        return [str(p) for p in leaves["path"]]


@dataclass
class Orders:
    """Generated orders: one row per order and one per order line."""

    orders: pd.DataFrame
    items: pd.DataFrame


def zipf_popularity(n: int, alpha: float) -> np.ndarray:
    """Probabilities of ranks 1..n under a bounded Zipf law with exponent ``alpha`` (>= 0).

    ``alpha = 0`` is uniform; ``alpha ≈ 1`` is typical of product popularity.
    """
    n = validate.integer("n", n, minimum=1, maximum=MAX_PRODUCTS)
    alpha = validate.number("alpha", alpha, minimum=0.0, maximum=10.0)
    weights = np.arange(1, n + 1, dtype=float) ** -alpha
    return weights / weights.sum()


def zipf_keys(n: int, alpha: float, size: int, seed: int | np.random.Generator) -> np.ndarray:
    """Draw ``size`` keys in ``[0, n)`` with Zipf(``alpha``) popularity (key 0 most popular)."""
    size = validate.integer("size", size, minimum=0, maximum=1_000_000_000)
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(zipf_popularity(n, alpha))
    keys = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(keys, n - 1).astype(np.int64)


def _categories() -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    for leaf in TAXONOMY:
        parts = leaf.split("/")
        for level in range(1, len(parts) + 1):
            path = "/".join(parts[:level])
            if path in ids:
                continue
            ids[path] = len(ids) + 1
            parent = ids["/".join(parts[: level - 1])] if level > 1 else None
            rows.append({"id": ids[path], "name": parts[level - 1], "parent_id": parent,
                         "level": level, "path": path})
    df = pd.DataFrame(rows)
    df["parent_id"] = df["parent_id"].astype("Int64")
    return df


def _brands() -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for dept, names in _BRANDS.items():
        for name in names:
            slug = name.lower().replace(" & ", "-").replace(" ", "-")
            rows.append({"id": len(rows) + 1, "name": name, "slug": slug, "department": dept,
                         "logo_url": f"https://cdn.example.com/brands/{slug}.png"})
    return pd.DataFrame(rows)


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUID strings, built without a Python loop."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)),
                     (slice(12, 16), slice(14, 18)), (slice(16, 20), slice(19, 23)),
                     (slice(20, 32), slice(24, 36))):
        out[:, dst] = hexed[:, src]
    return out.view("S36").ravel().astype(str)


#: a catalog's peak memory while it is generated, as a multiple of its tables' final size
#: (measured: 2,000,000 products peaked at 1,165 B/product for 366 B/product of tables)
PEAK_TO_FINAL = 3.2
#: products generated to time and size a large catalog before it is generated
SAMPLE_PRODUCTS = 20_000


def estimate_catalog(products: int, seed: int = 0) -> tuple[float, float, str]:
    """Estimate the seconds and peak bytes :func:`generate_catalog` will need for ``products``.

    Generates :data:`SAMPLE_PRODUCTS` products (about 0.4 s), times them and sizes their tables,
    and scales both linearly (generation is linear in products: 18.1 vs 17.7 us/product
    measured at 20,000 and 2,000,000); memory also by :data:`PEAK_TO_FINAL`.

    Returns:
        ``(seconds, peak_bytes, basis)``, ``basis`` saying how the estimate was made.
    """
    n = validate.integer("products", products, minimum=1, maximum=MAX_PRODUCTS)
    sample = min(n, SAMPLE_PRODUCTS)
    started = time.perf_counter()
    cat = generate_catalog(sample, seed=seed)
    seconds = (time.perf_counter() - started) * n / sample
    tables = sum(int(getattr(cat, name).memory_usage(deep=True).sum()) for name in _TABLES)
    peak = tables * n / sample * PEAK_TO_FINAL
    return seconds, peak, f"scaled from {sample:,} products generated just now"


def generate_catalog(products: int = 1000, seed: int = 0, *, progress: bool = False) -> Catalog:
    """Generate a catalog of ``products`` products; the same seed gives the same catalog.

    Args:
        products: number of products (1 .. 10,000,000).
        seed: the random seed.
        progress: show a progress bar per category (long runs).

    Raises:
        InvalidInput: ``products`` out of range or not a whole number.
    """
    n = validate.integer("products", products, minimum=1, maximum=MAX_PRODUCTS)
    seed = validate.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    categories = _categories()
    brands = _brands()
    cat_id = dict(zip(categories["path"], categories["id"], strict=True))
    leaves = list(TAXONOMY)
    weights = np.array([TAXONOMY[p][4] for p in leaves])
    leaf_idx = rng.choice(len(leaves), size=n, p=weights / weights.sum())
    order = np.argsort(leaf_idx, kind="stable")
    counts = np.bincount(leaf_idx, minlength=len(leaves))

    brand_ids = np.empty(n, dtype=np.int64)
    prices = np.empty(n, dtype=float)
    titles = np.empty(n, dtype=object)
    descs = np.empty(n, dtype=object)
    sku_prefix = np.empty(n, dtype=object)
    attr_frames: list[pd.DataFrame] = []
    from ecomlab.measure import progress as bar

    start = 0
    for li in bar(range(len(leaves)), total=len(leaves), desc="categories",
                  disable=not progress or budget.current() is not None):
        m = int(counts[li])
        if progress:
            budget.advance(m)  # the command line's progress and Ctrl-C report
        rows = order[start:start + m]
        start += m
        if m == 0:
            continue
        path = leaves[li]
        noun, lines, attr_kinds, median, _ = TAXONOMY[path]
        dept = path.split("/", 1)[0]
        dept_brands = brands[brands["department"] == dept]
        b = rng.integers(0, len(dept_brands), size=m)
        brand_ids[rows] = dept_brands["id"].to_numpy()[b]
        bnames = dept_brands["name"].to_numpy()[b]
        line = np.asarray(lines, dtype=object)[rng.integers(0, len(lines), size=m)]
        model = rng.integers(1, 100, size=m).astype(str).astype(object)
        prices[rows] = np.round(median * rng.lognormal(0.0, 0.35, size=m)) - 0.01
        attr_vals: dict[str, np.ndarray] = {}
        for kind in attr_kinds:
            values = _LEAF_VALUES.get((path, kind), ATTRIBUTE_VALUES[kind])
            options = np.asarray(values, dtype=object)
            attr_vals[kind] = options[rng.integers(0, len(options), size=m)]
            attr_frames.append(pd.DataFrame({
                "product_id": rows + 1,
                "name": kind,
                "value": attr_vals[kind],
            }))
        t = bnames + " " + line + " " + model + " " + noun
        first, second = attr_kinds[0], attr_kinds[1 % len(attr_kinds)]
        adj = np.asarray(_ADJECTIVES, dtype=object)[rng.integers(0, len(_ADJECTIVES), size=m)]
        closer = np.asarray(_CLOSERS, dtype=object)[rng.integers(0, len(_CLOSERS), size=m)]
        d = ("The " + t + " is a " + adj + " " + noun.lower() + " from " + bnames + " with "
             + first.replace("_", " ") + " " + attr_vals[first] + " and "
             + second.replace("_", " ") + " " + attr_vals[second] + ". " + closer)
        titles[rows] = t
        descs[rows] = d
        sku_prefix[rows] = path.rsplit("/", 1)[1][:3].upper()

    ids = np.arange(1, n + 1)
    inventory_total = rng.integers(0, 500, size=n)
    reserved = np.floor(inventory_total * rng.random(n) * 0.1).astype(np.int64)
    created = _EPOCH + rng.integers(0, _SPAN_S, size=n).astype("timedelta64[s]")
    leaf_cat_ids = np.array([cat_id[p] for p in leaves])[leaf_idx]
    brand_slug = brands.set_index("id")["slug"].str.upper().str[:4].reindex(brand_ids)
    skus = (pd.Series(sku_prefix, dtype="str") + "-" + brand_slug.to_numpy().astype(str)
            + "-" + pd.Series(ids, dtype="str").str.zfill(7))
    products_df = pd.DataFrame({
        "id": ids,
        "uuid": pd.Series(_uuids(rng, n), dtype="str"),
        "sku": skus.astype("str"),
        "title": pd.Series(titles, dtype="str"),
        "description": pd.Series(descs, dtype="str"),
        "brand_id": brand_ids,
        "category_id": leaf_cat_ids,
        "base_price": prices,
        "created_at": created,
        "inventory_total": inventory_total,
        "inventory_available": inventory_total - reserved,
    })
    attributes = (pd.concat(attr_frames, ignore_index=True) if attr_frames
                  else pd.DataFrame({"product_id": [], "name": [], "value": []}))
    attributes = attributes.sort_values(["product_id", "name"], kind="stable",
                                        ignore_index=True)
    attributes["name"] = attributes["name"].astype("category")
    attributes["value"] = attributes["value"].astype("category")
    return Catalog(categories=categories, brands=brands.drop(columns=["department"]),
                   products=products_df, attributes=attributes, seed=seed)


def generate_orders(catalog: Catalog, orders: int = 1000, *, seed: int = 0,
                    alpha: float = 1.0, customers: int = 1000,
                    max_lines: int = 3) -> Orders:
    """Generate orders whose products follow Zipf(``alpha``) popularity over the catalog.

    Args:
        catalog: the catalog to buy from.
        orders: number of orders.
        seed: the random seed.
        alpha: Zipf exponent of product popularity (0 = uniform).
        customers: number of distinct customers.
        max_lines: maximum order lines per order (at least 1).
    """
    n_orders = validate.integer("orders", orders, minimum=0, maximum=100_000_000)
    customers = validate.integer("customers", customers, minimum=1)
    max_lines = validate.integer("max_lines", max_lines, minimum=1, maximum=50)
    rng = np.random.default_rng(seed)
    lines_per = rng.integers(1, max_lines + 1, size=n_orders)
    total_lines = int(lines_per.sum())
    product_pos = zipf_keys(len(catalog.products), alpha, total_lines, rng)
    prods = catalog.products.iloc[product_pos]
    order_ids = np.repeat(np.arange(1, n_orders + 1), lines_per)
    items = pd.DataFrame({
        "order_id": order_ids,
        "product_id": prods["id"].to_numpy(),
        "sku": prods["sku"].to_numpy(),
        "quantity": rng.integers(1, 4, size=total_lines),
        "unit_price": prods["base_price"].to_numpy(),
    })
    orders_df = pd.DataFrame({
        "id": np.arange(1, n_orders + 1),
        "customer_id": rng.integers(1, customers + 1, size=n_orders),
        "created_at": _EPOCH + np.sort(rng.integers(0, _SPAN_S, size=n_orders))
        .astype("timedelta64[s]"),
    })
    totals = (items["quantity"] * items["unit_price"]).groupby(items["order_id"]).sum()
    orders_df["total"] = totals.reindex(orders_df["id"]).fillna(0.0).round(2).to_numpy()
    return Orders(orders=orders_df, items=items)


_TABLES = ("categories", "brands", "products", "attributes")
FORMATS = ("parquet", "jsonl")


def write_catalog(catalog: Catalog, out: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write the four tables to ``out/<table>.<fmt>``; returns the files written.

    Files are written to a temporary name and renamed, so an interrupted write never leaves a
    half-written table behind.
    """
    fmt = validate.choice("format", fmt, FORMATS)
    folder = validate.output_dir("out", out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in _TABLES:
        df: pd.DataFrame = getattr(catalog, name)
        target = folder / f"{name}.{fmt}"
        tmp = folder / f".{name}.{fmt}.partial"
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_json(tmp, orient="records", lines=True, date_format="iso")
        tmp.replace(target)
        written.append(target)
    meta = folder / "catalog.json"
    meta.write_text(json.dumps({"seed": catalog.seed, "products": len(catalog),
                                "format": fmt}, indent=2) + "\n")
    written.append(meta)
    return written


def load_catalog(folder: str | Path) -> Catalog:
    """Read a catalog written by :func:`write_catalog` (parquet or jsonl)."""
    folder = Path(folder)
    frames: dict[str, pd.DataFrame] = {}
    for name in _TABLES:
        for fmt in FORMATS:
            path = folder / f"{name}.{fmt}"
            if path.exists():
                frames[name] = (pd.read_parquet(path) if fmt == "parquet"
                                else pd.read_json(path, lines=True, dtype=False))
                break
        else:
            raise InvalidInput(f"{str(folder)!r} has no {name} table; expected "
                               f"{choices_text(f'{name}.{f}' for f in FORMATS)}")
    meta = folder / "catalog.json"
    seed = json.loads(meta.read_text()).get("seed") if meta.exists() else None
    products = frames["products"]
    if "created_at" in products and not pd.api.types.is_datetime64_any_dtype(
            products["created_at"]):
        products["created_at"] = pd.to_datetime(products["created_at"]).astype(
            "datetime64[s]")
    cats = frames["categories"]
    cats["parent_id"] = cats["parent_id"].astype("Int64")
    return Catalog(categories=cats, brands=frames["brands"], products=products,
                   attributes=frames["attributes"], seed=seed)


def load_sample_catalog() -> Catalog:
    """The small committed catalog in ``data/sample_catalog`` (200 products, seed 42)."""
    return load_catalog(DATA_DIR / "sample_catalog")


