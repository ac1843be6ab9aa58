"""Catalog topic, no stores: record checks, filter checks, document shape, query text, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ecomlab import cli
from ecomlab.catalog.checks import product_filter, validate_catalog
from ecomlab.catalog.documents import build_documents, prefix_query
from ecomlab.catalog.relational import categories, category_prefix_clause
from ecomlab.catalog.schemas import relational_ddl, sample_document
from ecomlab.catalog.views import attributes_of, cents
from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(120, seed=7)


def _copy(c: Catalog) -> Catalog:
    return Catalog(c.categories.copy(), c.brands.copy(), c.products.copy(),
                   c.attributes.copy(), c.seed)


def test_a_generated_catalog_passes_the_record_checks(catalog: Catalog) -> None:
    validate_catalog(catalog)


def _missing_sku(c: Catalog) -> None:
    c.products["sku"] = c.products["sku"].astype(object)
    c.products.loc[3, "sku"] = None


def _blank_sku(c: Catalog) -> None:
    c.products.loc[3, "sku"] = "  "


def _duplicate_sku(c: Catalog) -> None:
    c.products.loc[3, "sku"] = c.products.loc[5, "sku"]


def _negative_price(c: Catalog) -> None:
    c.products.loc[3, "base_price"] = -5.0


def _nan_price(c: Catalog) -> None:
    c.products.loc[3, "base_price"] = np.nan


def _unknown_category(c: Catalog) -> None:
    c.products.loc[3, "category_id"] = 9999


def _unknown_brand(c: Catalog) -> None:
    c.products.loc[3, "brand_id"] = 9999


@pytest.mark.parametrize(("spoil", "words"), [
    (_missing_sku, "sku is missing"),
    (_blank_sku, "sku is missing"),
    (_duplicate_sku, "sku is duplicated"),
    (_negative_price, "base_price"),
    (_nan_price, "base_price"),
    (_unknown_category, "category_id is not a known category"),
    (_unknown_brand, "brand_id is not a known brand"),
])
def test_a_malformed_record_is_refused_with_its_id_named(catalog: Catalog, spoil, words) -> None:
    bad = _copy(catalog)
    spoil(bad)
    with pytest.raises(InvalidInput) as err:
        validate_catalog(bad)
    message = str(err.value)
    assert words in message
    assert "id=4" in message  # the record at position 3 has id 4
    assert "nothing was loaded" in message


@pytest.mark.parametrize("bad", [{"$ne": None}, {"$regex": ".*"}, ["Electronics"], b"Home", 42])
def test_operator_objects_and_non_strings_are_refused_as_categories(bad: object) -> None:
    with pytest.raises(InvalidInput, match="must be a plain string"):
        product_filter(bad)


@pytest.mark.parametrize(("lo", "hi"), [(-1, None), (None, float("nan")), (10, 5),
                                        ("5", None), ({"$gt": 0}, None)])
def test_bad_price_bounds_are_refused(lo: object, hi: object) -> None:
    with pytest.raises(InvalidInput):
        product_filter("Home", lo, hi)


def test_the_document_prefix_query_matches_segments_literally() -> None:
    assert prefix_query("Electronics/%") == {"category.path.0": "Electronics",
                                             "category.path.1": "%"}
    assert prefix_query('{"$ne": null}') == {"category.path.0": '{"$ne": null}'}


def test_the_sql_category_filter_sends_user_text_only_as_bound_parameters() -> None:
    evil = "Electronics'; DROP TABLE products;--"
    stmt = sa.select(categories.c.id).where(category_prefix_clause(categories.c.path, evil))
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        compiled = stmt.compile(dialect=dialect)
        assert "DROP" not in str(compiled)
        assert "LIKE" not in str(compiled).upper()
        assert evil in compiled.params.values()
        assert evil + "/" in compiled.params.values()


def test_each_document_embeds_brand_category_pricing_and_inventory(catalog: Catalog) -> None:
    docs = build_documents(catalog)
    assert len(docs) == len(catalog)
    first, row = docs[0], catalog.products.iloc[0]
    assert set(first) >= {"_id", "uuid", "sku", "brand", "category", "attributes", "pricing",
                          "inventory"}
    assert set(first["brand"]) == {"id", "name", "logo_url"}
    assert set(first["category"]) == {"id", "name", "path", "level"}
    assert first["category"]["level"] == len(first["category"]["path"])
    assert first["pricing"] == {"base_price": cents(row["base_price"]), "currency": "USD",
                                "discount_percentage": 0.0}
    attrs = catalog.attributes[catalog.attributes["product_id"] == row["id"]]
    assert first["attributes"] == dict(zip(attrs["name"].astype(str), attrs["value"].astype(str),
                                           strict=True))
    assert json.loads(sample_document(catalog))["sku"] == first["sku"]


def test_attribute_aggregates_of_every_dialect_normalize_alike() -> None:
    expected = (("color", "Black"), ("memory", "16GB"))
    assert attributes_of({"memory": "16GB", "color": "Black"}) == expected       # jsonb
    assert attributes_of('{"memory":"16GB","color":"Black"}') == expected        # json text
    assert attributes_of([["memory", "16GB"], ["color", "Black"]]) == expected  # duckdb list
    assert attributes_of(None) == ()


@pytest.mark.parametrize("backend", ["duckdb", "sqlite", "postgres"])
def test_the_relational_ddl_renders_for_each_backend(backend: str) -> None:
    ddl = relational_ddl(backend)
    for table in ("categories", "brands", "products", "inventory", "product_attributes"):
        assert f"CREATE TABLE {table}" in ddl


@pytest.mark.parametrize("argv", [
    ["run", "catalog", "--products", "-5"],
    ["run", "catalog", "--products", "ten"],
    ["run", "catalog", "--min-price", "nan"],
    ["run", "catalog", "--min-price", "10", "--max-price", "5"],
    ["run", "catalog", "--category", ""],
    ["run", "catalog", "--sql", "oracle"],
])
def test_bad_command_line_values_exit_2_with_one_line(argv: list[str], capsys) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err
    assert "Traceback" not in err
