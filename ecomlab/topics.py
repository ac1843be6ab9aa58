"""The registry of the workbook's topics: one entry per topic, read by everything that lists them.

The CLI (``ecomlab run`` / ``simulate`` subcommands), the welcome notebook's topic map, the
README's topic table (checked by a test), the claims ledger (``ecomlab claims``) and the
decision framework all read :data:`TOPICS`. Callables are named as ``"module:attribute"``
strings and imported only when used, so listing topics imports no topic code.

Adding a topic (the checklist):

1. One entry in :data:`TOPICS` (status ``planned`` until its notebook exists).
2. One subpackage ``ecomlab/<slug>/`` with the same faces as every other topic:
   ``experiment.py`` (``run_<slug>(...) -> Result``), ``claims.py`` (``<slug>_claims(...)``
   and ``<slug>_ledger(*, quick=True, seed=42) -> list[Claim]``, which runs the small
   experiments the claims need), ``plots.py``, ``widget.py`` (``<slug>_explorer(...)``),
   ``cli.py`` (``register(run, simulate)``) and an ``__init__`` that exports those names
   lazily (module-level ``__getattr__``).
3. One notebook ``notebooks/NN_<name>.ipynb`` that imports only from ``ecomlab.<slug>``.
4. A row in the README's topic table (a test compares it with this registry).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ecomlab.errors import InvalidInput

__all__ = ["TOPICS", "Topic", "available_topics", "get_topic", "load"]

Status = Literal["available", "planned"]


@dataclass(frozen=True)
class Topic:
    """One topic of the workbook.

    Attributes:
        number: two digits, the notebook's prefix (``"01"``).
        slug: the subpackage and ``ecomlab run`` name (``"inventory"``).
        title: a short title.
        question: the question the topic answers, in one sentence.
        notebook: the notebook file name under ``notebooks/``.
        command: the headless commands, as shown in the README.
        status: ``available`` once the notebook exists, else ``planned``.
        cli: module whose ``register(run, simulate)`` adds the topic's subcommands ("" if none).
        run: ``"module:function"`` of the topic's measured experiment ("" if none).
        claims: ``"module:function"`` building the topic's claims from its results.
        ledger: ``"module:function"``, ``(*, quick=True, seed=42) -> list[Claim]``: runs the
            experiments the claims need and returns them.
    """

    number: str
    slug: str
    title: str
    question: str
    notebook: str
    command: str
    status: Status = "available"
    cli: str = ""
    run: str = ""
    claims: str = ""
    ledger: str = ""

    @property
    def package(self) -> str:
        """The topic's subpackage (``ecomlab.<slug>``)."""
        return f"ecomlab.{self.slug}"


TOPICS: tuple[Topic, ...] = (
    Topic("00", "welcome", "Welcome: how the workbook measures",
          "how the workbook measures; the shared catalog and its skew",
          "00_welcome.ipynb", "`ecomlab stores`, `ecomlab generate catalog`"),
    Topic("01", "inventory", "Inventory: strong vs eventual consistency",
          "when buyers race for the last units, which design oversells, by how much, how fast, "
          "and what compensation costs",
          "01_inventory_consistency.ipynb",
          "`ecomlab run inventory --strategy {row-lock,conditional-update,optimistic,"
          "cache-check,atomic-reserve}`",
          cli="ecomlab.inventory.cli", run="ecomlab.inventory.experiment:run_inventory",
          claims="ecomlab.inventory.claims:inventory_claims",
          ledger="ecomlab.inventory.claims:inventory_ledger"),
    Topic("02", "catalog", "Catalog: relational vs document model",
          "what a normalized schema and a denormalized document each cost for reads, writes, "
          "storage and schema change",
          "02_catalog_sql_vs_documents.ipynb", "`ecomlab run catalog`",
          cli="ecomlab.catalog.cli", run="ecomlab.catalog.experiment:run_catalog",
          claims="ecomlab.catalog.claims:catalog_claims",
          ledger="ecomlab.catalog.claims:catalog_ledger"),
    Topic("03", "processing", "Order processing: synchronous vs asynchronous",
          "what a customer waits for, and what happens under load",
          "03_sync_vs_async.ipynb",
          "`ecomlab run processing --mode {sync,async} [--simulate]`, `ecomlab simulate queue`",
          cli="ecomlab.processing.cli", run="ecomlab.processing.experiment:run_processing",
          claims="ecomlab.processing.claims:processing_claims",
          ledger="ecomlab.processing.claims:processing_ledger"),
    Topic("04", "messaging", "Messaging: message queue vs direct calls",
          "what is lost or duplicated when services fail",
          "04_queues_vs_direct_calls.ipynb", "`ecomlab run messaging --mode {queue,direct}`",
          cli="ecomlab.messaging.cli", run="ecomlab.messaging.experiment:run_messaging",
          claims="ecomlab.messaging.claims:messaging_claims",
          ledger="ecomlab.messaging.claims:messaging_ledger"),
    Topic("05", "architecture", "Services: monolith vs microservices",
          "what splitting the shop into services costs in latency, throughput and CPU, what it "
          "buys in fault isolation and independent scaling, and what happens to consistency "
          "when one step of an order fails",
          "05_monolith_vs_microservices.ipynb",
          "`ecomlab run architecture --style {monolith,microservices}`",
          cli="ecomlab.architecture.cli", run="ecomlab.architecture.experiment:run_architecture",
          claims="ecomlab.architecture.claims:architecture_claims",
          ledger="ecomlab.architecture.claims:architecture_ledger"),
    Topic("06", "caching", "Caching: cache-aside vs write-through",
          "how much each caching pattern saves, what it costs on writes, how stale reads get, "
          "what happens when the cache fails",
          "06_caching_strategies.ipynb", "`ecomlab run caching`, `ecomlab simulate cache`",
          cli="ecomlab.caching.cli", run="ecomlab.caching.experiment:run_caching",
          claims="ecomlab.caching.claims:caching_claims",
          ledger="ecomlab.caching.claims:caching_ledger"),
    Topic("07", "search", "Search: search engine vs database full-text",
          "what a search engine gives beyond the database's full-text search (relevance, typo "
          "tolerance, facets, speed at scale) and what it costs",
          "07_search.ipynb", "`ecomlab search`, `ecomlab run search`",
          cli="ecomlab.search.cli", run="ecomlab.search.experiment:run_search",
          claims="ecomlab.search.claims:search_claims",
          ledger="ecomlab.search.claims:search_ledger"),
    Topic("08", "decide", "Decision framework",
          "which design fits my shop, with what confidence, on which measured evidence",
          "08_decision_framework.ipynb", "`ecomlab decide --profile FILE`, `ecomlab claims`",
          cli="ecomlab.decide.cli"),
)


def get_topic(slug: str) -> Topic:
    """The topic called ``slug``; :class:`InvalidInput` naming the valid slugs otherwise."""
    for topic in TOPICS:
        if topic.slug == slug or topic.number == slug:
            return topic
    valid = ", ".join(repr(t.slug) for t in TOPICS)
    raise InvalidInput(f"unknown topic {slug!r}; choose one of {valid}")


def available_topics() -> tuple[Topic, ...]:
    """The topics whose notebooks exist."""
    return tuple(t for t in TOPICS if t.status == "available")


def load(ref: str) -> Callable[..., Any]:
    """Import a ``"module:attribute"`` reference and return the attribute."""
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise InvalidInput(f"a reference is 'module:attribute', got {ref!r}")
    obj: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return obj
