"""Overview (``task: "summary"``) metrics: ROUGE-1/2/Lsum F1 against the highlights, length, citation scope.

ROUGE is the ``rouge-score`` package, stemmed (``use_stemmer=True``). The reference is the highlights joined
by newlines. The prediction is the answer with its ``[n]`` markers removed, one sentence per line for
ROUGE-Lsum: split after ``.``, ``!`` or ``?`` (optionally followed by a closing quote or bracket) and
whitespace, and at line breaks. This is a plain split on end punctuation, not the package's own
``split_summaries`` (which needs NLTK's punkt data, a download this tool does not make); it is what the
reference points in cnn-summary-dev/README.md were measured with.

A refused (or failed) overview scores 0 on every ROUGE. ``words_median`` is over answered overviews;
``article_precision`` is the share of their citations whose article is the one the overview is about
(the scoped article; without a scope, the article the line's ``article`` names). summary.json holds
these under ``"summary"``, and has no ``"summary"`` key when the questions file has no summary lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .metrics import Metric, answer_words, mean, percentile, ratio, strip_citation_markers
from .records import QuestionResult

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
# The keys of summary.json's "summary" object, in order, with the direction --compare reads.
SUMMARY_METRICS: dict[str, Metric] = {
    "rouge1": Metric("higher", "ROUGE-1 F1 against the highlights (stemmed; a refusal scores 0)"),
    "rouge2": Metric("higher", "ROUGE-2 F1 against the highlights"),
    "rougeLsum": Metric("higher", "ROUGE-Lsum F1, one sentence per line"),
    "words_median": Metric(None, "median words per answered overview, markers removed"),
    "article_precision": Metric("higher", "share of an overview's citations from the article it is about"),
    "refusal_rate": Metric("lower", "overview requests refused"),
    "n": Metric(None, "overview requests evaluated"),
}
SUMMARY_PREFIX = "summary."  # how summary metrics are named beside the factoid ones (--compare, the terminal)

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+|\s*\n\s*")


def prediction_lines(answer: str) -> str:
    """The answer without markers, one sentence per line (what ROUGE-Lsum reads as the summary's sentences)."""
    sentences = _SENTENCE_BREAK.split(strip_citation_markers(answer))
    return "\n".join(s.strip() for s in sentences if s.strip())


def reference_lines(highlights: Sequence[str]) -> str:
    return "\n".join(h.strip() for h in highlights if h.strip())


@lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer  # imported when first needed: factoid-only runs do not load NLTK

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_f1(answer: str, highlights: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2/Lsum F1 (0-1) of an answer text against the highlights."""
    scores = _scorer().score(reference_lines(highlights), prediction_lines(answer))
    return {name: scores[name].fmeasure for name in ROUGE_TYPES}


def overview_outcome(result: QuestionResult) -> dict:
    """Per-line values behind the summary metrics."""
    answered = result.answered
    rouge = rouge_f1(result.answer, result.highlights) if answered else dict.fromkeys(ROUGE_TYPES, 0.0)
    in_article = sum(c.get("article_id") == result.target_article_id for c in result.citations)
    return {
        **rouge,
        "words": answer_words(result.answer) if answered else None,
        "citations": len(result.citations) if answered else None,
        # None without a target article (a line with neither scope nor article): nothing to be precise about
        "citations_in_article": in_article if answered and result.target_article_id is not None else None,
        "refused": result.refused,
    }


def summarise_overviews(results: Sequence[QuestionResult]) -> dict | None:
    """summary.json's "summary" object (exactly the keys of SUMMARY_METRICS), or None without summary lines."""
    overviews = [r for r in results if r.is_summary]
    if not overviews:
        return None

    def values(key: str) -> list:
        return [r.outcome[key] for r in overviews if r.outcome.get(key) is not None]

    summary = {
        **{name: mean(values(name)) for name in ROUGE_TYPES},
        "words_median": percentile(values("words"), 50),
        "article_precision": ratio(sum(values("citations_in_article")),
                                   sum(r.outcome["citations"] for r in overviews
                                       if r.outcome.get("citations_in_article") is not None)),
        "refusal_rate": mean(float(r.refused) for r in overviews),
        "n": len(overviews),
    }
    return {name: round(value, 4) if isinstance(value, float) else value for name, value in summary.items()}
