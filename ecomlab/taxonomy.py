"""The generated catalog's vocabulary: the category tree, attribute values, brands and words.

:mod:`ecomlab.datagen` draws products from these tables; :func:`category_frame` and
:func:`brand_frame` turn the tree and the brands into the catalog's ``categories`` and
``brands`` tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["ADJECTIVES", "ATTRIBUTE_VALUES", "BRANDS", "CLOSERS", "LEAF_VALUES", "TAXONOMY",
           "brand_frame", "category_frame"]

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

#: attribute kind -> its values
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
LEAF_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
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

#: department -> its brands
BRANDS: dict[str, tuple[str, ...]] = {
    "Electronics": ("Northwind", "Voltara", "Lumina", "Kestrel", "Aperture Labs", "Quanta",
                    "Sonora", "Pixelworks"),
    "Home": ("Hearthstone", "Copperleaf", "Oakridge", "Brewster", "Nestwell"),
    "Clothing": ("Threadline", "Bluebird", "Stride", "Maple & Co", "Urban Loom"),
    "Sports": ("Summitgear", "Trailblaze", "Zenflex", "Peakform"),
    "Books": ("Riverbend Press", "Lantern Books", "Paperkite"),
    "Beauty": ("Dewdrop", "Velvet Bloom", "Purelle"),
}

#: words the generated descriptions are made of
ADJECTIVES = ("lightweight", "durable", "premium", "compact", "versatile", "reliable",
               "stylish", "powerful", "comfortable", "budget-friendly")
CLOSERS = (
    "Backed by a two-year warranty and free returns.",
    "Designed for everyday use at home, at work and on the go.",
    "Customers praise its build quality and value for money.",
    "Ships in recyclable packaging within two business days.",
    "A bestseller in its category this season.",
    "Pairs well with the rest of the collection.",
)


def category_frame() -> pd.DataFrame:
    """The category tree: id, name, parent_id, level (1 = department), materialized path."""
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


def brand_frame() -> pd.DataFrame:
    """Every brand: id, name, slug, department, logo_url."""
    rows: list[dict[str, Any]] = []
    for dept, names in BRANDS.items():
        for name in names:
            slug = name.lower().replace(" & ", "-").replace(" ", "-")
            rows.append({"id": len(rows) + 1, "name": name, "slug": slug, "department": dept,
                         "logo_url": f"https://cdn.example.com/brands/{slug}.png"})
    return pd.DataFrame(rows)
