"""Follow-ups people type, articles named by title, overviews without datelines, and `assistant chat`.

The articles are written here, each shaped like the report it stands for (a wire story with a dateline, a
Wikipedia-style biography, a local news item, two business stories sharing a title).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest

from assistant.models import Filters, Turn
from assistant.question.condense import condense

ARTICLES = {
    "kerry_geneva.txt": (
        "Kerry and Lavrov to meet in Geneva on Syria truce\n\n"
        "GENEVA (Reuters) - US Secretary of State John Kerry will meet Russian Foreign Minister Sergei Lavrov in "
        "Geneva on Friday to try to rescue the ceasefire in Syria, the State Department said on Wednesday.\n\n"
        "The talks come after a week of heavy fighting around Aleppo, where aid convoys have been unable to reach "
        "the eastern part of the city.\n\n"
        "Lavrov will also meet the UN envoy Staffan de Mistura on Saturday, the Russian foreign ministry said.\n\n"
        "Kerry has said the United States is ready to share intelligence with Russia if the truce holds for seven "
        "days.\n"
    ),
    "genghis.txt": (
        "Genghis Khan\n\n"
        "Genghis Khan (born Temüjin; c. 1162 – August 1227) was the founder and first Great Khan of the Mongol "
        "Empire, which became the largest contiguous empire in history after his death.\n\n"
        "Temüjin was born in the Khentii mountains. His father Yesügei was a Khamag Mongol chief who was poisoned "
        "by the Tatars when Temüjin was about nine years old.\n\n"
        "When he was around 16 years old, Temüjin married Börte of the Onggirat tribe, sealing an alliance "
        "between the two tribes.\n\n"
        "Genghis Khan died in August 1227 during the campaign against the Western Xia; the exact cause of his "
        "death remains a mystery.\n"
    ),
    "bridge.txt": (
        "Harbour bridge reopens after two years of repairs\n\n"
        "The Old Harbour Bridge in Portmouth reopened to traffic on Monday after two years of work to replace its "
        "rusted steel deck.\n\n"
        "The repairs cost 12 million pounds, twice the original estimate, the council said.\n\n"
        "Engineers found that salt water had corroded the supports much more deeply than surveys had shown.\n"
    ),
    "timewarner.txt": (
        "Ad sales boost Time Warner profit\n\n"
        "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn for the three months to December, "
        "from $639m a year earlier.\n\n"
        "The firm, one of the biggest investors in Google, benefited from sales of high-speed internet "
        "connections and higher advert sales.\n\n"
        "TimeWarner said fourth quarter sales rose 2% to $11.1bn from $10.9bn.\n"
    ),
    "markets_a.txt": (
        "Markets close higher\n\n"
        "Shares in London closed higher on Tuesday as miners rallied on rising copper prices.\n"
    ),
    "markets_b.txt": (
        "Markets close higher\n\n"
        "Wall Street closed higher on Thursday after a strong report on retail sales.\n"
    ),
}


@pytest.fixture(scope="module")
def over_articles(tmp_path_factory):
    from assistant.core import Assistant
    from assistant.settings import load_settings

    root = tmp_path_factory.mktemp("follow-ups")
    folder = root / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    assistant = Assistant(load_settings(index_dir=root / "index"))
    assert assistant.ingest([folder]).ok
    assistant.root = root
    return assistant


def conversation(assistant, *questions: str):
    """Ask each question with the earlier ones (and their answers) as history; the last answer."""
    history: list[Turn] = []
    answer = None
    for question in questions:
        answer = assistant.ask(question, history)
        history.append(Turn(question=question, answer=answer.answer))
    return answer


def sources_of(answer) -> set[str]:
    return {Path(c.source).name for c in answer.citations}


# --- the standalone question a follow-up stands for -----------------------------------------------------

KERRY = [Turn(question="Who will Kerry meet?", answer="Kerry will meet Lavrov in Geneva on Friday. [1]")]


@pytest.mark.parametrize("follow_up, history, standalone", [
    ("When?", KERRY, "When will Kerry meet?"),
    ("And where?", KERRY, "Where will Kerry meet?"),
    ("Who else?", KERRY, "Who else will Kerry meet?"),
    ("And Lavrov?", KERRY, "Who will Lavrov meet?"),
    ("What about Lavrov?", KERRY, "Who will Lavrov meet?"),
    ("How about Sergei Lavrov?", KERRY, "Who will Sergei Lavrov meet?"),
    ("Why?", [Turn(question="Did Kerry deny the report?", answer="He did not deny the report. [1]")],
     "Why did Kerry deny the report?"),
    ("How many?", [Turn(question="Who died in the fire?", answer="Nine workers died in the fire. [1]")],
     "How many died in the fire?"),
    ("And in 2012?", [Turn(question="How many people visited the museum in 2010?", answer="About 40,000. [1]")],
     "How many people visited the museum in 2012?"),
    # a chain of ellipses: each borrows from the one before, itself resolved
    ("Where?", [*KERRY, Turn(question="When?", answer="On Friday. [1]")], "Where will Kerry meet?"),
    # possessives point at the name as the text writes it
    ("Who was his wife?", [Turn(question="When did Genghis Khan die?", answer="He died in August 1227. [1]")],
     "Who was Genghis Khan's wife?"),
    # a whole question after "and" is no ellipsis
    ("And when did he resign?", [Turn(question="Who is Tom Baker?", answer="The council leader. [1]")],
     "When did Tom Baker resign?"),
    ("When?", [], "When?"),  # nothing to borrow from
    # a name after the pronoun is someone else; one before it is what it points to
    ("Where will she meet Putin?", [Turn(question="Who is Ingrid Sorensen?", answer="A Danish envoy. [1]")],
     "Where will Ingrid Sorensen meet Putin?"),
    ("Did Kerry say he would go?", KERRY, "Did Kerry say he would go?"),
])
def test_follow_ups_become_standalone_questions(follow_up, history, standalone):
    assert condense(follow_up, history) == standalone


# --- each example of the issue, over the real stack ------------------------------------------------------

def test_when_and_and_x_after_who_will_kerry_meet(over_articles):
    when = conversation(over_articles, "Who will Kerry meet?", "When?")
    assert not when.refused and "Friday" in when.answer and sources_of(when) == {"kerry_geneva.txt"}
    lavrov = conversation(over_articles, "Who will Kerry meet?", "And Lavrov?")
    assert not lavrov.refused and "de Mistura" in lavrov.answer


def test_his_wife_after_when_did_genghis_khan_die(over_articles):
    wife = conversation(over_articles, "When did Genghis Khan die?", "Who was his wife?")
    assert wife.question == "Who was Genghis Khan's wife?"
    assert not wife.refused and sources_of(wife) == {"genghis.txt"}
    # the article calls him Temüjin there ("born Temüjin", it says first); the quote stays the article's words
    (citation,) = wife.citations
    assert "Temüjin married Börte" in citation.quote and citation.phrase.startswith("Börte")


def test_a_subject_named_more_fully_than_the_article_names_it(over_articles):
    for question in ("How much did the repairs cost?", "How much did the harbour bridge repairs cost?"):
        answer = over_articles.ask(question)
        assert not answer.refused and "12 million pounds" in answer.answer, question


@pytest.mark.parametrize("request_", [
    'Summarize the article "Ad sales boost Time Warner profit".',
    "Summarize the article “ad sales boost time warner profits”",  # loosely, in curly quotes
    "Give me a summary of Ad sales boost Time Warner profit",  # unquoted, whole
])
def test_an_overview_of_an_article_named_by_its_title(over_articles, request_):
    answer = over_articles.ask(request_)
    assert answer.kind == "overview" and sources_of(answer) == {"timewarner.txt"}
    assert answer.answer.startswith("Quarterly profits at US media giant TimeWarner jumped 76%")


def test_a_question_naming_an_article_in_quotes_is_scoped_to_it(over_articles):
    answer = over_articles.ask('What rose 2% in "Ad sales boost Time Warner profit"?')
    assert sources_of(answer) == {"timewarner.txt"} and "sales" in answer.answer and not answer.refused
    # the title says where to look, not what is asked: the reader never reads it as part of the question
    assert answer.question == "What rose 2% in?"
    curly = over_articles.ask("According to “Ad sales boost TimeWarner profits”, what rose 2%?")  # loosely quoted
    assert sources_of(curly) == {"timewarner.txt"} and curly.question == "According to, what rose 2%?"


def test_an_ambiguous_title_says_which_articles_it_could_be(over_articles):
    answer = over_articles.ask('Summarize "Markets close higher".')
    assert answer.answer.startswith("“Markets close higher” could be any of these 2 articles")
    assert sources_of(answer) == {"markets_a.txt", "markets_b.txt"}
    scoped = over_articles.ask('Summarize "Markets close higher".',
                               filters=Filters(article_ids=[answer.citations[0].article_id]))
    assert scoped.kind == "overview" and len(sources_of(scoped)) == 1


def test_a_quoted_term_is_no_title(over_articles):
    answer = over_articles.ask('What does "ceasefire" mean for Aleppo?')
    assert "could be any of" not in answer.answer


def test_overviews_leave_out_the_dateline(over_articles):
    answer = over_articles.ask("Summarize the article about Kerry and Lavrov meeting in Geneva.")
    assert answer.answer.startswith("US Secretary of State John Kerry will meet")
    assert answer.citations[0].quote.startswith("US Secretary of State")  # still a verbatim span of the article


def test_an_overview_in_a_conversation_is_of_the_article_it_is_about(over_articles):
    summary = conversation(over_articles, "How much did the bridge repairs cost?", "Summarize the article.")
    assert summary.kind == "overview" and sources_of(summary) == {"bridge.txt"}  # not a list of every article
    about = conversation(over_articles, "When did Genghis Khan die?", "What does the article say about him?")
    assert about.kind == "overview" and sources_of(about) == {"genghis.txt"} and "Genghis Khan" in about.answer
    alone = over_articles.ask("Summarize the article.")  # no conversation, several articles: which ones there are
    assert alone.kind == "catalogue"
    every = conversation(over_articles, "How much did the bridge repairs cost?", "Summarize the articles.")
    assert every.kind == "catalogue" and len(sources_of(every)) > 1  # all of them, as asked, not the bridge's


@pytest.mark.parametrize("follow_up", ["Was it Putin who hosted the talks?", "Did they discuss Syria?",
                                       "Is it true that Lavrov met Putin?"])
def test_it_or_they_beside_a_name_is_left_as_asked(follow_up):
    assert condense(follow_up, KERRY) == follow_up


# --- `assistant chat`, through a pseudo-terminal -------------------------------------------------------------

@contextmanager
def _chatting(over_articles, timeout):
    """`assistant chat` on a terminal of 40 by 200; leaving the block says "exit" and expects a clean end."""
    cli = Path(sys.executable).parent / "assistant"
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(over_articles.root / "index"), "COLUMNS": "200",
           "ASSISTANT_CONFIG": ""}
    chat = pexpect.spawn(str(cli), ["chat"], env=env, encoding="utf-8", timeout=timeout, dimensions=(40, 200))
    try:
        yield chat
        chat.sendline("exit")
        chat.expect(pexpect.EOF)
    finally:
        chat.close()
    assert chat.exitstatus == 0


def test_assistant_chat_holds_a_conversation_and_starts_over(over_articles):
    with _chatting(over_articles, timeout=120) as chat:
        chat.expect(r"Chatting with 6 articles\. .*!new starts over")
        chat.expect_exact("> ")
        chat.sendline("Who will Kerry meet?")
        chat.expect("Sergei Lavrov")
        chat.expect(r"\[1\] Kerry and Lavrov to meet in Geneva on Syria truce")  # the citation under the answer
        chat.expect_exact("> ")
        chat.sendline("When?")
        chat.expect("on Friday")
        chat.expect_exact("> ")
        chat.sendintr()  # Ctrl-C at the prompt clears the line and the chat goes on (sent with a question: below)
        chat.expect(r"\(exit, quit or Ctrl-D leaves\)")
        chat.expect_exact("> ")
        chat.sendline("!new")
        chat.expect("Started over")
        chat.expect_exact("> ")
        chat.sendline("When?")  # with nothing earlier, it asks about nothing
        chat.expect("The articles don't say")
        chat.expect_exact("> ")
        chat.sendline("")  # an empty line asks nothing
        chat.expect_exact("> ")


def test_a_ctrl_c_sent_with_a_question_is_never_lost(over_articles):
    """SIGINT may go to any thread of the process: one that missed the prompt's thread left it waiting with its
    line flushed (3 of 4 runs of this lost one before the prompt watched the signal's wakeup pipe)."""
    with _chatting(over_articles, timeout=60) as chat:
        chat.expect_exact("> ")
        for _ in range(15):
            chat.sendline("Who will Kerry meet?")
            chat.sendintr()
            chat.expect(r"\((stopped|exit, quit or Ctrl-D leaves)")
            chat.expect_exact("> ")


def test_a_huge_earlier_answer_is_read_by_its_head():
    """A history turn may hold 60 KB (or, from Python, megabytes): its head is where its names are. Parsing all of
    it took a minute a turn, and past a million characters spaCy refused it (E088)."""
    long_answer = "Kerry will meet Lavrov in Geneva on Friday. [1] " + "The talks went on. " * 60_000
    standalone = condense("When will he arrive?", [Turn(question="Who is travelling?", answer=long_answer)] * 5)
    assert standalone == "When will Kerry arrive?"


def test_earlier_turns_are_read_as_a_question_is(over_articles):
    """A client sends the history, so its questions may be anything: they are cleaned and cut to the question's
    limit before the question's patterns read them (a turn "and x" + 4,000 spaces + "y" cost `_BARE` a minute)."""
    hostile = Turn(question="and\x1b[2J when" + " " * 4_000 + "x" * 60_000, answer="Kerry will meet Lavrov. [1]")
    answer = over_articles.ask("And where?", history=[*KERRY, hostile])
    assert answer.answer  # answered, whatever it makes of the odd turn
    follow = over_articles.ask("When?", history=[Turn(question="Who will\u202e Kerry  meet?\r\n", answer=KERRY[0].answer)])
    assert "Friday" in follow.answer and follow.question == "When will Kerry meet?"
