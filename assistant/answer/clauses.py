"""Shorten a long answer sentence to the clauses that answer the question.

A long answer sentence is quoted by the clauses that hold the reader's answer span
and as many of their neighbours as fit in the word limit, so the quote still
reads as a statement around the answer. A fragment or a relative clause at the
left end brings the clause it leans on ("... John Elway, who led the Broncos ..."
keeps "John Elway").
"""

from __future__ import annotations

import re

# Clause boundaries: after , ; : ; around parentheses and dashes; before a relative or contrastive word.
# Not at the comma inside a date ("September 9, 1914"), whose halves mean nothing apart. A gap is matched from
# where its spaces start ((?<!\s), possessive): tried from every space of a long run, it was quadratic.
_BOUNDARY = re.compile(
    r"(?<=[;:])\s+|(?<=,)(?<!\d,)\s+|(?<=\d,)\s+(?!\d{4}\b)|(?<!\s)\s++(?=\()|(?<=\))\s+|(?<!\s)\s++[–—]\s+"
    r"|(?<!\s)\s++(?=(?:which|while|where|who|whereas|although|but)\b)"
)

_RELATIVE = re.compile(r"(?:who|whom|whose|which|where)\b", re.I)


def clause_spans(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the sentence's clauses, in order, covering it without the spaces between."""
    spans, start = [], 0
    for gap in _BOUNDARY.finditer(sentence):
        if gap.start() > start:
            spans.append((start, gap.start()))
        start = gap.end()
    if start < len(sentence):
        spans.append((start, len(sentence)))
    return spans


def clauses_around(sentence: str, span: tuple[int, int] | None, max_words: int) -> tuple[int, int]:
    """The part of ``sentence`` to quote: all of it up to ``max_words`` words, else the clauses holding the answer
    ``span`` and their neighbours, nearest first, while they fit in ``max_words``."""
    whole = (0, len(sentence))
    spans = clause_spans(sentence)
    if max_words <= 0 or len(sentence.split()) <= max_words or len(spans) < 2 or span is None:
        return whole
    inside = [i for i, (s, e) in enumerate(spans) if s < span[1] and e > span[0]] or [0]
    first, last = min(inside), max(inside)

    def words(a: int, b: int) -> int:
        return len(sentence[spans[a][0] : spans[b][1]].split())

    lo, hi = first, last  # the clauses of the span itself
    while True:
        start_clause = sentence[spans[first][0] : spans[first][1]]
        leaning = first > 0 and (len(start_clause.split()) < 4 or bool(_RELATIVE.match(start_clause)))
        before = first > 0 and words(first - 1, last) <= max_words
        after = last < len(spans) - 1 and words(first, last + 1) <= max_words
        # a quote never opens on a fragment or a relative clause, whatever the limit; otherwise grow on both
        # sides in turn while the quote fits
        if leaning or (before and (not after or lo - first <= last - hi)):
            first -= 1
        elif after:
            last += 1
        else:
            return spans[first][0], spans[last][1]
