"""The answer phrase: the part of the quoted sentence that holds what the question asks for.

The quote says where the answer is; the phrase is the answer ("Joint Implementation Group",
"in 1857", "16"), shown bold in the page and sent as ``Citation.phrase``. Candidates are the
sentence's named entities, noun chunks and the dependency subtrees of up to ``MAX_WORDS`` words
(spaCy's ``en_core_web_sm``, packaged offline). Each candidate gets a few signals: its entity
type against the kind of answer asked for, its grammatical role against the question word, how
much of it the question already says, how near it sits to the question's words in the sentence.
One more signal comes from the embedder: how close the candidate's contextual word-piece vectors
are to the question's wh-word's ("who", "when"...), which in context carries what kind of answer is
sought. And one from the reader (``reader.py``, a MiniLM fine-tuned to point at answer spans): how its
span score for the candidate compares with the sentence's best. A pairwise logistic ranker over these
(``phrase_model.json``, fitted and cross-validated by
article with bench/fit_phrase.py) scores them; the best one is the phrase.

Only the quoted sentences and the question are parsed, at answer time (about 10 ms each on this machine), and the
reader reads the quoted sentences in one batch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..question.analysis import PATTERNS, QuestionAnalysis, stem
from ..question.parse import nlp
from ..vocabulary import PHRASE_GLUE, STOPWORDS, WH_WORDS
from .reader import SpanLogits, shipped

if TYPE_CHECKING:
    from ..embeddings import Embedder

MODEL_PATH = Path(__file__).with_name("phrase_model.json")
MAX_WORDS = 8  # a phrase, not a clause




@lru_cache(maxsize=1)
def model() -> dict[str, float]:
    """Fitted weights by feature name; empty (every feature 0) when no model has been fitted."""
    if not MODEL_PATH.exists():
        return {}
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))["weights"]


@dataclass(frozen=True)
class PhraseCandidate:
    start: int  # character offsets in the sentence
    end: int
    text: str
    features: dict[str, float]


def question_word(question: str) -> str:
    """The question's wh-word, with "how" split by what follows (how many / how much / how long...)."""
    words = [w.lower() for w in question.replace("?", " ").split()]
    for i, w in enumerate(words):
        if w in ("who", "whom", "whose", "when", "where", "why", "which", "what"):
            return "who" if w in ("whom", "whose") else w
        if w == "how":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            return f"how {nxt}" if nxt in ("many", "much", "long", "old", "far", "big", "large") else "how"
    return "other"


@dataclass(frozen=True)
class QuestionShape:
    noun: str | None  # names the kind of answer: "percentage" in "What percentage ...?", "team" in "Which team ...?"
    wh_role: str  # the wh-word's grammatical role: nsubj (who did), dobj (what did he play), advmod (when)...


def question_shape(doc) -> QuestionShape:
    """The shape of a parsed question."""
    noun, role = None, "none"
    for i, t in enumerate(doc):
        if t.lower_ in ("what", "which", "whose", "who", "whom", "when", "where", "why", "how"):
            # "What percentage ..." : the wh-word's role is its noun's
            role = t.head.dep_ if t.dep_ == "det" else t.dep_
            for u in doc[i + 1 : i + 4] if t.lower_ in ("what", "which", "whose") else ():
                if u.pos_ in ("NOUN", "PROPN"):
                    noun = u.lower_
                    break
                if u.pos_ not in ("ADJ", "DET"):
                    break
            break
    return QuestionShape(noun, role)


def _tree_distance(a, b) -> int:
    """Dependency edges between two tokens."""
    up_a = {a.i: 0}
    node, d = a, 0
    while node.head.i != node.i:
        node, d = node.head, d + 1
        up_a[node.i] = d
    node, d = b, 0
    while node.i not in up_a:
        if node.head.i == node.i:
            return 99
        node, d = node.head, d + 1
    return d + up_a[node.i]


@dataclass(frozen=True)
class WordPieces:
    """A sentence's contextual word-piece vectors and the character span of each in the sentence."""

    vectors: np.ndarray
    spans: list[tuple[int, int]]

    def within(self, start: int, end: int) -> np.ndarray:
        rows = [i for i, (s, e) in enumerate(self.spans[: len(self.vectors)]) if start <= s and e <= end and s < e]
        return self.vectors[rows].astype(np.float32)




def word_pieces(embedder: Embedder, question: str, sentences: list[str]) -> tuple[np.ndarray | None, list[WordPieces]]:
    """The question's wh-word vector (None without one), and each sentence's word pieces."""
    vectors = embedder.token_vectors([question, *sentences])
    spans = [embedder.word_piece_spans(text) for text in (question, *sentences)]
    wh = next((i for i, (s, e) in enumerate(spans[0][: len(vectors[0])]) if question[s:e].lower() in WH_WORDS), None)
    return (vectors[0][wh].astype(np.float32) if wh is not None else None,
            [WordPieces(v, s) for v, s in zip(vectors[1:], spans[1:])])


def candidates(
    analysis: QuestionAnalysis, sentence: str, embedder: Embedder, reader_logits: SpanLogits | None = None
) -> list[PhraseCandidate]:
    """Every candidate phrase of the sentence with its signals (the reader's only when its scores are given:
    bench/fit_phrase.py gives those of a reader that had not seen the question)."""
    question, doc = nlp().pipe([analysis.text, sentence])
    wh, [pieces] = word_pieces(embedder, analysis.text, [sentence])
    return _candidates(analysis, question_shape(question), doc, wh, pieces, reader_logits)


def _candidates(
    analysis: QuestionAnalysis,
    shape: QuestionShape,
    doc,
    wh_vector: np.ndarray | None,
    pieces: WordPieces,
    reader_logits: SpanLogits | None,
) -> list[PhraseCandidate]:
    terms = analysis.terms
    kind = analysis.kind or "open"
    wh = question_word(analysis.text)
    noun = shape.noun
    # The type noun is the answer's own word ("the Astra 2A satellite" for "What satellite ...?"), not one it repeats.
    noun_stem = stem(noun) if noun else None
    anchors = [
        t.i for t in doc if not t.is_punct and t.lower_ not in STOPWORDS and stem(t.text) in terms and stem(t.text) != noun_stem
    ]
    total = sum(terms.values()) or 1.0
    spans: dict[tuple[int, int], dict[str, str]] = {}  # token span -> how it was found

    def add(start: int, end: int, how: str, label: str = "") -> None:
        while start < end and (doc[start].is_punct or doc[start].is_space):
            start += 1
        while end > start and (doc[end - 1].is_punct or doc[end - 1].is_space):
            end -= 1
        words = sum(not t.is_punct for t in doc[start:end])
        if 0 < words <= MAX_WORDS:
            found = spans.setdefault((start, end), {})
            found[how] = label or found.get(how, "")

    for ent in doc.ents:
        add(ent.start, ent.end, "ent", ent.label_)
    for chunk in doc.noun_chunks:
        add(chunk.start, chunk.end, "chunk")
    for token in doc:
        if not token.is_punct:
            add(token.left_edge.i, token.right_edge.i + 1, "subtree")
    out = []
    for (start, end), found in spans.items():
        span = doc[start:end]
        words = [t for t in span if not t.is_punct]
        content = [t for t in words if t.lower_ not in STOPWORDS]
        in_question = sum(stem(t.text) in terms and stem(t.text) != noun_stem for t in content)
        ent_labels = {e.label_ for e in doc.ents if e.start >= start and e.end <= end}
        label = found.get("ent", "") or "NONE"
        root = span.root
        gap = min((abs(a - i) for a in anchors for i in range(start, end) if not (start <= a < end)), default=None)
        outside = [a for a in anchors if not (start <= a < end)]
        hops = min((_tree_distance(root, doc[a]) for a in outside), default=None)

        def window(k: int, outside=outside, start=start, end=end) -> float:
            """The question's words close around the candidate (MCTest's sliding window)."""
            near = {stem(doc[a].text) for a in outside if start - k <= a < end + k}
            return sum(terms[t] for t in near) / total

        f: dict[str, float] = {
            f"kind={kind}|ent={label}": 1.0,
            f"wh={wh}|ent={label}": 1.0,
            f"wh={wh}|dep={root.dep_}": 1.0,
            f"wh={wh}|pos={root.pos_}": 1.0,
            f"wh={wh}|first={words[0].pos_}": 1.0,
            "in_question": in_question / max(1, len(content)),
            "all_in_question": float(bool(content) and in_question == len(content)),
            "no_content": float(not content),
            "words": len(words) / MAX_WORDS,
            "one_word": float(len(words) == 1),
            "nearness": 1.0 / (1 + gap) if gap is not None else 0.0,
            "head_is_anchor": float(root.head.i in anchors and not (start <= root.head.i < end)),
            "after_anchor": float(bool(anchors) and start > min(anchors)),
            "window3": window(3),
            "window8": window(8),
            "hops": 1.0 / (1 + hops) if hops is not None else 0.0,
            f"role={shape.wh_role}|dep={root.dep_}": 1.0,
            "sibling_of_anchor": float(sibling := any(doc[a].head.i == root.head.i and a != root.i for a in outside)),
            # in the wh-word's role beside the question's words: "What did Gaga sing?" → the object next to "Gaga"
            "sibling_in_role": float(sibling and root.dep_ == shape.wh_role),
            "has_type_noun": float(noun_stem is not None and any(stem(t.text) == noun_stem for t in words)),
            "head_is_verb_anchor": float(root.head.i in outside and root.head.pos_ in ("VERB", "AUX")),
            "is_chunk": float("chunk" in found),
            "is_subtree": float("subtree" in found),
            "capitalised": sum(t.text[:1].isupper() for t in words) / len(words),
            "digits": float(any(t.like_num for t in words)),
        }
        inside = pieces.within(span.start_char, span.end_char)
        if wh_vector is not None and len(inside):
            mean = inside.mean(axis=0)
            f["wh_vector_mean"] = float(mean @ wh_vector / (np.linalg.norm(mean) or 1.0))
            f["wh_vector_max"] = float((inside @ wh_vector).max())
        for e in ent_labels:
            f[f"kind={kind}|has={e}"] = 1.0
        if noun:
            f[f"noun={noun}|ent={label}"] = 1.0
        out.append(PhraseCandidate(span.start_char, span.end_char, span.text, f))
    if reader_logits is not None:
        _add_reader_signals(out, reader_logits)
    return out


READER_FLOOR = -20.0  # a candidate this far below the sentence's best is as good as unscored


def _add_reader_signals(found: list[PhraseCandidate], logits: SpanLogits) -> None:
    """The reader's span score of each candidate against the best one's, and whether it is first or second."""
    scores = np.array([s if (s := logits.score(c.start, c.end)) is not None else -1e4 for c in found])
    if not len(scores):
        return
    ranks = (-scores).argsort(kind="stable").argsort()
    for c, value, rank in zip(found, scores, ranks):
        c.features["reader_gap"] = max(float(value - scores.max()), READER_FLOOR) / 10
        c.features["reader_top"] = float(rank == 0)
        c.features["reader_second"] = float(rank == 1)


def score(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in features.items())


def answer_phrases(analysis: QuestionAnalysis, sentences: list[str], embedder: Embedder) -> list[tuple[int, int] | None]:
    """Character span, in each sentence, of the phrase that answers (None where the model offers none).

    The question and the sentences are parsed in one batch.
    """
    weights = model()
    if not weights or not sentences:
        return [None] * len(sentences)
    question, *docs = nlp().pipe([analysis.text, *sentences])
    shape = question_shape(question)
    wh, pieces = word_pieces(embedder, analysis.text, sentences)
    reader = shipped()
    logits = reader.logits(analysis.text, sentences) if reader else [None] * len(sentences)
    spans: list[tuple[int, int] | None] = []
    for doc, sentence_pieces, sentence_logits in zip(docs, pieces, logits):
        found = _candidates(analysis, shape, doc, wh, sentence_pieces, sentence_logits)
        best = max(found, key=lambda c: score(c.features, weights), default=None)
        spans.append((best.start, best.end) if best else None)
    return spans


def rule_phrase(analysis: QuestionAnalysis, sentence: str) -> tuple[int, int] | None:
    """The rule the model replaced, kept for when it offers none (and as bench/fit_phrase.py's baseline):
    the asked-for kind, else the longest run of new words."""
    if analysis.kind in PATTERNS:
        asked = {m.group().lower() for m in PATTERNS[analysis.kind].finditer(analysis.text)}
        for m in PATTERNS[analysis.kind].finditer(sentence):
            if m.group().lower() not in asked:
                return m.span()
    best: tuple[int, int] | None = None
    run_start = run_end = None
    for m in re.finditer(r"\S+", sentence):
        word = m.group().strip(".,;:!?\"'“”()[]")
        new = bool(word) and stem(word) not in analysis.terms and word.lower() not in PHRASE_GLUE
        if new:
            run_start = m.start() if run_start is None else run_start
            run_end = m.end()
            if best is None or run_end - run_start > best[1] - best[0]:
                best = (run_start, run_end)
        else:
            run_start = None
    return best
