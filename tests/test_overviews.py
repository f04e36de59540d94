"""Overviews, catalogues and the article in view: what people ask of articles before they ask about them."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import EVALDATA, SEED_ARTICLE, SEEDS
from servers import ServerThread

from assistant import Filters
from assistant.ingest.cleaning import strip_byline
from assistant.ingest.loaders import load_article
from assistant.models import Turn
from assistant.question.kinds import Request, asking_part, classify
from assistant.question.titles import folded, titled_articles
from assistant.web.app import create_app

ADMIN = "admin-key-overviews-0123456789"
OTHER = (
    "Harbour crane breaks record\n\n"
    "The new harbour crane lifted 40 tonnes on its first day at Pier 4.\n\n"
    "Dock workers said the crane cut loading times by half.\n"
)


@pytest.mark.fast
def test_no_factoid_question_of_the_shared_sets_is_taken_for_an_overview():
    """Nor by a title: "What is X?" is an overview only when X is the title of one of its own articles."""
    stolen, summaries = [], []
    for name, articles in [("xquad-dev", EVALDATA / "xquad-dev/articles"), ("seed", SEEDS),
                           ("cnn-summary-dev", EVALDATA / "cnn-summary-dev/articles")]:
        titles = folded([(str(path), load_article(path, max_bytes=10**7).title) for path in articles.iterdir()])
        for line in (EVALDATA / name / "questions.jsonl").read_text().splitlines():
            q = json.loads(line)
            request = classify(q["question"])
            if request.title is not None and not titled_articles(request.title, titles, exact=request.exact_title):
                request = request.untitled
            if q.get("task", "factoid") == "factoid" and request.kind != "factoid":
                stolen.append(q["question"])
            elif q.get("task") == "summary":
                summaries.append(request.kind)
    assert stolen == []
    assert summaries and set(summaries) == {"overview"}


@pytest.mark.fast
@pytest.mark.parametrize(
    ("question", "kind", "detail"),
    [
        ("What is this article about?", "overview", {}),
        ("TL;DR?", "overview", {}),
        ("Give me a short summary.", "overview", {}),
        ("What are the key points of this article?", "overview", {}),
        ("Summarize the article about Kerry's visit to Moscow.", "overview", {"names": "Kerry's visit to Moscow"}),
        ("What does the article say about the leaked proposal?", "overview", {"focus": "the leaked proposal"}),
        ("What articles do you have?", "catalogue", {}),
        ("Which articles are about Russia?", "catalogue", {"topic": "Russia"}),
        ("What are these articles about?", "catalogue", {}),
        ("What do the articles say about Russia?", "catalogue", {"topic": "Russia"}),
        ("What does JIG stand for?", "factoid", {}),
        ("What happened in Moscow on Thursday?", "factoid", {}),
        ("Hi there!", "small_talk", {}),
        ("great, thanks!", "small_talk", {}),
        ("What can you do?", "small_talk", {}),
        ("Hi! What does JIG stand for?", "factoid", {}),  # a question along with it: answered
        ("Help me find when the treaty was signed.", "factoid", {}),
        # words that may be a title: looked up by the chain, which reads the request as `untitled` if none is
        ("Summarise Warsaw", "overview", {"title": "Warsaw", "untitled": Request("overview")}),
        ("Give me a summary of the Harvard article", "overview", {"title": "Harvard"}),
        ("What does the Rhine article say about castles?", "overview", {"title": "Rhine", "focus": "castles",
                                                                        "untitled": Request("factoid")}),
        ("Tell me about Nikola Tesla.", "overview", {"title": "Nikola Tesla", "untitled": Request("factoid")}),
        ("Who was Nikola Tesla?", "overview", {"title": "Nikola Tesla", "exact_title": True}),
        ("Summarize the article.", "overview", {"title": None}),
    ],
)
def test_request_kinds(question, kind, detail):
    request = classify(question)
    assert request.kind == kind and all(getattr(request, k) == v for k, v in detail.items())


@pytest.mark.fast
def test_scraped_bylines_are_cleaned_and_their_date_kept():
    text = ("By . Staff Reporter . PUBLISHED: . 10:01 EST, 3 May 2014 . | . UPDATED: . 11:20 EST, 3 May 2014 . "
            "The ferry to Saltmarsh was cancelled on Saturday.")
    assert strip_byline(text) == ("The ferry to Saltmarsh was cancelled on Saturday.", "2014-05-03")
    assert strip_byline("By . Jo Lee . and Sam Reed . The ferry left.") == ("The ferry left.", None)
    assert strip_byline("By the harbour, the ferry left.")[0] == "By the harbour, the ferry left."


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from assistant.core import Assistant
    from assistant.settings import load_settings

    root = tmp_path_factory.mktemp("overviews")
    (root / "crane.txt").write_text(OTHER)
    assistant = Assistant(load_settings(index_dir=root / "index", admin_keys=ADMIN))
    assert assistant.ingest([SEED_ARTICLE, root / "crane.txt"]).ok
    return assistant


@pytest.fixture(scope="module")
def api(library):
    with ServerThread(create_app(library)) as server:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as client:
            yield client


def _seed_id(library) -> str:
    return next(a.id for a in library.articles() if a.source == str(SEED_ARTICLE.resolve()))


def test_overview_of_the_article_in_view(api, library):
    seed = _seed_id(library)
    body = api.post("/api/ask", json={"question": "What is this article about?", "filters": {"article_ids": [seed]}}).json()
    assert body["refused"] is False and len(body["citations"]) >= 2
    assert {c["article_id"] for c in body["citations"]} == {seed}
    assert body["answer"].startswith("US Secretary of State John Kerry visits Moscow on Thursday")
    assert "3 min read" not in body["answer"] and "14 July, 2016" not in body["answer"]  # furniture, dateline
    assert len(body["answer"].split()) <= 110


def test_an_unscoped_overview_finds_the_article_it_names(api, library):
    body = api.post("/api/ask", json={"question": "Summarize the article about Kerry's visit to Moscow."}).json()
    assert len(body["citations"]) >= 2 and {c["article_id"] for c in body["citations"]} == {_seed_id(library)}


def test_what_does_it_say_about_x_picks_those_sentences(library):
    answer = library.ask("What does the article say about the leaked proposal?",
                         filters=Filters(article_ids=(_seed_id(library),)))
    assert answer.citations and any("leaked proposal" in c.quote for c in answer.citations)


def test_small_talk_gets_a_reply_rather_than_a_quoted_sentence(api, library):
    """"hi" is the first message on many a chat page: the nearest sentence to it, quoted, is no answer."""
    for question, said in [("hi", "Hello! I answer questions about the articles"), ("Thanks!", "You're welcome."),
                           ("help", "I answer questions about the articles"), ("bye", "Goodbye!")]:
        body = api.post("/api/ask", json={"question": question}).json()
        assert body["answer"].startswith(said) and body["citations"] == [] and body["refused"] is True, body
    streamed = list(library.stream("Hello!"))
    assert streamed[0] == streamed[-1].answer and streamed[-1].kind == "small_talk"
    from assistant.web.render import sources_html  # the chat page's panel: no "nothing supports an answer"

    assert sources_html(streamed[-1]) == sources_html(None)
    body = api.post("/api/ask", json={"question": "Hi! What does JIG stand for?"}).json()
    assert "Joint Implementation Group" in body["answer"] and body["citations"]


def test_a_long_message_is_answered_by_the_sentence_that_asks(library):
    """Context pasted before a question would push the question past what the reader and the embedder read."""
    lead = "I have been reading about diplomacy lately and I am curious about many things in these stories. " * 4
    answer = library.ask(lead + "What does JIG stand for?")
    assert answer.question == "What does JIG stand for?" and "Joint Implementation Group" in answer.answer
    answer = library.ask("What does JIG stand for? " + lead)  # the question first, the story after
    assert answer.question == "What does JIG stand for?" and "Joint Implementation Group" in answer.answer


TITLED = {
    "warsaw.md": "---\ntitle: Warsaw\n---\nWarsaw is the capital and largest city of Poland. The Vistula River "
                 "flows through it.\n",
    "tesla.md": "---\ntitle: Nikola Tesla\n---\nNikola Tesla was a Serbian-American inventor and engineer. He "
                "designed the alternating current supply system.\n",
    "rhine.md": "---\ntitle: Rhine\n---\nThe Rhine flows from the Swiss Alps to the North Sea. Many castles and "
                "vineyards line the Middle Rhine gorge.\n",
}


def test_an_article_named_by_its_title_alone_is_summarised(assistant_over):
    """"Summarise Warsaw", "Who was Nikola Tesla?", "the Rhine article": a title said without "the article about"
    was listed with every other article, or refused."""
    titled = assistant_over(TITLED)
    ids = {a.title: a.id for a in titled.articles()}
    for question, title, said in [("Summarise Warsaw", "Warsaw", "capital and largest city of Poland"),
                                  ("Who was Nikola Tesla?", "Nikola Tesla", "Serbian-American inventor"),
                                  ("Tell me about Tesla.", "Nikola Tesla", "Serbian-American inventor"),
                                  ("What does the Rhine article say about castles?", "Rhine", "Many castles")]:
        answer = titled.ask(question)
        assert answer.kind == "overview" and said in answer.answer, (question, answer.answer)
        assert {c.article_id for c in answer.citations} == {ids[title]}, question
    # no article named at all: the one most about what is asked of it
    answer = titled.ask("What does the article say about vineyards?")
    assert answer.kind == "overview" and {c.article_id for c in answer.citations} == {ids["Rhine"]}, answer.answer
    # no article has that title: a question, as before
    assert titled.ask("What is the capital of Poland?").kind == "factoid"
    assert titled.ask("Tell me about the moon landing.").kind == "factoid"
    in_view = Filters(article_ids=(ids["Warsaw"],))  # the article in view is what the question is about
    answer = titled.ask("Tell me about Nikola Tesla.", filters=in_view)
    assert answer.kind == "factoid" and all(c.article_id == ids["Warsaw"] for c in answer.citations)


def test_a_title_said_where_a_question_is_meant_is_no_title(assistant_over):
    """The regression review's cases: a one-word title in an ordinary question, a quoted title in a "What was …"
    question, a small-talk turn in the history, a pronoun as a catalogue's topic."""
    titled = assistant_over({**TITLED, "teacher.md": "---\ntitle: Teacher\n---\nA teacher helps students learn. "
                                                     "Teachers often hold a degree in education.\n",
                             "mayor.md": "---\ntitle: Anna Kowalski re-elected\n---\nMayor Anna Kowalski was "
                                         "re-elected on Sunday with 61 percent of the vote.\n"})
    ids = {a.title: a.id for a in titled.articles()}
    assert titled.ask("Who is the teacher?").kind == "factoid"  # a teacher, not the article "Teacher"
    assert titled.ask("What does the war article say about Tesla?").kind != "catalogue"  # "war" is no title said
    answer = titled.ask('What was the longest river in "Rhine"?')  # a quoted title scopes a question, as before
    assert answer.kind == "factoid" and all(c.article_id == ids["Rhine"] for c in answer.citations)
    history = [Turn(question="Who designed the alternating current supply system?",
                    answer="Nikola Tesla was a Serbian-American inventor and engineer. [1]"),
               Turn(question="Thanks!", answer="You're welcome. Ask me anything else about the articles.")]
    answer = titled.ask("Summarize the article.", history=history)  # the exchange before the thanks
    assert {c.article_id for c in answer.citations} == {ids["Nikola Tesla"]}, answer.answer
    mayor = [Turn(question="Who was re-elected on Sunday?", answer="Mayor Anna Kowalski was re-elected. [1]")]
    answer = titled.ask("Which articles are about her?", history=mayor)
    assert "about Mayor Anna Kowalski" in answer.answer, answer.answer  # "her", as the conversation says
    assert answer.citations[0].article_id == ids["Anna Kowalski re-elected"]
    assert titled.ask("How does it work?", history=history[:1]).kind == "factoid"  # a follow-up, not "help"


@pytest.mark.fast
def test_a_long_message_keeps_what_it_asks():
    lead = "I have been reading about rivers lately and I am curious about many things in these stories. " * 3
    assert asking_part(lead + "Could you tell me how long the Rhine is. Thanks a lot.") == \
        "Could you tell me how long the Rhine is."
    assert asking_part("Summarize the article about the Rhine for me please. " + lead + "Keep it short.") == \
        "Summarize the article about the Rhine for me please."
    assert asking_part(lead + "When was Tesla's patent granted? And where was he born? Thank you!") == \
        "When was Tesla's patent granted? And where was he born?"
    # context that only reads like a request is context; a long message of pleasantries is small talk
    assert asking_part("The key points of the treaty were settled in 1990. " + lead + "Who signed the treaty?") == \
        "Who signed the treaty?"
    assert classify(asking_part("Hi! " * 15 + "Thanks! " * 15 + "Bye! " * 15)).kind == "small_talk"


def test_the_catalogue_lists_every_article_with_its_date(api):
    body = api.post("/api/ask", json={"question": "What articles do you have?"}).json()
    assert body["answer"].startswith("2 articles, most recent first:")
    assert "Kerry in Moscow 'seeking joint bombing campaign in Syria' (2016-07-14)" in body["answer"]
    assert "Harbour crane breaks record" in body["answer"] and len(body["citations"]) == 2
    about = api.post("/api/ask", json={"question": "What are these articles about?"}).json()
    assert len(about["citations"]) == 2 and "[2]" in about["answer"]


FERRIES = {
    "ferry-new.md": "---\ntitle: Night ferry returns\ndate: 2024-03-08\n---\n"
                    "The night ferry to Saltmarsh returns on Friday after a winter pause.\n",
    "ferry-old.md": "---\ntitle: Ferry fares rise\ndate: 2023-01-10\n---\n"
                    "Ferry fares to the islands rise by a tenth in spring, the ferry company said.\n",
    "budget.md": "---\ntitle: Council passes budget\ndate: 2024-02-01\n---\n"
                 "The council passed its budget for schools and roads on Tuesday.\n",
}


def test_which_articles_are_about_a_topic_finds_old_ones_past_the_leads_it_reads(assistant_over, monkeypatch):
    """Past the leads a catalogue reads, the topic's articles are searched for, however old: and the answer says
    it searched, so its count does not pass for a census."""
    import assistant.chain

    ferries = assistant_over(FERRIES)
    answer = ferries.ask("Which articles are about ferries?")
    assert answer.answer.startswith("2 articles about ferries, the closest first:"), answer.answer
    assert ferries.ask("What do the articles say about ferries?").answer == answer.answer
    assert ferries.ask("Which articles are about volcanoes?").answer == "None of the 3 articles is about volcanoes."
    monkeypatch.setattr(assistant.chain, "CATALOGUE_ARTICLES", 2)  # as 200 of thousands
    monkeypatch.setattr(assistant.chain, "TOPIC_PASSAGES", 1)  # the nearest passage is the older ferry article's
    answer = ferries.ask("Which articles are about fares?")
    assert answer.answer.startswith("Searching the 3 articles found 1 article about fares:"), answer.answer
    assert "Ferry fares rise (2023-01-10)" in answer.answer and "Night ferry" not in answer.answer
    assert ferries.ask("Which articles are about ferries?").answer.startswith(
        "Searching the 3 articles found 2 articles about ferries, the closest first:")
    answer = ferries.ask("Which articles are about volcanoes?")
    assert answer.answer == "Searching the 3 articles found none about volcanoes." and answer.refused


def test_factoid_answers_are_unchanged_by_scope(api, library):
    body = api.post("/api/ask", json={"question": "What does JIG stand for?",
                                      "filters": {"article_ids": [_seed_id(library)]}}).json()
    assert "Joint Implementation Group" in body["answer"]


def test_bad_scopes_and_an_empty_index_are_clear_errors(api, make_assistant):
    unknown = api.post("/api/ask", json={"question": "Summarize this article.", "filters": {"article_ids": ["nope"]}})
    assert unknown.status_code == 422 and "filters.article_ids: no article with id 'nope'" in unknown.json()["error"]
    from assistant import errors

    with pytest.raises(errors.InvalidRequest, match="no articles are indexed yet"):
        make_assistant().ask("Summarize the article.")


def test_the_chat_pages_article_picker_scopes_the_question(library):
    from gradio_client import Client

    with ServerThread(create_app(library)) as server:
        client = Client(server.url, verbose=False)
        chat, sources, _ = client.predict("What is this article about?", [], [_seed_id(library)], api_name="/ask")
    text = chat[-1]["content"] if isinstance(chat[-1]["content"], str) else chat[-1]["content"][0]["text"]
    assert "John Kerry visits Moscow" in text and "[2]" in text
    assert sources.count('class="citation"') >= 2 and "Harbour crane" not in sources


def test_only_a_questions_first_quoted_phrases_are_compared_with_every_title():
    """Each phrase is compared with every title (fuzzily): 400 of them against 9,000 titles cost a second."""
    from assistant.question.titles import QUOTED_PHRASES, folded, named_articles

    titles = folded([("bridge", "The Harbour Bridge"), *((f"t{i}", f"Report number {i}") for i in range(9_000))])
    decoys = " ".join(f'"qzx{i}"' for i in range(QUOTED_PHRASES))
    assert named_articles(f'Summarise "The Harbour Bridge" {decoys}', titles).article_ids == ("bridge",)
    assert named_articles(f'Summarise {decoys} "The Harbour Bridge"', titles).article_ids == ("bridge",)  # by its words
    assert named_articles(f'Summarise {decoys} "Harbour Bridge"', titles) is None  # the sixth phrase is not read
