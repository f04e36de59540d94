"""Conversations, feedback and article texts over real HTTP on 127.0.0.1: each caller sees only its own, and bad
input is a clear 4xx that stores nothing.

The chat page's endpoints are called as a browser's script would (its session cookie from GET /, then
``/gradio_api/call/<name>``); the API with admin and widget keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from servers import ServerThread, gradio_call
from test_api import ADMIN, ALLOWED, JIG, WIDGET, admin, keyed, widget

from assistant.web.app import create_app
from assistant.web.browser import COOKIE

OTHER_SITE = "http://other.example"


@pytest.fixture(scope="module")
def server(seeded_assistant):
    assistant = keyed(seeded_assistant, admin_keys=ADMIN, widget_keys=WIDGET, widget_origins=f"{ALLOWED},{OTHER_SITE}",
                      failed_auth_per_minute=10_000, api_rate_per_minute=10_000)
    with ServerThread(create_app(assistant)) as running:
        running.assistant = assistant
        yield running


@contextmanager
def browser(server) -> Iterator[httpx.Client]:
    """A client that opened the chat page: it holds that page's session cookie."""
    with httpx.Client(base_url=server.url, timeout=120) as client:
        assert client.get("/").status_code == 200 and client.cookies.get(COOKIE)
        yield client


def feedback_rows(server) -> list:
    return server.assistant.store.feedback.all()


def test_the_page_sets_a_session_cookie_once_and_http_only(server):
    with httpx.Client(base_url=server.url) as client:
        first = client.get("/")
        assert "httponly" in first.headers["set-cookie"].lower() and "samesite=lax" in first.headers["set-cookie"].lower()
        token = client.cookies["assistant_session"]
        again = client.get("/").headers["set-cookie"]  # the same session, its Max-Age renewed: kept while in use
        assert again.startswith(f"assistant_session={token};") and "max-age=2592000" in again.lower()
        assert client.get("/").headers["cache-control"] == "private, no-store"  # no shared cache hands it on
        assert client.get("/conversations").status_code == 200 and "set-cookie" not in client.get("/conversations").headers


def test_a_conversation_is_kept_for_its_browser_and_another_session_gets_404(server):
    with browser(server) as mine, browser(server) as theirs, httpx.Client(base_url=server.url) as cookieless:
        event, (chat, sources, *_) = gradio_call(mine, "ask", [JIG, [], [], 0])
        said = " ".join(part["text"] for part in chat[-1]["content"])
        assert event == "complete" and "Joint Implementation Group" in said
        answer_id = re.search(r'href="#cite-([0-9a-f]{32})-1"', said).group(1)  # [1] is a link
        [listed] = mine.get("/conversations").json()
        assert listed["title"] == JIG and listed["answers"] == 1
        kept = mine.get(f"/conversations/{listed['id']}").json()
        assert kept["turns"][0]["answer"]["id"] == answer_id
        assert kept["turns"][0]["answer"]["citations"][0]["source"] == "000_1083003a9cf2d7aa.txt"  # no server path

        assert theirs.get("/conversations").json() == []
        for response in (theirs.get(f"/conversations/{listed['id']}"), theirs.delete(f"/conversations/{listed['id']}"),
                         cookieless.get(f"/conversations/{listed['id']}")):
            assert response.status_code == 404
            assert response.json() == {"error": f"conversation_id: no conversation with id '{listed['id']}' in this session"}
        event, payload = gradio_call(theirs, "open_conversation", [listed["id"]])  # the page's own door
        assert event == "error" and "Joint" not in json.dumps(payload)  # (Gradio's own check: not one of its choices)
        event, payload = gradio_call(theirs, "open_citation", [f"{answer_id}-1"])
        assert event == "complete" and "no answer with id" in payload[1] and "Kerry" not in payload[1]

        assert mine.get(f"/conversations/{listed['id']}").status_code == 200  # untouched
        event, (sources_html, reader) = gradio_call(mine, "open_citation", [f"{answer_id}-1"])
        assert '<mark class="cited" id="reader-cited">' in reader and "Original article" not in reader
        assert mine.delete(f"/conversations/{listed['id']}").json() == {"removed": listed["id"]}
        assert mine.get("/conversations").json() == []


def test_api_answers_carry_an_id_that_feedback_names(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        asked = client.post("/api/ask", json={"question": JIG}, headers=widget()).json()
        before = len(feedback_rows(server))
        sent = client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "down", "comment": "Too long."},
                           headers=widget())
        assert sent.status_code == 201 and sent.json()["rating"] == "down" and set(sent.json()) == {"id", "answer_id", "rating"}
        record = feedback_rows(server)[-1]
        assert len(feedback_rows(server)) == before + 1
        assert (record.question, record.comment, record.answer.answer) == (JIG, "Too long.", asked["answer"])
        assert record.answer.citations[0].quote == asked["citations"][0]["quote"]
        # A widget key may send feedback, not read it; an admin key reads it.
        assert client.get("/api/feedback", headers=widget()).status_code == 403
        listed = client.get("/api/feedback", params={"rating": "down"}, headers=admin()).json()
        assert listed[-1]["comment"] == "Too long." and listed[-1]["answer"]["answer"] == asked["answer"]


def test_stream_answers_carry_an_id_too(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        with client.stream("POST", "/api/ask/stream", json={"question": JIG}, headers=widget()) as response:
            text = "".join(response.iter_text())
        answer = json.loads(re.search(r"event: answer\r?\ndata: (.*)", text).group(1))
        sent = client.post("/api/feedback", json={"answer_id": answer["id"], "rating": "up"}, headers=widget())
        assert sent.status_code == 201
        changed = client.post("/api/feedback", json={"answer_id": answer["id"], "rating": "down"}, headers=widget())
        assert changed.status_code == 200 and changed.json() == {**sent.json(), "rating": "down"}  # replaced, not new


def test_bad_feedback_is_a_clear_4xx_and_stores_nothing(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        asked = client.post("/api/ask", json={"question": JIG}, headers=widget()).json()
        before = len(feedback_rows(server))
        unknown = client.post("/api/feedback", json={"answer_id": "0" * 32, "rating": "up"}, headers=widget())
        assert unknown.status_code == 404
        assert unknown.json() == {"error": f"answer_id: no answer with id '{'0' * 32}' was given to you (or it has expired)"}
        huge = client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "down", "comment": "x" * 100_000},
                           headers=widget())
        assert huge.status_code == 413 and "byte limit" in huge.json()["error"]
        long = client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "down", "comment": "x" * 5000},
                           headers=widget())
        assert long.status_code == 422 and long.json()["error"].startswith("comment: is 5,000 characters; the limit is 2,000")
        rating = client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "meh"}, headers=widget())
        assert rating.status_code == 422 and "rating" in rating.json()["error"]
        # Another site's widget, and an admin key, were not given this answer: as unknown to them as a made-up id.
        elsewhere = client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "up"},
                                headers=widget(OTHER_SITE))
        assert elsewhere.status_code == 404
        assert client.post("/api/feedback", json={"answer_id": asked["id"], "rating": "up"}, headers=admin()).status_code == 404
        assert len(feedback_rows(server)) == before


def test_an_article_text_for_the_reader(server, seeded_assistant):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        citation = client.post("/api/ask", json={"question": JIG}, headers=widget()).json()["citations"][0]
        article = client.get(f"/api/articles/{citation['article_id']}", headers=widget())
        assert article.status_code == 200
        body = article.json()
        assert body["text"][citation["start"]:citation["end"]] == citation["quote"]  # the offsets point into it
        assert (body["title"], body["published"], body["source"]) == (citation["title"], "2016-07-14",
                                                                      "000_1083003a9cf2d7aa.txt")
        assert client.get(f"/api/articles/{citation['article_id']}", headers=admin()).json()["source"].startswith("/")
        missing = client.get("/api/articles/no-such-article", headers=widget())
        assert missing.status_code == 404 and missing.json() == {"error": "article_id: no article with id 'no-such-article' in the index"}
        assert client.get(f"/api/articles/{citation['article_id']}").status_code == 401
        # Reading one article is all a widget key may do with articles.
        assert client.delete(f"/api/articles/{citation['article_id']}", headers=widget()).status_code == 403


def test_widget_conversations_are_kept_per_site_and_visitor(server):
    me = {**widget(), "X-Assistant-Visitor": "visitor-token-of-my-browser-0001"}
    other_visitor = {**widget(), "X-Assistant-Visitor": "visitor-token-of-another-one-02"}
    other_site = {**widget(OTHER_SITE), "X-Assistant-Visitor": "visitor-token-of-my-browser-0001"}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        first = client.post("/api/ask", json={"question": JIG, "conversation_id": "new"}, headers=me).json()
        conversation_id = first["conversation_id"]
        follow = client.post("/api/ask", headers=me, json={
            "question": "Who will Kerry meet on Friday?", "conversation_id": conversation_id,
            "history": [{"question": JIG, "answer": first["answer"]}]}).json()
        assert follow["conversation_id"] == conversation_id and "Lavrov" in follow["answer"]
        kept = client.get(f"/api/conversations/{conversation_id}", headers=me).json()
        assert [t["question"] for t in kept["turns"]] == [JIG, "Who will Kerry meet on Friday?"]
        assert kept["turns"][1]["history"] == [{"question": JIG, "answer": first["answer"]}]
        assert kept["turns"][0]["answer"]["citations"][0]["source"] == "000_1083003a9cf2d7aa.txt"
        assert [c["id"] for c in client.get("/api/conversations", headers=me).json()] == [conversation_id]
        # with the conversation's id and no history, its turns are the history: "he" is still Kerry
        third = client.post("/api/ask", headers=me, json={"question": "Who will he meet on Friday?",
                                                         "conversation_id": conversation_id}).json()
        assert "Lavrov" in third["answer"]
        assert len(client.get(f"/api/conversations/{conversation_id}", headers=me).json()["turns"][2]["history"]) == 2
        client.delete(f"/api/conversations/{conversation_id}", headers=me)  # as it was, for what follows
        first = client.post("/api/ask", json={"question": JIG, "conversation_id": "new"}, headers=me).json()
        conversation_id = first["conversation_id"]
        follow = client.post("/api/ask", headers=me, json={"question": "Who will Kerry meet on Friday?",
                                                          "conversation_id": conversation_id}).json()

        for who in (other_visitor, other_site, widget(), admin()):
            assert conversation_id not in {c["id"] for c in client.get("/api/conversations", headers=who).json()}
            refused = client.get(f"/api/conversations/{conversation_id}", headers=who)
            assert refused.status_code == 404 and "conversation_id: no conversation with id" in refused.json()["error"]
            asked = client.post("/api/ask", json={"question": JIG, "conversation_id": conversation_id}, headers=who)
            assert asked.status_code == 404 and f"no conversation with id '{conversation_id}'" in asked.json()["error"]
            with client.stream("POST", "/api/ask/stream", json={"question": JIG, "conversation_id": conversation_id},
                               headers=who) as streamed:
                assert streamed.status_code == 404
            assert client.delete(f"/api/conversations/{conversation_id}", headers=who).status_code == 404
        assert len(client.get(f"/api/conversations/{conversation_id}", headers=me).json()["turns"]) == 2  # unchanged
        # The visitor's feedback names its own answer; another visitor's is refused.
        assert client.post("/api/feedback", json={"answer_id": follow["id"], "rating": "up"},
                           headers=other_visitor).status_code == 404
        assert client.post("/api/feedback", json={"answer_id": follow["id"], "rating": "up"}, headers=me).status_code == 201
        assert client.delete(f"/api/conversations/{conversation_id}", headers=me).json() == {"removed": conversation_id}
        assert client.get(f"/api/conversations/{conversation_id}", headers=me).status_code == 404
