"""The embedded search engine: tantivy, mirroring the seed's Elasticsearch request.

The seed sends ``multi_match`` over ``title^3``, ``description^2``, ``brand`` with
``type: best_fields`` and ``fuzziness: AUTO``, a ``terms`` filter on brand, and ``brands`` /
``categories`` terms and ``price_ranges`` range aggregations. Here:

* **best_fields** is a disjunction-max over the three fields (tie breaker 0, as in
  Elasticsearch), each field boosted by its weight; inside a field the words are OR-ed (the
  ``match`` query's default operator).
* **fuzziness AUTO**: 0 edits for a term of <= 2 characters, 1 for 3-5, 2 for longer
  (:func:`auto_edits`), a transposition counting one edit (Elasticsearch's ``transpositions:
  true``). As Elasticsearch's fuzzy rewrite does, each word is first expanded into the field's
  indexed terms within its edits (:func:`expansions`: the closest first, at most
  :data:`MAX_EXPANSIONS`, Elasticsearch's ``max_expansions`` default; ``prefix_length`` 0, its
  default), and every term is a BM25 term clause: the word itself at full weight, each other
  term at the lower boost :data:`FUZZY_BOOST`, scaled so its idf is that of the most common
  term of the group (Elasticsearch's default ``top_terms_blended_freqs`` rewrite): exact
  matches rank above typo matches, a typo reaching a rare word earns no rare word's idf, and a
  typo still finds the product. The terms are the *indexed* ones (lower-cased, stop words
  dropped, stemmed: the same analyzer as the index, like the ``english`` analyzer of the
  Elasticsearch mapping). The expansion runs in Python (rapidfuzz's optimal string alignment
  distance: the same terms as tantivy's Levenshtein automaton with transpositions, a test
  holds them equal) once per word over every field's terms, read back from the index after
  each commit. Why not tantivy's ``FuzzyTermQuery``: it scores every match with a constant,
  and its constant-score clauses take the union off tantivy's term-scorer path, so a top-10
  search took about twice the CPU time on 100,000 products (p50 0.84 against 0.43 ms, p99 1.85
  against 1.10 ms, measured with ``benchmarks/bench_search.py``).
* **aggregations** use ``Searcher.aggregate`` with Elasticsearch-shaped JSON over fast fields
  (``brand_kw``, ``category_kw``: raw tokenizer; ``price``: f64). Terms aggregations return every
  bucket (size 1000) so counts can be held against SQL's GROUP BY.
* ``search(limit=0)`` panics inside tantivy (a BaseException); a zero limit asks for counts and
  facets only and never reaches that call.
* **snippets** (when the request asks): tantivy's ``SnippetGenerator`` per field over the
  product's title and description, which returns nothing for a fuzzy-only hit; those fields are
  marked by :func:`~ecomlab.search.snippets.mark_matching` (see :mod:`ecomlab.search.snippets`).
  The generators take the exact clauses only, so a typo hit's words are found that way too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import tantivy
from rapidfuzz import process
from rapidfuzz.distance import OSA

from ecomlab import runs
from ecomlab.search.base import (
    PRICE_RANGES,
    Facets,
    Hit,
    SearchProduct,
    SearchRequest,
    SearchResponse,
    Snippet,
    price_range_buckets,
)
from ecomlab.search.snippets import mark_matching, mark_ranges, method_name, term_matcher

__all__ = ["ANALYZER", "FIELD_BOOSTS", "FUZZY_BOOST", "MAX_EXPANSIONS", "TantivyEngine",
           "aggregation_body", "auto_edits", "expansions"]

#: the seed's field boosts: ``title^3``, ``description^2``, ``brand``
FIELD_BOOSTS: tuple[tuple[str, float], ...] = (("title", 3.0), ("description", 2.0),
                                               ("brand", 1.0))
#: weight of a fuzzy (typo) match relative to an exact BM25 match of the same word
FUZZY_BOOST = 0.3
#: indexed terms one word expands into per field: Elasticsearch's ``max_expansions`` default
MAX_EXPANSIONS = 50
_TERMS_SIZE = 1000
_NEAR_MEMO = 10_000  # words whose expansions are remembered between commits


def auto_edits(term: str) -> int:
    """Elasticsearch's ``fuzziness: AUTO``: edits allowed for a term of this length."""
    n = len(term)
    return 0 if n <= 2 else 1 if n <= 5 else 2


def expansions(term: str, candidates: Sequence[str],
               limit: int | None = MAX_EXPANSIONS) -> list[str]:
    """The ``candidates`` other than ``term`` within its AUTO edits, closest first, then in
    term order (as Lucene's top-terms rewrite keeps them), at most ``limit``."""
    edits = auto_edits(term)
    if not edits:
        return []
    found = process.extract(term, candidates, scorer=OSA.distance, score_cutoff=edits,
                            limit=None)
    near = sorted((int(d), t) for t, d, _ in found if t != term)
    return [t for _, t in near[:limit]]


def aggregation_body() -> dict[str, Any]:
    """The seed's aggregations in the Elasticsearch JSON that ``Searcher.aggregate`` takes."""
    ranges = price_range_buckets()
    return {"brands": {"terms": {"field": "brand_kw", "size": _TERMS_SIZE}},
            "categories": {"terms": {"field": "category_kw", "size": _TERMS_SIZE}},
            "price_ranges": {"range": {"field": "price", "ranges": ranges}}}


#: the text analyzer's name: like Elasticsearch's ``english`` analyzer (the mapping the
#: Elasticsearch adapter creates) and PostgreSQL's ``'english'`` configuration, it drops English
#: stop words and stems
ANALYZER = "en_search"


def _analyzer() -> Any:
    """Simple tokenizer, long tokens dropped, lower case, English stop words, English stemmer."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stopword("english"))
            .filter(tantivy.Filter.stemmer("english"))
            .build())


class TantivyEngine:
    """tantivy in a temporary folder (or in memory), the seed's body as tantivy queries.

    Args:
        path: a folder for the index; ``None`` makes a temporary one removed by :meth:`close`.
        fuzzy_boost: weight of the fuzzy clause (0 turns typo tolerance off).
        heap_bytes: the writer's memory budget.
    """

    name = "tantivy"

    def __init__(self, path: str | Path | None = None, *, fuzzy_boost: float = FUZZY_BOOST,
                 heap_bytes: int = 200_000_000) -> None:
        # a folder of our own is in the run's manifest, for `ecomlab clean` after a kill
        self._tmp = runs.TempDir("ecomlab-tantivy-") if path is None else None
        self.path = self._tmp.path if self._tmp is not None else Path(path)  # type: ignore[arg-type]
        self.path.mkdir(parents=True, exist_ok=True)
        sb = tantivy.SchemaBuilder()
        sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
        for fname, _ in FIELD_BOOSTS:
            sb.add_text_field(fname, stored=False, tokenizer_name=ANALYZER)
        sb.add_text_field("brand_kw", stored=False, fast=True, tokenizer_name="raw")
        sb.add_text_field("category_kw", stored=False, fast=True, tokenizer_name="raw")
        sb.add_float_field("price", stored=False, indexed=True, fast=True)
        self.schema = sb.build()
        self.index_ = tantivy.Index(self.schema, path=str(self.path), reuse=False)
        self._analyzer = _analyzer()
        self.index_.register_tokenizer(ANALYZER, self._analyzer)
        self._writer = self.index_.writer(heap_bytes, 1)
        self.fuzzy_boost = float(fuzzy_boost)
        self._rows: dict[int, tuple[str, str, str]] = {}  # id -> sku, title, description
        self._searcher: Any = self.index_.searcher()
        self._aggs = aggregation_body()
        #: each text field's term dictionary, and every field's terms by the query-term lengths
        #: (length, edits) that can reach them (for :func:`expansions`)
        self._vocab: dict[str, dict[str, int]] = {f: {} for f, _ in FIELD_BOOSTS}  # term -> df
        self._reach: dict[tuple[int, int], list[str]] = {}
        self._idf: dict[str, dict[str, float]] = {}  # field -> term -> BM25 idf
        #: :meth:`_near` of the words searched since the last commit (the dictionary it reads
        #: changes only at a commit): a shop's searches repeat their words
        self._near_memo: dict[str, dict[str, list[tuple[str, float]]]] = {}

    # -- writes -------------------------------------------------------------------------
    def _document(self, p: SearchProduct) -> Any:
        doc = tantivy.Document()
        doc.add_unsigned("id", int(p.id))
        doc.add_text("title", p.title)
        doc.add_text("description", p.description)
        doc.add_text("brand", p.brand)
        if p.brand:  # no brand (DummyJSON's groceries) is no facet value, as in SQL
            doc.add_text("brand_kw", p.brand)
        if p.category:
            doc.add_text("category_kw", p.category)
        doc.add_float("price", float(p.price))
        return doc

    def index(self, products: Sequence[SearchProduct]) -> None:
        """Add ``products``, commit once and reload the reader."""
        for p in products:
            self._writer.add_document(self._document(p))
            self._rows[int(p.id)] = (p.sku, p.title, p.description)
        self._refresh()

    def add(self, product: SearchProduct) -> None:
        """Write one product: add, commit, reload the reader (visible when this returns)."""
        self._writer.add_document(self._document(product))
        self._rows[int(product.id)] = (product.sku, product.title, product.description)
        self._refresh()

    def _refresh(self) -> None:
        self._writer.commit()
        self.index_.reload()
        self._searcher = self.index_.searcher()
        self._vocab = {f: dict(self._searcher.terms_with_prefix(f, "")) for f, _ in FIELD_BOOSTS}
        self._near_memo = {}
        n = max(1, int(self._searcher.num_docs))  # BM25's idf, as tantivy and Lucene compute it
        self._idf = {f: {t: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for t, df in v.items()}
                     for f, v in self._vocab.items()}
        by_length: dict[int, list[str]] = {}
        for term in sorted(set().union(*self._vocab.values())):
            by_length.setdefault(len(term), []).append(term)
        # a term more than ``edits`` longer or shorter than the query term cannot match
        self._reach = {(n, e): [t for k in range(n - e, n + e + 1) for t in by_length.get(k, ())]
                       for n in range(1, max(by_length, default=0) + 3) for e in (1, 2)}

    # -- reads --------------------------------------------------------------------------
    def terms(self, text: str) -> list[str]:
        """``text`` as the index holds it: lower-cased, stemmed terms."""
        return list(self._analyzer.analyze(text))

    def expansions(self, field: str, term: str) -> list[tuple[str, float]]:
        """The typo terms ``term`` reaches in ``field`` (see :func:`expansions`), each with the
        boost of its clause: :data:`FUZZY_BOOST` times idf(blended) / idf(own document
        frequency), the blended frequency being the highest among the word and its expansions
        in that field (Elasticsearch's ``top_terms_blended_freqs`` rewrite, its default for
        fuzzy ``match`` queries): a typo reaching a rare word scores no idf a common one would
        not."""
        return [(t, self.fuzzy_boost * ratio) for t, ratio in self._near(term)[field]]

    def _near(self, term: str) -> dict[str, list[tuple[str, float]]]:
        """Expansions and idf ratios in every field, from one look-up over all fields' terms
        (remembered until the next commit, for at most :data:`_NEAR_MEMO` words)."""
        found = self._near_memo.get(term)
        if found is None:
            if len(self._near_memo) >= _NEAR_MEMO:
                self._near_memo.clear()
            found = self._near_memo[term] = self._expand(term)
        return found

    def _expand(self, term: str) -> dict[str, list[tuple[str, float]]]:
        """:meth:`_near` without the memo."""
        edits = auto_edits(term)
        near = expansions(term, self._reach.get((len(term), edits), ()), None) if edits else []
        out: dict[str, list[tuple[str, float]]] = {}
        for f, vocab in self._vocab.items():
            found = [t for t in near if t in vocab][:MAX_EXPANSIONS]
            if not found:
                out[f] = []
                continue
            idf = self._idf[f]
            blended = min([idf[t] for t in found] + ([idf[term]] if term in idf else []))
            out[f] = [(t, blended / idf[t]) for t in found]
        return out

    def text_query(self, words: Sequence[str], *, fuzzy: bool = True) -> Any:
        """The seed's ``multi_match`` (best_fields, AUTO fuzziness) as a tantivy query."""
        Q = tantivy.Query
        occ = tantivy.Occur.Should
        terms = self.terms(" ".join(words))
        near = {t: self._near(t) for t in terms} if fuzzy and self.fuzzy_boost > 0 else None
        per_field = []
        for fname, boost in FIELD_BOOSTS:
            clauses = []
            for term in terms:
                clauses.append((occ, Q.term_query(self.schema, fname, term)))
                if near is not None:
                    clauses.extend((occ, Q.boost_query(Q.term_query(
                        self.schema, fname, other), self.fuzzy_boost * ratio))
                        for other, ratio in near[term][fname])
            per_field.append(Q.boost_query(Q.boolean_query(clauses), boost))
        return Q.disjunction_max_query(per_field, tie_breaker=0.0)

    def query(self, request: SearchRequest) -> Any:
        """The full query: text must match, filters restrict without scoring."""
        Q = tantivy.Query
        words = request.words
        if not words:
            return None
        text = self.text_query(words)
        if not (request.brands or request.category is not None
                or request.min_price is not None or request.max_price is not None):
            return text  # no filter: a boolean wrapper around one clause only costs time
        must = tantivy.Occur.Must
        clauses: list[tuple[Any, Any]] = [(must, text)]
        if request.brands:
            clauses.append((must, Q.const_score_query(
                Q.term_set_query(self.schema, "brand_kw", list(request.brands)), 0.0)))
        if request.category is not None:
            clauses.append((must, Q.const_score_query(
                Q.term_query(self.schema, "category_kw", request.category), 0.0)))
        if request.min_price is not None or request.max_price is not None:
            clauses.append((must, Q.const_score_query(Q.range_query(
                self.schema, "price", tantivy.FieldType.Float, request.min_price,
                request.max_price), 0.0)))
        return Q.boolean_query(clauses)

    def top(self, request: SearchRequest, *, count: bool = True
            ) -> tuple[Any, list[Hit], int | None]:
        """The query, the top ``limit`` hits and the total (``None`` unless ``count``).

        Without ``count`` tantivy may skip documents that cannot reach the top ``limit``
        (block-max pruning); counting visits every match.
        """
        q = self.query(request)
        if q is None:
            return None, [], 0
        searcher: Any = self._searcher
        hits: list[Hit] = []
        total: int | None = None
        if request.limit > 0:  # limit=0 panics inside tantivy
            found = searcher.search(q, request.limit, count=count)
            total = int(found.count) if count else None
            if found.hits:
                ids = searcher.fast_field_values("id", [a for _, a in found.hits])
                for (score, _), pid in zip(found.hits, ids, strict=True):
                    sku, title, _ = self._rows[int(pid)]
                    hits.append(Hit(int(pid), sku, title, round(float(score), 6)))
            elif not count:
                total = 0  # nothing reached the top: nothing matches
        elif count:
            total = int(searcher.search(q, 1, count=True).count)
        return q, hits, total

    def search(self, request: SearchRequest) -> SearchResponse:
        """One search: top hits with BM25 scores, the total and the aggregations.

        The total is the sum of the price-range buckets (the ranges cover every price), so the
        top-10 search need not count.
        """
        t0 = time.perf_counter()
        q, hits, total = self.top(request, count=False)
        if q is None or total == 0:
            return SearchResponse([], 0, Facets(), (time.perf_counter() - t0) * 1e3,
                                  0 if q is None else 1)
        facets = self._facets(self._searcher.aggregate(q, self._aggs))
        if request.snippets and hits:
            hits = self.snippets(request, hits)
        total = sum(facets.price_ranges.values())
        if total == 0:
            facets = Facets()
        return SearchResponse(hits, total, facets, (time.perf_counter() - t0) * 1e3, 2)

    def snippets(self, request: SearchRequest, hits: list[Hit]) -> list[Hit]:
        """``hits`` with highlighted title and description (:class:`Snippet`).

        tantivy's ``SnippetGenerator`` marks the query's own terms (the exact clauses); a field
        it leaves unmarked (a fuzzy-only match) gets the words the fuzzy clauses matched, marked
        here.
        """
        terms = self.terms(" ".join(request.words))
        matcher = term_matcher(terms, self._analyzer.analyze,
                               edits=auto_edits if self.fuzzy_boost > 0 else None)
        fields = ("title", "description")
        exact = self.text_query(request.words, fuzzy=False)  # typo terms: matched below
        generators = {f: tantivy.SnippetGenerator.create(self._searcher, exact, self.schema, f)
                      for f in fields}
        out = []
        for hit in hits:
            texts = dict(zip(fields, self._rows[hit.id][1:], strict=True))
            marked: dict[str, str] = {}
            methods: set[str] = set()
            for f in fields:
                doc = tantivy.Document()
                doc.add_text(f, texts[f])
                snippet = generators[f].snippet_from_doc(doc)
                ranges = [(r.start, r.end) for r in snippet.highlighted()]
                if ranges and f == "title":  # the whole title, the ranges moved onto it
                    at = snippet.fragment_range().start
                    marked[f] = mark_ranges(texts[f], [(a + at, b + at) for a, b in ranges])
                    methods.add("engine")
                    continue
                if ranges:
                    marked[f] = mark_ranges(snippet.fragment(), ranges)
                    methods.add("engine")
                    continue
                marked[f], found = mark_matching(texts[f], matcher)
                if found:
                    methods.add("matched terms")
            out.append(replace(hit, snippet=Snippet(marked["title"], marked["description"],
                                                    method_name(methods))))
        return out

    def matching_ids(self, request: SearchRequest) -> list[int]:
        """Every matching product id (for holding facets against SQL)."""
        q = self.query(request)
        return [] if q is None else self.matching_ids_of(q)

    def matching_ids_of(self, q: Any) -> list[int]:
        """Every product id the tantivy query ``q`` matches."""
        n = int(self._searcher.search(q, 1, count=True).count)
        if n == 0:
            return []
        found = self._searcher.search(q, n, count=False)
        return [int(i) for i in self._searcher.fast_field_values(
            "id", [a for _, a in found.hits])]

    @staticmethod
    def _facets(aggs: dict[str, Any]) -> Facets:
        def buckets(name: str) -> dict[str, int]:
            return {str(b["key"]): int(b["doc_count"]) for b in aggs[name]["buckets"]
                    if b["key"] != "" and int(b["doc_count"]) > 0}
        ranges = {name: int(b["doc_count"]) for (name, _, _), b in
                  zip(PRICE_RANGES, aggs["price_ranges"]["buckets"], strict=True)}
        return Facets(buckets("brands"), buckets("categories"), ranges)

    # -- bookkeeping --------------------------------------------------------------------
    def index_bytes(self) -> int:
        """Bytes of the index folder on disk."""
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    def describe(self) -> dict[str, object]:
        """Backend facts."""
        return {"backend": "tantivy", "embedded": True,
                "version": str(getattr(tantivy, "__version__", "")),
                "fuzzy_boost": self.fuzzy_boost}

    def close(self) -> None:
        """Remove the temporary index folder."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> TantivyEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
