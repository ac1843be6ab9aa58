"""Two ways to ask "which products are under this category?" in SQL, and what each costs.

* **Materialized path** (the seed's ``categories.path``): one indexed prefix comparison, no
  recursion; the price is paid on writes: moving a subtree rewrites every path in it
  (see :func:`ecomlab.catalog.writes.move_category_sql`).
* **Adjacency list + recursive CTE** (``parent_id`` only): the path is resolved from the root
  one name at a time and the subtree is found by ``WITH RECURSIVE``; a move changes one row,
  but every read walks the tree.

Both must return the same products; :func:`hierarchy_costs` measures both (label ``measured``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ecomlab import validate
from ecomlab.catalog.checks import text_value
from ecomlab.catalog.relational import categories, category_prefix_clause, products
from ecomlab.errors import InvalidInput
from ecomlab.measure import LatencySummary, Stopwatch
from ecomlab.stores import SqlStore

__all__ = ["HierarchyCost", "hierarchy_costs", "skus_under_path", "skus_under_recursive"]


def skus_under_path(store: SqlStore, category: str) -> list[str]:
    """Skus of products under ``category`` via the materialized path (sorted)."""
    stmt = (sa.select(products.c.sku).join(categories, products.c.category_id == categories.c.id)
            .where(category_prefix_clause(categories.c.path, text_value("category", category)))
            .order_by(products.c.sku))
    with store.engine.connect() as conn:
        return [str(s) for s in conn.execute(stmt).scalars()]


def skus_under_recursive(store: SqlStore, category: str) -> list[str]:
    """Skus of products under ``category`` using only ``parent_id`` (a recursive CTE; sorted).

    The path's names are resolved from the root, one level at a time (the adjacency list has no
    path to look up), then ``WITH RECURSIVE`` collects the subtree.
    """
    names = text_value("category", category).split("/")
    c = categories
    with store.engine.connect() as conn:
        node: Any = None
        for name in names:
            parent = c.c.parent_id.is_(None) if node is None else c.c.parent_id == node
            node = conn.execute(sa.select(c.c.id).where(
                parent, c.c.name == sa.bindparam(None, name, type_=sa.String))).scalar()
            if node is None:
                return []
        tree = sa.select(c.c.id).where(c.c.id == node).cte("subtree", recursive=True)
        child = c.alias("child")
        tree = tree.union_all(sa.select(child.c.id).join(tree, child.c.parent_id == tree.c.id))
        stmt = (sa.select(products.c.sku).where(products.c.category_id.in_(sa.select(tree.c.id)))
                .order_by(products.c.sku))
        return [str(s) for s in conn.execute(stmt).scalars()]


@dataclass(frozen=True)
class HierarchyCost:
    """One way of reading the hierarchy.

    Attributes:
        method: ``materialized path`` or ``recursive CTE``.
        products: products found (units).
        latency: query latency (ms).
        statements: SQL statements one read sends.
    """

    method: str
    products: int
    latency: LatencySummary
    statements: int


def hierarchy_costs(store: SqlStore, category: str, *, repeats: int = 20
                    ) -> list[HierarchyCost]:
    """Time both methods ``repeats`` times on the same store and check they agree.

    Raises:
        InvalidInput: bad arguments, or the two methods disagree (a broken hierarchy).
    """
    repeats = validate.integer("repeats", repeats, minimum=1, maximum=10_000)
    category = text_value("category", category)
    out = []
    answers = []
    for method, fn, statements in (
            ("materialized path", skus_under_path, 1),
            ("recursive CTE", skus_under_recursive, len(category.split("/")) + 1)):
        samples = []
        result: list[str] = []
        for _ in range(repeats):
            sw = Stopwatch()
            result = fn(store, category)
            samples.append(sw.stop())
        answers.append(result)
        out.append(HierarchyCost(method, len(result), LatencySummary.of_ms(samples), statements))
    if answers[0] != answers[1]:
        raise InvalidInput(f"the two hierarchy methods disagree on {category!r}: "
                           f"{len(answers[0])} vs {len(answers[1])} products")
    return out
