"""The default backend: answers are sentences quoted from the passages. Offline, deterministic.

Each sentence of the retrieved passages is scored on several signals: semantic
similarity to the question, how closely its words align with the question's,
weighted overlap with the question's key terms,
and whether it holds the kind of thing asked for (a number, a date, a name, a
quote). The best sentence is the answer unless the refusal checks say the
passages do not actually hold what is asked.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..models import Answer, Citation, Passage
from ..question.analysis import WORD, QuestionAnalysis, analyse, sentence_has_kind, stem
from ..question.kinds import Request
from ..text import addresses_the_model, find_dateline, is_headline, split_sentences, without_markers
from ..vocabulary import STOPWORDS
from . import phrases, reader, refusal
from .base import AnswerBackend
from .candidates import Candidate
from .clauses import answering_span
from .overview import catalogue, overview

# Weights of the sentence signals, fitted as a pairwise ranker (logistic regression on sentence pairs) on
# every shared question set (bench/question_sets.py); bench/fit_ranker.py refits and cross-validates them by article.
SIGNAL_WEIGHTS = {
    "semantic": 1.05,  # cosine(question, sentence)
    "alignment": 5.54,  # the question's word pieces matched in the sentence (alignment())
    "alignment_in_context": 4.65,  # ... in the sentence, the one before it and the title
    "terms": -1.1,  # weighted share of question terms in the sentence
    "terms_in_context": 0.3,  # ... in the sentence, the one before it, or the title
    "kind": 2.74,  # holds the kind of thing asked for (number, date, name, quote)
    "passage_rank": 0.8,  # 1 / retrieval rank of its passage
    "passage_score": 1.64,  # dense similarity of its passage
    "new_words": 1.26,  # share of its content words the question does not already have
    "predicate_terms": 2.43,  # share of the question's non-name terms in the sentence
    "fragment": -0.87,  # fewer than 6 words
    "length": 0.28,  # words / 80, capped: longer sentences hold more
}
# Share of whole-sentence similarity (vs word-by-word alignment) in the support score: an even mix
# refused best under article-grouped cross-validation (bench/cv.py) of the mixes tried.
SUPPORT_SEMANTIC = 0.5
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
        # The reader's ONNX file is built once per machine from the packaged weights (about 20 s); spaCy and the
        # reader themselves load on the first answer, so a server that is never asked pays nothing more.
        if self.settings.answer_phrase == "model" and (span_reader := reader.shipped()):
            span_reader.build()

    def answer(self, question: str, passages: list[Passage], request: Request | None = None) -> Answer:
        if request is not None and request.kind == "overview":
            return overview(request, passages, self.embedder.encode_cached, self.prompts.refusal)
        if request is not None and request.kind == "catalogue":
            return catalogue(request, passages, self.embedder.encode_cached)
        analysis = analyse(question)
        candidates = self._ranked(analysis, passages)
        if not candidates:
            return self.refusal().model_copy(update={"refusal_reason": "no passage" if not passages else "no sentence"})
        best = candidates[0]
        support = self.support(best)
        values = refusal.signals(analysis, candidates, support, self.embedder.encode_cached,
                                 self.predicate_match(analysis, best, passages[best.passage].title))
        reason = self.refusal_reason(analysis, best, values)
        why = {"support": support, "refusal_signals": values}
        if reason:
            return self.refusal().model_copy(update={**why, "refusal_reason": reason})
        return self._compose(analysis, self._choose(analysis, candidates), passages).model_copy(update=why)

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every candidate sentence of the passages with its signals and score, best first
        (what the answer is chosen from; bench/fit_ranker.py fits the weights on these signals)."""
        return self._ranked(analyse(question), passages)

    def _ranked(self, analysis: QuestionAnalysis, passages: list[Passage]) -> list[Candidate]:
        candidates = self._candidates(passages)
        if candidates:
            self._score(analysis, candidates, passages)
        return sorted(candidates, key=lambda c: c.score, reverse=True)

    # --- candidates ----------------------------------------------------------
    def _candidates(self, passages: list[Passage]) -> list[Candidate]:
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        for i, p in enumerate(passages):
            text = p.article_text
            dateline = find_dateline(text)
            title_stems = _stems(p.title)
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
                stems = _stems(sentence)
                scoring = sentence
                if is_dateline:
                    # A bare date line says nothing by itself; say what it is.
                    scoring = f"The article was published on {sentence}."
                    stems = stems | _stems("article published date")
                previous = text[spans[j - 1][0] : spans[j - 1][1]] if j > 0 else ""
                out.append(
                    Candidate(
                        passage=i, start=s, end=e, text=sentence, scoring_text=scoring,
                        context_stems=stems | _stems(previous) | title_stems, stems=stems, previous=previous,
                    )
                )
        return out

    # --- scoring -----------------------------------------------------------
    def _score(self, analysis: QuestionAnalysis, candidates: list[Candidate], passages: list[Passage]) -> None:
        texts = [analysis.text] + [c.scoring_text for c in candidates]
        contexts = [c.previous for c in candidates] + [p.title for p in passages]
        # Word-piece vectors first: the same pass fills the sentence-vector cache encode_cached reads.
        question_tokens, *tokens = self.embedder.token_vectors(texts + contexts)
        question_tokens = question_tokens.astype(np.float32)  # once, not per candidate
        sentence_tokens, context_tokens = tokens[: len(candidates)], dict(zip(contexts, tokens[len(candidates) :]))
        vectors = self.embedder.encode_cached(texts)
        semantic = (vectors[1:] @ vectors[0]).tolist()
        terms = analysis.terms
        total = sum(terms.values()) or 1.0
        predicate = analysis.predicate_terms
        predicate_total = sum(predicate.values())
        for c, sim, own in zip(candidates, semantic, sentence_tokens):
            in_context = [own, context_tokens[c.previous], context_tokens[passages[c.passage].title]]
            c.kind_ok = sentence_has_kind(analysis.kind, c.text, analysis)
            words = WORD.findall(c.text)
            content = [w for w in words if w.lower() not in STOPWORDS]
            passage = passages[c.passage]
            c.signals = {
                "semantic": float(np.clip(sim, 0.0, 1.0)),
                "alignment": alignment(question_tokens, [own]),
                "alignment_in_context": alignment(question_tokens, in_context),
                "terms": sum(w for t, w in terms.items() if t in c.stems) / total,
                "terms_in_context": sum(w for t, w in terms.items() if t in c.context_stems) / total,
                "kind": float(c.kind_ok),
                "passage_rank": 1.0 / passage.rank,
                "passage_score": passage.score,
                "new_words": sum(stem(w) not in terms for w in content) / max(1, len(content)),
                "predicate_terms": (
                    sum(w for t, w in predicate.items() if t in c.stems) / predicate_total if predicate else 1.0
                ),
                "fragment": float(len(words) < 6),
                "length": min(len(words), 80) / 80,
            }
            if self.settings.extractive_scoring == "semantic":
                c.score = c.signals["semantic"]
            else:
                c.score = sum(SIGNAL_WEIGHTS[name] * value for name, value in c.signals.items())

    def predicate_match(self, analysis: QuestionAnalysis, best: Candidate, title: str) -> float:
        """How closely what the question asks about its names (its non-name terms) is matched, word piece by word
        piece, in the best sentence, the one before it and the title: the paraphrase-aware side of the predicate
        check ("find the net" ~ "scored"). Each term's pieces take their best cosine; terms are weighted as in
        ``QuestionAnalysis.terms``. 1.0 when the question has no such term."""
        predicate = analysis.predicate_terms
        if not predicate:
            return 1.0
        # the same vectors the ranking computed (remembered by the embedder), so no encoder pass here
        question, *context = self.embedder.token_vectors([analysis.text, best.scoring_text, best.previous, title])
        words = [(m.start(), m.end(), stem(m.group())) for m in WORD.finditer(analysis.text)]
        rows: dict[str, list[int]] = {}  # term -> its word pieces' rows in ``question``
        for i, (s, _) in enumerate(self.embedder.word_piece_spans(analysis.text)[: len(question)]):
            term = next((t for ws, we, t in words if ws <= s < we), None)
            if term in predicate:
                rows.setdefault(term, []).append(i)
        matched = best_cosines(question, context)
        if not rows or not len(matched):
            return 1.0
        return float(sum(predicate[t] * matched[r].mean() for t, r in rows.items()) / sum(predicate[t] for t in rows))

    @staticmethod
    def support(best: Candidate) -> float:
        """How well the best sentence answers: its meaning as a whole and the question's words matched in it."""
        return SUPPORT_SEMANTIC * best.signals["semantic"] + (1 - SUPPORT_SEMANTIC) * best.signals["alignment"]

    def refusal_reason(self, analysis: QuestionAnalysis, best: Candidate, values: dict[str, float]) -> str | None:
        """Why the passages do not answer the question, or None: "model" (the fitted classifier, refusal.py), or with
        ``refusal = "rules"`` the hand rules' "support", "terms", "kind" or "predicate"."""
        if self.settings.refusal == "off":
            return None
        model = refusal.shipped_model()
        if self.settings.refusal == "model" and model is not None:
            return "model" if model.probability(values) < model.min_probability else None
        return refusal.rule_reason(values, self.settings.refusal_threshold, self.settings.refusal_checks)

    def _choose(self, analysis: QuestionAnalysis, ranked: list[Candidate]) -> list[Candidate]:
        """The best sentence, and the runner-up when it scores almost as well; when neither holds the kind
        asked for (a name, a number...), the sentence after the best one if it does: "A schoolgirl found
        the comet." leans on "Maya Lindqvist, 16, ..." for who she is."""
        chosen = ranked[:1]
        margin = self.settings.second_sentence_margin
        if len(ranked) > 1 and margin > 0 and ranked[0].score - ranked[1].score < margin:
            chosen.append(ranked[1])
        if analysis.kind is not None and not any(c.kind_ok for c in chosen):
            best = ranked[0]
            following = [c for c in ranked if c.passage == best.passage and c.start >= best.end]
            nearest = min(following, key=lambda c: c.start, default=None)
            if nearest is not None and nearest.kind_ok and nearest not in chosen:
                chosen.append(nearest)
        # Keep article order so two sentences read naturally.
        return sorted(chosen, key=lambda c: (c.passage, c.start))

    # --- output ------------------------------------------------------------
    def _compose(self, analysis: QuestionAnalysis, chosen: list[Candidate], passages: list[Passage]) -> Answer:
        # A long sentence is quoted by its answering clauses; the citation points at exactly those.
        cuts = [answering_span(analysis, c.text, self.settings.answer_max_words) for c in chosen]
        quotes = [c.text[s:e].rstrip() for c, (s, e) in zip(chosen, cuts)]
        found = (phrases.answer_phrases(analysis, quotes, self.embedder) if self.settings.answer_phrase == "model"
                 else [None] * len(quotes))
        parts: list[str] = []
        citations: list[Citation] = []
        for n, (c, (s, e), quote, phrase) in enumerate(zip(chosen, cuts, quotes, found), start=1):
            p = passages[c.passage]
            phrase = phrase or phrases.rule_phrase(analysis, quote)
            citations.append(Citation.quoting(n, p, c.start + s, c.start + s + len(quote), c.score, phrase))
            parts.append(f"{'…' if s > 0 else ''}{without_markers(quote)}{'…' if e < len(c.text.rstrip()) else ''} [{n}]")
        return Answer(answer=" ".join(parts), citations=citations, refused=False)


def alignment(question: np.ndarray, texts: list[np.ndarray]) -> float:
    """How closely the question's words are matched, word by word: each of its word pieces' best cosine with
    any word piece of the texts, averaged (late interaction, as ColBERT scores). Contextual vectors match a
    paraphrase ("quit" ~ "resigned") that neither shared stems nor one whole-sentence vector pins down."""
    best = best_cosines(question, texts)
    return float(best.mean()) if len(best) else 0.0


def best_cosines(question: np.ndarray, texts: list[np.ndarray]) -> np.ndarray:
    """Each of the question's word pieces' best cosine with any word piece of the texts (none if either has none)."""
    words = np.vstack(texts).astype(np.float32)
    if not len(question) or not len(words):
        return np.zeros(0, np.float32)
    return (np.asarray(question, np.float32) @ words.T).max(axis=1)


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in WORD.findall(text))
