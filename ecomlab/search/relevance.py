"""Graded relevance judged from the catalog generator's truth, and nDCG@10 / MRR / recall@10.

Every query is built from what :func:`ecomlab.datagen.generate_catalog` knows about its products
(brand, product line, leaf category, attributes), so judgments need no human: each product gets
an ESCI-like gain for each query,

* **exact** (3): satisfies everything the query asks for (same title; same brand and category;
  same category and attribute value...);
* **substitute** (2): same category, but not everything asked for;
* **complement** (1): a category bought with it (:data:`COMPLEMENTS`: a charger for a phone);
* **irrelevant** (0): anything else.

Query classes (:data:`CLASSES`): ``known_item`` (a full title), ``typo`` (a product line and
noun with 1-2 edits in one word, within Elasticsearch's AUTO budget: 1 edit for 3-5 characters,
2 for longer), ``partial`` (a brand and the first letters of the noun, as typed so far),
``attribute`` (``"16GB Laptop"``), ``brand_category`` (``"Northwind Laptop"``) and
``no_match`` (made-up words more than 2 edits from every word of the catalog).

Metrics come from ``ir-measures`` (the ``pytrec_eval`` backend): ``nDCG@10`` with the gains
above (linear gains, trec_eval's definition), ``RR(rel=3)`` (the reciprocal rank of the first
exact product, averaged: MRR) and ``R(rel=3)@10`` (the share of exact products in the top 10;
below 1 by construction when more than 10 products are exact). A query that returns nothing
scores 0. ``no_match`` has no relevant product, so its metrics are undefined (``None``); its
figure is the share of queries answered with no hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ecomlab.datagen import TAXONOMY, Catalog

__all__ = ["CLASSES", "COMPLEMENTS", "GAINS", "JudgedQuery", "build_queries", "edit_distance",
           "judged_metrics", "make_typo"]

CLASSES = ("known_item", "typo", "partial", "attribute", "brand_category", "no_match")
GAINS = {"exact": 3, "substitute": 2, "complement": 1, "irrelevant": 0}

#: leaf category -> categories whose products complement it
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "Laptops": ("Chargers", "Monitors"), "Desktops": ("Monitors",),
    "Monitors": ("Desktops", "Laptops"), "Smartphones": ("Chargers", "Headphones"),
    "Chargers": ("Smartphones",), "Headphones": ("Smartphones", "Speakers"),
    "Speakers": ("Headphones",), "Coffee Makers": ("Cookware",),
    "Cookware": ("Coffee Makers",), "Office Chairs": ("Desks",), "Desks": ("Office Chairs",),
    "Running Shoes": ("Yoga Mats",), "Yoga Mats": ("Running Shoes",),
}


@dataclass(frozen=True)
class JudgedQuery:
    """One query with its class and its graded judgments (product id -> gain 1..3)."""

    qid: str
    cls: str
    text: str
    gains: dict[int, int] = field(default_factory=dict)

    @property
    def exact(self) -> int:
        """How many products are exact matches."""
        return sum(1 for g in self.gains.values() if g == 3)


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), case-sensitive."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def make_typo(word: str, edits: int, rng: np.random.Generator) -> str:
    """``word`` with exactly ``edits`` edits (substitution, deletion, insertion, swap)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(100):
        w = word
        for _ in range(edits):
            op = int(rng.integers(0, 4))
            i = int(rng.integers(1, max(2, len(w) - 1)))  # keep the first letter, as people do
            i = min(i, len(w) - 1)
            if op == 0:
                w = w[:i] + letters[int(rng.integers(0, 26))] + w[i + 1:]
            elif op == 1 and len(w) > 3:
                w = w[:i] + w[i + 1:]
            elif op == 2:
                w = w[:i] + letters[int(rng.integers(0, 26))] + w[i:]
            elif i + 1 < len(w):
                w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if edit_distance(w.lower(), word.lower()) == edits:
            return w
    raise RuntimeError(f"no {edits}-edit typo of {word!r} found")  # pragma: no cover


def _frame(catalog: Catalog) -> dict[str, np.ndarray]:
    p = catalog.products
    brands = dict(zip(catalog.brands["id"], catalog.brands["name"], strict=True))
    cats = dict(zip(catalog.categories["id"], catalog.categories["name"], strict=True))
    nouns = _nouns()
    lines = []
    for title, b, c in zip(p["title"], p["brand_id"], p["category_id"], strict=True):
        # title = brand + line + model number + noun
        rest = str(title)[len(brands[b]) + 1:len(str(title)) - len(nouns[cats[c]]) - 1]
        lines.append(rest.rsplit(" ", 1)[0])
    return {"id": p["id"].to_numpy(), "title": p["title"].to_numpy().astype(str),
            "brand": np.array([brands[b] for b in p["brand_id"]], dtype=object),
            "category": np.array([cats[c] for c in p["category_id"]], dtype=object),
            "line": np.array(lines, dtype=object)}


def _gains(f: dict[str, np.ndarray], exact: np.ndarray, category: str) -> dict[int, int]:
    gains = np.zeros(len(f["id"]), dtype=np.int64)
    gains[np.isin(f["category"], COMPLEMENTS.get(category, ()))] = 1
    gains[f["category"] == category] = 2
    gains[exact] = 3
    return {int(i): int(g) for i, g in zip(f["id"], gains, strict=True) if g}


def _nouns() -> dict[str, str]:
    return {path.rsplit("/", 1)[1]: spec[0] for path, spec in TAXONOMY.items()}


def build_queries(catalog: Catalog, seed: int = 0, per_class: int = 8) -> list[JudgedQuery]:
    """``per_class`` judged queries of every class, drawn from ``catalog`` with ``seed``."""
    rng = np.random.default_rng(seed)
    f = _frame(catalog)
    nouns = _nouns()
    attrs = catalog.attributes
    n = len(f["id"])
    out: list[JudgedQuery] = []

    def pick() -> int:
        return int(rng.integers(0, n))

    for k in range(per_class):
        i = pick()
        cat = str(f["category"][i])
        out.append(JudgedQuery(f"known_item-{k}", "known_item", str(f["title"][i]),
                               _gains(f, f["title"] == f["title"][i], cat)))
    for k in range(per_class):
        i = pick()
        cat, line = str(f["category"][i]), str(f["line"][i])
        words = f"{line} {nouns[cat]}".split()
        j = max(range(len(words)), key=lambda w: (len(words[w]), -w))
        budget = 2 if len(words[j]) > 5 else 1
        words[j] = make_typo(words[j], int(rng.integers(1, budget + 1)), rng)
        exact = (f["category"] == cat) & (f["line"] == line)
        out.append(JudgedQuery(f"typo-{k}", "typo", " ".join(words), _gains(f, exact, cat)))
    for k in range(per_class):
        i = pick()
        cat, brand = str(f["category"][i]), str(f["brand"][i])
        last = nouns[cat].split()[-1]
        prefix = last[:max(3, round(len(last) * 0.6))]
        head = " ".join(nouns[cat].split()[:-1])
        text = " ".join(x for x in (brand, head, prefix) if x)
        exact = (f["category"] == cat) & (f["brand"] == brand)
        out.append(JudgedQuery(f"partial-{k}", "partial", text, _gains(f, exact, cat)))
    for k in range(per_class):
        i = pick()
        cat = str(f["category"][i])
        kinds = [path for path in TAXONOMY if path.endswith("/" + cat)]
        first_two = TAXONOMY[kinds[0]][2][:2]  # the two attributes the description states
        kind = first_two[int(rng.integers(0, len(first_two)))]
        row = attrs[(attrs["product_id"] == int(f["id"][i])) & (attrs["name"] == kind)]
        value = str(row["value"].iloc[0])
        having = set(attrs.loc[(attrs["name"] == kind) & (attrs["value"] == value),
                               "product_id"].astype(int))
        exact = (f["category"] == cat) & np.isin(f["id"], list(having))
        out.append(JudgedQuery(f"attribute-{k}", "attribute", f"{value} {nouns[cat]}",
                               _gains(f, exact, cat)))
    for k in range(per_class):
        i = pick()
        cat, brand = str(f["category"][i]), str(f["brand"][i])
        exact = (f["category"] == cat) & (f["brand"] == brand)
        out.append(JudgedQuery(f"brand_category-{k}", "brand_category",
                               f"{brand} {nouns[cat]}", _gains(f, exact, cat)))
    vocab = {w.lower() for t in f["title"] for w in str(t).split()}
    vocab |= {w.lower().strip(".,\"") for d in catalog.products["description"].iloc[:2000]
              for w in str(d).split()}
    for k in range(per_class):
        words = []
        while len(words) < 2:
            w = "".join("bcdfghjklmnpqrstvwxz"[int(rng.integers(0, 20))]
                        + "aeiou"[int(rng.integers(0, 5))] for _ in range(4))
            if all(edit_distance(w, v) > 2 for v in vocab if abs(len(v) - len(w)) <= 2):
                words.append(w)
        out.append(JudgedQuery(f"no_match-{k}", "no_match", " ".join(words), {}))
    return out


def judged_metrics(queries: Sequence[JudgedQuery], ranked: dict[str, list[int]]
                   ) -> dict[str, dict[str, float | None]]:
    """Per class: mean ``ndcg@10``, ``mrr`` and ``recall@10`` (and ``empty_share``).

    Args:
        queries: the judged queries.
        ranked: query id -> product ids in the engine's order (best first).
    """
    import ir_measures
    from ir_measures import RR, R, nDCG

    measures = {"ndcg@10": nDCG @ 10, "mrr": RR(rel=3), "recall@10": R(rel=3) @ 10}
    qrels = [ir_measures.Qrel(q.qid, str(d), g) for q in queries for d, g in q.gains.items()]
    run = [ir_measures.ScoredDoc(qid, str(d), float(len(ids) - r))
           for qid, ids in ranked.items() for r, d in enumerate(ids[:10])]
    per: dict[tuple[str, str], float] = {}
    judged = [q for q in queries if q.gains]
    if judged and run:
        names = {str(m): k for k, m in measures.items()}
        for m in ir_measures.iter_calc(list(measures.values()), qrels, run):
            per[(m.query_id, names[str(m.measure)])] = float(m.value)
    out: dict[str, dict[str, float | None]] = {}
    for cls in CLASSES:
        members = [q for q in queries if q.cls == cls]
        if not members:
            continue
        empty = sum(1 for q in members if not ranked.get(q.qid)) / len(members)
        row: dict[str, float | None] = {}
        for key in measures:
            vals = [per.get((q.qid, key), 0.0) for q in members if q.gains]
            row[key] = round(float(np.mean(vals)), 4) if vals else None
        row["empty_share"] = round(empty, 4)
        out[cls] = row
    return out
