"""Evaluation metrics: small pure functions, then the per-question outcome and the run summary built from them.

Answer matching follows the SQuAD v1.1 evaluation script: both sides are
normalised (lowercase, ASCII punctuation removed, articles a/an/the dropped,
whitespace collapsed) and a gold string "occurs" in a text when its normalised
form is a substring of the text's normalised form (STR-EM, as in ALCE).

These are the factoid metrics: summary lines (overview requests, ``summary_metrics``) take no part in them,
except ``n_questions``, which counts every question evaluated.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from .records import QuestionResult

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION_MARKER = re.compile(r"\s*\[\d+\]")


# --- text matching -----------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, strip punctuation, drop a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """Does any gold string occur (normalised substring) in the text?"""
    haystack = normalize_answer(text)
    # A gold that normalises to nothing ("The") would match every text.
    return any(needle and needle in haystack for needle in map(normalize_answer, golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 of the prediction against its best-matching gold; 0 without golds."""
    return max((_token_f1(prediction, gold) for gold in golds), default=0.0)


def _token_f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(predicted) & Counter(expected)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def strip_citation_markers(answer: str) -> str:
    """The answer text without its "[n]" markers (they are not words, and "[1]" would match a gold "1")."""
    return _CITATION_MARKER.sub("", answer).strip()


def answer_words(answer: str) -> int:
    return len(strip_citation_markers(answer).split())


def reciprocal_rank(ranked_sources: Sequence[str], gold_source: str) -> float:
    """1/rank of the first item equal to ``gold_source``; 0 when none is."""
    for rank, source in enumerate(ranked_sources, start=1):
        if source == gold_source:
            return 1.0 / rank
    return 0.0


def citation_supports(citation: dict, golds: Sequence[str]) -> bool:
    """A citation supports the answer when its passage or quote holds a gold string."""
    return contains_answer(f"{citation.get('passage', '')} {citation.get('quote', '')}", golds)


def answer_phrase(citations: Sequence[dict]) -> str | None:
    """The highlighted phrase of the answer's best-scored citation (the sentence chosen first), if it has one."""
    if not citations:
        return None
    return max(citations, key=lambda c: c.get("score", 0.0)).get("phrase")


# --- aggregation helpers -------------------------------------------------------
def ratio(numerator: float, denominator: float) -> float | None:
    """numerator/denominator, or None (shown as n/a) when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return ratio(sum(values), len(values))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def refusal_rates(answerable: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | None]:
    """The refusal confusion matrix, with "unanswerable" as the positive class."""
    pairs = list(zip(answerable, refused))
    true_refusals = sum(1 for ok, ref in pairs if not ok and ref)
    false_refusals = sum(1 for ok, ref in pairs if ok and ref)
    unanswerable = sum(1 for ok, _ in pairs if not ok)
    return {
        "refusal_recall": ratio(true_refusals, unanswerable),
        "refusal_precision": ratio(true_refusals, true_refusals + false_refusals),
        "false_refusal_rate": ratio(false_refusals, len(pairs) - unanswerable),
    }


# --- the metrics a run reports -----------------------------------------------
@dataclass(frozen=True)
class Metric:
    better: Literal["higher", "lower"] | None  # None: a count, neither better nor worse
    description: str


METRICS: dict[str, Metric] = {
    "answer_recall_at_k": Metric("higher", "a gold answer occurs in the top-k passages (answerable questions)"),
    "article_hit_at_1": Metric("higher", "the top passage is from the gold article"),
    "mrr": Metric("higher", "mean reciprocal rank of the first passage from the gold article"),
    "str_em": Metric("higher", "a gold answer occurs in the answer text (answerable; refused = 0)"),
    "token_f1": Metric("higher", "SQuAD token F1 of the answer text, best gold (answerable; refused = 0)"),
    "answer_words_median": Metric("lower", "median words per answer, markers removed (answered answerable)"),
    "highlight_em": Metric("higher", "the answer's highlighted phrase holds a gold answer (answered answerable)"),
    "highlight_words_median": Metric("lower", "median words of the highlighted phrase (answered answerable)"),
    "citation_precision": Metric("higher", "share of citations whose passage or quote holds a gold answer"),
    "citation_recall": Metric("higher", "share of answered answerable questions with such a citation"),
    "refusal_recall": Metric("higher", "unanswerable questions refused"),
    "refusal_precision": Metric("higher", "refused questions that were unanswerable"),
    "false_refusal_rate": Metric("lower", "answerable questions refused"),
    "latency_p50_ms": Metric("lower", "median time to retrieve and answer one question"),
    "latency_p95_ms": Metric("lower", "95th-percentile time to retrieve and answer one question"),
    # No direction: it says whether the corpus index was cached more than how fast the code is.
    "ingest_s": Metric(None, "seconds spent preparing the corpus index in this run (≈0 when cached)"),
    "n_questions": Metric(None, "questions evaluated (factoid and summary lines)"),
}


def question_outcome(result: QuestionResult) -> dict:
    """Per-question values behind the metrics; None where a metric does not apply to this question."""
    golds = result.gold
    answerable = result.answerable
    answered_answerable = answerable and result.answered
    # Gold articles are named by file name; passages carry their file's full path.
    sources = [PurePath(p["source"]).name for p in result.retrieved]
    gold_article = result.article if answerable else None
    answer_text = strip_citation_markers(result.answer) if result.answered else ""
    supporting = sum(citation_supports(c, golds) for c in result.citations)
    phrase = answer_phrase(result.citations) if answered_answerable else None
    return {
        "answer_in_top_k": any(contains_answer(p["text"], golds) for p in result.retrieved) if answerable else None,
        "article_hit_at_1": (sources[:1] == [gold_article]) if gold_article else None,
        "reciprocal_rank": reciprocal_rank(sources, gold_article) if gold_article else None,
        "str_em": float(contains_answer(answer_text, golds)) if answerable else None,
        "token_f1": token_f1(answer_text, golds) if answerable else None,
        "answer_words": answer_words(result.answer) if answered_answerable else None,
        # No phrase highlighted counts as a miss: the reader is shown no answer in the quote.
        "highlight_em": float(phrase is not None and contains_answer(phrase, golds)) if answered_answerable else None,
        "highlight_words": len(phrase.split()) if phrase else None,
        "citations": len(result.citations) if answered_answerable else None,
        "supporting_citations": supporting if answered_answerable else None,
        "refusal_correct": result.refused != answerable,
    }


def is_failure(result: QuestionResult) -> bool:
    """Shown in the report's failure list: wrong or refused answerable questions, answered unanswerable ones."""
    if result.is_summary:  # overviews are listed by ROUGE in the report, not as failures
        return False
    if result.error is not None:
        return True
    return not result.outcome["str_em"] if result.answerable else not result.refused


def summarise(results: Sequence[QuestionResult], ingest_s: float) -> dict[str, float | int | None]:
    """The run's metrics (keys of METRICS) from its per-question results; summary lines are left out."""
    factoid = [r for r in results if not r.is_summary]

    def values(key: str) -> list:
        return [r.outcome[key] for r in factoid if r.outcome[key] is not None]

    latencies = [r.latency_ms for r in factoid]
    summary = {
        "answer_recall_at_k": mean(values("answer_in_top_k")),
        "article_hit_at_1": mean(values("article_hit_at_1")),
        "mrr": mean(values("reciprocal_rank")),
        "str_em": mean(values("str_em")),
        "token_f1": mean(values("token_f1")),
        "answer_words_median": percentile(values("answer_words"), 50),
        "highlight_em": mean(values("highlight_em")),
        "highlight_words_median": percentile(values("highlight_words"), 50),
        "citation_precision": ratio(sum(values("supporting_citations")), sum(values("citations"))),
        "citation_recall": mean(supporting > 0 for supporting in values("supporting_citations")),
        **refusal_rates([r.answerable for r in factoid], [r.refused for r in factoid]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "ingest_s": ingest_s,
        "n_questions": len(results),
    }
    return {name: _rounded(value) for name, value in summary.items()}


def run_counts(results: Sequence[QuestionResult]) -> dict[str, int]:
    """How the questions split, for reading the metrics (not metrics themselves).

    Answerable, unanswerable and refused count factoid lines (summary lines have their own ``n`` and
    ``refusal_rate``); errors and notices count every line.
    """
    factoid = [r for r in results if not r.is_summary]
    return {
        "n_answerable": sum(r.answerable for r in factoid),
        "n_unanswerable": sum(not r.answerable for r in factoid),
        "n_refused": sum(r.refused for r in factoid),
        "n_errors": sum(r.error is not None for r in results),
        "n_notices": sum(r.notice is not None for r in results),
    }


def _rounded(value):
    return round(value, 4) if isinstance(value, float) else value
