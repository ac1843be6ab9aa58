"""What writes cost in each model, and what readers see while a denormalized copy is rewritten.

* Brand rename: one row in ``brands`` vs every document that embeds the brand.
* Category move (a subtree changes parent): the materialized ``path`` of every category in the
  subtree is rewritten vs every product document under it.
* New attribute kind: an EAV insert (no DDL), or a typed column (``ALTER TABLE`` + backfill), vs
  a ``$set`` on the documents (no schema at all).
* Mixed reads: while a rename runs across documents (``update_many`` writes one document at a
  time, with no isolation across documents on mongomock or MongoDB without a transaction),
  concurrent readers of that brand's products see old and new names in the same answer. The SQL
  rename is one row in one transaction, so a reader sees one name or the other, never both.

All timings are wall-clock (label ``measured``), in milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from ecomlab import validate
from ecomlab.catalog.checks import text_value
from ecomlab.catalog.documents import COLLECTION, _fetch, prefix_query
from ecomlab.catalog.relational import (
    brands,
    categories,
    category_prefix_clause,
    product_attributes,
    products,
)
from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.measure import timed
from ecomlab.stores import DocumentStore, SqlStore

__all__ = [
    "MixedReads",
    "WriteCost",
    "add_attribute_kind_docs",
    "add_attribute_kind_sql",
    "move_category_docs",
    "move_category_sql",
    "rename_brand_docs",
    "rename_brand_sql",
    "rename_with_readers",
]

Model = Literal["relational", "documents"]


@dataclass(frozen=True)
class WriteCost:
    """One write and what it cost.

    Attributes:
        model: ``relational`` or ``documents``.
        operation: what was done (``rename brand``...).
        touched: rows or documents written (units).
        ms: wall-clock time (ms), measured.
        schema_change: True when DDL ran.
        note: how it was done.
    """

    model: str
    operation: str
    touched: int
    ms: float
    schema_change: bool = False
    note: str = ""


# ------------------------------------------------------------------------------ brand rename

def rename_brand_sql(store: SqlStore, brand_id: int, new_name: str, *,
                     midway: Callable[[], None] | None = None) -> WriteCost:
    """Rename a brand: one ``UPDATE brands`` in one transaction.

    ``midway``, when given, is called inside the transaction after the update and before the
    commit: the hook point where a reader can be sent in while the rename is in progress.
    """
    bid = validate.integer("brand_id", brand_id, minimum=1)
    name = text_value("new_name", new_name)
    with timed() as sw, store.engine.begin() as conn:
        res = conn.execute(sa.update(brands).where(brands.c.id == bid).values(name=name))
        touched = int(res.rowcount)  # read at once: DuckDB forgets it after the commit
        if touched == 0:
            raise InvalidInput(f"no brand with id {bid!r}; nothing was renamed")
        if midway is not None:
            midway()
    return WriteCost("relational", "rename brand", touched, sw.elapsed_ms,
                     note="UPDATE brands SET name = ... WHERE id = ... (1 transaction)")


def rename_brand_docs(store: DocumentStore, brand_id: int, new_name: str, *,
                      midway: Callable[[], None] | None = None) -> WriteCost:
    """Rename a brand in every product document that embeds it (``update_many``).

    ``update_many`` writes one document at a time with no isolation across documents.
    ``midway``, when given, is the hook point between two of those writes: the documents are
    renamed in two ``update_many`` calls (the first half of their ids, then the rest) and
    ``midway`` is called between them, so a reader can be sent in at that moment.
    """
    bid = validate.integer("brand_id", brand_id, minimum=1)
    name = text_value("new_name", new_name)
    coll = store.db[COLLECTION]
    update = {"$set": {"brand.name": name}}
    with timed() as sw:
        if midway is None:
            res = coll.update_many({"brand.id": bid}, update)
            matched, modified = int(res.matched_count), int(res.modified_count)
        else:
            ids = sorted(d["_id"] for d in _fetch(coll.find({"brand.id": bid}, {"_id": 1})))
            if not ids:
                raise InvalidInput(f"no document embeds brand id {bid!r}; nothing was renamed")
            half = max(1, len(ids) // 2)
            matched = modified = 0
            for i, part in enumerate((ids[:half], ids[half:])):
                if i == 1:
                    midway()
                if part:
                    res = coll.update_many({"_id": {"$in": part}}, update)
                    matched += int(res.matched_count)
                    modified += int(res.modified_count)
    if matched == 0:
        raise InvalidInput(f"no document embeds brand id {bid!r}; nothing was renamed")
    return WriteCost("documents", "rename brand", modified, sw.elapsed_ms,
                     note="update_many({brand.id}, $set brand.name): one write per document")


# ----------------------------------------------------------------------------- category move

def _category_row(conn: sa.Connection, path: str) -> Any:
    row = conn.execute(sa.select(categories).where(
        categories.c.path == sa.bindparam(None, path, type_=sa.String))).first()
    if row is None:
        raise InvalidInput(f"unknown category path {path!r}")
    return row


def move_category_sql(store: SqlStore, path: str, new_parent: str) -> WriteCost:
    """Move the category at ``path`` (and its subtree) under ``new_parent``, in one transaction.

    With a materialized path every category of the subtree gets a new ``path`` and ``level``;
    product rows keep their ``category_id`` and are not touched.
    """
    path = text_value("path", path)
    new_parent = text_value("new_parent", new_parent)
    if new_parent == path or new_parent.startswith(path + "/"):
        raise InvalidInput(f"cannot move {path!r} under its own subtree {new_parent!r}")
    with timed() as sw, store.engine.begin() as conn:
        cat = _category_row(conn, path)
        parent = _category_row(conn, new_parent)
        new_path = f"{parent.path}/{cat.name}"
        clash = conn.execute(sa.select(sa.func.count()).select_from(categories).where(
            categories.c.path == sa.bindparam(None, new_path, type_=sa.String))).scalar_one()
        if clash:
            raise InvalidInput(f"{new_parent!r} already has a category named {cat.name!r}")
        delta = int(parent.level) + 1 - int(cat.level)
        conn.execute(sa.update(categories).where(categories.c.id == cat.id)
                     .values(parent_id=parent.id))
        res = conn.execute(
            sa.update(categories)
            .where(category_prefix_clause(categories.c.path, path))
            .values(path=sa.bindparam("np", new_path, type_=sa.String)
                    + sa.func.substr(categories.c.path, len(path) + 1),
                    level=categories.c.level + delta))
        touched = int(res.rowcount)
    return WriteCost("relational", "move category", touched, sw.elapsed_ms,
                     note="materialized path: rewrite path and level of the subtree's categories")


def move_category_docs(store: DocumentStore, path: str, new_parent: str) -> WriteCost:
    """Move a category subtree in the documents: rewrite ``category.path`` in every product
    document under ``path`` (one ``update_many`` per leaf category)."""
    path = text_value("path", path)
    new_parent = text_value("new_parent", new_parent)
    if new_parent == path or new_parent.startswith(path + "/"):
        raise InvalidInput(f"cannot move {path!r} under its own subtree {new_parent!r}")
    coll = store.db[COLLECTION]
    old = path.split("/")
    parent = new_parent.split("/")
    if coll.find_one(prefix_query(new_parent), {"_id": 1}) is None:
        raise InvalidInput(f"unknown category path {new_parent!r} (no product under it)")
    touched = 0
    with timed() as sw:
        leaves = sorted({int(cid) for cid in coll.distinct("category.id", prefix_query(path))})
        if not leaves:
            raise InvalidInput(f"unknown category path {path!r} (no product under it)")
        for cid in leaves:
            doc = coll.find_one({"category.id": cid}, {"category.path": 1})
            assert doc is not None
            new_path = [*parent, old[-1], *list(doc["category"]["path"][len(old):])]
            res = coll.update_many({"category.id": cid}, {"$set": {
                "category.path": new_path, "category.level": len(new_path)}})
            touched += int(res.modified_count)
    return WriteCost("documents", "move category", touched, sw.elapsed_ms,
                     note="rewrite category.path and level in every product document below")


# -------------------------------------------------------------------------- new attribute kind

def add_attribute_kind_sql(store: SqlStore, name: str, value: str, category: str
                           ) -> list[WriteCost]:
    """Give every product under ``category`` a new attribute, two relational ways.

    1. EAV: insert one ``product_attributes`` row per product (no DDL; the value is untyped).
    2. Typed column: ``ALTER TABLE products ADD COLUMN`` then a backfill ``UPDATE``. If the
       engine refuses the DDL (DuckDB refuses ALTER on a table other objects depend on), the
       refusal is reported as the cost, with 0 rows.
    """
    name = text_value("name", name)
    value = text_value("value", value)
    category = text_value("category", category)
    if not name.isidentifier() or not name.islower():
        raise InvalidInput(f"attribute kind {name!r} must be a lower-case identifier "
                           "(letters, digits, _)")
    ids_under = (sa.select(products.c.id).join(categories, products.c.category_id
                                                == categories.c.id)
                 .where(category_prefix_clause(categories.c.path, category)))
    out: list[WriteCost] = []
    with timed() as sw, store.engine.begin() as conn:
        touched = int(conn.execute(sa.select(sa.func.count()).select_from(
            ids_under.subquery())).scalar_one())
        sel = ids_under.add_columns(sa.literal(name, sa.String).label("name"),
                                    sa.literal(value, sa.String).label("value"))
        conn.execute(sa.insert(product_attributes).from_select(
            ["product_id", "name", "value"], sel))
    out.append(WriteCost("relational", "add attribute kind (EAV rows)", touched, sw.elapsed_ms,
                         False, "INSERT INTO product_attributes SELECT ... (no DDL)"))
    column = f"attr_{name}"
    try:
        with timed() as sw, store.engine.begin() as conn:
            conn.execute(sa.text(f'ALTER TABLE products ADD COLUMN "{column}" VARCHAR(200)'))
            ddl_ms = sw.elapsed_ms
            widened = sa.table("products", sa.column("id"), sa.column(column))
            res = conn.execute(sa.update(widened)
                               .where(widened.c.id.in_(ids_under.scalar_subquery()))
                               .values({column: sa.bindparam(None, value, type_=sa.String)}))
            touched = int(res.rowcount)
        out.append(WriteCost("relational", "add attribute kind (typed column)", touched,
                             sw.elapsed_ms, True,
                             f"ALTER TABLE ADD COLUMN took {ddl_ms:.1f} ms, then UPDATE backfill"))
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        out.append(WriteCost("relational", "add attribute kind (typed column)", 0,
                             sw.elapsed_ms, True, f"refused by {store.backend}: {reason}"))
    return out


def add_attribute_kind_docs(store: DocumentStore, name: str, value: str, category: str
                            ) -> WriteCost:
    """Give every product document under ``category`` a new attribute (``$set``, no schema)."""
    name = text_value("name", name)
    value = text_value("value", value)
    if not name.isidentifier() or not name.islower():
        raise InvalidInput(f"attribute kind {name!r} must be a lower-case identifier "
                           "(letters, digits, _)")
    with timed() as sw:
        res = store.db[COLLECTION].update_many(prefix_query(category),
                                               {"$set": {f"attributes.{name}": value}})
    return WriteCost("documents", "add attribute kind", int(res.modified_count), sw.elapsed_ms,
                     False, "update_many($set attributes.<kind>): no schema to change")


# --------------------------------------------------------------------- mixed reads in a rename

@dataclass(frozen=True)
class MixedReads:
    """What concurrent readers saw while a brand was renamed ``rounds`` times.

    Attributes:
        model: ``relational`` or ``documents``.
        readers: reader threads.
        rounds: renames done (old -> new, new -> old, ... ; an odd count ends renamed).
        reads: reads that overlapped a rename (started before it ended, ended after it began).
        mixed_reads: answers holding both names (any read, overlapping or not).
        mixed_window_ms: mean over rounds of the span from the start of a round's first mixed
            read to the end of its last (ms); 0 when no read was mixed.
        rename_ms: mean duration of one rename (ms).
        touched: rows or documents one rename writes.
        reads_total: all reads done during the experiment.
        probe_reads: reads sent in at the rename's hook point (one per round when ``probe``
            is on, else 0): each starts while the rename is in progress, by construction.
        probe_mixed: how many of those showed both names.
    """

    model: str
    readers: int
    rounds: int
    reads: int
    mixed_reads: int
    mixed_window_ms: float
    rename_ms: float
    touched: int
    reads_total: int
    probe_reads: int = 0
    probe_mixed: int = 0
    samples: list[tuple[float, float, bool]] = field(default_factory=list, repr=False)
    renames: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def mixed_fraction(self) -> float:
        """Share of overlapping reads that were mixed (0..1)."""
        return self.mixed_reads / self.reads if self.reads else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures (no raw samples), for a Result's metrics."""
        return {"readers": self.readers, "rounds": self.rounds,
                "reads_during_rename": self.reads, "mixed_reads": self.mixed_reads,
                "mixed_fraction": round(self.mixed_fraction, 4),
                "mixed_window_ms": round(self.mixed_window_ms, 3),
                "rename_ms": round(self.rename_ms, 3), "touched": self.touched,
                "reads_total": self.reads_total, "probe_reads": self.probe_reads,
                "probe_mixed": self.probe_mixed}


def _brand_names_sql(store: SqlStore, brand_id: int) -> list[str]:
    stmt = (sa.select(brands.c.name).select_from(products)
            .join(brands, products.c.brand_id == brands.c.id)
            .where(products.c.brand_id == brand_id))
    with store.engine.connect() as conn:
        return [str(n) for n in conn.execute(stmt).scalars()]


def _brand_names_docs(store: DocumentStore, brand_id: int) -> list[str]:
    cursor = store.db[COLLECTION].find({"brand.id": brand_id}, {"brand.name": 1})
    return [d["brand"]["name"] for d in _fetch(cursor)]


def rename_with_readers(model: Model, store: SqlStore | DocumentStore, brand_id: int,
                        new_name: str, *, readers: int = 4, rounds: int = 3,
                        think_ms: float = 1.0, timeout_s: float = 120.0,
                        probe: bool = False) -> MixedReads:
    """Rename a brand ``rounds`` times while ``readers`` threads keep listing its products.

    Each read returns the brand name shown on every product of the brand; a read is *mixed*
    when it shows both names. Readers start first (each completes one read), then the renames
    run back to back (new, old, new, ...), then each reader finishes one more read and stops.
    Each reader pauses ``think_ms`` (ms) between reads, the gap between two page views; without
    it, readers on an in-process store (mongomock shares the GIL) would starve the writer.

    Whether a free-running reader lands inside a rename is up to thread timing. With ``probe``
    on, every round also sends one reader in at the rename's hook point (between two document
    writes; after the SQL update and before its commit) and waits for its answer, so each round
    has at least one read that overlaps the rename by construction: on documents it shows both
    names, on SQL one name, every time.
    """
    validate.choice("model", model, ("relational", "documents"))
    readers = validate.integer("readers", readers, minimum=1, maximum=64)
    rounds = validate.integer("rounds", rounds, minimum=1, maximum=1000)
    pause_s = validate.number("think_ms", think_ms, minimum=0.0, maximum=1000.0) / 1000
    bid = validate.integer("brand_id", brand_id, minimum=1)
    name = text_value("new_name", new_name)
    if model == "relational":
        if not isinstance(store, SqlStore):
            raise InvalidInput(f"model 'relational' needs a SqlStore, got {type(store).__name__}")
        sql = store

        def read() -> list[str]:
            return _brand_names_sql(sql, bid)

        def rename(to: str, midway: Callable[[], None] | None) -> WriteCost:
            return rename_brand_sql(sql, bid, to, midway=midway)
    else:
        if not isinstance(store, DocumentStore):
            raise InvalidInput(
                f"model 'documents' needs a DocumentStore, got {type(store).__name__}")
        docs = store

        def read() -> list[str]:
            return _brand_names_docs(docs, bid)

        def rename(to: str, midway: Callable[[], None] | None) -> WriteCost:
            return rename_brand_docs(docs, bid, to, midway=midway)

    before = set(read())
    if len(before) != 1:
        raise UnsupportedOperation(f"brand {bid!r} shows names {sorted(before)!r} before the "
                                   "rename; expected exactly one")
    old = before.pop()
    if old == name:
        raise InvalidInput(f"brand {bid!r} is already called {name!r}")
    t0 = time.perf_counter()
    started = threading.Barrier(readers + 1)
    done = threading.Event()
    lock = threading.Lock()
    samples: list[tuple[float, float, bool]] = []
    errors: list[BaseException] = []
    probes: list[bool] = []

    def probe_read() -> None:
        """A read from another thread while the writer waits at its hook point."""
        answer: list[tuple[float, float, bool]] = []

        def one() -> None:
            try:
                a = time.perf_counter() - t0
                names = set(read())
                answer.append((a, time.perf_counter() - t0, old in names and name in names))
            except Exception as exc:  # surfaced below, after the threads are joined
                with lock:
                    errors.append(exc)

        t = threading.Thread(target=one, daemon=True)
        t.start()
        t.join(timeout_s)
        if answer:
            with lock:
                samples.append(answer[0])
                probes.append(answer[0][2])

    def reader() -> None:
        first = True
        try:
            while True:
                stop_after = done.is_set()
                a = time.perf_counter() - t0
                names = set(read())
                b = time.perf_counter() - t0
                with lock:
                    samples.append((a, b, old in names and name in names))
                if first:
                    started.wait(timeout_s)
                    first = False
                if stop_after or b > timeout_s:
                    return
                time.sleep(pause_s)
        except Exception as exc:  # surfaced below, after the threads are joined
            with lock:
                errors.append(exc)
            started.abort()

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
    for t in threads:
        t.start()
    renames: list[tuple[float, float]] = []
    touched = 0
    try:
        try:
            started.wait(timeout_s)
        except threading.BrokenBarrierError:
            rounds = 0  # a reader failed: its error is raised below, nothing is renamed
        for i in range(rounds):
            w0 = time.perf_counter() - t0
            touched = rename(name if i % 2 == 0 else old,
                             probe_read if probe else None).touched
            renames.append((w0, time.perf_counter() - t0))
            time.sleep(pause_s)  # let readers see the settled state between rounds
    finally:
        done.set()
        for t in threads:
            t.join(timeout_s)
    if errors:
        raise errors[0]
    if not renames:
        raise UnsupportedOperation(f"the readers did not start within {timeout_s} s; "
                                   "nothing was renamed")
    overlapping = [s for s in samples if any(s[0] < w1 and s[1] > w0 for w0, w1 in renames)]
    mixed = [s for s in samples if s[2]]
    windows = []
    for w0, w1 in renames:
        near = [s for s in mixed if s[0] < w1 and s[1] > w0]
        windows.append((max(s[1] for s in near) - min(s[0] for s in near)) * 1000
                       if near else 0.0)
    return MixedReads(model=model, readers=readers, rounds=rounds, reads=len(overlapping),
                      mixed_reads=len(mixed), mixed_window_ms=sum(windows) / len(windows),
                      rename_ms=sum((w1 - w0) for w0, w1 in renames) * 1000 / len(renames),
                      touched=touched, reads_total=len(samples), probe_reads=len(probes),
                      probe_mixed=sum(probes), samples=samples, renames=renames)
