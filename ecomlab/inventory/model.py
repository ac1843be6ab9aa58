"""The vocabulary of the inventory topic: SKUs, order lines, orders, outcomes and the workload.

A workload is a seeded list of :class:`OrderSpec` that the load driver hands to concurrent buyers.
Every choice comes from ``numpy.random.default_rng(seed)``, so the same seed gives the same orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ecomlab import validate
from ecomlab.datagen import load_sample_catalog, zipf_keys
from ecomlab.errors import InvalidInput, choices_text

__all__ = [
    "BACKENDS",
    "EVENTUAL",
    "LIMITS",
    "NATURAL_BACKEND",
    "STRATEGIES",
    "STRONG",
    "BuyerCrash",
    "Line",
    "OrderSpec",
    "Outcome",
    "Sku",
    "check_lines",
    "generate_workload",
    "make_skus",
]

from ecomlab.inventory.choices import (
    BACKENDS,
    EVENTUAL,
    NATURAL_BACKEND,
    STRATEGIES,
    STRONG,
)

#: upper bounds that keep a run on one machine (anything larger is refused as absurd)
LIMITS: dict[str, int] = {
    "stock": 1_000_000,
    "buyers": 256,
    "orders": 200_000,
    "skus": 1_000,
    "max_quantity": 100,
    "max_items": 10,
}


class BuyerCrash(Exception):
    """Injected fault: the buyer's process dies in the middle of its transaction."""


@dataclass(frozen=True)
class Sku:
    """One stock-keeping unit: its row id, code, unit price (USD) and initial stock (units)."""

    product_id: int
    sku: str
    price_usd: float
    stock: int


@dataclass(frozen=True)
class Line:
    """One order line: ``quantity`` units of ``sku``."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderSpec:
    """An order a buyer will try to place (one line per SKU, in the drawn order)."""

    order_id: int
    buyer: int
    lines: tuple[Line, ...]

    @property
    def units(self) -> int:
        """Total units in the order."""
        return sum(line.quantity for line in self.lines)


@dataclass
class Outcome:
    """What one attempt to place an order ended as, from the buyer's side.

    Attributes:
        status: ``accepted`` (the buyer was told yes), ``rejected`` or ``crashed``.
        reason: why it was rejected (``out_of_stock``, ``payment_declined``, ``retries_exhausted``,
            ``buyer_crashed``); empty when accepted.
        retries: attempts repeated after a conflict, a busy database or a deadlock.
        conflicts: write-write or version conflicts seen.
        deadlocks: deadlocks the database detected and aborted.
        lock_wait_ns: time spent waiting in ``SELECT ... FOR UPDATE`` (ns).
    """

    status: str
    reason: str = ""
    retries: int = 0
    conflicts: int = 0
    deadlocks: int = 0
    lock_wait_ns: int = 0


def make_skus(skus: int, stock: int) -> list[Sku]:
    """``skus`` SKUs with ``stock`` units each, named and priced after the sample catalog.

    Raises:
        InvalidInput: ``skus`` outside 1..1000 or ``stock`` outside 0..1,000,000.
    """
    skus = validate.integer("skus", skus, minimum=1, maximum=LIMITS["skus"])
    stock = validate.integer("stock", stock, minimum=0, maximum=LIMITS["stock"])
    products = load_sample_catalog().products
    out: list[Sku] = []
    for i in range(skus):
        if i < len(products):
            row = products.iloc[i]
            out.append(Sku(i + 1, str(row["sku"]), float(row["base_price"]), stock))
        else:
            out.append(Sku(i + 1, f"SKU-{i + 1:05d}", 10.0 + (i % 90), stock))
    return out


def generate_workload(skus: Sequence[Sku], orders: int, buyers: int, *, seed: int,
                      skew: float = 1.0, max_quantity: int = 1, max_items: int = 1
                      ) -> list[OrderSpec]:
    """A seeded list of orders: SKUs drawn with Zipf(``skew``) popularity (SKU 0 hottest).

    Args:
        skus: the SKUs on sale.
        orders: number of orders (1..200,000).
        buyers: number of concurrent buyers; orders are dealt to them round-robin.
        skew: Zipf exponent (0 = uniform, 1 = typical, larger = one hot SKU).
        max_quantity: each line asks for 1..max_quantity units (uniform).
        max_items: each order has 1..max_items distinct SKUs (uniform, at most ``len(skus)``,
            else :class:`InvalidInput`).
    """
    orders = validate.integer("orders", orders, minimum=1, maximum=LIMITS["orders"])
    buyers = validate.integer("buyers", buyers, minimum=1, maximum=LIMITS["buyers"])
    skew = validate.number("skew", skew, minimum=0.0, maximum=10.0)
    max_quantity = validate.integer("max_quantity", max_quantity, minimum=1,
                                    maximum=LIMITS["max_quantity"])
    max_items = validate.integer("max_items", max_items, minimum=1, maximum=LIMITS["max_items"])
    n = len(skus)
    if max_items > n:
        raise InvalidInput(f"max_items {max_items!r} is more than the {n} SKU(s) on sale: an "
                           f"order holds distinct SKUs, so choose max_items <= skus")
    rng = np.random.default_rng(seed)
    items = rng.integers(1, max_items + 1, size=orders)
    picks = zipf_keys(n, skew, int(items.sum()) * 3 + 8, rng)
    pos = 0
    out: list[OrderSpec] = []
    for i in range(orders):
        chosen: list[int] = []
        while len(chosen) < items[i]:
            if pos >= len(picks):  # very skewed draws repeat the hot SKU; top up uniformly
                picks = np.concatenate([picks, rng.integers(0, n, size=64)])
            k = int(picks[pos])
            pos += 1
            if k not in chosen:
                chosen.append(k)
        qty = rng.integers(1, max_quantity + 1, size=len(chosen))
        # keep the drawn order (not sorted): unordered locking uses it as the lock order
        lines = tuple(Line(skus[k].sku, int(q)) for k, q in zip(chosen, qty, strict=True))
        out.append(OrderSpec(order_id=i + 1, buyer=i % buyers, lines=lines))
    return out


def check_lines(lines: Iterable[Line], known: Iterable[str]) -> tuple[Line, ...]:
    """Validate order lines before anything is touched; return them with SKUs merged.

    Raises:
        InvalidInput: an empty order, a quantity that is not a whole number in 1..100, an
            unknown SKU, or a SKU that is not a string.
    """
    valid = set(known)
    merged: dict[str, int] = {}
    order: list[str] = []
    for line in lines:
        if not isinstance(line, Line):
            raise InvalidInput(f"an order line must be a Line, got {line!r}")
        if not isinstance(line.sku, str):
            raise InvalidInput(f"sku must be a string, got {line.sku!r}")
        if line.sku not in valid:
            shown = sorted(valid)[:5]
            more = " ..." if len(valid) > 5 else ""
            raise InvalidInput(
                f"unknown sku {line.sku!r}; choose {choices_text(shown)}{more}")
        q = validate.integer("quantity", line.quantity, minimum=1,
                             maximum=LIMITS["max_quantity"])
        if line.sku not in merged:
            order.append(line.sku)
            merged[line.sku] = 0
        merged[line.sku] += q
    if not order:
        raise InvalidInput("an order needs at least one line, got none")
    return tuple(Line(s, merged[s]) for s in order)
