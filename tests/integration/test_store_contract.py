"""One contract, every backend: what the topics rely on from each kind of store."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from ecomlab.stores import DocumentStore, KvStore, SqlStore


def _make_stock_table(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE stock (id INTEGER PRIMARY KEY, available INTEGER)"))
        conn.execute(sa.text("INSERT INTO stock VALUES (1, 10), (2, 5)"))


def test_sql_committed_rows_are_seen_by_another_thread(any_sql: SqlStore) -> None:
    _make_stock_table(any_sql)
    seen: list[int] = []

    def read() -> None:
        with any_sql.engine.connect() as conn:
            seen.append(conn.execute(sa.text("SELECT SUM(available) FROM stock")).scalar_one())

    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert seen == [15]


def test_sql_rollback_leaves_no_trace(any_sql: SqlStore) -> None:
    _make_stock_table(any_sql)
    with pytest.raises(RuntimeError), any_sql.engine.begin() as conn:
        conn.execute(sa.text("UPDATE stock SET available = 0"))
        conn.execute(sa.text("INSERT INTO stock VALUES (3, 1)"))
        raise RuntimeError("fail mid-transaction")
    with any_sql.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, available FROM stock ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, 10), (2, 5)]


def test_sql_stores_are_isolated_from_each_other(any_sql: SqlStore) -> None:
    from tests.conftest import make_sql_store

    _make_stock_table(any_sql)
    backend_id = "postgres-real" if (any_sql.backend == "postgres" and not any_sql.embedded) \
        else any_sql.backend
    other = make_sql_store(backend_id)
    try:
        with other.engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
        assert "stock" not in names
    finally:
        other.dispose()


def test_sql_conditional_update_reports_rowcount(any_sql: SqlStore) -> None:
    _make_stock_table(any_sql)
    with any_sql.engine.begin() as conn:
        # read rowcount at once: duckdb-engine forgets it when the transaction ends
        ok = conn.execute(sa.text(
            "UPDATE stock SET available = available - 3 WHERE id = 2 AND available >= 3")).rowcount
        short = conn.execute(sa.text(
            "UPDATE stock SET available = available - 9 WHERE id = 2 AND available >= 9")).rowcount
    assert (ok, short) == (1, 0)


def test_sql_row_lock_support_is_stated_honestly(any_sql: SqlStore) -> None:
    assert any_sql.supports_row_locks is (any_sql.backend == "postgres")
    assert any_sql.describe()["row_locks"] is any_sql.supports_row_locks


def test_postgres_for_update_really_blocks_a_second_locker(any_sql: SqlStore) -> None:
    if not any_sql.supports_row_locks:
        pytest.skip(f"{any_sql.backend} has no row locks (stated by supports_row_locks)")
    _make_stock_table(any_sql)
    with any_sql.engine.connect() as a, any_sql.engine.connect() as b:
        a.begin()
        a.execute(sa.text("SELECT available FROM stock WHERE id = 1 FOR UPDATE"))
        b.begin()
        b.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(sa.exc.OperationalError, match="lock"):
            b.execute(sa.text("SELECT available FROM stock WHERE id = 1 FOR UPDATE"))
        b.rollback()
        a.rollback()


def test_sqlite_compiles_for_update_away_so_it_cannot_lock() -> None:
    from sqlalchemy.dialects import sqlite

    stock = sa.table("stock", sa.column("id"))
    stmt = sa.select(stock).where(stock.c.id == 1).with_for_update()
    assert "FOR UPDATE" not in str(stmt.compile(dialect=sqlite.dialect()))


def test_sql_dispose_removes_embedded_files(any_sql: SqlStore) -> None:
    _make_stock_table(any_sql)
    if any_sql.embedded and any_sql.backend in ("duckdb", "sqlite"):
        folder = Path(any_sql._tmpdir or "")
        assert folder.exists()
        any_sql.dispose()
        assert not folder.exists()


def test_kv_counters_scripts_and_ttls(any_kv: KvStore) -> None:
    r = any_kv.client
    key = f"ecomlab:test:{uuid.uuid4().hex}"
    try:
        r.set(key, 10)
        assert r.decrby(key, 3) == 7
        script = ("local v = tonumber(redis.call('GET', KEYS[1]))"
                  " if v >= tonumber(ARGV[1]) then return redis.call('DECRBY', KEYS[1], ARGV[1])"
                  " else return -1 end")
        assert r.eval(script, 1, key, 5) == 2
        assert r.eval(script, 1, key, 5) == -1
        r.expire(key, 60)
        assert 0 < r.ttl(key) <= 60
    finally:
        r.delete(key)


def test_real_redis_clients_share_one_server() -> None:
    from ecomlab.stores import kv_store
    from tests.conftest import real_url

    url = real_url("ECOMLAB_REDIS_URL")
    a, b = kv_store(url), kv_store(url)
    key = f"ecomlab:test:{uuid.uuid4().hex}"
    try:
        a.client.set(key, "x")
        assert b.client.get(key) == "x"
    finally:
        a.client.delete(key)
        a.dispose()
        b.dispose()


def test_embedded_kv_clients_share_the_process_wide_fake_server() -> None:
    from ecomlab.config import Settings
    from ecomlab.stores import kv_store

    a, b = kv_store(settings=Settings()), kv_store(settings=Settings())
    key = f"ecomlab:test:{uuid.uuid4().hex}"
    a.client.set(key, "shared")
    assert b.client.get(key) == "shared"
    a.client.delete(key)


def test_kv_transactions_are_atomic(any_kv: KvStore) -> None:
    key = f"ecomlab:test:{uuid.uuid4().hex}"
    try:
        with any_kv.client.pipeline(transaction=True) as pipe:
            pipe.set(key, 5).decrby(key, 2).incrby(key, 10)
            assert pipe.execute()[-1] == 13
    finally:
        any_kv.client.delete(key)


def test_documents_insert_query_update_and_index(any_documents: DocumentStore) -> None:
    col = any_documents.db["products"]
    col.create_index("sku", unique=True)
    col.insert_many([
        {"sku": "LAP-1", "brand": {"name": "Northwind"}, "price": 999.0, "stock": 3},
        {"sku": "LAP-2", "brand": {"name": "Northwind"}, "price": 1299.0, "stock": 0},
        {"sku": "PHO-1", "brand": {"name": "Voltara"}, "price": 799.0, "stock": 7},
    ])
    found = list(col.find({"price": {"$gte": 800}, "stock": {"$gt": 0}}, {"_id": 0, "sku": 1}))
    assert found == [{"sku": "LAP-1"}]
    res = col.update_many({"brand.name": "Northwind"}, {"$set": {"brand.name": "Northwind Co"}})
    assert res.modified_count == 2
    counts = {d["_id"]: d["n"] for d in col.aggregate(
        [{"$group": {"_id": "$brand.name", "n": {"$sum": 1}}}])}
    assert counts == {"Northwind Co": 2, "Voltara": 1}


def test_documents_unique_index_rejects_duplicates(any_documents: DocumentStore) -> None:
    import pymongo.errors

    col = any_documents.db["products"]
    col.create_index("sku", unique=True)
    col.insert_one({"sku": "DUP"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        col.insert_one({"sku": "DUP"})
    assert col.count_documents({}) == 1


def test_documents_dispose_drops_the_database(any_documents: DocumentStore) -> None:
    any_documents.db["x"].insert_one({"a": 1})
    name = any_documents.db.name
    client = any_documents._client
    any_documents.dispose()
    assert name not in client.list_database_names()
