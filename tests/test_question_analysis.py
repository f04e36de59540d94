"""What a question asks for, and whether a sentence holds it: the refusal check's ground truth."""

from __future__ import annotations

import pytest

from assistant.answer.question import analyse, sentence_has_kind


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("In what century did missionaries found schools?", "Missionaries founded schools in the nineteenth century.", True),
        ("In what century did missionaries found schools?", "Missionaries founded schools across the region.", False),
        ("What was the time on the clock at the kickoff?", "The clock showed 4:51 when the drive began.", True),
        ("When does the ferry leave?", "The ferry leaves at 7 pm every day.", True),
        ("When did the war end?", "The war ended on the 5th of May.", True),
        ("When did the war end?", "The war was the second of its kind.", False),  # a rank, not a date
        ("How old is John Kerry?", "Kerry is due in Moscow later on Thursday.", False),
        ("How many ships sank?", "Twelve ships sank in the storm.", True),
    ],
)
def test_sentence_holds_the_kind_asked_for(question, sentence, holds):
    analysis = analyse(question)
    assert sentence_has_kind(analysis.kind, sentence, analysis) is holds


def test_what_the_question_already_says_does_not_count():
    analysis = analyse("When in the 1990s did the war end?")
    assert analysis.kind == "date"
    assert not sentence_has_kind("date", "The war ended in the 1990s.", analysis)
    assert sentence_has_kind("date", "The war ended in March 1995.", analysis)
