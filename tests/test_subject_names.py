"""The subject's other names: read as the question names the subject, quoted as the article wrote it."""

from __future__ import annotations

import pytest

from assistant.answer.subject_names import Renamed, as_asked, subject_names

GENGHIS = (
    "Genghis Khan\n\n"
    "Genghis Khan (born Temüjin; c. 1162 – August 1227) was the founder and first Great Khan of the Mongol Empire.\n\n"
    "When he was around 16 years old, Temüjin married Börte of the Onggirat tribe."
)
MARRIED = "When he was around 16 years old, Temüjin married Börte of the Onggirat tribe."


@pytest.mark.fast
@pytest.mark.parametrize("text, title, names", [
    (GENGHIS, "Genghis Khan", ("Genghis Khan", "Temüjin")),
    ("Josip Broz (7 May 1892 – 4 May 1980), commonly known as Tito, was a revolutionary.", "Josip Broz Tito",
     ("Josip Broz Tito", "Tito")),
    ("# Jacqueline Kennedy Onassis\n\nJacqueline Lee Kennedy Onassis (née Bouvier; 1929 – 1994) was First Lady.",
     "Jacqueline Kennedy Onassis", ("Jacqueline Kennedy Onassis", "Bouvier")),
    # names given later in the article are not the subject's: only its opening says who it is
    ("Uranium\n\nUranium is a chemical element. It is silvery. A mineral known as Pitchblende holds it.", "Uranium",
     ("Uranium",)),
])
def test_the_subjects_names_are_the_title_and_those_its_opening_gives(text, title, names):
    assert subject_names(title, text, title) == names


@pytest.mark.fast
def test_a_sentence_naming_the_subject_otherwise_reads_with_the_questions_name():
    names = ("Genghis Khan", "Temüjin")
    renamed = as_asked(MARRIED, "Who was Genghis Khan's wife?", names)
    assert renamed.text == "When he was around 16 years old, Genghis Khan married Börte of the Onggirat tribe."
    # spans the reader finds in what it read are the sentence's own characters
    borte = renamed.text.index("Börte")
    assert MARRIED[slice(*renamed.span_in_sentence((borte, borte + len("Börte"))))] == "Börte"
    khan = renamed.text.index("Khan")  # inside the name put in: the name it replaced
    assert MARRIED[slice(*renamed.span_in_sentence((khan, khan + 4)))] == "Temüjin"
    assert MARRIED[slice(*renamed.span_in_sentence((0, len(renamed.text))))] == MARRIED


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "Who was Temüjin's wife?",  # the sentence already names him as asked
    "Whom did the Onggirat tribe marry?",  # the question names no name of the subject
])
def test_a_sentence_is_read_as_written_otherwise(question):
    assert as_asked(MARRIED, question, ("Genghis Khan", "Temüjin")) == Renamed(MARRIED)


@pytest.mark.fast
def test_an_article_with_one_name_reads_as_written():
    assert as_asked("TimeWarner said sales rose 2%.", 'What rose 2% in "Ad sales boost Time Warner profit"?',
                    ("Ad sales boost Time Warner profit",)) == Renamed("TimeWarner said sales rose 2%.")


@pytest.mark.fast
def test_every_other_name_in_a_sentence_is_renamed_and_spans_map_back_past_each():
    sentence = "Temüjin's mother raised Temüjin alone after 1171."
    renamed = as_asked(sentence, "Who raised Genghis Khan?", ("Genghis Khan", "Temüjin"))
    assert renamed.text == "Genghis Khan's mother raised Genghis Khan alone after 1171."
    for word in ("mother", "alone after 1171"):
        at = renamed.text.index(word)
        assert sentence[slice(*renamed.span_in_sentence((at, at + len(word))))] == word
