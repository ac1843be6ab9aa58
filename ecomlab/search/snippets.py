"""Highlighted fragments for hits, made safe to show as HTML on every engine.

Each engine's highlighter marks the matched words its own way: tantivy's ``SnippetGenerator``
returns a fragment and the byte ranges of the matched words (:func:`mark_ranges`); SQLite FTS5
``highlight()`` / ``snippet()``, PostgreSQL ``ts_headline`` and Elasticsearch highlighting
wrap them in delimiters that are bound as parameters (:data:`OPEN`, :data:`CLOSE`, turned into
tags by :func:`mark_delimited`). Either way the product text is HTML-escaped and the only markup
in the result is ``<mark>`` / ``</mark>``, so a ``<script>`` in a title or a query shows as
text.

tantivy returns no snippet for a document matched only by a fuzzy (typo) clause: its
highlighter looks for the query's terms, and the typo is no term of the document. For those,
:func:`mark_matching` marks the document's own words whose indexed term is a query term or lies
within the query term's AUTO edit distance (optimal string alignment, a transposition costing
one edit, as the engine's ``fuzzy_term_query`` counts) — the words the fuzzy clause matched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence

from rapidfuzz.distance import OSA

__all__ = ["CLOSE", "FRAGMENT_CHARS", "OPEN", "mark_delimited", "mark_matching", "mark_ranges",
           "method_name", "stored_text", "term_matcher"]

#: delimiters the databases and Elasticsearch put around a matched word: the Unicode
#: noncharacters U+FDD0 / U+FDD1, reserved by Unicode for a program's internal use; bound as
#: parameters, never written into SQL, and removed from the text those engines store
#: (:func:`stored_text`)
OPEN = "\ufdd0"
CLOSE = "\ufdd1"
#: longest description fragment shown (characters), as tantivy's default
FRAGMENT_CHARS = 150
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DELIMS = re.compile(f"([{OPEN}{CLOSE}])")


def stored_text(text: str) -> str:
    """``text`` without :data:`OPEN` / :data:`CLOSE`: what the highlighting engines store, so a
    delimiter found in their output is always one they put there."""
    return text.replace(OPEN, "").replace(CLOSE, "")


def mark_ranges(fragment: str, ranges: Iterable[tuple[int, int]]) -> str:
    """``fragment`` HTML-escaped with the UTF-8 byte ranges ``[start, end)`` in ``<mark>``."""
    data = fragment.encode()
    out: list[str] = []
    pos = 0
    for start, end in sorted(ranges):
        if start < pos or end <= start:
            continue  # overlapping or empty: already marked
        out.append(html.escape(data[pos:start].decode(errors="replace")))
        out.append("<mark>" + html.escape(data[start:end].decode(errors="replace")) + "</mark>")
        pos = end
    out.append(html.escape(data[pos:].decode(errors="replace")))
    return "".join(out)


def mark_delimited(text: str) -> tuple[str, bool]:
    """``text`` HTML-escaped, each :data:`OPEN` ... :data:`CLOSE` span in ``<mark>``.

    Returns the HTML and whether any word was marked. An unbalanced delimiter is dropped, so
    the tags always pair up.
    """
    out: list[str] = []
    inside = marked = False
    for piece in _DELIMS.split(text):
        if piece == OPEN:
            if not inside:
                out.append("<mark>")
                inside = True
        elif piece == CLOSE:
            if inside:
                out.append("</mark>")
                inside, marked = False, True
        else:
            out.append(html.escape(piece))
    if inside:
        out.append("</mark>")
        marked = True
    return "".join(out), marked


def term_matcher(terms: Sequence[str], analyze: Callable[[str], list[str]], *,
                 edits: Callable[[str], int] | None) -> Callable[[str], bool]:
    """Does a document word match one of the query's indexed ``terms``?

    Args:
        terms: the query's terms as the index holds them (lower-cased, stemmed).
        analyze: the index's analyzer (a word -> its terms; none for a stop word).
        edits: edits allowed for a query term (the AUTO rule); ``None`` means exact only.
    """
    exact = set(terms)
    fuzzy = [(t, edits(t)) for t in exact] if edits is not None else []
    fuzzy = [(t, k) for t, k in fuzzy if k > 0]

    def matches(word: str) -> bool:
        found = analyze(word)
        if not found:
            return False
        term = found[0]
        return term in exact or any(OSA.distance(term, t, score_cutoff=k) <= k
                                    for t, k in fuzzy)
    return matches


def mark_matching(text: str, matches: Callable[[str], bool], *,
                  max_chars: int = FRAGMENT_CHARS) -> tuple[str, bool]:
    """The words of ``text`` that ``matches`` accepts in ``<mark>``, the rest HTML-escaped.

    Longer texts are cut to a fragment of at most ``max_chars`` characters starting at a word
    shortly before the first match. Returns ``("", False)`` when no word matches.
    """
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text) if matches(m.group())]
    if not spans:
        return "", False
    lo, hi = 0, len(text)
    if hi > max_chars:
        starts = [m.start() for m in _WORD.finditer(text, 0, spans[0][0] + 1)]
        lo = starts[max(0, len(starts) - 4)]  # three words of context before the match
        hi = lo + max_chars
        cut = [m.end() for m in _WORD.finditer(text, lo) if m.end() <= hi]  # whole words
        hi = cut[-1] if cut else hi
    out: list[str] = []
    pos = lo
    for start, end in spans:
        if start < lo or end > hi:
            continue
        out.append(html.escape(text[pos:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    out.append(html.escape(text[pos:hi]))
    return "".join(out), True


def method_name(methods: set[str]) -> str:
    """``engine``, ``matched terms``, ``engine + matched terms`` or ``none``."""
    if not methods:
        return "none"
    return " + ".join(m for m in ("engine", "matched terms") if m in methods)
