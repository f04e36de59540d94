"""Shorten a long answer sentence to the clauses that answer the question.

A sentence that answers a reading-comprehension question mostly restates the
question and adds the answer next to the restated words: "The principle
becomes quite complex, however, given the uncertainties of fossilization, ...".
So a long sentence keeps the run of clauses from the first to the last one that
holds a key term of the question (or the kind of thing asked for), plus one
clause on each side, where the answer usually sits; clauses farther out go.
A fragment or a relative clause at the left end brings the clause it leans on
("... John Elway, who led the Broncos ..." keeps "John Elway").
"""

from __future__ import annotations

import re

from ..question.analysis import PATTERNS, WORD, QuestionAnalysis, sentence_has_kind, stem

# Clause boundaries: after , ; : ; around parentheses and dashes; before a relative or contrastive word.
# Not at the comma inside a date ("September 9, 1914"), whose halves mean nothing apart.
_BOUNDARY = re.compile(
    r"(?<=[;:])\s+|(?<=,)(?<!\d,)\s+|(?<=\d,)\s+(?!\d{4}\b)|\s+(?=\()|(?<=\))\s+|\s+[–—]\s+"
    r"|\s+(?=(?:which|while|where|who|whereas|although|but)\b)"
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


def answering_span(analysis: QuestionAnalysis, sentence: str, max_words: int) -> tuple[int, int]:
    """The part of ``sentence`` to quote: all of it up to ``max_words`` words, else the clauses around the question's terms."""
    whole = (0, len(sentence))
    if max_words <= 0 or len(sentence.split()) <= max_words:
        return whole
    spans = clause_spans(sentence)
    if len(spans) < 2:
        return whole
    clauses = [sentence[s:e] for s, e in spans]
    has_terms = [any(stem(w) in analysis.terms for w in WORD.findall(c)) for c in clauses]
    has_kind = [analysis.kind is not None and sentence_has_kind(analysis.kind, c, analysis) for c in clauses]
    hits = [i for i, hit in enumerate(has_terms) if hit] or [0]
    first, last = min(hits), max(hits)
    kinds = [i for i, hit in enumerate(has_kind) if hit]
    if kinds:  # reach the nearest clause holding what is asked for
        first = min(first, min(kinds, key=lambda i: abs(i - first)))
        last = max(last, min(kinds, key=lambda i: abs(i - last)))
    # One clause more on each side, unless the end clause already holds the number, date... asked for;
    # and a fragment ("(1685),") or a relative clause ("who led ...") brings the clause it leans on.
    holds_asked = [kind and analysis.kind in PATTERNS for kind in has_kind]
    if first > 0 and not holds_asked[first]:
        first -= 1
    while first > 0 and (len(clauses[first].split()) < 4 or _RELATIVE.match(clauses[first])):
        first -= 1
    if not holds_asked[last]:
        last = min(len(spans) - 1, last + 1)
    return spans[first][0], spans[last][1]
