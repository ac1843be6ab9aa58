"""The shop's domain, one module per noun: product, inventory, payment, order, notification.

Every function takes an open ``sqlite3`` connection and does its work **without committing**,
so that the monolith can run several modules in one ACID transaction and each microservice
commits its own. Values always travel as SQL parameters, never inside the SQL text.

Compensations are idempotent and commute with the step they undo: :func:`release` and
:func:`refund` leave a tombstone when there is nothing to undo yet, and :func:`reserve` /
:func:`charge` refuse an order that already has one. A reservation that lands after its
release (a slow call the caller gave up on) is therefore refused instead of leaking stock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

__all__ = [
    "MODULES",
    "SKUS",
    "add_outbox",
    "charge",
    "connect",
    "create_order",
    "create_schema",
    "get_order",
    "get_product",
    "mark_published",
    "notify",
    "orders_in",
    "outbox_pending",
    "refund",
    "release",
    "reserve",
    "seed_catalog",
    "set_order_status",
]

#: the domain's modules (one service each in the microservices deployment)
MODULES: tuple[str, ...] = ("product", "inventory", "payment", "order", "notification")

#: sample products: (sku, name, price in cents)
SKUS: tuple[tuple[str, str, int], ...] = (
    ("MUG-BLUE", "blue enamel mug", 1250),
    ("TEA-GREEN", "green tea, 100 g", 890),
    ("LAMP-OAK", "oak desk lamp", 4900),
    ("SOCK-WOOL", "wool socks", 1500),
    ("BAG-CANVAS", "canvas tote bag", 2200),
    ("PEN-BRASS", "brass pen", 3100),
)

_SCHEMA: dict[str, tuple[str, ...]] = {
    "product": ("CREATE TABLE IF NOT EXISTS products (sku TEXT PRIMARY KEY, name TEXT NOT NULL, "
                "price_cents INTEGER NOT NULL)",),
    "inventory": (
        "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS reservations (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, "
        "qty INTEGER NOT NULL, status TEXT NOT NULL)",
    ),
    "payment": ("CREATE TABLE IF NOT EXISTS payments (order_id TEXT PRIMARY KEY, "
                "amount_cents INTEGER NOT NULL, status TEXT NOT NULL)",),
    "order": (
        "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, "
        "qty INTEGER NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, "
        "type TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0)",
    ),
    "notification": ("CREATE TABLE IF NOT EXISTS notifications (seq INTEGER PRIMARY KEY "
                     "AUTOINCREMENT, event_id TEXT NOT NULL, order_id TEXT NOT NULL)",),
}


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a SQLite file in autocommit mode (transactions are explicit ``BEGIN IMMEDIATE``)."""
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.row_factory = sqlite3.Row
    return conn


def create_schema(conn: sqlite3.Connection, modules: tuple[str, ...] = MODULES) -> None:
    """Create the tables of ``modules`` (all of them for the monolith's one database)."""
    for module in modules:
        for statement in _SCHEMA[module]:
            conn.execute(statement)


def seed_catalog(conn: sqlite3.Connection, *, products: bool = True, stock: int | None = None
                 ) -> None:
    """Insert the sample products and/or ``stock`` units of each (idempotent)."""
    for sku, name, price in SKUS:
        if products:
            conn.execute("INSERT OR IGNORE INTO products VALUES (?, ?, ?)", (sku, name, price))
        if stock is not None:
            conn.execute("INSERT OR IGNORE INTO stock VALUES (?, ?)", (sku, stock))


# ----------------------------------------------------------------------------- product

def get_product(conn: sqlite3.Connection, sku: str) -> dict[str, Any] | None:
    """The product ``sku`` (name, price_cents), or None."""
    row = conn.execute("SELECT sku, name, price_cents FROM products WHERE sku = ?",
                       (sku,)).fetchone()
    return dict(row) if row is not None else None


# ----------------------------------------------------------------------------- inventory

def reserve(conn: sqlite3.Connection, order_id: str, sku: str, qty: int) -> str:
    """Reserve ``qty`` of ``sku`` for ``order_id``: ``reserved``, ``insufficient`` or
    ``released`` (refused: the order was already released). Idempotent per order."""
    row = conn.execute("SELECT status FROM reservations WHERE order_id = ?",
                       (order_id,)).fetchone()
    if row is not None:
        return str(row["status"])
    cur = conn.execute("UPDATE stock SET available = available - ? "
                       "WHERE sku = ? AND available >= ?", (qty, sku, qty))
    if cur.rowcount != 1:
        return "insufficient"
    conn.execute("INSERT INTO reservations VALUES (?, ?, ?, 'reserved')", (order_id, sku, qty))
    return "reserved"


def release(conn: sqlite3.Connection, order_id: str) -> str:
    """Undo ``order_id``'s reservation (or leave a tombstone if none): ``released``."""
    row = conn.execute("SELECT sku, qty, status FROM reservations WHERE order_id = ?",
                       (order_id,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO reservations VALUES (?, '', 0, 'released')", (order_id,))
    elif row["status"] == "reserved":
        conn.execute("UPDATE stock SET available = available + ? WHERE sku = ?",
                     (row["qty"], row["sku"]))
        conn.execute("UPDATE reservations SET status = 'released' WHERE order_id = ?",
                     (order_id,))
    return "released"


# ----------------------------------------------------------------------------- payment

def charge(conn: sqlite3.Connection, order_id: str, amount_cents: int) -> str:
    """Charge ``order_id``: ``charged`` or ``refunded`` (refused: already refunded)."""
    row = conn.execute("SELECT status FROM payments WHERE order_id = ?", (order_id,)).fetchone()
    if row is not None:
        return str(row["status"])
    conn.execute("INSERT INTO payments VALUES (?, ?, 'charged')", (order_id, amount_cents))
    return "charged"


def refund(conn: sqlite3.Connection, order_id: str) -> str:
    """Refund ``order_id`` (or leave a tombstone if it was never charged): ``refunded``."""
    row = conn.execute("SELECT status FROM payments WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO payments VALUES (?, 0, 'refunded')", (order_id,))
    elif row["status"] == "charged":
        conn.execute("UPDATE payments SET status = 'refunded' WHERE order_id = ?", (order_id,))
    return "refunded"


# ----------------------------------------------------------------------------- order

def create_order(conn: sqlite3.Connection, order_id: str, sku: str, qty: int,
                 amount_cents: int, status: str) -> None:
    """Insert an order row (``pending``, ``confirmed`` or ``failed``); a repeat is ignored."""
    conn.execute("INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?)",
                 (order_id, sku, qty, amount_cents, status))


def set_order_status(conn: sqlite3.Connection, order_id: str, status: str) -> None:
    conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (status, order_id))


def get_order(conn: sqlite3.Connection, order_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    return dict(row) if row is not None else None


def orders_in(conn: sqlite3.Connection, *statuses: str) -> list[dict[str, Any]]:
    """Orders whose status is one of ``statuses``."""
    marks = ", ".join("?" for _ in statuses)
    rows = conn.execute(f"SELECT * FROM orders WHERE status IN ({marks})", statuses)
    return [dict(r) for r in rows]


def add_outbox(conn: sqlite3.Connection, event_id: str, order_id: str,
               kind: str = "OrderConfirmed") -> None:
    """Record an event to publish, in the caller's transaction (the transactional outbox)."""
    conn.execute("INSERT OR IGNORE INTO outbox (event_id, order_id, type) VALUES (?, ?, ?)",
                 (event_id, order_id, kind))


def outbox_pending(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT event_id, order_id, type FROM outbox WHERE published = 0 "
                        "ORDER BY rowid LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def mark_published(conn: sqlite3.Connection, event_ids: list[str]) -> None:
    conn.executemany("UPDATE outbox SET published = 1 WHERE event_id = ?",
                     [(e,) for e in event_ids])


# ----------------------------------------------------------------------------- notification

def notify(conn: sqlite3.Connection, event_id: str, order_id: str, *,
           idempotent: bool) -> bool:
    """Send the customer's confirmation for ``event_id``; with ``idempotent`` a repeat is
    skipped. Returns True if a notification was sent."""
    if idempotent and conn.execute("SELECT 1 FROM notifications WHERE event_id = ?",
                                   (event_id,)).fetchone():
        return False
    conn.execute("INSERT INTO notifications (event_id, order_id) VALUES (?, ?)",
                 (event_id, order_id))
    return True
