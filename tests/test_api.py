"""The HTTP API on real servers on 127.0.0.1: keys, origins, limits, asking (JSON and SSE), articles, readiness."""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
import time

import httpx
import pytest
from servers import ServeProcess, ServerThread

from assistant.answer import ScriptedBackend
from assistant.core import Assistant
from assistant.errors import BackendError, ConfigError, StoreError
from assistant.models import Filters
from assistant.settings import load_settings
from assistant.web.app import create_app
from assistant.web.auth import load_keyring

WIDGET_ONLY = "a widget key may only ask questions, rate answers, read the articles they cite and its own conversations"

ADMIN = "admin-key-0123456789"
SECOND_ADMIN = "admin-key-abcdefghij"
WIDGET = "widget-key-0123456789"
ALLOWED = "http://allowed.example"
EVIL = "http://evil.example"
JIG = "What does JIG stand for?"
CITATION_FIELDS = {"n", "article_id", "title", "source", "quote", "start", "end", "score", "phrase"}  # + "url" when known


def keyed(base: Assistant, **overrides) -> Assistant:
    """Another Assistant over ``base``'s index (same store and embedder) with other settings."""
    settings = load_settings(**(base.settings.model_dump() | overrides))
    return Assistant(settings, embedder=base.embedder, store=base.index.store)


def admin(**headers) -> dict:
    return {"Authorization": f"Bearer {ADMIN}", **headers}


def widget(origin: str | None = ALLOWED) -> dict:
    return {"X-API-Key": WIDGET, **({"Origin": origin} if origin else {})}


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name, data = [], "message", []
    for line in [*response.iter_lines(), ""]:
        if not line:
            if data:
                events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
    return events


@pytest.fixture(scope="module")
def api(seeded_assistant):
    # Many wrong keys, and many requests in a minute, are sent on purpose here; test_each_key_has_a_rate_limit
    # below and tests/test_security.py check the limits.
    assistant = keyed(
        seeded_assistant, admin_keys=ADMIN, widget_keys=WIDGET, widget_origins=ALLOWED, failed_auth_per_minute=10_000,
        api_rate_per_minute=10_000,
    )
    with ServerThread(create_app(assistant)) as server:
        yield server


@pytest.fixture(scope="module")
def client(api):
    with httpx.Client(base_url=api.url, timeout=60) as client:
        yield client


# --- 401: no key, no entry ---------------------------------------------------------

API_ROUTES = [
    ("POST", "/api/ask", {"json": {"question": JIG}}),
    ("POST", "/api/ask/stream", {"json": {"question": JIG}}),
    ("GET", "/api/articles", {}),
    ("POST", "/api/articles", {"files": {"files": ("a.txt", b"text")}}),
    ("DELETE", "/api/articles/some-id", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), API_ROUTES)
def test_every_api_route_needs_a_key(client, method, path, body):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic x"}):
        response = client.request(method, path, headers=headers, **body)
        assert response.status_code == 401, (headers, response.text)
        assert "API key" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_key_is_checked_before_the_body(client):
    response = client.post("/api/ask", content=b"not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_without_configured_keys_the_api_is_closed_but_the_chat_page_works(seeded_assistant):
    with ServerThread(create_app(seeded_assistant)) as server:
        response = httpx.post(server.url + "/api/ask", json={"question": JIG}, headers={"X-API-Key": "anything"})
        assert response.status_code == 401
        assert "no API keys are configured" in response.json()["error"]
        assert httpx.get(server.url + "/").status_code == 200


# --- 403: origins and roles ----------------------------------------------------------

def test_widget_keys_work_only_from_allowed_origins(client):
    assert client.post("/api/ask", json={"question": JIG}, headers=widget(ALLOWED)).status_code == 200
    for origin in (EVIL, None, ALLOWED + ":8080"):
        response = client.post("/api/ask", json={"question": JIG}, headers=widget(origin))
        assert response.status_code == 403, origin
        assert "origin not allowed" in response.json()["error"]


def test_widget_keys_may_only_ask(client):
    refused = [
        client.get("/api/articles", headers=widget()),
        client.post("/api/articles", files={"files": ("a.txt", b"some text")}, headers=widget()),
        client.delete("/api/articles/000_1083003a9cf2d7aa-746c2daf", headers=widget()),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert refused[0].json() == {"error": WIDGET_ONLY}


def test_admin_keys_are_not_bound_to_origins(client):
    assert client.get("/api/articles", headers=admin(Origin=EVIL)).status_code == 200


def test_cors_answers_allowed_origins_only(client):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = client.options("/api/ask/stream", headers={"Origin": ALLOWED, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/api/ask/stream", headers={"Origin": EVIL, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    answered = client.post("/api/ask", json={"question": JIG}, headers=widget(ALLOWED))
    assert answered.headers["access-control-allow-origin"] == ALLOWED


# --- 413 and 422 ----------------------------------------------------------------------

def test_oversized_bodies_are_413(client):
    big = json.dumps({"question": "x" * 70_000}).encode()
    declared = client.post("/api/ask", content=big, headers=admin(**{"Content-Type": "application/json"}))
    assert declared.status_code == 413
    assert declared.json() == {"error": "request body is over the 65,536-byte limit"}

    def chunked():  # no Content-Length: the guard has to count the bytes
        for _ in range(10):
            yield b"x" * 10_000

    streamed = client.post("/api/ask", content=chunked(), headers=admin(**{"Content-Type": "application/json"}))
    assert streamed.status_code == 413
    assert "65,536-byte limit" in streamed.json()["error"]

    # /api/articles takes files up to the upload limit, but its JSON body (links) is held to the JSON limit
    links = json.dumps({"urls": ["https://example.com/" + "a" * 70_000]}).encode()
    linked = client.post("/api/articles", content=links, headers=admin(**{"Content-Type": "application/json"}))
    assert linked.status_code == 413 and "65,536-byte limit" in linked.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body.question: Field required"),
        ({"question": 42}, "body.question: Input should be a valid string"),
        ({"question": JIG, "history": [{"question": "only half"}]}, "body.history.0.answer: Field required"),
        ({"question": JIG, "filters": {"published_from": "2016-13-45"}}, "body.filters.published_from"),
        ({"question": JIG, "colour": "blue"}, "body.colour: Extra inputs are not permitted"),
        ({"question": JIG, "filters": {"urls": ["http://[::1"]}}, "body.filters.urls: Value error, 'http://[::1' is not a link"),
        ({"question": JIG, "filters": {"urls": ["file:///home/me/story.html"]}}, "body.filters.urls: Value error"),
        ({"question": "   "}, "question: is empty"),
        ({"question": "why " * 600}, "the limit is 2,000"),
    ],
)
def test_invalid_bodies_are_422_with_a_message(client, body, message):
    response = client.post("/api/ask", json=body, headers=admin())
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert "Traceback" not in response.text


def test_a_question_just_under_the_limit_is_answered(client):
    """The reader's window is 128 word pieces; a question of 1,990 characters (about 400) failed there with a 500."""
    response = client.post("/api/ask", json={"question": JIG + " Please explain it in detail." * 68}, headers=admin())
    assert response.status_code == 200, response.text
    assert "Joint" in response.json()["answer"]


@pytest.mark.fast
def test_a_pages_query_and_fragment_are_never_kept():
    """The widget sends its page's link; a conversation stores its filters, so no visitor's token may ride along."""
    kept = Filters(urls=["https://news.example/story/ferry?session=S3CRET#access_token=T0KEN"]).urls
    assert kept == ("https://news.example/story/ferry",)


def test_malformed_json_is_422(client):
    response = client.post("/api/ask", content=b'{"question": }', headers=admin(**{"Content-Type": "application/json"}))
    assert response.status_code == 422  # where the syntax breaks, said as a place, not as a field called "13"
    assert response.json() == {"error": "invalid request: body: not valid JSON at character 13 (Expecting value)"}


@pytest.mark.parametrize("content_type", [None, "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"])
def test_a_body_that_does_not_say_it_is_json_is_415(client, content_type):
    """What a browser's fetch() sends across sites without asking first (text/plain, or no type at all) is not
    taken as JSON, on any route that reads a body."""
    body = json.dumps({"question": JIG}).encode()
    headers = admin(**({"Content-Type": content_type} if content_type else {}))
    for path in ("/api/ask", "/api/ask/stream", "/api/collections", "/api/feedback", "/api/feeds", "/api/articles"):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert "Content-Type: application/json" in response.json()["error"], path
    assert client.patch("/api/collections/default", content=b'{"name": "x"}', headers=headers).status_code == 415
    spelt = client.post("/api/ask", content=body, headers=admin(**{"Content-Type": "Application/JSON; charset=utf-8"}))
    assert spelt.status_code == 200 and "Joint" in spelt.json()["answer"]  # media types are case-insensitive


def test_head_answers_as_get_and_other_methods_are_405(client):
    got = client.get("/api/articles?limit=1", headers=admin())
    head = client.head("/api/articles?limit=1", headers=admin())
    assert head.status_code == 200 and head.content == b""
    assert head.headers["x-total-count"] == got.headers["x-total-count"] == "1"
    assert client.head("/api/articles", headers={}).status_code == 401  # through the same door as GET
    options = client.options("/api/articles", headers=admin())
    assert options.status_code == 405 and options.headers["allow"] == "GET, HEAD, POST"
    assert options.json() == {"error": "/api/articles takes GET, HEAD, POST, not OPTIONS"}
    models = client.options("/v1/models", headers=admin())
    assert models.status_code == 405 and models.headers["allow"] == "GET, HEAD"
    assert models.json()["error"]["message"] == "/v1/models takes GET, not OPTIONS"
    assert client.head("/v1/models", headers=admin()).status_code == 200
    asked = client.head("/api/ask", headers=admin())
    assert asked.status_code == 405 and asked.headers["allow"] == "POST"  # named as asked: HEAD, not GET
    assert client.head("/v1", headers=admin()).headers["content-type"] == "application/json"  # OpenAI's 404


def test_responses_are_compressed_for_clients_that_take_it_and_streams_are_not_held(client):
    script = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/embed.js", headers={"Accept-Encoding": "identity"})
    assert script.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert script.text == plain.text and int(script.headers["content-length"]) < len(plain.content) / 2
    with client.stream("POST", "/api/ask/stream", json={"question": JIG},
                       headers=admin(**{"Accept-Encoding": "gzip"})) as stream:
        assert stream.status_code == 200 and "content-encoding" not in stream.headers  # each event as it comes
        assert any(name == "done" for name, _ in sse_events(stream))


def test_a_reversed_date_range_is_422_not_a_refusal(client):
    filters = {"published_from": "2020-01-01", "published_to": "2010-01-01"}
    response = client.post("/api/ask", json={"question": JIG, "filters": filters}, headers=admin())
    assert response.status_code == 422
    assert "published_from (2020-01-01) is after published_to (2010-01-01)" in response.json()["error"]


def test_a_body_that_trickles_in_is_cut_off_and_the_connection_freed(seeded_assistant, monkeypatch):
    from assistant.web import guard

    monkeypatch.setattr(guard, "body_deadline_s", lambda limit: 1.0)  # 30 s and more in earnest
    with ServerThread(create_app(keyed(seeded_assistant, admin_keys=ADMIN))) as server:
        for path, kind in (("/api/ask", "application/json"), ("/v1/chat/completions", "application/json"),
                           ("/gradio_api/queue/join", "application/json")):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
                slow.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-API-Key: {ADMIN}\r\n"
                             f"Content-Type: {kind}\r\nContent-Length: 60000\r\n\r\n{{".encode())
                started = time.monotonic()
                answer = slow.recv(4096).decode()  # a byte now and then would keep it waiting: none comes
                assert time.monotonic() - started < 8, path
                assert answer.startswith("HTTP/1.1 408") and "did not arrive within 1 s" in answer, (path, answer)
        assert httpx.get(server.url + "/health").status_code == 200


@pytest.mark.slow
def test_a_body_still_arriving_at_shutdown_gets_a_503_to_retry_and_no_traceback(tmp_path):
    with ServeProcess(tmp_path, {"ASSISTANT_ADMIN_KEYS": ADMIN}) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-API-Key: {ADMIN}\r\n"
                         "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"question\": ".encode())
            time.sleep(2)  # the request is being read (its headers are in) when the shutdown begins
            server.process.send_signal(signal.SIGTERM)  # its graceful shutdown waits 5 s for this request
            answer = b""
            while chunk := slow.recv(4096):  # until the server closes it: the headers and body may come apart
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 503") and "retry-after: 5" in answer.lower(), answer
        assert "shutting down" in answer
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn ends by the signal it caught
    assert "Traceback" not in server.log() and "500 Internal" not in server.log()


# --- 429 ----------------------------------------------------------------------------------

def test_each_key_has_a_rate_limit(seeded_assistant):
    limited = keyed(seeded_assistant, admin_keys=f"{ADMIN},{SECOND_ADMIN}", api_rate_per_minute=2)
    with ServerThread(create_app(limited)) as server:
        statuses = [httpx.get(server.url + "/api/articles", headers=admin()).status_code for _ in range(2)]
        assert statuses == [200, 200]
        refused = httpx.get(server.url + "/api/articles", headers=admin())
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "too many requests" in refused.json()["error"]
        other = httpx.get(server.url + "/api/articles", headers={"X-API-Key": SECOND_ADMIN})
        assert other.status_code == 200


def test_upload_runs_as_a_job_with_progress(writable):
    queued = writable.post("/api/articles", files={"files": ("festival-job.txt", FESTIVAL.encode(), "text/plain")})
    assert queued.status_code == 202
    job = queued.json()
    assert job["status"] in ("queued", "running", "done") and job["files"] == 1
    assert queued.headers["location"] == job["status_url"]  # where to ask, as a 202 says it
    assert "report" not in job and "error" not in job  # the job's one shape: as GET status_url leaves out nulls
    broken = writable.post("/api/articles", content=b"garbage",
                           headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert broken.status_code == 422 and broken.json()["error"].startswith("body: not valid multipart")
    _wait_for(lambda: writable.get(job["status_url"]).json()["status"] == "done", timeout=120)
    done = writable.get(job["status_url"]).json()
    assert done["done"] == 1 and done["report"]["ok"] is True and len(done["report"]["added"]) == 1
    missing = writable.get("/api/jobs/no-such-job")
    assert missing.status_code == 404 and missing.json()["error"].startswith("job_id: no upload job")
    writable.delete(f"/api/articles/{done['report']['added'][0]}")


# --- asking -------------------------------------------------------------------------------

def test_ask_returns_the_documented_answer_shape(client, seeded_assistant):
    body = client.post("/api/ask", json={"question": JIG}, headers=admin()).json()
    assert body == {**seeded_assistant.ask(JIG).public(), "id": body["id"]}  # the id is what feedback names
    assert set(body) == {"answer", "citations", "refused", "id"} and len(body["id"]) == 32
    assert "Joint Implementation Group" in body["answer"] and body["refused"] is False
    citation = body["citations"][0]
    assert set(citation) == CITATION_FIELDS
    assert citation["title"].startswith("Kerry in Moscow")


def test_ask_uses_history_and_filters(client):
    first = client.post("/api/ask", json={"question": JIG}, headers=admin()).json()
    follow_up = client.post(
        "/api/ask",
        json={"question": "Who will he meet on Friday?", "history": [{"question": JIG, "answer": first["answer"]}]},
        headers=admin(),
    ).json()
    assert "Lavrov" in follow_up["answer"]
    unknown = client.post("/api/ask", json={"question": JIG, "filters": {"article_ids": ["no-such-article"]}}, headers=admin())
    assert unknown.status_code == 422  # a scope naming nothing is the caller's mistake, not an unanswerable question
    assert unknown.json() == {"error": "filters.article_ids: no article with id 'no-such-article' in the index"}


def test_stream_sends_tokens_then_the_checked_answer_then_done(client):
    with client.stream("POST", "/api/ask/stream", json={"question": JIG}, headers=widget()) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[-2:] == ["answer", "done"] and names[0] == "token"
    assert set(names[:-2]) == {"token"}
    answer = events[-2][1]
    assert "".join(data["text"] for name, data in events if name == "token") == answer["answer"]
    assert "Joint Implementation Group" in answer["answer"]
    assert set(answer["citations"][0]) == CITATION_FIELDS


def test_a_bad_stream_request_is_an_error_status_not_an_event(client):
    """As /api/ask answers it: a client (the widget) reads the status before the stream."""
    unknown = "filters.article_ids: no article with id 'no-such-article' in the index"
    for body, error in [({"question": "  "}, "question: is empty"),
                        ({"question": "x" * 2001}, "question: is 2,001 characters; the limit is 2,000"),
                        ({"question": JIG, "filters": {"article_ids": ["no-such-article"]}}, unknown)]:
        streamed = client.post("/api/ask/stream", json=body, headers=widget())
        assert (streamed.status_code, streamed.json()) == (422, {"error": error}), body
        asked = client.post("/api/ask", json=body, headers=widget())
        assert (asked.status_code, asked.json()) == (422, {"error": error}), body


def test_a_failure_once_the_stream_has_started_is_an_error_event(seeded_assistant):
    def goes_away(question, passages):
        raise BackendError("the answer backend went away")

    settings = keyed(seeded_assistant, admin_keys=ADMIN).settings
    failing = Assistant(settings, embedder=seeded_assistant.embedder, store=seeded_assistant.index.store,
                        backend=ScriptedBackend(goes_away))
    with ServerThread(create_app(failing)) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        with c.stream("POST", "/api/ask/stream", json={"question": JIG}, headers=admin()) as response:
            assert response.status_code == 200  # the question was good: the failure came after the 200
            events = sse_events(response)
    assert events == [("error", {"error": "the answer backend went away", "status": 502})]


# --- articles -----------------------------------------------------------------------------

FESTIVAL = (
    "Lantern festival returns to Oxbridge Harbour\n\n"
    "The Oxbridge Harbour lantern festival will return on 12 March, organisers said on Monday.\n\n"
    "Every lantern in the festival is made by the Saltmarsh Paper Guild, a cooperative of forty local artisans.\n"
)
FESTIVAL_QUESTION = "Which guild makes the lanterns?"


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-writable")
    settings = load_settings(
        index_dir=root / "index", admin_keys=ADMIN, max_file_bytes=100_000, api_max_upload_bytes=1024 * 1024
    )
    with ServerThread(create_app(Assistant(settings))) as server:
        with httpx.Client(base_url=server.url, headers=admin(), timeout=120) as client:
            yield client


def test_a_link_that_cannot_be_split_is_a_422_naming_it(writable):
    for urls in (["http://[oops/"], ["https://example.com/a", "https://[::1/b"]):
        refused = writable.post("/api/articles", json={"urls": urls})
        assert refused.status_code == 422, refused.text
        assert f"{urls[-1]!r} is not a link" in refused.json()["error"]
    # the chat page's endpoints read the Origin header as a link: one that is none is a cross-site request, no 500
    page = writable.post("/gradio_api/call/ask", json={"data": []}, headers={"Origin": "http://[oops"})
    assert page.status_code == 403 and "may not change anything here" in page.text


def test_upload_then_ask_then_delete(writable):
    uploaded = writable.post(
        "/api/articles?wait=true",
        files=[
            ("files", ("festival.txt", FESTIVAL.encode(), "text/plain")),
            ("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream")),
            ("files", ("empty.txt", b"", "text/plain")),
            ("files", ("huge.txt", b"word " * 30_000, "text/plain")),
        ],
    )
    assert uploaded.status_code == 200
    report = uploaded.json()
    assert len(report["added"]) == 1 and report["ok"] is False and report["chunks_added"] >= 1
    failed = {f["file"]: f["error"] for f in report["failed"]}
    assert set(failed) == {"tool.exe", "empty.txt", "huge.txt"}
    assert "unsupported file type" in failed["tool.exe"] and "limit" in failed["huge.txt"]
    article_id = report["added"][0]

    every = writable.get("/api/articles")
    listed = {a["id"]: a for a in every.json()}
    assert listed[article_id]["source"] == "upload:festival.txt"
    assert every.headers["X-Total-Count"] == str(len(listed))
    pages = [writable.get("/api/articles", params={"limit": 1, "offset": n}) for n in range(len(listed) + 1)]
    assert [a["id"] for page in pages for a in page.json()] == [a["id"] for a in every.json()]  # in title order
    assert all(p.headers["X-Total-Count"] == str(len(listed)) for p in pages) and pages[-1].json() == []
    refused = writable.get("/api/articles", params={"limit": 0})
    assert refused.status_code == 422 and "limit" in refused.text
    answer = writable.post("/api/ask", json={"question": FESTIVAL_QUESTION}).json()
    assert "Saltmarsh Paper Guild" in answer["answer"]
    assert answer["citations"][0]["article_id"] == article_id

    assert writable.delete(f"/api/articles/{article_id}").json() == {"removed": article_id}
    assert article_id not in {a["id"] for a in writable.get("/api/articles").json()}
    after = writable.post("/api/ask", json={"question": FESTIVAL_QUESTION}).json()
    assert after["refused"] is True and after["citations"] == []
    again = writable.delete(f"/api/articles/{article_id}")
    assert again.status_code == 404 and article_id in again.json()["error"]


def test_more_files_than_the_limit_are_413_whatever_the_count(writable):
    for count in (101, 103):  # the form parser itself stops at limit + 1
        files = [("files", (f"f{i}.txt", b"A line.\n")) for i in range(count)]
        response = writable.post("/api/articles", files=files)
        assert response.status_code == 413, response.text
        assert "the limit is 100 (ingest_max_files)" in response.json()["error"]


def test_a_long_file_name_is_shortened_by_bytes_keeping_its_suffix(writable):
    names = ["é" * 150 + ".txt", "b" * 300 + ".txt"]
    files = [("files", (name, f"Long name {i}\n\nThe ferry number {i} leaves at noon.\n".encode()))
             for i, name in enumerate(names)]
    report = writable.post("/api/articles?wait=true", files=files).json()
    assert report["ok"] and len(report["added"]) == 2, report
    sources = {a["id"]: a["source"] for a in writable.get("/api/articles").json()}
    for article_id in report["added"]:
        source = sources[article_id]
        assert source.endswith(".txt") and len(source.removeprefix("upload:").encode()) <= 200
        assert writable.delete(f"/api/articles/{article_id}").status_code == 200


def test_uploads_have_their_own_body_limit(writable):
    response = writable.post("/api/articles", files={"files": ("big.txt", b"x" * (1024 * 1024 + 1))})
    assert response.status_code == 413
    assert "1,048,576-byte limit" in response.json()["error"]


# --- readiness, docs, widget files -----------------------------------------------------------

def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_ready_reflects_warm_up_and_the_store(seeded_assistant, monkeypatch):
    assistant = keyed(seeded_assistant)
    loaded = threading.Event()
    monkeypatch.setattr(assistant, "warm_up", loaded.wait)  # hold the warm-up until we say so
    with ServerThread(create_app(assistant)) as server:
        assert httpx.get(server.url + "/health").status_code == 200
        waiting = httpx.get(server.url + "/ready")
        assert waiting.status_code == 503 and "warming up" in waiting.json()["reason"]
        loaded.set()
        _wait_for(lambda: httpx.get(server.url + "/ready").status_code == 200)
        body = httpx.get(server.url + "/ready").json()
        assert body["status"] == "ready" and body["articles"] == 1 and body["vectors"] >= 1

        def unreadable():
            raise StoreError("the Chroma store is gone")

        monkeypatch.setattr(assistant.index.store, "count", unreadable)
        broken = httpx.get(server.url + "/ready")
        assert broken.status_code == 503 and "the Chroma store is gone" in broken.json()["reason"]


def test_ready_never_shows_a_drivers_text_that_may_hold_a_password(seeded_assistant, monkeypatch, caplog):
    assistant = keyed(seeded_assistant)
    with ServerThread(create_app(assistant)) as server:
        _wait_for(lambda: httpx.get(server.url + "/ready").status_code == 200)

        def unreadable():  # not the assistant's own message: a library's, quoting its connection string
            raise RuntimeError("cannot connect to postgresql://app@db:5432/index?password=TOPSECRET")

        monkeypatch.setattr(assistant.index.store, "count", unreadable)
        with caplog.at_level(logging.WARNING, logger="assistant.web"):
            broken = httpx.get(server.url + "/ready")
            httpx.get(server.url + "/ready")
    assert broken.status_code == 503 and "TOPSECRET" not in broken.text
    assert broken.json()["reason"] == "the index cannot be read: RuntimeError (details in the server log)"
    logged = [r for r in caplog.records if r.getMessage() == "/ready: the index cannot be read"]
    assert len(logged) == 1 and "TOPSECRET" in str(logged[0].exc_info[1])  # the operator's detail, logged once


def test_docs_describe_the_api(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and '<html lang="en">' in docs.text
    spec = client.get("/openapi.json").json()
    paths = {"/api/ask", "/api/ask/stream", "/api/articles", "/api/articles/{article_id}", "/ready"}
    assert paths <= set(spec["paths"])
    assert {"AskRequest", "Answer", "Citation", "Filters", "Turn", "IngestReportOut"} <= set(spec["components"]["schemas"])
    assert spec["components"]["securitySchemes"]
    assert "429" in spec["paths"]["/api/ask"]["post"]["responses"]


def test_widget_files_and_frame_ancestors(client):
    script = client.get("/embed.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text  # text goes in with textContent only
    assert client.get("/embed.css").headers["content-type"].startswith("text/css")
    page = client.get("/widget")
    assert page.headers["content-security-policy"] == f"frame-ancestors 'self' {ALLOWED}"
    assert '<html lang="en">' in page.text and "<main>" in page.text  # the widget lands in the page's main


# --- keys ----------------------------------------------------------------------------------

def test_keys_never_reach_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/api/ask", json={"question": JIG}, headers=widget(EVIL))
    client.post("/api/ask", json={"question": JIG}, headers=admin())
    client.get("/api/articles", headers={"X-API-Key": "not-a-key-xyz"})
    assert caplog.text  # something was logged (the refused origin, with a fingerprint)
    for secret in (WIDGET, ADMIN, "not-a-key-xyz"):
        assert secret not in caplog.text
    assert ADMIN not in repr(load_settings(admin_keys=ADMIN))


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_keys_file(tmp_path, suffix):
    data = {
        "admin_keys": ["file-admin"],
        "widget_keys": [{"key": "site-a", "origins": ["https://A.example/"]}, {"key": "site-b"}],
    }
    path = tmp_path / f"keys{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text(
            'admin_keys = ["file-admin"]\n\n[[widget_keys]]\nkey = "site-a"\norigins = ["https://A.example/"]\n\n'
            '[[widget_keys]]\nkey = "site-b"\n'
        )
    ring = load_keyring(load_settings(keys_file=path, widget_origins="https://shared.example", admin_keys="env-admin"))
    assert ring.lookup("file-admin").role == ring.lookup("env-admin").role == "admin"
    assert ring.lookup("site-a").origins == {"https://a.example"}
    assert ring.lookup("site-b").origins == {"https://shared.example"}  # no origins of its own: the shared list
    assert ring.lookup("nope") is None and ring.lookup(None) is None
    assert ring.widget_origins == {"https://a.example", "https://shared.example"}


def test_bad_key_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="must look like"):
        load_keyring(load_settings(widget_keys="w", widget_origins="example.com/path"))
    with pytest.raises(ConfigError, match="configured twice") as duplicate:
        load_keyring(load_settings(admin_keys="same-secret", widget_keys="same-secret"))
    assert "same-secret" not in str(duplicate.value)
    broken = tmp_path / "keys.json"
    broken.write_text('{"admin_keys": "secret-not-a-list"}')
    with pytest.raises(ConfigError, match="admin_keys") as shape:
        load_keyring(load_settings(keys_file=broken))
    assert "secret-not-a-list" not in str(shape.value)
    misspelt = tmp_path / "misspelt.toml"  # [[widget_key]]: its keys would be left out without a word
    misspelt.write_text('admin_keys = ["a-secret"]\n[[widget_key]]\nkey = "w-secret"\norigins = ["https://a.example"]\n')
    with pytest.raises(ConfigError, match="is not valid at widget_key: Extra inputs are not permitted") as extra:
        load_keyring(load_settings(keys_file=misspelt))
    assert "w-secret" not in str(extra.value)


# --- one shape per value, and what the OpenAPI document says ---------------------------------

def test_an_answer_and_an_article_have_one_shape_on_every_route(client):
    """An answer leaves out what is None wherever it is sent (here /api/ask and /api/feedback, which once sent
    nulls); an article carries url and published, null when unknown, in the list and alone."""
    answered = client.post("/api/ask", json={"question": "What are the articles about?"}, headers=admin()).json()
    assert answered["citations"] and all(None not in c.values() for c in answered["citations"])
    given = client.post("/api/feedback", json={"answer_id": answered["id"], "rating": "up"}, headers=admin())
    assert given.status_code == 201
    record = next(r for r in client.get("/api/feedback", headers=admin()).json() if r["answer_id"] == answered["id"])
    assert record["answer"]["citations"] == answered["citations"] and None not in record["answer"].values()
    listed = client.get("/api/articles", headers=admin()).json()[0]
    alone = client.get(f"/api/articles/{listed['id']}", headers=admin()).json()
    assert {"url", "published"} <= set(alone) and {k: alone[k] for k in ("url", "published")} == \
        {k: listed[k] for k in ("url", "published")}


def test_the_openapi_document_says_what_is_sent(client):
    schema = client.get("/openapi.json").json()
    citation = schema["components"]["schemas"]["Citation"]
    assert "phrase" in citation["properties"] and "phrase" not in citation["required"]  # absent when None
    operations = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == len(set(operations)) and "head" not in str(list(schema["paths"]["/health"]))
    for status, response in schema["paths"]["/api/ask/stream"]["post"]["responses"].items():
        assert (status == "200") == ("text/event-stream" in response["content"]), status  # errors are JSON
    conversation = schema["paths"]["/conversations/{conversation_id}"]["get"]["responses"]
    assert conversation["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert conversation["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_an_unknown_route_or_method_and_a_body_of_no_utf8_are_the_apis_own_errors(client):
    wrong_method = client.get("/api/ask", headers=admin())
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert wrong_method.json() == {"error": "/api/ask takes POST, not GET"}
    nowhere = client.post("/api/nowhere", json={}, headers=admin())
    assert nowhere.status_code == 404 and nowhere.json()["error"].startswith("no such route: POST /api/nowhere")
    garbled = client.post("/api/ask", content=b"\xff\x04v1U", headers=admin(**{"Content-Type": "application/json"}))
    assert garbled.status_code == 422 and garbled.json() == {"error": "invalid request: body: not valid JSON (send UTF-8 JSON)"}
