"""What readers see while a brand is renamed: one name, or (documents) both in one answer.

While a rename runs across documents (``update_many`` writes one document at a time, with no
isolation across documents on mongomock or MongoDB without a transaction), concurrent readers
of that brand's products see old and new names in the same answer. The SQL rename is one row
in one transaction, so a reader sees one name or the other, never both.

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
from ecomlab.catalog.documents import COLLECTION, _fetch
from ecomlab.catalog.relational import brands, products
from ecomlab.catalog.writes import WriteCost, rename_brand_docs, rename_brand_sql
from ecomlab.errors import InvalidInput, UnsupportedOperation
from ecomlab.stores import DocumentStore, SqlStore

__all__ = ["MixedReads", "rename_with_readers"]

Model = Literal["relational", "documents"]
#: one read: (start s, end s, showed both names), seconds since the experiment began
Sample = tuple[float, float, bool]
Read = Callable[[], list[str]]
Rename = Callable[[str, Callable[[], None] | None], WriteCost]


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
    read, rename = _brand_ops(model, store, bid)
    before = set(read())
    if len(before) != 1:
        raise UnsupportedOperation(f"brand {bid!r} shows names {sorted(before)!r} before the "
                                   "rename; expected exactly one")
    old = before.pop()
    if old == name:
        raise InvalidInput(f"brand {bid!r} is already called {name!r}")
    log = _ReadLog(read, old, name, timeout_s)
    started = threading.Barrier(readers + 1)
    done = threading.Event()
    threads = [threading.Thread(target=log.reader, args=(started, done, pause_s), daemon=True)
               for _ in range(readers)]
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
            w0 = time.perf_counter() - log.t0
            touched = rename(name if i % 2 == 0 else old,
                             log.probe_read if probe else None).touched
            renames.append((w0, time.perf_counter() - log.t0))
            time.sleep(pause_s)  # let readers see the settled state between rounds
    finally:
        done.set()
        for t in threads:
            t.join(timeout_s)
    if log.errors:
        raise log.errors[0]
    if not renames:
        raise UnsupportedOperation(f"the readers did not start within {timeout_s} s; "
                                   "nothing was renamed")
    return _mixed_reads(model, readers, rounds, log, renames, touched)


def _brand_ops(model: Model, store: SqlStore | DocumentStore, bid: int) -> tuple[Read, Rename]:
    """The model's read (the brand name on each of its products) and rename of brand ``bid``."""
    if model == "relational":
        if not isinstance(store, SqlStore):
            raise InvalidInput(f"model 'relational' needs a SqlStore, got {type(store).__name__}")
        sql = store

        def read_sql() -> list[str]:
            return _brand_names_sql(sql, bid)

        def rename_sql(to: str, midway: Callable[[], None] | None) -> WriteCost:
            return rename_brand_sql(sql, bid, to, midway=midway)

        return read_sql, rename_sql
    if not isinstance(store, DocumentStore):
        raise InvalidInput(
            f"model 'documents' needs a DocumentStore, got {type(store).__name__}")
    docs = store

    def read_docs() -> list[str]:
        return _brand_names_docs(docs, bid)

    def rename_docs(to: str, midway: Callable[[], None] | None) -> WriteCost:
        return rename_brand_docs(docs, bid, to, midway=midway)

    return read_docs, rename_docs


class _ReadLog:
    """Every read made during the experiment, timed from one origin, and the readers' errors."""

    def __init__(self, read: Read, old: str, new: str, timeout_s: float) -> None:
        self.read, self.old, self.new, self.timeout_s = read, old, new, timeout_s
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.errors: list[BaseException] = []
        self.probes: list[bool] = []

    def timed_read(self) -> Sample:
        """One read: when it started and ended (s since ``t0``), and whether it was mixed."""
        a = time.perf_counter() - self.t0
        names = set(self.read())
        return a, time.perf_counter() - self.t0, self.old in names and self.new in names

    def probe_read(self) -> None:
        """A read from another thread while the writer waits at its hook point."""
        answer: list[Sample] = []

        def one() -> None:
            try:
                answer.append(self.timed_read())
            except Exception as exc:  # surfaced by the caller, after the threads are joined
                with self.lock:
                    self.errors.append(exc)

        t = threading.Thread(target=one, daemon=True)
        t.start()
        t.join(self.timeout_s)
        if answer:
            with self.lock:
                self.samples.append(answer[0])
                self.probes.append(answer[0][2])

    def reader(self, started: threading.Barrier, done: threading.Event, pause_s: float) -> None:
        """Read until ``done`` is set (then once more); the first read releases ``started``."""
        first = True
        try:
            while True:
                stop_after = done.is_set()
                sample = self.timed_read()
                with self.lock:
                    self.samples.append(sample)
                if first:
                    started.wait(self.timeout_s)
                    first = False
                if stop_after or sample[1] > self.timeout_s:
                    return
                time.sleep(pause_s)
        except Exception as exc:  # surfaced by the caller, after the threads are joined
            with self.lock:
                self.errors.append(exc)
            started.abort()


def _mixed_reads(model: str, readers: int, rounds: int, log: _ReadLog,
                 renames: list[tuple[float, float]], touched: int) -> MixedReads:
    """Count the reads that overlapped a rename and the mixed ones, and each round's window."""
    samples = log.samples
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
                      touched=touched, reads_total=len(samples), probe_reads=len(log.probes),
                      probe_mixed=sum(log.probes), samples=samples, renames=renames)
