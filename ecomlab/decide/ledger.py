"""The workbook's claims ledger: every topic's claims, measured, with where and when.

:func:`collect_ledger` walks the topic registry (:data:`ecomlab.topics.TOPICS`) and calls each
topic's ``ledger`` function (``(*, quick, seed) -> list[Claim]``). A topic without a registered
ledger is listed as ``missing`` in the provenance; a topic whose ledger fails (a server down)
as ``failed`` with the reason. :meth:`Ledger.save` / :func:`read_ledger` write and read the
JSON form (``ecomlab claims --json > FILE``, ``ecomlab claims --from FILE``);
:func:`bundled_ledger` is the one shipped in the package (``ecomlab/decide/ledger.json``),
which ``ecomlab decide`` uses unless told to measure.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ecomlab.errors import EcomlabError, InvalidInput, choices_text
from ecomlab.files import write_text_atomic
from ecomlab.measure import CLAIM_LABELS, VERDICTS, Claim
from ecomlab.topics import TOPICS, Topic, get_topic, load

__all__ = ["LEDGER_FORMAT", "Ledger", "bundled_ledger", "collect_ledger", "read_ledger",
           "write_json_atomic"]

#: the ``format`` field of a saved ledger
LEDGER_FORMAT = "ecomlab-claims-ledger/1"

_CLAIM_FIELDS = ("topic", "approach", "claim", "kind", "verdict", "evidence", "conditions",
                 "label", "command")


@dataclass
class Ledger:
    """Claims of several topics, and how they were obtained.

    Attributes:
        claims: every claim, in topic order.
        provenance: ``ecomlab`` version, ``created_at`` (UTC), ``machine``, ``stores``,
            ``quick``, ``seed`` and ``topics``: per topic its ``status`` (``measured``,
            ``missing`` or ``failed``), ``claims`` (count), ``seconds`` and ``reason``.
    """

    claims: list[Claim]
    provenance: dict[str, Any] = field(default_factory=dict)

    def topics(self) -> list[str]:
        """The topics with at least one claim in the ledger."""
        return sorted({c.topic for c in self.claims})

    def find(self, topic: str, claim: str) -> Claim | None:
        """The claim with id ``claim`` of ``topic``, or None."""
        return self._index().get((topic, claim))

    def _index(self) -> dict[tuple[str, str], Claim]:
        index = getattr(self, "_by_id", None)
        if index is None or len(index) != len(self.claims):
            index = {(c.topic, c.id): c for c in self.claims}
            self._by_id = index
        return index

    def status(self, topic: str) -> str:
        """``measured``, ``missing`` or ``failed`` (``missing`` if the topic is not listed)."""
        entry = self.provenance.get("topics", {}).get(topic, {})
        return str(entry.get("status", "missing"))

    def only(self, topic: str) -> Ledger:
        """The same ledger restricted to one topic (slug or number)."""
        slug = get_topic(topic).slug
        prov = dict(self.provenance)
        prov["topics"] = {k: v for k, v in self.provenance.get("topics", {}).items()
                          if k == slug}
        return Ledger([c for c in self.claims if c.topic == slug], prov)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``format``, ``provenance`` and ``claims`` (each with its ``id``)."""
        return {"format": LEDGER_FORMAT, "provenance": self.provenance,
                "claims": [{"id": c.id, **asdict(c)} for c in self.claims]}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON form atomically (temp file then rename); return the path."""
        target = Path(path)
        write_json_atomic(target, self.to_dict())
        return target

    def frame(self) -> Any:
        """One row per claim (pandas DataFrame): topic, id, kind, verdict, label, evidence."""
        import pandas as pd

        return pd.DataFrame([{"topic": c.topic, "claim id": c.id, "approach": c.approach,
                              "kind": c.kind, "claim": c.claim, "verdict": c.verdict,
                              "label": c.label, "evidence": c.evidence,
                              "command": c.command} for c in self.claims])


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _machine() -> dict[str, Any]:
    return {"system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "python": platform.python_version()}


def _version() -> str:
    try:
        return metadata.version("ecomlab")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def collect_ledger(topics: Sequence[str] | None = None, *, quick: bool = True, seed: int = 42,
                   registry: Iterable[Topic] = TOPICS) -> Ledger:
    """Run every registered topic's ledger (or only ``topics``) and gather the claims.

    Args:
        topics: slugs or numbers to run; all topics with a registered ledger by default.
        quick: small experiments on embedded stores (the default) rather than the notebooks'.
        seed: passed to every topic's ledger.
        registry: the topic list (tests pass their own).

    Raises:
        InvalidInput: an unknown topic.
    """
    from ecomlab.stores import describe_stores

    entries = [t for t in registry if t.slug not in ("welcome", "decide")]
    if topics:
        wanted = {get_topic(t).slug for t in topics}
        entries = [t for t in entries if t.slug in wanted]
    claims: list[Claim] = []
    status: dict[str, dict[str, Any]] = {}
    for topic in entries:
        if not topic.ledger:
            status[topic.slug] = {"status": "missing", "claims": 0, "seconds": 0.0,
                                  "reason": "no ledger registered for this topic yet"}
            continue
        start = time.perf_counter()
        try:
            found = list(load(topic.ledger)(quick=quick, seed=seed))
        except EcomlabError as exc:
            status[topic.slug] = {"status": "failed", "claims": 0,
                                  "seconds": round(time.perf_counter() - start, 2),
                                  "reason": str(exc)}
            continue
        claims.extend(found)
        status[topic.slug] = {"status": "measured", "claims": len(found),
                              "seconds": round(time.perf_counter() - start, 2), "reason": ""}
    try:
        stores: dict[str, Any] = describe_stores(check=False)
    except EcomlabError as exc:
        stores = {"error": str(exc)}
    provenance = {"ecomlab": _version(),
                  "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "machine": _machine(), "stores": stores, "quick": quick, "seed": seed,
                  "topics": status}
    return Ledger(claims, provenance)


def _claim(row: Any, where: str) -> Claim:
    if not isinstance(row, dict):
        raise InvalidInput(f"{where}: a claim is an object, got {row!r}")
    missing = [k for k in ("topic", "approach", "claim", "kind", "verdict", "evidence")
               if k not in row]
    if missing:
        raise InvalidInput(f"{where}: missing {', '.join(missing)}")
    if row["verdict"] not in VERDICTS:
        raise InvalidInput(f"{where}: verdict {row['verdict']!r}; valid: "
                           f"{choices_text(VERDICTS)}")
    if row.get("label", "measured") not in CLAIM_LABELS:
        raise InvalidInput(f"{where}: label {row.get('label')!r}; valid: "
                           f"{choices_text(CLAIM_LABELS)}")
    fields: dict[str, Any] = {k: str(row[k]) for k in _CLAIM_FIELDS if k in row}
    return Claim(**fields)


def ledger_from_dict(data: Any, source: str = "ledger") -> Ledger:
    """Rebuild a :class:`Ledger` from its JSON form; :class:`InvalidInput` if malformed."""
    if not isinstance(data, dict) or data.get("format") != LEDGER_FORMAT:
        raise InvalidInput(f"{source}: not a claims ledger (expected format "
                           f"{LEDGER_FORMAT!r}, made by 'ecomlab claims --json')")
    rows = data.get("claims")
    if not isinstance(rows, list):
        raise InvalidInput(f"{source}: 'claims' must be a list")
    claims = [_claim(row, f"{source}: claim {i}") for i, row in enumerate(rows)]
    provenance = data.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise InvalidInput(f"{source}: 'provenance' must be an object")
    return Ledger(claims, provenance)


def read_ledger(path: str | os.PathLike[str]) -> Ledger:
    """Read a ledger saved by :meth:`Ledger.save` or ``ecomlab claims --json > FILE``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read ledger {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"ledger {str(p)!r} is not JSON: {exc.msg} (line {exc.lineno})"
                           ) from None
    return ledger_from_dict(data, repr(str(p)))


@lru_cache(maxsize=1)
def bundled_ledger() -> Ledger:
    """The ledger shipped with the package (made by ``ecomlab claims --quick --json``)."""
    text = resources.files("ecomlab.decide").joinpath("ledger.json").read_text("utf-8")
    return ledger_from_dict(json.loads(text), "bundled ledger")
