"""The default backend: answers are sentences quoted from the passages, the answer phrase in bold. Offline.

The candidate sentences of the retrieved passages go to the reader (reader.py), one model trained on SQuAD: for
each it gives the answer span and an answerability score. The answer quotes the sentence the reader finds most
answerable, less a penalty per retrieval rank of its passage (or its clauses around the span, when long) with the span as the cited phrase; when no sentence is
answerable enough (``settings.answerability_threshold``), the assistant says the articles do not say.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..embeddings import word_vectors
from ..models import Answer, Citation, Passage
from ..question.analysis import WORD, question_terms, stem
from ..question.kinds import Request
from ..text import addresses_the_model, find_dateline, is_headline, split_sentences, without_markers
from . import reader
from .base import AnswerBackend
from .candidates import Candidate
from .clauses import clauses_around
from .overview import catalogue, overview
from .subject_names import as_asked, subject_names


@lru_cache(maxsize=512)
def article_sentences(article_id: str, text: str) -> list[tuple[int, int]]:
    """Sentence spans of a whole article, split once and reused across questions."""
    return split_sentences(text)


@lru_cache(maxsize=512)
def has_body(article_id: str, text: str, title: str) -> bool:
    """Whether the article has a sentence besides its headline to answer from (one that is no order to an AI).

    A .txt file's title is its first line: in a one-line article, or one whose other lines are planted
    orders, that line is all there is to answer from.
    """
    return any(
        sentence != title and len(WORD.findall(sentence)) >= 2 and not addresses_the_model(sentence)
        for sentence in (text[s:e] for s, e in article_sentences(article_id, text))
    )


class ExtractiveBackend(AnswerBackend):
    name = "extractive"

    def warm_up(self) -> None:
        # The reader's ONNX file is built once per machine from the packaged weights (about 20 s). Then everything
        # an answer loads is loaded now (about 0.6 s: the reader, the word vectors, the word frequencies), not by
        # the first questions, which would each load some of it at once.
        reader.shipped().build()
        word_vectors.shipped().build()
        reader.shipped().read("What is read?", ["The reader reads."])
        word_vectors.shipped().likeness("What is read?", ["The reader reads."])
        question_terms("What is read?")

    def answer(self, question: str, passages: list[Passage], request: Request | None = None) -> Answer:
        if request is not None and request.kind == "overview":
            return overview(request, passages, self.embedder.encode_cached, self.prompts.refusal)
        if request is not None and request.kind == "catalogue":
            return catalogue(request, passages, self.embedder.encode_cached)
        if not question_terms(question):
            # "When?" or "Who is he?" with nothing before it names nothing to look for: whatever sentence reads
            # best would answer some other question
            return self.refusal().model_copy(update={"refusal_reason": "no question terms"})
        candidates = self.rank(question, passages)
        if not candidates:
            return self.refusal().model_copy(update={"refusal_reason": "no passage" if not passages else "no sentence"})
        best = candidates[0]
        why = {"support": best.answerability, "refusal_signals": {"answerability": best.answerability}}
        if best.answerability < self.settings.answerability_threshold:
            return self.refusal().model_copy(update={**why, "refusal_reason": "answerability"})
        return self._compose(best, passages).model_copy(update=why)

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """The candidate sentences the reader read, best first: answerability less the passage's rank penalty (what
        the answer is chosen from). They are read most promising first, until one scores ``reader_stop_score``."""
        candidates = self._candidates(passages, question)
        read = _most_promising(question, candidates, passages, self.settings.reader_sentences,
                               self.settings.rrf_k)
        stop = self.settings.reader_stop_score
        for n, c in enumerate(read, start=1):
            (reading,) = reader.shipped().read(question, [c.reading_text])
            c.answerability = reading.answerability
            c.read_as(reading.span)
            # the reader sees one sentence at a time; retrieval saw the passage: a lower-ranked one must read better
            c.score = c.answerability - self.settings.rank_penalty * (passages[c.passage].rank - 1)
            if stop is not None and c.score >= stop:
                read = read[:n]
                break
        return sorted(read, key=lambda c: c.score, reverse=True)

    # --- candidates ----------------------------------------------------------
    def _candidates(self, passages: list[Passage], question: str) -> list[Candidate]:
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        for i, p in enumerate(passages):
            text = p.article_text
            dateline = find_dateline(text)
            title_stems = _stems(p.title)
            names = subject_names(p.chunk.article_id, text, p.title)
            spans = article_sentences(p.chunk.article_id, text)
            for j, (s, e) in enumerate(spans):
                if e <= p.chunk.start or s >= p.chunk.end:
                    continue
                key = (p.chunk.article_id, s)
                sentence = text[s:e]
                is_dateline = dateline is not None and s == dateline.start
                if key in seen or not (is_dateline or len(WORD.findall(sentence)) >= 2):
                    continue
                if sentence == p.title and is_headline(sentence) and has_body(p.chunk.article_id, text, p.title):
                    continue  # the headline names the topic; it answers only when it is all the article says
                if addresses_the_model(sentence):
                    continue  # an order planted for an AI is not a fact (the LLM path drops it too)
                seen.add(key)
                previous = text[spans[j - 1][0] : spans[j - 1][1]] if j > 0 else ""
                # A bare date line says nothing by itself: the reader is told what it is (and its span is not kept).
                renamed = None if is_dateline else as_asked(sentence, question, names)
                reading = f"The article was published on {sentence}." if is_dateline else renamed.text
                out.append(Candidate(passage=i, start=s, end=e, text=sentence, reading_text=reading, renamed=renamed,
                                     context_stems=_stems(sentence) | _stems(previous) | title_stems))
        return out

    # --- output ------------------------------------------------------------
    def _compose(self, best: Candidate, passages: list[Passage]) -> Answer:
        # A long sentence is quoted by its clauses around the answer; the citation points at exactly those.
        span = best.span
        s, e = clauses_around(best.text, span, self.settings.answer_max_words)
        quote = best.text[s:e].rstrip()
        phrase = (span[0] - s, span[1] - s) if span and s <= span[0] and span[1] <= s + len(quote) else None
        p = passages[best.passage]
        citation = Citation.quoting(1, p, best.start + s, best.start + s + len(quote), best.answerability, phrase)
        text = f"{'…' if s > 0 else ''}{without_markers(quote)}{'…' if e < len(best.text.rstrip()) else ''} [1]"
        return Answer(answer=text, citations=[citation], refused=False)


def _most_promising(question: str, candidates: list[Candidate], passages: list[Passage], limit: int,
                    rrf_k: int) -> list[Candidate]:
    """The ``limit`` candidates the reader reads (all when 0): reading costs about 5 ms a sentence, this about 1 ms."""
    if not limit or len(candidates) <= limit:
        return candidates
    return by_promise(question, candidates, passages, rrf_k)[:limit]


def by_promise(question: str, candidates: list[Candidate], passages: list[Passage], rrf_k: int) -> list[Candidate]:
    """The candidates most worth reading first: two orders fused by their reciprocal ranks, as retrieval fuses its
    two. One by the share of the question's terms that the sentence, the one before it and the title hold (ties
    broken by the passage's retrieval rank); one by the sentence's likeness to the question in word vectors, for a
    question that asks in other words than the article's."""
    terms = question_terms(question)
    total = sum(terms.values()) or 1.0

    def promise(c: Candidate) -> tuple[float, float]:
        return sum(w for t, w in terms.items() if t in c.context_stems) / total, -passages[c.passage].rank

    by_terms = sorted(candidates, key=promise, reverse=True)
    likeness = word_vectors.shipped().likeness(question, [c.reading_text for c in candidates])
    by_likeness = [candidates[i] for i in np.argsort(-likeness, kind="stable")]
    fused: dict[int, float] = {}
    for order in (by_terms, by_likeness):
        for rank, c in enumerate(order):
            fused[id(c)] = fused.get(id(c), 0.0) + 1.0 / (rrf_k + rank + 1)
    return sorted(by_terms, key=lambda c: fused[id(c)], reverse=True)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in WORD.findall(text))
