"""Eval metrics on hand-made cases; every expected value is worked out by hand in the comments."""

from __future__ import annotations

import json

import pytest

from assistant import errors
from assistant.eval.gates import Gate, GateFailed, check_gates, parse_gates
from assistant.eval.metrics import (
    METRICS,
    answer_words,
    citation_supports,
    contains_answer,
    is_failure,
    normalize_answer,
    percentile,
    question_outcome,
    reciprocal_rank,
    refusal_rates,
    run_counts,
    strip_citation_markers,
    summarise,
    token_f1,
)
from assistant.eval.outputs import MetricChange, compare, format_metric, settings_used
from assistant.eval.records import QuestionResult
from assistant.settings import Settings

pytestmark = pytest.mark.fast


# --- SQuAD normalisation and matching ----------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Cat's  hat!", "cats hat"),  # lowercase, apostrophe removed, "the" dropped, spaces collapsed
        ("An apple, a day", "apple day"),
        ("theatre and anthem", "theatre and anthem"),  # articles only as whole words
        ("Stoke-on-Trent (U.K.)", "stokeontrent uk"),  # punctuation is deleted, not replaced by a space
        ("  \tA\n", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    "text, golds, expected",
    [
        ("In 1900, Tesla was granted patents", ["1900"], True),
        ("Kerry flew to Moscow.", ["the Moscow"], True),  # article in the gold is dropped too
        ("the US army", ["U.S."], True),
        ("Washington", ["Washington Post", "Post"], False),
        ("Anything at all", ["The"], False),  # a gold that normalises to "" matches nothing
        ("Anything at all", [], False),
        ("Lavrov met Kerry", ["Sergei Lavrov", "Lavrov"], True),  # any gold counts
    ],
)
def test_contains_answer(text, golds, expected):
    assert contains_answer(text, golds) is expected


def test_token_f1_hand_cases():
    # pred tokens [cat, sat, on, mat], gold [cat, on, mat]: 3 shared, P = 3/4, R = 1, F1 = 1.5/1.75 = 6/7
    assert token_f1("the cat sat on the mat", ["a cat on a mat"]) == pytest.approx(6 / 7)
    # best gold wins: "dog" shares nothing; "cat sat" shares 1 of 2, P = 1, R = 1/2, F1 = 2/3
    assert token_f1("cat", ["dog", "cat sat"]) == pytest.approx(2 / 3)
    # counts are clipped: pred {x:2, y:1}, gold {x:1, y:2}, 2 shared, P = R = 2/3
    assert token_f1("x x y", ["x y y"]) == pytest.approx(2 / 3)
    assert token_f1("nothing shared", ["else"]) == 0.0
    assert token_f1("", ["Moscow"]) == 0.0
    assert token_f1("Moscow", []) == 0.0


def test_citation_markers_are_not_words():
    assert strip_citation_markers("Moscow is big [1] and cold [2].") == "Moscow is big and cold."
    assert answer_words("Moscow is big [1] and cold [12].") == 5
    # without stripping, "[1]" normalises to "1" and would match a gold "1"
    assert not contains_answer(strip_citation_markers("It was founded long ago [1]"), ["1"])


def test_reciprocal_rank():
    assert reciprocal_rank(["a.md", "b.md", "c.md"], "a.md") == 1.0
    assert reciprocal_rank(["a.md", "b.md", "c.md"], "c.md") == pytest.approx(1 / 3)
    assert reciprocal_rank(["a.md", "c.md", "c.md"], "c.md") == 0.5  # the first hit counts
    assert reciprocal_rank(["a.md"], "z.md") == 0.0
    assert reciprocal_rank([], "z.md") == 0.0


def test_citation_supports_uses_passage_and_quote():
    assert citation_supports({"passage": "He left for Moscow on Friday.", "quote": "He left."}, ["Moscow"])
    assert citation_supports({"passage": "", "quote": "Moscow, Friday"}, ["moscow"])
    assert not citation_supports({"passage": "He left.", "quote": "He left."}, ["Moscow"])


def test_percentile_interpolates_like_numpy():
    assert percentile([4, 1, 3, 2], 50) == 2.5  # sorted 1 2 3 4, position 1.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # position 2.85: 3 + 0.85 * (4 - 3)
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None


def test_refusal_confusion_matrix():
    # question:      q1    q2    q3    q4     q5
    answerable = [True, True, True, False, False]
    refused = [False, True, False, True, False]
    # unanswerable refused (TP) = q4; answerable refused (FP) = q2; unanswerable answered (FN) = q5
    rates = refusal_rates(answerable, refused)
    assert rates == {
        "refusal_recall": 0.5,  # TP / unanswerable = 1/2
        "refusal_precision": 0.5,  # TP / refused = 1/2
        "false_refusal_rate": pytest.approx(1 / 3),  # FP / answerable = 1/3
    }


def test_refusal_rates_without_unanswerable_or_refusals_are_na():
    assert refusal_rates([True, True], [False, False]) == {
        "refusal_recall": None,
        "refusal_precision": None,
        "false_refusal_rate": 0.0,
    }


# --- per-question outcome and the summary ----------------------------------------
def _passage(source: str, text: str) -> dict:
    return {"rank": 0, "chunk_id": "c", "article_id": "x", "source": source, "score": 0.5, "text": text}


def _citation(passage: str, quote: str, phrase: str | None = None, score: float = 1.0) -> dict:
    return {"n": 1, "article_id": "x", "title": "t", "source": "s", "passage": passage, "quote": quote, "score": score,
            "phrase": phrase}


@pytest.fixture
def hand_made_results() -> list[QuestionResult]:
    right = QuestionResult(  # answered right, top passage from the gold article
        id="r1", question="Where does Kerry fly?", gold=["Moscow"], article="a.md", answerable=True,
        answer="Kerry flies to Moscow [1]",
        citations=[_citation("Kerry flies to Moscow today.", "Kerry flies to Moscow", phrase="to Moscow")],
        retrieved=[_passage("/c/a.md", "Kerry flies to Moscow today."), _passage("/c/b.md", "Other things.")],
        latency_ms=100,
    )
    falsely_refused = QuestionResult(  # gold in passage 2, from the gold article at rank 2
        id="r2", question="Who meets Kerry?", gold=["Lavrov"], article="b.md", answerable=True,
        refused=True, answer="The articles don't say.",
        retrieved=[_passage("/c/a.md", "Kerry flies."), _passage("/c/b.md", "He meets Lavrov.")],
        latency_ms=200,
    )
    wrong = QuestionResult(  # wrong answer, two citations that hold no gold, gold article not retrieved
        id="r3", question="When?", gold=["1900"], article="b.md", answerable=True,
        answer="It happened in 1899 [1] [2]",
        # the best-scored citation's phrase is the answer's phrase: "1899", not the runner-up's "1900"
        citations=[_citation("It happened in 1899.", "It happened in 1899.", phrase="in 1899", score=2.0),
                   _citation("Unrelated.", "Unrelated.", phrase="1900")],
        retrieved=[_passage("/c/c.md", "Nothing here.")],
        latency_ms=300,
    )
    wrongly_answered = QuestionResult(  # unanswerable but answered
        id="r4", question="Capital of France?", gold=[], article=None, answerable=False,
        answer="Paris is big [1]", citations=[_citation("Paris is big.", "Paris is big.")],
        retrieved=[_passage("/c/a.md", "Paris is big.")],
        latency_ms=400,
    )
    results = [right, falsely_refused, wrong, wrongly_answered]
    for r in results:
        r.outcome = question_outcome(r)
    return results


def test_question_outcome(hand_made_results):
    right, falsely_refused, wrong, wrongly_answered = (r.outcome for r in hand_made_results)
    # "Kerry flies to Moscow" vs "moscow": 1 shared of 4 predicted, P = 1/4, R = 1, F1 = 0.5/1.25 = 0.4
    assert right == {
        "answer_in_top_k": True, "article_hit_at_1": True, "reciprocal_rank": 1.0, "str_em": 1.0,
        "token_f1": pytest.approx(0.4), "answer_words": 4, "highlight_em": 1.0, "highlight_words": 2,
        "citations": 1, "supporting_citations": 1, "refusal_correct": True,
    }
    assert falsely_refused == {
        "answer_in_top_k": True, "article_hit_at_1": False, "reciprocal_rank": 0.5, "str_em": 0.0,
        "token_f1": 0.0, "answer_words": None, "highlight_em": None, "highlight_words": None,
        "citations": None, "supporting_citations": None, "refusal_correct": False,
    }
    assert wrong["answer_in_top_k"] is False and wrong["reciprocal_rank"] == 0.0
    assert wrong["highlight_em"] == 0.0 and wrong["highlight_words"] == 2
    assert wrong["citations"] == 2 and wrong["supporting_citations"] == 0
    assert wrongly_answered == {
        "answer_in_top_k": None, "article_hit_at_1": None, "reciprocal_rank": None, "str_em": None,
        "token_f1": None, "answer_words": None, "highlight_em": None, "highlight_words": None,
        "citations": None, "supporting_citations": None, "refusal_correct": False,
    }


def test_summarise_hand_made_run(hand_made_results):
    summary = summarise(hand_made_results, ingest_s=1.5)
    assert summary == {
        "answer_recall_at_k": pytest.approx(2 / 3, abs=1e-4),  # r1, r2 of r1..r3
        "article_hit_at_1": pytest.approx(1 / 3, abs=1e-4),  # r1
        "mrr": 0.5,  # (1 + 1/2 + 0) / 3
        "str_em": pytest.approx(1 / 3, abs=1e-4),  # r1; the refusal scores 0
        "token_f1": pytest.approx(0.4 / 3, abs=1e-4),  # (0.4 + 0 + 0) / 3
        "answer_words_median": 4,  # r1 and r3 have 4 words each (markers removed)
        "highlight_em": 0.5,  # r1's "to Moscow" holds the gold; r3's "in 1899" does not
        "highlight_words_median": 2,
        "citation_precision": pytest.approx(1 / 3, abs=1e-4),  # 1 supporting of 3 citations (r1: 1/1, r3: 0/2)
        "citation_recall": 0.5,  # r1 yes, r3 no
        "refusal_recall": 0.0,  # the one unanswerable question was answered
        "refusal_precision": 0.0,  # the one refusal was of an answerable question
        "false_refusal_rate": pytest.approx(1 / 3, abs=1e-4),
        "latency_p50_ms": 250.0,  # 100 200 300 400 → position 1.5
        "latency_p95_ms": 385.0,  # position 2.85: 300 + 0.85 * 100
        "ingest_s": 1.5,
        "n_questions": 4,
    }
    assert set(summary) == set(METRICS)


def test_run_counts(hand_made_results):
    assert run_counts(hand_made_results) == {
        "n_answerable": 3, "n_unanswerable": 1, "n_refused": 1, "n_errors": 0, "n_notices": 0,
    }


def test_failures_are_wrong_refused_or_wrongly_answered(hand_made_results):
    assert [is_failure(r) for r in hand_made_results] == [False, True, True, True]


def test_summarise_of_nothing_is_na():
    summary = summarise([], ingest_s=0.0)
    assert summary["str_em"] is None and summary["latency_p50_ms"] is None and summary["n_questions"] == 0


# --- gates, --compare, formatting --------------------------------------------------
def test_parse_gates():
    assert parse_gates(["str_em=0.5"], ["latency_p95_ms = 900"]) == [
        Gate("str_em", 0.5, ceiling=False),
        Gate("latency_p95_ms", 900.0, ceiling=True),
    ]


@pytest.mark.parametrize(
    "floor, message",
    [
        ("bogus=0.5", "--fail-under: unknown metric 'bogus'"),
        ("str_em", "--fail-under: expected METRIC=VALUE, got 'str_em'"),
        ("str_em=high", "--fail-under: 'high' is not a number"),
    ],
)
def test_bad_gates_are_clear_errors(floor, message):
    with pytest.raises(errors.InvalidRequest) as raised:
        parse_gates([floor], [])
    assert str(raised.value).startswith(message)


def test_check_gates_names_every_metric_out_of_bounds():
    summary = {"str_em": 0.4, "mrr": 0.9, "latency_p95_ms": 1200.0, "refusal_recall": None}
    check_gates(summary, parse_gates(["str_em=0.4", "mrr=0.5"], ["latency_p95_ms=1200"]))  # bounds are inclusive
    with pytest.raises(GateFailed) as raised:
        check_gates(summary, parse_gates(["str_em=0.5", "mrr=0.5", "refusal_recall=0.1"], ["latency_p95_ms=1000"]))
    message = str(raised.value)
    assert "str_em = 0.4 is under the floor 0.5" in message
    assert "latency_p95_ms = 1200 is above the ceiling 1000" in message
    assert "refusal_recall is n/a" in message
    assert "mrr" not in message


def test_compare_deltas_and_verdicts():
    changes = {c.metric: c for c in compare(
        {"str_em": 0.6, "latency_p50_ms": 120.0, "n_questions": 10, "mrr": None},
        {"str_em": 0.5, "latency_p50_ms": 100.0, "n_questions": 12, "mrr": 0.7},
    )}
    assert changes["str_em"].delta == pytest.approx(0.1) and changes["str_em"].verdict == "better"
    assert changes["latency_p50_ms"].delta == 20.0 and changes["latency_p50_ms"].verdict == "worse"
    assert changes["n_questions"].delta == -2 and changes["n_questions"].verdict == ""  # a count, no direction
    assert changes["mrr"].delta is None and changes["mrr"].verdict == ""
    assert MetricChange("str_em", 0.5, 0.5).verdict == ""
    assert MetricChange("token_f1", 0.1193, 0.1194).verdict == ""  # shown as +0.000: not "better"
    assert MetricChange("latency_p50_ms", 100.0, 100.04).verdict == ""  # shown as +0.0
    assert MetricChange("latency_p50_ms", 100.0, 109.0).verdict == ""  # within a time's noise (10 %)
    assert MetricChange("latency_p95_ms", 100.0, 89.0).verdict == "better"
    assert MetricChange("ingest_s", 36.0, 0.0).verdict == ""  # a cached index, not faster code


@pytest.mark.parametrize(
    "name, value, signed, shown",
    [
        ("str_em", 0.68812, False, "0.688"),
        ("str_em", 0.05, True, "+0.050"),
        ("latency_p95_ms", 1159.74, False, "1,159.7"),
        ("latency_p50_ms", -20.0, True, "-20.0"),
        ("answer_words_median", 28.0, False, "28"),
        ("answer_words_median", 28.5, False, "28.5"),
        ("highlight_words_median", 1.0, False, "1"),
        ("n_questions", 577, False, "577"),
        ("mrr", None, False, "n/a"),
    ],
)
def test_format_metric(name, value, signed, shown):
    assert format_metric(name, value, signed=signed) == shown


def test_settings_used_records_llm_settings_only_for_llm_backends():
    extractive = settings_used(Settings(backend="extractive", top_k=7))
    assert extractive["k"] == 7 and extractive["embedder"] == "all-MiniLM-L6-v2" and "openai_model" not in extractive
    openai = settings_used(Settings(backend="openai", openai_model="some-model"))
    assert openai["openai_model"] == "some-model"
    json.dumps(openai)  # plain JSON values only
