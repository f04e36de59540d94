"""Overview metrics on hand-made cases: ROUGE checked against rouge-score itself, the rest worked out by hand."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from assistant.eval.metrics import METRICS, is_failure, question_outcome, run_counts, summarise
from assistant.eval.outputs import MetricChange, compare, compare_record, format_metric
from assistant.eval.records import QuestionResult
from assistant.eval.summary_metrics import (
    SUMMARY_METRICS,
    overview_outcome,
    prediction_lines,
    rouge_f1,
    summarise_overviews,
)

pytestmark = pytest.mark.fast

HIGHLIGHTS = ["The queen bee lives for five years.", "Workers live six weeks."]
ANSWER = 'Queen bees can live for up to five years. [1] A worker lives "about six weeks." [2] Honey is sweet! [3]'


def _overview(answer: str = ANSWER, *, refused: bool = False, cited: tuple[str, ...] = ("bee", "bee")) -> QuestionResult:
    result = QuestionResult(
        id="s", question="Summarize this article.", gold=[], article="bee.md", answerable=True, answer=answer,
        refused=refused, citations=[{"n": i + 1, "article_id": a} for i, a in enumerate(cited)],
        task="summary", highlights=list(HIGHLIGHTS), scope="bee.md", target_article_id="bee", latency_ms=900,
    )
    result.outcome = overview_outcome(result)
    return result


def test_prediction_is_one_sentence_a_line_without_markers():
    assert prediction_lines(ANSWER) == (
        "Queen bees can live for up to five years.\nA worker lives \"about six weeks.\"\nHoney is sweet!"
    )
    assert prediction_lines("First line\nsecond one. Third? [4]") == "First line\nsecond one.\nThird?"


def test_rouge_is_rouge_score_stemmed_f1():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    direct = scorer.score(
        "The queen bee lives for five years.\nWorkers live six weeks.",
        'Queen bees can live for up to five years.\nA worker lives "about six weeks."\nHoney is sweet!',
    )
    assert rouge_f1(ANSWER, HIGHLIGHTS) == {name: pytest.approx(s.fmeasure) for name, s in direct.items()}
    # stemmed: "lives"/"live", "bees"/"bee", "workers"/"worker" match
    assert rouge_f1("Workers live", ["worker lives"])["rouge1"] == 1.0


def test_overview_outcome_and_article_precision():
    answered = _overview(cited=("bee", "bee", "glass"))
    assert answered.outcome["words"] == 18  # 9 + 6 + 3, markers removed
    assert answered.outcome["citations"] == 3 and answered.outcome["citations_in_article"] == 2
    refused = _overview("The articles don't say.", refused=True, cited=())
    assert refused.outcome == {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0, "words": None, "citations": None,
                               "citations_in_article": None, "refused": True}
    summary = summarise_overviews([answered, refused, _overview()])
    assert list(summary) == list(SUMMARY_METRICS)  # exactly the 7 keys
    assert summary["rouge1"] == pytest.approx(2 * rouge_f1(ANSWER, HIGHLIGHTS)["rouge1"] / 3, abs=1e-4)
    assert summary["article_precision"] == pytest.approx(4 / 5, abs=1e-4)  # 2 of 3, then 2 of 2
    assert summary["words_median"] == 18 and summary["refusal_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["n"] == 3
    assert summarise_overviews([_overview(cited=("bee", "bee", "bee"))])["article_precision"] == 1.0


def test_factoid_metrics_leave_summary_lines_out():
    factoid = QuestionResult(
        id="f", question="Who?", gold=["Kerry"], article="a.md", answerable=True, answer="Kerry [1]",
        citations=[{"passage": "Kerry flies.", "quote": "Kerry flies."}],
        retrieved=[{"rank": 1, "chunk_id": "c", "article_id": "a", "source": "/c/a.md", "score": 0.5, "text": "Kerry"}],
        latency_ms=100,
    )
    factoid.outcome = question_outcome(factoid)
    alone, mixed = summarise([factoid], 0.0), summarise([factoid, _overview(), _overview(refused=True)], 0.0)
    assert {k: v for k, v in mixed.items() if k != "n_questions"} == {k: v for k, v in alone.items() if k != "n_questions"}
    assert mixed["n_questions"] == 3 and mixed["latency_p50_ms"] == 100.0
    assert run_counts([factoid, _overview(refused=True)])["n_refused"] == 0  # the overview refusal is summary's
    assert not is_failure(_overview(refused=True))
    assert summarise_overviews([factoid]) is None


def test_compare_covers_summary_metrics_when_both_runs_have_them():
    now = {"str_em": 0.6, "summary": {"rouge1": 0.35, "words_median": 70, "refusal_rate": 0.1, "n": 40}}
    before = {"str_em": 0.5, "summary": {"rouge1": 0.30, "words_median": 60, "refusal_rate": 0.0, "n": 40}}
    changes = {c.metric: c for c in compare(now, before)}
    assert set(changes) == set(METRICS) | {f"summary.{name}" for name in SUMMARY_METRICS}
    assert changes["summary.rouge1"].verdict == "better" and changes["summary.refusal_rate"].verdict == "worse"
    assert changes["summary.words_median"].verdict == ""  # length alone is neither better nor worse
    record = compare_record(list(changes.values()))
    assert record["summary.rouge1"] == {"before": 0.30, "after": 0.35, "delta": 0.05, "verdict": "better"}
    assert record["str_em"] == {"before": 0.5, "after": 0.6, "delta": 0.1, "verdict": "better"}
    assert record["mrr"] == {"before": None, "after": None, "delta": None, "verdict": ""}
    assert not any(c.metric.startswith("summary.") for c in compare(now, {"str_em": 0.5}))
    assert MetricChange("summary.rouge2", 0.1201, 0.1203).verdict == ""  # shown as +0.000
    assert format_metric("summary.words_median", 72.5) == "72.5" and format_metric("summary.n", 40) == "40"
    assert format_metric("summary.rougeLsum", 0.31234) == "0.312"
