"""The generator is deterministic, well-formed and follows the catalog design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ecomlab.datagen import (
    TAXONOMY,
    generate_catalog,
    generate_orders,
    load_catalog,
    load_sample_catalog,
    write_catalog,
    zipf_keys,
    zipf_popularity,
)
from ecomlab.errors import InvalidInput


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return generate_catalog(2000, seed=11)


def test_same_seed_same_catalog_and_other_seed_other_catalog() -> None:
    a, b, c = (generate_catalog(300, seed=s) for s in (5, 5, 6))
    pd.testing.assert_frame_equal(a.products, b.products)
    pd.testing.assert_frame_equal(a.attributes, b.attributes)
    assert not a.products["title"].equals(c.products["title"])


def test_skus_and_uuids_are_unique(catalog) -> None:  # type: ignore[no-untyped-def]
    assert catalog.products["sku"].is_unique
    assert catalog.products["uuid"].is_unique
    assert catalog.products["uuid"].str.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                              r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$").all()


def test_category_paths_are_materialized_from_parents(catalog) -> None:  # type: ignore[no-untyped-def]
    cats = catalog.categories.set_index("id")
    for _, row in cats.iterrows():
        if pd.isna(row["parent_id"]):
            assert row["level"] == 1 and row["path"] == row["name"]
        else:
            parent = cats.loc[int(row["parent_id"])]
            assert row["path"] == f"{parent['path']}/{row['name']}"
            assert row["level"] == parent["level"] + 1
    assert sorted(catalog.leaf_paths()) == sorted(TAXONOMY)


def test_products_point_at_leaf_categories_and_known_brands(catalog) -> None:  # type: ignore[no-untyped-def]
    leaves = catalog.categories[catalog.categories["path"].isin(TAXONOMY)]["id"]
    assert catalog.products["category_id"].isin(leaves).all()
    assert catalog.products["brand_id"].isin(catalog.brands["id"]).all()
    p = catalog.products
    assert (p["base_price"] > 0).all()
    avail = p["inventory_available"]
    assert ((avail >= 0) & (avail <= p["inventory_total"])).all()


def test_titles_and_descriptions_mention_the_brand(catalog) -> None:  # type: ignore[no-untyped-def]
    brands = catalog.brands.set_index("id")["name"]
    p = catalog.products.head(50)
    for _, row in p.iterrows():
        assert brands[row["brand_id"]] in row["title"]
        assert row["title"] in row["description"]


def test_laptops_carry_the_design_attributes(catalog) -> None:  # type: ignore[no-untyped-def]
    cats = catalog.categories.set_index("path")["id"]
    laptop_ids = catalog.products.loc[
        catalog.products["category_id"] == cats["Electronics/Computers/Laptops"], "id"]
    names = set(catalog.attributes.loc[
        catalog.attributes["product_id"].isin(laptop_ids), "name"].astype(str))
    assert names == {"processor", "memory", "storage", "display", "color"}


def test_zipf_popularity_sums_to_one_and_decreases() -> None:
    p = zipf_popularity(100, 1.2)
    assert p.sum() == pytest.approx(1.0)
    assert (np.diff(p) < 0).all()
    assert zipf_popularity(10, 0.0) == pytest.approx(np.full(10, 0.1))


def test_zipf_keys_follow_the_popularity_law() -> None:
    n, alpha, size = 20, 0.9, 200_000
    keys = zipf_keys(n, alpha, size, seed=3)
    observed = np.bincount(keys, minlength=n)
    expected = zipf_popularity(n, alpha) * size
    # chi-square goodness of fit: a correct sampler fails this 0.1% of the time
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_orders_reference_real_products_and_add_up(catalog) -> None:  # type: ignore[no-untyped-def]
    o = generate_orders(catalog, 500, seed=2, alpha=1.0)
    assert o.items["product_id"].isin(catalog.products["id"]).all()
    totals = (o.items["quantity"] * o.items["unit_price"]).groupby(o.items["order_id"]).sum()
    assert np.allclose(o.orders.set_index("id")["total"], totals.round(2))


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", 10**9])
def test_bad_product_counts_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="products"):
        generate_catalog(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_written_catalog_reads_back_identically(tmp_path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    c = generate_catalog(120, seed=9)
    write_catalog(c, tmp_path / "cat", fmt)
    back = load_catalog(tmp_path / "cat")
    assert back.seed == 9
    pd.testing.assert_frame_equal(back.products.reset_index(drop=True), c.products,
                                  check_dtype=False)
    assert not list((tmp_path / "cat").glob(".*partial"))


def test_unknown_format_is_refused_before_writing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="unknown format 'csv'"):
        write_catalog(generate_catalog(5), tmp_path / "x", "csv")
    assert not (tmp_path / "x").exists()


def test_the_committed_sample_is_the_seeded_generator_output() -> None:
    sample = load_sample_catalog()
    fresh = generate_catalog(200, seed=42)
    assert sample.seed == 42 and len(sample) == 200
    assert list(sample.products["sku"]) == list(fresh.products["sku"])
    assert list(sample.products["title"]) == list(fresh.products["title"])
    assert list(sample.products["uuid"]) == list(fresh.products["uuid"])
