"""Where the gold answer was when an answer missed it, and what longer quotes would have held.

Reads one ``assistant eval`` run (``results.jsonl``; the articles are read again from each citation's ``source``)
and sorts every answered answerable question whose answer does not hold a gold answer by where the gold is,
relative to the sentence quoted: in that sentence but clipped away (the quote keeps the clauses around a wrong
span), in the sentence just before it, just after it, or elsewhere. The first three are what a reader that sees a
sentence's neighbours could reach.

``--quote-limits`` also clips each answered sentence again around its bold phrase at other word limits
(``Settings.answer_max_words``; 0 quotes whole sentences), giving str_em over the answered answerable questions
and the answers' median length: what a longer quote buys, offline.

    .venv/bin/python -m bench.misses RUN/results.jsonl [--quote-limits 25 30 40 0]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answer.clauses import clauses_around
from assistant.eval.metrics import contains_answer, strip_citation_markers
from assistant.text import split_sentences

PLACES = ("clipped from the quoted sentence", "in the sentence before", "in the sentence after", "elsewhere")


@lru_cache(maxsize=256)
def _article(source: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text = Path(source).read_text(encoding="utf-8")
    return text, tuple(split_sentences(text))


def quoted_sentence(row: dict) -> tuple[str, int, list[str]] | None:
    """The whole sentence the answer quotes, its index in the article, and the article's sentences (None when the
    quote is not found in the source file)."""
    citation = row["citations"][0]
    text, spans = _article(citation["source"])
    at = text.find(citation["quote"][:60])
    index = next((k for k, (s, e) in enumerate(spans) if s <= at < e), None) if at >= 0 else None
    if index is None:
        return None
    sentences = [text[s:e] for s, e in spans]
    return sentences[index], index, sentences


def place_of_gold(row: dict) -> str | None:
    """Where an answered answerable question's gold is when its answer misses it (None: a right answer, or the
    quote not found)."""
    if contains_answer(strip_citation_markers(row["answer"]), row["gold"]):
        return None
    found = quoted_sentence(row)
    if found is None:
        return None
    sentence, k, sentences = found
    if contains_answer(sentence, row["gold"]):
        return PLACES[0]
    if k > 0 and contains_answer(sentences[k - 1], row["gold"]):
        return PLACES[1]
    if k + 1 < len(sentences) and contains_answer(sentences[k + 1], row["gold"]):
        return PLACES[2]
    return PLACES[3]


def quoted_at(row: dict, max_words: int) -> str | None:
    """The answer's sentence clipped around its bold phrase at ``max_words`` (None when it cannot be placed)."""
    found = quoted_sentence(row)
    citation = row["citations"][0]
    if found is None or not citation.get("phrase"):
        return None
    sentence = found[0]
    begin = sentence.find(citation["quote"])
    at = sentence.find(citation["phrase"], max(begin, 0))
    if begin < 0 or at < 0:
        return None
    s, e = clauses_around(sentence, (at, at + len(citation["phrase"])), max_words)
    return sentence[s:e]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--quote-limits", type=int, nargs="*", default=[], metavar="WORDS")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    answered = [r for r in rows if r["answerable"] and r["citations"] and not r.get("refused")]
    places = Counter(place_of_gold(r) for r in answered)
    total = sum(1 for r in rows if r["answerable"])
    right = sum(contains_answer(strip_citation_markers(r["answer"]), r["gold"]) for r in answered)
    print(f"{total} answerable questions, {len(answered)} answered, {right} of them right\n\n| where the gold was | questions | share of answerable |\n|---|---|---|")
    for place in PLACES:
        print(f"| {place} | {places[place]} | {places[place] / max(total, 1):.3f} |")
    if args.quote_limits:
        print("\n| answer_max_words | str_em (answered answerable) | median words (all answered) |\n|---|---|---|")
    for limit in args.quote_limits:
        quotes = [(r, quoted_at(r, limit)) for r in rows if r["citations"] and not r.get("refused")]
        quotes = [(r, q) for r, q in quotes if q is not None]
        held = [contains_answer(q, r["gold"]) for r, q in quotes if r["answerable"]]
        print(f"| {limit or 'whole sentence'} | {np.mean(held):.4f} | {np.median([len(q.split()) for _, q in quotes]):.0f} |")


if __name__ == "__main__":
    main()
