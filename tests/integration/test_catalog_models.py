"""Catalog topic on every SQL backend (DuckDB, SQLite, embedded and real PostgreSQL) and
mongomock: identical answers, refused records, inert filters, write costs, mixed reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.catalog.checks import product_filter
from ecomlab.catalog.compare import Questions, answer, compare_answers
from ecomlab.catalog.documents import (
    COLLECTION,
    doc_count,
    doc_listing,
    doc_storage_bytes,
    load_documents,
)
from ecomlab.catalog.experiment import integrity_probe
from ecomlab.catalog.hierarchy import hierarchy_costs, skus_under_recursive
from ecomlab.catalog.mixed_reads import rename_with_readers
from ecomlab.catalog.relational import (
    load_relational,
    sql_listing,
    sql_row_counts,
    sql_storage_bytes,
)
from ecomlab.catalog.writes import (
    add_attribute_kind_docs,
    add_attribute_kind_sql,
    move_category_docs,
    move_category_sql,
    rename_brand_docs,
    rename_brand_sql,
)
from ecomlab.config import Settings
from ecomlab.datagen import Catalog, generate_catalog
from ecomlab.errors import InvalidInput
from ecomlab.stores import DocumentStore, SqlStore, document_store

N = 300
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(N, seed=11)


@pytest.fixture
def docs() -> Iterator[DocumentStore]:
    store = document_store(settings=Settings())
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def loaded(any_sql: SqlStore, docs: DocumentStore, catalog: Catalog
           ) -> tuple[SqlStore, DocumentStore]:
    load_relational(any_sql, catalog)
    load_documents(docs, catalog)
    return any_sql, docs


def _expected_skus(catalog: Catalog, prefix: str, lo: float | None, hi: float | None
                   ) -> list[str]:
    """Ground truth from the DataFrames (pandas, no store)."""
    p = catalog.products.merge(catalog.categories[["id", "path"]], left_on="category_id",
                               right_on="id", suffixes=("", "_cat"))
    keep = (p["path"] == prefix) | p["path"].str.startswith(prefix + "/")
    if lo is not None:
        keep &= p["base_price"].round(2) >= lo
    if hi is not None:
        keep &= p["base_price"].round(2) <= hi
    return list(p[keep].sort_values(["base_price", "id"])["sku"])


def test_both_models_answer_the_four_questions_identically(loaded, catalog: Catalog) -> None:
    sql, docs = loaded
    flt = product_filter("Electronics/Computers", 100.0, 1500.0)
    q = Questions.from_filter(flt, str(catalog.products["sku"].iloc[17]))
    a, b = answer(sql, q), answer(docs, q)
    assert compare_answers(a, b) == dict.fromkeys(("listing", "in_stock", "product_page",
                                                   "brand_facets"), True)
    assert [v.sku for v in a["listing"]] == _expected_skus(catalog, "Electronics/Computers",
                                                           100.0, 1500.0)
    assert a["product_page"] is not None and a["product_page"].view.sku == q.sku
    assert sum(a["brand_facets"].values()) == len(_expected_skus(catalog,
                                                                 "Electronics/Computers",
                                                                 None, None))
    assert all(v.available > 0 for v in a["in_stock"])


@SETTINGS
@given(data=st.data())
def test_random_filters_give_identical_listings_in_both_models(loaded, catalog: Catalog,
                                                                data: st.DataObject) -> None:
    sql, docs = loaded
    paths = sorted(set(catalog.categories["path"]))
    prefix = data.draw(st.sampled_from(paths))
    lo = data.draw(st.one_of(st.none(), st.integers(0, 800).map(float)))
    hi = data.draw(st.one_of(st.none(), st.integers(800, 3000).map(float)))
    flt = product_filter(prefix, lo, hi)
    got = sql_listing(sql, flt)
    assert got == doc_listing(docs, flt)
    assert [v.sku for v in got] == _expected_skus(catalog, prefix, lo, hi)


INJECTIONS = ("Electronics'; DROP TABLE products;--", "%", "Electronics/%", "_lectronics",
              "Electronics%", '{"$ne": null}', "Electronics/Computers' OR '1'='1", "Electronics\\",
              "/")


def test_injection_strings_in_filters_match_nothing_and_change_nothing(loaded) -> None:
    sql, docs = loaded
    before = sql_row_counts(sql), doc_count(docs)
    for text in INJECTIONS:
        flt = product_filter(text)
        assert sql_listing(sql, flt) == [] == doc_listing(docs, flt), text
    assert (sql_row_counts(sql), doc_count(docs)) == before


def test_operator_objects_never_reach_either_store(loaded) -> None:
    sql, docs = loaded
    for bad in ({"$ne": None}, {"$gt": ""}, ["Home"]):
        with pytest.raises(InvalidInput):
            sql_listing(sql, product_filter(bad))
        with pytest.raises(InvalidInput):
            doc_listing(docs, product_filter(bad))


def _spoiled(catalog: Catalog, kind: str) -> Catalog:
    c = Catalog(catalog.categories.copy(), catalog.brands.copy(), catalog.products.copy(),
                catalog.attributes.copy(), catalog.seed)
    # shift ids so the spoiled catalog would otherwise load beside the first one
    c.products["id"] += 10_000
    c.products["sku"] = "X" + c.products["sku"]
    c.products["uuid"] = c.products["uuid"].str.replace("-", "+", n=1)
    c.attributes["product_id"] += 10_000
    if kind == "missing sku":
        c.products["sku"] = c.products["sku"].astype(object)
        c.products.loc[N - 1, "sku"] = None
    elif kind == "duplicate sku":
        c.products.loc[N - 1, "sku"] = c.products.loc[0, "sku"]
    elif kind == "negative price":
        c.products.loc[N - 1, "base_price"] = -0.01
    elif kind == "NaN price":
        c.products.loc[N - 1, "base_price"] = float("nan")
    elif kind == "unknown category":
        c.products.loc[N - 1, "category_id"] = 4040
    return c


def test_malformed_records_are_refused_and_leave_both_stores_unchanged(loaded,
                                                                       catalog: Catalog) -> None:
    sql, docs = loaded
    before = sql_row_counts(sql), doc_count(docs)
    for kind in ("missing sku", "duplicate sku", "negative price", "NaN price",
                 "unknown category"):
        bad = _spoiled(catalog, kind)
        named = "id=10001" if kind == "duplicate sku" else f"id={N - 1 + 10_001}"
        with pytest.raises(InvalidInput, match=named):
            load_relational(sql, bad)
        with pytest.raises(InvalidInput, match=named):
            load_documents(docs, bad)
        assert (sql_row_counts(sql), doc_count(docs)) == before, kind


def test_a_record_that_clashes_with_stored_rows_rolls_the_whole_load_back(loaded,
                                                                        catalog: Catalog
                                                                        ) -> None:
    sql, docs = loaded
    before = sql_row_counts(sql), doc_count(docs)
    again = _spoiled(catalog, "none")
    # the last sku clashes with a stored product only; categories and brands are stored already
    again.products.loc[N - 1, "sku"] = catalog.products.loc[0, "sku"]
    with pytest.raises(InvalidInput, match="already stored"):
        load_documents(docs, again, check=False)
    again.categories = again.categories.iloc[0:0]
    again.brands = again.brands.iloc[0:0]
    with pytest.raises(InvalidInput, match="rolled back"):
        load_relational(sql, again, check=False)
    assert (sql_row_counts(sql), doc_count(docs)) == before


def test_sql_refuses_a_product_with_an_unknown_brand_documents_accept_it(loaded) -> None:
    sql, docs = loaded
    before = sql_row_counts(sql), doc_count(docs)
    probe = integrity_probe(sql, docs)
    assert probe["relational_refused"] is True
    assert probe["documents_accepted"] is True
    assert (sql_row_counts(sql), doc_count(docs)) == before


def test_a_brand_rename_writes_one_row_but_every_embedding_document(loaded,
                                                                    catalog: Catalog) -> None:
    sql, docs = loaded
    bid = int(catalog.products["brand_id"].value_counts().index[0])
    embedded = int((catalog.products["brand_id"] == bid).sum())
    assert rename_brand_sql(sql, bid, "Renamed Co").touched == 1
    assert rename_brand_docs(docs, bid, "Renamed Co").touched == embedded > 1
    q = Questions.from_filter(product_filter(None), str(catalog.products["sku"].iloc[0]))
    a = answer(sql, q)
    assert compare_answers(a, answer(docs, q))["listing"]
    assert a["brand_facets"]["Renamed Co"] == embedded


def test_a_category_move_rewrites_paths_and_both_models_still_agree(loaded,
                                                                    catalog: Catalog) -> None:
    sql, docs = loaded
    under = len(_expected_skus(catalog, "Electronics/Audio", None, None))
    assert move_category_sql(sql, "Electronics/Audio", "Home").touched == 3  # Audio + 2 leaves
    assert move_category_docs(docs, "Electronics/Audio", "Home").touched == under
    moved = product_filter("Home/Audio")
    assert len(sql_listing(sql, moved)) == under
    assert sql_listing(sql, moved) == doc_listing(docs, moved)
    assert sql_listing(sql, product_filter("Electronics/Audio")) == []
    assert len(skus_under_recursive(sql, "Home/Audio")) == under
    with pytest.raises(InvalidInput, match="own subtree"):
        move_category_sql(sql, "Home", "Home/Audio")


def test_a_new_attribute_kind_needs_ddl_only_as_a_typed_column(loaded,
                                                               catalog: Catalog) -> None:
    sql, docs = loaded
    under = len(_expected_skus(catalog, "Electronics", None, None))
    eav, typed = add_attribute_kind_sql(sql, "warranty_years", "2", "Electronics")
    assert (eav.touched, eav.schema_change) == (under, False)
    assert typed.schema_change is True
    assert typed.touched == under, typed.note
    dset = add_attribute_kind_docs(docs, "warranty_years", "2", "Electronics")
    assert (dset.touched, dset.schema_change) == (under, False)
    flt = product_filter("Electronics")
    listed = sql_listing(sql, flt)
    assert listed == doc_listing(docs, flt)
    assert all(("warranty_years", "2") in v.attributes for v in listed)
    with pytest.raises(InvalidInput, match="identifier"):
        add_attribute_kind_sql(sql, "x; DROP TABLE products", "1", "Home")


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(readers=st.integers(2, 6), rounds=st.integers(1, 3))
def test_sql_readers_never_see_two_brand_names_during_renames(loaded, catalog: Catalog,
                                                              readers: int, rounds: int) -> None:
    sql, _ = loaded
    bid = int(catalog.products["brand_id"].value_counts().index[1])
    result = rename_with_readers("relational", sql, bid, f"Brand {readers}-{rounds}",
                                 readers=readers, rounds=rounds, think_ms=0.2, probe=True)
    assert result.mixed_reads == 0
    assert result.probe_reads == rounds  # one read sent in before each commit, one name seen
    assert result.probe_mixed == 0
    assert result.reads_total >= 2 * readers
    assert result.touched == 1
    if rounds % 2 == 0:  # renamed back: the next example starts from the same name
        return
    rename_brand_sql(sql, bid, str(catalog.brands.set_index("id").loc[bid, "name"]))


def test_hierarchy_by_path_and_by_recursive_cte_agree(loaded, catalog: Catalog) -> None:
    sql, _ = loaded
    for prefix in ("Electronics", "Home/Kitchen", "Books/Fiction/Mystery", "Nope"):
        costs = hierarchy_costs(sql, prefix, repeats=2)
        assert costs[0].products == costs[1].products == len(
            _expected_skus(catalog, prefix, None, None))


def test_storage_is_measured_in_both_models(loaded) -> None:
    sql, docs = loaded
    assert sql_storage_bytes(sql) > 0
    sizes = doc_storage_bytes(docs)
    assert sizes["data_bytes"] > 300 * N  # every document is several hundred bytes


def test_document_readers_see_a_half_renamed_brand_between_two_writes() -> None:
    """The document rename is one write per document: a reader sent in between two writes
    (the rename's hook point) sees both names, in every round, whatever the thread timing."""
    catalog = generate_catalog(1500, seed=3)
    bid = int(catalog.products["brand_id"].value_counts().index[0])
    with document_store(settings=Settings()) as docs:
        load_documents(docs, catalog)
        result = rename_with_readers("documents", docs, bid, "Half Renamed", readers=4,
                                     rounds=5, probe=True)
        names = {d["brand"]["name"] for d in docs.db[COLLECTION].find({"brand.id": bid})}
    assert names == {"Half Renamed"}  # an odd number of rounds ends renamed, everywhere
    assert result.probe_reads == 5
    assert result.probe_mixed == 5, result
    assert result.mixed_reads >= 5
    assert result.reads >= 5  # the probes overlap their renames by construction
    assert result.mixed_window_ms > 0


def test_document_rename_with_a_hook_renames_every_document_once() -> None:
    catalog = generate_catalog(300, seed=5)
    bid = int(catalog.products["brand_id"].value_counts().index[0])
    expected = int((catalog.products["brand_id"] == bid).sum())
    seen: list[set[str]] = []
    with document_store(settings=Settings()) as docs:
        load_documents(docs, catalog)
        coll = docs.db[COLLECTION]

        def look() -> None:
            seen.append({d["brand"]["name"] for d in coll.find({"brand.id": bid})})

        cost = rename_brand_docs(docs, bid, "Hooked", midway=look)
        after = {d["brand"]["name"] for d in coll.find({"brand.id": bid})}
        with pytest.raises(InvalidInput, match="no document embeds brand id 999999"):
            rename_brand_docs(docs, 999999, "Nobody", midway=look)
    assert cost.touched == expected
    assert len(seen) == 1 and "Hooked" in seen[0] and len(seen[0]) == 2
    assert after == {"Hooked"}


def test_threads_share_one_loaded_store_safely(loaded) -> None:
    sql, docs = loaded
    flt = product_filter("Home")
    expected = sql_listing(sql, flt)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                assert sql_listing(sql, flt) == expected == doc_listing(docs, flt)
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(expected) > 0  # the threads compared a non-empty listing, not two empty ones
