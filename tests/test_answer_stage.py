"""The fitted answer stage: the answer phrase, the refusal classifier, the neighbouring sentence, follow-ups."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from assistant.answer import phrases, refusal
from assistant.embeddings import get_embedder
from assistant.models import Turn
from assistant.question.analysis import analyse
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
    assert len(best.phrase.split()) <= phrases.MAX_WORDS
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
def test_phrase_candidates_and_the_fitted_model(question, sentence, expected):
    embedder = get_embedder()
    found = phrases.candidates(analyse(question), sentence, embedder)
    assert all(len(c.text.split()) <= phrases.MAX_WORDS and sentence[c.start : c.end] == c.text for c in found)
    # Every candidate is compared with the question's wh-word in the embedder's own vectors.
    assert all("wh_vector_mean" in c.features and -1.0 <= c.features["wh_vector_max"] <= 1.0 for c in found)
    [(start, end)] = phrases.answer_phrases(analyse(question), [sentence], embedder)
    assert expected in sentence[start:end]


def test_the_wh_word_vector_comes_from_the_question_and_the_pieces_from_the_sentence():
    embedder = get_embedder()
    sentence = "Maya Lindqvist, 16, found it."
    wh, [pieces] = phrases.word_pieces(embedder, "Who found the comet?", [sentence])
    [question_vectors] = embedder.token_vectors(["Who found the comet?"])
    assert wh is not None and np.allclose(wh, question_vectors[0].astype(np.float32))  # "who" is the first piece
    assert len(pieces.within(0, len("Maya Lindqvist"))) == 4  # Maya, Lin, d, qvist
    assert len(pieces.within(16, 18)) == 1  # 16
    no_wh, _ = phrases.word_pieces(embedder, "Tell me about the comet", [sentence])
    assert no_wh is None


def test_the_refusal_model_matches_the_signals_the_code_computes(seeded_assistant):
    model = refusal.shipped_model()
    assert model is not None, "assistant/answer/refusal_model.json is missing: run python -m bench.cv --write"
    answer = seeded_assistant.ask("Which city is John Kerry visiting?")
    # A signal added to or dropped from refusal.signals without refitting would be silently misread.
    assert set(answer.refusal_signals) == set(model.features)
    assert 0.0 <= model.probability(answer.refusal_signals) <= 1.0
    assert model.probability(answer.refusal_signals) >= model.min_probability


def test_the_rules_refuse_by_default_and_the_classifier_is_a_setting(seeded_assistant, make_assistant):
    unanswerable = "What did Putin serve Kerry for dinner at the Kremlin?"
    refused = seeded_assistant.ask(unanswerable)
    assert refused.refused and refused.refusal_reason == "predicate"
    classifier = make_assistant(refusal="model")
    assert classifier.ingest([ROOT / "seeds"]).ok
    asked = classifier.ask("How old is John Kerry?")  # the seed article never says
    assert asked.refused and asked.refusal_reason == "model"
    assert not classifier.ask("Which city is John Kerry visiting?").refused
    never = make_assistant(refusal="off")
    assert never.ingest([ROOT / "seeds"]).ok
    assert not never.ask(unanswerable).refused


def test_a_sentence_that_leans_on_the_next_brings_it_and_follow_ups_use_the_answer(make_assistant, tmp_path):
    (tmp_path / "comet.txt").write_text(COMET)
    assistant = make_assistant()
    assert assistant.ingest([tmp_path / "comet.txt"]).ok
    first = assistant.ask("Who discovered the comet?")
    assert not first.refused and "Maya Lindqvist" in first.answer  # the name is in the next sentence
    history = [Turn(question="Who discovered the comet?", answer=first.answer)]
    second = assistant.ask("How old is she?", history)
    assert second.question == "How old is Maya Lindqvist?"
    assert not second.refused and "16-year-old" in second.answer


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


def test_cross_validation_groups_an_unanswerable_question_with_its_article():
    from bench import cv

    assert cv.group_of("newswire", "wire-03-q12", None) == cv.group_of("newswire", "wire-03-q02", "03_council.txt")
    assert cv.group_of("xquad-dev", "5726e37ef1498d1400e8eeda", "Teacher.md") == "xquad-dev/Teacher.md"


@pytest.mark.fast
def test_the_fitted_models_say_what_they_were_fitted_on():
    for path in (phrases.MODEL_PATH, refusal.MODEL_PATH):
        about = json.loads(path.read_text())
        assert {"xquad-dev", "newsdev", "newswire"} <= set(about["fitted_on"]), path
        assert "newsreal" not in about["fitted_on"], path  # the real-news check set is never fitted on


@pytest.mark.fast
def test_the_real_news_check_set_is_valid_and_its_articles_stay_outside_the_project():
    from bench.question_sets import ARTICLES_ELSEWHERE

    check, articles = ROOT / "bench" / "newsreal" / "check.py", ARTICLES_ELSEWHERE["newsreal"]
    if not articles.is_dir():
        pytest.skip(f"{articles} is not on this machine")
    done = subprocess.run([sys.executable, str(check)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK")
    assert not (ROOT / "bench" / "newsreal" / "articles").exists()
