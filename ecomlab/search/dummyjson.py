"""Relevance on an independent catalog: DummyJSON's real-text products, judged by stated rules.

The generated catalog's judgments come from the same generator as its text; DummyJSON's products
(``data/dummyjson/products.json``, written outside this project) check that the findings do not
hang on that. Its judged query set is built by :func:`dummyjson_queries` from the records'
own fields, with these rules (gains as in :mod:`ecomlab.search.relevance`):

* ``known_item``: a product's title; exact = products with that title, substitute = the same
  category.
* ``typo``: the longest word (5+ letters) of a title with 1 edit (2 for 7+ letters, by
  Elasticsearch's AUTO budget) plus the title's other words; exact = that product, substitute =
  its category.
* ``partial``: a title with its last word cut to its first 60 % (3+ letters), as typed so far;
  exact = that product, substitute = its category.
* ``attribute``: one of a product's tags that is not its category's name (``"mascara"``);
  exact = products with that tag, substitute = the same category.
* ``brand_category``: a brand and its category's name (``"Apple smartphones"``); exact = that
  brand in that category, substitute = the category.
* ``no_match``: made-up words more than 2 edits from every word of the catalog.

The bundled file's set is committed as ``data/dummyjson/judged_queries.json`` (a test holds it
equal to what these rules build).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ecomlab.datagen import DATA_DIR
from ecomlab.errors import InvalidInput
from ecomlab.search.relevance import JudgedQuery, edit_distance, make_typo

__all__ = ["BUNDLED", "JUDGED", "dummyjson_queries", "load_judged", "write_judged"]

BUNDLED = DATA_DIR / "dummyjson" / "products.json"
JUDGED = DATA_DIR / "dummyjson" / "judged_queries.json"


def _records(path: str | Path) -> list[dict[str, Any]]:
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("products", [])
    if not isinstance(data, list):
        raise InvalidInput(f"catalog {str(path)!r} must hold a JSON list of products")
    return [r for r in data if isinstance(r, dict) and "id" in r and "title" in r]


def _gains(records: list[dict[str, Any]], exact: set[int], category: str) -> dict[int, int]:
    gains: dict[int, int] = {}
    for r in records:
        if int(r["id"]) in exact:
            gains[int(r["id"])] = 3
        elif r.get("category") == category:
            gains[int(r["id"])] = 2
    return gains


def dummyjson_queries(path: str | Path = BUNDLED, seed: int = 7, per_class: int = 6
                      ) -> list[JudgedQuery]:
    """The judged queries for a DummyJSON-layout file, by the rules in the module doc."""
    records = _records(path)
    rng = np.random.default_rng(seed)
    order = [records[int(i)] for i in rng.permutation(len(records))]
    out: list[JudgedQuery] = []

    def words(text: str) -> list[str]:
        return re.findall(r"[A-Za-z]+", text)

    titled = [r for r in order if len(words(str(r["title"]))) >= 2]
    for k, r in enumerate(titled[:per_class]):
        same = {int(x["id"]) for x in records if x["title"] == r["title"]}
        out.append(JudgedQuery(f"dj-known_item-{k}", "known_item", str(r["title"]),
                               _gains(records, same, str(r.get("category")))))
    long_word = [r for r in order if any(len(w) >= 5 for w in words(str(r["title"])))]
    for k, r in enumerate(long_word[per_class:2 * per_class]):
        ws = str(r["title"]).split()
        j = max(range(len(ws)), key=lambda i: (len(re.sub(r"[^A-Za-z]", "", ws[i])), -i))
        word = re.sub(r"[^A-Za-z]", "", ws[j])
        edits = 2 if len(word) >= 7 and rng.random() < 0.5 else 1
        ws[j] = make_typo(word, edits, rng)
        out.append(JudgedQuery(f"dj-typo-{k}", "typo", " ".join(ws),
                               _gains(records, {int(r["id"])}, str(r.get("category")))))
    for k, r in enumerate(titled[2 * per_class:3 * per_class]):
        ws = str(r["title"]).split()
        last = re.sub(r"[^A-Za-z]", "", ws[-1]) or ws[-1]
        ws[-1] = last[:max(3, round(len(last) * 0.6))]
        out.append(JudgedQuery(f"dj-partial-{k}", "partial", " ".join(ws),
                               _gains(records, {int(r["id"])}, str(r.get("category")))))
    tagged = [(r, t) for r in order for t in r.get("tags", [])
              if isinstance(t, str) and t != r.get("category") and re.fullmatch(r"[a-z ]+", t)]
    seen_tags: set[str] = set()
    for r, tag in tagged:
        if len(seen_tags) == per_class:
            break
        if tag in seen_tags:
            continue
        seen_tags.add(tag)
        having = {int(x["id"]) for x in records if tag in x.get("tags", [])}
        out.append(JudgedQuery(f"dj-attribute-{len(seen_tags) - 1}", "attribute", tag,
                               _gains(records, having, str(r.get("category")))))
    pairs: list[tuple[str, str]] = []
    for r in order:
        pair = (str(r.get("brand") or ""), str(r.get("category") or ""))
        if all(pair) and pair not in pairs:
            pairs.append(pair)
    for k, (brand, cat) in enumerate(pairs[:per_class]):
        exact = {int(x["id"]) for x in records
                 if x.get("brand") == brand and x.get("category") == cat}
        out.append(JudgedQuery(f"dj-brand_category-{k}", "brand_category",
                               f"{brand} {cat.replace('-', ' ')}", _gains(records, exact, cat)))
    vocab = {w.lower() for r in records for w in words(f"{r['title']} {r.get('description', '')} "
                                                     f"{r.get('brand', '')}")}
    for k in range(per_class):
        made: list[str] = []
        while len(made) < 2:
            w = "".join("bcdfghjklmnpqrstvwxz"[int(rng.integers(0, 20))]
                        + "aeiou"[int(rng.integers(0, 5))] for _ in range(4))
            if all(edit_distance(w, v) > 2 for v in vocab if abs(len(v) - len(w)) <= 2):
                made.append(w)
        out.append(JudgedQuery(f"dj-no_match-{k}", "no_match", " ".join(made), {}))
    return out


def write_judged(queries: list[JudgedQuery], path: str | Path = JUDGED) -> Path:
    """Write a judged query set as JSON (queries with their gains; product ids as keys)."""
    target = Path(path)
    doc = {"built_by": "ecomlab.search.dummyjson.dummyjson_queries(seed=7, per_class=6)",
           "gains": {"exact": 3, "substitute": 2, "complement": 1, "irrelevant": 0},
           "queries": [{"qid": q.qid, "class": q.cls, "text": q.text,
                        "gains": {str(k): v for k, v in sorted(q.gains.items())}}
                       for q in queries]}
    target.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def load_judged(path: str | Path = JUDGED) -> list[JudgedQuery]:
    """Read a judged query set written by :func:`write_judged`."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return [JudgedQuery(q["qid"], q["class"], q["text"],
                        {int(k): int(v) for k, v in q["gains"].items()})
            for q in doc["queries"]]
