"""What a question asks for, and whether a sentence holds it: the refusal check's ground truth."""

from __future__ import annotations

import pytest

from assistant.question.analysis import analyse, sentence_has_kind

pytestmark = pytest.mark.fast

@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("In what century did missionaries found schools?", "Missionaries founded schools in the nineteenth century.", True),
        ("In what century did missionaries found schools?", "Missionaries founded schools across the region.", False),
        ("What was the time on the clock at the kickoff?", "The clock showed 4:51 when the drive began.", True),
        ("When does the ferry leave?", "The ferry leaves at 7 pm every day.", True),
        ("When did the war end?", "The war ended on the 5th of May.", True),
        ("When did the war end?", "The war was the second of its kind.", False),  # a rank, not a date
        ("When does immunodeficiency occur?", "It occurs when the immune system is less active.", True),
        ("How old is John Kerry?", "Kerry is due in Moscow later on Thursday.", False),
        ("How old is John Kerry?", "Kerry arrived on 14 July for two days of talks.", False),  # numbers, not an age
        ("How old is John Kerry?", "John Kerry, 72, arrived in Moscow.", True),
        ("How old was Elway?", "Elway won at age 38.", True),
        ("How old must a member be?", "Members must be over the age of 18.", True),
        ("How many ships sank?", "Twelve ships sank in the storm.", True),
        ("How many treaties mention rights?", "None of the treaties mention rights.", True),
        ("How old are the fossils?", "The fossils date from about 515 million years ago.", True),
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


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the war end?", "date"),
        ("Since when has the bridge been closed?", "date"),
        ("The treaty was signed when?", "date"),
        ("In what year did the war end?", "date"),
        # "when" and "age" inside the question do not make it ask for a date or an age
        ("What happens when the immune system is less active than normal?", None),
        ("The presence of what can be used to determine the relative age of rocks?", None),
        ("How old is John Kerry?", "age"),
        ("What was the age of the oldest player?", "age"),
        ("Who chairs the panel?", "person"),
    ],
)
def test_the_question_word_decides_the_kind(question, kind):
    assert analyse(question).kind == kind


def test_a_named_event_answers_when():
    analysis = analyse("When was the Rhineland subject to the treaty?")
    assert sentence_has_kind("date", "At the end of World War I, the Rhineland was subject to the treaty.", analysis)
    assert not sentence_has_kind("date", "The Rhineland was subject to the treaty.", analysis)


@pytest.mark.parametrize(
    ("question", "kind", "sentence", "holds"),
    [
        ("How much did the city spend on the bridge?", "money", "The bridge cost $54 million to build.", True),
        ("How much did the city spend on the bridge?", "money", "The bridge took nine years to build.", False),
        ("What is the treasurer's annual salary?", "money", "The treasurer earns 90,000 euros a year.", True),
        ("Which company made the fuse?", "name", "The fuse was made by Kessler Components.", True),
        ("Which company made the fuse?", "name", "The fuse was made by an outside manufacturer.", False),
        ("Which country signed the treaty in 1985?", "name", "Greenland signed a treaty in 1985.", True),  # a name may lead
        ("What is the phone number of the hotline?", "number", "The hotline is open around the clock.", False),
    ],
)
def test_money_and_name_questions(question, kind, sentence, holds):
    analysis = analyse(question)
    assert analysis.kind == kind
    assert sentence_has_kind(kind, sentence, analysis) is holds


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("What did Lavrov say after the talks?", '"We made progress," Lavrov said after the talks.', True),
        # A quote, but someone else's: it does not answer what Lavrov said.
        ("What did Lavrov say after the talks?", '"We made progress," Kerry said after the talks.', False),
        # The title is a common word and names nobody; the name does.
        ("What did President Nadia Ferenc tell the mayors?", '"Build the dam," Ferenc told the mayors.', True),
        ("What did President Nadia Ferenc tell the mayors?", '"Build the dam," President Okafor told the mayors.', False),
        # No name for the speaker: any quote may be the answer.
        ("What does the striker say he hopes to achieve?", '"I want to win the league," the striker said.', True),
    ],
)
def test_a_quote_answers_only_for_the_speaker_the_question_names(question, sentence, holds):
    analysis = analyse(question)
    assert analysis.kind == "quote"
    assert sentence_has_kind(analysis.kind, sentence, analysis) is holds
