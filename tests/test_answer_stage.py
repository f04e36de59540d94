"""The answer stage: the reader's phrase and refusal, follow-ups."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from assistant.answer import reader
from assistant.models import Turn
from assistant.question.condense import condense

COMET = (
    "Comet found by a schoolgirl\n\n"
    "The new comet was discovered last week by a schoolgirl photographing the night sky from her back garden. "
    "Maya Lindqvist, a 16-year-old student at the cathedral school, noticed a faint smudge that moved between her "
    "pictures. Astronomers confirmed the find a day later and gave the comet a catalogue number.\n"
)


def test_the_phrase_is_what_the_question_asks_for(seeded_assistant):
    answer = seeded_assistant.ask("What does JIG stand for?")
    best = max(answer.citations, key=lambda c: c.score)
    assert best.phrase is not None and "Joint Implementation Group" in best.phrase
    assert len(best.phrase.split()) <= 8
    assert best.quote[best.highlight_start : best.highlight_end] == best.phrase
    # The API and `assistant ask --json` send it as part of the citation.
    assert answer.public()["citations"][0]["phrase"] == answer.citations[0].phrase


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("Who will Kerry meet on Friday?", "Kerry will meet Russian Foreign Minister Sergei Lavrov on Friday.", "Lavrov"),
        ("When did Tesla receive the patent?", "Tesla received the patent for his transmitter in 1900.", "1900"),
        ("How many castles are there along the gorge?", "The gorge is lined with more than 40 castles.", "40"),
    ],
)
def test_the_reader_finds_the_phrase_asked_for(question, sentence, expected):
    [reading] = reader.shipped().read(question, [sentence])
    assert reading.span is not None and expected in sentence[reading.span[0] : reading.span[1]]
    assert len(sentence[reading.span[0] : reading.span[1]].split()) <= 6


def test_the_articles_not_holding_the_answer_is_said_plainly(seeded_assistant, make_assistant):
    unanswerable = "How old is John Kerry?"  # the article names him often and never gives his age
    refused = seeded_assistant.ask(unanswerable)
    assert refused.refused and refused.refusal_reason == "answerability"
    assert refused.support < seeded_assistant.settings.answerability_threshold
    answered = seeded_assistant.ask("Which city is John Kerry visiting?")
    assert not answered.refused and answered.support >= seeded_assistant.settings.answerability_threshold
    assert "Moscow" in answered.citations[0].phrase
    never = make_assistant(answerability_threshold=-1000)
    assert never.ingest([ROOT / "seeds"]).ok
    assert not never.ask(unanswerable).refused


def test_a_question_naming_nothing_is_refused_whatever_reads_best(make_assistant):
    never = make_assistant(answerability_threshold=-1000)  # so only the missing terms can refuse
    assert never.ingest([ROOT / "seeds"]).ok
    for question in ("When?", "Who is he?", "Why?"):  # with nothing before them
        answer = never.ask(question)
        assert answer.refused and answer.refusal_reason == "no question terms" and answer.citations == [], question
    assert not never.ask("When will Kerry meet Lavrov?").refused


def test_a_follow_up_uses_the_name_the_answer_gave(make_assistant, tmp_path):
    (tmp_path / "comet.txt").write_text(COMET)
    assistant = make_assistant()
    assert assistant.ingest([tmp_path / "comet.txt"]).ok
    first = assistant.ask("Which student noticed the faint smudge?")
    assert not first.refused and "Maya Lindqvist" in first.citations[0].phrase
    history = [Turn(question="Which student noticed the faint smudge?", answer=first.answer)]
    second = assistant.ask("How old is she?", history)
    assert second.question == "How old is Maya Lindqvist?"
    assert not second.refused and "16" in second.citations[0].phrase and "16-year-old" in second.answer


@pytest.mark.parametrize(
    ("history", "question", "standalone"),
    [
        # a person asked for becomes the subject
        ([("Who discovered the comet?", "It was found by Maya Lindqvist, a student in Uppsala [1]")],
         "How old is she?", "How old is Maya Lindqvist?"),
        # a person the conversation is about stays its subject, even after an answer naming another
        ([("Which city is John Kerry visiting?", "Kerry visits Moscow [1]"),
          ("Who will he meet on Friday?", "He will meet Foreign Minister Sergei Lavrov on Friday [1]")],
         "Did he deny the report?", "Did John Kerry deny the report?"),
        # there and then: the place or time the answer gave to a where/when question
        ([("Who discovered the comet?", "It was found by Maya Lindqvist, a student in Uppsala [1]")],
         "What did she study there?", "What did Maya Lindqvist study in Uppsala?"),
        ([("When was the treaty signed?", "The treaty was signed in March 1857 [1]")],
         "Who signed it then?", "Who signed it in March 1857?"),
        # "it" points to a name the answer gave only when one was asked for
        ([("Which firm won the contract?", "Northgate Holdings won the contract [1]")],
         "When was it founded?", "When was Northgate Holdings founded?"),
        # existential "there", and a question that names someone, are left alone
        ([("When was the treaty signed?", "The treaty was signed in March 1857 in Paris [1]")],
         "Is there a copy?", "Is there a copy?"),
        ([("Who discovered the comet?", "Maya Lindqvist [1]")], "How old is Ada Brandt?", "How old is Ada Brandt?"),
    ],
)
def test_follow_ups_resolve_against_the_previous_question_and_answer(history, question, standalone):
    turns = [Turn(question=q, answer=a) for q, a in history]
    assert condense(question, turns) == standalone


@pytest.mark.fast
def test_the_real_news_check_set_is_valid_and_its_articles_stay_outside_the_project():
    check = ROOT / "bench" / "newsreal" / "check.py"
    articles = ROOT.parent / "shared" / "evaldata" / "cnn-summary-dev" / "articles"
    if not articles.is_dir():
        pytest.skip(f"{articles} is not on this machine")
    done = subprocess.run([sys.executable, str(check)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK")
    assert not (ROOT / "bench" / "newsreal" / "articles").exists()
