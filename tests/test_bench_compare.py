"""bench/compare_runs.py: two evaluation runs compared question by question, with intervals over articles."""

from __future__ import annotations

import json

import pytest

from bench import compare_runs

pytestmark = pytest.mark.fast


def _row(n: int, article: str, answerable: bool, support: float, answer: str = "", phrase: str | None = None) -> dict:
    return {"id": f"q{n}", "article": article, "answerable": answerable, "gold": ["Lavrov"] if answerable else [],
            "support": support, "refused": False, "answer": f"{answer} [1]",
            "citations": [{"quote": answer, "phrase": phrase}] if answer else []}


def _run(answers: dict[int, tuple[str, str | None]]) -> dict[str, dict]:
    """Ten answerable questions on five articles (answered as ``answers`` says, else wrongly) and two unanswerable."""
    rows = [_row(n, f"a{n % 5}.md", True, 3.0, *answers.get(n, ("Kerry met Putin.", "Putin"))) for n in range(10)]
    rows += [_row(10, "a0.md", False, -5.0, "Kerry met Putin."), _row(11, "a1.md", False, 1.0, "Kerry met Putin.")]
    return {r["id"]: r for r in rows}


def test_the_difference_is_per_question_and_its_interval_holds_it():
    right = ("Kerry met Lavrov.", "Lavrov")
    a = _run({0: right, 1: right})
    b = _run({0: right, 1: right, 2: right, 3: ("Kerry met Lavrov.", "Kerry")})  # two more right, one phrase wrong
    table = compare_runs.compare(a, b, threshold_a=-2.0, threshold_b=-2.0)
    assert table["str_em"]["a"] == pytest.approx(0.2) and table["str_em"]["b"] == pytest.approx(0.4)
    assert table["str_em"]["b_minus_a"] == pytest.approx(0.2)
    assert table["phrase_holds_gold"]["b_minus_a"] == pytest.approx(0.1)
    assert table["str_em"]["low"] <= 0.2 <= table["str_em"]["high"] and table["str_em"]["low"] >= 0
    assert table["refusal_recall"]["a"] == pytest.approx(0.5) and table["refusal_recall"]["questions"] == 2
    # each run at its own threshold: B refusing below 2 refuses both unanswerable questions and no answerable one
    raised = compare_runs.compare(a, b, threshold_a=-2.0, threshold_b=2.0)
    assert raised["refusal_recall"]["b"] == 1.0 and raised["false_refusal_rate"]["b"] == 0.0


def test_a_run_that_refused_is_turned_away_naming_its_file(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(_row(0, "a.md", True, -3.0) | {"refused": True}) + "\n")
    with pytest.raises(SystemExit, match="results.jsonl"):
        compare_runs.load(path)


def test_an_unanswerable_question_naming_no_article_is_a_group_of_its_own():
    """The in-house sets' unanswerable questions name no article (None): they were a TypeError when sorted."""
    a = _run({0: ("Kerry met Lavrov.", "Lavrov")})
    a["q10"]["article"] = a["q11"]["article"] = None
    table = compare_runs.compare(a, a, threshold_a=-2.0, threshold_b=-2.0)
    assert table["refusal_recall"]["questions"] == 2 and table["str_em"]["b_minus_a"] == 0.0
