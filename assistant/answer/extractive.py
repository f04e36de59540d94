"""The default backend: answers are sentences quoted from the passages. Offline, deterministic.

Each sentence of the retrieved passages is scored on several signals: semantic
similarity to the question, weighted overlap with the question's key terms,
and whether it holds the kind of thing asked for (a number, a date, a name, a
quote). The best sentence is the answer unless the refusal checks say the
passages do not actually hold what is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..ingest.chunking import split_sentences
from ..ingest.cleaning import find_dateline
from ..models import Answer, Citation, Passage
from .base import AnswerBackend, register
from .question import PATTERNS, WORD, QuestionAnalysis, analyse, sentence_has_kind, stem

# Weights of the sentence score; tuned with `make eval-ablation` on shared/evaldata.
W_SEMANTIC = 0.55
W_LEXICAL = 0.45
W_KIND = 0.10
W_RANK = 0.04
# A sentence must cover at least this share (by weight) of the question's
# non-name terms, counting the sentence before it and the title as context.
MIN_PREDICATE_COVERAGE = 0.34
# Kinds of answer that the chosen sentence must contain, or the assistant refuses.
STRICT_KINDS = {"age", "number", "date", "quote"}


@dataclass
class Candidate:
    passage: int  # index into passages
    start: int
    end: int
    text: str
    scoring_text: str
    context_stems: frozenset[str]  # stems of this sentence + the one before + the title
    stems: frozenset[str]
    semantic: float = 0.0
    lexical: float = 0.0
    kind_ok: bool = True
    score: float = 0.0


@register("extractive")
class ExtractiveBackend(AnswerBackend):
    def answer(self, question: str, passages: list[Passage]) -> Answer:
        if not passages:
            return self.refusal()
        analysis = analyse(question)
        candidates = self._candidates(passages)
        if not candidates:
            return self.refusal()
        self._score(analysis, candidates, passages)
        best = max(candidates, key=lambda c: c.score)
        if self._should_refuse(analysis, best):
            return self.refusal()
        return self._compose(analysis, [best], passages)

    # --- candidates ----------------------------------------------------------
    def _candidates(self, passages: list[Passage]) -> list[Candidate]:
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        for i, p in enumerate(passages):
            text = p.article_text
            dateline = find_dateline(text)
            title_stems = _stems(p.title)
            spans = split_sentences(text, p.chunk.start, p.chunk.end)
            previous_stems: frozenset[str] = frozenset()
            for s, e in spans:
                sentence = text[s:e]
                stems = _stems(sentence)
                is_dateline = dateline is not None and s == dateline.start
                key = (p.chunk.article_id, s)
                if key not in seen and (is_dateline or len(WORD.findall(sentence)) >= 2):
                    seen.add(key)
                    scoring = sentence
                    if is_dateline:
                        # A bare date line says nothing by itself; say what it is.
                        scoring = f"The article was published on {sentence}."
                        stems = stems | _stems("article published date")
                    out.append(
                        Candidate(
                            passage=i, start=s, end=e, text=sentence, scoring_text=scoring,
                            context_stems=stems | previous_stems | title_stems, stems=stems,
                        )
                    )
                previous_stems = stems
        return out

    # --- scoring -----------------------------------------------------------
    def _score(self, analysis: QuestionAnalysis, candidates: list[Candidate], passages: list[Passage]) -> None:
        vectors = self.embedder.encode([analysis.text] + [c.scoring_text for c in candidates])
        semantic = vectors[1:] @ vectors[0]
        total = sum(analysis.terms.values()) or 1.0
        for c, sim in zip(candidates, semantic.tolist()):
            c.semantic = float(np.clip(sim, 0.0, 1.0))
            # Names often sit in the sentence before ("Kerry ... . He said"), so context counts, for less.
            in_sentence = sum(w for t, w in analysis.terms.items() if t in c.stems)
            in_context = sum(w for t, w in analysis.terms.items() if t in c.context_stems)
            c.lexical = (0.75 * in_sentence + 0.25 * in_context) / total
            c.kind_ok = sentence_has_kind(analysis.kind, c.text, analysis)
            c.score = (
                W_SEMANTIC * c.semantic
                + W_LEXICAL * c.lexical
                + (W_KIND if c.kind_ok else 0.0)
                + W_RANK / (passages[c.passage].rank)
            )

    def _should_refuse(self, analysis: QuestionAnalysis, best: Candidate) -> bool:
        support = W_SEMANTIC * best.semantic + W_LEXICAL * best.lexical
        if support < self.settings.refusal_threshold:
            return True
        if analysis.kind in STRICT_KINDS and not best.kind_ok:
            return True
        predicate = {t: w for t, w in analysis.terms.items() if t not in analysis.proper_terms}
        if predicate:
            covered = sum(w for t, w in predicate.items() if t in best.context_stems)
            if covered / sum(predicate.values()) < MIN_PREDICATE_COVERAGE:
                return True
        return False

    # --- output ------------------------------------------------------------
    def _compose(self, analysis: QuestionAnalysis, chosen: list[Candidate], passages: list[Passage]) -> Answer:
        parts: list[str] = []
        citations: list[Citation] = []
        for n, c in enumerate(chosen, start=1):
            p = passages[c.passage]
            highlight = _highlight(analysis, c.text)
            citations.append(
                Citation(
                    n=n,
                    article_id=p.chunk.article_id,
                    title=p.title,
                    source=p.source,
                    quote=c.text,
                    start=c.start,
                    end=c.end,
                    score=round(c.score, 4),
                    passage=p.chunk.text,
                    passage_start=p.chunk.start,
                    highlight_start=highlight[0] if highlight else None,
                    highlight_end=highlight[1] if highlight else None,
                )
            )
            parts.append(f"{c.text.rstrip()} [{n}]")
        return Answer(answer=" ".join(parts), citations=citations, refused=False)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in WORD.findall(text))


def _highlight(analysis: QuestionAnalysis, sentence: str) -> tuple[int, int] | None:
    """The part of the sentence that answers: the asked-for kind, else the longest run of new words."""
    if analysis.kind in PATTERNS:
        asked = {m.group().lower() for m in PATTERNS[analysis.kind].finditer(analysis.text)}
        for m in PATTERNS[analysis.kind].finditer(sentence):
            if m.group().lower() not in asked:
                return m.span()
    best: tuple[int, int] | None = None
    run_start = run_end = None
    for m in re.finditer(r"\S+", sentence):
        word = m.group().strip(".,;:!?\"'“”()[]")
        new = bool(word) and stem(word) not in analysis.terms and word.lower() not in {"the", "a", "an", "of", "and", "to", "in"}
        if new:
            run_start = m.start() if run_start is None else run_start
            run_end = m.end()
            if best is None or run_end - run_start > best[1] - best[0]:
                best = (run_start, run_end)
        else:
            run_start = None
    return best
