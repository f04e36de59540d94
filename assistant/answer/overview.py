"""Extractive overviews and catalogues: what people ask of an article before they ask about it.

Overview ("Summarize the article"): the article's first sentences, at most three and at most
``OVERVIEW_MAX_WORDS`` words, each cited with its span. News puts its key facts first, and centrality
over MiniLM sentence vectors, alone or with a position prior, scores below the lead there (the set's
README), so the lead it is, with page furniture, bylines, datelines, headlines, photo captions, orders planted
for an AI and near-repeats never picked, and an opening "(CNN) -- " left out of the quote. The word budget was chosen on cnn-summary-dev's two halves (README,
"Overviews, measured"): 100 words kept Lead-3's ROUGE or better on both; 90 lost on both. "What does it say about X?" picks
the sentences closest to X instead, in article order.

Catalogue ("What articles do you have?"): one line per article, most recent first, each citing its
lead sentence; "Which articles are about X?" keeps the articles whose title and lead are about X, the closest
first. Past ``chain.CATALOGUE_ARTICLES`` articles, those read are the ones whose passages a search finds nearest X
(then the most recent), and the answer says it searched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from ..models import Answer, Citation, Passage
from ..question.kinds import Request
from ..text import (
    CAPTION,
    addresses_the_model,
    dateline_length,
    find_dateline,
    is_headline,
    split_sentences,
    without_markers,
)

Encode = Callable[[list[str]], np.ndarray]

OVERVIEW_SENTENCES = 3
OVERVIEW_MAX_WORDS = 100
# Sentences of one article compared for the lead; a repeat (the dek restated as the first paragraph) is skipped.
LEAD_WINDOW = 12
NEAR_REPEAT = 0.9
# Below this cosine to the topic, a sentence (or an article's lead) is not about it.
MIN_TOPIC_SIMILARITY = 0.25
CATALOGUE_MAX_LINES = 10
_BYLINE = re.compile(r"^\W*(?:by\s|published:|updated:|last updated\b|posted\b|\(cnn\)\s*$)", re.I)


def overview(request: Request, passages: list[Passage], encode: Encode, refusal: str) -> Answer:
    """One article's (or each scoped article's) key sentences, cited."""
    by_article = _group(passages)
    budget = OVERVIEW_MAX_WORDS if len(by_article) == 1 else max(25, OVERVIEW_MAX_WORDS // len(by_article))
    picked: list[tuple[Passage, int, int]] = []
    for article_passages in by_article.values():
        sentences = _sentences(article_passages)
        if request.focus:
            chosen = _about(request.focus, sentences, encode, budget)
        else:
            chosen = _lead(sentences, encode, budget, OVERVIEW_SENTENCES if len(by_article) == 1 else 2)
        picked += chosen
    if not picked:
        return Answer(answer=refusal, refused=True, refusal_reason="nothing about the focus" if request.focus else "no sentence")
    return _compose(picked)


def catalogue(request: Request, passages: list[Passage], encode: Encode) -> Answer:
    """A cited line per article (``passages``: each article's first chunk, most recent first)."""
    total = request.articles_total or len(passages)
    leads = [sentence for p in passages for sentence in _sentences([p])[:1]]  # (passage, start, end)
    # Past chain.CATALOGUE_ARTICLES articles not every lead is read: said, or the count would pass for a census.
    searched = f"Searching the {total:,} articles found" if request.searched else ""
    if request.topic:
        vectors = encode([request.topic] + [f"{p.title}. {p.article_text[s:e]}" for p, s, e in leads])
        similarity = vectors[1:] @ vectors[0]
        leads = [lead for lead, sim in sorted(zip(leads, similarity), key=lambda x: -x[1]) if sim >= MIN_TOPIC_SIMILARITY]
        if not leads:
            among = f"the {total} article" if total == 1 else f"the {total:,} articles"
            said = f"{searched} none about {request.topic}." if searched else f"None of {among} is about {request.topic}."
            return Answer(answer=said, refused=True,
                          refusal_reason="no article about the topic")
    shown = leads[:CATALOGUE_MAX_LINES]
    count = len(leads) if request.topic else total
    if request.topic:  # ordered by how close each is to the topic
        order = ", the closest first:" if count > 1 else ":"
        head = f"{searched or ''} {count} article{'s' if count != 1 else ''} about {request.topic}".lstrip() + order
    else:
        head = f"{count} article{'s' if count != 1 else ''}" + (", most recent first:" if count > 1 else ":")
    if request.ambiguous:
        head = f"“{without_markers(request.ambiguous)}” could be any of these {count} articles; ask again naming one:"
    lines, citations = [head], []
    for n, (p, s, e) in enumerate(shown, start=1):
        when = f" ({p.published})" if p.published else ""
        lines.append(f"- {without_markers(p.title)}{when}: {without_markers(p.article_text[s:e]).strip()} [{n}]")
        citations.append(Citation.quoting(n, p, s, e, 1.0))
    if count > len(shown):
        lines.append(f"… and {count - len(shown)} more.")
    return Answer(answer="\n".join(lines), citations=citations)


# --- choosing sentences -------------------------------------------------------------------------
def _group(passages: list[Passage]) -> dict[str, list[Passage]]:
    grouped: dict[str, list[Passage]] = {}
    for p in passages:
        grouped.setdefault(p.chunk.article_id, []).append(p)
    return grouped


def _sentences(passages: list[Passage]) -> list[tuple[Passage, int, int]]:
    """The article's sentences that could stand in an overview, in order, each with the passage holding it."""
    first = passages[0]
    text = first.article_text
    dateline = find_dateline(text)
    out = []
    for s, e in split_sentences(text, min(p.chunk.start for p in passages), max(p.chunk.end for p in passages)):
        sentence = text[s:e]
        holder = next((p for p in passages if p.chunk.start <= s < p.chunk.end), None)
        if holder is None or len(sentence.split()) < 4 or (dateline and s == dateline.start):
            continue
        if (sentence.strip() == first.title.strip() and is_headline(sentence)) or _BYLINE.match(sentence):
            continue
        if addresses_the_model(sentence) or CAPTION.search(sentence):
            continue
        out.append((holder, s + dateline_length(sentence), e))  # "(CNN) -- " is not part of what it says
    return out


def _lead(sentences, encode: Encode, budget: int, most: int) -> list[tuple[Passage, int, int]]:
    window = sentences[:LEAD_WINDOW]
    if not window:
        return []
    vectors = encode([p.article_text[s:e] for p, s, e in window])
    chosen: list[int] = []
    words = 0
    for i, (p, s, e) in enumerate(window):
        if any(float(vectors[i] @ vectors[j]) > NEAR_REPEAT for j in chosen):
            continue
        length = len(p.article_text[s:e].split())
        if chosen and words + length > budget:
            break
        chosen.append(i)
        words += length
        if len(chosen) == most:
            break
    return [window[i] for i in chosen]


def _about(focus: str, sentences, encode: Encode, budget: int) -> list[tuple[Passage, int, int]]:
    if not sentences:
        return []
    vectors = encode([focus] + [p.article_text[s:e] for p, s, e in sentences])
    similarity = vectors[1:] @ vectors[0]
    ranked = [i for i in np.argsort(-similarity) if similarity[i] >= MIN_TOPIC_SIMILARITY][:OVERVIEW_SENTENCES]
    chosen, words = [], 0
    for i in ranked:
        p, s, e = sentences[i]
        length = len(p.article_text[s:e].split())
        if chosen and words + length > budget:
            continue
        chosen.append(i)
        words += length
    return [sentences[i] for i in sorted(chosen)]


def _compose(picked: list[tuple[Passage, int, int]]) -> Answer:
    parts, citations = [], []
    for n, (p, s, e) in enumerate(picked, start=1):
        citations.append(Citation.quoting(n, p, s, e, 1.0))
        parts.append(f"{without_markers(p.article_text[s:e]).strip()} [{n}]")
    return Answer(answer=" ".join(parts), citations=citations)
